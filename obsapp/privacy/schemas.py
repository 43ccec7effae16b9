from marshmallow import ValidationError, fields, validate, validates_schema

from obsapp.config import CONSENTS
from obsapp.privacy.models import AUDIT_ACTIONS
from obsapp.schemas import Bool, Id, PageArgsSchema, StrictSchema, list_schema


class AuditUserSchema(StrictSchema):
    id = fields.Integer(allow_none=True, metadata={"description": "null for the system (retention)"})
    name = fields.String()


class AuditLessonSchema(StrictSchema):
    id = fields.Integer(allow_none=True)
    title = fields.String(allow_none=True)


class AuditEntrySchema(StrictSchema):
    id = fields.Integer()
    at = fields.DateTime()
    user = fields.Nested(AuditUserSchema)
    action = fields.String(metadata={"description": " | ".join(AUDIT_ACTIONS)})
    detail = fields.String()
    address = fields.String(allow_none=True, metadata={"description": "the client's address"})
    lesson = fields.Nested(AuditLessonSchema, metadata={"description": "kept after the lesson is deleted"})


class AuditQuerySchema(PageArgsSchema):
    action = fields.String(load_default=None, validate=validate.OneOf(AUDIT_ACTIONS))


class AllAuditQuerySchema(AuditQuerySchema):
    lesson_id = Id(load_default=None)
    user_id = Id(load_default=None)


class AuditExportQuerySchema(StrictSchema):
    format = fields.String(load_default="csv", validate=validate.OneOf(["csv"]))
    action = fields.String(load_default=None, validate=validate.OneOf(AUDIT_ACTIONS))


class AllAuditExportQuerySchema(AuditExportQuerySchema):
    lesson_id = Id(load_default=None)
    user_id = Id(load_default=None)


class ConsentSchema(StrictSchema):
    consent = fields.String(metadata={"description": " | ".join(CONSENTS)})
    blur_required = fields.Boolean(metadata={"description": "faces are blurred in every clip and reel"})
    pinned = fields.Boolean(metadata={"description": "kept past OBSAPP_RETENTION_DAYS"})
    set_by = fields.Nested(AuditUserSchema, allow_none=True, metadata={"description": "who set it last"})
    updated_at = fields.DateTime(allow_none=True)


class ConsentInSchema(StrictSchema):
    consent = fields.String(validate=validate.OneOf(CONSENTS))
    pinned = Bool()

    @validates_schema
    def _something(self, data, **_kwargs):
        if not data:
            raise ValidationError("Give consent, pinned or both.")


class EraseSchema(StrictSchema):
    confirm = fields.String(required=True, validate=validate.Length(max=254),
                            metadata={"description": "the person's email address, as confirmation"})


class LessonRefSchema(StrictSchema):
    id = fields.Integer()
    title = fields.String()


class RemovedSchema(StrictSchema):
    lessons = fields.List(fields.Nested(LessonRefSchema))
    annotations_deleted = fields.Integer()
    annotations_anonymised = fields.Integer(metadata={"description": "kept as “removed at the author's request” "
                                                                      "because others replied"})
    replies_deleted = fields.Integer()
    tokens = fields.Integer()
    sign_in_links = fields.Integer(metadata={"description": "single sign-on accounts linked to theirs"})
    mentorships = fields.Integer()
    shares_with_them = fields.Integer()
    clips_and_reels_sent_to_them = fields.Integer()
    uploads = fields.Integer()
    reels_they_made = fields.Integer()
    audit_entries_anonymised = fields.Integer()
    calibration_submissions = fields.Integer(metadata={"description": "their talk-calibration codes and "
                                                                       "submissions (one per exercise), deleted"})
    calibrations_handed_over = fields.Integer(metadata={"description": "calibration exercises they led, now led by "
                                                                        "another of their coders (a mentor of the "
                                                                        "lesson's owner)"})
    calibrations_deleted = fields.Integer(metadata={"description": "calibration exercises they led that no other "
                                                                    "coder could lead, deleted"})


class ErasureReceiptSchema(StrictSchema):
    user_id = fields.Integer()
    erased_at = fields.DateTime()
    removed = fields.Nested(RemovedSchema)


AuditListSchema = list_schema(AuditEntrySchema, "AuditEntryList")
