"""HTML pages of the mentoring cycle: the mentoring dashboard, goal pages, cycle pages, the journal and
notifications (with the bell every page shows)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError

from obsapp import policy, uow
from obsapp.accounts import auth
from obsapp.annotations.summary import format_ms
from obsapp.errors import ObsError
from obsapp.extensions import db
from obsapp.frameworks import services as frameworks
from obsapp.lessons import services as lessons
from obsapp.mentoring import growth, model_lessons, notify, services
from obsapp.mentoring.models import Goal
from obsapp.mentoring.serialize import entry_payload, evidence_payloads, model_clip_payload
from obsapp.watch import services as watch

bp = Blueprint("mentoring", __name__, template_folder="templates")


def init_app(app: Flask) -> None:
    @app.context_processor
    def _bell():
        def unread() -> int:
            if not policy.is_signed_in(current_user):
                return 0
            try:
                return notify.unread_count(current_user)
            except SQLAlchemyError:  # an error page after a database failure still renders (without the count)
                return 0
        return {"unread_notifications": unread}

    # one-click from a mail client (RFC 8058): no session, no CSRF token; the signed token is the proof
    auth.CSRF_EXEMPT_ENDPOINTS.add("mentoring.unsubscribe")


def _ids(name: str) -> list[int]:
    out = []
    for value in request.form.getlist(name):
        if value.strip():
            try:
                out.append(int(value))
            except ValueError:
                raise ObsError(f"{name}: {value!r} is not an id.") from None
    return out


def _id(name: str) -> int | None:
    ids = _ids(name)
    return ids[0] if ids else None


def _date(name: str) -> date | None:
    value = request.form.get(name, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ObsError(f"{name}: give a date as YYYY-MM-DD.") from None


def _criteria_choices() -> list:
    return [(framework, [c for c in framework.criteria]) for framework in frameworks.list_frameworks()]


def _my_lessons(owner_id: int | None = None) -> list:
    stmt = lessons.visible_lessons(current_user)
    rows = db.session.execute(stmt.limit(200)).scalars().all()
    return [lesson for lesson in rows if owner_id is None or lesson.owner_id == owner_id]


def _attempt(action, success: str, back: str):
    """Run a form's action; flash its error (the page shows the words) and go back, nothing saved."""
    try:
        result = action()
    except ObsError as exc:
        uow.rollback()  # nothing half-saved, and no email for it
        flash(exc.message, "error")
        return redirect(back), None
    flash(success, "success")
    return None, result


@bp.route("/mentoring")
@login_required
def dashboard():
    mentees = services.mentor_dashboard(current_user)
    my_cycles = db.session.execute(services.cycles_query(current_user, current_user.id)).scalars().all()
    goals = db.session.execute(services.goals_query(current_user, current_user.id)).scalars().all()
    return render_template("mentoring/dashboard.html", mentees=mentees, my_cycles=my_cycles, goals=goals,
                           stage=services.stage, criteria_choices=_criteria_choices())


@bp.route("/goals", methods=["POST"])
@login_required
def create_goal():
    back = request.form.get("back") or url_for("mentoring.dashboard")
    data = {"title": request.form.get("title", ""), "success": request.form.get("success", ""),
            "criterion_ids": _ids("criterion_ids"), "target_date": _date("target_date"),
            "teacher_id": _id("teacher_id") or current_user.id}
    failed, goal = _attempt(lambda: services.create_goal(current_user, data), "Goal added.", back)
    return failed or redirect(url_for("mentoring.goal_page", goal_id=goal.id))


