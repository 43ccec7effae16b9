"""Pure media code: ffmpeg/ffprobe via subprocess, numpy, dataclasses.

``obsapp.media.run`` is the module (``run.run``, ``run.kill_all``); the
function ``run`` is deliberately not re-exported so that name keeps meaning
the module.  Nothing here may import flask or sqlalchemy; functions take and return paths
and dataclasses and raise :class:`MediaError` with a sentence for the teacher.
"""

from .audio import Waveform, waveform_peaks
from .frames import SpriteResult, frame_at, poster, thumbnail_sprite
from .ingest import IngestResult, ingest
from .probe import AudioInfo, MediaInfo, VideoInfo, probe
from .run import CompletedRun, MediaError, ffprobe_json, kill_all
from .transcode import Plan, RenditionResult, make_rendition, plan_rendition

__all__ = [
    "AudioInfo",
    "CompletedRun",
    "IngestResult",
    "MediaError",
    "MediaInfo",
    "Plan",
    "RenditionResult",
    "SpriteResult",
    "VideoInfo",
    "Waveform",
    "ffprobe_json",
    "frame_at",
    "ingest",
    "kill_all",
    "make_rendition",
    "plan_rendition",
    "poster",
    "probe",
    "thumbnail_sprite",
    "waveform_peaks",
]
