"""Domain errors and the one place that turns any error into the JSON shape of the contract or a page."""

from __future__ import annotations

import logging

from apispec import BasePlugin
from flask import Flask, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class ObsError(Exception):
    status = 400
    code = "bad_request"
    default_message = "The request could not be understood."

    def __init__(self, message: str | None = None, *, code: str | None = None, fields: dict | None = None,
                 headers: dict | None = None):
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        if code:
            self.code = code
        self.fields = fields
        self.headers = headers or {}


class BadRequest(ObsError):
    status, code, default_message = 400, "bad_request", "The request could not be understood."


class InvalidInput(ObsError):
    status, code, default_message = 422, "invalid_input", "Some of the data sent is not valid."


class Unauthorized(ObsError):
    status, code, default_message = 401, "unauthorized", "Please sign in."


class Forbidden(ObsError):
    status, code, default_message = 403, "forbidden", "You are not allowed to do that."


class NotFound(ObsError):
    status, code, default_message = 404, "not_found", "Not found."


class Conflict(ObsError):
    status, code, default_message = 409, "conflict", "That conflicts with the current state."


class Gone(ObsError):
    status, code, default_message = 410, "gone", "That no longer exists."


class PreconditionFailed(ObsError):
    status, code, default_message = 412, "precondition_failed", "It was changed by someone else; reload it."


class TooLarge(ObsError):
    status, code, default_message = 413, "too_large", "That is too large."


class UnsupportedMedia(ObsError):
    status, code, default_message = 415, "unsupported_media_type", "That kind of content is not supported."


class PreconditionRequired(ObsError):
    status, code, default_message = 428, "precondition_required", "Send If-Match with the ETag you last read."


HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    406: "not_acceptable", 409: "conflict", 410: "gone", 412: "precondition_failed", 413: "too_large",
    415: "unsupported_media_type", 416: "range_not_satisfiable", 422: "invalid_input",
    428: "precondition_required", 429: "too_many_requests", 500: "internal_error", 503: "unavailable",
}
HTTP_MESSAGES = {
    400: "The request could not be understood.",
    401: "Please sign in.",
    403: "You are not allowed to do that.",
    404: "Not found.",
    405: "That method is not allowed here.",
    413: "That is too large.",
    415: "That kind of content is not supported.",
    429: "Too many attempts. Please wait a few minutes and try again.",
    500: "Something went wrong on our side. The error has been logged.",
}


def wants_json() -> bool:
    if request.path.startswith(("/api/", "/uploads/", "/healthz")):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and not request.accept_mimetypes.accept_html


def error_response(status: int, code: str, message: str, fields: dict | None = None, headers: dict | None = None):
    if wants_json():
        body: dict = {"code": code, "message": message}
        if fields:
            body["fields"] = fields
        response = jsonify({"error": body})
        response.status_code = status
    else:
        response = make_response(render_template("errors/error.html", status=status, code=code, message=message),
                                 status)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _flatten_messages(messages) -> tuple[str, dict | None]:
    """webargs gives {location: {field: [msgs]}}; keep the fields and write one sentence."""
    if not isinstance(messages, dict):
        return "Some of the data sent is not valid.", None
    fields: dict = {}
    for location, value in messages.items():
        if isinstance(value, dict):
            fields.update(value)
        else:
            fields[location] = value
    if "json" in fields and any("Invalid JSON" in str(m) for m in fields["json"]):
        return "The request body is not valid JSON.", None
    parts = []
    for name, value in fields.items():
        text = value[0] if isinstance(value, list) and value else value
        if isinstance(text, dict):
            text = "is not valid"
        parts.append(f"{name}: {text}")
    return "Invalid input: " + "; ".join(str(p) for p in parts[:5]), fields


def handle_obs_error(error: ObsError):
    return error_response(error.status, error.code, error.message, error.fields, error.headers)