@bp.route("/goals/<int:goal_id>", methods=["GET", "POST"])
@login_required
def goal_page(goal_id):
    goal = services.get_goal(current_user, goal_id)
    here = url_for("mentoring.goal_page", goal_id=goal.id)
    if request.method == "POST":
        if "status" in request.form:
            failed, _ = _attempt(lambda: services.update_goal(current_user, goal, {"status": request.form["status"]}),
                                 "Goal updated.", here)
        else:
            kind = request.form.get("kind", "")
            data = {f"{kind}_id": _id("ref_id")} if kind in ("lesson", "journal_entry", "clip", "annotation") else {}
            failed, _ = _attempt(lambda: services.add_evidence(current_user, goal, data), "Evidence added.", here)
        return failed or redirect(here)
    entries = db.session.execute(services.journal_query(current_user, author_id=goal.teacher_id).limit(100)).scalars()
    return render_template("mentoring/goal.html", goal=goal, evidence=evidence_payloads(current_user, goal),
                           lessons=_my_lessons(goal.teacher_id), entries=list(entries),
                           suggestions=services.suggested_annotations(current_user, goal), format_ms=format_ms)


@bp.route("/cycles", methods=["POST"])
@login_required
def create_cycle():
    data = {"mentee_id": _id("mentee_id"), "mentor_id": _id("mentor_id"), "focus": request.form.get("focus", ""),
            "look_fors": request.form.get("look_fors", ""), "pre_notes": request.form.get("pre_notes", ""),
            "planned_for": _date("planned_for"), "goal_ids": _ids("goal_ids"),
            "self_review_first": bool(request.form.get("self_review_first")),
            "blind_mentor": bool(request.form.get("blind_mentor"))}
    failed, cycle = _attempt(lambda: services.start_cycle(current_user, data), "Cycle planned.",
                             url_for("mentoring.dashboard"))
    return failed or redirect(url_for("mentoring.cycle_page", cycle_id=cycle.id))


@bp.route("/cycles/<int:cycle_id>", methods=["GET", "POST"])
@login_required
def cycle_page(cycle_id):
    cycle = services.get_cycle(current_user, cycle_id)
    here = url_for("mentoring.cycle_page", cycle_id=cycle.id)
    if request.method == "POST":
        step = request.form.get("step")
        if step == "review-done":
            failed, _ = _attempt(lambda: services.mark_review_done(current_user, cycle), "Review marked done.", here)
        elif step == "next-step":
            data = {"text": request.form.get("text", ""), "goal_id": _id("goal_id"),
                    "as_goal": bool(request.form.get("as_goal")), "criterion_ids": _ids("criterion_ids")}
            failed, _ = _attempt(lambda: services.add_next_step(current_user, cycle, data), "Next step agreed.", here)
        else:
            names = {"pre": ("focus", "look_fors", "pre_notes"), "post": ("went_well", "post_notes")}.get(step, ())
            data = {name: request.form.get(name, "") for name in names}
            if step == "lesson":
                data["lesson_id"] = _id("lesson_id")
            if step == "close":
                data["status"] = "closed"
            failed, _ = _attempt(lambda: services.update_cycle(current_user, cycle, data), "Cycle updated.", here)
        return failed or redirect(here)
    role = policy.cycle_role(current_user, cycle)
    goals = db.session.execute(services.goals_query(current_user, cycle.mentee_id)).scalars().all() \
        if policy.may_see_goals_of(current_user, cycle.mentee_id) else []
    return render_template("mentoring/cycle.html", cycle=cycle, role=role, stage=services.stage(cycle),
                           lessons=_my_lessons(cycle.mentee_id), goals=goals, prompts=services.reflection_prompts(),
                           entries=services.linked_entries(current_user, cycle_id=cycle.id),
                           criteria_choices=_criteria_choices())


def self_review_notice(actor, lesson) -> Markup | None:
    """Above a lesson's player, for the two people of an observation cycle on it that asks for self-review first:
    what is hidden from whom, until when, and "Mark my review done"."""
    if not policy.is_signed_in(actor):
        return None
    cycles = services.held_reviews(actor, lesson.id)
    if not cycles:
        return None
    notices = []
    for cycle in cycles:
        role = policy.cycle_role(actor, cycle)
        mine = cycle.self_review_done_at if role == "mentee" else cycle.mentor_review_done_at
        theirs = cycle.mentor_review_done_at if role == "mentee" else cycle.self_review_done_at
        other = cycle.mentor if role == "mentee" else cycle.mentee
        notices.append({"cycle": cycle, "role": role, "mine": mine, "theirs": theirs, "other": other})
    return Markup(render_template("mentoring/_self_review_notice.html", notices=notices, lesson=lesson))  # noqa: S704 - rendered by Jinja with autoescaping


