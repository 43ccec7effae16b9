from marshmallow import Schema, fields, validate

from obsapp.schemas import Bool, Id, Int, PageArgsSchema, StrictSchema, list_schema


class ClipCreateSchema(StrictSchema):
    start_ms = Int(required=True)
    end_ms = Int(required=True)
    title = fields.String(allow_none=True, validate=validate.Length(max=200))
    annotation_id = Id(allow_none=True, metadata={"description": "caption it with this annotation"})
    accurate = Bool(load_default=True, metadata={"description": "start and end on the asked frames "
                                                                          "(else: from the keyframe before, faster)"})
    captions = Bool(load_default=False, metadata={"description": "the annotation's comment as a subtitle "
                                                                           "track and a WebVTT sidecar"})
    blur_faces = Bool(allow_none=True, load_default=None,
                                metadata={"description": "pixelate every face (default: the lesson's setting)"})
    title_card = Bool(load_default=False,
                                metadata={"description": "start with a ~2 s card showing the title (and the lesson's "
                                                         "title and the criteria); captions start after it"})


class ClipQuerySchema(PageArgsSchema):
    for_ = fields.String(data_key="for", load_default=None, validate=validate.OneOf(["me"]),
                         metadata={"description": "me: feedback clips and reels sent to you, unread first"})
    lesson_id = Id(load_default=None, metadata={"description": "the clips of one lesson"})


class ClipPersonSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class ClipJobSchema(Schema):
    id = fields.Integer()
    state = fields.String()
    progress = fields.Float()


class ClipLessonSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    owner = fields.Nested(ClipPersonSchema, allow_none=True)


class DeliveryStateSchema(Schema):
    id = fields.Integer()
    sender = fields.Nested(ClipPersonSchema, allow_none=True)
    recipient = fields.Nested(ClipPersonSchema)
    message = fields.String(allow_none=True)
    sent_at = fields.DateTime()
    watched_at = fields.DateTime(allow_none=True)
    reviewed_at = fields.DateTime(allow_none=True)


class DeliverySchema(DeliveryStateSchema):
    reflections = fields.Integer(metadata={"description": "replies the recipient wrote on the annotation since"})


class ClipSchema(Schema):
    id = fields.Integer()
    lesson_id = fields.Integer()
    lesson = fields.Nested(ClipLessonSchema)
    annotation_id = fields.Integer(allow_none=True)
    start_ms = fields.Integer()
    end_ms = fields.Integer()
    media_start_ms = fields.Integer(allow_none=True, metadata={"description": "where the video really starts "
                                                                              "(a fast clip starts at a keyframe)"})
    duration_ms = fields.Integer(allow_none=True)
    title = fields.String()
    status = fields.String(metadata={"description": "processing | ready | failed"})
    error = fields.String(allow_none=True)
    job_id = fields.Integer(allow_none=True)
    job = fields.Nested(ClipJobSchema, allow_none=True)
    mode = fields.String(allow_none=True, metadata={"description": "copy | smart | encode | blur"})
    accurate = fields.Boolean()
    captions = fields.Boolean()
    blur_faces = fields.Boolean()
    title_card = fields.Boolean()
    title_card_ms = fields.Integer(allow_none=True, metadata={"description": "how long the title card shows: the "
                                                                             "clip's first frame is at this time"})
    comment = fields.String(allow_none=True)
    kind = fields.String(allow_none=True)
    criteria = fields.List(fields.String())
    video_url = fields.String(allow_none=True)
    download_url = fields.String(allow_none=True)
    thumbnail_url = fields.String(allow_none=True)
    captions_vtt_url = fields.String(allow_none=True)
    page_url = fields.String()
    can_send = fields.Boolean()
    delivery = fields.Nested(DeliveryStateSchema, allow_none=True, metadata={"description": "when sent to you"})
    created_at = fields.DateTime()
    creator = fields.Nested(ClipPersonSchema, allow_none=True)


class ClipCreatedSchema(Schema):
    clip = fields.Nested(ClipSchema)
    job_id = fields.Integer()


class ChapterSchema(Schema):
    title = fields.String()
    start_ms = fields.Integer()
    end_ms = fields.Integer()
    clip_id = fields.Integer(allow_none=True)


class ReelSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    status = fields.String(metadata={"description": "processing | ready | failed"})
    error = fields.String(allow_none=True)
    job_id = fields.Integer(allow_none=True)
    job = fields.Nested(ClipJobSchema, allow_none=True)
    mode = fields.String(allow_none=True, metadata={"description": "copy | encode"})
    duration_ms = fields.Integer(allow_none=True)
    clip_ids = fields.List(fields.Integer())
    lesson_ids = fields.List(fields.Integer())
    chapters = fields.List(fields.Nested(ChapterSchema))
    video_url = fields.String(allow_none=True)
    download_url = fields.String(allow_none=True)
    thumbnail_url = fields.String(allow_none=True)
    page_url = fields.String()
    can_send = fields.Boolean()
    delivery = fields.Nested(DeliveryStateSchema, allow_none=True)
    created_at = fields.DateTime()
    creator = fields.Nested(ClipPersonSchema, allow_none=True)


class ReelCreateSchema(StrictSchema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    clip_ids = fields.List(Id(), required=True, validate=validate.Length(min=1, max=50))


class ReelCreatedSchema(Schema):
    reel = fields.Nested(ReelSchema)
    job_id = fields.Integer()


class SendSchema(StrictSchema):
    user_ids = fields.List(Id(), required=True, validate=validate.Length(min=1, max=200))
    message = fields.String(allow_none=True, validate=validate.Length(max=5000))


class MediaQuerySchema(Schema):
    download = fields.Boolean(load_default=False, metadata={"description": "as an attachment with a readable name"})
    v = Int(load_default=None, metadata={"description": "media version (cache busting)"})


ClipListSchema = list_schema(ClipSchema, "ClipList")
DeliveryListSchema = list_schema(DeliverySchema, "DeliveryList")
