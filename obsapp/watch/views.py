"""The watch page: the ``join_url`` of a session."""

from __future__ import annotations

from flask import Blueprint, render_template, url_for
from flask_login import current_user, login_required

from obsapp import policy
from obsapp.lessons.serialize import lesson_payload
from obsapp.watch import services

bp = Blueprint("watch", __name__, template_folder="templates")


@bp.route("/watch/<string:session_id>")
@login_required
def watch_page(session_id: str):
    session = services.get_session(current_user, session_id)  # 404 page unless the lesson is visible
    lesson = lesson_payload(session.lesson, current_user)
    page = {
        "session_id": session.id, "active": session.active, "join_url": services.join_url(session),
        "host": {"id": session.host.id, "name": session.host.name} if session.host else None,
        "me": {"id": current_user.id, "name": current_user.name},
        "lesson": {"id": lesson["id"], "title": lesson["title"], "status": lesson["status"],
                   "duration_ms": lesson["duration_ms"], "fps": lesson["fps"], "access": lesson["access"],
                   "media": lesson["media"], "url": url_for("lessons.lesson_page", lesson_id=lesson["id"])},
        "annotations": services.annotations_available(),
        "transports": services.socket_transports(),
    }
    return render_template("watch/watch.html", session=session, lesson=lesson, page=page,
                           is_host=policy.is_watch_host(current_user, session))