@bp.route("/cycles/<int:cycle_id>/review-done", methods=["POST"])
@login_required
def review_done(cycle_id):
    """"Mark my review done" from the lesson page's notice: back to the lesson."""
    cycle = services.get_cycle(current_user, cycle_id)
    back = url_for("lessons.lesson_page", lesson_id=cycle.lesson_id) if cycle.lesson_id else \
        url_for("mentoring.cycle_page", cycle_id=cycle.id)
    failed, _ = _attempt(lambda: services.mark_review_done(current_user, cycle), "Your review is marked done.", back)
    return failed or redirect(back)


@bp.route("/journal", methods=["GET", "POST"])
@login_required
def journal():
    if request.method == "POST":
        data = {"body": request.form.get("body", ""), "lesson_id": _id("lesson_id"), "goal_id": _id("goal_id"),
                "cycle_id": _id("cycle_id")}
        t = request.form.get("t_ms", "").strip()
        if t:
            data["t_ms"] = int(t) if t.isdigit() else -1
        back = request.form.get("back") or url_for("mentoring.journal")
        failed, entry = _attempt(lambda: services.create_journal_entry(current_user, data), "Journal entry saved.",
                                 back)
        if failed is None and request.form.get("share"):
            services.update_journal_entry(current_user, entry, {"visibility": "mentors"})
        return failed or redirect(url_for("mentoring.journal_entry", entry_id=entry.id))
    q = request.args.get("q", "").strip()[:200]
    entries = db.session.execute(services.journal_query(current_user, q or None).limit(200)).scalars().all()
    goals = db.session.execute(services.goals_query(current_user, current_user.id)).scalars().all()
    return render_template("mentoring/journal.html", entries=[entry_payload(e) for e in entries], q=q,
                           goals=goals, lessons=_my_lessons(current_user.id), prompts=services.reflection_prompts())


@bp.route("/journal/<int:entry_id>", methods=["GET", "POST"])
@login_required
def journal_entry(entry_id):
    entry = services.get_journal_entry(current_user, entry_id)
    here = url_for("mentoring.journal_entry", entry_id=entry.id)
    if request.method == "POST":
        if "visibility" in request.form:
            failed, _ = _attempt(lambda: services.update_journal_entry(
                current_user, services.get_journal_entry(current_user, entry_id, "edit"),
                {"visibility": request.form["visibility"]}), "Sharing changed.", here)
        else:
            failed, _ = _attempt(lambda: services.reply_to_entry(current_user, entry,
                                                                 {"body": request.form.get("body", "")}),
                                 "Reply posted.", here)
        return failed or redirect(here)
    return render_template("mentoring/entry.html", entry=entry, payload=entry_payload(entry),
                           mine=policy.may_edit_journal_entry(current_user, entry),
                           goal=db.session.get(Goal, entry.goal_id) if entry.goal_id else None)


@bp.route("/notifications", methods=["GET", "POST"])
@login_required
def notifications():
    if request.method == "POST":
        if request.form.get("action") == "read-all":
            notify.mark_all_read(current_user)
            flash("All marked read.", "success")
        else:
            choices = {kind: request.form.get(f"email-{kind}", "off") for kind in notify.settings(current_user)}
            failed, _ = _attempt(lambda: notify.change_settings(current_user, choices), "Email settings saved.",
                                 url_for("mentoring.notifications"))
            if failed:
                return failed
        return redirect(url_for("mentoring.notifications"))
    notes = db.session.execute(notify.query(current_user).limit(200)).scalars().all()
    ended = {watch.invitation_url(i.session_id) for i in db.session.execute(
        watch.my_invitations(current_user, include_expired=True).limit(200)).scalars() if i.expired}
    expired = {note.id for note in notes if note.kind == "watch" and note.url in ended}
    return render_template("mentoring/notifications.html", notes=notes, settings=notify.settings(current_user),
                           kind_names=notify.mail.KIND_NAMES, expired=expired)


