from marshmallow import Schema, fields, validate

from obsapp.schemas import Id, Int, StrictSchema


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
    duration_ms = fields.Integer(metadata={"description": "the lesson's length"})
    span = fields.Nested(SpanSchema, metadata={"description": "the part of the lesson measured (all of it unless "
                                                             "start_ms / end_ms were given)"})
    speech_ms = fields.Integer()
    near_voice_share = fields.Float(metadata={"description": "share of the speech in the near (loud) voice"})
    longest_talk = fields.List(fields.Nested(SpanSchema), metadata={"description": "the longest continuous speech"})
    pauses = fields.Nested(PausesSchema)
    median_wait_ms = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)


class TalkQuerySchema(StrictSchema):
    start_ms = Int(minimum=0, metadata={"description": "measure from here (with end_ms: a span of the lesson)"})
    end_ms = Int(minimum=1, metadata={"description": "measure up to here"})


class CalibrationInSchema(StrictSchema):
    coder_ids = fields.List(Id(), required=True, validate=validate.Length(min=2, max=20),
                            metadata={"description": "two or more people who may comment on the lesson"})
    title = fields.String(validate=validate.Length(max=200))
    tolerance_ms = Int(minimum=0, maximum=60_000, metadata={"description": "moments this close match (default 5000)"})
    unit_ms = Int(minimum=1000, maximum=600_000, metadata={"description": "kappa's time unit (default 10000)"})


class CalibrationPersonSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class CalibrationCoderSchema(CalibrationPersonSchema):
    submitted = fields.Boolean()


class CalibrationSchema(Schema):
    id = fields.Integer()
    lesson_id = fields.Integer()
    title = fields.String()
    lead = fields.Nested(CalibrationPersonSchema)
    tolerance_ms = fields.Integer()
    unit_ms = fields.Integer()
    created_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    closed = fields.Boolean()
    coders = fields.List(fields.Nested(CalibrationCoderSchema))
    you_code = fields.Boolean()
    your_codes = fields.Integer(allow_none=True, metadata={"description": "your codes: your private annotations "
                                                                          "with a criterion, made since it opened"})
    report_ready = fields.Boolean()


class CalibrationListSchema(Schema):
    items = fields.List(fields.Nested(CalibrationSchema))


class DisagreementSchema(Schema):
    coder_id = fields.Integer()
    start_ms = fields.Integer()
    end_ms = fields.Integer(allow_none=True)


class CodedCriterionSchema(Schema):
    id = fields.Integer()
    code = fields.String(allow_none=True)
    name = fields.String()
    framework = fields.String(allow_none=True)


class CriterionAgreementSchema(Schema):
    criterion = fields.Nested(CodedCriterionSchema)
    codes = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "by coder id"})
    agreed = fields.Integer(metadata={"description": "codes every other coder matched"})
    disputed = fields.Integer()
    kappa = fields.Float(allow_none=True, metadata={"description": "null when undefined (e.g. nobody marked it)"})
    method = fields.String(metadata={"description": "cohen (two coders) | fleiss (three or more)"})
    disagreements = fields.List(fields.Nested(DisagreementSchema))


class CalibrationReportSchema(Schema):
    exercise = fields.Nested(CalibrationSchema)
    coders = fields.List(fields.Nested(CalibrationPersonSchema))
    units = fields.Integer(metadata={"description": "how many units of unit_ms the lesson was cut into"})
    criteria = fields.List(fields.Nested(CriterionAgreementSchema))

