"""Speech-like audio with known speech and silence, synthesised with numpy (no voices, no downloads).

A "voice" is a glottal-like harmonic series (fundamental gliding around 110-220 Hz) shaped by three formants
that move from syllable to syllable, with a syllable-rate envelope: what WebRTC's voice activity detector
takes for speech. Between the spans: quiet room noise (about -62 dBFS), which it takes for silence.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

RATE = 16000
_VOWELS = ((730, 1090, 2440), (270, 2290, 3010), (530, 1840, 2480), (300, 870, 2240), (660, 1720, 2410))


def voice(duration_s: float, *, f0: float = 160.0, level_db: float = -12.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * RATE))
    t = np.arange(n) / RATE
    pitch = f0 * (1 + 0.12 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 6)))
    phase = 2 * np.pi * np.cumsum(pitch) / RATE
    syllable = 0.22  # seconds per syllable: each has its own vowel
    index = (t / syllable).astype(int) % len(_VOWELS)
    out = np.zeros(n)
    for k in range(1, 30):
        freq = k * pitch
        gain = np.zeros(n)
        for formant in range(3):
            centre = np.array([v[formant] for v in _VOWELS])[index]
            gain += np.exp(-0.5 * ((freq - centre) / (90 + 40 * formant)) ** 2) / (1 + formant)
        out += np.where(freq < RATE / 2 - 200, gain * np.sin(k * phase), 0.0) / k ** 0.3
    envelope = 0.55 + 0.45 * np.abs(np.sin(np.pi * t / syllable))
    edge = min(n, int(0.02 * RATE))  # 20 ms fades, as a voice starts and stops
    ramp = np.ones(n)
    ramp[:edge] = np.linspace(0, 1, edge)
    ramp[n - edge:] = np.linspace(1, 0, edge)
    out *= envelope * ramp
    return out / np.sqrt(np.mean(out ** 2)) * 10 ** (level_db / 20)


def lesson_audio(spans: list[tuple[float, float, float]], total_s: float, *, noise_db: float = -62.0,
                 seed: int = 1) -> np.ndarray:
    """Noise for ``total_s`` seconds with a voice over each ``(start_s, end_s, level_db)``."""
    rng = np.random.default_rng(seed)
    audio = rng.normal(0, 10 ** (noise_db / 20), int(total_s * RATE))
    for i, (start, end, level) in enumerate(spans):
        a = int(round(start * RATE))
        part = voice(end - start, level_db=level, f0=150 + 25 * (i % 3), seed=i)
        audio[a:a + part.size] += part
    return audio


def write_wav(path: Path, audio: np.ndarray) -> Path:
    pcm = np.clip(audio * 32767, -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(RATE)
        handle.writeframes(pcm.tobytes())
    return path
