"""Lesson page responsiveness in Chromium with many annotations on the timeline.

Starts a real `obsapp serve` on a fresh database, uploads a generated 10-minute video, imports N annotations
(half of them spans) from a CSV through the API, then opens the lesson page in headless Chromium (Playwright)
several times and measures, from navigation start:

- ready: the player, every timeline marker and the annotation list are on the page (the panel's
  `obsapp:annotations-ready` performance mark);
- interactive: ready, and the main thread then quiet (no long task) for 500 ms; the time is the end of the last
  long task before that quiet window (or ready, if later) — the usual time-to-interactive definition;
- response: from a key press of "A" (Add annotation) to the form being painted.

The same page with no annotations is measured in the same run as the baseline. Target: interactive under 1 s
with 1,000 markers.

    .venv/bin/python bench/lesson_page.py [--annotations 1000] [--runs 5]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = secrets.token_urlsafe(12)  # a throwaway account on a throwaway database

OBSERVE = """
window.__longTasks = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__longTasks.push([e.startTime, e.startTime + e.duration]);
}).observe({ type: "longtask", buffered: true });
"""

MEASURE = """async () => {
  const ready = performance.getEntriesByName("obsapp:annotations-ready")[0].startTime;
  // Wait until 500 ms pass with no long task, then take the end of the last long task before that.
  for (;;) {
    const last = window.__longTasks.reduce((m, t) => Math.max(m, t[1]), 0);
    const since = performance.now() - Math.max(ready, last);
    if (since >= 500) return { ready, interactive: Math.max(ready, last), longTasks: window.__longTasks.length,
      taskMs: window.__longTasks.map((t) => [Math.round(t[0]), Math.round(t[1] - t[0])]),
      markers: document.querySelectorAll('#timeline-markers .marker').length,
      items: document.querySelectorAll('#annotation-list li').length };
    await new Promise((r) => setTimeout(r, 50));
  }
}"""

RESPOND = """() => new Promise((resolve) => {
  document.querySelector("h1").focus();
  const t0 = performance.now();
  document.dispatchEvent(new KeyboardEvent("keydown", { key: "a", bubbles: true }));
  requestAnimationFrame(() => requestAnimationFrame(() => {
    resolve({ ms: performance.now() - t0, open: !document.getElementById("annotation-form").hidden });
  }));
})"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_video(path: Path) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=600",
                    "-f", "lavfi", "-i", "sine=frequency=440:duration=600", "-c:v", "libx264", "-preset", "ultrafast",
                    "-g", "50", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart",
                    str(path)], check=True)


