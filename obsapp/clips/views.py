"""HTML pages: a clip's player page and a reel's."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required
from sqlalchemy import select

from obsapp import policy
from obsapp.clips import services
from obsapp.clips.models import Reel
from obsapp.clips.serialize import clip_payload, feedback_payloads, reel_payload, reel_payloads
from obsapp.extensions import db

bp = Blueprint("clips", __name__, template_folder="templates")


def dashboard_feedback(user) -> list[dict]:
    """The dashboard's "Feedback for me": clips and reels sent to ``user``, unread first."""
    return feedback_payloads(services.inbox(user, limit=30), user)


@bp.route("/clips")
@login_required
def my_clips():
    """Every clip I made (from lessons I may still see), to open, send, or join into a reel; and my reels."""
    reels = db.session.execute(select(Reel).where(Reel.creator_id == current_user.id,
                                                  policy.reel_filter(current_user, Reel.id))  # only those I still see
                               .order_by(Reel.id.desc()).limit(200)).scalars().all()
    return render_template("clips/mine.html", reels=reel_payloads(reels, current_user))


@bp.route("/clips/<int:clip_id>")
@login_required
def clip_page(clip_id: int):
    clip = services.get_clip(current_user, clip_id)
    payload = clip_payload(clip, current_user)
    page = {"clip": payload, "me": {"id": current_user.id, "name": current_user.name},
            "replies": clip.annotation_id is not None}
    return render_template("clips/clip.html", clip=clip, data=payload, page=page,
                           can_share_model=policy.may_share_model(current_user, clip.lesson),
                           can_open_lesson=policy.can(current_user, "view", clip.lesson))


@bp.route("/reels/<int:reel_id>")
@login_required
def reel_page(reel_id: int):
    reel = services.get_reel(current_user, reel_id)
    payload = reel_payload(reel, current_user)
    page = {"reel": payload, "me": {"id": current_user.id, "name": current_user.name}}
    return render_template("clips/reel.html", reel=reel, data=payload, page=page)
