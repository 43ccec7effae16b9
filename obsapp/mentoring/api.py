"""JSON API of the mentoring cycle: goals and evidence, observation cycles, the journal, notifications."""

from __future__ import annotations

from flask_login import current_user
from flask_smorest import Blueprint

from obsapp.errors import NotFound
from obsapp.extensions import db
from obsapp.mentoring import model_lessons, notify, services
from obsapp.mentoring.schemas import (
    CycleCreateSchema,
    CycleListSchema,
    CycleQuerySchema,
    CycleSchema,
    CycleUpdateSchema,
    EvidenceCreateSchema,
    EvidenceSchema,
    GoalCreateSchema,
    GoalListSchema,
    GoalQuerySchema,
    GoalSchema,
    GoalUpdateSchema,
    JournalCreateSchema,
    JournalEntrySchema,
    JournalListSchema,
    JournalQuerySchema,
    JournalReplyListSchema,
    JournalReplySchema,
    JournalUpdateSchema,
    ModelCreateSchema,
    ModelListSchema,
    ModelNoteCreateSchema,
    ModelNoteListSchema,
    ModelNoteSchema,
    ModelQuerySchema,
    ModelSchema,
    NextStepCreateSchema,
    NextStepSchema,
    NotificationListSchema,
    NotificationQuerySchema,
    NotificationSchema,
    NotificationSettingsInputSchema,
    NotificationSettingsSchema,
    PromptsInputSchema,
    PromptsSchema,
    ReplyCreateSchema,
    UnreadCountSchema,
)
from obsapp.mentoring.serialize import (
    cycle_payload,
    entry_payload,
    evidence_payloads,
    goal_payload,
    model_note_payload,
    model_payload,
    notification_payload,
    reply_payload,
)
from obsapp.pagination import page_args, page_of, paginate

blp = Blueprint("mentoring_api", __name__, url_prefix="/api/v1",
                description="Goals and their evidence, observation cycles, the reflective journal, notifications")


# --- goals ---------------------------------------------------------------------------------------------------------


@blp.route("/goals", methods=["POST"])
@blp.arguments(GoalCreateSchema)
@blp.response(201, GoalSchema)
@blp.alt_response(404, description="No such teacher, or not one whose goals you may write")
def create_goal(data):
    """A goal for you or one of your mentees (tied to criteria; status active)."""
    goal = services.create_goal(current_user, data)
    return goal_payload(goal, current_user, evidence=True)


@blp.route("/goals")
@blp.arguments(GoalQuerySchema, location="query")
@blp.response(200, GoalListSchema)
def list_goals(args):
    """Goals you may see (yours and your active mentees'), active first, by target date."""
    result = paginate(services.goals_query(current_user, args["teacher_id"], args["status"]))
    result["items"] = [goal_payload(goal) for goal in result["items"]]
    return result


@blp.route("/goals/<int:goal_id>")
@blp.response(200, GoalSchema)
def get_goal(goal_id):
    """A goal with its evidence, oldest first."""
    return goal_payload(services.get_goal(current_user, goal_id), current_user, evidence=True)


@blp.route("/goals/<int:goal_id>", methods=["PATCH"])
@blp.arguments(GoalUpdateSchema)
@blp.response(200, GoalSchema)
def update_goal(data, goal_id):
    """Change a goal (status: active, achieved, dropped)."""
    goal = services.update_goal(current_user, services.get_goal(current_user, goal_id), data)
    return goal_payload(goal, current_user, evidence=True)


@blp.route("/goals/<int:goal_id>/evidence", methods=["POST"])
@blp.arguments(EvidenceCreateSchema)
@blp.response(201, EvidenceSchema)
def add_evidence(data, goal_id):
    """Attach one annotation, clip, lesson or journal entry (that you may see) as evidence."""
    goal = services.get_goal(current_user, goal_id)
    evidence = services.add_evidence(current_user, goal, data)
    db.session.refresh(goal)
    return next(item for item in evidence_payloads(current_user, goal) if item["id"] == evidence.id)


@blp.route("/goals/<int:goal_id>/evidence/<int:evidence_id>", methods=["DELETE"])
@blp.response(204)
def remove_evidence(goal_id, evidence_id):
    """Detach a piece of evidence (the thing itself stays)."""
    services.remove_evidence(current_user, services.get_goal(current_user, goal_id), evidence_id)


# --- observation cycles --------------------------------------------------------------------------------------------


