"""The ``obsapp`` command line (a Flask CLI group; ``flask --app obsapp`` works too)."""

from __future__ import annotations

import logging
import os
import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup, ScriptInfo, with_appcontext
from flask_migrate.cli import db as database_cli
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from obsapp.config import SettingsError
from obsapp.errors import ObsError

log = logging.getLogger(__name__)

users_cli = AppGroup("users", help="Manage accounts.")
tokens_cli = AppGroup("tokens", help="Manage API tokens.")
mentorships_cli = AppGroup("mentorships", help="Pair mentors with mentees.")
storage_cli = AppGroup("storage", help="The media store.")


def _fail(exc: ObsError) -> None:
    click.echo(f"Error: {exc.message}", err=True)
    sys.exit(1)


@click.command("init")
@with_appcontext
def init_command():
    """Create or migrate the database, the media store and the built-in data (safe to run again)."""
    from obsapp import setup

    report = setup.initialise(current_app)
    for line in report:
        click.echo(line)


@users_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="The person's name as others see it.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, help="At least 8 characters.")
@click.option("--admin", is_flag=True, help="Make the account an administrator.")
def users_create(email, name, password, admin):
    """Create an account."""
    from obsapp.accounts import services

    try:
        user = services.create_user(None, email=email, name=name, password=password, is_admin=admin)
    except ObsError as exc:
        _fail(exc)
    click.echo(f"Created {'administrator' if user.is_admin else 'user'} {user.email} (id {user.id}).")


@tokens_cli.command("create")
@click.argument("email")
@click.option("--name", "label", default="", help="A label to recognise the token by.")
def tokens_create(email, label):
    """Create an API token for EMAIL and print it (only the token, on stdout)."""
    from obsapp.accounts import services

    try:
        user = services.get_user_by_email(email)
        _, plain = services.create_token(None, user, label)
    except ObsError as exc:
        _fail(exc)
    click.echo(plain)


@mentorships_cli.command("create")
@click.argument("mentor_email")
@click.argument("mentee_email")
def mentorships_create(mentor_email, mentee_email):
    """Pair MENTOR_EMAIL (mentor) with MENTEE_EMAIL (mentee)."""
    from obsapp.accounts import services

    try:
        mentorship = services.create_mentorship(
            None, services.get_user_by_email(mentor_email), services.get_user_by_email(mentee_email))
    except ObsError as exc:
        _fail(exc)
    click.echo(f"{mentorship.mentor.name} now mentors {mentorship.mentee.name} (mentorship {mentorship.id}).")


@click.command("demo")
@click.option("--password", default="demo-password", show_default=True, help="Password for every demo account.")
@with_appcontext
def demo_command(password):
    """Load a small demo school: people, a mentorship and a generated lesson (safe to run again)."""
    from obsapp import demo

    for line in demo.load(current_app, password=password):
        click.echo(line)


@click.command("serve")
@click.option("--host", default=lambda: os.environ.get("OBSAPP_HOST", "127.0.0.1"), show_default="127.0.0.1")
@click.option("--port", default=lambda: int(os.environ.get("OBSAPP_PORT", "5000")), type=int, show_default="5000")
@click.option("--threads", type=int, default=None, help="Request threads (default: OBSAPP_SERVER_THREADS).")
@click.option("--no-jobs", is_flag=True, help="Do not run the embedded job worker (use `obsapp worker`).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Web processes on this port (more than 1 needs OBSAPP_REDIS_URL; Socket.IO is then WebSocket "
                   "only).")
@with_appcontext
def serve_command(host, port, threads, no_jobs, workers):
    """Serve the web app (gunicorn, threads; one process or --workers N) with its embedded job worker."""
    from obsapp.server import serve

    serve(current_app._get_current_object(), host=host, port=port,
          threads=threads or current_app.config["SERVER_THREADS"], run_jobs=not no_jobs, workers=workers)


