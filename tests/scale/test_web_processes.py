"""Several web processes sharing one database and one Redis (OBSAPP_REDIS_URL): two `obsapp serve` processes on
two ports (as behind a load balancer), and one `obsapp serve --workers 2`. Real servers and real clients: the
watch-together clients of one session sit on different processes; Redis is restarted under a running session."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import subprocess
import time
from dataclasses import dataclass

import pytest
import requests
import socketio

from tests.conftest import PASSWORD, VENV_BIN, LiveServer, _free_port
from tests.servers.redis import RedisServer
from tests.waiting import HANG_GUARD_S, wait_for_server, wait_until
from tests.watch.conftest import EVENTS, NAMESPACE, Person, Watcher, ready_lesson, start_session

pytestmark = pytest.mark.database_neutral(
    reason="its processes share a SQLite file of their own; the same processes on PostgreSQL (with Celery workers "
    "and S3) are tests/scale/test_cluster.py")
OBSAPP = str(VENV_BIN / "obsapp")
CHANNEL = "obsapp-socketio"  # Flask-SocketIO's channel on OBSAPP_REDIS_URL


@dataclass
class Deployment:
    """What the processes share: the database file, media, instance folder, secret and Redis."""

    base: object
    redis: RedisServer
    env: dict
    token: str

    def cli(self, *args: str) -> str:
        return subprocess.run([OBSAPP, *args], env=self.env, check=True, capture_output=True, text=True,
                              timeout=120).stdout.strip()

    def wait_for_listeners(self, count: int) -> None:
        """Until ``count`` processes listen on the Socket.IO message queue (each subscribes as it starts)."""
        queue = self.redis.client()
        try:
            wait_until(lambda: queue.pubsub_numsub(CHANNEL)[0][1] == count,
                       f"{count} processes to subscribe to the message queue")
        finally:
            queue.close()

    def serve(self, name: str, *extra: str) -> LiveServer:
        log_path = self.base / f"{name}.log"
        for _attempt in range(5):  # a port free when picked may be taken before it is bound
            port = _free_port()
            with log_path.open("w") as log:
                process = subprocess.Popen([OBSAPP, "serve", "--port", str(port), *extra], env=self.env, stdout=log,
                                           stderr=subprocess.STDOUT, start_new_session=True)
            url = f"http://127.0.0.1:{port}"
            try:
                wait_for_server(url, process, log_path)
                server = LiveServer(url=url, env=self.env, admin_token=self.token, process=process)
                server.log_path = log_path
                return server
            except RuntimeError:
                if "in use" not in log_path.read_text():
                    raise
        raise RuntimeError(f"{name} found no free port in 5 attempts")


def stop(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(HANG_GUARD_S)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(HANG_GUARD_S)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    base = tmp_path_factory.mktemp("scale")
    redis = RedisServer(base)  # its own: the restart test must not disturb other tests' Redis
    redis.start()
    instance = base / "instance"
    instance.mkdir()
    (instance / "obsapp.cfg").write_text("WATCH_EMPTY_GRACE_S = 60\nWATCH_START_GRACE_S = 600\n")
    env = {**os.environ, "OBSAPP_INSTANCE_PATH": str(instance), "OBSAPP_MEDIA_ROOT": str(base / "media"),
           "OBSAPP_DATABASE_URL": f"sqlite:///{base / 'shared.db'}", "OBSAPP_JOB_WORKERS": "1",
           "OBSAPP_LOG_LEVEL": "WARNING", "OBSAPP_SERVER_THREADS": "32", "OBSAPP_REDIS_URL": redis.url,
           "OBSAPP_SECRET_KEY": secrets.token_urlsafe(32), "OBSAPP_REDIS_PRESENCE_TTL_S": "6"}
    subprocess.run([OBSAPP, "init"], env=env, check=True, capture_output=True, timeout=120)
    subprocess.run([OBSAPP, "users", "create", "root@school.test", "--name", "Root Admin", "--password", PASSWORD,
                    "--admin"], env=env, check=True, capture_output=True, timeout=60)
    token = subprocess.run([OBSAPP, "tokens", "create", "root@school.test"], env=env, check=True,
                           capture_output=True, text=True, timeout=60).stdout.strip()
    yield Deployment(base=base, redis=redis, env=env, token=token)
    redis.stop()


@pytest.fixture(scope="module")
def two(deployment):
    """Two single-process `obsapp serve` on two ports: A and B."""
    a = deployment.serve("a")
    b = deployment.serve("b")
    deployment.wait_for_listeners(2)
    yield a, b
    for server in (a, b):
        stop(server)


def person(deployment: Deployment, server: LiveServer, name: str) -> Person:
    email = f"{name.split()[0].lower()}-{time.time_ns() % 10**9}@school.test"
    user = server.make_user(email=email, name=name)
    return Person(id=user["id"], name=name, email=email, token=deployment.cli("tokens", "create", email),
                  server=server)


def on(server: LiveServer, someone: Person) -> Person:
    """The same person, talking to another process."""
    return Person(id=someone.id, name=someone.name, email=someone.email, token=someone.token, server=server)


@contextlib.contextmanager
def watcher_on(server: LiveServer, someone: Person, **options):
    client = socketio.Client(reconnection=True, reconnection_delay=0.2, reconnection_delay_max=1,
                             request_timeout=HANG_GUARD_S)
    watcher = Watcher(person=someone, client=client)
    for name in (*EVENTS, "connect", "disconnect"):
        client.on(name, (lambda n: lambda *data: watcher.record(n, data[0] if data else None))(name),
                  namespace=NAMESPACE)
    client.connect(server.url, namespaces=[NAMESPACE], transports=options.get("transports", ["websocket"]),
                   headers={"Authorization": f"Bearer {someone.token}"}, wait_timeout=HANG_GUARD_S)
    try:
        yield watcher
    finally:
        watcher.disconnect()


def children(pid: int) -> list[int]:
    path = f"/proc/{pid}/task/{pid}/children"
    with open(path) as handle:
        return [int(child) for child in handle.read().split()]


def holder(server_pid: int, client: socketio.Client) -> int:
    """The worker process (a child of ``server_pid``) that holds this client's WebSocket connection: the one
    with a TCP socket whose remote end is the client's local port."""
    client_port = client.eio.ws.sock.getsockname()[1]
    inodes = set()
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            if int(fields[2].split(":")[1], 16) == client_port:
                inodes.add(f"socket:[{fields[9]}]")
    for pid in children(server_pid):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                    return pid
    raise AssertionError(f"no worker of {server_pid} holds the connection from port {client_port}")


