"""Frameworks: the built-in ones loaded from YAML by `obsapp init`, listing and reading."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from flask import Flask
from sqlalchemy import func, select

from obsapp.errors import InvalidInput, NotFound
from obsapp.extensions import db
from obsapp.frameworks.models import Criterion, Framework

DATA = Path(__file__).resolve().parent / "data"
BUILTINS = ("stp", "rosenshine")
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _check(document: dict) -> None:
    problems = []
    for key in ("slug", "name", "criteria"):
        if not document.get(key):
            problems.append(f"'{key}' is missing")
    seen_codes, seen_keys = set(), set()

    def walk(items, path):
        for n, item in enumerate(items or []):
            where = f"{path}[{n}]"
            if not isinstance(item, dict) or not item.get("code") or not item.get("name"):
                problems.append(f"{where} needs a code and a name")
                continue
            if item["code"] in seen_codes:
                problems.append(f"{where}: code {item['code']!r} is used twice")
            seen_codes.add(item["code"])
            if item.get("color") and not COLOR.match(str(item["color"])):
                problems.append(f"{where}: colour {item['color']!r} is not like #1e7d43")
            key = item.get("hotkey")
            if key is not None:
                if len(str(key)) != 1:
                    problems.append(f"{where}: hotkey {key!r} must be one character")
                elif str(key) in seen_keys:
                    problems.append(f"{where}: hotkey {key!r} is used twice")
                seen_keys.add(str(key))
            walk(item.get("children"), where + ".children")

    walk(document.get("criteria"), "criteria")
    if problems:
        raise InvalidInput("The framework is not valid: " + "; ".join(problems[:10]), fields={"document": problems})


def create_from_document(document: dict, *, builtin: bool = False) -> Framework:
    _check(document)
    latest = db.session.execute(select(func.max(Framework.version)).where(Framework.slug == document["slug"])
                                ).scalar_one()
    version = max(int(document.get("version") or 1), (latest or 0) + 1)
    framework = Framework(slug=document["slug"], name=document["name"], version=version,
                          description=document.get("description"), is_builtin=builtin)
    db.session.add(framework)
    position = 0

    def add(items, parent):
        nonlocal position
        for item in items or []:
            criterion = Criterion(framework=framework, code=str(item["code"]), name=item["name"],
                                  description=item.get("description"),
                                  color=item.get("color") or (parent.color if parent else "#6b6b6b"),
                                  hotkey=str(item["hotkey"]) if item.get("hotkey") is not None else None,
                                  position=position)
            position += 1
            if parent is not None:
                criterion.parent_id = parent.id  # the parent was flushed before its children
            db.session.add(criterion)
            db.session.flush()
            add(item.get("children"), criterion)

    add(document["criteria"], None)
    if latest:
        for older in db.session.execute(select(Framework).where(Framework.slug == framework.slug,
                                                                Framework.id != framework.id,
                                                                Framework.retired_at.is_(None))).scalars():
            from obsapp.accounts.models import utcnow

            older.retired_at = utcnow()  # superseded; its criteria stay readable for old annotations
    return framework


def load_builtins(app: Flask) -> list[str]:
    """Load each built-in framework whose slug is absent, or whose YAML version is newer (idempotent)."""
    lines = []
    for slug in BUILTINS:
        document = yaml.safe_load((DATA / f"{slug}.yaml").read_text())
        latest = db.session.execute(select(func.max(Framework.version)).where(Framework.slug == slug)).scalar_one()
        if latest is not None and latest >= int(document.get("version", 1)):
            continue
        create_from_document(document, builtin=True)
        lines.append(f"Loaded the {document['name']} framework")
    db.session.commit()
    return lines or ["Built-in frameworks are up to date"]


def list_frameworks(include_retired: bool = False) -> list[Framework]:
    stmt = select(Framework).order_by(Framework.name, Framework.version.desc())
    if not include_retired:
        stmt = stmt.where(Framework.retired_at.is_(None))
    return list(db.session.execute(stmt).scalars())


def get_framework(framework_id: int) -> Framework:
    framework = db.session.get(Framework, framework_id)
    if framework is None:
        raise NotFound("No such framework.")
    return framework


def criteria_by_id(ids: list[int]) -> dict[int, Criterion]:
    if not ids:
        return {}
    rows = db.session.execute(select(Criterion).where(Criterion.id.in_(ids))).scalars()
    return {c.id: c for c in rows}
