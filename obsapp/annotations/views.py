"""HTML page: a lesson's feedback as one printable document (browser print to PDF)."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from obsapp.annotations import services
from obsapp.annotations.serialize import render_markdown
from obsapp.annotations.summary import KIND_LABELS, format_ms, summarize
from obsapp.lessons import services as lessons

bp = Blueprint("annotations", __name__, template_folder="templates")


@bp.route("/lessons/<int:lesson_id>/feedback")
@login_required
def feedback_page(lesson_id: int):
    lesson = lessons.get_lesson(current_user, lesson_id)
    include_private = request.args.get("private") == "1"
    # One query: everything the reader may see, less what the teacher hid; private notes only when asked for.
    visible = [a for a in services.visible_annotations(current_user, lesson, with_replies=True)
               if a.hidden_at is None]
    has_private = any(a.visibility == "private" for a in visible)
    rows = visible if include_private else [a for a in visible if a.visibility == "shared"]
    sections = [(kind, label, [a for a in rows if a.kind == kind]) for kind, label in KIND_LABELS.items()]
    return render_template("annotations/feedback.html", lesson=lesson, summary=summarize(rows), sections=sections,
                           include_private=include_private, has_private=has_private,
                           markdown=render_markdown, format_ms=format_ms, kind_labels=KIND_LABELS)
