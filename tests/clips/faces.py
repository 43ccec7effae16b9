"""A test video with a real face: scikit-image's astronaut photo (Eileen Collins) moving and zooming."""

from __future__ import annotations

import subprocess
from pathlib import Path

FFMPEG = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]


def astronaut_png(dst: Path) -> Path:
    import cv2
    import skimage.data

    if not dst.exists():
        cv2.imwrite(str(dst), cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))
    return dst


def face_video(dst: Path, *, size: str = "640x360", seconds: float = 3.0, fps: int = 30) -> Path:
    """The photo scaled to ~240-420 px wide, panning right and zooming in, on a plain background, with a tone.
    Encoded like a lesson rendition (H.264 High, AAC, keyframe every 2 s, moov first)."""
    if dst.exists():
        return dst
    png = astronaut_png(dst.with_name("astronaut.png"))
    width = int(size.split("x")[0])
    grow = 60 * width / 640
    graph = (
        f"color=c=0x556677:s={size}:r={fps}:d={seconds}[bg];"
        f"[0:v]scale=w='{round(240 * width / 640)}+{grow:.0f}*t':h=-1:eval=frame[img];"
        f"[bg][img]overlay=x='{width // 32}+{90 * width / 640:.0f}*t':y='10+5*t':shortest=1,format=yuv420p[v]"
    )
    tmp = dst.with_suffix(".part.mp4")
    subprocess.run([
        *FFMPEG, "-loop", "1", "-framerate", str(fps), "-i", str(png),
        "-f", "lavfi", "-i", f"sine=f=330:sample_rate=48000:d={seconds}",
        "-filter_complex", graph, "-map", "[v]", "-map", "1:a", "-t", str(seconds),
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-profile:v", "high", "-r", str(fps),
        "-force_key_frames", "expr:gte(t,n_forced*2)", "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-ar", "48000",
        "-movflags", "+faststart", str(tmp),
    ], check=True, timeout=120)  # fmt: skip
    tmp.replace(dst)
    return dst


def gray_frames(path: Path):
    """Every frame as full-range luma (what a detector sees in a decoded picture)."""
    import numpy as np

    info = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
                           "-of", "csv=p=0", str(path)], check=True, capture_output=True, text=True).stdout
    width, height = (int(v) for v in info.strip().split(",")[:2])
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                         check=True, capture_output=True, timeout=120).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width)


def frames_with_faces(path: Path, every: int = 1) -> tuple[int, int]:
    """(frames where the contract's Haar check finds a face, frames checked): every frame, or with ``every`` > 1
    only every n-th (enough to show that a sample really shows faces; what a blurred clip shows needs them all)."""
    from obsapp.media.privacy import acceptance_faces

    frames = gray_frames(path)[::every]
    return sum(1 for frame in frames if acceptance_faces(frame)), len(frames)


def turned_and_small_faces_video(dst: Path, *, size: str = "640x360", seconds: float = 1.5, fps: int = 30) -> Path:
    """Two copies of the photo over a plain background: one turned 30 degrees (face ~110 px) drifting right, one
    so small that its face is ~40 px wide drifting down; H.264 like a lesson rendition, no sound."""
    if dst.exists():
        return dst
    png = astronaut_png(dst.with_name("astronaut.png"))
    graph = (
        f"color=c=0x556677:s={size}:r={fps}:d={seconds}[bg];"
        "[0:v]split[a][b];"
        "[a]scale=w=320:h=-1,format=rgba,rotate=a=30*PI/180:c=none:ow=rotw(30*PI/180):oh=roth(30*PI/180)[turned];"
        "[b]scale=w=230:h=-1[small];"
        "[bg][turned]overlay=x='20+20*t':y=0:shortest=1[v1];"
        "[v1][small]overlay=x=420:y='60+15*t':shortest=1,format=yuv420p[v]"
    )
    tmp = dst.with_suffix(".part.mp4")
    subprocess.run([
        *FFMPEG, "-loop", "1", "-framerate", str(fps), "-i", str(png), "-filter_complex", graph, "-map", "[v]",
        "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-profile:v", "high",
        "-r", str(fps), "-movflags", "+faststart", str(tmp),
    ], check=True, timeout=120)  # fmt: skip
    tmp.replace(dst)
    return dst


def centerface_faces(path: Path) -> list[int]:
    """How many faces CenterFace (the DNN detector) finds in each frame."""
    return [len(boxes) for boxes in centerface_boxes(path)]


def centerface_boxes(path: Path) -> list[list]:
    """The faces CenterFace (the DNN detector) finds in each frame."""
    import cv2

    from obsapp.media.faces import CenterFaceDetector, centerface_model_path

    model = centerface_model_path()
    assert model is not None, "CenterFace's model is installed by scripts/face_model.py (make setup)"
    detector = CenterFaceDetector(model)
    counts = []
    for gray in gray_frames(path):
        bgr = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
        counts.append(detector.detect(gray, lambda bgr=bgr: bgr))
    return counts
