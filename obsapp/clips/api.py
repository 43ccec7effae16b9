"""JSON API for clips, reels and the feedback inbox."""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from obsapp import policy
from obsapp.clips import media, services
from obsapp.clips.schemas import (
    ClipCreatedSchema,
    ClipCreateSchema,
    ClipQuerySchema,
    ClipSchema,
    DeliveryListSchema,
    DeliveryStateSchema,
    MediaQuerySchema,
    ReelCreatedSchema,
    ReelCreateSchema,
    ReelSchema,
    SendSchema,
)
from obsapp.clips.serialize import (
    clip_payload,
    clip_payloads,
    delivery_payloads,
    delivery_state,
    feedback_payloads,
    reel_payload,
)
from obsapp.lessons import services as lessons
from obsapp.pagination import paginate

blp = Blueprint("clips_api", __name__, url_prefix="/api/v1",
                description="Clips of lessons, reels of clips, and feedback sent to people")


class InboxClipSchema(ClipSchema):
    type = fields.String(metadata={"description": "clip"})
    unread = fields.Boolean(metadata={"description": "not watched yet"})


class InboxReelSchema(ReelSchema):
    type = fields.String(metadata={"description": "reel"})
    unread = fields.Boolean(metadata={"description": "not watched yet"})


class ClipListOrInboxSchema(Schema):
    items = fields.List(fields.Raw(), metadata={
        "description": "clips (Clip). With for=me, the clips and reels sent to you: each the clip's (InboxClip) or "
                       "reel's (InboxReel) own payload, its id the clip's or reel's, with type (clip | reel), "
                       "delivery (who sent it to you, when, their message, when you watched and reviewed it) and "
                       "unread"})
    next = fields.String(allow_none=True)


class SentSchema(Schema):
    items = fields.List(fields.Nested(DeliveryStateSchema))
    next = fields.String(allow_none=True)


@blp.route("/lessons/<int:lesson_id>/clips", methods=["POST"])
@blp.arguments(ClipCreateSchema)
@blp.response(202, ClipCreatedSchema)
def create_clip(data, lesson_id):
    """Make a clip of ``[start_ms, end_ms)`` (needs comment access); it is rendered by a job (``job_id``)."""
    lesson = lessons.get_lesson(current_user, lesson_id)
    clip = services.create_clip(current_user, lesson, data)
    return {"clip": clip_payload(clip, current_user), "job_id": clip.job_id}


@blp.route("/clips")
@blp.arguments(ClipQuerySchema, location="query")
@blp.response(200, ClipListOrInboxSchema)
@blp.alt_response(404, description="No lesson with that lesson_id that you may see")
def list_clips(args):
    """``?for=me``: clips and reels sent to you (unread first, newest first), each with its ``delivery`` to you;
    ``?lesson_id=``: a lesson's clips; else yours."""
    if args["for_"] == "me":
        result = paginate(services.inbox_query(current_user))
        schemas = {"clip": InboxClipSchema(), "reel": InboxReelSchema()}
        payloads = feedback_payloads(result["items"], current_user)
        result["items"] = [schemas[item["type"]].dump(item) for item in payloads]
        return result
    if args["lesson_id"] is not None:
        stmt = services.clips_of_lesson(current_user, lessons.get_lesson(current_user, args["lesson_id"]))
    else:
        stmt = services.clips_by(current_user)
    result = paginate(stmt)
    result["items"] = [ClipSchema().dump(payload) for payload in clip_payloads(result["items"], current_user)]
    return result


@blp.route("/clips/<int:clip_id>")
@blp.response(200, ClipSchema)
def get_clip(clip_id):
    """A clip (anyone who may view its lesson)."""
    return clip_payload(services.get_clip(current_user, clip_id), current_user)


@blp.route("/clips/<int:clip_id>/retry", methods=["POST"])
@blp.response(202, ClipCreatedSchema)
def retry_clip(clip_id):
    """Render a failed clip again."""
    clip = services.retry_clip(current_user, services.get_clip(current_user, clip_id))
    return {"clip": clip_payload(clip, current_user), "job_id": clip.job_id}


@blp.route("/clips/<int:clip_id>/media/<string:name>")
@blp.arguments(MediaQuerySchema, location="query")
@blp.response(200, description="video.mp4 (Range requests), thumbnail.jpg or captions.vtt")
def clip_media(args, clip_id, name):
    """A clip's media, access checked on every request; ``?download=1`` names the file for saving."""
    return media.clip_response(services.get_clip(current_user, clip_id), name, download=args["download"])


@blp.route("/clips/<int:clip_id>/send", methods=["POST"])
@blp.arguments(SendSchema)
@blp.response(200, SentSchema)
def send_clip(data, clip_id):
    """Send the clip (with a message) to people who may view its lesson; 422 names those who may not."""
    rows = services.send(current_user, services.get_clip(current_user, clip_id), data["user_ids"], data.get("message"))
    return {"items": [delivery_state(row) for row in rows], "next": None}


