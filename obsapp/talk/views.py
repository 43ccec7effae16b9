"""The talk strip and the calibration panel under the lesson page's timeline (lesson page panels registered by
``create_app``), and the calibration exercise's page."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from obsapp import policy
from obsapp.accounts.models import User
from obsapp.errors import Conflict, Forbidden, InvalidInput
from obsapp.lessons import services as lessons
from obsapp.lessons.models import Lesson
from obsapp.talk import calibration, services


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
    html = render_template("talk/_strip.html", talk=talk, lesson=lesson, clock=clock, seconds=seconds, percent=percent,
                           can_request=policy.can(actor, "comment", lesson))
    return Markup(html)  # noqa: S704 - already rendered by Jinja with autoescaping


# --- calibration pages ---------------------------------------------------------------------------------------

bp = Blueprint("talk", __name__, template_folder="templates")

# Landis and Koch's usual words for kappa values, so the number reads the same for everyone
KAPPA_WORDS = ((0.0, "poor"), (0.2, "slight"), (0.4, "fair"), (0.6, "moderate"), (0.8, "substantial"),
               (1.01, "almost perfect"))


def kappa_words(value: float | None) -> str:
    if value is None:
        return "not defined (nobody marked it, or everybody marked every unit)"
    return next(words for limit, words in KAPPA_WORDS if value <= limit)


def calibration_panel(actor: User, lesson: Lesson) -> Markup | None:
    exercises = calibration.exercises_of_lesson(actor, lesson)
    candidates = calibration.possible_coders(actor, lesson)
    if not exercises and candidates is None:
        return None
    html = render_template("talk/_calibration_panel.html", lesson=lesson, exercises=exercises, candidates=candidates)
    return Markup(html)  # noqa: S704 - already rendered by Jinja with autoescaping


@bp.route("/lessons/<int:lesson_id>/talk", methods=["POST"])
@login_required
def analyse_page(lesson_id: int):
    lesson = lessons.get_lesson(current_user, lesson_id)
    try:
        services.request_analysis(current_user, lesson)
        flash("The talk analysis has started. Reload the page in a minute to see it.", "success")
    except (Conflict, Forbidden) as exc:
        flash(exc.message, "error")
    return redirect(url_for("lessons.lesson_page", lesson_id=lesson.id) + "#talk-strip")


@bp.route("/lessons/<int:lesson_id>/calibrations", methods=["POST"])
@login_required
def open_page(lesson_id: int):
    lesson = lessons.get_lesson(current_user, lesson_id)
    try:
        ids = [int(x) for x in request.form.getlist("coder_ids")]
    except ValueError:
        ids = []
    try:
        exercise = calibration.open_exercise(current_user, lesson, {"coder_ids": ids,
                                                                    "title": request.form.get("title", "")})
    except InvalidInput as exc:
        flash(exc.message, "error")
        return redirect(url_for("lessons.lesson_page", lesson_id=lesson.id) + "#calibration")
    flash("Calibration exercise opened. Each coder codes the lesson with private annotations, then submits.",
          "success")
    return redirect(url_for("talk.calibration_page", exercise_id=exercise.id))


@bp.route("/calibrations/<int:exercise_id>", methods=["GET", "POST"])
@login_required
def calibration_page(exercise_id: int):
    exercise = calibration.get_exercise(current_user, exercise_id)
    if request.method == "POST":
        try:
            if request.form.get("action") == "close":
                calibration.close(current_user, exercise)
                flash("The exercise is closed: here is the report.", "success")
            else:
                calibration.submit(current_user, exercise)
                flash("Your codes are submitted.", "success")
        except (Conflict, Forbidden) as exc:
            flash(exc.message, "error")
        return redirect(url_for("talk.calibration_page", exercise_id=exercise.id))
    info = calibration.exercise_payload(current_user, exercise)
    report = calibration.report(current_user, exercise) if info["report_ready"] else None
    return render_template("talk/calibration.html", exercise=exercise, info=info, report=report, clock=clock,
                           kappa_words=kappa_words, can_close=policy.can_close_calibration(current_user, exercise))
