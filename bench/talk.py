"""Talk analysis speed: a 45-minute lesson's audio, against ffmpeg's bare decode of the same audio.

Makes one minute of synthesised speech and silence (tests/talk/synth.py), loops it to the lesson's length as AAC
in an MP4 (as ingest leaves it), then times, best of several runs: the baseline, ffmpeg decoding it to 16 kHz
mono PCM and throwing it away; and obsapp's analysis (the same decode plus WebRTC voice activity, smoothing and
levels). Prints both and their ratio. Target: under 20 s on 2 cores.

    .venv/bin/python bench/talk.py [--minutes 45] [--runs 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from obsapp.media.speech import analyse_talk  # noqa: E402
from tests.talk.synth import lesson_audio, write_wav  # noqa: E402

# one minute: talk, a question and a wait, a quieter answer, a long explanation, a pause
MINUTE = [(0.5, 9.0, -14), (9.6, 12.0, -14), (15.0, 17.5, -28), (18.5, 40.0, -14), (45.0, 58.0, -14)]


def best_of(runs: int, call) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=45)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="obsapp-bench-talk-") as tmp:
        minute = write_wav(Path(tmp) / "minute.wav", lesson_audio(MINUTE, 60.0))
        lesson = Path(tmp) / "lesson.mp4"
        subprocess.run(["ffmpeg", "-v", "error", "-stream_loop", str(args.minutes - 1), "-i", str(minute),
                        "-c:a", "aac", "-b:a", "96k", str(lesson)], check=True)
        duration_ms = args.minutes * 60_000
        decode = ["ffmpeg", "-v", "error", "-nostdin", "-i", str(lesson), "-map", "0:a:0", "-ac", "1", "-ar", "16000",
                  "-f", "s16le", "-y", "/dev/null"]
        baseline = best_of(args.runs, lambda: subprocess.run(decode, check=True))
        result = None

        def analyse():
            nonlocal result
            result = analyse_talk(lesson, duration_ms=duration_ms)

        ours = best_of(args.runs, analyse)
    print(f"{args.minutes}-minute lesson: {len(result.segments)} speech segments, "
          f"speech share {result.speech_share:.2f} (expected {sum(e - s for s, e, _ in MINUTE) / 60:.2f})")
    print(f"ffmpeg decode to 16 kHz mono (baseline): {baseline:.2f} s")
    print(f"obsapp talk analysis:                     {ours:.2f} s")
    print(f"ratio: {ours / baseline:.2f}x the bare decode; target under 20 s: {'met' if ours < 20 else 'NOT met'}")


if __name__ == "__main__":
    main()
