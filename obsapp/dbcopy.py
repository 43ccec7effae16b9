"""``obsapp db copy --to URL``: every row of this install's database into another, empty one, at the same schema
revision: SQLite to PostgreSQL when a school moves to running at scale (docs/operations.md), or back.

The target is migrated to the newest revision first; the rows then go across table by table in foreign-key
order, in batches, inside one transaction on the target (a failure leaves it without rows), read from one
snapshot of the source. Ids are kept, so links, media keys and URLs stay valid; PostgreSQL's id sequences are
moved past the copied ids. Every table's count is checked on both sides before the copy commits.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import Integer, Table, false, func, inspect, select, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError

from obsapp import migrations_dir
from obsapp.errors import InvalidInput
from obsapp.extensions import db

BATCH_ROWS = 1000


def copy_database(app: Flask, target_url: str, make_app: Callable[[dict], Flask],
                  echo: Callable[[str], None] = print) -> dict[str, int]:
    """Copy ``app``'s database into the empty database at ``target_url``; answer the rows copied per table."""
    target_app = make_app({"DATABASE_URL": _checked_url(app, target_url), "INSTANCE_PATH": app.instance_path})
    with app.app_context():
        source: Engine = db.engine
        source_revision = _revision(source)
    with target_app.app_context():
        upgrade(directory=migrations_dir())
        target: Engine = db.engine
        if _revision(target) != source_revision:
            raise InvalidInput(f"This database is at schema revision {source_revision or 'none'}, the target at "
                               f"{_revision(target)}: run `obsapp init` on this install first, then copy again.")
        tables = [table for table in db.metadata.sorted_tables if table.name in inspect(target).get_table_names()]
        echo(f"Copying {len(tables)} tables into {make_url(target_url).render_as_string(hide_password=True)}")
        with _snapshot(source) as reading, target.begin() as writing:
            occupied = [table.name for table in tables if _count(writing, table)]
            if occupied:
                raise InvalidInput(f"The target database already holds obsapp data ({', '.join(occupied[:5])}): "
                                   f"copy into an empty database.")
            copied = {table.name: _copy_table(reading, writing, table) for table in tables}
            for table in tables:
                there = _count(writing, table)
                if there != copied[table.name]:
                    raise InvalidInput(f"{table.name}: {copied[table.name]} rows read but {there} in the target; "
                                       f"nothing was copied.")
                echo(f"  {table.name}: {there} rows")
            if writing.dialect.name == "postgresql":
                _move_sequences(writing, tables)
        target.dispose()
    return copied


def _checked_url(app: Flask, target_url: str) -> str:
    try:
        target = make_url(target_url)
    except ArgumentError as exc:
        raise InvalidInput(f"--to {target_url!r} is not a database URL (e.g. postgresql+psycopg://USER:PW@HOST/DB)."
                           ) from exc
    if target.get_backend_name() not in ("sqlite", "postgresql"):
        raise InvalidInput(f"--to: obsapp runs on SQLite or PostgreSQL, not {target.get_backend_name()}.")
    source = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if target.render_as_string(hide_password=False) == source.render_as_string(hide_password=False):
        raise InvalidInput("--to names this install's own database: give another, empty one.")
    return target.render_as_string(hide_password=False)


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if "alembic_version" not in inspect(conn).get_table_names():
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


class _snapshot:  # noqa: N801 - used as a context manager, like a function
    """One consistent read of the source: a read transaction (SQLite's WAL keeps its snapshot while writers go
    on); REPEATABLE READ on PostgreSQL."""

    def __init__(self, engine: Engine):
        options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
        self.conn = engine.connect().execution_options(**options)

    def __enter__(self) -> Connection:
        self.transaction = self.conn.begin()
        if self.conn.dialect.name == "sqlite":
            self.conn.exec_driver_sql("SELECT count(*) FROM sqlite_master")  # the snapshot starts at the first read
        return self.conn

    def __exit__(self, *exc) -> None:
        self.transaction.rollback()
        self.conn.close()


def _count(conn: Connection, table: Table) -> int:
    return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _copy_table(reading: Connection, writing: Connection, table: Table) -> int:
    order = list(table.primary_key.columns) or list(table.columns)
    rows = reading.execution_options(yield_per=BATCH_ROWS).execute(select(table).order_by(*order)).mappings()
    total = 0
    for batch in rows.partitions(BATCH_ROWS):
        writing.execute(table.insert(), [dict(row) for row in batch])
        total += len(batch)
    return total


def _move_sequences(conn: Connection, tables: list[Table]) -> None:
    """New rows on PostgreSQL get ids after the copied ones (the inserts gave the ids themselves)."""
    for table in tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, Integer):
            continue
        sequence = conn.execute(text("SELECT pg_get_serial_sequence(:table, :column)"),
                                {"table": table.name, "column": keys[0].name}).scalar()
        if sequence:
            after = func.coalesce(select(func.max(keys[0])).scalar_subquery(), 0) + 1
            conn.execute(select(func.setval(sequence, after, false())))
