"""A reel's "Send to" names the teacher of its lessons as such, as a clip's does (the page ticks the teacher)."""

from obsapp.clips.models import Clip, Reel, ReelItem
from obsapp.extensions import db
from obsapp.lessons.models import LessonShare


def test_reel_recipients_name_the_lessons_teacher(make_user, make_mentorship, make_lesson, api_as):
    teacher, mentor, colleague = make_user(name="Tan Mei Ling"), make_user(name="Daniel Lim"), make_user(name="Ana")
    make_mentorship(mentor, teacher)
    first = make_lesson(teacher, "Fractions", status="ready", duration_ms=60_000)
    second = make_lesson(teacher, "Angles", status="ready", duration_ms=60_000)
    for lesson in (first, second):
        db.session.add(LessonShare(lesson_id=lesson.id, user_id=colleague.id, role="viewer"))
    reel = Reel(creator_id=mentor.id, title="Questions", status="ready", lesson_ids=[first.id, second.id], clip_count=2)
    db.session.add(reel)
    for position, lesson in enumerate((first, second)):
        clip = Clip(lesson_id=lesson.id, creator_id=mentor.id, start_ms=0, end_ms=5000, status="ready")
        db.session.add(clip)
        db.session.flush()
        db.session.add(ReelItem(reel=reel, clip_id=clip.id, position=position))
    db.session.commit()
    response = api_as(mentor).get(f"/api/v1/reels/{reel.id}/recipients")
    assert response.status_code == 200, response.get_json()
    roles = {item["name"]: item["role"] for item in response.get_json()["items"]}
    assert roles == {"Tan Mei Ling": "owner", "Ana": "shared"}
