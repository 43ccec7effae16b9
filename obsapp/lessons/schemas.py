from marshmallow import fields, validate

from obsapp.config import CONSENTS
from obsapp.schemas import Bool, Id, Int, PageArgsSchema, PersonSchema, StrictSchema, list_schema


class LessonCreateSchema(StrictSchema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    taught_on = fields.Date(allow_none=True)
    subject = fields.String(allow_none=True, validate=validate.Length(max=120))
    level = fields.String(allow_none=True, validate=validate.Length(max=120))
    description = fields.String(allow_none=True, validate=validate.Length(max=10000))
    consent = fields.String(validate=validate.OneOf(CONSENTS), metadata={
        "description": "consent of the people filmed: all_consented | some_not_consented | unknown (default: "
                       "OBSAPP_DEFAULT_CONSENT); unless all_consented, faces are blurred in every clip and reel"})
    pinned = Bool(metadata={"description": "keep this lesson past the retention period (OBSAPP_RETENTION_DAYS)"})


class LessonUpdateSchema(LessonCreateSchema):
    title = fields.String(validate=validate.Length(min=1, max=200))
    blur_faces_default = Bool(metadata={"description": "blur faces in everything that leaves this lesson"})


class JobSchema(StrictSchema):
    id = fields.Integer()
    kind = fields.String()
    state = fields.String(metadata={"description": "queued | running | done | failed"})
    progress = fields.Float()
    error = fields.Dict(allow_none=True, metadata={"description": "{code, message} when failed"})
    attempts = fields.Integer()
    lesson_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)


class JobBriefSchema(StrictSchema):
    id = fields.Integer()
    state = fields.String()
    progress = fields.Float()


class MediaUrlsSchema(StrictSchema):
    video_url = fields.String(allow_none=True)
    poster_url = fields.String(allow_none=True)
    thumbnails_vtt_url = fields.String(allow_none=True)
    waveform_url = fields.String(allow_none=True)
    anonymised = fields.Boolean(metadata={"description": "this viewer gets the anonymised video (every face "
                                                         "blurred): not everyone filmed consented"})
    anonymising = fields.Boolean(metadata={"description": "the anonymised video is still being made (video_url "
                                                          "is null until then)"})


class SourceSchema(StrictSchema):
    filename = fields.String(allow_none=True)
    size_bytes = fields.Integer(allow_none=True)
    sha256 = fields.String(allow_none=True)
    info = fields.Dict(allow_none=True)


class OwnerSchema(StrictSchema):
    id = fields.Integer()
    name = fields.String()


class LessonSchema(StrictSchema):
    id = fields.Integer()
    title = fields.String()
    subject = fields.String(allow_none=True)
    level = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    taught_on = fields.Date(allow_none=True)
    owner = fields.Nested(OwnerSchema)
    status = fields.String(metadata={"description": "awaiting_upload | processing | ready | failed"})
    error = fields.String(allow_none=True, metadata={"description": "why processing failed, for a person"})
    job_id = fields.Integer(allow_none=True)
    job = fields.Nested(JobBriefSchema, allow_none=True)
    duration_ms = fields.Integer(allow_none=True)
    width = fields.Integer(allow_none=True, metadata={"description": "as displayed (after rotation)"})
    height = fields.Integer(allow_none=True, metadata={"description": "as displayed (after rotation)"})
    fps = fields.Float(allow_none=True)
    has_audio = fields.Boolean(allow_none=True)
    video_codec = fields.String(allow_none=True)
    audio_codec = fields.String(allow_none=True)
    media = fields.Nested(MediaUrlsSchema)
    upload_url = fields.String(allow_none=True, metadata={"description": "tus 1.0.0 creation endpoint"})
    access = fields.String(metadata={"description": "what you may do: manage | comment | view"})
    can_delete = fields.Boolean()
    blur_faces_default = fields.Boolean()
    consent = fields.String(metadata={"description": "all_consented | some_not_consented | unknown"})
    blur_required = fields.Boolean(metadata={"description": "faces are blurred in every clip and reel (consent)"})
    pinned = fields.Boolean(metadata={"description": "kept past the retention period"})
    source = fields.Nested(SourceSchema)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class LessonQuerySchema(PageArgsSchema):
    scope = fields.String(load_default=None, validate=validate.OneOf(["mine", "shared", "mentees"]))
    status = fields.String(load_default=None, validate=validate.OneOf(
        ["awaiting_upload", "processing", "ready", "failed"]))


class ShareSchema(StrictSchema):
    user = fields.Nested(PersonSchema)
    role = fields.String()
    created_at = fields.DateTime()


class ShareCreateSchema(StrictSchema):
    user_id = Id(required=True)
    role = fields.String(load_default="viewer", validate=validate.OneOf(["viewer", "commenter"]))


class FrameQuerySchema(StrictSchema):
    t_ms = Int(required=True, minimum=0)
    width = Int(load_default=None, minimum=16, maximum=3840)


class VideoUploadSchema(StrictSchema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


LessonListSchema = list_schema(LessonSchema, "LessonList")
ShareListSchema = list_schema(ShareSchema, "ShareList")
