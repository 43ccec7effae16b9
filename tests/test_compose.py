"""docker-compose.yml, checked by a real compose tool (Debian's docker-compose: `config` needs no daemon).

The default profile runs the embedded app alone; `--profile scale` adds web (two processes), two workers,
PostgreSQL, Redis and MinIO with health checks and a one-shot init, all configured with the setting names
obsapp reads (a renamed setting would leave a service silently on the embedded default)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from obsapp.config import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = shutil.which("docker-compose")
pytestmark = pytest.mark.skipif(COMPOSE is None, reason="docker-compose is installed by `make test` "
                                                        "(scripts/ensure-system-deps.sh compose)")
SCALE_SECRETS = {"OBSAPP_SECRET_KEY": "a-long-random-secret-for-the-test", "POSTGRES_PASSWORD": "pg-secret",
                 "MINIO_ROOT_PASSWORD": "minio-secret"}


def compose_config(*profiles: str, env: dict | None = None) -> dict:
    args = [COMPOSE, "-f", str(ROOT / "docker-compose.yml")]
    for profile in profiles:
        args += ["--profile", profile]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OBSAPP_", "POSTGRES_", "MINIO_", "COMPOSE_"))}
    result = subprocess.run([*args, "config"], capture_output=True, text=True, timeout=120,
                            env={**clean, **(env or {})}, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_the_default_profile_runs_the_embedded_app_alone():
    services = compose_config()["services"]
    # `config` of docker-compose 1.29 lists every service; the profiles say which ones `up` starts
    assert [name for name, service in services.items() if not service.get("profiles")] == ["app"]
    assert all(service["profiles"] == ["scale"] for name, service in services.items() if name != "app")
    app = services["app"]
    assert not any(key in app.get("environment", {}) for key in
                   ("OBSAPP_DATABASE_URL", "OBSAPP_REDIS_URL", "OBSAPP_JOB_BACKEND", "OBSAPP_STORAGE"))
    assert any(volume == "obsapp-data:/data:rw" or (isinstance(volume, dict) and volume.get("target") == "/data")
               for volume in app["volumes"])  # docker-compose 1.29 writes the short form, compose v2 the long


def test_the_scale_profile_runs_two_web_processes_two_workers_and_their_servers():
    services = compose_config("scale", env=SCALE_SECRETS)["services"]
    assert {"app", "web", "worker", "postgres", "redis", "minio", "init", "bucket"} <= set(services)
    web, worker, init = services["web"], services["worker"], services["init"]

    command = web["command"]
    assert command[:2] == ["obsapp", "serve"] and "--no-jobs" in command
    assert command[command.index("--workers") + 1] == "2"
    assert worker["command"] == ["obsapp", "worker"] and worker["deploy"]["replicas"] == 2
    assert init["command"] == ["obsapp", "init"]

    for name in ("postgres", "redis", "minio", "web"):  # each says when it is ready
        assert services[name]["healthcheck"]["test"], name
    for name in ("web", "worker"):  # they start once the database is migrated and the bucket exists
        assert services[name]["depends_on"]["init"]["condition"] == "service_completed_successfully"
    assert init["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert init["depends_on"]["bucket"]["condition"] == "service_completed_successfully"
    assert {"postgres-data", "redis-data", "minio-data"} <= set(compose_config("scale", env=SCALE_SECRETS)["volumes"])

    for name in ("web", "worker", "init"):  # one set of settings, shared by every process
        env = services[name]["environment"]
        assert env["OBSAPP_DATABASE_URL"] == "postgresql+psycopg://obsapp:pg-secret@postgres:5432/obsapp"
        assert env["OBSAPP_REDIS_URL"] == "redis://redis:6379/0"
        assert env["OBSAPP_JOB_BACKEND"] == "celery"
        assert env["OBSAPP_STORAGE"] == "s3" and env["OBSAPP_S3_ENDPOINT_URL"] == "http://minio:9000"
        assert env["OBSAPP_SECRET_KEY"] == SCALE_SECRETS["OBSAPP_SECRET_KEY"]
        assert env["AWS_SECRET_ACCESS_KEY"] == SCALE_SECRETS["MINIO_ROOT_PASSWORD"]
        unknown = [key for key in env if key.startswith("OBSAPP_") and key.removeprefix("OBSAPP_") not in SETTINGS]
        assert unknown == [], f"settings obsapp does not read: {unknown}"


def test_the_scale_profile_passes_the_bucket_name_to_the_bucket_maker_and_the_app_alike():
    services = compose_config("scale", env={**SCALE_SECRETS, "OBSAPP_S3_BUCKET": "district-media"})["services"]
    assert services["web"]["environment"]["OBSAPP_S3_BUCKET"] == "district-media"
    assert services["bucket"]["environment"]["OBSAPP_S3_BUCKET"] == "district-media"
    assert re.search(r"mc mb --ignore-existing", " ".join(services["bucket"]["entrypoint"]))
