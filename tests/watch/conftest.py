"""Watch-together fixtures: a real `obsapp serve` with short grace periods, people with tokens and cookies,
and Socket.IO clients that record what they receive and wait (boundedly) for it."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import requests
import socketio

from tests.conftest import PASSWORD, VENV_BIN, LiveServer, _free_port
from tests.servers.database import new_database_url
from tests.waiting import HANG_GUARD_S, job_settled, wait_for_server

NAMESPACE = "/watch"
WAIT_S = HANG_GUARD_S  # a hang guard only: every wait ends as soon as what it waits for has arrived
EMPTY_GRACE_S = 2
_people = itertools.count(1)


def start_obsapp(base, config: str = "") -> LiveServer:
    """A real `obsapp serve` (like tests/conftest.py's live_server) with `config` as its instance obsapp.cfg."""
    instance = base / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    (instance / "obsapp.cfg").write_text(config)
    env = {**os.environ, "OBSAPP_INSTANCE_PATH": str(instance), "OBSAPP_MEDIA_ROOT": str(base / "media"),
           "OBSAPP_DATABASE_URL": new_database_url(base, "live"), "OBSAPP_JOB_WORKERS": "1",
           "OBSAPP_LOG_LEVEL": "WARNING", "OBSAPP_SERVER_THREADS": "64"}
    obsapp = str(VENV_BIN / "obsapp")
    subprocess.run([obsapp, "init"], env=env, check=True, capture_output=True, timeout=120)
    subprocess.run([obsapp, "users", "create", "root@school.test", "--name", "Root Admin", "--password", PASSWORD,
                    "--admin"], env=env, check=True, capture_output=True, timeout=60)
    token = subprocess.run([obsapp, "tokens", "create", "root@school.test"], env=env, check=True,
                           capture_output=True, text=True, timeout=60).stdout.strip()
    log_path = base / "server.log"
    for _attempt in range(5):  # the port was free when picked; another program may take it before we bind it
        port = _free_port()
        with log_path.open("w") as log:
            process = subprocess.Popen([obsapp, "serve", "--port", str(port)], env=env, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for_server(url, process, log_path)
            break
        except RuntimeError:
            if not _port_was_taken(log_path):
                raise
    else:
        raise RuntimeError("obsapp serve found no free port in 5 attempts:\n" + log_path.read_text())
    server = LiveServer(url=url, env=env, admin_token=token, process=process)
    server.log_path = log_path
    return server


def _port_was_taken(log_path) -> bool:
    log = log_path.read_text()
    return "Connection in use" in log or "Address already in use" in log


def stop_obsapp(server: LiveServer, timeout: float = 20) -> float:
    """Stop it as a service manager would (SIGTERM); return how long that took."""
    started = time.monotonic()
    server.process.terminate()
    try:
        server.process.wait(timeout)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(10)
    return time.monotonic() - started


@pytest.fixture(scope="session")
def watch_server(tmp_path_factory):
    """`obsapp serve` with watch sessions that end 2 s after their last participant left (the default is
    30 s), set the way an operator would: in the instance's obsapp.cfg."""
    server = start_obsapp(tmp_path_factory.mktemp("watch-live"),
                          f"WATCH_EMPTY_GRACE_S = {EMPTY_GRACE_S}\nWATCH_START_GRACE_S = 300\n")
    yield server
    stop_obsapp(server)


# --- people -----------------------------------------------------------------------------------------------

@dataclass
class Person:
    id: int
    name: str
    email: str
    token: str
    server: LiveServer

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.server.api(method, path, self.token, **kwargs)

    def cookie_session(self) -> requests.Session:
        """A requests session signed in through POST /api/v1/auth/login (the browser's session cookie)."""
        http = requests.Session()
        response = http.post(self.server.url + "/api/v1/auth/login", json={"email": self.email, "password": PASSWORD},
                             timeout=10)
        assert response.status_code == 200, response.text
        return http


def _token_via_api(server: LiveServer, email: str) -> str:
    http = requests.Session()
    assert http.post(server.url + "/api/v1/auth/login", json={"email": email, "password": PASSWORD},
                     timeout=10).status_code == 200
    html = http.get(server.url + "/", timeout=10).text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    response = http.post(server.url + "/api/v1/tokens", json={"name": "watch tests"}, headers={"X-CSRFToken": csrf},
                         timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["token"]


@pytest.fixture
def make_person(watch_server) -> Callable[..., Person]:
    def make(name: str | None = None) -> Person:
        n = next(_people)
        email = f"watcher{n}-{time.time_ns() % 10**9}@school.test"
        user = watch_server.make_user(email=email, name=name or f"Watcher {n}")
        return Person(id=user["id"], name=user["name"], email=email, token=_token_via_api(watch_server, email),
                      server=watch_server)

    return make


@pytest.fixture
def lesson_of(watch_server):
    def make(owner: Person, *, shared_with: tuple[Person, ...] = (), title: str = "Fractions, Year 5") -> dict:
        response = owner.api("POST", "/api/v1/lessons", json={"title": title})
        assert response.status_code == 201, response.text
        lesson = response.json()
        for person in shared_with:
            shared = owner.api("POST", f"/api/v1/lessons/{lesson['id']}/shares",
                               json={"user_id": person.id, "role": "commenter"})
            assert shared.status_code == 201, shared.text
        return lesson

    return make


def ready_lesson(owner: Person, video_path, title: str) -> dict:
    """A lesson with its video uploaded (simple upload) and processed (waits for the job to settle)."""
    lesson = owner.api("POST", "/api/v1/lessons", json={"title": title}).json()
    with open(video_path, "rb") as handle:
        response = owner.api("POST", f"/api/v1/lessons/{lesson['id']}/video",
                             files={"file": ("lesson.mp4", handle, "video/mp4")}, timeout=HANG_GUARD_S)
    assert response.status_code == 202, response.text
    lesson = job_settled(lambda: owner.api("GET", f"/api/v1/lessons/{lesson['id']}").json())
    assert lesson["status"] == "ready", lesson
    return lesson


def start_session(person: Person, lesson_id: int) -> dict:
    response = person.api("POST", f"/api/v1/lessons/{lesson_id}/watch")
    assert response.status_code == 201, response.text
    return response.json()


# --- Socket.IO clients ----------------------------------------------------------------------------------------

@dataclass
class Watcher:
    """A python-socketio client in namespace /watch that records every event it receives."""

    person: Person | None
    client: socketio.Client
    events: list[tuple[str, object, float]] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def record(self, name: str, data: object) -> None:
        with self.cond:
            self.events.append((name, data, time.monotonic()))
            self.cond.notify_all()

    def received(self, name: str) -> list:
        with self.cond:
            return [data for event, data, _ in self.events if event == name]

    def wait_for(self, name: str, predicate: Callable[[object], bool] = lambda _: True, timeout: float = WAIT_S,
                 after: int = 0):
        """The first ``name`` event (from index ``after`` in the record) that satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for event, data, _ in self.events[after:]:
                    if event == name and predicate(data):
                        return data
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {name!r} event matching within {timeout}s; got {self.events[-8:]}")
                self.cond.wait(remaining)

    def mark(self) -> int:
        with self.cond:
            return len(self.events)

    def call(self, event: str, data: dict | None = None, timeout: float = WAIT_S):
        return self.client.call(event, data or {}, namespace=NAMESPACE, timeout=timeout)

    def join(self, session_id: str) -> dict:
        return self.call("join", {"session_id": session_id})

    def control(self, action: str, position_ms: int | None = None, **extra) -> dict:
        data = {"action": action, **extra}
        if position_ms is not None:
            data["position_ms"] = position_ms
        return self.call("control", data)

    def disconnect(self) -> None:
        if self.client.connected:
            self.client.disconnect()


EVENTS = ("state", "presence", "flag", "note", "lock", "annotation", "ended", "error")


@pytest.fixture
def connect(watch_server):
    """connect(person, transports=("websocket",), ...) -> a connected Watcher (bearer token unless a cookie)."""
    made: list[Watcher] = []

    def make(person: Person | None, *, transports=("websocket",), headers: dict | None = None,
             cookie_header: str | None = None, reconnection: bool = False, auth: dict | None = None,
             origin: str | None = None) -> Watcher:
        """``origin``: the Origin header a browser on that site would send (websocket-client sends the
        server's own origin unless told otherwise; the polling transport sends none unless given)."""
        client = socketio.Client(reconnection=reconnection, reconnection_delay=0.2, reconnection_delay_max=0.5,
                                 request_timeout=WAIT_S,
                                 websocket_extra_options={"origin": origin} if origin else {})
        watcher = Watcher(person=person, client=client)
        for name in EVENTS:
            client.on(name, (lambda n: lambda data=None: watcher.record(n, data))(name), namespace=NAMESPACE)
        client.on("connect", lambda: watcher.record("connect", None), namespace=NAMESPACE)
        client.on("disconnect", lambda *reason: watcher.record("disconnect", reason), namespace=NAMESPACE)
        all_headers = dict(headers or {})
        if person is not None and cookie_header is None and "Authorization" not in all_headers:
            all_headers["Authorization"] = f"Bearer {person.token}"
        if cookie_header is not None:
            all_headers["Cookie"] = cookie_header
        if origin and "polling" in transports:
            all_headers["Origin"] = origin
        made.append(watcher)
        client.connect(watch_server.url, namespaces=[NAMESPACE], transports=list(transports), headers=all_headers,
                       auth=auth, wait_timeout=WAIT_S)
        return watcher

    yield make
    for watcher in made:
        with contextlib.suppress(Exception):  # best effort at teardown
            watcher.disconnect()
