"""HTML pages: a lesson's privacy page (consent, pin, access log, delete) and everyone's access log for
administrators."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from obsapp import policy, uow
from obsapp.accounts.models import User
from obsapp.errors import NotFound, ObsError
from obsapp.extensions import db
from obsapp.lessons import services as lessons
from obsapp.lessons.models import Lesson
from obsapp.privacy import erasure, services
from obsapp.privacy.models import AUDIT_ACTIONS

bp = Blueprint("privacy", __name__, template_folder="templates")
PAGE_SIZE = 200


@bp.route("/lessons/<int:lesson_id>/privacy", methods=["GET", "POST"])
@login_required
def lesson_privacy(lesson_id: int):
    lesson = policy.require_audit(current_user, db.session.get(Lesson, lesson_id))
    manage = policy.can(current_user, "manage", lesson)
    if request.method == "POST":
        try:
            if request.form.get("delete") == "1":
                lessons.delete_lesson(current_user, lesson)
                flash(f"“{lesson.title}” and every copy of its video were deleted.", "success")
                return redirect(url_for("lessons.dashboard"))
            services.set_consent(current_user, lesson, consent=request.form.get("consent"),
                                 pinned=request.form.get("pinned") == "on")
            flash("Consent saved.", "success")
        except ObsError as exc:
            uow.rollback()
            flash(exc.message, "error")
        return redirect(url_for("privacy.lesson_privacy", lesson_id=lesson.id))
    action = request.args.get("action") or None
    if action not in AUDIT_ACTIONS:
        action = None
    entries = db.session.execute(services.lesson_audit(current_user, lesson.id, action).limit(PAGE_SIZE)).scalars()
    return render_template("privacy/lesson_privacy.html", lesson=lesson, manage=manage, entries=list(entries),
                           consent=services.consent_record(lesson),
                           consent_names=services.CONSENT_NAMES, actions=AUDIT_ACTIONS, action=action,
                           can_delete=policy.can(current_user, "delete", lesson))


@bp.route("/admin/audit")
@login_required
def admin_audit():
    policy.require_admin(current_user)
    action = request.args.get("action") or None
    if action not in AUDIT_ACTIONS:
        action = None
    entries = db.session.execute(services.all_audit(current_user, action=action).limit(PAGE_SIZE)).scalars()
    return render_template("privacy/admin_audit.html", entries=list(entries), actions=AUDIT_ACTIONS, action=action)


@bp.route("/admin/people/<int:user_id>/erase", methods=["GET", "POST"])
@login_required
def erase_page(user_id: int):
    """Erase a person (administrators): what will go, a confirmation by their email address, then the receipt."""
    policy.require_admin(current_user)
    person = db.session.get(User, user_id)
    if person is None:
        raise NotFound("No such person.")
    if request.method == "POST":
        try:
            receipt = erasure.erase_person(current_user, person.id, request.form.get("confirm"))
        except ObsError as exc:
            uow.rollback()
            flash(exc.message, "error")
            return redirect(url_for("privacy.erase_page", user_id=user_id))
        return render_template("privacy/erased.html", receipt=receipt)
    return render_template("privacy/erase.html", person=person, preview=erasure.erasure_preview(person))
