"""The Alembic revisions in obsapp/migrations build exactly the schema the models describe, on the run's database
(SQLite, and PostgreSQL in make test's second run): nothing missing, no column of another type or nullability."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from obsapp.extensions import db


def test_the_migrated_database_matches_the_models(app):
    conn = db.session.connection()  # the test's own connection (see tests/conftest.py's _isolated)
    context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
    assert compare_metadata(context, db.metadata) == []


def test_the_database_is_at_the_single_head(app):
    from alembic.script import ScriptDirectory
    from flask import current_app

    config = current_app.extensions["migrate"].migrate.get_config()
    heads = ScriptDirectory.from_config(config).get_heads()
    current = MigrationContext.configure(db.session.connection()).get_current_heads()
    assert current == tuple(heads) and len(heads) == 1
