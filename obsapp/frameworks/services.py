"""Frameworks: the built-in ones loaded from YAML by `obsapp init`, listing and reading."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from flask import Flask
from sqlalchemy import func, select

from obsapp import policy
from obsapp.accounts.models import utcnow
from obsapp.accounts.services import require_admin
from obsapp.errors import Conflict, Forbidden, InvalidInput, NotFound
from obsapp.extensions import db
from obsapp.frameworks.models import Criterion, Framework, LessonFramework
from obsapp.schemas import INT_MAX

DATA = Path(__file__).resolve().parent / "data"
BUILTINS = ("stp", "rosenshine")
MAX_NAME, MAX_CODE = 200, 40  # Framework.name and Criterion.name, Criterion.code
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
# Hotkeys are one lowercase letter or digit. The lesson and watch pages keep their own keys: J, K and L (back,
# play/pause, forward), A (add an annotation), I and O (start and end of a span), F (flag a moment).
HOTKEY = re.compile(r"^[a-z0-9]$")
RESERVED_KEYS = frozenset("afijklo")


def hotkey_problem(key) -> str | None:
    """Why ``key`` can't be a criterion's hotkey, or None when it can."""
    key = str(key)
    if not HOTKEY.match(key):
        return (f"hotkey {key!r} must be one lowercase letter or digit" + (
            " (Space, the arrow keys and ? stay with the page: Space plays, ? shows the keys)"
            if key.strip() in ("", "?") or key.startswith("Arrow") else ""))
    if key in RESERVED_KEYS:
        return (f"hotkey {key!r} is taken by the player (J, K and L move through the video; A adds an annotation, "
                "I and O mark a span, F flags a moment)")
    return None


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
    # the columns' own limits (PostgreSQL enforces VARCHAR(n) and INTEGER where SQLite does not)
    if len(str(document.get("name") or "")) > MAX_NAME:
        problems.append(f"{at('name')}name is longer than {MAX_NAME} characters")
    if document.get("version") is not None and _version(document["version"]) is None:
        problems.append(f"{at('version')}version must be a whole number from 1 to {INT_MAX}")
    seen_codes, seen_keys = set(), set()

    def walk(items, path):
        for n, item in enumerate(items or []):
            where = f"{path}[{n}]"
            if not isinstance(item, dict) or not item.get("code") or not item.get("name"):
                problems.append(f"{at(where)}criterion {n + 1} in {path} needs a code and a name")
                continue
            if len(str(item["code"])) > MAX_CODE or len(str(item["name"])) > MAX_NAME:
                problems.append(f"{at(where)}criterion {n + 1} in {path}: its code is at most {MAX_CODE} characters "
                                f"and its name at most {MAX_NAME}")
            if item["code"] in seen_codes:
                problems.append(f"{at(where + '.code')}code {item['code']!r} is used twice")
            seen_codes.add(item["code"])
            if item.get("color") and not COLOR.match(str(item["color"])):
                problems.append(f"{at(where + '.color')}colour {item['color']!r} is not like #1e7d43")
            key = item.get("hotkey")
            if key is not None:
                if problem := hotkey_problem(key):
                    problems.append(f"{at(where + '.hotkey')}{problem}")
                elif str(key) in seen_keys:
                    problems.append(f"{at(where + '.hotkey')}hotkey {key!r} is used twice")
                seen_keys.add(str(key))
            walk(item.get("children"), where + ".children")

    walk(document.get("criteria"), "criteria")
    if problems:
        raise InvalidInput("The framework is not valid: " + "; ".join(problems[:10]), fields={"document": problems})


def _version(value) -> int | None:
    """A document's version as a whole number the column holds, or None."""
    try:
        version = int(str(value))
    except ValueError:
        return None
    return version if 1 <= version <= INT_MAX else None


def _text(value) -> str | None:
    """YAML may give a number or a date where text was meant: it is stored as its text, alike on every database."""
    return None if value is None else str(value)