def handle_http_exception(error: HTTPException):
    status = error.code or 500
    code = HTTP_CODES.get(status, "error")
    message = HTTP_MESSAGES.get(status) or (error.description or "Error.")
    fields = None
    headers: dict = {}
    data = getattr(error, "data", None)
    if data:
        if "messages" in data:
            message, fields = _flatten_messages(data["messages"])
            if fields is None and "JSON" in message:
                code = "invalid_json"
            status = 400 if code == "invalid_json" else status
        if "message" in data:
            message = data["message"]
        headers = data.get("headers") or {}
    elif status == 400 and error.description and "JSON" in error.description:
        code, message = "invalid_json", "The request body is not valid JSON."
    elif status == 400 and error.description and "CSRF" in error.description:
        code = "csrf_failed"
        message = "The form expired or the security token is missing. Reload the page and try again."
    elif status == 413 and error.description and not error.description.startswith("The data value"):
        message = error.description
    valid_methods = getattr(error, "valid_methods", None)
    if status == 405 and valid_methods:
        headers["Allow"] = ", ".join(valid_methods)
    return error_response(status, code, message, fields, headers)


def handle_unexpected(error: Exception):
    log.exception("Unhandled error on %s %s", request.method, request.path)
    return error_response(500, "internal_error", HTTP_MESSAGES[500])


# --- the error responses in the OpenAPI document --------------------------------------------------------

# with the OpenAPI document and its docs page, not in it
PUBLIC_OPERATIONS = {("post", "/api/v1/auth/login"), ("post", "/api/v1/auth/password-reset"),
                     ("post", "/api/v1/auth/password-reset/confirm"), ("post", "/api/v1/auth/invite/accept")}
UNSAFE_METHODS = {"post", "put", "patch", "delete"}
ERROR_DESCRIPTIONS = {
    400: "Bad request: the body is not valid JSON, or a cookie-authenticated write lacks its CSRF token",
    401: "Not signed in (no session, or an invalid API token)",
    403: "Signed in but not allowed",
    404: "Absent, or not visible to you",
    409: "Conflicts with the current state (e.g. the lesson's video is not ready)",
    410: "Gone",
    412: "Precondition failed",
    413: "Too large",
    415: "Unsupported media type",
    416: "Range not satisfiable",
    422: "Invalid input (error.fields names each field)",
    428: "Precondition required",
    429: "Too many attempts",
    460: "Checksum mismatch (tus)",
}
# tus 1.0.0 (lessons/api.py): the protocol's headers and statuses, on top of the rules below.
# Upload-Metadata as lessons/uploads.py reads it: comma-separated "key base64value" pairs (value optional), blanks
# around pairs and empty pairs ignored.
_BASE64 = r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{4}=*|[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)"  # not empty
_TUS_PAIR = rf"\s*(?:[^\s,][^ ,]*(?: \s*(?:{_BASE64})?)?)?\s*"
TUS_METADATA_PATTERN = rf"^{_TUS_PAIR}(?:,{_TUS_PAIR})*$"
TUS_VERSION_HEADER = {"in": "header", "name": "Tus-Resumable", "required": True,
                      "schema": {"type": "string", "enum": ["1.0.0"]}}
