"""``obsapp init``: the database at its newest revision, the media store's folders, built-in data."""

from __future__ import annotations

from flask import Flask
from flask_migrate import upgrade

from obsapp import migrations_dir
from obsapp.extensions import db
from obsapp.frameworks.services import load_builtins
from obsapp.storage import media_store


def initialise(app: Flask) -> list[str]:
    report = []
    upgrade(directory=migrations_dir())
    report.append(f"Database ready: {app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}")
    store = media_store()
    store.ensure_layout()
    report.append(f"Media store ready: {store.describe()}")
    for loader in builtin_data_loaders():
        report.extend(loader(app))
    db.session.commit()
    return report


def builtin_data_loaders() -> list:
    """Loaders of built-in data (teaching-practice frameworks, ...) added by the domains that own it."""
    return [load_builtins]
