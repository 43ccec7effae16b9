from marshmallow import fields, validate

from obsapp.schemas import Bool, Id, PersonSchema, StrictSchema, list_schema


class LoginSchema(StrictSchema):
    email = fields.String(required=True)
    password = fields.String(required=True, load_only=True)


class UserSchema(PersonSchema):
    is_admin = fields.Boolean()
    active = fields.Boolean()
    created_at = fields.DateTime()
    last_login_at = fields.DateTime(allow_none=True)


class MeSchema(UserSchema):
    mentees = fields.List(fields.Nested(PersonSchema))
    mentors = fields.List(fields.Nested(PersonSchema))


class UserQuerySchema(StrictSchema):
    q = fields.String(load_default=None, metadata={"description": "part of a name or email"})


class UserCreateSchema(StrictSchema):
    email = fields.String(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    password = fields.String(required=True, load_only=True)
    is_admin = Bool(load_default=False)


class UserUpdateSchema(StrictSchema):
    name = fields.String(validate=validate.Length(min=1, max=120))
    is_admin = Bool()
    active = Bool()
    password = fields.String(load_only=True, metadata={"description": "sets a new password (admin reset)"})


class TokenSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    name = fields.String(load_default="", validate=validate.Length(max=120))
    prefix = fields.String(dump_only=True, metadata={"description": "the token's first characters, to recognise it"})
    created_at = fields.DateTime(dump_only=True)
    last_used_at = fields.DateTime(dump_only=True, allow_none=True)


class NewTokenSchema(TokenSchema):
    token = fields.String(dump_only=True, metadata={"description": "shown once; store it safely"})


class MentorshipSchema(StrictSchema):
    id = fields.Integer()
    mentor = fields.Nested(PersonSchema)
    mentee = fields.Nested(PersonSchema)
    active = fields.Boolean()
    created_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)


class MentorshipCreateSchema(StrictSchema):
    mentor_id = Id(required=True)
    mentee_id = Id(required=True)


class MentorshipQuerySchema(StrictSchema):
    include_ended = fields.Boolean(load_default=False)


UserListSchema = list_schema(UserSchema, "UserList")
PersonListSchema = list_schema(PersonSchema, "PersonList")
TokenListSchema = list_schema(TokenSchema, "TokenList")
MentorshipListSchema = list_schema(MentorshipSchema, "MentorshipList")


class ResetRequestSchema(StrictSchema):
    email = fields.String(required=True, validate=validate.Length(max=320))


class ResetRequestAnswerSchema(StrictSchema):
    message = fields.String(metadata={"description": "the same whether or not the address has an account"})


class PasswordChangeSchema(StrictSchema):
    current_password = fields.String(required=True, load_only=True)
    new_password = fields.String(required=True, load_only=True, metadata={"description": "at least 8 characters"})


class ResetConfirmSchema(StrictSchema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=200), load_only=True,
                          metadata={"description": "the last part of the emailed /reset/<token> link"})
    password = fields.String(required=True, load_only=True)


class ResetLinkSchema(StrictSchema):
    emailed = fields.Boolean(metadata={"description": "true: the link went to the person's email address"})
    url = fields.String(allow_none=True,
                        metadata={"description": "the link to pass on yourself when email is not set up; else null"})
    expires_at = fields.DateTime()


class InviteCreateSchema(StrictSchema):
    email = fields.String(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    is_admin = Bool(load_default=False)


class InviteSchema(ResetLinkSchema):
    user = fields.Nested(UserSchema)


class PendingInviteSchema(StrictSchema):
    user = fields.Nested(UserSchema)
    expires_at = fields.DateTime(allow_none=True, metadata={"description": "null: no live link (resend one)"})


PendingInviteListSchema = list_schema(PendingInviteSchema, "PendingInviteListSchema")


class InviteAcceptSchema(StrictSchema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=200), load_only=True,
                          metadata={"description": "the last part of the emailed /invite/<token> link"})
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    password = fields.String(required=True, load_only=True)


class PeopleImportFormSchema(StrictSchema):
    class Meta:
        unknown = "exclude"  # the multipart file field arrives apart

    dry_run = fields.Boolean(load_default=False, truthy={"true", "1"}, falsy={"false", "0"},
                             metadata={"description": "true: say what would change, change nothing"})


class PeopleImportLineSchema(StrictSchema):
    line = fields.Integer()
    email = fields.String()
    name = fields.String()
    role = fields.String()


class PeopleImportMentorshipSchema(StrictSchema):
    line = fields.Integer()
    mentor_email = fields.String()
    mentee_email = fields.String()


class PeopleImportErrorSchema(StrictSchema):
    line = fields.Integer()
    message = fields.String()


class PeopleImportResultSchema(StrictSchema):
    dry_run = fields.Boolean()
    created = fields.List(fields.Nested(PeopleImportLineSchema))
    unchanged = fields.List(fields.Nested(PeopleImportLineSchema))
    mentorships_added = fields.List(fields.Nested(PeopleImportMentorshipSchema))
    errors = fields.List(fields.Nested(PeopleImportErrorSchema))
    invites_emailed = fields.Integer()