def create_from_document(document: dict, *, builtin: bool = False) -> Framework:
    _check(document)
    latest = db.session.execute(select(func.max(Framework.version)).where(Framework.slug == document["slug"])
                                ).scalar_one()
    version = max(_version(document.get("version") or 1), (latest or 0) + 1)
    framework = Framework(slug=str(document["slug"]), name=str(document["name"]), version=version,
                          description=_text(document.get("description")), is_builtin=builtin)
    db.session.add(framework)
    position = 0

    def add(items, parent):
        nonlocal position
        for item in items or []:
            criterion = Criterion(framework=framework, code=str(item["code"]), name=str(item["name"]),
                                  description=_text(item.get("description")),
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
    db.session.flush()
    return lines or ["Built-in frameworks are up to date"]


def list_frameworks(include_retired: bool = False) -> list[Framework]:
    stmt = select(Framework).order_by(Framework.name, Framework.version.desc(), Framework.id)
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
    require_admin(actor)
    framework = create_from_document(parse_document(text))
    db.session.flush()
    return framework


def update_framework(actor, framework: Framework, data: dict) -> Framework:
    require_admin(actor)
    if "name" in data:
        framework.name = data["name"]
    if "description" in data:
        framework.description = data["description"]
    if "retired" in data:
        framework.retired_at = (framework.retired_at or utcnow()) if data["retired"] else None
    db.session.flush()
    return framework


def get_criterion(framework: Framework, criterion_id: int) -> Criterion:
    criterion = db.session.get(Criterion, criterion_id)
    if criterion is None or criterion.framework_id != framework.id:
        raise NotFound("No such criterion in this framework.")
    return criterion


def update_criterion(actor, criterion: Criterion, data: dict) -> Criterion:
    """Change a criterion's name, description, colour or hotkey (admin). Codes stay, so exports still match."""
    require_admin(actor)
    _apply_criterion(criterion, data)
    db.session.flush()
    return criterion


def _apply_criterion(criterion: Criterion, data: dict) -> None:
    if "name" in data:
        name = (data["name"] or "").strip()
        if not name:
            raise InvalidInput("A criterion needs a name.", fields={"name": ["Give the criterion a name."]})
        criterion.name = name
    if "description" in data:
        criterion.description = (data["description"] or "").strip() or None
    if "color" in data:
        if not COLOR.match(data["color"] or ""):
            raise InvalidInput(f"Colour {data['color']!r} is not like #1e7d43.",
                               fields={"color": ["Use a colour like #1e7d43."]})
        criterion.color = data["color"].lower()
    if "hotkey" in data:
        key = (data["hotkey"] or "").strip().lower() or None
        if key is not None:
            if problem := hotkey_problem(key):
                raise InvalidInput(problem[0].upper() + problem[1:] + ".", fields={"hotkey": [problem]})
            clash = db.session.execute(select(Criterion).where(
                Criterion.framework_id == criterion.framework_id, Criterion.hotkey == key,
                Criterion.id != criterion.id)).scalars().first()
            if clash is not None:
                raise Conflict(f"Hotkey {key!r} already tags {clash.code} {clash.name}.",
                               fields={"hotkey": [f"already used by {clash.code} {clash.name}"]})
        criterion.hotkey = key


def update_criteria(actor, framework: Framework, changes: dict[int, dict]) -> Framework:
    """Apply several criteria edits at once (the admin page's one form): all or nothing.

    Hotkeys are checked against the framework as it will be after every change, so two criteria can swap keys.
    """

    require_admin(actor)
    by_id = {c.id: c for c in framework.criteria}
    unknown = [cid for cid in changes if cid not in by_id]
    if unknown:
        raise NotFound("No such criterion in this framework.")
    problems: dict[str, list[str]] = {}
    with db.session.no_autoflush:
        for cid, data in changes.items():
            try:
                _apply_criterion(by_id[cid], {k: v for k, v in data.items() if k != "hotkey"})
                if "hotkey" in data:
                    key = (data["hotkey"] or "").strip().lower() or None
                    if key is not None and (problem := hotkey_problem(key)):
                        raise InvalidInput(problem, fields={"hotkey": [problem]})
                    by_id[cid].hotkey = key
            except InvalidInput as exc:
                for messages in (exc.fields or {"": [exc.message]}).values():
                    problems.setdefault(f"{by_id[cid].code}", []).extend(messages)
        seen: dict[str, Criterion] = {}
        for criterion in framework.criteria:
            if criterion.hotkey is None:
                continue
            if criterion.hotkey in seen:
                other = seen[criterion.hotkey]
                problems.setdefault(criterion.code, []).append(
                    f"hotkey {criterion.hotkey!r} is also used by {other.code} {other.name}")
            seen[criterion.hotkey] = criterion
    if problems:
        summary = "; ".join(f"{code}: {', '.join(msgs)}" for code, msgs in problems.items())
        raise InvalidInput(f"Nothing was saved. {summary}.", fields=problems)
    db.session.flush()
    return framework


# Frameworks offered on a lesson ---------------------------------------------------------------------------

def current_by_slug(slugs: list[str]) -> dict[str, Framework]:
    """The newest active version of each slug (a re-imported framework replaces its older version)."""
    if not slugs:
        return {}
    rows = db.session.execute(select(Framework).where(Framework.slug.in_(slugs), Framework.retired_at.is_(None))
                              .order_by(Framework.version)).scalars()
    return {f.slug: f for f in rows}


def offered_frameworks(lesson) -> tuple[list[Framework], bool]:
    """The frameworks whose criteria a lesson offers, and whether that is the default (every active one)."""
    slugs = list(db.session.execute(select(LessonFramework.slug).where(LessonFramework.lesson_id == lesson.id)
                                    .order_by(LessonFramework.position)).scalars())
    if not slugs:
        return list_frameworks(), True
    current = current_by_slug(slugs)
    chosen = [current[s] for s in slugs if s in current]
    return (chosen, False) if chosen else (list_frameworks(), True)


def can_choose_frameworks(actor, lesson) -> bool:
    """The lesson's owner, or one of the owner's active mentors, chooses what the lesson offers."""
    return policy.can_choose_frameworks(actor, lesson)


def set_offered_frameworks(actor, lesson, framework_ids: list[int] | None) -> None:
    """Offer these frameworks on the lesson, in this order; ``None`` goes back to the default."""
    if not can_choose_frameworks(actor, lesson):
        raise Forbidden("Only the teacher or their mentor can choose the lesson's frameworks.")
    slugs: list[str] = []
    if framework_ids is not None:
        if not framework_ids:
            raise InvalidInput("Choose at least one framework.",
                               fields={"framework_ids": ["Choose at least one framework."]})
        found = {f.id: f for f in db.session.execute(select(Framework).where(Framework.id.in_(framework_ids)))
                 .scalars()}
        missing = [i for i in framework_ids if i not in found or found[i].retired_at is not None]
        if missing:
            raise InvalidInput(f"No active framework with id {', '.join(map(str, missing))}.",
                               fields={"framework_ids": [f"{i} is not an active framework" for i in missing]})
        slugs = list(dict.fromkeys(found[i].slug for i in framework_ids))
    db.session.execute(LessonFramework.__table__.delete().where(LessonFramework.lesson_id == lesson.id))
    if slugs:
        db.session.add_all(LessonFramework(lesson_id=lesson.id, slug=s, position=n) for n, s in enumerate(slugs))
    db.session.flush()


# The field-by-field builder (admin pages) -----------------------------------------------------------------
# A builder document is two levels deep: processes (the top-level criteria: areas of practice) and the
# criteria under each. A process without criteria is a criterion itself (a flat framework like Rosenshine's).
# Saving makes a new framework, or a new version of the one edited: the old version is retired and keeps its
# criteria, so feedback, goals and models tagged with a criterion that was removed or changed keep it.

BUILDER_TEXT_FIELDS = ("code", "name", "description", "hotkey", "color")


def builder_document(framework: Framework) -> dict:
    """The framework as the builder's processes and criteria, each criterion with the id it had (``from_id``)."""
    by_parent: dict[int | None, list[Criterion]] = {}
    for criterion in framework.criteria:
        by_parent.setdefault(criterion.parent_id, []).append(criterion)
    if any(by_parent.get(c.id) for top in by_parent.get(None, []) for c in by_parent.get(top.id, [])):
        raise InvalidInput("This framework has criteria three levels deep: edit it as YAML (export, then import).")

    def item(c: Criterion) -> dict:
        return {"code": c.code, "name": c.name, "description": c.description or "", "hotkey": c.hotkey or "",
                "color": c.color, "from_id": c.id}

    return {"slug": framework.slug, "name": framework.name, "description": framework.description or "",
            "processes": [{**item(top), "criteria": [item(c) for c in by_parent.get(top.id, [])]}
                          for top in by_parent.get(None, [])]}


def new_builder_document() -> dict:
    return {"slug": "", "name": "", "description": "", "processes": [
        {"code": "", "name": "", "description": "", "hotkey": "", "color": "#1e7d43", "from_id": None,
         "criteria": [blank_criterion()]}]}


def blank_criterion() -> dict:
    return {"code": "", "name": "", "description": "", "hotkey": "", "color": "", "from_id": None}


def builder_problems(document: dict, *, editing: Framework | None = None) -> dict[str, str]:
    """What stops the builder's document being saved, by field: ``name``, ``slug``, ``p0-name``, ``p0-c2-hotkey``…

    Hotkeys go through ``hotkey_problem``, the rule imports and criterion edits use."""
    problems: dict[str, str] = {}
    name = document.get("name", "").strip()
    if not name:
        problems["name"] = "Give the framework a name."
    elif len(name) > MAX_NAME:
        problems["name"] = f"The name is longer than {MAX_NAME} characters."
    if editing is None:
        slug = document.get("slug", "").strip()
        if not slug:
            problems["slug"] = "Give the framework a short id, like school-rubric."
        elif not re.match(r"^[a-z0-9][a-z0-9-]{0,59}$", slug):
            problems["slug"] = "Use lowercase letters, digits and dashes (at most 60), like school-rubric."
        elif db.session.execute(select(Framework.id).where(Framework.slug == slug)).first():
            problems["slug"] = f"A framework with the id {slug!r} exists: edit it instead, or choose another id."
    processes = document.get("processes") or []
    if not processes:
        problems["processes"] = "Add at least one process."
    codes: dict[str, str] = {}
    keys: dict[str, str] = {}

    def check(item: dict, field: str, what: str) -> None:
        code = item.get("code", "").strip()
        if not code:
            problems[f"{field}-code"] = f"Give {what} a code."
        elif len(code) > MAX_CODE:
            problems[f"{field}-code"] = f"A code is at most {MAX_CODE} characters."
        elif code in codes:
            problems[f"{field}-code"] = f"The code {code} is already used by {codes[code]}."
        else:
            codes[code] = f"{what}"
        if not item.get("name", "").strip():
            problems[f"{field}-name"] = f"Give {what} a name."
        elif len(item["name"].strip()) > MAX_NAME:
            problems[f"{field}-name"] = f"A name is at most {MAX_NAME} characters."
        raw = item.get("hotkey", "")
        key = raw.strip().lower() or raw[:1]  # a space typed as the key is the page's play/pause, not "no key"
        if key:
            if problem := hotkey_problem(key):
                problems[f"{field}-hotkey"] = problem[0].upper() + problem[1:] + "."
            elif key in keys:
                problems[f"{field}-hotkey"] = f"Hotkey {key!r} is already used by {keys[key]}."
            else:
                keys[key] = what
        if item.get("color") and not COLOR.match(item["color"]):
            problems[f"{field}-color"] = "Use a colour like #1e7d43."

    for p, process in enumerate(processes):
        check(process, f"p{p}", f"process {p + 1}")
        for n, criterion in enumerate(process.get("criteria") or []):
            check(criterion, f"p{p}-c{n}", f"criterion {n + 1} of process {p + 1}")
    return problems


def to_import_document(document: dict, slug: str) -> dict:
    """The builder's document as the document ``create_from_document`` reads."""
    def item(source: dict, parent_color: str | None) -> dict:
        out = {"code": source["code"].strip(), "name": source["name"].strip()}
        if source.get("description", "").strip():
            out["description"] = source["description"].strip()
        if source.get("hotkey", "").strip():
            out["hotkey"] = source["hotkey"].strip().lower()
        color = source.get("color") or parent_color
        if color:
            out["color"] = color.lower()
        return out

    criteria = []
    for process in document["processes"]:
        top = item(process, None)
        if process.get("criteria"):
            top["children"] = [item(c, top.get("color")) for c in process["criteria"]]
        criteria.append(top)
    return {"slug": slug, "name": document["name"].strip(),
            "description": document.get("description", "").strip() or None, "criteria": criteria}


def criteria_usage(framework: Framework) -> dict[int, int]:
    """How many annotations, goals and other records each of the framework's criteria tags (by criterion id)."""
    ids = [c.id for c in framework.criteria]
    usage: dict[int, int] = {}
    if not ids:
        return usage
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if table.name == Criterion.__tablename__ or not any(
                    fk.column.table.name == Criterion.__tablename__ for fk in column.foreign_keys):
                continue
            rows = db.session.execute(select(column, func.count()).where(column.in_(ids)).group_by(column))
            for criterion_id, count in rows:
                usage[criterion_id] = usage.get(criterion_id, 0) + count
    return usage


def save_built_framework(actor, document: dict, editing: Framework | None = None) -> Framework:
    """Save the builder's document: a new framework, or a new version of ``editing`` (the old one is retired and
    keeps its criteria for what they tag). All or nothing."""
    require_admin(actor)
    if editing is not None:
        latest = db.session.execute(select(func.max(Framework.version)).where(Framework.slug == editing.slug)
                                    ).scalar_one()
        if editing.retired_at is not None or editing.version != latest:
            raise Conflict(f"{editing.name} v{editing.version} is not the current version: open the current one.")
    problems = builder_problems(document, editing=editing)
    if problems:
        raise InvalidInput("Nothing was saved: " + " ".join(problems.values()), fields={k: [v] for k, v in
                                                                                        problems.items()})
    framework = create_from_document(to_import_document(document, editing.slug if editing else
                                                        document["slug"].strip()))
    db.session.flush()
    return framework
