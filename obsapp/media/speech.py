"""Talk and silence from a lesson's audio: WebRTC voice activity on 16 kHz mono PCM decoded by ffmpeg.

What this measures, and what it does not:

* **Speech vs silence.** Every 30 ms frame is classified by WebRTC's voice activity detector (the GMM model
  ships inside the ``webrtcvad-wheels`` package: nothing is downloaded, no audio leaves the machine). Runs of
  speech frames become segments; gaps shorter than ``hangover_ms`` are bridged so that breaths and short
  stops do not split a sentence, and blips shorter than ``min_speech_ms`` are dropped.
* **Near vs far voice (a heuristic, not speaker identification).** Each segment carries its level (dBFS of
  its speech frames). A segment within ``near_db`` of the lesson's typical speech level (the duration-weighted
  median) is ``near``, a quieter one ``far``. With the camera or microphone near the teacher, ``near`` is mostly
  the teacher and ``far`` mostly students across the room; but a student next to the camera is ``near``, a
  teacher at the back of the room is ``far``, and two people talking at once are one segment. It tells loud
  from quiet voices, never who spoke.
* **Wait time** after a question asked at a moment: from the end of the speech around that moment to the start
  of the next speech. It cannot tell whether the next speech is the answer or the teacher talking on.

Memory is bounded: the audio is classified while ffmpeg streams it (about 32 KB per second of audio).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import webrtcvad

from .run import Cancel, ffmpeg_cmd, ffmpeg_input, run

__all__ = [
    "FRAME_MS",
    "SAMPLE_RATE",
    "Pause",
    "Segment",
    "TalkResult",
    "analyse_talk",
    "label_voices",
    "pauses",
    "segments_from_frames",
    "wait_time_ms",
]

SAMPLE_RATE = 16000
FRAME_MS = 30
_FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000
_FRAME_BYTES = _FRAME_SAMPLES * 2
_SILENT_DB = -120.0


@dataclass(frozen=True)
class Segment:
    """Speech from ``start_ms`` to ``end_ms``; ``level_db`` its loudness (dBFS), ``voice`` "near" or "far"."""

    start_ms: int
    end_ms: int
    level_db: float = _SILENT_DB
    voice: str = "near"

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms

    def as_json(self) -> dict:
        return {"start_ms": self.start_ms, "end_ms": self.end_ms, "level_db": round(self.level_db, 1),
                "voice": self.voice}


@dataclass(frozen=True)
class Pause:
    start_ms: int
    end_ms: int

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


@dataclass(frozen=True)
class TalkResult:
    duration_ms: int
    segments: list[Segment] = field(default_factory=list)

    @property
    def speech_ms(self) -> int:
        return sum(s.duration_ms for s in self.segments)

    @property
    def speech_share(self) -> float:
        return round(self.speech_ms / self.duration_ms, 4) if self.duration_ms > 0 else 0.0


def segments_from_frames(flags: list[bool] | np.ndarray, levels: np.ndarray | None = None, *,
                         frame_ms: int = FRAME_MS, hangover_ms: int = 300, min_speech_ms: int = 120,
                         duration_ms: int | None = None) -> list[Segment]:
    """Speech segments from per-frame speech flags: gaps under ``hangover_ms`` bridged, runs under
    ``min_speech_ms`` dropped. ``levels`` (mean square per frame, 0..1 of full scale) gives each its dBFS."""
    flags = np.asarray(flags, dtype=bool)
    if not flags.size:
        return []
    padded = np.concatenate([[False], flags, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    runs = [[int(a), int(b)] for a, b in zip(edges[::2], edges[1::2], strict=True)]  # frame [start, end)
    if levels is not None and levels.size >= flags.size:
        runs = _trim_quiet_edges(runs, levels[:flags.size])
    merged: list[list[int]] = []
    for run_ in runs:
        if merged and (run_[0] - merged[-1][1]) * frame_ms < hangover_ms:
            merged[-1][1] = run_[1]
        else:
            merged.append(run_)
    out = []
    limit = duration_ms if duration_ms is not None else flags.size * frame_ms
    for a, b in merged:
        if (b - a) * frame_ms < min_speech_ms:
            continue
        level = _SILENT_DB
        if levels is not None:
            chosen = levels[a:b][flags[a:b]]
            level = _db(float(chosen.mean()) if chosen.size else 0.0)
        out.append(Segment(a * frame_ms, min(b * frame_ms, limit), level))
    return [s for s in out if s.end_ms > s.start_ms]


def _db(mean_square: float) -> float:
    return 10 * math.log10(mean_square) if mean_square > 0 else _SILENT_DB


def _trim_quiet_edges(runs: list[list[int]], levels: np.ndarray, *, below_db: float = 25.0) -> list[list[int]]:
    """WebRTC's detector keeps saying "speech" for a few frames after a voice stops (its own hangover, up to
    ~200 ms). Frames at a run's edges much quieter than the run itself (``below_db`` under its level, and no
    louder than the room's noise floor + 6 dB) are background, not speech: drop them."""
    floor = _db(float(np.percentile(levels, 10))) if levels.size else _SILENT_DB
    out = []
    for a, b in runs:
        threshold = max(_db(float(levels[a:b].mean())) - below_db, floor + 6.0)
        while a < b and _db(float(levels[a])) < threshold:
            a += 1
        while b > a and _db(float(levels[b - 1])) < threshold:
            b -= 1
        if b > a:
            out.append([a, b])
    return out


