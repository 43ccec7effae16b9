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
# Sections that domains above lessons add under the lesson page's timeline (talk adds its talk strip): each is
# called with the person and the lesson and returns HTML (Markup) or None.
LESSON_PANELS: dict[str, Callable[[User, object], object]] = {}


@bp.route("/")
@login_required
def dashboard():
    lists = services.dashboard(current_user)
    panels = {name: panel(current_user) for name, panel in DASHBOARD_PANELS.items()}
    return render_template("lessons/dashboard.html", **panels, **lists)


@bp.route("/lessons/new")
@login_required
def upload_page():
    return render_template("lessons/upload.html")


@bp.route("/lessons/<int:lesson_id>")
@login_required
def lesson_page(lesson_id: int):
    lesson = services.get_lesson(current_user, lesson_id)
    payload = lesson_payload(lesson, current_user)
    panels = [html for panel in LESSON_PANELS.values() if (html := panel(current_user, lesson))]
    return render_template("lessons/lesson.html", lesson=lesson, lesson_json=payload, access=payload["access"],
                           lesson_panels=panels)
