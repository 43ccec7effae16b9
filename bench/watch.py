"""Watch-together fan-out: how long a control takes to reach the other participants, and what it costs.

    .venv/bin/python bench/watch.py [--sessions 25] [--clients 4] [--interval-ms 200] [--seconds 20]

Starts a real `obsapp serve` on 127.0.0.1 with a temporary database (as the tests' live server does),
then connects sessions x clients python-socketio clients over WebSocket, spread over `--clients`
processes (client k of every session lives in process k, so sender and receivers are never in the same
process). Each session gets one `seek` control every --interval-ms, sent by its clients in turn and
staggered across sessions. The control's position_ms carries the send time (CLOCK_MONOTONIC, in
microseconds; the lesson has no duration, so the server keeps it as is), so every receiver computes
send -> receipt latency on the same machine clock, across processes. Only receipts at the clients other
than the sender count.

Baseline, measured in the same run first: one session of the same size at the same rate on the idle
server. Printed: median, p90, p99 and max fan-out latency for both and the ratio; how many states
arrived of those expected; the server process's CPU (utime+stime from /proc/<pid>/stat, master and
worker) as a share of one core and of the machine; the client processes' CPU for comparison.
Everything is bounded: connection and join timeouts, a fixed run time, and the server is stopped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import socketio

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
NAMESPACE = "/watch"
PASSWORD = "bench-password-1"  # noqa: S105 - throwaway accounts in a temporary database
TICK = os.sysconf("SC_CLK_TCK")


def now_us() -> int:
    return time.monotonic_ns() // 1000


# --- the server --------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(base: Path, threads: int) -> tuple[subprocess.Popen, str, dict]:
    env = {**os.environ, "OBSAPP_INSTANCE_PATH": str(base / "instance"), "OBSAPP_MEDIA_ROOT": str(base / "media"),
           "OBSAPP_DATABASE_URL": f"sqlite:///{base / 'bench.db'}", "OBSAPP_JOB_WORKERS": "1",
           "OBSAPP_LOG_LEVEL": "WARNING", "OBSAPP_ENV": "testing"}
    obsapp = str(BIN / "obsapp")
    subprocess.run([obsapp, "init"], env=env, check=True, capture_output=True, timeout=120)
    port = free_port()
    log = (base / "server.log").open("w")
    process = subprocess.Popen([obsapp, "serve", "--host", "127.0.0.1", "--port", str(port), "--threads", str(threads),
                                "--no-jobs"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                return process, url, env
        except requests.RequestException:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("obsapp serve did not start:\n" + (base / "server.log").read_text())


def cpu_ticks(pid: int) -> int:
    """utime + stime of ``pid`` and its children (gunicorn's master and its worker)."""
    total = 0
    pids = [pid]
    with contextlib.suppress(OSError):
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for one in pids:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total


def setup_people(url: str, env: dict, count: int) -> tuple[list[dict], int]:
    """``count`` people with tokens, and a lesson (no video: no duration) owned by the first, shared with the rest."""
    obsapp = str(BIN / "obsapp")
    people = []
    stamp = time.time_ns() % 10**8
    for n in range(count):
        email = f"bench{n}-{stamp}@school.test"
        subprocess.run([obsapp, "users", "create", email, "--name", f"Bench Person {n}", "--password", PASSWORD],
                       env=env, check=True, capture_output=True, timeout=60)
        token = subprocess.run([obsapp, "tokens", "create", email], env=env, check=True, capture_output=True,
                               text=True, timeout=60).stdout.strip()
        me = requests.get(url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
        people.append({"id": me["id"], "token": token})
    owner = {"Authorization": f"Bearer {people[0]['token']}"}
    lesson = requests.post(url + "/api/v1/lessons", json={"title": "Bench lesson"}, headers=owner, timeout=10).json()
    for person in people[1:]:
        response = requests.post(url + f"/api/v1/lessons/{lesson['id']}/shares", headers=owner, timeout=10,
                                 json={"user_id": person["id"], "role": "viewer"})
        response.raise_for_status()
    return people, lesson["id"]


def start_sessions(url: str, token: str, lesson_id: int, count: int) -> list[str]:
    headers = {"Authorization": f"Bearer {token}"}
    return [requests.post(url + f"/api/v1/lessons/{lesson_id}/watch", headers=headers, timeout=10).json()["session_id"]
            for _ in range(count)]


# --- a client process ----------------------------------------------------------------------------------------

def client_process(index: int, clients: int, url: str, person: dict, session_ids: list[str], interval_ms: int,
                   seconds: float, start_queue, result_queue) -> None:
    """Client ``index`` of every session; sends its share of the controls; reports latencies (µs)."""
    latencies: list[int] = []
    received = 0
    watchers = []
    try:
        for session_id in session_ids:
            client = socketio.Client(reconnection=False, request_timeout=10)

            def on_state(state, me=person["id"]):
                nonlocal received
                at = now_us()
                by = state.get("by")
                if by and by["id"] != me and state.get("action") == "seek":
                    received += 1
                    latencies.append(at - state["position_ms"])

            client.on("state", on_state, namespace=NAMESPACE)
            client.connect(url, namespaces=[NAMESPACE], transports=["websocket"], wait_timeout=10,
                           headers={"Authorization": f"Bearer {person['token']}"})
            answer = client.call("join", {"session_id": session_id}, namespace=NAMESPACE, timeout=10)
            if not answer or not answer.get("ok"):
                raise RuntimeError(f"join refused: {answer}")
            watchers.append(client)
        result_queue.put(("ready", index))
        t0 = start_queue.get(timeout=120)  # a CLOCK_MONOTONIC instant shared by every process
        cpu_start = time.process_time()
        stagger = interval_ms / max(1, len(session_ids))
        sends = []
        tick = 0
        while True:
            base = t0 + tick * interval_ms / 1000
            if base - t0 >= seconds:
                break
            if tick % clients == index:
                for s, client in enumerate(watchers):
                    sends.append((base + s * stagger / 1000, client))
            tick += 1
        sent = 0
        for when, client in sends:
            delay = when - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            client.emit("control", {"action": "seek", "position_ms": now_us()}, namespace=NAMESPACE)
            sent += 1
        time.sleep(1.0)  # the last states in flight
        result_queue.put(("done", index, sent, received, latencies, time.process_time() - cpu_start))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which stops everything
        result_queue.put(("failed", index, repr(exc)))
    finally:
        for client in watchers:
            with contextlib.suppress(Exception):
                client.disconnect()


def run(url: str | list[str], people: list[dict], lesson_id: int, sessions: int, clients: int, interval_ms: int,
        seconds: float, server_pid: int | list[int]) -> dict:
    """One load run. ``url`` may list several web processes (sharing one Redis): client process k connects to
    ``url[k % len(url)]``, so the clients of every session are spread over them; ``server_pid`` likewise."""
    urls = [url] if isinstance(url, str) else list(url)
    pids = [server_pid] if isinstance(server_pid, int) else list(server_pid)
    session_ids = start_sessions(urls[0], people[0]["token"], lesson_id, sessions)
    ctx = mp.get_context("spawn")
    start_queue, result_queue = ctx.Queue(), ctx.Queue()
    processes = [ctx.Process(target=client_process, daemon=True,
                             args=(k, clients, urls[k % len(urls)], people[k], session_ids, interval_ms, seconds, start_queue,
                                   result_queue)) for k in range(clients)]
    for process in processes:
        process.start()
    try:
        ready = 0
        while ready < clients:
            message = result_queue.get(timeout=180)
            if message[0] == "failed":
                raise SystemExit(f"client process {message[1]} failed: {message[2]}")
            ready += 1
        t0 = time.monotonic() + 1.0
        for _ in processes:
            start_queue.put(t0)
        time.sleep(max(0.0, t0 - time.monotonic()))
        cpu0, wall0 = sum(map(cpu_ticks, pids)), time.monotonic()
        results = []
        while len(results) < clients:
            message = result_queue.get(timeout=seconds + 60)
            if message[0] == "failed":
                raise SystemExit(f"client process {message[1]} failed: {message[2]}")
            results.append(message)
            if len(results) == 1:
                cpu1, wall1 = sum(map(cpu_ticks, pids)), time.monotonic()
    finally:
        for process in processes:
            process.join(timeout=20)
            if process.is_alive():
                process.kill()
    sent = sum(r[2] for r in results)
    received = sum(r[3] for r in results)
    latencies = sorted(lat for r in results for lat in r[4])
    return {"sessions": sessions, "clients": clients, "sent": sent, "received": received,
            "expected": sent * (clients - 1), "latencies_ms": [x / 1000 for x in latencies],
            "server_cpu_s": (cpu1 - cpu0) / TICK, "wall_s": wall1 - wall0,
            "client_cpu_s": sum(r[5] for r in results)}


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(q * len(values)))]


