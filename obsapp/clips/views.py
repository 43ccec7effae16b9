"""HTML pages: a clip's player page and a reel's."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required
from sqlalchemy import select

from obsapp.clips import services
from obsapp.clips.models import Reel
from obsapp.clips.serialize import clip_payload, feedback_payloads, reel_payload
from obsapp.errors import NotFound
from obsapp.extensions import db

bp = Blueprint("clips", __name__, template_folder="templates")


def dashboard_feedback(user) -> list[dict]:
    """The dashboard's "Feedback for me": clips and reels sent to ``user``, unread first."""
    return feedback_payloads(services.inbox(user, limit=30), user)


@bp.route("/clips")
@login_required
def my_clips():
    """Every clip I made (from lessons I may still see), to open, send, or join into a reel; and my reels."""
    reels = []
    for reel_id in db.session.execute(select(Reel.id).where(Reel.creator_id == current_user.id)
                                      .order_by(Reel.id.desc()).limit(200)).scalars():
        try:
            reels.append(services.get_reel(current_user, reel_id))  # only those I may still see
        except NotFound:
            continue
    return render_template("clips/mine.html", reels=[reel_payload(r, current_user) for r in reels])


@bp.route("/clips/<int:clip_id>")
@login_required
def clip_page(clip_id: int):
    clip = services.get_clip(current_user, clip_id)
    payload = clip_payload(clip, current_user)
    page = {"clip": payload, "me": {"id": current_user.id, "name": current_user.name},
            "replies": clip.annotation_id is not None}
    return render_template("clips/clip.html", clip=clip, data=payload, page=page)


@bp.route("/reels/<int:reel_id>")
@login_required
def reel_page(reel_id: int):
    reel = services.get_reel(current_user, reel_id)
    payload = reel_payload(reel, current_user)
    page = {"reel": payload, "me": {"id": current_user.id, "name": current_user.name}}
    return render_template("clips/reel.html", reel=reel, data=payload, page=page)
