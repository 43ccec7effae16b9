"""How clips are encoded: the settings that reproduce a source's x264 parameter sets (for smart cuts),
and the settings used when a span is encoded from scratch (the lesson rendition's own)."""

from __future__ import annotations

import os

from .probe import mp4_top_level_boxes
from .run import MediaError, ffmpeg_cmd, ffmpeg_input, run
from .source import SourceVideo

__all__ = ["AUDIO_ARGS", "FALLBACK_X264", "KEYFRAME_INTERVAL_S", "x264_options", "x264_settings"]

AUDIO_ARGS = ["-c:a", "aac", "-b:a", "128k", "-ac", "2", "-ar", "48000"]
FALLBACK_X264 = ["-preset", "veryfast", "-crf", "23", "-profile:v", "high"]  # the rendition's own settings
KEYFRAME_INTERVAL_S = 2
SEI_MARKER = b"x264 - core "


# --- the x264 settings a source was made with ---------------------------------------------------

# x264 option (as printed in its SEI) -> x264 parameter name; only what shapes the bitstream's
# headers and structure.  Speed-only options (me, subme, trellis...) are chosen by us, see below.
_STRUCTURAL = {
    "cabac": "cabac", "ref": "ref", "8x8dct": "8x8dct", "bframes": "bframes", "weightb": "weightb",
    "weightp": "weightp", "open_gop": "open-gop", "constrained_intra": "constrained-intra",
    "bluray_compat": "bluray-compat", "chroma_qp_offset": "chroma-qp-offset", "keyint_min": "min-keyint",
    "stitchable": "stitchable",
}  # fmt: skip
_PYRAMID = {"0": "none", "1": "strict", "2": "normal"}


def _sei_options(blob: bytes) -> dict[str, str] | None:
    at = blob.find(SEI_MARKER)
    if at < 0:
        return None
    text = blob[at:at + 4096].split(b"\x00")[0].split(b"\x80")[0].decode("ascii", "replace")
    _, _, options = text.partition("options: ")
    pairs = {}
    for item in options.split():
        key, sep, value = item.partition("=")
        if sep:
            pairs[key] = value
    return pairs or None


def x264_options(src: str | os.PathLike[str], *, timeout_s: float = 30.0) -> dict[str, str] | None:
    """The options x264 printed into the first frame of ``src`` (its SEI message), or None if not x264.

    In an MP4 the first frame sits near the start of ``mdat``, so its first megabyte is searched; other
    files have their first video packet extracted by ffmpeg.
    """
    boxes, _ = mp4_top_level_boxes(src)
    mdat = next(((offset, size) for kind, offset, size in boxes if kind == b"mdat"), None)
    if mdat is not None:
        with open(src, "rb") as fh:
            fh.seek(mdat[0])
            found = _sei_options(fh.read(min(mdat[1], 1 << 20)))
        if found:
            return found
    argv = ffmpeg_cmd(*ffmpeg_input(src), "-map", "0:v:0", "-c", "copy", "-frames:v", "1",
                      "-bsf:v", "h264_mp4toannexb", "-f", "h264", "-")
    try:
        return _sei_options(run(argv, timeout_s=timeout_s).stdout)
    except MediaError:
        return None


def x264_settings(source: SourceVideo, options: dict[str, str] | None) -> list[str] | None:
    """libx264 arguments that reproduce the source's parameter sets, or None when that is impossible.

    Speed-only settings are fast ones (subme <= 5 and no trellis, so x264 does not shift the chroma QP
    offset for psychovisual tuning: the printed offset is then exactly what we ask for).
    """
    if not options or source.codec != "h264" or source.pix_fmt != "yuv420p":
        return None
    if options.get("interlaced", "0") != "0" or options.get("cqm", "0") != "0":
        return None
    if options.get("intra_refresh", "0") != "0" or options.get("fake_interlaced", "0") != "0":
        return None
    params = {name: options[key] for key, name in _STRUCTURAL.items() if key in options}
    deblock = options.get("deblock", "1:0:0").split(":")
    if deblock[0] == "1" and len(deblock) == 3:
        params["deblock"] = f"{deblock[1]},{deblock[2]}"
    else:
        params["no-deblock"] = "1"
    if "b_pyramid" in options:
        params["b-pyramid"] = _PYRAMID.get(options["b_pyramid"], "normal")
    if options.get("keyint"):
        params["keyint"] = options["keyint"]
    rc = options.get("rc", "crf")
    if rc == "crf" and "crf" in options:
        params["crf"] = options["crf"]
    elif rc in ("abr", "cbr") and "bitrate" in options:
        params["bitrate"] = options["bitrate"]
    elif rc == "cqp" and "qp" in options:
        params["qp"] = options["qp"]
    else:
        return None
    for key, name in (("vbv_maxrate", "vbv-maxrate"), ("vbv_bufsize", "vbv-bufsize"), ("nal_hrd", "nal-hrd")):
        if key in options:
            params[name] = options[key]
    if source.level:
        params["level"] = f"{source.level // 10}.{source.level % 10}"
    # Few frames are encoded at a time: no lookahead and slice threads keep the latency low.
    params.update({"subme": str(min(5, int(options.get("subme", "2") or 2))), "trellis": "0", "me": "dia",
                   "b-adapt": "0" if options.get("bframes", "0") == "0" else "1", "rc-lookahead": "0",
                   "sync-lookahead": "0", "sliced-threads": "1", "mbtree": "0",
                   "scenecut": options.get("scenecut", "40")})
    return ["-c:v", "libx264", "-preset", "ultrafast",
            "-x264-params", ":".join(f"{k}={v}" for k, v in params.items())]