@blp.route("/cycles", methods=["POST"])
@blp.arguments(CycleCreateSchema)
@blp.response(201, CycleSchema)
@blp.alt_response(404, description="No active mentorship between those people that includes you, or a goal or "
                                    "lesson you may not see")
def create_cycle(data):
    """Plan an observation cycle (the pre-observation conference) for an active mentorship you are in."""
    return cycle_payload(services.start_cycle(current_user, data))


@blp.route("/cycles")
@blp.arguments(CycleQuerySchema, location="query")
@blp.response(200, CycleListSchema)
def list_cycles(args):
    """Cycles you take part in (as a mentor: while the mentorship is active), newest first."""
    result = paginate(services.cycles_query(current_user, args["mentee_id"]))
    result["items"] = [cycle_payload(cycle) for cycle in result["items"]]
    return result


@blp.route("/cycles/<int:cycle_id>")
@blp.response(200, CycleSchema)
def get_cycle(cycle_id):
    return cycle_payload(services.get_cycle(current_user, cycle_id))


@blp.route("/cycles/<int:cycle_id>", methods=["PATCH"])
@blp.arguments(CycleUpdateSchema)
@blp.response(200, CycleSchema)
def update_cycle(data, cycle_id):
    """Conference notes, focus goals, the observed lesson (-> observed), or ``status: closed``."""
    return cycle_payload(services.update_cycle(current_user, services.get_cycle(current_user, cycle_id), data))


@blp.route("/cycles/<int:cycle_id>/review-done", methods=["POST"])
@blp.response(200, CycleSchema)
def review_done(cycle_id):
    """Mark your review of the observed lesson done (the mentee's self-review, or the mentor's feedback). With
    self-review first, both sides' annotations are revealed once both are done (-> reviewed)."""
    return cycle_payload(services.mark_review_done(current_user, services.get_cycle(current_user, cycle_id)))


@blp.route("/cycles/<int:cycle_id>/next-steps", methods=["POST"])
@blp.arguments(NextStepCreateSchema)
@blp.response(201, NextStepSchema)
def add_next_step(data, cycle_id):
    """A next step agreed at the post-observation conference, optionally a goal."""
    step = services.add_next_step(current_user, services.get_cycle(current_user, cycle_id), data)
    return {"id": step.id, "text": step.text, "goal_id": step.goal_id, "created_at": step.created_at}


# --- the journal -----------------------------------------------------------------------------------------------


@blp.route("/journal", methods=["POST"])
@blp.arguments(JournalCreateSchema)
@blp.response(201, JournalEntrySchema)
@blp.alt_response(404, description="A linked lesson, goal or cycle that you may not see")
def create_entry(data):
    """A journal entry (private), optionally at a lesson moment, for a goal or a cycle."""
    return entry_payload(services.create_journal_entry(current_user, data))


@blp.route("/journal")
@blp.arguments(JournalQuerySchema, location="query")
@blp.response(200, JournalListSchema)
def list_entries(args):
    """Your entries and those shared with you, newest first; ``q``: words they contain."""
    result = paginate(services.journal_query(current_user, args["q"], args["author_id"]))
    result["items"] = [entry_payload(entry) for entry in result["items"]]
    return result


@blp.route("/journal/<int:entry_id>")
@blp.response(200, JournalEntrySchema)
def get_entry(entry_id):
    return entry_payload(services.get_journal_entry(current_user, entry_id))


@blp.route("/journal/<int:entry_id>", methods=["PATCH"])
@blp.arguments(JournalUpdateSchema)
@blp.response(200, JournalEntrySchema)
def update_entry(data, entry_id):
    """Change your entry, or share it with your mentors (``visibility: mentors``) or take it back (private)."""
    entry = services.get_journal_entry(current_user, entry_id, "edit")
    return entry_payload(services.update_journal_entry(current_user, entry, data))


@blp.route("/journal/<int:entry_id>/replies")
@blp.response(200, JournalReplyListSchema)
def list_replies(entry_id):
    entry = services.get_journal_entry(current_user, entry_id)
    page, per_page = page_args()
    rows = entry.replies[(page - 1) * per_page: page * per_page + 1]
    result = page_of(rows, page, per_page)
    result["items"] = [reply_payload(reply) for reply in result["items"]]
    return result


