"""HTML pages: the dashboard, the upload page and the lesson page."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from obsapp.lessons import services
from obsapp.lessons.serialize import lesson_payload

bp = Blueprint("lessons", __name__, template_folder="templates")


@bp.route("/")
@login_required
def dashboard():
    lists = services.dashboard(current_user)
    return render_template("lessons/dashboard.html", feedback=_feedback_for(current_user), **lists)


def _feedback_for(user) -> list[dict]:
    """The dashboard's "Feedback for me": clips and reels sent to ``user``, unread first."""
    from obsapp.clips import services as clips
    from obsapp.clips.serialize import feedback_payloads

    return feedback_payloads(clips.inbox(user, limit=30), user)


@bp.route("/lessons/new")
@login_required
def upload_page():
    return render_template("lessons/upload.html")


@bp.route("/lessons/<int:lesson_id>")
@login_required
def lesson_page(lesson_id: int):
    lesson = services.get_lesson(current_user, lesson_id)
    payload = lesson_payload(lesson, current_user)
    return render_template("lessons/lesson.html", lesson=lesson, lesson_json=payload, access=payload["access"])
