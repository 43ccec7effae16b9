from marshmallow import Schema, fields, validate

from obsapp.schemas import Id, PageArgsSchema, StrictSchema, list_schema


class WatchPersonSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class WatchPresentPersonSchema(WatchPersonSchema):
    host = fields.Boolean(metadata={"description": "the session's host (may lock controls and end it)"})


class WatchStateSchema(Schema):
    playing = fields.Boolean()
    position_ms = fields.Integer(metadata={"description": "the group's position at server_time_ms"})
    rate = fields.Float()
    server_time_ms = fields.Integer(metadata={"description": "server clock, epoch milliseconds"})
    seq = fields.Integer(metadata={"description": "increases with every change of the group's playback"})
    action = fields.String(metadata={"description": "what made this state: play | pause | seek | rate | flag | ..."})
    by = fields.Nested(WatchPersonSchema, allow_none=True)
    locked = fields.Boolean()


class WatchPresenceSchema(Schema):
    users = fields.List(fields.Nested(WatchPresentPersonSchema))


class WatchEventSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "join | leave | flag | note | control_lock | end"})
    at_ms = fields.Integer(allow_none=True, metadata={"description": "the lesson time it happened at"})
    payload = fields.Dict()
    user = fields.Nested(WatchPersonSchema, allow_none=True)
    created_at = fields.DateTime()


class WatchSessionSchema(Schema):
    session_id = fields.String()
    lesson_id = fields.Integer()
    join_url = fields.String(metadata={"description": "the watch page; send it to the people to watch with"})
    host = fields.Nested(WatchPersonSchema, allow_none=True)
    created_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    active = fields.Boolean()
    control_locked = fields.Boolean()
    state = fields.Nested(WatchStateSchema, allow_none=True, metadata={"description": "null once ended"})
    presence = fields.Nested(WatchPresenceSchema)
    log = fields.List(fields.Nested(WatchEventSchema))


WatchSessionListSchema = list_schema(WatchSessionSchema, "WatchSessionList")
WatchSessionQuerySchema = PageArgsSchema


class WatchInviteSchema(StrictSchema):
    user_ids = fields.List(Id(), required=True, validate=validate.Length(min=1, max=100),
                           metadata={"description": "people who may view the lesson (see invitation-candidates)"})


class WatchInvitationSchema(Schema):
    id = fields.Integer()
    session_id = fields.String()
    lesson_id = fields.Integer()
    lesson_title = fields.String()
    user = fields.Nested(WatchPersonSchema, metadata={"description": "the person invited"})
    invited_by = fields.Nested(WatchPersonSchema, allow_none=True)
    created_at = fields.DateTime()
    expired = fields.Boolean(metadata={"description": "the session has ended: the invitation leads nowhere"})
    join_url = fields.String()
    url = fields.String(metadata={"description": "the invitation's page: joins the session while it runs"})


class WatchInvitationListSchema(Schema):
    items = fields.List(fields.Nested(WatchInvitationSchema))
    next = fields.String(allow_none=True, metadata={"description": "URL of the next page, or null"})


class WatchCandidateSchema(WatchPersonSchema):
    invited = fields.Boolean(metadata={"description": "already invited to this session"})


class WatchCandidateListSchema(Schema):
    items = fields.List(fields.Nested(WatchCandidateSchema))
    next = fields.String(allow_none=True)


class MyInvitationsQuerySchema(PageArgsSchema):
    expired = fields.Boolean(load_default=False, metadata={"description": "also those of ended sessions"})
