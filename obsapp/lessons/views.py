"""HTML pages: the dashboard, the upload page and the lesson page."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from obsapp.accounts.models import User
from obsapp.lessons import services
from obsapp.lessons.serialize import lesson_payload

bp = Blueprint("lessons", __name__, template_folder="templates")
# What domains above lessons show on the dashboard, by template variable: ``create_app`` registers them
# (clips adds "feedback", the clips and reels sent to the person), so lessons imports none of them.
DASHBOARD_PANELS: dict[str, Callable[[User], object]] = {}
# Feedback facts per lesson for the dashboard's cards ({lesson_id: {"feedback", "new", "status"}}), from
# annotations (registered by ``create_app``).
LESSON_FACTS: list[Callable[[User, list], dict[int, dict]]] = []


@bp.app_template_filter("duration")
def duration_filter(ms: int | None) -> str:
    """m:ss under an hour, h:mm:ss from an hour on (a 12-second lesson is 0:12, not "0 min")."""
    seconds = max(0, int(ms or 0) // 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"

# Sections that domains above lessons add under the lesson page's timeline (talk adds its talk strip): each is
# called with the person and the lesson and returns HTML (Markup) or None.
LESSON_PANELS: dict[str, Callable[[User, object], object]] = {}
# Notices above the lesson page's player, in the same way (mentoring adds "self-review first").
LESSON_NOTICES: dict[str, Callable[[User, object], object]] = {}


@bp.route("/")
@login_required
def dashboard():
    lists = services.dashboard(current_user)
    panels = {name: panel(current_user) for name, panel in DASHBOARD_PANELS.items()}
    every = [lesson for group in lists.values() for lesson in group]
    facts: dict[int, dict] = {}
    for source in LESSON_FACTS:
        facts.update(source(current_user, every))
    fresh = [lesson for lesson in lists["mine"] if facts.get(lesson.id, {}).get("new")]
    return render_template("lessons/dashboard.html", **panels, **lists, facts=facts, fresh=fresh)


@bp.route("/lessons/new")
@login_required
def upload_page():
    return render_template("lessons/upload.html")


@bp.route("/lessons/<int:lesson_id>")
@login_required
def lesson_page(lesson_id: int):
    lesson = services.get_lesson(current_user, lesson_id)
    payload = lesson_payload(lesson, current_user)
    services.mark_seen(current_user, lesson)
    panels = [html for panel in LESSON_PANELS.values() if (html := panel(current_user, lesson))]
    notices = [html for notice in LESSON_NOTICES.values() if (html := notice(current_user, lesson))]
    return render_template("lessons/lesson.html", lesson=lesson, lesson_json=payload, access=payload["access"],
                           lesson_panels=panels, lesson_notices=notices)