@blp.route("/journal/<int:entry_id>/replies", methods=["POST"])
@blp.arguments(ReplyCreateSchema)
@blp.response(201, JournalReplySchema)
def create_reply(data, entry_id):
    entry = services.get_journal_entry(current_user, entry_id, "reply")
    return reply_payload(services.reply_to_entry(current_user, entry, data))


# --- notifications -------------------------------------------------------------------------------------------------


@blp.route("/notifications")
@blp.arguments(NotificationQuerySchema, location="query")
@blp.response(200, NotificationListSchema)
def list_notifications(args):
    """Your notifications, newest first (``unread=true``: only unread)."""
    result = paginate(notify.query(current_user, args["unread"]))
    result["items"] = [notification_payload(note) for note in result["items"]]
    return result


@blp.route("/notifications/unread-count")
@blp.response(200, UnreadCountSchema)
def unread_count():
    return {"unread": notify.unread_count(current_user)}


@blp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@blp.response(200, NotificationSchema)
def mark_read(notification_id):
    return notification_payload(notify.mark_read(current_user, notify.get(current_user, notification_id)))


@blp.route("/notifications/read-all", methods=["POST"])
@blp.response(200, UnreadCountSchema)
def mark_all_read():
    notify.mark_all_read(current_user)
    return {"unread": 0}


@blp.route("/notifications/settings")
@blp.response(200, NotificationSettingsSchema)
def get_settings():
    """Which kinds are emailed to you: off, instant or digest (a daily summary)."""
    if not current_user.is_authenticated:
        raise NotFound()
    return {"email": notify.settings(current_user)}


@blp.route("/notifications/settings", methods=["PUT", "PATCH"])
@blp.arguments(NotificationSettingsInputSchema)
@blp.response(200, NotificationSettingsSchema)
def change_settings(data):
    return {"email": notify.change_settings(current_user, data["email"])}


# --- model lessons ---------------------------------------------------------------------------------------------


@blp.route("/models", methods=["POST"])
@blp.arguments(ModelCreateSchema)
@blp.response(201, ModelSchema)
@blp.alt_response(404, description="No lesson with that lesson_id that you may see")
def share_model(data):
    """Share one of your own lessons as a model (tagged by criteria) with chosen people or the whole school; they
    may then watch the lesson."""
    return model_payload(model_lessons.share_model(current_user, data))


@blp.route("/models")
@blp.arguments(ModelQuerySchema, location="query")
@blp.response(200, ModelListSchema)
def list_models(args):
    """Model lessons shared with you (and yours), newest first; ``criterion_id``: those tagged with it."""
    result = paginate(model_lessons.models_query(current_user, args["criterion_id"]))
    result["items"] = [model_payload(model) for model in result["items"]]
    return result


@blp.route("/models/<int:model_id>")
@blp.response(200, ModelSchema)
def get_model(model_id):
    return model_payload(model_lessons.get_model(current_user, model_id))


@blp.route("/models/<int:model_id>", methods=["DELETE"])
@blp.response(204)
def unshare_model(model_id):
    """Stop sharing it (the lesson stays)."""
    model_lessons.unshare_model(current_user, model_lessons.get_model(current_user, model_id))


@blp.route("/models/<int:model_id>/notes")
@blp.response(200, ModelNoteListSchema)
def list_model_notes(model_id):
    """Your own private notes on a model lesson."""
    notes = model_lessons.my_notes(current_user, model_lessons.get_model(current_user, model_id))
    return {"items": [model_note_payload(note) for note in notes], "next": None}


@blp.route("/models/<int:model_id>/notes", methods=["POST"])
@blp.arguments(ModelNoteCreateSchema)
@blp.response(201, ModelNoteSchema)
def add_model_note(data, model_id):
    """A private note (only you see it), optionally at a moment ``t_ms`` of the lesson."""
    return model_note_payload(model_lessons.add_note(current_user, model_lessons.get_model(current_user, model_id),
                                                     data))


# --- reflection prompts --------------------------------------------------------------------------------------------


@blp.route("/reflection-prompts")
@blp.response(200, PromptsSchema)
def get_prompts():
    """The questions a teacher is offered when feedback arrives."""
    return {"prompts": services.reflection_prompts()}


@blp.route("/reflection-prompts", methods=["PUT"])
@blp.arguments(PromptsInputSchema)
@blp.response(200, PromptsSchema)
def set_prompts(data):
    """Replace the school's prompts (admins)."""
    return {"prompts": services.set_reflection_prompts(current_user, data["prompts"])}
