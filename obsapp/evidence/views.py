"""Pages: the evidence-reel form (on the growth page and under a lesson's timeline), analytics for a teacher and
for the school, and the administrators' list of school leaders."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select

from obsapp import policy
from obsapp.accounts.models import User
from obsapp.annotations import services as annotations
from obsapp.errors import Forbidden, InvalidInput, NotFound
from obsapp.evidence import analytics, leaders, services
from obsapp.extensions import db
from obsapp.lessons.models import Lesson

bp = Blueprint("evidence", __name__, template_folder="templates")


def _date(name: str) -> date | None:
    value = (request.values.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"“{value}” is not a date (YYYY-MM-DD).", fields={name: ["Not a date."]}) from exc


def _int(name: str) -> int | None:
    try:
        return int(request.values.get(name, ""))
    except ValueError:
        return None


def lesson_criteria(actor: User, lesson: Lesson) -> list:
    """The criteria of the strengths and growth areas ``actor`` may see on the lesson (for the reel form)."""
    found = {}
    for annotation in annotations.visible_annotations(actor, lesson):
        if annotation.kind in ("strength", "growth"):
            for criterion in annotation.criteria:
                found[criterion.id] = criterion
    return sorted(found.values(), key=lambda c: (c.code or "", c.id))


def evidence_panel(actor: User, lesson: Lesson) -> Markup | None:
    """Under the lesson's feedback: make a reel of the teacher's evidence on a criterion tagged here."""
    if lesson.status != "ready" or not policy.can_see_teacher_evidence(actor, lesson.owner_id):
        return None
    criteria = lesson_criteria(actor, lesson)
    if not criteria:
        return None
    html = render_template("evidence/_reel_panel.html", teacher_id=lesson.owner_id, criteria=criteria,
                           back=url_for("lessons.lesson_page", lesson_id=lesson.id))
    return Markup(html)  # noqa: S704 - already rendered by Jinja with autoescaping


@bp.route("/evidence/reels", methods=["POST"])
@login_required
def make_reel():
    back = request.form.get("back") or ""
    if not back.startswith("/") or back.startswith("//"):
        back = url_for("evidence.my_analytics")
    teacher_id, criterion_id = _int("teacher_id"), _int("criterion_id")
    if teacher_id is None or criterion_id is None:
        flash("Choose a criterion for the reel.", "error")
        return redirect(back)
    try:
        evidence = services.make_reel(current_user, {
            "teacher_id": teacher_id, "criterion_id": criterion_id, "kind": request.form.get("kind") or "strengths",
            "from": _date("from"), "to": _date("to")})
    except InvalidInput as exc:
        flash(exc.message, "error")
        return redirect(back)
    flash(f"The reel is being made from {evidence.reel.clip_count} clip{'s' if evidence.reel.clip_count != 1 else ''}.",
          "success")
    return redirect(url_for("clips.reel_page", reel_id=evidence.reel_id))


def _render(report: dict, title: str, csv_url: str, **extra):
    return render_template("evidence/analytics.html", report=report, charts=analytics.charts(report), title=title,
                           csv_url=csv_url, **extra)


def _period_args() -> dict:
    out = {}
    for name in ("from", "to"):
        if request.args.get(name):
            out[name] = request.args[name]
    return out


@bp.route("/analytics")
@bp.route("/analytics/teachers/<int:teacher_id>")
@login_required
def my_analytics(teacher_id: int | None = None):
    teacher_id = teacher_id or current_user.id
    try:
        report = analytics.teacher_report(current_user, teacher_id, _date("from"), _date("to"))
    except InvalidInput as exc:
        flash(exc.message, "error")
        return redirect(url_for("evidence.my_analytics", teacher_id=teacher_id))
    teacher = db.session.get(User, teacher_id)
    reels = services.evidence_of(current_user, teacher_id)
    criteria = sorted({c["criterion"]["id"]: c["criterion"] for c in report["criteria"]}.values(),
                      key=lambda c: (c["code"] or "", c["id"]))
    return _render(report, f"Analytics: {teacher.name}",
                   url_for("evidence_api.teacher_analytics_export", teacher_id=teacher_id, **_period_args()),
                   teacher=teacher, reels=reels, criteria=criteria,
                   is_leader=policy.is_leader(current_user), is_admin=policy.is_admin(current_user))


@bp.route("/analytics/school")
@login_required
def school_analytics():
    try:
        report = analytics.school_report(current_user, _date("from"), _date("to"))
    except Forbidden:
        abort(403)
    except InvalidInput as exc:
        flash(exc.message, "error")
        return redirect(url_for("evidence.school_analytics"))
    return _render(report, "Analytics: the school",
                   url_for("evidence_api.school_analytics_export", **_period_args()),
                   is_leader=True, is_admin=policy.is_admin(current_user))


@bp.route("/analytics/leaders", methods=["GET", "POST"])
@login_required
def leaders_page():
    if not policy.is_admin(current_user):
        abort(403)
    if request.method == "POST":
        try:
            if request.form.get("action") == "revoke":
                leaders.revoke(current_user, _int("user_id") or 0)
                flash("No longer a school leader.", "success")
            else:
                email = (request.form.get("email") or "").strip().lower()
                user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
                if user is None:
                    raise NotFound(f"Nobody has the email address “{email}”.")
                leaders.grant(current_user, user.id)
                flash(f"{user.name} is a school leader.", "success")
        except NotFound as exc:
            flash(exc.message, "error")
        return redirect(url_for("evidence.leaders_page"))
    return render_template("evidence/leaders.html", leaders=leaders.leaders(current_user))
