"""JSON API for talk and wait time."""

from __future__ import annotations

from flask_login import current_user
from flask_smorest import Blueprint

from obsapp.lessons import services as lessons
from obsapp.talk import services
from obsapp.talk.schemas import TalkSchema

blp = Blueprint("talk_api", __name__, url_prefix="/api/v1", template_folder="templates",  # the talk strip's too
                description="Talk and wait time: speech vs silence from a lesson's audio")


@blp.route("/lessons/<int:lesson_id>/talk")
@blp.response(200, TalkSchema)
def talk(lesson_id):
    """Speech segments, the share of time with speech, pauses and the wait time after each question.

    Computed after ingest; ``status`` is ``processing`` until then. A lesson without audio is ``ready`` with no
    segments. Speech vs silence only: it does not tell the teacher from the students."""
    return services.talk_payload(current_user, lessons.get_lesson(current_user, lesson_id))
