"""``OBSAPP_JOB_BACKEND=celery``: jobs run on Celery 5 workers, with Redis (``OBSAPP_REDIS_URL``) as the broker.

The ``jobs`` table stays the record of state, progress and errors. A Celery message carries only a job's id;
the task claims the row (the same conditional UPDATE and lease as the embedded worker, so a message delivered
twice never runs a job twice), runs it and records its end. Messages are acknowledged late (after the job),
a task whose worker process was lost is rejected back to the queue, each worker reserves one message at a
time, and the broker's visibility timeout is longer than the longest job, so Redis never hands a running
job's message to a second worker. A worker that dies without a word is noticed by the others' sweep (its
lease expires) and its job is queued and sent again.

Two queues: ``heavy`` (ingest, face blurring, reels) and ``light`` (quick cuts, ...), chosen by each task's
declaration (``Task.queue``); run workers for each (``obsapp worker --queues light``) so that light jobs are
never stuck behind heavy ones.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta

from celery import Celery, signals
from flask import Flask
from kombu import Queue
from sqlalchemy import select

from obsapp.accounts.models import utcnow
from obsapp.extensions import db
from obsapp.jobs import queue, worker
from obsapp.jobs.models import Job
from obsapp.media import run as media_run

log = logging.getLogger(__name__)
TASK_NAME = "obsapp.run_job"
_EXTENSION = "obsapp.celery"
_lock = threading.Lock()
# A job runs at most this many ffmpeg passes one after another (ingest: transcode, then the derived files
# side by side; a clip: the cut, then its title card), each within OBSAPP_FFMPEG_TIMEOUT_S.
PASSES_PER_JOB = 2
SAFETY_MARGIN_S = 3600


def longest_job_s(app: Flask) -> int:
    return PASSES_PER_JOB * int(app.config["FFMPEG_TIMEOUT_S"])


def visibility_timeout_s(app: Flask) -> int:
    """How long Redis waits for a delivered message's acknowledgement before delivering it again: longer
    than the longest job, so a running job's message is never handed to a second worker meanwhile."""
    return longest_job_s(app) + worker.lease_seconds(app) + SAFETY_MARGIN_S


def celery_for(app: Flask) -> Celery:
    """The Celery app of this Flask app (made once; the web processes use it to send, workers to run)."""
    with _lock:
        celery = app.extensions.get(_EXTENSION)
        if celery is None:
            celery = app.extensions[_EXTENSION] = _make(app)
    return celery


def _make(app: Flask) -> Celery:
    celery = Celery("obsapp", broker=app.config["REDIS_URL"], set_as_current=False)
    celery.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options={"visibility_timeout": visibility_timeout_s(app)},
        task_queues=tuple(Queue(name, routing_key=name) for name in queue.QUEUES),
        task_default_queue=queue.LIGHT,
        task_ignore_result=True,  # the jobs table holds results
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,  # obsapp's own log format (OBSAPP_LOG_FORMAT) stays
        worker_redirect_stdouts=False,
        worker_enable_remote_control=False,
        worker_send_task_events=False,
    )
    shutdown = threading.Event()
    celery.obsapp_shutdown = shutdown  # type: ignore[attr-defined]

    @celery.task(name=TASK_NAME, ignore_result=True)
    def run_job(job_id: int) -> bool:
        worker_id = f"{worker.HOST}:{os.getpid()}:celery:{threading.current_thread().name}"
        ran = worker.execute(app, int(job_id), worker_id, shutdown)
        if not ran:
            log.info("Job %s: not waiting (done, or running elsewhere); message dropped", job_id)
        return ran

    return celery


def send(app: Flask, job_id: int, queue_name: str) -> None:
    """Send job ``job_id`` to its queue (after the commit that queued it)."""
    celery_for(app).send_task(TASK_NAME, args=[job_id], queue=queue_name, routing_key=queue_name,
                              retry=True, retry_policy={"max_retries": 3, "interval_start": 0,
                                                        "interval_step": 0.5, "interval_max": 2})


