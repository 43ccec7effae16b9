"""JSON API for watch sessions: start one, read its state and log, end it, list a lesson's past sessions."""

from __future__ import annotations

from flask_login import current_user
from flask_smorest import Blueprint

from obsapp.lessons import services as lessons
from obsapp.pagination import paginate
from obsapp.watch import services
from obsapp.watch.schemas import (
    MyInvitationsQuerySchema,
    WatchCandidateListSchema,
    WatchInvitationListSchema,
    WatchInviteSchema,
    WatchSessionListSchema,
    WatchSessionQuerySchema,
    WatchSessionSchema,
)

blp = Blueprint("watch_api", __name__, url_prefix="/api/v1",
                description="Watching together: sessions, their live state and their log "
                            "(live events: Socket.IO namespace /watch)")


@blp.route("/lessons/<int:lesson_id>/watch", methods=["POST"])
@blp.response(201, WatchSessionSchema)
def start(lesson_id):
    """Start a watch session on a lesson you may see; send its ``join_url`` to the people to watch with."""
    session = services.start_session(current_user, lessons.get_lesson(current_user, lesson_id))
    return services.session_payload(session)


@blp.route("/lessons/<int:lesson_id>/watch-sessions")
@blp.arguments(WatchSessionQuerySchema, location="query")
@blp.response(200, WatchSessionListSchema)
def lesson_sessions(args, lesson_id):
    """The lesson's watch sessions, newest first, each with its log (joins, flags, notes, locks, end)."""
    lesson = lessons.get_lesson(current_user, lesson_id)
    page = paginate(services.sessions_of_lesson(current_user, lesson))
    page["items"] = [services.session_payload(session) for session in page["items"]]
    return page


@blp.route("/watch/<string:session_id>")
@blp.response(200, WatchSessionSchema)
def session(session_id):
    """A session: its live state and who is present (while active) and its log."""
    return services.session_payload(services.get_session(current_user, session_id))


@blp.route("/watch/<string:session_id>/end", methods=["POST"])
@blp.response(200, WatchSessionSchema)
def end(session_id):
    """End the session for everyone (its host only); ending an ended session changes nothing."""
    return services.session_payload(services.end_session(current_user, session_id))


@blp.route("/watch/<string:session_id>/invitations", methods=["POST"])
@blp.arguments(WatchInviteSchema)
@blp.response(201, WatchInvitationListSchema)
@blp.alt_response(409, description="The session has ended (session_ended): its invitations have expired")
def invite(data, session_id):
    """The host invites people who may view the lesson to the running session; each gets a notification (kind
    ``watch``) whose link joins it. Inviting someone again changes nothing; the invitations expire when the session
    ends (409 ``session_ended`` after that)."""
    invitations = services.invite(current_user, session_id, data["user_ids"])
    return {"items": [services.invitation_payload(i) for i in invitations], "next": None}


@blp.route("/watch/<string:session_id>/invitations")
@blp.response(200, WatchInvitationListSchema)
def session_invitations(session_id):
    """The session's invitations: all of them for its host, your own for anyone else."""
    return {"items": [services.invitation_payload(i) for i in services.invitations_of(current_user, session_id)],
            "next": None}


@blp.route("/watch/<string:session_id>/invitation-candidates")
@blp.response(200, WatchCandidateListSchema)
def invitation_candidates(session_id):
    """Who the host may invite: the lesson's owner, the people it is shared with and the owner's mentors."""
    return {"items": services.invitation_candidates(current_user, session_id), "next": None}


@blp.route("/watch-invitations")
@blp.arguments(MyInvitationsQuerySchema, location="query")
@blp.response(200, WatchInvitationListSchema)
def my_invitations(args):
    """Invitations to watch together sent to you, newest first: those of running sessions (``expired=true``: all)."""
    page = paginate(services.my_invitations(current_user, include_expired=args["expired"]))
    page["items"] = [services.invitation_payload(i) for i in page["items"]]
    return page
