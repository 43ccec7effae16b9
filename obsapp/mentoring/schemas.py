"""Input and output schemas of the mentoring API (goals, evidence, cycles, journal, notifications)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from obsapp.mentoring.models import (
    CYCLE_STATUSES,
    GOAL_STATUSES,
    JOURNAL_VISIBILITIES,
    MODEL_AUDIENCES,
    NOTIFICATION_KINDS,
)
from obsapp.schemas import Bool, Id, Int, PageArgsSchema, StrictSchema, list_schema

_ids = {"validate": validate.Length(max=100)}


class PersonRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class CriterionRefSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()


class GoalCreateSchema(StrictSchema):
    teacher_id = Id(metadata={"description": "whose goal (default: you); you, or a mentee of yours"})
    title = fields.String(required=True)
    criterion_ids = fields.List(Id(), **_ids)
    success = fields.String(allow_none=True, metadata={"description": "what success looks like"})
    target_date = fields.Date(allow_none=True)


class GoalUpdateSchema(StrictSchema):
    title = fields.String()
    criterion_ids = fields.List(Id(), **_ids)
    success = fields.String(allow_none=True)
    target_date = fields.Date(allow_none=True)
    status = fields.String(validate=validate.OneOf(GOAL_STATUSES))


class GoalQuerySchema(PageArgsSchema):
    teacher_id = Id(load_default=None, metadata={"description": "one teacher's goals (you or a mentee)"})
    status = fields.String(load_default=None, validate=validate.OneOf(GOAL_STATUSES))


class EvidenceCreateSchema(StrictSchema):
    annotation_id = Id(allow_none=True)
    clip_id = Id(allow_none=True)
    lesson_id = Id(allow_none=True)
    journal_entry_id = Id(allow_none=True)


class EvidenceSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "annotation | clip | lesson | journal_entry"})
    annotation_id = fields.Integer(allow_none=True)
    clip_id = fields.Integer(allow_none=True)
    lesson_id = fields.Integer(allow_none=True)
    journal_entry_id = fields.Integer(allow_none=True)
    title = fields.String(metadata={"description": "a short description of the thing"})
    url = fields.String(metadata={"description": "its page"})
    at = fields.Raw(metadata={"description": "when it happened (the evidence is listed in this order)"})
    added_at = fields.DateTime()


class GoalSchema(Schema):
    id = fields.Integer()
    teacher = fields.Nested(PersonRefSchema)
    title = fields.String()
    success = fields.String()
    target_date = fields.Date(allow_none=True)
    status = fields.String()
    criteria = fields.List(fields.Nested(CriterionRefSchema))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    evidence = fields.List(fields.Nested(EvidenceSchema), metadata={"description": "oldest first (GET one goal)"})


GoalListSchema = list_schema(GoalSchema, "GoalList")


class CycleCreateSchema(StrictSchema):
    mentor_id = Id(metadata={"description": "default: you"})
    mentee_id = Id(metadata={"description": "default: you"})
    focus = fields.String(allow_none=True)
    look_fors = fields.String(allow_none=True)
    pre_notes = fields.String(allow_none=True)
    planned_for = fields.Date(allow_none=True)
    goal_ids = fields.List(Id(), **_ids)
    lesson_id = Id(allow_none=True)
    self_review_first = Bool(metadata={"description": "the mentee reviews first (default true)"})
    blind_mentor = Bool(metadata={"description": "also hide the mentee's self-review from the mentor until both "
                                                 "reviews are done"})


class CycleUpdateSchema(StrictSchema):
    focus = fields.String(allow_none=True)
    look_fors = fields.String(allow_none=True)
    pre_notes = fields.String(allow_none=True)
    planned_for = fields.Date(allow_none=True)
    goal_ids = fields.List(Id(), **_ids)
    lesson_id = Id(allow_none=True, metadata={"description": "the observed lesson (the mentee's): status observed"})
    self_review_first = Bool()
    blind_mentor = Bool()
    went_well = fields.String(allow_none=True)
    post_notes = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(CYCLE_STATUSES), metadata={"description": "only closed"})


class CycleQuerySchema(PageArgsSchema):
    mentee_id = Id(load_default=None)


class NextStepCreateSchema(StrictSchema):
    text = fields.String(required=True)
    goal_id = Id(allow_none=True, metadata={"description": "links (and reactivates) a goal of the mentee's"})
    as_goal = Bool(load_default=False, metadata={"description": "make a new goal of it"})
    criterion_ids = fields.List(Id(), **_ids)


class NextStepSchema(Schema):
    id = fields.Integer()
    text = fields.String()
    goal_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class GoalRefSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    status = fields.String()


class CycleSchema(Schema):
    id = fields.Integer()
    mentor = fields.Nested(PersonRefSchema)
    mentee = fields.Nested(PersonRefSchema)
    status = fields.String(metadata={"description": "planned | observed | reviewed | closed"})
    stage = fields.String(metadata={"description": "waiting for recording | reflection due | feedback due | "
                                                   "post-conference due | closed"})
    focus = fields.String()
    look_fors = fields.String()
    pre_notes = fields.String()
    planned_for = fields.Date(allow_none=True)
    lesson_id = fields.Integer(allow_none=True)
    self_review_first = fields.Boolean()
    blind_mentor = fields.Boolean()
    self_review_done_at = fields.DateTime(allow_none=True)
    mentor_review_done_at = fields.DateTime(allow_none=True)
    revealed = fields.Boolean(metadata={"description": "both reviews are visible to both"})
    went_well = fields.String()
    post_notes = fields.String()
    goals = fields.List(fields.Nested(GoalRefSchema))
    next_steps = fields.List(fields.Nested(NextStepSchema))
    created_at = fields.DateTime()
    observed_at = fields.DateTime(allow_none=True)
    reviewed_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)


CycleListSchema = list_schema(CycleSchema, "CycleList")


class JournalCreateSchema(StrictSchema):
    body = fields.String(required=True, metadata={"description": "Markdown"})
    lesson_id = Id(allow_none=True)
    t_ms = Int(allow_none=True, minimum=0)
    goal_id = Id(allow_none=True)
    cycle_id = Id(allow_none=True)


class JournalUpdateSchema(StrictSchema):
    body = fields.String()
    visibility = fields.String(validate=validate.OneOf(JOURNAL_VISIBILITIES))


class JournalQuerySchema(PageArgsSchema):
    q = fields.String(load_default=None, validate=validate.Length(max=200),
                      metadata={"description": "words the entry contains"})
    author_id = Id(load_default=None)


class ReplyCreateSchema(StrictSchema):
    body = fields.String(required=True)


class JournalReplySchema(Schema):
    id = fields.Integer()
    author = fields.Nested(PersonRefSchema)
    body = fields.String()
    body_html = fields.String()
    created_at = fields.DateTime()


class JournalEntrySchema(Schema):
    id = fields.Integer()
    author = fields.Nested(PersonRefSchema)
    body = fields.String()
    body_html = fields.String(metadata={"description": "the Markdown rendered and sanitised"})
    visibility = fields.String(metadata={"description": "private | mentors"})
    lesson_id = fields.Integer(allow_none=True)
    t_ms = fields.Integer(allow_none=True)
    goal_id = fields.Integer(allow_none=True)
    cycle_id = fields.Integer(allow_none=True)
    reply_count = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


JournalListSchema = list_schema(JournalEntrySchema, "JournalList")
JournalReplyListSchema = list_schema(JournalReplySchema, "JournalReplyList")


class NotificationSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": ", ".join(NOTIFICATION_KINDS)})
    title = fields.String()
    url = fields.String()
    read = fields.Boolean()
    created_at = fields.DateTime()


NotificationListSchema = list_schema(NotificationSchema, "NotificationList")


class NotificationQuerySchema(PageArgsSchema):
    unread = fields.Boolean(load_default=False)


class UnreadCountSchema(Schema):
    unread = fields.Integer()


class NotificationSettingsSchema(Schema):
    email = fields.Dict(keys=fields.String(validate=validate.OneOf(NOTIFICATION_KINDS)),
                        values=fields.String(validate=validate.OneOf(("off", "instant", "digest"))),
                        metadata={"description": "per kind: off, instant or digest (daily)"})


class ModelCreateSchema(StrictSchema):
    lesson_id = Id(allow_none=True, metadata={"description": "one of your own lessons (a model lesson); or clip_id"})
    clip_id = Id(allow_none=True, metadata={"description": "a clip of one of your own lessons (a model clip: its "
                                                           "audience sees the clip only, faces blurred where the "
                                                           "lesson's consent asks); or lesson_id"})
    title = fields.String(allow_none=True, metadata={"description": "default: the lesson's title"})
    note = fields.String(allow_none=True, metadata={"description": "what to look for"})
    criterion_ids = fields.List(Id(), **_ids)
    audience = fields.String(load_default="chosen", validate=validate.OneOf(MODEL_AUDIENCES),
                             metadata={"description": "chosen (user_ids) or school (everyone signed in)"})
    user_ids = fields.List(Id(), validate=validate.Length(max=500))


class ModelQuerySchema(PageArgsSchema):
    criterion_id = Id(load_default=None, metadata={"description": "models tagged with this criterion"})


class ModelClipSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    start_ms = fields.Integer(metadata={"description": "where in the lesson it starts"})
    end_ms = fields.Integer()
    status = fields.String(metadata={"description": "processing | ready | failed"})
    blur_faces = fields.Boolean()
    video_url = fields.String(allow_none=True)
    page_url = fields.String()


class ModelSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "lesson (the whole lesson is shared) | clip (only the clip)"})
    lesson_id = fields.Integer()
    clip_id = fields.Integer(allow_none=True)
    clip = fields.Nested(ModelClipSchema, allow_none=True)
    owner = fields.Nested(PersonRefSchema)
    title = fields.String()
    note = fields.String()
    audience = fields.String()
    criteria = fields.List(fields.Nested(CriterionRefSchema))
    created_at = fields.DateTime()


ModelListSchema = list_schema(ModelSchema, "ModelLessonList")


class ModelNoteCreateSchema(StrictSchema):
    body = fields.String(required=True)
    t_ms = Int(allow_none=True, minimum=0)


class ModelNoteSchema(Schema):
    id = fields.Integer()
    t_ms = fields.Integer(allow_none=True)
    body = fields.String()
    body_html = fields.String()
    created_at = fields.DateTime()


ModelNoteListSchema = list_schema(ModelNoteSchema, "ModelNoteList")


class NotificationSettingsInputSchema(StrictSchema):
    email = fields.Dict(required=True, keys=fields.String(validate=validate.OneOf(NOTIFICATION_KINDS)),
                        values=fields.String(validate=validate.OneOf(("off", "instant", "digest"))),
                        metadata={"description": "the kinds to change: off, instant or digest (daily)"})


class PromptsSchema(Schema):
    prompts = fields.List(fields.String(), metadata={"description": "offered in order when feedback arrives"})


class PromptsInputSchema(StrictSchema):
    prompts = fields.List(fields.String(validate=validate.Length(max=300)), required=True,
                          validate=validate.Length(max=20),
                          metadata={"description": "the new list (empty: back to the defaults)"})
