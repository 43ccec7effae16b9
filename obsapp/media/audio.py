"""Waveform peaks for the timeline, streamed from ffmpeg in bounded chunks."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .probe import probe
from .run import Cancel, ffmpeg_cmd, ffmpeg_input, run

__all__ = ["PCM_OUTPUT", "SAMPLE_RATE", "PeakReader", "Waveform", "waveform_peaks"]

SAMPLE_RATE = 8000  # mono, s16le: 16 KB per second of audio
# The ffmpeg output the peaks are read from: the first audio stream as mono s16le PCM on stdout.
PCM_OUTPUT = (
    "-map", "0:a:0", "-vn", "-sn", "-dn",
    "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "s16le", "-c:a", "pcm_s16le", "pipe:1",
)  # fmt: skip


@dataclass(frozen=True)
class Waveform:
    peaks_per_second: int
    peaks: list[float] = field(default_factory=list)  # 0..1, loudest = 1, 3 decimals

    def as_json(self) -> dict:
        return {"peaks_per_second": self.peaks_per_second, "peaks": self.peaks}


class _PeakAccumulator:
    """Max |sample| per bucket over a stream of s16le bytes, O(chunk) memory."""

    def __init__(self, bucket: int) -> None:
        self.bucket = bucket
        self.pending = np.empty(0, dtype=np.int32)  # samples of the unfinished bucket
        self.odd = b""  # half a sample left over between chunks
        self.peaks: list[np.ndarray] = []

    def feed(self, chunk: bytes) -> None:
        data = self.odd + chunk
        usable = len(data) - len(data) % 2
        self.odd = data[usable:]
        samples = np.frombuffer(data[:usable], dtype="<i2").astype(np.int32)
        if self.pending.size:
            samples = np.concatenate([self.pending, samples])
        whole = samples.size - samples.size % self.bucket
        if whole:
            self.peaks.append(np.abs(samples[:whole]).reshape(-1, self.bucket).max(axis=1))
        self.pending = samples[whole:]

    def finish(self) -> np.ndarray:
        if self.pending.size:
            self.peaks.append(np.array([np.abs(self.pending).max()], dtype=np.int32))
            self.pending = np.empty(0, dtype=np.int32)
        return np.concatenate(self.peaks) if self.peaks else np.empty(0, dtype=np.int32)


def _check_rate(peaks_per_second: int) -> None:
    if peaks_per_second <= 0 or SAMPLE_RATE % peaks_per_second:
        raise ValueError(f"peaks_per_second must divide {SAMPLE_RATE}")


class PeakReader:
    """The waveform of the PCM an ffmpeg run writes for :data:`PCM_OUTPUT`, reduced as it streams.

    ``feed`` is the run's ``on_stdout``; ``waveform()`` is the result once the run has ended. A run that
    decodes the file for something else as well can carry :data:`PCM_OUTPUT` as one more output, so the
    file is read once (``ingest`` does this with the thumbnail sprite). Fed nothing (no audio), the
    waveform is flat.
    """

    def __init__(self, peaks_per_second: int = 10, duration_ms: int | None = None) -> None:
        _check_rate(peaks_per_second)
        self.peaks_per_second = peaks_per_second
        # With a duration the list is padded/cut to exactly ceil(duration * pps).
        self.expected = math.ceil(duration_ms * peaks_per_second / 1000) if duration_ms else None
        self._acc = _PeakAccumulator(SAMPLE_RATE // peaks_per_second)
        self.feed = self._acc.feed

    def waveform(self) -> Waveform:
        raw = self._acc.finish()
        if self.expected is not None:
            raw = raw[: self.expected]
            if raw.size < self.expected:
                raw = np.concatenate([raw, np.zeros(self.expected - raw.size, dtype=raw.dtype)])
        loudest = int(raw.max()) if raw.size else 0
        if loudest == 0:
            return Waveform(self.peaks_per_second, [0.0] * int(raw.size))
        scaled = np.round(raw.astype(np.float64) / loudest, 3)
        return Waveform(self.peaks_per_second, [float(x) for x in scaled])


def waveform_peaks(
    src: str | os.PathLike[str],
    *,
    peaks_per_second: int = 10,
    duration_ms: int | None = None,
    has_audio: bool | None = None,
    timeout_s: float | None = None,
    cancel: Cancel | None = None,
) -> Waveform:
    """Peak level per 1/``peaks_per_second`` s of the first audio stream.

    Decodes to mono 16-bit at 8 kHz and reduces it while it streams, so memory
    does not grow with the length of the recording.  Without audio the result
    is all zeros covering ``duration_ms`` (the timeline renders flat); with
    ``duration_ms`` the list is padded/cut to exactly ceil(duration * pps).
    """
    _check_rate(peaks_per_second)  # before any probe
    src = Path(src)
    if has_audio is None or duration_ms is None:
        info = probe(src, keyframes=False, max_size=(65536, 65536), max_pixels=2**62)
        has_audio = info.has_audio if has_audio is None else has_audio
        duration_ms = info.duration_ms if duration_ms is None else duration_ms
    reader = PeakReader(peaks_per_second, duration_ms)
    if has_audio:
        argv = ffmpeg_cmd(*ffmpeg_input(src), *PCM_OUTPUT)
        limit = timeout_s or 120.0 + (duration_ms or 3_600_000) / 1000.0
        run(argv, timeout_s=limit, on_stdout=reader.feed, cancel=cancel)
    return reader.waveform()
