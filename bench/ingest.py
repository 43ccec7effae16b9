"""Benchmark obsapp.media against bare ffmpeg doing the same work.

    .venv/bin/python bench/ingest.py [--minutes 45] [--hevc-minutes 10] [--repeat 1] [--repeat-transcode 1]

Inputs are generated once into bench/.cache/ (which ignores itself in git):
a 720p30 H.264/AAC "lesson" with its moov at the END (a 10 s clip with a
keyframe every 2 s, concatenated by stream copy), and a 1080p30 HEVC/AAC
file made the same way.

(a) web-compatible ingest: ``ingest()`` vs the bare commands for the same
    outputs, run with the same parallelism: sha256sum throughout, alongside
    ffprobe; then the faststart remux; then poster, keyframe-only sprite and
    waveform PCM side by side.
(b) is the ratio of (a).
(c) transcode: ``make_rendition`` on the HEVC input vs one bare ffmpeg with
    identical encoder settings (best of --repeat-transcode runs each, the
    order alternating, since a 2-core VM's speed drifts by several percent).
(d) ``frame_at`` at 20 random times in the (a) rendition.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from obsapp.media import frame_at, ingest, make_rendition, plan_rendition, probe  # noqa: E402

CACHE = ROOT / "bench" / ".cache"
FF = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
CLIP_S = 10


def sh(argv: list[str]) -> None:
    subprocess.run(argv, check=True)


def make_long(name: str, minutes: float, size: str, video_args: list[str]) -> Path:
    """A ``minutes`` long file: a 10 s video clip concatenated by stream copy, muxed with one
    continuous AAC track (no faststart, so the moov is at the end)."""
    out = CACHE / f"{name}-{minutes:g}min.mp4"
    if out.exists():
        return out
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / ".gitignore").write_text("*\n")
    clip = CACHE / f"{name}-clip.mp4"
    if not clip.exists():
        print(f"  encoding the {CLIP_S} s {name} clip ...", flush=True)
        sh([*FF, "-f", "lavfi", "-i", f"testsrc2=s={size}:r=30:d={CLIP_S}", *video_args, str(clip)])
    repeats = max(1, round(minutes * 60 / CLIP_S))
    listing = CACHE / f"{name}-list.txt"
    listing.write_text(f"file '{clip.name}'\n" * repeats)
    print(f"  concatenating {repeats} copies into {out.name} with {repeats * CLIP_S} s of AAC ...", flush=True)
    tmp = out.with_suffix(".part.mp4")
    tone = f"sine=f=220:sample_rate=48000:d={repeats * CLIP_S},volume='0.3+0.25*sin(t/3)':eval=frame"
    sh([
        *FF, "-f", "concat", "-safe", "0", "-i", str(listing), "-f", "lavfi", "-i", tone,
        "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-b:a", "128k", "-ac", "2", str(tmp),
    ])  # fmt: skip
    tmp.replace(out)
    return out


def warm(path: Path) -> None:
    with open(path, "rb") as fh:
        while fh.read(8 << 20):
            pass


def parallel(commands: list[list[str]]) -> None:
    procs = [subprocess.Popen(c, stdout=subprocess.DEVNULL) for c in commands]
    codes = [p.wait() for p in procs]
    if any(codes):
        raise SystemExit(f"baseline command failed: {commands}")


def baseline_ingest(src: Path, out: Path, duration_s: float) -> float:
    """The bare ffmpeg commands for the same outputs as ingest(), same parallelism."""
    out.mkdir(parents=True)
    video = out / "video.mp4"
    started = time.monotonic()
    hashing = subprocess.Popen(["sha256sum", str(src)], stdout=subprocess.DEVNULL)
    sh(["ffprobe", "-v", "error", "-of", "json", "-show_format", "-show_streams", "-o", os.devnull, str(src)])
    sh([*FF, "-i", str(src), "-map", "0:v:0", "-map", "0:a:0", "-c", "copy", "-movflags", "+faststart", str(video)])
    interval = 1 if duration_s < 120 else 2 if duration_s < 600 else 5
    parallel([
        [*FF, "-ss", str(min(duration_s / 10, 5)), "-i", str(video), "-frames:v", "1", "-q:v", "3",
         "-update", "1", str(out / "poster.jpg")],
        [*FF, "-skip_frame", "nokey", "-i", str(video), "-an", "-vf",
         f"fps=1/{interval},scale=160:90,tile=10x10", "-q:v", "5", "-start_number", "0",
         str(out / "sprite-%d.jpg")],
        [*FF, "-i", str(video), "-vn", "-ac", "1", "-ar", "8000", "-f", "s16le", os.devnull],
    ])  # fmt: skip
    if hashing.wait():
        raise SystemExit("sha256sum failed")
    return time.monotonic() - started


def obsapp_ingest(src: Path, out: Path) -> tuple[float, float, object]:
    marks: dict[str, float] = {}
    started = time.monotonic()

    def progress(fraction: float) -> None:
        if fraction >= 0.85 and "rendition" not in marks:
            marks["rendition"] = time.monotonic() - started

    result = ingest(src, out, progress=progress)
    return time.monotonic() - started, marks.get("rendition", 0.0), result


ENCODE_ARGS = [
    "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-profile:v", "high", "-pix_fmt", "yuv420p",
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=45.0, help="length of the H.264 lesson")
    parser.add_argument("--hevc-minutes", type=float, default=10.0, help="length of the HEVC input (0 = skip)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of (a) per side; the best is compared")
    parser.add_argument("--repeat-transcode", type=int, default=1, help="runs of (c) per side, alternating order")
    args = parser.parse_args()

    print(f"ffmpeg: {subprocess.run(['ffmpeg', '-version'], capture_output=True, text=True).stdout.split()[2]}"
          f", cores: {os.cpu_count()}")  # fmt: skip
    print("preparing inputs (cached in bench/.cache/) ...", flush=True)
    x264_clip = ["-c:v", "libx264", "-preset", "ultrafast", "-b:v", "2500k", "-g", "60", "-keyint_min", "60",
                 "-sc_threshold", "0", "-pix_fmt", "yuv420p"]  # fmt: skip
    lesson = make_long("h264-720p", args.minutes, "1280x720", x264_clip)
    hevc = None
    if args.hevc_minutes > 0:
        x265_clip = ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error:keyint=60",
                     "-tag:v", "hvc1", "-pix_fmt", "yuv420p"]  # fmt: skip
        hevc = make_long("hevc-1080p", args.hevc_minutes, "1920x1080", x265_clip)
    info = probe(lesson)
    duration_s = info.duration_ms / 1000
    print(f"lesson: {lesson.name}, {lesson.stat().st_size / 1e6:.0f} MB, {duration_s / 60:.1f} min, "
          f"moov at end, plan: {plan_rendition(info).mode}\n")  # fmt: skip

    rows: list[tuple[str, str, str, str]] = []
    work = CACHE / "runs"
    shutil.rmtree(work, ignore_errors=True)
    warm(lesson)
    ours, bare, rendition_s, kept = [], [], [], None
    for i in range(args.repeat):
        bare.append(baseline_ingest(lesson, work / f"bare-{i}", duration_s))
        shutil.rmtree(work / f"bare-{i}")
        total, rendition, result = obsapp_ingest(lesson, work / f"ours-{i}")
        ours.append(total)
        rendition_s.append(rendition)
        if kept is None:
            kept = result
        else:
            shutil.rmtree(work / f"ours-{i}")
    best_ours, best_bare = min(ours), min(bare)
    rows.append(("(a) ingest, web-compatible", f"{best_ours:.1f} s", f"{best_bare:.1f} s",
                 f"{best_ours / best_bare:.2f}x"))  # fmt: skip
    print(f"(a) obsapp ingest runs: {', '.join(f'{t:.1f}' for t in ours)} s "
          f"(rendition {', '.join(f'{t:.1f}' for t in rendition_s)} s); "
          f"bare ffmpeg runs: {', '.join(f'{t:.1f}' for t in bare)} s")  # fmt: skip
    print(f"    mode={kept.mode}, measured {kept.duration_ms} ms, files={len(kept.files)}, "
          f"sprite every {kept.sprite_interval_s} s")  # fmt: skip
    print("    baseline = sha256sum running throughout || (ffprobe; faststart remux; then")
    print("               poster || keyframe sprite || PCM to /dev/null) - the same phases and")
    print("               parallelism as ingest(), which hashes in a thread meanwhile\n")

    if hevc is not None:
        hinfo = probe(hevc)
        plan = plan_rendition(hinfo)
        warm(hevc)
        bare_out, ours_out = work / "hevc-bare.mp4", work / "hevc-ours.mp4"
        bare_cmd = [
            *FF, "-i", str(hevc), "-map", "0:v:0", "-map", "0:a:0", "-sn", "-dn", "-map_metadata", "-1",
            "-vf", f"scale={plan.width}:{plan.height},setsar=1,format=yuv420p", *ENCODE_ARGS,
            "-fps_mode", "cfr", "-r", str(plan.fps), "-force_key_frames", "expr:gte(t,n_forced*2)",
            "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-ar", "48000", "-movflags", "+faststart", str(bare_out),
        ]  # fmt: skip
        bare_runs, our_runs = [], []

        def run_bare() -> None:
            started = time.monotonic()
            sh(bare_cmd)
            bare_runs.append(time.monotonic() - started)

        def run_ours():
            started = time.monotonic()
            done = make_rendition(hevc, ours_out, hinfo, plan)
            our_runs.append(time.monotonic() - started)
            return done

        for i in range(args.repeat_transcode):
            if i % 2 == 0:
                run_bare()
                result = run_ours()
            else:
                result = run_ours()
                run_bare()
        ours_s, bare_s = min(our_runs), min(bare_runs)
        print(f"(c) obsapp make_rendition runs: {', '.join(f'{t:.1f}' for t in our_runs)} s; "
              f"bare ffmpeg runs: {', '.join(f'{t:.1f}' for t in bare_runs)} s (order alternates)")  # fmt: skip
        rows.append((f"(c) transcode {args.hevc_minutes:g} min HEVC 1080p", f"{ours_s:.1f} s", f"{bare_s:.1f} s",
                     f"{ours_s / bare_s:.2f}x"))  # fmt: skip
        speed = hinfo.duration_ms / 1000 / ours_s
        print(f"(c) mode={result.mode} {result.width}x{result.height} @ {result.fps}, {speed:.2f}x realtime;"
              f" sizes: ours {result.size_bytes / 1e6:.0f} MB, bare {bare_out.stat().st_size / 1e6:.0f} MB\n")

    video = kept.out_dir / "video.mp4"
    rng = random.Random(45)
    times = [rng.randrange(0, kept.duration_ms) for _ in range(20)]
    known, probed = [], []
    for t in times:
        started = time.monotonic()
        frame_at(video, t, work / "frame.jpg", duration_ms=kept.duration_ms, fps=kept.fps or Fraction(30))
        known.append((time.monotonic() - started) * 1000)
        started = time.monotonic()
        frame_at(video, t, work / "frame.jpg")
        probed.append((time.monotonic() - started) * 1000)
    rows.append(("(d) frame_at, duration+fps given", f"median {statistics.median(known):.0f} ms",
                 f"max {max(known):.0f} ms", ""))  # fmt: skip
    rows.append(("(d) frame_at, probing first", f"median {statistics.median(probed):.0f} ms",
                 f"max {max(probed):.0f} ms", ""))  # fmt: skip

    print(f"{'':38} {'obsapp':>16} {'bare ffmpeg':>14} {'ratio':>7}")
    for name, a, b, ratio in rows:
        print(f"{name:38} {a:>16} {b:>14} {ratio:>7}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
