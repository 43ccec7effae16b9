from marshmallow import Schema, fields


class SpanSchema(Schema):
    start_ms = fields.Integer()
    end_ms = fields.Integer()


class SpeechSegmentSchema(SpanSchema):
    voice = fields.String(metadata={"description": "near | far: loud or quiet voice relative to the lesson's typical "
                                                   "speech level (a heuristic, not who spoke; see docs/talk.md)"})
    level_db = fields.Float(metadata={"description": "loudness of the segment's speech, dBFS"})


class WaitTimeSchema(Schema):
    annotation_id = fields.Integer()
    wait_ms = fields.Integer(metadata={"description": "from the end of the speech around the question to the next "
                                                      "speech"})
    at_ms = fields.Integer(metadata={"description": "where that speech ended (the wait starts)"})
    kind = fields.String(metadata={"description": "the annotation's kind"})


class PausesSchema(Schema):
    min_ms = fields.Integer(metadata={"description": "a pause is a silence of at least this long"})
    count = fields.Integer()
    median_ms = fields.Integer(allow_none=True)
    items = fields.List(fields.Nested(SpanSchema))


class TalkSchema(Schema):
    status = fields.String(metadata={"description": "processing | ready | failed"})
    speech_share = fields.Float(metadata={"description": "share of the lesson's time with speech, 0..1"})
    segments = fields.List(fields.Nested(SpeechSegmentSchema), metadata={"description": "speech, in time order"})
    wait_times = fields.List(fields.Nested(WaitTimeSchema),
                             metadata={"description": "after each question annotation you can see (kind question, "
                                                      "or a criterion named for questioning)"})
    duration_ms = fields.Integer()
    speech_ms = fields.Integer()
    near_voice_share = fields.Float(metadata={"description": "share of the speech in the near (loud) voice"})
    longest_talk = fields.List(fields.Nested(SpanSchema), metadata={"description": "the longest continuous speech"})
    pauses = fields.Nested(PausesSchema)
    median_wait_ms = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
