"""The watch page: the ``join_url`` of a session."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
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
        "invite_api": url_for("watch_api.invite", session_id=session.id),
        "candidates_api": url_for("watch_api.invitation_candidates", session_id=session.id),
        "transports": services.socket_transports(),
    }
    is_host = policy.is_watch_host(current_user, session)
    candidates = services.invitation_candidates(current_user, session.id) if is_host and session.active else []
    return render_template("watch/watch.html", session=session, lesson=lesson, page=page, is_host=is_host,
                           candidates=candidates)


@bp.route("/watch/<string:session_id>/invitation")
@login_required
def invitation_page(session_id: str):
    """Where an invitation leads: into the session while it runs; once it has ended, a notice that it expired."""
    invitation = services.invitation_for(current_user, session_id)  # 404 page unless invited and still allowed
    if invitation.session.active:
        return redirect(url_for("watch.watch_page", session_id=invitation.session_id))
    return render_template("watch/invitation_expired.html", invitation=invitation,
                           lesson_url=url_for("lessons.lesson_page", lesson_id=invitation.session.lesson_id)), 410
