"""Annotations as the API shows them, with the body rendered from Markdown safely."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

from obsapp import policy
from obsapp.accounts.models import User
from obsapp.annotations.models import Annotation, Reply

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def etag(annotation: Annotation) -> str:
    return f'"{annotation.id}-{annotation.version}"'


def render_markdown(text: str) -> str:
    """Markdown with raw HTML disabled, then sanitised (no scripts, no javascript: links)."""
    return nh3.clean(_markdown.render(text or ""), link_rel="noopener noreferrer nofollow",
                     url_schemes={"http", "https", "mailto"})


def criterion_payload(criterion) -> dict:
    return {"id": criterion.id, "code": criterion.code, "name": criterion.name, "color": criterion.color,
            "framework_slug": criterion.framework.slug}


def annotation_payload(annotation: Annotation, actor: User | None) -> dict:
    return {
        "id": annotation.id, "lesson_id": annotation.lesson_id, "author_id": annotation.author_id,
        "author": {"id": annotation.author.id, "name": annotation.author.name},
        "start_ms": annotation.start_ms, "end_ms": annotation.end_ms,
        "body": annotation.body, "body_html": render_markdown(annotation.body),
        "kind": annotation.kind, "rating": annotation.rating, "visibility": annotation.visibility,
        "criterion_ids": [c.id for c in annotation.criteria],
        "criteria": [criterion_payload(c) for c in annotation.criteria],
        "reply_count": len(annotation.replies), "hidden": annotation.hidden_at is not None,
        "can_edit": policy.can_edit_annotation(actor, annotation), "etag": etag(annotation),
        "created_at": annotation.created_at, "updated_at": annotation.updated_at,
    }


def reply_payload(reply: Reply) -> dict:
    return {"id": reply.id, "annotation_id": reply.annotation_id,
            "author": {"id": reply.author.id, "name": reply.author.name}, "body": reply.body,
            "body_html": render_markdown(reply.body), "created_at": reply.created_at}