def label_voices(segments: list[Segment], *, near_db: float = 6.0) -> list[Segment]:
    """Mark each segment "near" (within ``near_db`` of the duration-weighted median speech level) or "far"."""
    if not segments:
        return []
    ordered = sorted(segments, key=lambda s: s.level_db)
    half, seen, typical = sum(s.duration_ms for s in ordered) / 2, 0, ordered[-1].level_db
    for s in ordered:
        seen += s.duration_ms
        if seen >= half:
            typical = s.level_db
            break
    return [Segment(s.start_ms, s.end_ms, s.level_db, "near" if s.level_db >= typical - near_db else "far")
            for s in segments]


def pauses(segments: list[Segment], duration_ms: int, *, min_ms: int = 3000) -> list[Pause]:
    """Silences of at least ``min_ms`` between speech (the lesson's start and end count as edges)."""
    out, last = [], 0
    for s in segments:
        if s.start_ms - last >= min_ms:
            out.append(Pause(last, s.start_ms))
        last = max(last, s.end_ms)
    if duration_ms - last >= min_ms and segments:
        out.append(Pause(last, duration_ms))
    return out


def wait_time_ms(segments: list[Segment], at_ms: int, *, reach_ms: int = 3000) -> tuple[int, int] | None:
    """``(wait_ms, question_end_ms)`` after a question at ``at_ms``: from the end of the speech containing the
    moment (or the speech that ended at most ``reach_ms`` before it) to the start of the next speech.
    None when there is no speech around the moment or none after it."""
    around = None
    for s in segments:
        if s.start_ms <= at_ms <= s.end_ms or (s.end_ms <= at_ms and at_ms - s.end_ms <= reach_ms):
            around = s
        if s.start_ms > at_ms:
            break
    if around is None:
        return None
    following = next((s for s in segments if s.start_ms >= around.end_ms and s is not around), None)
    if following is None:
        return None
    return following.start_ms - around.end_ms, around.end_ms


class _FrameClassifier:
    """Cuts a stream of s16le bytes into 30 ms frames; keeps each frame's speech flag and mean square level."""

    def __init__(self, aggressiveness: int) -> None:
        self.vad = webrtcvad.Vad(aggressiveness)
        self.pending = b""
        self.flags: list[bool] = []
        self.levels: list[np.ndarray] = []

    def feed(self, chunk: bytes) -> None:
        data = self.pending + chunk
        whole = len(data) - len(data) % _FRAME_BYTES
        self.pending = data[whole:]
        if not whole:
            return
        is_speech = self.vad.is_speech
        view = memoryview(data)
        self.flags.extend(is_speech(view[i:i + _FRAME_BYTES], SAMPLE_RATE) for i in range(0, whole, _FRAME_BYTES))
        samples = np.frombuffer(data[:whole], dtype="<i2").astype(np.float32) / 32768.0
        self.levels.append((samples.reshape(-1, _FRAME_SAMPLES) ** 2).mean(axis=1))

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        levels = np.concatenate(self.levels) if self.levels else np.empty(0, dtype=np.float32)
        return np.asarray(self.flags, dtype=bool), levels


def analyse_talk(src: str | os.PathLike[str], *, duration_ms: int, has_audio: bool = True,
                 aggressiveness: int = 2, hangover_ms: int = 300, min_speech_ms: int = 120, near_db: float = 6.0,
                 timeout_s: float | None = None, cancel: Cancel | None = None) -> TalkResult:
    """Speech segments of the first audio stream of ``src`` (no audio: no segments)."""
    if not 0 <= aggressiveness <= 3:
        raise ValueError("aggressiveness is 0..3")
    if not has_audio:
        return TalkResult(duration_ms, [])
    classifier = _FrameClassifier(aggressiveness)
    argv = ffmpeg_cmd(
        *ffmpeg_input(Path(src)), "-map", "0:a:0", "-vn", "-sn", "-dn",
        "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "s16le", "-c:a", "pcm_s16le", "pipe:1",
    )  # fmt: skip
    run(argv, timeout_s=timeout_s or 120.0 + duration_ms / 1000.0, on_stdout=classifier.feed, cancel=cancel)
    flags, levels = classifier.finish()
    segments = segments_from_frames(flags, levels, hangover_ms=hangover_ms, min_speech_ms=min_speech_ms,
                                    duration_ms=duration_ms)
    return TalkResult(duration_ms, label_voices(segments, near_db=near_db))