@click.command("worker")
@click.option("--concurrency", "--workers", "concurrency", type=click.IntRange(min=1), default=None,
              help="Jobs run at once (default: OBSAPP_JOB_WORKERS).")
@click.option("--queues", default="heavy,light", show_default=True,
              help="With OBSAPP_JOB_BACKEND=celery: the queues this worker takes jobs from (heavy: ingest, face "
                   "blurring, reels; light: the rest).")
@with_appcontext
def worker_command(concurrency, queues):
    """Run jobs (ingest, clips, reels) apart from the web process, until stopped."""
    app = current_app._get_current_object()
    names = [name.strip().lower() for name in queues.split(",") if name.strip()]
    if not names or any(name not in ("heavy", "light") for name in names):
        raise click.BadParameter("use heavy, light or heavy,light", param_hint="--queues")
    if app.config["JOB_BACKEND"] == "celery":
        from obsapp.jobs.celery_backend import run_worker

        run_worker(app, concurrency=concurrency or app.config["JOB_WORKERS"], queues=names,
                   loglevel=app.config["LOG_LEVEL"])
        return
    if queues != "heavy,light":
        raise click.BadParameter("queues are those of the celery backend (OBSAPP_JOB_BACKEND=celery); the "
                                 "embedded worker takes every job", param_hint="--queues")
    from obsapp.jobs.worker import run_standalone

    run_standalone(app, workers=concurrency)


@click.command("copy")
@click.option("--to", "target", required=True, metavar="URL",
              help="The empty database to copy into, e.g. postgresql+psycopg://USER:PW@HOST:5432/DB.")
@with_appcontext
def db_copy_command(target):
    """Copy every row of this database into another, empty one (SQLite to PostgreSQL, or back)."""
    from obsapp import create_app
    from obsapp.dbcopy import copy_database

    copied = copy_database(current_app._get_current_object(), target, create_app, echo=click.echo)
    click.echo(f"Copied {sum(copied.values())} rows in {len(copied)} tables. Point OBSAPP_DATABASE_URL at the new "
               f"database to use it.")


@click.command("retention")
@click.option("--dry-run", is_flag=True, help="List what would be deleted; change nothing.")
@with_appcontext
def retention_command(dry_run):
    """Delete what is kept longer than the settings allow: lessons older than OBSAPP_RETENTION_DAYS (unless
    pinned by their owner) with every copy, originals older than OBSAPP_KEEP_ORIGINALS_DAYS, and audit entries older
    than OBSAPP_AUDIT_RETENTION_DAYS. The workers do this daily; each deletion is recorded in the audit."""
    from obsapp.privacy import erasure

    config = current_app.config
    if not (config["RETENTION_DAYS"] or config["KEEP_ORIGINALS_DAYS"] or config["AUDIT_RETENTION_DAYS"]):
        click.echo("No retention is configured (OBSAPP_RETENTION_DAYS, OBSAPP_KEEP_ORIGINALS_DAYS and "
                   "OBSAPP_AUDIT_RETENTION_DAYS are 0): nothing to do.")
        return
    plan = erasure.retention_plan()
    verb = "Would delete" if dry_run else "Deleted"
    for lesson in plan.lessons:
        click.echo(f"{verb} lesson {lesson.id} “{lesson.title}” (created {lesson.created_at:%Y-%m-%d}) "
                   "with every copy of its video")
    for lesson in plan.originals:
        click.echo(f"{verb} the original upload of lesson {lesson.id} “{lesson.title}”")
    if plan.audit_entries:
        click.echo(f"{verb} {plan.audit_entries} audit entries")
    for lesson in plan.warn:
        click.echo(f"Due within {erasure.WARNING_DAYS} days: lesson {lesson.id} “{lesson.title}” "
                   f"(created {lesson.created_at:%Y-%m-%d}); its owner can pin it to keep it")
    total = len(plan.lessons) + len(plan.originals) + (1 if plan.audit_entries else 0)
    if not total:
        click.echo("Nothing is past retention.")
    if dry_run:
        from obsapp import uow

        uow.rollback()
        return
    erasure.apply_retention(plan)


