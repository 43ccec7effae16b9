"""Benchmark clips and reels against bare ffmpeg doing the same job, in the same run.

    .venv/bin/python bench/clips.py [--minutes 45] [--repeat 3] [--blur-seconds 30] [--only-blur]

Input: the 720p30 H.264/AAC lesson of bench/ingest.py (generated once into bench/.cache/ by its
generator), remuxed with +faststart exactly as ingest() makes a lesson's rendition (also cached).

(a) fast clip: 30 s at minute 30 (scaled down with --minutes), ``cut_fast`` vs
    ``ffmpeg -ss S -i rendition -t 30 -c copy`` (target: under 0.5 s).
(b) frame-accurate clip, same span: ``cut_accurate`` (smart cut) vs the same bare fast cut
    (target: within 2x of it); also with the audio re-encoded, and a full re-encode for scale.
(c) reel of 5 accurate clips: ``concat_reel`` (with the clip formats recorded at clip time, as the reel job
    reads them) vs ``ffmpeg -f concat -i list -c copy`` (target: within 1.3x); also when it probes each clip.
(d) face blurring: ``blur_faces`` on 30 s (--blur-seconds) of 720p with a real face (scikit-image's astronaut)
    vs a plain re-encode of the same clip (target: at most 1x realtime, within 3x the re-encode), and the frames
    where OpenCV's stock Haar check (the contract's) or CenterFace still find a face (target 0). Twice: as clips
    are made (every encoded frame read back and checked), and (d') without that read-back.
    ``--only-blur`` runs just this part.
Each side runs --repeat times, alternating which goes first; the best run of each is compared.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import CACHE, FF, make_long, warm  # noqa: E402

from obsapp.media import clips  # noqa: E402

CLIP_S = 30


def rendition_of(lesson: Path) -> Path:
    """The lesson as ingest() serves it: H.264/AAC remuxed with its moov first."""
    out = lesson.with_name(lesson.stem + "-rendition.mp4")
    if not out.exists():
        print(f"  remuxing {lesson.name} with +faststart (as ingest does) ...", flush=True)
        tmp = out.with_suffix(".part.mp4")
        subprocess.run([*FF, "-i", str(lesson), "-map", "0:v:0", "-map", "0:a:0", "-c", "copy",
                        "-movflags", "+faststart", str(tmp)], check=True)
        tmp.replace(out)
    return out


def timed(fn) -> float:
    started = time.monotonic()
    fn()
    return time.monotonic() - started


def compare(name: str, ours, bare, repeat: int) -> tuple[float, float]:
    mine, theirs = [], []
    for i in range(repeat):
        pair = [(mine, ours), (theirs, bare)]
        for runs, fn in pair if i % 2 == 0 else reversed(pair):
            runs.append(timed(fn))
    print(f"  {name}: obsapp {', '.join(f'{t:.3f}' for t in mine)} s; bare {', '.join(f'{t:.3f}' for t in theirs)} s")
    return min(mine), min(theirs)


def swaying_faces(seconds: float, face_video) -> Path:
    """``seconds`` of 720p30 in which the face stays in view: the 5-s test clip (the astronaut panning right and
    zooming in) played forwards then backwards, over and over (the 5-s clip alone, made longer, pans the face
    out of the picture after ~7 s, and a clip of empty background is cheap to blur)."""
    dst = CACHE / f"faces-swaying-1280x720-{seconds:g}s.mp4"
    if dst.exists():
        return dst
    five = face_video(CACHE / "faces-1280x720-5s.mp4", size="1280x720", seconds=5.0)
    tmp = dst.with_suffix(".part.mp4")
    subprocess.run([*FF, "-i", str(five), "-filter_complex",
                    "[0:v]split[a][b];[b]reverse[r];[a][r]concat=n=2:v=1:a=0[ten];"
                    "[ten]loop=loop=-1:size=300:start=0,setpts=N/30/TB[v];sine=f=330:sample_rate=48000[s]",
                    "-map", "[v]", "-map", "[s]", "-t", f"{seconds:g}", "-r", "30",
                    "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-profile:v", "high",
                    "-force_key_frames", "expr:gte(t,n_forced*2)", "-c:a", "aac", "-b:a", "128k",
                    "-movflags", "+faststart", str(tmp)], check=True, timeout=600)
    tmp.replace(dst)
    return dst


def bench_blur(seconds: float, work: Path, repeat: int) -> list:
    """(d): ``blur_faces`` on ``seconds`` of 720p30 with a real face, two ways, against a plain re-encode of the same
    clip (libx264 veryfast, AAC) in the same run: as clips are made (detection, tracking, the gate, pixelation, the
    read-back of every encoded frame both ways and any repairs), and (d') the same without the read-back (as the
    whole-lesson rendition is made)."""
    try:
        from blur import bare_encode, faces_left

        from obsapp.media.privacy import blur_faces
        from tests.clips.faces import face_video
    except ImportError as exc:  # scikit-image is a test dependency
        print(f"  (d) skipped: {exc}")
        return []
    faces = swaying_faces(seconds, face_video)
    print(f"  (d) {seconds:g} s of 720p30 with a face in view throughout; load average {os.getloadavg()[0]:.1f}",
          flush=True)
    ways = [("(d) blur faces, output checked", "d", {}),
            ("(d') blur faces, gate only", "d'", {"verify_output": False})]
    bare: list[float] = []
    rows = []
    for name, tag, options in ways:
        mine, best = [], None
        for i in range(repeat):
            pair = [("ours", lambda i=i, tag=tag, options=options: blur_faces(
                        faces, work / f"blurred-{tag}-{i}.mp4", **options)),
                    ("bare", lambda i=i, tag=tag: bare_encode(faces, work / f"bare-{tag}-{i}.mp4"))]
            for side, fn in pair if i % 2 == 0 else reversed(pair):
                if side == "ours":
                    result = fn()
                    mine.append(result.elapsed_s)
                    best = result if best is None or result.elapsed_s < best.elapsed_s else best
                else:
                    bare.append(fn())
        haar, dnn, total = faces_left(best.path)
        print(f"  {tag} blur_faces ({best.detector}): {', '.join(f'{t:.1f}' for t in mine)} s; bare re-encode "
              f"{', '.join(f'{t:.1f}' for t in bare)} s; {best.passes} pass(es), {best.repaired_frames} frame(s) "
              f"repaired in {best.repaired_segments} group(s) of pictures; frames where a face is still found: "
              f"Haar (the contract's check) {haar}/{total}, CenterFace {dnn}/{total}", flush=True)
        rows.append((f"{name}, {seconds:g} s 720p", min(mine), min(bare),
                     f"<= {seconds:g} s (1x realtime), within 3x; now {min(mine) / seconds:.2f}x realtime, "
                     f"faces left {haar}+{dnn}/{total}"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=45.0, help="length of the lesson (the clip is at 2/3)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per side; the best is compared")
    parser.add_argument("--blur-seconds", type=float, default=30.0, help="length of the face clip (0 = skip)")
    parser.add_argument("--only-blur", action="store_true", help="only (d), face blurring")
    args = parser.parse_args()
    if args.only_blur:
        work = CACHE / "clip-runs"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        print_rows(bench_blur(args.blur_seconds, work, args.repeat))
        return

    version = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout.split()[2]
    print(f"ffmpeg: {version}, cores: {os.cpu_count()}")
    print("preparing inputs (cached in bench/.cache/) ...", flush=True)
    x264_clip = ["-c:v", "libx264", "-preset", "ultrafast", "-b:v", "2500k", "-g", "60", "-keyint_min", "60",
                 "-sc_threshold", "0", "-pix_fmt", "yuv420p"]  # fmt: skip
    source = rendition_of(make_long("h264-720p", args.minutes, "1280x720", x264_clip))
    warm(source)
    work = CACHE / "clip-runs"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    duration_s = args.minutes * 60
    start_s = min(30 * 60, duration_s * 2 / 3) + 0.123  # not on a keyframe
    start_ms, end_ms = round(start_s * 1000), round((start_s + CLIP_S) * 1000)
    print(f"lesson: {source.name}, {source.stat().st_size / 1e6:.0f} MB; clip {start_ms} - {end_ms} ms\n")
    rows = []

    def bare_fast() -> None:
        subprocess.run([*FF, "-ss", f"{start_s:.3f}", "-i", str(source), "-t", str(CLIP_S), "-c", "copy",
                        str(work / "bare-fast.mp4")], check=True)

    ours, bare = compare("(a) fast clip", lambda: clips.cut_fast(source, work / "fast.mp4", start_ms, end_ms),
                         bare_fast, args.repeat)
    rows.append(("(a) fast clip, 30 s at min 30", ours, bare, "< 0.5 s"))

    result = clips.cut_accurate(source, work / "accurate.mp4", start_ms, end_ms)
    print(f"  (b) smart cut: mode={result.mode}, {result.frames} frames of which {result.copied_frames} copied"
          f"{'' if result.reason is None else ', ' + result.reason}")
    ours, bare = compare("(b) accurate clip", lambda: clips.cut_accurate(source, work / "accurate.mp4", start_ms,
                                                                         end_ms), bare_fast, args.repeat)
    rows.append(("(b) accurate clip (smart cut)", ours, bare, "within 2x"))
    ours_enc, _ = compare("(b) accurate, audio re-encoded",
                          lambda: clips.cut_accurate(source, work / "accurate-aac.mp4", start_ms, end_ms,
                                                     audio="encode"), bare_fast, 1)
    rows.append(("(b') accurate, audio re-encoded", ours_enc, bare, ""))
    full = timed(lambda: clips.cut_accurate(source, work / "full.mp4", start_ms, end_ms, smart=False))
    rows.append(("(b'') accurate by full re-encode", full, bare, "for scale"))

    spans = [(start_s - 600 * k, 6.0) for k in range(5)]
    parts = []
    for n, (at, length) in enumerate(spans):
        at = max(0.5, at % max(1.0, duration_s - length - 1))
        parts.append(clips.cut_accurate(source, work / f"part{n}.mp4", round(at * 1000),
                                        round((at + length) * 1000)).path)
    listing = work / "parts.txt"
    listing.write_text("".join(f"file '{p.name}'\n" for p in parts))

    def bare_reel() -> None:
        subprocess.run([*FF, "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy",
                        str(work / "bare-reel.mp4")], check=True)

    titles = [f"Moment {n + 1}" for n in range(len(parts))]
    # The clip job records each clip's format when it makes the clip (format.json), so a reel reads it
    # instead of probing every clip again; that is the path timed here. Probing is shown for comparison.
    recorded = [clips.source_video_from_dict(clips.source_video_to_dict(clips.source_video(p)), p) for p in parts]
    ours, bare = compare("(c) reel of 5", lambda: clips.concat_reel(parts, work / "reel.mp4", titles,
                                                                    formats=recorded), bare_reel, args.repeat)
    rows.append(("(c) reel of 5 clips (copy, chapters)", ours, bare, "within 1.3x"))
    probing, _ = compare("(c') reel of 5, probing each clip",
                         lambda: clips.concat_reel(parts, work / "reel.mp4", titles), bare_reel, 1)
    rows.append(("(c') the same, probing every clip", probing, bare, "for scale"))

    if args.blur_seconds > 0:
        rows += bench_blur(args.blur_seconds, work, args.repeat)

    print_rows(rows)


def print_rows(rows) -> None:
    print(f"\n{'what':40} {'obsapp':>9} {'bare ffmpeg':>12} {'ratio':>7}  target")
    for name, mine, theirs, target in rows:
        ratio = f"{mine / theirs:.2f}x" if theirs else ""
        bare_text = f"{theirs:.3f} s" if theirs else ""
        print(f"{name:40} {mine:8.3f}s {bare_text:>12} {ratio:>7}  {target}")


if __name__ == "__main__":
    main()