def annotations_csv(n: int, duration_ms: int, criteria: list[str]) -> bytes:
    rng = random.Random(11)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["start_ms", "end_ms", "kind", "criteria", "rating", "visibility", "author", "body"])
    for i in range(n):
        start = rng.randrange(0, duration_ms - 10_000)
        end = start + rng.randrange(1000, 9000) if i % 2 else ""
        writer.writerow([start, end, ("strength", "growth", "question", "note")[i % 4],
                         ";".join(rng.sample(criteria, 2)), "", "shared", "",
                         f"Observation {i}: students respond to **question** {i % 17}, see the board work."])
    return out.getvalue().encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--annotations", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="obsapp-bench-page-"))
    env = {**os.environ, "OBSAPP_INSTANCE_PATH": str(tmp / "instance"), "OBSAPP_MEDIA_ROOT": str(tmp / "media"),
           "OBSAPP_DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}", "OBSAPP_LOG_LEVEL": "WARNING"}
    obsapp = str(VENV_BIN / "obsapp")
    subprocess.run([obsapp, "init"], env=env, check=True, capture_output=True)
    subprocess.run([obsapp, "users", "create", "mentor@bench.test", "--name", "Bench Mentor", "--password", PASSWORD],
                   env=env, check=True, capture_output=True)
    token = subprocess.run([obsapp, "tokens", "create", "mentor@bench.test"], env=env, check=True,
                           capture_output=True, text=True).stdout.strip()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([obsapp, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    auth = {"Authorization": f"Bearer {token}"}
    try:
        for _ in range(100):
            try:
                if requests.get(url + "/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        video = tmp / "lesson.mp4"
        make_video(video)
        lesson_ids = []
        for title in ("Empty lesson", f"Lesson with {args.annotations} annotations"):
            lesson = requests.post(url + "/api/v1/lessons", json={"title": title}, headers=auth, timeout=30).json()
            with video.open("rb") as handle:
                requests.post(f"{url}/api/v1/lessons/{lesson['id']}/video", files={"file": handle}, headers=auth,
                              timeout=300)
            lesson_ids.append(lesson["id"])
        for lesson_id in lesson_ids:
            for _ in range(600):
                state = requests.get(f"{url}/api/v1/lessons/{lesson_id}", headers=auth, timeout=30).json()
                if state["status"] in ("ready", "failed"):
                    break
                time.sleep(0.5)
            assert state["status"] == "ready", state
        frameworks = requests.get(url + "/api/v1/frameworks", headers=auth, timeout=30).json()["items"]
        criteria = [f"{f['slug']}:{c['code']}" for f in frameworks for c in f["criteria"]]
        body = annotations_csv(args.annotations, state["duration_ms"], criteria)
        imported = requests.post(f"{url}/api/v1/lessons/{lesson_ids[1]}/annotations/import", headers=auth,
                                 files={"file": ("bench.csv", body, "text/csv")}, timeout=300)
        assert imported.status_code == 201, imported.text
        print(f"imported {imported.json()['imported']} annotations")

        results = {}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=["--no-sandbox", "--disable-gpu", "--mute-audio"])
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            context.add_init_script(OBSERVE)
            page = context.new_page()
            page.goto(url + "/login")
            page.get_by_label("Email").fill("mentor@bench.test")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(url + "/")
            for label, lesson_id in (("0 annotations (baseline)", lesson_ids[0]),
                                     (f"{args.annotations} annotations", lesson_ids[1])):
                samples = []
                for _ in range(args.runs + 1):  # the first load warms the HTTP cache and is not counted
                    page.goto(f"{url}/lessons/{lesson_id}")
                    page.wait_for_function("() => document.body.dataset.annotationsReady === '1'", timeout=60_000)
                    measured = page.evaluate(MEASURE)
                    measured["response"] = page.evaluate(RESPOND)
                    samples.append(measured)
                samples = samples[1:]
                expected = 0 if lesson_id == lesson_ids[0] else args.annotations
                assert all(s["markers"] == expected and s["items"] == expected for s in samples), samples[0]
                assert all(s["response"]["open"] for s in samples)
                results[label] = samples
            browser.close()
    finally:
        server.terminate()
        server.wait(20)
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"\n{'page':<28}{'ready ms':>10}{'interactive ms':>16}{'long tasks':>12}{'key→form ms':>13}")
    medians = {}
    for label, samples in results.items():
        med = {k: statistics.median(s[k] for s in samples) for k in ("ready", "interactive", "longTasks")}
        med["response"] = statistics.median(s["response"]["ms"] for s in samples)
        medians[label] = med
        print(f"{label:<28}{med['ready']:>10.0f}{med['interactive']:>16.0f}{med['longTasks']:>12.0f}"
              f"{med['response']:>13.1f}")
    print("long tasks [start ms, length ms] in the last load of each page:",
          {label: samples[-1]["taskMs"] for label, samples in results.items()})
    base, loaded = medians.values()
    print(f"\ninteractive with {args.annotations} annotations: {loaded['interactive']:.0f} ms "
          f"({loaded['interactive'] / base['interactive']:.2f}x the empty page); target < 1000 ms")


if __name__ == "__main__":
    main()