@storage_cli.command("migrate")
@click.option("--from", "source", metavar="FOLDER", default=None,
              help="The local media store folder to copy (default: OBSAPP_MEDIA_ROOT).")
@with_appcontext
def storage_migrate_command(source):
    """Copy a local media store folder into the bucket (OBSAPP_STORAGE=s3); safe to run again."""
    from obsapp.storage import S3Store, StorageError, media_store, migrate_local

    store = media_store()
    if not isinstance(store, S3Store):
        raise click.ClickException("Set OBSAPP_STORAGE=s3 and OBSAPP_S3_BUCKET (and the endpoint and credentials) "
                                   "first: the media is copied into that bucket.")
    folder = source or current_app.config["MEDIA_ROOT"]
    store.ensure_layout()
    try:
        report = migrate_local(folder, store, echo=click.echo)
    except (StorageError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Copied {report.copied} files ({report.bytes_copied} bytes) to {store.describe()}; "
               f"{report.already} were there already. Every copy was checked by size.")


# Flask-Migrate's `db` group (migrations: `obsapp db upgrade`, ...), reached through its entry point; obsapp adds
# its `copy` command to it.
database_cli.add_command(db_copy_command)

COMMANDS = (init_command, demo_command, serve_command, worker_command, users_cli, tokens_cli, mentorships_cli,
            retention_command, storage_cli)


def init_app(app: Flask) -> None:
    """For `flask --app obsapp ...`; the `obsapp` group carries them itself (listed even when the app
    cannot load)."""
    for command in COMMANDS:
        app.cli.add_command(command)


def _create_app():
    from obsapp import create_app

    return create_app()


def describe_failure(exc: BaseException) -> str:
    """One line for a person: what failed and, where we know, what to do about it."""
    if isinstance(exc, ObsError):
        text = exc.message
    elif isinstance(exc, SettingsError):
        text = str(exc)
    elif isinstance(exc, OperationalError):
        text = (f"The database could not be used ({exc.orig}). Check OBSAPP_DATABASE_URL, and that the database "
                f"server answers or the SQLite file's folder is writable.")
    elif isinstance(exc, SQLAlchemyError):
        text = f"Database error: {exc}. Check OBSAPP_DATABASE_URL."
    elif isinstance(exc, ImportError):
        text = (f"A module the settings need is not installed ({exc}); e.g. PostgreSQL needs "
                f"`pip install psycopg[binary]`.")
    elif isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        text = f"{exc.strerror or exc}{where}"
    else:
        text = (f"Unexpected error ({type(exc).__name__}: {exc}). Run again with OBSAPP_LOG_LEVEL=DEBUG "
                f"to see where it happened.")
    return " ".join(str(text).split())  # one line, whatever the message held


class ObsappGroup(FlaskGroup):
    """The Flask CLI group whose failures are one readable line on stderr and exit status 1, never a
    traceback: domain errors, bad settings, an unusable database, files and folders."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Abort, click.exceptions.Exit):
            raise
        except Exception as exc:  # noqa: BLE001 - every failure becomes one line
            log.debug("obsapp command failed", exc_info=exc)
            raise click.ClickException(describe_failure(exc)) from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        try:
            ctx.ensure_object(ScriptInfo).load_app()
        except Exception as exc:  # noqa: BLE001 - `obsapp --help` still lists what it can
            click.echo(f"Error: {describe_failure(exc)}", err=True)
            self._load_plugin_commands()
            return sorted(click.Group.list_commands(self, ctx))
        return super().list_commands(ctx)


@click.group(cls=ObsappGroup, create_app=_create_app, add_version_option=True, load_dotenv=False,
             set_debug_flag=False, help="obsapp: lesson observation and feedback.")
def main():
    """The ``obsapp`` console script."""


for _command in COMMANDS:
    main.add_command(_command)