def names(presence) -> list[str]:
    return sorted(user["name"] for user in presence["users"])


@pytest.fixture(scope="module")
def watched_lesson(deployment, two, media_samples):
    a, b = two
    owner = person(deployment, a, "Olivia Owner")
    mentor = person(deployment, a, "Marcus Mentor")
    lesson = ready_lesson(owner, media_samples["h264_aac_mp4"], "Place value, Year 3")
    shared = owner.api("POST", f"/api/v1/lessons/{lesson['id']}/shares", json={"user_id": mentor.id,
                                                                               "role": "commenter"})
    assert shared.status_code == 201, shared.text
    return owner, mentor, lesson


def test_watchers_on_different_processes_share_one_session(two, watched_lesson):
    a, b = two
    owner, mentor, lesson = watched_lesson
    session = start_session(owner, lesson["id"])
    with watcher_on(a, owner) as olivia, watcher_on(b, on(b, mentor)) as marcus:
        assert olivia.join(session["session_id"])["ok"]
        assert marcus.join(session["session_id"])["ok"]
        both = ["Marcus Mentor", "Olivia Owner"]
        olivia.wait_for("presence", lambda p: names(p) == both)  # Marcus joined on B: Olivia on A hears it
        marcus.wait_for("presence", lambda p: names(p) == both)

        assert olivia.control("play", 500)["ok"]
        seen = marcus.wait_for("state", lambda s: s["action"] == "play")
        assert seen["playing"] is True and seen["by"]["name"] == "Olivia Owner"
        assert marcus.control("seek", 2100)["ok"]
        seen = olivia.wait_for("state", lambda s: s["action"] == "seek")
        assert seen["position_ms"] >= 2100 and seen["by"]["name"] == "Marcus Mentor"
        assert marcus.control("pause", 1800)["ok"]
        seen = olivia.wait_for("state", lambda s: s["action"] == "pause")
        assert seen == {**seen, "playing": False, "position_ms": 1800}

        assert olivia.call("flag", {"position_ms": 1200})["ok"]
        flagged = marcus.wait_for("flag")
        assert flagged["position_ms"] == 1200 and flagged["by"]["name"] == "Olivia Owner"

        created = on(b, mentor).api("POST", f"/api/v1/lessons/{lesson['id']}/annotations",
                                    json={"start_ms": 900, "body": "Good use of base-ten blocks.", "kind": "strength"})
        assert created.status_code == 201, created.text
        for watcher in (olivia, marcus):
            message = watcher.wait_for("annotation", lambda m: m["annotation"].get("id") == created.json()["id"])
            assert message["annotation"]["body"] == "Good use of base-ten blocks."

        # controls applied at once on both processes: none is lost (seq counts every one)
        start_seq = olivia.wait_for("state", lambda s: s["action"] == "flag")["seq"]
        answers = [w.control("seek", 100 * i) for i, w in enumerate((olivia, marcus) * 5)]
        assert all(answer["ok"] for answer in answers)
        assert sorted(answer["seq"] for answer in answers) == list(range(start_seq + 1, start_seq + 11))

        marcus.disconnect()
        olivia.wait_for("presence", lambda p: names(p) == ["Olivia Owner"])


