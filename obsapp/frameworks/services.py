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


def _lines(node, path="", out=None) -> dict[str, int]:
    """Map paths like criteria[2].children[0] to 1-based line numbers, from a composed YAML node."""
    out = {} if out is None else out
    if node is None:
        return out
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _lines(value, f"{path}.{key.value}" if path else str(key.value), out)
    elif isinstance(node, yaml.SequenceNode):
        for n, value in enumerate(node.value):
            _lines(value, f"{path}[{n}]", out)
    return out


def parse_document(text: str) -> dict:
    """A framework from YAML or JSON text (JSON is YAML), with line-numbered errors."""
    try:
        node = yaml.compose(text)
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise InvalidInput(f"{where}the document is not valid YAML or JSON ({getattr(exc, 'problem', exc)}).",
                           fields={"document": [f"{where}{getattr(exc, 'problem', exc)}"]}) from exc
    if not isinstance(document, dict):
        raise InvalidInput("line 1: a framework is a mapping with slug, name and criteria.",
                           fields={"document": ["line 1: expected a mapping"]})
    _check(document, _lines(node))
    return document


def _check(document: dict, lines: dict[str, int] | None = None) -> None:
    lines = lines or {}
    problems = []

    def at(path: str) -> str:
        while path and path not in lines:
            path = path.rsplit(".", 1)[0] if "." in path else ""
        return f"line {lines[path]}: " if path in lines else ""

    for key in ("slug", "name", "criteria"):
        if not document.get(key):
            problems.append(f"{at(key)}'{key}' is missing")
    if document.get("slug") and not re.match(r"^[a-z0-9][a-z0-9-]{0,59}$", str(document["slug"])):
        problems.append(f"{at('slug')}slug must be lowercase letters, digits and dashes")
    seen_codes, seen_keys = set(), set()

    def walk(items, path):
        for n, item in enumerate(items or []):
            where = f"{path}[{n}]"
            if not isinstance(item, dict) or not item.get("code") or not item.get("name"):
                problems.append(f"{at(where)}criterion {n + 1} in {path} needs a code and a name")
                continue
            if item["code"] in seen_codes:
                problems.append(f"{at(where + '.code')}code {item['code']!r} is used twice")
            seen_codes.add(item["code"])
            if item.get("color") and not COLOR.match(str(item["color"])):
                problems.append(f"{at(where + '.color')}colour {item['color']!r} is not like #1e7d43")
            key = item.get("hotkey")
            if key is not None:
                if len(str(key)) != 1:
                    problems.append(f"{at(where + '.hotkey')}hotkey {key!r} must be one character")
                elif str(key) in seen_keys:
                    problems.append(f"{at(where + '.hotkey')}hotkey {key!r} is used twice")
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


def export_document(framework: Framework) -> dict:
    """The framework as the document that `create_from_document` reads (round-trips)."""
    children: dict[int | None, list[Criterion]] = {}
    for criterion in framework.criteria:
        children.setdefault(criterion.parent_id, []).append(criterion)

    def tree(parent_id):
        out = []
        for c in children.get(parent_id, []):
            item = {"code": c.code, "name": c.name, "color": c.color}
            if c.description:
                item["description"] = c.description
            if c.hotkey:
                item["hotkey"] = c.hotkey
            if children.get(c.id):
                item["children"] = tree(c.id)
            out.append(item)
        return out

    return {"slug": framework.slug, "name": framework.name, "version": framework.version,
            "description": framework.description, "criteria": tree(None)}


def import_framework(actor, text: str) -> Framework:
    from obsapp.accounts.services import require_admin

    require_admin(actor)
    framework = create_from_document(parse_document(text))
    db.session.commit()
    return framework


def update_framework(actor, framework: Framework, data: dict) -> Framework:
    from obsapp.accounts.models import utcnow
    from obsapp.accounts.services import require_admin

    require_admin(actor)
    if "name" in data:
        framework.name = data["name"]
    if "description" in data:
        framework.description = data["description"]
    if "retired" in data:
        framework.retired_at = (framework.retired_at or utcnow()) if data["retired"] else None
    db.session.commit()
    return framework
