"""JSON API for talk and wait time."""

from __future__ import annotations

from flask import Response
from flask_login import current_user
from flask_smorest import Blueprint

from obsapp.lessons import services as lessons
from obsapp.talk import calibration, services
from obsapp.talk.schemas import (
    CalibrationInSchema,
    CalibrationListSchema,
    CalibrationReportSchema,
    CalibrationSchema,
    TalkQuerySchema,
    TalkSchema,
)

blp = Blueprint("talk_api", __name__, url_prefix="/api/v1",
                description="Talk and wait time from a lesson's audio; calibration between mentors")


@blp.route("/lessons/<int:lesson_id>/talk")
@blp.arguments(TalkQuerySchema, location="query")
@blp.response(200, TalkSchema)
def talk(args, lesson_id):
    """Speech segments, the share of time with speech, pauses and the wait time after each question.

    Computed after ingest; ``status`` is ``processing`` until then. A lesson without audio is ``ready`` with no
    segments. Speech vs silence only: it does not tell the teacher from the students. With ``start_ms`` and/or
    ``end_ms``: the measures of that span (segments cut at its edges; the questions asked in it)."""
    span = (args.get("start_ms"), args.get("end_ms"))
    return services.talk_payload(current_user, lessons.get_lesson(current_user, lesson_id), span)


@blp.route("/lessons/<int:lesson_id>/talk", methods=["POST"])
@blp.response(202, TalkSchema)
def analyse(lesson_id):
    """Analyse the lesson's talk (again): for a lesson processed before talk analysis existed, or whose analysis
    failed. Those who may comment on the lesson; 409 while one is under way."""
    lesson = lessons.get_lesson(current_user, lesson_id)
    services.request_analysis(current_user, lesson)
    return services.talk_payload(current_user, lesson)


@blp.route("/lessons/<int:lesson_id>/calibrations", methods=["POST"])
@blp.arguments(CalibrationInSchema)
@blp.response(201, CalibrationSchema)
def open_calibration(data, lesson_id):
    """Open a calibration exercise (one of the teacher's mentors): the coders code the lesson blind, with private
    annotations tagged with criteria, and submit; then the agreement report is ready."""
    exercise = calibration.open_exercise(current_user, lessons.get_lesson(current_user, lesson_id), data)
    return calibration.exercise_payload(current_user, exercise)


@blp.route("/lessons/<int:lesson_id>/calibrations")
@blp.response(200, CalibrationListSchema)
def lesson_calibrations(lesson_id):
    """The lesson's calibration exercises you lead or code."""
    lesson = lessons.get_lesson(current_user, lesson_id)
    return {"items": [calibration.exercise_payload(current_user, e)
                      for e in calibration.exercises_of_lesson(current_user, lesson)]}


@blp.route("/calibrations/<int:exercise_id>")
@blp.response(200, CalibrationSchema)
def get_calibration(exercise_id):
    return calibration.exercise_payload(current_user, calibration.get_exercise(current_user, exercise_id))


@blp.route("/calibrations/<int:exercise_id>/submit", methods=["POST"])
@blp.response(200, CalibrationSchema)
def submit_calibration(exercise_id):
    """Submit your codes (a coder); the exercise closes when every coder has."""
    exercise = calibration.submit(current_user, calibration.get_exercise(current_user, exercise_id))
    return calibration.exercise_payload(current_user, exercise)


@blp.route("/calibrations/<int:exercise_id>/close", methods=["POST"])
@blp.response(200, CalibrationSchema)
def close_calibration(exercise_id):
    """Close the exercise with the codes submitted so far (the lead; at least two submitted)."""
    exercise = calibration.close(current_user, calibration.get_exercise(current_user, exercise_id))
    return calibration.exercise_payload(current_user, exercise)


@blp.route("/calibrations/<int:exercise_id>/report")
@blp.response(200, CalibrationReportSchema)
def calibration_report(exercise_id):
    """Agreement per criterion: codes per coder, agreed and disputed codes, Cohen's (two coders) or Fleiss' (three
    or more) kappa, and the disputed moments. 409 until the exercise is closed."""
    return calibration.report(current_user, calibration.get_exercise(current_user, exercise_id))


@blp.route("/calibrations/<int:exercise_id>/report/export")
@blp.response(200, description="CSV: one row per criterion")
def calibration_report_csv(exercise_id):
    """The agreement report as CSV (409 until the exercise is closed)."""
    exercise = calibration.get_exercise(current_user, exercise_id)
    response = Response(calibration.report_csv(current_user, exercise), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="calibration-{exercise.id}.csv"'
    return response
