"""A throwaway OpenID Connect provider for the single sign-on tests, run as a process of its own on a free port.

Built on Authlib's server side: its AuthorizationServer with the authorization-code grant, the OpenID Connect
extension (ID tokens signed RS256 with a key made at start, nonce required) and PKCE (S256 required); a
ResourceProtector guards the userinfo endpoint. It serves the discovery document, the JWKS, an authorization
endpoint with a tiny sign-in form (username, password; "Deny" refuses consent), the token endpoint and userinfo.
Its clients and people come from a JSON file (see ``OidcProvider``); a person may carry test switches:

- ``id_token_expires_in``: seconds (negative: the ID token is already expired when issued);
- ``sign_with_unknown_key``: the ID token is signed with another key under the published key's id.

Run: ``python -m tests.servers.oidc --port PORT --config FILE``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.waiting import HANG_GUARD_S, wait_until

ROOT = Path(__file__).resolve().parents[2]


# --- the provider process ----------------------------------------------------------------------------

def create_provider_app(config: dict):
    from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector, current_token
    from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin, grants
    from authlib.oauth2.rfc6750 import BearerTokenValidator
    from authlib.oauth2.rfc7636 import CodeChallenge
    from authlib.oidc.core import UserInfo
    from authlib.oidc.core.grants import OpenIDCode
    from authlib.oidc.core.models import AuthorizationCodeMixin
    from authlib.oidc.discovery import OpenIDProviderMetadata
    from flask import Flask, jsonify, request
    from joserfc import jwt
    from joserfc.jwk import RSAKey
    from markupsafe import escape

    issuer = config["issuer"]
    kid = "test-key-1"
    signing_key = RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})
    rogue_key = RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})
    people = {p["username"]: p for p in config["users"]}

    @dataclass
    class Client(ClientMixin):
        client_id: str
        client_secret: str
        redirect_uris: list

        def get_client_id(self):
            return self.client_id

        def get_default_redirect_uri(self):
            return self.redirect_uris[0]

        def get_allowed_scope(self, scope):
            allowed = {"openid", "email", "profile"}
            return " ".join(s for s in (scope or "").split() if s in allowed)

        def check_redirect_uri(self, redirect_uri):
            return redirect_uri in self.redirect_uris

        def check_client_secret(self, client_secret):
            return secrets.compare_digest(self.client_secret, client_secret or "")

        def check_endpoint_auth_method(self, method, endpoint):
            return method in ("client_secret_basic", "client_secret_post")

        def check_response_type(self, response_type):
            return response_type == "code"

        def check_grant_type(self, grant_type):
            return grant_type == "authorization_code"

    @dataclass
    class Code(AuthorizationCodeMixin):
        code: str
        client_id: str
        redirect_uri: str
        scope: str
        username: str
        nonce: str | None
        code_challenge: str | None
        code_challenge_method: str | None
        auth_time: int = field(default_factory=lambda: int(time.time()))

        def get_redirect_uri(self):
            return self.redirect_uri

        def get_scope(self):
            return self.scope

        def get_nonce(self):
            return self.nonce

        def get_auth_time(self):
            return self.auth_time

        def get_acr(self):
            return None

        def get_amr(self):
            return None

    @dataclass
    class Token(TokenMixin):
        access_token: str
        client_id: str
        scope: str
        username: str
        issued_at: int
        expires_in: int

        def check_client(self, client):
            return client.client_id == self.client_id

        def get_scope(self):
            return self.scope

        def get_expires_in(self):
            return self.expires_in

        def is_expired(self):
            return time.time() > self.issued_at + self.expires_in

        def is_revoked(self):
            return False

        def get_user(self):
            return people[self.username]

        def get_client(self):
            return clients[self.client_id]

    clients = {c["client_id"]: Client(c["client_id"], c["client_secret"], c["redirect_uris"])
               for c in config["clients"]}
    codes: dict[str, Code] = {}
    tokens: dict[str, Token] = {}

    def user_info(person: dict, scope: str) -> UserInfo:
        info = UserInfo(sub=person["sub"])
        if "email" in scope.split():
            info["email"] = person["email"]
            if "email_verified" in person:
                info["email_verified"] = person["email_verified"]
        if "profile" in scope.split():
            info["name"] = person.get("name", person["username"])
        return info

    class CodeGrant(grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

        def save_authorization_code(self, code, request):
            payload = request.payload
            codes[code] = Code(code=code, client_id=request.client.client_id, redirect_uri=payload.redirect_uri,
                               scope=payload.scope, username=request.user["username"],
                               nonce=payload.data.get("nonce"), code_challenge=payload.data.get("code_challenge"),
                               code_challenge_method=payload.data.get("code_challenge_method"))

        def query_authorization_code(self, code, client):
            item = codes.get(code)
            return item if item is not None and item.client_id == client.client_id else None

        def delete_authorization_code(self, authorization_code):
            codes.pop(authorization_code.code, None)

        def authenticate_user(self, authorization_code):
            return people[authorization_code.username]

    class IdTokens(OpenIDCode):
        def resolve_client_private_key(self, client):
            return signing_key

        def get_client_algorithm(self, client):
            return "RS256"

        def get_encode_header(self, client):
            return {"alg": "RS256", "kid": kid}

        def get_client_claims(self, client):
            return {"iss": issuer, "aud": [client.client_id]}

        def exists_nonce(self, nonce, request):
            return any(c.nonce == nonce for c in codes.values())

        def generate_user_info(self, user, scope):
            return user_info(user, scope)

        def encode_id_token(self, token, request):
            person = request.user
            if "id_token_expires_in" not in person and not person.get("sign_with_unknown_key"):
                return super().encode_id_token(token, request)
            encoded = super().encode_id_token(token, request)
            claims = jwt.decode(encoded, signing_key).claims
            if "id_token_expires_in" in person:
                now = int(time.time())
                claims["iat"] = now + min(0, person["id_token_expires_in"]) - 60
                claims["exp"] = now + person["id_token_expires_in"]
            key = rogue_key if person.get("sign_with_unknown_key") else signing_key
            return jwt.encode({"alg": "RS256", "kid": kid}, claims, key)

    def save_token(token, request):
        tokens[token["access_token"]] = Token(
            access_token=token["access_token"], client_id=request.client.client_id, scope=token.get("scope", ""),
            username=request.user["username"], issued_at=int(time.time()), expires_in=token["expires_in"])

    app = Flask("oidc_test_provider")
    app.config["SECRET_KEY"] = secrets.token_urlsafe(16)
    server = AuthorizationServer(app, query_client=clients.get, save_token=save_token)
    server.register_grant(CodeGrant, [IdTokens(require_nonce=True), CodeChallenge(required=True)])

    class Validator(BearerTokenValidator):
        def authenticate_token(self, token_string):
            return tokens.get(token_string)

    protect = ResourceProtector()
    protect.register_token_validator(Validator())

    metadata = OpenIDProviderMetadata({
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/jwks",
        "scopes_supported": ["openid", "email", "profile"],
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "email", "email_verified", "name"],
    })
    metadata.validate()

    @app.get("/.well-known/openid-configuration")
    def discovery():
        return jsonify(dict(metadata))

    @app.get("/jwks")
    def jwks():
        return jsonify({"keys": [signing_key.as_dict(private=False)]})

    def sign_in_form(error: str = ""):
        hidden = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
                         for k, v in request.values.items() if k not in ("username", "password", "action"))
        alert = f'<p role="alert">{escape(error)}</p>' if error else ""
        return (f"<!doctype html><html lang='en'><head><title>Test provider: sign in</title></head><body><main>"
                f"<h1>Test provider</h1>{alert}<form method='post' action='/authorize'>{hidden}"
                "<label for='username'>Username</label> <input id='username' name='username' autocomplete='off'>"
                "<label for='password'>Password</label> <input id='password' name='password' type='password'>"
                "<button name='action' value='allow'>Continue</button>"
                "<button name='action' value='deny'>Deny</button></form></main></body></html>"), \
            (401 if error else 200)

    @app.route("/authorize", methods=["GET", "POST"])
    def authorize():
        try:
            server.get_consent_grant(end_user=None)
        except Exception as exc:  # the grant's OAuth2Error: shown, not redirected (as providers do)
            return f"Invalid authorization request: {escape(str(exc))}", 400
        if request.method == "GET":
            return sign_in_form()
        if request.form.get("action") == "deny":
            return server.create_authorization_response(grant_user=None)
        person = people.get(request.form.get("username", ""))
        if person is None or person["password"] != request.form.get("password"):
            return sign_in_form("Wrong username or password.")
        return server.create_authorization_response(grant_user=person)

    @app.post("/token")
    def issue_token():
        return server.create_token_response()

    @app.route("/userinfo", methods=["GET", "POST"])
    @protect("openid")
    def userinfo():
        return jsonify(dict(user_info(current_token.get_user(), current_token.scope)))

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--config", required=True)
    args = parser.parse_args()
    from werkzeug.serving import make_server

    app = create_provider_app(json.loads(Path(args.config).read_text()))
    make_server("127.0.0.1", args.port, app, threaded=True).serve_forever()


# --- for the tests: start it, know its people ----------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class OidcProvider:
    """The provider process; ``issuer`` is its URL. ``users``: dicts with username, password, sub, email and
    optionally email_verified, name and the test switches above."""

    folder: Path
    redirect_uris: list
    users: list
    client_id: str = "obsapp-test"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        for _attempt in range(5):
            self.port = free_port()
            config = {"issuer": self.issuer, "users": self.users,
                      "clients": [{"client_id": self.client_id, "client_secret": self.client_secret,
                                   "redirect_uris": self.redirect_uris}]}
            config_path = self.folder / "oidc-provider.json"
            config_path.write_text(json.dumps(config))
            log_path = self.folder / "oidc-provider.log"
            with log_path.open("a") as log:
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "tests.servers.oidc", "--port", str(self.port), "--config",
                     str(config_path)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

            def answers() -> bool:
                if self.process.poll() is not None:
                    return True
                try:
                    return requests.get(self.issuer + "/.well-known/openid-configuration", timeout=2).ok
                except requests.RequestException:
                    return False

            wait_until(answers, "the test OIDC provider's discovery document")
            if self.process.poll() is None:
                return
        raise RuntimeError("the test OIDC provider could not start:\n" + (self.folder / "oidc-provider.log").read_text())

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(HANG_GUARD_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(HANG_GUARD_S)
        self.process = None


if __name__ == "__main__":
    main()


# --- an obsapp server signing in through it -----------------------------------------------------------

PASSWORD = "pw-12345678"  # the obsapp accounts' (as tests/conftest.py's)
PROVIDER_NAME = "school"
LABEL = "School Account"
PEOPLE = [  # username at the provider; the obsapp account each has (None: none)
    {"username": "ann", "sub": "sub-ann", "email": "Ann@School.test", "email_verified": True, "name": "Ann Lee",
     "account": "ann@school.test"},
    {"username": "una", "sub": "sub-una", "email": "una@school.test", "email_verified": False, "account":
     "una@school.test"},
    {"username": "stan", "sub": "sub-stan", "email": "stan@school.test", "email_verified": True, "account": None},
    {"username": "gus", "sub": "sub-gus", "email": "gus@school.test", "email_verified": True,
     "account": "gus@school.test", "deactivated": True},
    {"username": "otto", "sub": "sub-otto", "email": "otto@elsewhere.test", "email_verified": True,
     "account": "otto@elsewhere.test"},
    {"username": "olga", "sub": "sub-olga", "email": "olga@other.test", "email_verified": True,
     "account": "olga@other.test"},
    {"username": "eve", "sub": "sub-eve", "email": "eve@school.test", "email_verified": True,
     "account": "eve@school.test", "id_token_expires_in": -600},
    {"username": "fay", "sub": "sub-fay", "email": "fay@school.test", "email_verified": True,
     "account": "fay@school.test", "sign_with_unknown_key": True},
]


@dataclass
class SsoSite:
    url: str
    env: dict
    admin_token: str
    provider: OidcProvider

    def cli(self, *args: str) -> str:
        return subprocess.run([str(Path(sys.executable).parent / "obsapp"), *args], env=self.env, capture_output=True,
                              text=True, timeout=120, check=True).stdout.strip()

    def api(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {token or self.admin_token}", **kwargs.pop("headers", {})}
        return requests.request(method, self.url + path, headers=headers, timeout=30, **kwargs)


def _start_sso_site(folder: Path):
    """The provider with PEOPLE, then `obsapp serve` with OBSAPP_OIDC_* pointing at it and their accounts."""
    from tests.servers import database as test_database
    from tests.waiting import wait_for_server

    port = free_port()
    provider = OidcProvider(folder, [f"http://127.0.0.1:{port}/login/sso/{PROVIDER_NAME}/callback"],
                            [{**p, "password": "provider-pw"} for p in PEOPLE])
    provider.start()
    prefix = f"OBSAPP_OIDC_{PROVIDER_NAME.upper()}_"
    env = {**os.environ, "OBSAPP_INSTANCE_PATH": str(folder / "instance"),
           "OBSAPP_MEDIA_ROOT": str(folder / "media"), "OBSAPP_DATABASE_URL": test_database.new_database_url(folder, "sso"),
           "OBSAPP_JOB_WORKERS": "1", "OBSAPP_LOG_LEVEL": "INFO", "OBSAPP_PUBLIC_URL": f"http://127.0.0.1:{port}",
           "OBSAPP_OIDC_PROVIDERS": PROVIDER_NAME, prefix + "ISSUER": provider.issuer,
           prefix + "CLIENT_ID": provider.client_id, prefix + "CLIENT_SECRET": provider.client_secret,
           prefix + "LABEL": LABEL, prefix + "DOMAINS": "school.test, elsewhere.test"}
    obsapp = str(Path(sys.executable).parent / "obsapp")
    subprocess.run([obsapp, "init"], env=env, check=True, capture_output=True, timeout=120)
    run = [obsapp, "users", "create"]
    subprocess.run([*run, "root@school.test", "--name", "Root Admin", "--password", PASSWORD, "--admin"], env=env,
                   check=True, capture_output=True, timeout=60)
    token = subprocess.run([obsapp, "tokens", "create", "root@school.test"], env=env, check=True,
                           capture_output=True, text=True, timeout=60).stdout.strip()
    log = (folder / "server.log").open("w")
    process = subprocess.Popen([obsapp, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(url, process, folder / "server.log")
    except BaseException:
        process.kill()
        provider.stop()
        raise
    site = SsoSite(url=url, env=env, admin_token=token, provider=provider)
    for person in PEOPLE:  # their accounts, through the API (a command per account costs seconds each)
        if person["account"]:
            made = site.api("POST", "/api/v1/users", json={"email": person["account"], "password": PASSWORD,
                                                           "name": person.get("name", person["username"].title())})
            assert made.status_code == 201, made.text
            if person.get("deactivated"):
                answer = site.api("PATCH", f"/api/v1/users/{made.json()['id']}", json={"active": False})
                assert answer.status_code == 200, answer.text
    return site, process


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def sso_site(tmp_path_factory):
    """`obsapp serve` with single sign-on through a throwaway OIDC provider (PEOPLE sign in there)."""
    site, process = _start_sso_site(tmp_path_factory.mktemp("sso"))
    yield site
    _stop(process)
    site.provider.stop()