def report(name: str, result: dict) -> None:
    lat = result["latencies_ms"]
    cores = os.cpu_count() or 1
    share = result["server_cpu_s"] / result["wall_s"]
    print(f"{name}: {result['sessions']} sessions x {result['clients']} clients, {result['sent']} controls sent, "
          f"{result['received']}/{result['expected']} states received by the others")
    print(f"  fan-out latency ms: median {statistics.median(lat):.2f}  p90 {quantile(lat, 0.9):.2f}  "
          f"p99 {quantile(lat, 0.99):.2f}  max {lat[-1]:.2f}")
    print(f"  server CPU: {result['server_cpu_s']:.2f} s in {result['wall_s']:.1f} s = {share:.0%} of one core "
          f"({share / cores:.0%} of {cores} cores); client processes: {result['client_cpu_s']:.2f} s CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=25)
    parser.add_argument("--clients", type=int, default=4, help="clients per session (and client processes)")
    parser.add_argument("--interval-ms", type=int, default=200, help="one control per session this often")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--baseline-seconds", type=float, default=5.0)
    args = parser.parse_args()
    if not 2 <= args.clients <= 8 or not 1 <= args.sessions <= 100 or args.seconds > 120:
        raise SystemExit("keep it bounded: 2-8 clients, 1-100 sessions, at most 120 s")

    base = Path(tempfile.mkdtemp(prefix="obsapp-bench-watch-"))
    threads = args.sessions * args.clients + 32  # gthread: each WebSocket holds one request thread
    process = None
    try:
        process, url, env = start_server(base, threads)
        people, lesson_id = setup_people(url, env, args.clients)
        print(f"obsapp serve pid {process.pid} at {url} ({threads} threads); {os.cpu_count()} cores\n", flush=True)
        baseline = run(url, people, lesson_id, 1, args.clients, args.interval_ms, args.baseline_seconds, process.pid)
        report("baseline (idle server, one session)", baseline)
        loaded = run(url, people, lesson_id, args.sessions, args.clients, args.interval_ms, args.seconds, process.pid)
        report("load", loaded)
        b, lat = baseline["latencies_ms"], loaded["latencies_ms"]
        print(f"\nratio load/baseline: median {statistics.median(lat) / statistics.median(b):.2f}x, "
              f"p99 {quantile(lat, 0.99) / quantile(b, 0.99):.2f}x")
        target = quantile(lat, 0.99) < 50
        print(f"target p99 < 50 ms: {'met' if target else 'NOT met'} ({quantile(lat, 0.99):.1f} ms)")
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
