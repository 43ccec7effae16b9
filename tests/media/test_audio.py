"""Waveform peaks."""

from __future__ import annotations

import random
import subprocess

import numpy as np
import pytest

from obsapp.media import waveform_peaks
from obsapp.media.audio import _PeakAccumulator


def test_sine_gives_high_peaks(media_samples):
    wave = waveform_peaks(media_samples["h264_aac_mp4"])
    assert wave.peaks_per_second == 10
    assert len(wave.peaks) == 30  # 3 s at 10 per second
    assert all(0.0 <= p <= 1.0 for p in wave.peaks)
    assert max(wave.peaks) == 1.0
    # A steady tone is a steady line (the AAC encoder's onset overshoot is the loudest peak).
    steady = wave.peaks[1:-1]
    assert min(steady) > 0.7 and max(steady) - min(steady) < 0.05
    assert all(round(p, 3) == p for p in wave.peaks)


def test_silence_gives_zeros(media_samples):
    wave = waveform_peaks(media_samples["silent_audio_mp4"])
    assert len(wave.peaks) == 31 and set(wave.peaks) == {0.0}


def test_no_audio_gives_a_flat_line_covering_the_video(media_samples):
    wave = waveform_peaks(media_samples["no_audio_mp4"], peaks_per_second=20)
    assert wave.peaks == [0.0] * 60
    assert waveform_peaks(media_samples["no_audio_mp4"], duration_ms=1234, has_audio=False).peaks == [0.0] * 13


def test_loud_then_quiet(tmp_path):
    src = tmp_path / "half.m4a"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=f=300:d=1.5,apad=whole_dur=3", "-c:a", "aac", str(src)],
        check=True, timeout=60,
    )  # fmt: skip
    wave = waveform_peaks(src, duration_ms=3000, has_audio=True)
    assert len(wave.peaks) == 30
    assert min(wave.peaks[1:14]) > 0.5
    assert max(wave.peaks[17:]) < 0.01


def test_length_follows_the_given_duration(media_samples):
    # Audio is 3 s; a 4 s video gets a padded line, a 2 s one a cut line.
    assert len(waveform_peaks(media_samples["h264_aac_mp4"], duration_ms=4000, has_audio=True).peaks) == 40
    assert len(waveform_peaks(media_samples["h264_aac_mp4"], duration_ms=2000, has_audio=True).peaks) == 20


def test_accumulator_is_independent_of_chunking():
    rng = np.random.default_rng(7)
    samples = rng.integers(-32768, 32767, size=8000 * 3 + 123, dtype=np.int16)
    samples[5000] = -32768  # abs() must not overflow
    data = samples.astype("<i2").tobytes()
    whole = _PeakAccumulator(800)
    whole.feed(data)
    expected = whole.finish()
    chunked = _PeakAccumulator(800)
    i = 0
    rnd = random.Random(3)
    while i < len(data):
        step = rnd.randint(1, 5000)  # odd sizes split samples between chunks
        chunked.feed(data[i : i + step])
        i += step
    assert np.array_equal(chunked.finish(), expected)
    assert len(expected) == 31 and expected[6] == 32768


def test_peaks_per_second_must_divide_the_rate(media_samples):
    with pytest.raises(ValueError):
        waveform_peaks(media_samples["h264_aac_mp4"], peaks_per_second=3)
