"""JSON shapes of evidence reels."""

from __future__ import annotations

from flask import url_for

from obsapp.accounts.models import User
from obsapp.clips.serialize import reel_payload
from obsapp.evidence import services
from obsapp.evidence.models import EvidenceReel
from obsapp.extensions import db
from obsapp.frameworks.models import Criterion


def evidence_payload(evidence: EvidenceReel, actor: User) -> dict:
    criterion = db.session.get(Criterion, evidence.criterion_id) if evidence.criterion_id else None
    return {
        "id": evidence.id, "kind": evidence.kind,
        "teacher": {"id": evidence.teacher.id, "name": evidence.teacher.name},
        "criterion": {"id": criterion.id, "code": criterion.code, "name": criterion.name} if criterion else None,
        "from": evidence.from_date, "to": evidence.to_date,
        "reel": reel_payload(evidence.reel, actor),
        "clip_job_ids": services.clip_jobs(evidence),
        "page_url": url_for("clips.reel_page", reel_id=evidence.reel_id),
        "created_at": evidence.created_at,
    }
