"""The calibration statistics against hand-computed examples and scikit-learn."""

from __future__ import annotations

import random

import pytest
from sklearn.metrics import cohen_kappa_score

from obsapp.talk.agreement import Code, codes_match, cohen_kappa, fleiss_kappa, kappa, presence, unmatched


def test_cohen_kappa_by_hand():
    # 10 units: both yes in 3, both no in 4, A only in 2, B only in 1
    a = [1, 1, 1, 0, 0, 0, 0, 1, 1, 0]
    b = [1, 1, 1, 0, 0, 0, 0, 0, 0, 1]
    # observed 7/10; A says yes 5/10, B 4/10: expected 0.5*0.4 + 0.5*0.6 = 0.5; kappa = (0.7-0.5)/(1-0.5) = 0.4
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa(a, a) == pytest.approx(1.0)
    assert cohen_kappa([0] * 5, [0] * 5) is None  # nobody marked it: undefined, not "perfect"


@pytest.mark.parametrize("seed", range(8))
def test_cohen_kappa_matches_scikit_learn(seed):
    rng = random.Random(seed)
    a = [rng.random() < 0.3 for _ in range(200)]
    b = [x if rng.random() < 0.8 else not x for x in a]
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))
    labels = [rng.choice("xyz") for _ in range(60)]
    other = [x if rng.random() < 0.6 else rng.choice("xyz") for x in labels]
    assert cohen_kappa(labels, other) == pytest.approx(cohen_kappa_score(labels, other))


def test_fleiss_kappa_by_hand():
    # 3 raters, 4 items, categories (no, yes): item rows are counts
    counts = [[0, 3], [3, 0], [1, 2], [2, 1]]
    # P_i: 1, 1, (1+4-3)/6 = 1/3, 1/3 -> P = 2/3; p_no = p_yes = 6/12 -> Pe = 1/2; kappa = (2/3-1/2)/(1/2) = 1/3
    assert fleiss_kappa(counts) == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        fleiss_kappa([[1, 2], [1, 1]])


def test_fleiss_kappa_for_two_raters_is_scotts_pi_close_to_cohen():
    a = [1, 1, 1, 0, 0, 0, 0, 1, 1, 0]
    b = [1, 1, 1, 0, 0, 0, 0, 0, 0, 1]
    counts = [[int(not x) + int(not y), x + y] for x, y in zip(a, b, strict=True)]
    # Scott's pi: pooled yes = 9/20 -> Pe = 0.45^2 + 0.55^2 = 0.505; (0.7-0.505)/0.495
    assert fleiss_kappa(counts) == pytest.approx((0.7 - 0.505) / 0.495)


def test_kappa_chooses_the_statistic():
    assert kappa([[True, False], [True, False]]) == ("cohen", pytest.approx(1.0))
    method, value = kappa([[True, False, True], [True, False, False], [True, True, True]])
    assert method == "fleiss" and value is not None


def test_matching_moments_and_spans():
    assert codes_match(Code(1, 10_000), Code(2, 14_000), 5000)
    assert not codes_match(Code(1, 10_000), Code(2, 16_000), 5000)
    assert codes_match(Code(1, 10_000, 20_000), Code(2, 19_000, 30_000), 0)  # spans overlap
    assert not codes_match(Code(1, 10_000, 20_000), Code(2, 20_000, 30_000), 5000)  # spans touch only
    assert codes_match(Code(1, 10_000, 20_000), Code(2, 23_000), 5000)  # a moment near a span
    codes = [Code(1, 10_000), Code(2, 12_000), Code(1, 40_000), Code(3, 11_000), Code(3, 60_000)]
    assert unmatched(codes, [1, 2], 5000) == [Code(1, 40_000)]
    assert set(unmatched(codes, [1, 2, 3], 5000)) == {Code(1, 40_000), Code(3, 60_000)}


def test_presence_units():
    assert presence([Code(1, 5_000), Code(1, 25_000, 41_000)], 60_000, 10_000) == [
        True, False, True, True, True, False]
    assert presence([], 0, 10_000) == [False]