@bp.route("/notifications/<int:notification_id>/open", methods=["POST"])
@login_required
def open_notification(notification_id):
    note = notify.mark_read(current_user, notify.get(current_user, notification_id))
    return redirect(note.url if note.url.startswith("/") and not note.url.startswith("//") else "/")


@bp.route("/notifications/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token):
    if request.method == "POST":
        kind = notify.unsubscribe(token)
        return render_template("mentoring/unsubscribed.html", kind_name=notify.mail.KIND_NAMES[kind], done=True)
    found = notify.mail.read_unsubscribe_token(token)
    if found is None:
        return render_template("mentoring/unsubscribed.html", kind_name=None, done=False), 404
    return render_template("mentoring/unsubscribed.html", kind_name=notify.mail.KIND_NAMES[found[1]], done=False)


@bp.route("/growth")
@bp.route("/growth/<int:teacher_id>")
@login_required
def growth_page(teacher_id=None):
    teacher_id = teacher_id or current_user.id
    report = growth.report(current_user, teacher_id)
    return render_template("mentoring/growth.html", report=report)


@bp.route("/models", methods=["GET", "POST"])
@login_required
def models():
    if request.method == "POST":
        clip_id = _id("clip_id")
        data = {"lesson_id": None if clip_id else _id("lesson_id"), "clip_id": clip_id,
                "title": request.form.get("title") or None,
                "note": request.form.get("note", ""), "criterion_ids": _ids("criterion_ids"),
                "audience": request.form.get("audience", "chosen"), "user_ids": _ids("user_ids")}
        failed, model = _attempt(lambda: model_lessons.share_model(current_user, data),
                                 "Model clip shared." if clip_id else "Model lesson shared.",
                                 url_for("mentoring.models", clip_id=clip_id or None))
        return failed or redirect(url_for("mentoring.model_page", model_id=model.id))
    try:
        criterion_id = int(request.args.get("criterion_id") or 0) or None
    except ValueError:
        criterion_id = None
    found = db.session.execute(model_lessons.models_query(current_user, criterion_id).limit(200)).scalars().all()
    mentees = [row["mentee"] for row in services.mentor_dashboard(current_user)]
    try:
        chosen_clip = int(request.args.get("clip_id") or 0) or None
    except ValueError:
        chosen_clip = None
    return render_template("mentoring/models.html", models=found, criterion_id=criterion_id,
                           criteria_choices=_criteria_choices(), lessons=_my_lessons(current_user.id),
                           clips=model_lessons.my_clips(current_user), chosen_clip=chosen_clip, mentees=mentees)


@bp.route("/models/<int:model_id>", methods=["GET", "POST"])
@login_required
def model_page(model_id):
    model = model_lessons.get_model(current_user, model_id)
    here = url_for("mentoring.model_page", model_id=model.id)
    if request.method == "POST":
        seconds = request.form.get("at_seconds", "").strip()
        data = {"body": request.form.get("body", "")}
        if seconds:
            try:
                data["t_ms"] = round(float(seconds) * 1000)
            except ValueError:
                data["t_ms"] = -1
        failed, _ = _attempt(lambda: model_lessons.add_note(current_user, model, data), "Note saved.", here)
        return failed or redirect(here)
    return render_template("mentoring/model.html", model=model, notes=model_lessons.my_notes(current_user, model),
                           clip=model_clip_payload(model.clip), length_ms=model_lessons.model_length_ms(model))


@bp.route("/admin/reflection-prompts", methods=["GET", "POST"])
@login_required
def admin_prompts():
    if not policy.is_admin(current_user):
        abort(403)
    if request.method == "POST":
        lines = request.form.get("prompts", "").splitlines()
        failed, _ = _attempt(lambda: services.set_reflection_prompts(current_user, lines), "Prompts saved.",
                             url_for("mentoring.admin_prompts"))
        return failed or redirect(url_for("mentoring.admin_prompts"))
    return render_template("mentoring/prompts.html", prompts=services.reflection_prompts())
