"""Voice activity on synthesised speech with known timings: real ffmpeg decode, real WebRTC detector."""

from __future__ import annotations

import subprocess

import pytest

from obsapp.media.speech import Segment, analyse_talk, label_voices, pauses, segments_from_frames, wait_time_ms
from tests.talk.synth import lesson_audio, write_wav

TOLERANCE_MS = 100
# (start_s, end_s, level_dBFS): two loud stretches split by 0.6 s, a 4 s pause, a quiet (far) voice, a late reply
SPANS = [(1.0, 4.0, -12), (4.6, 6.0, -12), (10.0, 12.5, -12), (14.0, 16.0, -28), (18.2, 19.0, -12)]
TOTAL_S = 21.0


@pytest.fixture(scope="module")
def lesson_mp4(tmp_path_factory):
    """The audio as AAC in an MP4 with a lavfi video track, like an ingested lesson's rendition."""
    d = tmp_path_factory.mktemp("talk")
    wav = write_wav(d / "talk.wav", lesson_audio(SPANS, TOTAL_S))
    out = d / "lesson.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"color=c=gray:s=160x120:r=10:d={TOTAL_S}",
                    "-i", str(wav), "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-b:a", "96k",
                    "-shortest", str(out)], check=True)
    return out


def close(a_ms: int, b_s: float) -> bool:
    return abs(a_ms - b_s * 1000) <= TOLERANCE_MS


def test_speech_segments_match_the_known_timings(lesson_mp4):
    result = analyse_talk(lesson_mp4, duration_ms=int(TOTAL_S * 1000))
    found = [(s.start_ms, s.end_ms) for s in result.segments]
    assert len(found) == len(SPANS), found
    for (start, end), (want_start, want_end, _) in zip(found, SPANS, strict=True):
        assert close(start, want_start) and close(end, want_end), (found, SPANS)
    expected_speech = sum(e - s for s, e, _ in SPANS)
    assert abs(result.speech_share - expected_speech / TOTAL_S) <= 5 * TOLERANCE_MS / 1000 / TOTAL_S


def test_the_quiet_voice_is_far_and_the_loud_ones_near(lesson_mp4):
    result = analyse_talk(lesson_mp4, duration_ms=int(TOTAL_S * 1000))
    assert [s.voice for s in result.segments] == ["near", "near", "near", "far", "near"]
    levels = [s.level_db for s in result.segments]
    assert abs(levels[0] - -12) < 2 and abs(levels[3] - -28) < 2


def test_pauses_and_wait_time_from_the_measured_segments(lesson_mp4):
    result = analyse_talk(lesson_mp4, duration_ms=int(TOTAL_S * 1000))
    gaps = pauses(result.segments, result.duration_ms, min_ms=3000)
    assert len(gaps) == 1 and close(gaps[0].start_ms, 6.0) and close(gaps[0].end_ms, 10.0)
    # a question during the second stretch: the wait runs from its end (6.0 s) to the next speech (10.0 s)
    wait, question_end = wait_time_ms(result.segments, 5500)
    assert close(question_end, 6.0) and abs(wait - 4000) <= 2 * TOLERANCE_MS
    # a question marked just after the speech ended (within reach) counts from that speech's end
    wait, question_end = wait_time_ms(result.segments, 13_500)
    assert close(question_end, 12.5) and abs(wait - 1500) <= 2 * TOLERANCE_MS
    assert wait_time_ms(result.segments, 18_600) is None  # nothing after the last speech


def test_breath_length_gaps_are_bridged(tmp_path):
    spans = [(0.5, 2.0, -12), (2.15, 3.5, -12)]  # a 150 ms breath
    wav = write_wav(tmp_path / "breath.wav", lesson_audio(spans, 5.0))
    result = analyse_talk(wav, duration_ms=5000)
    assert len(result.segments) == 1
    assert close(result.segments[0].start_ms, 0.5) and close(result.segments[0].end_ms, 3.5)


def test_silence_and_no_audio_give_no_segments(tmp_path):
    wav = write_wav(tmp_path / "quiet.wav", lesson_audio([], 4.0))
    assert analyse_talk(wav, duration_ms=4000).segments == []
    result = analyse_talk(tmp_path / "not-read.mp4", duration_ms=4000, has_audio=False)
    assert result.segments == [] and result.speech_share == 0.0


def test_frame_smoothing_rules():
    flags = [False] * 3 + [True] * 10 + [False] * 5 + [True] * 10 + [False] * 20 + [True] * 2 + [False] * 3
    segments = segments_from_frames(flags, hangover_ms=300, min_speech_ms=120)
    # the 150 ms gap is bridged; the 60 ms blip is dropped
    assert [(s.start_ms, s.end_ms) for s in segments] == [(90, 840)]
    assert segments_from_frames([]) == []
    labelled = label_voices([Segment(0, 5000, -10.0), Segment(6000, 7000, -30.0), Segment(8000, 9000, -14.0)])
    assert [s.voice for s in labelled] == ["near", "far", "near"]


def test_unreadable_audio_is_a_media_error(tmp_path):
    from obsapp.media import MediaError

    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF not really a wave file at all" * 10)
    with pytest.raises(MediaError):
        analyse_talk(bad, duration_ms=1000)


@pytest.mark.parametrize("noise_db", [-45, -35])
def test_timings_hold_in_a_noisier_room(tmp_path, noise_db):
    """Steady room noise well above silence (white noise at -45 and -35 dBFS) still leaves the edges in place."""
    wav = write_wav(tmp_path / "noisy.wav", lesson_audio(SPANS, TOTAL_S, noise_db=noise_db))
    result = analyse_talk(wav, duration_ms=int(TOTAL_S * 1000))
    found = [(s.start_ms, s.end_ms) for s in result.segments]
    assert len(found) == len(SPANS), found
    for (start, end), (want_start, want_end, _) in zip(found, SPANS, strict=True):
        assert close(start, want_start) and close(end, want_end), (found, SPANS)