def republish_queued(app: Flask) -> int:
    """Send every queued job again (a worker does this when it starts): a message lost with a Redis restart,
    or never sent because Redis was away at the commit, is not waited for forever. Duplicates are dropped by
    the claim."""
    with app.app_context():
        rows = db.session.execute(select(Job.id, Job.kind, Job.args).where(Job.state == "queued")
                                  .order_by(Job.id)).all()
        targets = [(job_id, queue.queue_of(kind, args)) for job_id, kind, args in rows]
        db.session.rollback()
    for job_id, queue_name in targets:
        send(app, job_id, queue_name)
    return len(targets)


def waiting_messages(app: Flask) -> int:
    """How many messages wait in the job queues (sent, not yet reserved by a worker). Declares the queues
    (again, after a Redis that restarted empty), as a worker does."""
    celery = celery_for(app)
    with celery.connection_for_read() as connection:
        channel = connection.default_channel
        return sum(entity(channel).queue_declare().message_count for entity in celery.conf.task_queues)


def resend_lost(app: Flask, older_than: timedelta) -> int:
    """When the queues are empty but the table has jobs queued for longer than ``older_than``, their messages
    were lost (Redis restarted without persistence, or away when they were committed): send them again. Run
    by every celery worker with its sweep; a duplicate (a message reserved meanwhile) is dropped by the claim,
    and none pile up: nothing is sent while any message waits."""
    if waiting_messages(app):
        return 0
    with app.app_context():
        rows = db.session.execute(select(Job.id, Job.kind, Job.args).where(
            Job.state == "queued", Job.created_at < utcnow() - older_than).order_by(Job.id)).all()
        targets = [(job_id, queue.queue_of(kind, args)) for job_id, kind, args in rows]
        db.session.rollback()
    for job_id, queue_name in targets:
        send(app, job_id, queue_name)
    if targets:
        log.warning("Sent %s queued job(s) again: the queues were empty (messages lost)", len(targets))
    return len(targets)


def _resend_loop(app: Flask, stop: threading.Event) -> None:
    interval = worker.sweep_seconds(app)
    while not stop.wait(interval):
        try:
            resend_lost(app, timedelta(seconds=interval))
        except Exception:  # noqa: BLE001 - Redis or the database away for a moment: next round
            log.warning("checking for lost job messages failed", exc_info=True)


def run_worker(app: Flask, *, concurrency: int, queues: list[str], loglevel: str = "INFO") -> None:
    """``obsapp worker`` with the celery backend: a Celery worker on ``queues`` running ``concurrency`` jobs at
    once in threads (each job's work is ffmpeg processes; threads share the app and its sweep), plus the sweep
    every worker runs. Returns when the worker stops (SIGTERM/SIGINT: running jobs are stopped and queued
    again without using an attempt)."""
    celery = celery_for(app)
    shutdown: threading.Event = celery.obsapp_shutdown  # type: ignore[attr-defined]
    stop_sweeping = threading.Event()  # the sweep and the housekeeping chores

    def ready(**_kwargs) -> None:
        worker.start_sweeping(app, stop_sweeping)
        worker.start_housekeeping(app, stop_sweeping)
        threading.Thread(target=_resend_loop, args=(app, stop_sweeping), name="obsapp-job-resend",
                         daemon=True).start()
        try:
            log.info("Queued jobs sent again at start: %s", republish_queued(app))
        except Exception:  # noqa: BLE001 - Redis away for a moment: the sweep and later starts cover it
            log.exception("sending queued jobs again failed")

    def shutting_down(**_kwargs) -> None:
        shutdown.set()
        media_run.kill_all()  # the running jobs see it, go back to the queue and are sent again

    def stopped(**_kwargs) -> None:
        stop_sweeping.set()

    signals.worker_ready.connect(ready, weak=False)
    signals.worker_shutting_down.connect(shutting_down, weak=False)
    signals.worker_shutdown.connect(stopped, weak=False)
    try:
        celery.worker_main([
            "worker", "--pool=threads", f"--concurrency={max(1, concurrency)}", f"--queues={','.join(queues)}",
            f"--loglevel={loglevel}", f"--hostname=obsapp-{os.getpid()}@{socket.gethostname()}", "--without-gossip",
            "--without-mingle", "--without-heartbeat",
        ])
    finally:
        stop_sweeping.set()
        signals.worker_ready.disconnect(ready)
        signals.worker_shutting_down.disconnect(shutting_down)
        signals.worker_shutdown.disconnect(stopped)


queue.register_sender("celery", send)  # importing the backend plugs it into the queue (create_app imports it)
