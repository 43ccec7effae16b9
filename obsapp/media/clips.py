"""Clips of a lesson rendition, as one import: the code lives in

* :mod:`.source` — what a video is (:class:`SourceVideo`, packet headers, ``avcC``), read cheaply;
* :mod:`.encoding` — the x264 settings that reproduce a source's, and the fallback settings;
* :mod:`.cutting` — fast and frame-accurate (smart) cuts, thumbnails;
* :mod:`.captions` — WebVTT sidecars and ``mov_text`` tracks;
* :mod:`.titlecard` — the optional title card in front of a clip;
* :mod:`.reels` — clips joined into a reel with a chapter per clip.
"""

from __future__ import annotations

from .captions import Caption, add_captions, caption_args, caption_text, write_webvtt
from .cutting import ClipResult, FrameSpan, cut_accurate, cut_fast, encode_span, frame_span, thumbnail
from .encoding import AUDIO_ARGS, FALLBACK_X264, KEYFRAME_INTERVAL_S, x264_options, x264_settings
from .reels import ReelChapter, ReelResult, concat_reel
from .run import MediaError
from .source import (
    SourceVideo,
    ff_seconds,
    mp4_avcc,
    source_video,
    source_video_from_dict,
    source_video_to_dict,
)
from .titlecard import TitleCard, prepend_title_card

__all__ = [
    "AUDIO_ARGS",
    "FALLBACK_X264",
    "KEYFRAME_INTERVAL_S",
    "Caption",
    "ClipResult",
    "FrameSpan",
    "MediaError",
    "ReelChapter",
    "ReelResult",
    "SourceVideo",
    "TitleCard",
    "add_captions",
    "caption_args",
    "caption_text",
    "concat_reel",
    "cut_accurate",
    "cut_fast",
    "encode_span",
    "ff_seconds",
    "frame_span",
    "mp4_avcc",
    "prepend_title_card",
    "source_video",
    "source_video_from_dict",
    "source_video_to_dict",
    "thumbnail",
    "write_webvtt",
    "x264_options",
    "x264_settings",
]
