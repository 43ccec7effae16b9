"""The talk strip under the lesson page's timeline (registered as a lesson page panel by ``create_app``)."""

from __future__ import annotations

from flask import render_template
from markupsafe import Markup

from obsapp.accounts.models import User
from obsapp.lessons.models import Lesson
from obsapp.talk import services


def clock(ms: int | None) -> str:
    """1:05 or 1:02:03 for a time in the lesson."""
    seconds = max(0, int(ms or 0) // 1000)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def seconds(ms: int | None) -> str:
    return f"{(ms or 0) / 1000:.1f} s"


def percent(share: float, total: int) -> str:
    return f"{100 * share / total:.3f}" if total else "0"


def talk_panel(actor: User, lesson: Lesson) -> Markup | None:
    if lesson.status != "ready":
        return None
    talk = services.talk_payload(actor, lesson)
    html = render_template("talk/_strip.html", talk=talk, lesson=lesson, clock=clock, seconds=seconds, percent=percent)
    return Markup(html)  # noqa: S704 - already rendered by Jinja with autoescaping
