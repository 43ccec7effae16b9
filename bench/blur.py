"""Benchmark face blurring against realtime and against a bare ffmpeg re-encode of the same clip, in one run.

    .venv/bin/python bench/blur.py [--seconds 30] [--size 1280x720] [--repeat 1] [--clip]

Input: scikit-image's astronaut photo panning and zooming over a plain background (tests/clips/faces.py), 720p30
H.264/AAC like a lesson rendition, generated once into bench/.cache/.

Measured, each as seconds of work per second of video ("x realtime"; 1.0 = as long as the video plays) and as a
ratio to the bare re-encode:
- bare: ``ffmpeg -i clip -c:v libx264 -preset veryfast -crf 23 -c:a aac`` (what any re-encode costs);
- anonymise: ``anonymise_video`` (the whole-lesson rendition: CenterFace + Haar frontal at 360 lines every 5th
  frame, tracking, the gate on whole frames every 15th; no read-back of the output);
- clip (with --clip): ``blur_faces`` with its defaults (the clips' guarantee: every frame of the encoded output
  read back both ways and put through the contract's check).
After each, the frames where OpenCV's stock Haar check (the contract's) and CenterFace still find a face.
The machine's load is printed too: on a shared machine the numbers are upper bounds.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CACHE = ROOT / "bench" / ".cache"


def bare_encode(src: Path, dst: Path) -> float:
    started = time.monotonic()
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(src),
                    "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-profile:v", "high", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", str(dst)], check=True)
    return time.monotonic() - started


def faces_left(path: Path) -> tuple[int, int, int]:
    """(frames where the contract's Haar check finds a face, frames where CenterFace does, frames)."""
    import cv2

    from obsapp.media.faces import CenterFaceDetector, acceptance_faces, centerface_model_path
    from tests.clips.faces import gray_frames

    model = centerface_model_path()
    centerface = CenterFaceDetector(model) if model else None
    haar = dnn = 0
    frames = gray_frames(path)
    for gray in frames:
        haar += bool(acceptance_faces(gray))
        if centerface is not None:
            bgr = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
            dnn += bool(centerface.detect(gray, lambda bgr=bgr: bgr))
    return haar, dnn, len(frames)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--clip", action="store_true", help="also blur_faces with the clips' full output check")
    args = parser.parse_args()

    from obsapp.media.privacy import anonymise_video, blur_faces
    from tests.clips.faces import face_video

    CACHE.mkdir(parents=True, exist_ok=True)
    src = face_video(CACHE / f"faces-{args.size}-{args.seconds:g}s.mp4", size=args.size, seconds=args.seconds)
    print(f"{args.seconds:g} s of {args.size} at 30 fps; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPU(s)")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-blur-") as tmp:
        work = Path(tmp)
        bare = min(bare_encode(src, work / f"bare{i}.mp4") for i in range(args.repeat))
        rows.append(("bare ffmpeg re-encode", bare, None))
        runs = [("anonymise_video (whole lesson)", lambda dst: anonymise_video(src, dst))]
        if args.clip:
            runs.append(("blur_faces (clip, output checked)", lambda dst: blur_faces(src, dst)))
        for name, make in runs:
            best = None
            for i in range(args.repeat):
                result = make(work / f"{len(rows)}-{i}.mp4")
                if best is None or result.elapsed_s < best.elapsed_s:
                    best = result
            rows.append((name, best.elapsed_s, faces_left(best.path)))
    print(f"\n{'what':36} {'seconds':>8} {'x realtime':>11} {'x bare':>7}  faces left (Haar, CenterFace, of)")
    for name, seconds, left in rows:
        print(f"{name:36} {seconds:8.1f} {seconds / args.seconds:11.2f} {seconds / bare:7.2f}  "
              f"{'' if left is None else '{}, {} / {}'.format(*left)}")
    print("target: anonymise at most 1.0x realtime (and within 3x the bare re-encode)")


if __name__ == "__main__":
    main()