@blp.route("/clips/<int:clip_id>/watched", methods=["POST"])
@blp.response(200, DeliveryStateSchema)
def clip_watched(clip_id):
    """The recipient has watched it (the clip page does this when it plays)."""
    return delivery_state(services.mark_watched(current_user, services.get_clip(current_user, clip_id)))


@blp.route("/clips/<int:clip_id>/reviewed", methods=["POST"])
@blp.response(200, DeliveryStateSchema)
def clip_reviewed(clip_id):
    """The recipient has reviewed it (and reflected on it)."""
    return delivery_state(services.mark_reviewed(current_user, services.get_clip(current_user, clip_id)))


@blp.route("/clips/<int:clip_id>/deliveries")
@blp.response(200, DeliveryListSchema)
def clip_deliveries(clip_id):
    """Who the clip was sent to, and when they watched, reviewed and reflected (its sender)."""
    rows = services.deliveries(current_user, services.get_clip(current_user, clip_id))
    return {"items": delivery_payloads(rows), "next": None}


class RecipientSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    email = fields.String()
    role = fields.String(metadata={"description": "owner | mentor | shared"})


class RecipientListSchema(Schema):
    items = fields.List(fields.Nested(RecipientSchema))
    next = fields.String(allow_none=True)


def _recipients(item) -> dict:
    owners = services.teacher_ids(item)  # a reel names its lessons' teachers as a clip names its lesson's

    def role(user) -> str:
        if user.id in owners:
            return "owner"
        return "mentor" if any(policy.is_active_mentor(user.id, owner) for owner in owners) else "shared"

    people = services.possible_recipients(current_user, item)
    return {"items": [{"id": u.id, "name": u.name, "email": u.email, "role": role(u)} for u in people], "next": None}


@blp.route("/clips/<int:clip_id>/recipients")
@blp.response(200, RecipientListSchema)
def clip_recipients(clip_id):
    """Who the clip can be sent to: the lesson's owner, its mentors and the people it is shared with."""
    return _recipients(services.get_clip(current_user, clip_id))


@blp.route("/reels/<int:reel_id>/recipients")
@blp.response(200, RecipientListSchema)
def reel_recipients(reel_id):
    """Who the reel can be sent to: people who may view every lesson in it."""
    return _recipients(services.get_reel(current_user, reel_id))


@blp.route("/reels", methods=["POST"])
@blp.arguments(ReelCreateSchema)
@blp.response(202, ReelCreatedSchema)
def create_reel(data):
    """Join ready clips (of lessons you may see) in order into one video with a chapter per clip."""
    reel = services.create_reel(current_user, data["title"], data["clip_ids"])
    return {"reel": reel_payload(reel, current_user), "job_id": reel.job_id}


@blp.route("/reels/<int:reel_id>")
class ReelById(MethodView):
    @blp.response(200, ReelSchema)
    def get(self, reel_id):
        """A reel (people who may view every lesson in it)."""
        return reel_payload(services.get_reel(current_user, reel_id), current_user)


@blp.route("/reels/<int:reel_id>/retry", methods=["POST"])
@blp.response(202, ReelCreatedSchema)
def retry_reel(reel_id):
    reel = services.retry_reel(current_user, services.get_reel(current_user, reel_id))
    return {"reel": reel_payload(reel, current_user), "job_id": reel.job_id}


@blp.route("/reels/<int:reel_id>/media/<string:name>")
@blp.arguments(MediaQuerySchema, location="query")
@blp.response(200, description="video.mp4 (Range requests) or thumbnail.jpg")
def reel_media(args, reel_id, name):
    return media.reel_response(services.get_reel(current_user, reel_id), name, download=args["download"])


@blp.route("/reels/<int:reel_id>/send", methods=["POST"])
@blp.arguments(SendSchema)
@blp.response(200, SentSchema)
def send_reel(data, reel_id):
    """Send the reel to people who may view every lesson in it."""
    rows = services.send(current_user, services.get_reel(current_user, reel_id), data["user_ids"], data.get("message"))
    return {"items": [delivery_state(row) for row in rows], "next": None}


@blp.route("/reels/<int:reel_id>/watched", methods=["POST"])
@blp.response(200, DeliveryStateSchema)
def reel_watched(reel_id):
    return delivery_state(services.mark_watched(current_user, services.get_reel(current_user, reel_id)))


@blp.route("/reels/<int:reel_id>/reviewed", methods=["POST"])
@blp.response(200, DeliveryStateSchema)
def reel_reviewed(reel_id):
    return delivery_state(services.mark_reviewed(current_user, services.get_reel(current_user, reel_id)))


@blp.route("/reels/<int:reel_id>/deliveries")
@blp.response(200, DeliveryListSchema)
def reel_deliveries(reel_id):
    rows = services.deliveries(current_user, services.get_reel(current_user, reel_id))
    return {"items": delivery_payloads(rows), "next": None}
