"""Settings: each one that cannot work says so in one line naming it; OBSAPP_API_RATE_LIMIT limits the API
when set and is off by default; request ids in the response and in JSON log lines."""

from __future__ import annotations

import json
import logging

import pytest

from obsapp import logs
from obsapp.cli import describe_failure
from obsapp.config import SettingsError, load_settings


@pytest.mark.parametrize(("settings", "expected"), [
    ({"OBSAPP_INSTANCE_PATH": "{file}"}, "The instance folder (OBSAPP_INSTANCE_PATH) {file} is a file, not a folder."),
    ({"OBSAPP_INSTANCE_PATH": "{file}/inside"}, "could not be created: Not a directory."),
    ({"OBSAPP_DATABASE_URL": "sqlite:///{file}/inside/obsapp.db"},
     "The database folder (OBSAPP_DATABASE_URL) {file}/inside could not be created"),
    ({"OBSAPP_DATABASE_URL": "not a url"}, "OBSAPP_DATABASE_URL='not a url' is not a database URL"),
    ({"OBSAPP_JOB_BACKEND": "rq"}, "OBSAPP_JOB_BACKEND='rq' is not valid: use embedded or celery."),
    ({"OBSAPP_JOB_BACKEND": "celery", "OBSAPP_REDIS_URL": ""},
     "OBSAPP_JOB_BACKEND=celery needs OBSAPP_REDIS_URL (redis://HOST:PORT/N)"),
    ({"OBSAPP_JOB_LEASE_SECONDS": "2"}, "OBSAPP_JOB_LEASE_SECONDS must be 5 seconds or more."),
    ({"OBSAPP_JOB_LEASE_SECONDS": "soon"}, "OBSAPP_JOB_LEASE_SECONDS='soon' is not valid"),
    ({"OBSAPP_LOG_FORMAT": "xml"}, "OBSAPP_LOG_FORMAT='xml' is not valid: use text or json."),
    ({"OBSAPP_LOG_LEVEL": "loud"}, "OBSAPP_LOG_LEVEL='loud' is not valid: use DEBUG or INFO"),
    ({"OBSAPP_API_RATE_LIMIT": "lots"}, "OBSAPP_API_RATE_LIMIT='lots' is not a rate limit (e.g. '100 per minute')"),
    ({"OBSAPP_LOGIN_RATE_LIMIT": "ten"}, "OBSAPP_LOGIN_RATE_LIMIT='ten' is not a rate limit"),
    ({"OBSAPP_MAX_UPLOAD_BYTES": "a lot"}, "OBSAPP_MAX_UPLOAD_BYTES='a lot' is not valid"),
    ({"OBSAPP_ENV": "production", "OBSAPP_SECRET_KEY": "secret"}, "OBSAPP_SECRET_KEY is a well-known value"),
    ({"OBSAPP_STORAGE": "s4"}, "OBSAPP_STORAGE='s4' is not valid: use local or s3."),
    ({"OBSAPP_STORAGE": "s3"}, "OBSAPP_STORAGE=s3 needs OBSAPP_S3_BUCKET"),
    ({"OBSAPP_STORAGE": "s3", "OBSAPP_S3_BUCKET": "b", "OBSAPP_S3_ENDPOINT_URL": "minio:9000"},
     "OBSAPP_S3_ENDPOINT_URL='minio:9000' is not valid"),
    ({"OBSAPP_S3_PRESIGN_EXPIRY_S": "-1"}, "OBSAPP_S3_PRESIGN_EXPIRY_S must be between 0"),
])
def test_a_setting_that_cannot_work_names_itself_in_one_line(tmp_path, monkeypatch, settings, expected):
    (tmp_path / "a-file").write_text("not a folder")
    instance = tmp_path / "instance"
    for name, value in settings.items():
        value = value.format(file=tmp_path / "a-file")
        if name == "OBSAPP_INSTANCE_PATH":
            instance = tmp_path / value
        else:
            monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as raised:
        load_settings(instance)
    message = describe_failure(raised.value)
    assert expected.format(file=tmp_path / "a-file") in message and "\n" not in message


def test_good_settings_are_normalised_and_folders_made(tmp_path, monkeypatch):
    monkeypatch.setenv("OBSAPP_LOG_FORMAT", "JSON")
    monkeypatch.setenv("OBSAPP_LOG_LEVEL", "warning")
    monkeypatch.setenv("OBSAPP_API_RATE_LIMIT", "100 per minute")
    monkeypatch.setenv("OBSAPP_DATABASE_URL", f"sqlite:///{tmp_path / 'db' / 'here' / 'x.db'}")
    config = load_settings(tmp_path / "a" / "b", {"TESTING": True})
    assert (config["LOG_FORMAT"], config["LOG_LEVEL"], config["JOB_BACKEND"]) == ("json", "WARNING", "embedded")
    assert config["API_RATE_LIMIT"] == "100 per minute"
    assert (tmp_path / "a" / "b").is_dir() and (tmp_path / "db" / "here").is_dir()


def test_api_rate_limit_is_off_by_default(app):
    assert app.config["API_RATE_LIMIT"] == ""
    client = app.test_client()
    statuses = {client.get("/api/v1/me").status_code for _ in range(40)}
    assert statuses == {401}


def test_api_rate_limit_limits_the_api_when_set(app, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "3 per minute")
    client = app.test_client()
    assert [client.get(path).status_code for path in ("/api/v1/me", "/api/v1/me", "/api/v1/frameworks")] == [401] * 3
    limited = client.get("/api/v1/me")
    assert limited.status_code == 429 and limited.json["error"]["code"] == "too_many_requests"
    assert int(limited.headers["Retry-After"]) > 0
    # one budget for the whole API, per client address; pages, health and media bytes are not counted
    assert client.get("/api/v1/lessons").status_code == 429
    assert client.get("/api/v1/me", environ_base={"REMOTE_ADDR": "10.9.8.7"}).status_code == 401
    assert client.get("/healthz").status_code == 200
    assert client.get("/login").status_code == 200
    assert client.get("/api/v1/lessons/1/media/poster.jpg").status_code != 429
    assert client.head("/api/v1/uploads/nope", headers={"Tus-Resumable": "1.0.0"}).status_code != 429


def test_every_response_carries_a_request_id(app):
    client = app.test_client()
    assert client.get("/healthz", headers={"X-Request-Id": "abc-123"}).headers["X-Request-Id"] == "abc-123"
    assert client.get("/healthz", headers={"X-Request-Id": "a b\tc;"}).headers["X-Request-Id"] == "abc"
    first, second = (client.get("/nowhere").headers["X-Request-Id"] for _ in range(2))
    assert len(first) == 32 and first != second


def test_json_lines_carry_the_ids_in_scope():
    formatter = logs.JsonFormatter()
    record = logging.LogRecord("obsapp.jobs.worker", logging.INFO, __file__, 1, "Job %s done", (7,), None)
    with logs.job_context(7):
        inside = json.loads(formatter.format(record))
    outside = json.loads(formatter.format(record))
    assert inside["job_id"] == 7 and inside["message"] == "Job 7 done" and inside["level"] == "INFO"
    assert "job_id" not in outside and inside["time"].endswith("Z")

    @logs.job_scope
    def run(app, job_id, worker_id):
        return logs.current_job_id()

    assert run(None, 12, "w") == 12 and run(None, job_id=13, worker_id="w") == 13 and logs.current_job_id() is None