def test_ten_failed_sign_ins_over_both_processes_are_limited(deployment, two):
    a, b = two
    someone = person(deployment, a, "Rita Ratelimit")
    statuses = [requests.post((a, b)[i % 2].url + "/api/v1/auth/login",
                              json={"email": someone.email, "password": "bad-guess"}, timeout=30).status_code
                for i in range(12)]
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]
    blocked = requests.post(b.url + "/api/v1/auth/login", json={"email": someone.email, "password": PASSWORD},
                            timeout=30)
    assert blocked.status_code == 429 and blocked.json()["error"]["code"] == "too_many_requests"


def test_a_session_goes_on_when_redis_restarts_and_healthz_tells_while_it_is_down(deployment, two, watched_lesson):
    a, b = two
    owner, mentor, lesson = watched_lesson
    session = start_session(owner, lesson["id"])
    with watcher_on(a, owner) as olivia, watcher_on(b, on(b, mentor)) as marcus:
        assert olivia.join(session["session_id"])["ok"]
        assert marcus.join(session["session_id"])["ok"]
        assert olivia.control("seek", 2500)["ok"] and olivia.control("play")["ok"]
        marcus.wait_for("state", lambda s: s["action"] == "play")

        deployment.redis.stop()
        down = requests.get(a.url + "/healthz", timeout=HANG_GUARD_S)
        assert down.status_code == 503 and "redis" in down.json()["error"]["message"]
        refused = olivia.control("pause", 2600)  # answered with a reason, never a crash
        assert refused["ok"] is False and refused["error"]["code"] == "unavailable"
        assert "Redis is unavailable for watch-together state" in a.log_path.read_text()  # one clear line

        deployment.redis.restart()  # back, empty: no state, no presence, no subscribers
        for server in (a, b):
            wait_until(lambda s=server: requests.get(s.url + "/healthz", timeout=HANG_GUARD_S).status_code == 200,
                       "healthz to answer 200 again")
        # both processes listen on the message queue again (their listeners reconnect by themselves) ...
        deployment.wait_for_listeners(2)
        # ... and rebuild the session's state and presence from what they hold
        both = ["Marcus Mentor", "Olivia Owner"]
        mark = olivia.mark()
        olivia.wait_for("presence", lambda p: names(p) == both, after=mark)
        assert olivia.control("seek", 1200)["ok"]  # (positions within the 3 s sample lesson)
        seen = marcus.wait_for("state", lambda s: s["action"] == "seek" and s["position_ms"] >= 1200)
        assert seen["by"]["name"] == "Olivia Owner"
        assert marcus.control("pause", 1300)["ok"]
        assert olivia.wait_for("state", lambda s: s["action"] == "pause")["position_ms"] == 1300

        # a client that reconnects (a dropped connection) rejoins and carries on where the group is
        marcus.disconnect()
        with watcher_on(b, on(b, mentor)) as again:
            joined = again.join(session["session_id"])
            assert joined["ok"] and joined["state"]["position_ms"] == 1300 and joined["state"]["playing"] is False
            assert names(joined["presence"]) == both


def test_serve_workers_runs_several_processes_over_websocket_only(deployment, two):
    lone = dict(deployment.env)
    del lone["OBSAPP_REDIS_URL"]
    refused = subprocess.run([OBSAPP, "serve", "--port", str(_free_port()), "--workers", "2"], env=lone,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "OBSAPP_REDIS_URL" in refused.stderr

    server = deployment.serve("workers", "--workers", "2", "--no-jobs")
    try:
        wait_until(lambda: len(children(server.process.pid)) == 2, "two worker processes")
        deployment.wait_for_listeners(4)  # A, B and both workers listen, wherever each client lands
        polling = requests.get(server.url + "/socket.io/?EIO=4&transport=polling", timeout=30)
        assert polling.status_code == 400  # long-polling would need sticky sessions: refused, not half-working
        owner = person(deployment, server, "Wanda Workers")
        lesson = owner.api("POST", "/api/v1/lessons", json={"title": "Two processes"}).json()
        session = start_session(owner, lesson["id"])
        page = requests.Session()
        assert page.post(server.url + "/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD},
                         timeout=30).status_code == 200
        html = page.get(session["join_url"], timeout=30).text
        data = json.loads(re.search(r'<script type="application/json" id="watch-data">(.*?)</script>', html,
                                    re.S).group(1))
        assert data["transports"] == ["websocket"]
        with contextlib.ExitStack() as connections:
            by_process: dict[int, Watcher] = {}  # the first connection each worker process took
            for _ in range(40):  # the kernel hands each connection to whichever process accepts first
                watcher = connections.enter_context(watcher_on(server, owner))
                by_process.setdefault(holder(server.process.pid, watcher.client), watcher)
                if len(by_process) == 2:
                    break
            assert len(by_process) == 2, "40 connections all went to one of the two processes"
            first, second = by_process.values()
            assert first.join(session["session_id"])["ok"] and second.join(session["session_id"])["ok"]
            assert first.control("seek", 777)["ok"]  # from one process ...
            assert second.wait_for("state", lambda s: s["action"] == "seek")["position_ms"] == 777  # ... to the other
            assert second.control("pause", 900)["ok"]
            assert first.wait_for("state", lambda s: s["action"] == "pause")["position_ms"] == 900
    finally:
        stop(server)
