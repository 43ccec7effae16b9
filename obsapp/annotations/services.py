"""Annotation rules: who may see, write, edit, hide; validation; filters; replies."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from obsapp import policy, uow
from obsapp.accounts.models import User, utcnow
from obsapp.annotations import events
from obsapp.annotations.models import KINDS, VISIBILITIES, Annotation, Reply, annotation_criteria
from obsapp.annotations.serialize import annotation_payload, etag
from obsapp.errors import Conflict, InvalidInput, PreconditionFailed, PreconditionRequired
from obsapp.extensions import db
from obsapp.frameworks import services as frameworks
from obsapp.frameworks.models import Criterion, Framework
from obsapp.lessons.models import Lesson

MAX_BODY = 20000


def visible_filter(actor: User, lesson: Lesson):
    """Shared ones, plus the actor's own private ones; hidden ones only for the owner and their author."""
    return policy.annotation_filter(actor, lesson, author_id=Annotation.author_id,
                                    visibility=Annotation.visibility, hidden_at=Annotation.hidden_at)


def _event_payload(annotation: Annotation) -> dict:
    return annotation_payload(annotation, None)


def _publish(lesson_id: int, event: str, annotation: Annotation) -> None:
    """Tell subscribers once the change is saved (the payload is read now, while the session is open)."""
    uow.after_commit(events.publish, lesson_id, event, _event_payload(annotation))


def get_annotation(actor: User, annotation_id: int) -> Annotation:
    annotation = db.session.get(Annotation, annotation_id)
    lesson = db.session.get(Lesson, annotation.lesson_id) if annotation is not None else None
    return policy.require_annotation(actor, annotation, lesson)


def _validate(lesson: Lesson, data: dict, current: Annotation | None = None) -> dict:
    if lesson.duration_ms is None or lesson.status != "ready":
        raise Conflict("The lesson's video is not ready yet, so there is no timeline to annotate.", code="not_ready")
    start = data.get("start_ms", current.start_ms if current else None)
    end = data.get("end_ms", current.end_ms if current else None) if ("end_ms" in data or current) else None
    if start is None:
        raise InvalidInput("start_ms is required.", fields={"start_ms": ["Required."]})
    if not 0 <= start <= lesson.duration_ms:
        raise InvalidInput(f"start_ms must be between 0 and the lesson's duration ({lesson.duration_ms} ms).",
                           fields={"start_ms": ["Outside the lesson."]})
    if end is not None and not start < end <= lesson.duration_ms:
        raise InvalidInput("end_ms must be after start_ms and within the lesson.", fields={"end_ms": ["Out of range."]})
    if "kind" in data and data["kind"] not in KINDS:
        raise InvalidInput(f"kind is one of {', '.join(KINDS)}.", fields={"kind": ["Not a kind."]})
    if "visibility" in data and data["visibility"] not in VISIBILITIES:
        raise InvalidInput("visibility is shared or private.", fields={"visibility": ["Not valid."]})
    if data.get("rating") is not None and not 1 <= data["rating"] <= 4:
        raise InvalidInput("rating is from 1 to 4.", fields={"rating": ["From 1 to 4."]})
    if len(data.get("body") or "") > MAX_BODY:
        raise InvalidInput(f"The comment is longer than {MAX_BODY} characters.", fields={"body": ["Too long."]})
    out = {k: v for k, v in data.items() if k in ("start_ms", "end_ms", "body", "kind", "rating", "visibility")}
    if "criterion_ids" in data:
        ids = list(dict.fromkeys(data["criterion_ids"] or []))
        found = frameworks.criteria_by_id(ids)
        missing = [i for i in ids if i not in found or (found[i].framework.retired_at is not None
                                                          and (current is None or found[i] not in current.criteria))]
        if missing:
            raise InvalidInput(f"Unknown criteria: {', '.join(map(str, missing))}.",
                               fields={"criterion_ids": [f"No criterion {i}." for i in missing]})
        out["criteria"] = [found[i] for i in ids]
    return out


def create(actor: User, lesson: Lesson, data: dict) -> Annotation:
    policy.require(actor, "comment", lesson)
    if "kind" not in data:
        raise InvalidInput("kind is required.", fields={"kind": ["Required."]})
    fields = _validate(lesson, data)
    annotation = Annotation(lesson_id=lesson.id, author_id=actor.id, body=fields.pop("body", "") or "",
                            criteria=fields.pop("criteria", []), **fields)
    db.session.add(annotation)
    db.session.flush()
    _publish(lesson.id, "annotation.created", annotation)
    return annotation


def update(actor: User, annotation: Annotation, data: dict, if_match: str | None) -> Annotation:
    policy.require_annotation_author(actor, annotation, "change")
    if not if_match:
        raise PreconditionRequired("Send If-Match with the annotation's ETag (from your last GET).")
    if if_match.strip() not in (etag(annotation), f"W/{etag(annotation)}", "*"):
        raise PreconditionFailed("Someone changed this annotation since you loaded it. Reload it and try again.",
                                 headers={"ETag": etag(annotation)})
    lesson = db.session.get(Lesson, annotation.lesson_id)
    fields = _validate(lesson, data, current=annotation)
    for key, value in fields.items():
        setattr(annotation, key, value if key != "body" else (value or ""))
    annotation.version += 1
    annotation.updated_at = utcnow()
    _flush_version(PreconditionFailed("Someone changed this annotation since you loaded it. Reload it and try "
                                      "again."))
    _publish(lesson.id, "annotation.updated", annotation)
    return annotation