TUS_OPERATIONS = {
    ("post", "/api/v1/lessons/{lesson_id}/uploads"): (
        [TUS_VERSION_HEADER,
         {"in": "header", "name": "Upload-Length", "required": True, "schema": {"type": "integer", "minimum": 1}},
         {"in": "header", "name": "Upload-Metadata", "required": False,
          "schema": {"type": "string", "pattern": TUS_METADATA_PATTERN}}],
        {409, 412, 413, 422}),
    ("head", "/api/v1/uploads/{upload_id}"): ([TUS_VERSION_HEADER], {410, 412}),
    ("patch", "/api/v1/uploads/{upload_id}"): (
        [TUS_VERSION_HEADER,
         {"in": "header", "name": "Upload-Offset", "required": True, "schema": {"type": "integer", "minimum": 0}},
         {"in": "header", "name": "Upload-Checksum", "required": False, "schema": {"type": "string"}}],
        {409, 410, 412, 413, 415, 460}),
    ("delete", "/api/v1/uploads/{upload_id}"): ([TUS_VERSION_HEADER], {412}),
}
TUS_SUCCESS = {
    ("head", "/api/v1/uploads/{upload_id}"): ("200", "Upload-Offset and Upload-Length in the headers"),
    ("patch", "/api/v1/uploads/{upload_id}"): ("204", "Bytes appended; Upload-Offset in the headers"),
    ("delete", "/api/v1/uploads/{upload_id}"): ("204", "Upload terminated"),
    ("options", "/api/v1/uploads/{upload_id}"): ("204", "tus capabilities in the Tus-* headers"),
    ("options", "/api/v1/lessons/{lesson_id}/uploads"): ("204", "tus capabilities in the Tus-* headers"),
}


def _error_content() -> dict:
    return {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def operation_error_statuses(path: str, method: str, operation: dict) -> set[int]:
    """The errors any operation of this shape can give, whatever its view does; views declare the rest with
    ``@blp.alt_response``."""
    if (method, path) in PUBLIC_OPERATIONS:
        return {400, 422}
    if method == "options":  # tus discovery: public, and the same for any upload URL that routes
        return {404} if "{" in path else set()
    statuses = {401}
    if "{" in path:
        statuses |= {403, 404}
    if method in UNSAFE_METHODS:
        statuses |= {400, 403}  # 400: a cookie-authenticated write without its CSRF token
    if method in {"post", "put", "patch"}:
        statuses.add(409)
    if "requestBody" in operation:
        statuses |= {413, 422}  # 413: larger than the request size limit
    if any(param.get("in") == "query" for param in operation.get("parameters", []) if isinstance(param, dict)):
        statuses.add(422)
    return statuses | TUS_OPERATIONS.get((method, path), ((), set()))[1]


class ErrorResponsesPlugin(BasePlugin):
    """Declares on every operation the error statuses it can answer, each with the contract's error shape, instead
    of flask-smorest's catch-all ``default`` (so a status nobody declared is a finding, not a match), and how it
    authenticates (bearer token or the session cookie; ``security: []`` where no sign-in is needed)."""

    def init_spec(self, spec) -> None:
        super().init_spec(spec)
        spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer",
                                                       "description": "an API token (obsapp tokens create EMAIL)"})
        spec.components.security_scheme("sessionCookie", {"type": "apiKey", "in": "cookie", "name": "obsapp_session"})

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        for method, operation in (operations or {}).items():
            if method not in UNSAFE_METHODS | {"get", "head", "options"} or not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            responses.pop("default", None)
            if method == "options":  # shares its view with the tus POST, whose 201 it never answers
                responses.clear()
            if (method, path) in TUS_SUCCESS:
                status, description = TUS_SUCCESS[(method, path)]
                responses.setdefault(status, {"description": description})
            tus_parameters = TUS_OPERATIONS.get((method, path), ((), set()))[0]
            if tus_parameters:
                operation["parameters"] = [*operation.get("parameters", []), *tus_parameters]
            if (method, path) in PUBLIC_OPERATIONS or method == "options":
                operation["security"] = []
            else:
                operation.setdefault("security", [{"bearerAuth": []}, {"sessionCookie": []}])
            declared = {int(code) for code in responses if str(code).isdigit()}
            for status in sorted(operation_error_statuses(path, method, operation) - declared):
                responses[str(status)] = {"description": ERROR_DESCRIPTIONS[status], "content": _error_content()}
            for code, response in responses.items():
                if (str(code).isdigit() and int(code) >= 400 and isinstance(response, dict)
                        and "$ref" not in response and "content" not in response):
                    response["content"] = _error_content()


def init_app(app: Flask) -> None:
    app.register_error_handler(ObsError, handle_obs_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
