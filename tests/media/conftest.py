"""Fixtures for the media tests: real ffmpeg, real files, generated once per session."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

try:
    from tests.media_samples import BAD, GOOD, decode_gray, ffprobe, generate_samples, top_level_boxes, video_packets
except ImportError:  # tests/ is not importable as a package from here
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from media_samples import BAD, GOOD, decode_gray, ffprobe, generate_samples, top_level_boxes, video_packets

from obsapp.media import make_rendition, plan_rendition, probe
from obsapp.media import run as media_run

__all__ = ["BAD", "GOOD", "decode_gray", "ffprobe", "generate_samples", "top_level_boxes", "video_packets"]


@pytest.fixture(scope="session")
def media_samples(tmp_path_factory) -> dict[str, Path]:
    return generate_samples(tmp_path_factory.mktemp("media-samples"))


@pytest.fixture(scope="session")
def renditions(media_samples, tmp_path_factory):
    """name -> (MediaInfo, Plan, RenditionResult) for every good sample, made once."""
    out = tmp_path_factory.mktemp("renditions")

    def make(name):
        info = probe(media_samples[name])
        plan = plan_rendition(info)
        return name, (info, plan, make_rendition(media_samples[name], out / f"{name}.mp4", info, plan))

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(make, GOOD))


@pytest.fixture
def started(monkeypatch) -> list[list[str]]:
    """The argument lists of the ffmpeg/ffprobe processes obsapp.media starts during the test, in order."""
    seen: list[list[str]] = []

    def popen(args, *rest, **options):
        seen.append([os.fspath(a) for a in args])
        return subprocess.Popen(args, *rest, **options)

    # Only media/run.py's view of the module: fixtures making samples with subprocess are not counted.
    monkeypatch.setattr(media_run, "subprocess", types.SimpleNamespace(**{**vars(subprocess), "Popen": popen}))
    return seen


def programs(argvs: list[list[str]]) -> list[str]:
    return [os.path.basename(argv[0]) for argv in argvs]


@pytest.fixture(autouse=True)
def _isolated():
    """Media tests need no app or database: this shadows the app-wide autouse fixture of that name."""
    yield