def delete(actor: User, annotation: Annotation) -> None:
    policy.require_annotation_author(actor, annotation, "delete")
    lesson_id, payload = annotation.lesson_id, _event_payload(annotation)
    db.session.delete(annotation)
    _flush_version(Conflict("Someone changed this annotation meanwhile. Reload it and try again."))
    uow.after_commit(events.publish, lesson_id, "annotation.deleted", payload)


def set_hidden(actor: User, annotation: Annotation, hidden: bool) -> Annotation:
    lesson = db.session.get(Lesson, annotation.lesson_id)
    policy.require_can_hide(actor, lesson)
    annotation.hidden_at = utcnow() if hidden else None
    annotation.hidden_by_id = actor.id if hidden else None
    annotation.version += 1
    _flush_version(Conflict("Someone changed this annotation meanwhile. Reload it and try again."))
    return annotation


def _flush_version(error: Exception) -> None:
    """Flush a change of an annotation; another transaction that changed it first (its version) wins: `error`."""
    try:
        db.session.flush()
    except StaleDataError as exc:
        raise error from exc


def query(actor: User, lesson: Lesson, args: dict, *, with_replies: bool = True):
    policy.require(actor, "view", lesson)
    stmt = select(Annotation).where(Annotation.lesson_id == lesson.id, visible_filter(actor, lesson))
    if args.get("criterion_id"):
        stmt = stmt.where(Annotation.id.in_(select(annotation_criteria.c.annotation_id).where(
            annotation_criteria.c.criterion_id.in_(args["criterion_id"]))))
    if args.get("kind"):
        stmt = stmt.where(Annotation.kind.in_(args["kind"]))
    if args.get("author_id"):
        stmt = stmt.where(Annotation.author_id == args["author_id"])
    if args.get("from_ms") is not None:
        stmt = stmt.where(func.coalesce(Annotation.end_ms, Annotation.start_ms) >= args["from_ms"])
    if args.get("to_ms") is not None:
        stmt = stmt.where(Annotation.start_ms <= args["to_ms"])
    if args.get("q"):
        # lower() on both sides: case-insensitive on SQLite and PostgreSQL alike; % and _ are searched literally
        stmt = stmt.where(func.lower(Annotation.body).contains(args["q"].lower(), autoescape=True))
    # Load what the payloads and exports read in a few queries, not one per annotation.
    options = [selectinload(Annotation.author), selectinload(Annotation.criteria).joinedload(Criterion.framework)]
    if with_replies:
        options.append(selectinload(Annotation.replies).selectinload(Reply.author))
    return stmt.order_by(Annotation.start_ms, Annotation.id).options(*options)


def visible_annotations(actor: User, lesson: Lesson, *, shared_only: bool = False,
                        with_replies: bool = False) -> list[Annotation]:
    """Everything ``actor`` may see on the lesson, by time; ``shared_only`` leaves out their private ones."""
    stmt = query(actor, lesson, {}, with_replies=with_replies)
    if shared_only:
        stmt = stmt.where(Annotation.visibility == "shared")
    return list(db.session.execute(stmt).scalars())


def replies(actor: User, annotation: Annotation) -> list[Reply]:
    return list(annotation.replies)


def add_reply(actor: User, annotation: Annotation, body: str) -> Reply:
    lesson = db.session.get(Lesson, annotation.lesson_id)
    policy.require(actor, "comment", lesson)
    body = (body or "").strip()
    if not body:
        raise InvalidInput("Write something to reply.", fields={"body": ["Required."]})
    if len(body) > MAX_BODY:
        raise InvalidInput(f"The reply is longer than {MAX_BODY} characters.", fields={"body": ["Too long."]})
    reply = Reply(annotation_id=annotation.id, author_id=actor.id, body=body)
    db.session.add(reply)
    db.session.flush()
    _publish(lesson.id, "annotation.replied", annotation)
    return reply


def import_records(actor: User, lesson: Lesson, records: list[dict]) -> int:
    """Validate every record first; add all of them in one transaction, or none (line-level errors)."""
    policy.require(actor, "comment", lesson)
    active = db.session.execute(select(Criterion).join(Framework).where(Framework.retired_at.is_(None))).scalars()
    by_code, by_name = {}, {}
    for criterion in active:
        by_code[(criterion.framework.slug, criterion.code)] = criterion
        by_name.setdefault(criterion.name.lower(), criterion)
    errors, rows = [], []
    for record in records:
        criteria = []
        for ref in record["criteria"]:
            found = by_code.get(tuple(ref)) if isinstance(ref, tuple) else by_name.get(str(ref).lower())
            if found is None:
                errors.append(f"{record['line']}: unknown criterion {':'.join(ref) if isinstance(ref, tuple) else ref}")
            else:
                criteria.append(found.id)
        data = {k: record[k] for k in ("start_ms", "end_ms", "kind", "body", "rating", "visibility")}
        data["criterion_ids"] = criteria
        try:
            fields = _validate(lesson, data)
        except (InvalidInput, Conflict) as exc:
            errors.append(f"{record['line']}: {exc.message}")
            continue
        rows.append(fields)
    if errors:
        raise InvalidInput("Nothing was imported: " + "; ".join(errors[:5]) + (" …" if len(errors) > 5 else ""),
                           code="import_failed", fields={"file": errors})
    if not rows:
        raise InvalidInput("The file has no annotations to import.", code="import_failed")
    for fields in rows:
        db.session.add(Annotation(lesson_id=lesson.id, author_id=actor.id, body=fields.pop("body", "") or "",
                                  criteria=fields.pop("criteria", []), **fields))
    db.session.flush()
    return len(rows)
