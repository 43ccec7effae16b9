"""The ``leader`` role: granted and taken back by administrators."""

from __future__ import annotations

from sqlalchemy import select

from obsapp import policy
from obsapp.accounts.models import User
from obsapp.errors import NotFound
from obsapp.evidence.models import SchoolLeader
from obsapp.extensions import db


def leaders(actor: User) -> list[SchoolLeader]:
    policy.require_admin(actor)
    return list(db.session.execute(select(SchoolLeader).join(User, User.id == SchoolLeader.user_id)
                                   .order_by(User.name, User.id)).scalars())


def grant(actor: User | None, user_id: int) -> tuple[SchoolLeader, bool]:
    """Make someone a school leader; (the row, whether it is new). Granting twice changes nothing."""
    policy.require_admin(actor)
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such person.")
    row = db.session.get(SchoolLeader, user.id)
    if row is not None:
        return row, False
    row = SchoolLeader(user_id=user.id, granted_by_id=actor.id if actor is not None else None)
    db.session.add(row)
    db.session.flush()
    return row, True


def revoke(actor: User | None, user_id: int) -> bool:
    """Take the role back; whether they had it."""
    policy.require_admin(actor)
    row = db.session.get(SchoolLeader, user_id)
    if row is None:
        return False
    db.session.delete(row)
    db.session.flush()
    return True


def payload(row: SchoolLeader) -> dict:
    return {"user": {"id": row.user.id, "name": row.user.name, "email": row.user.email},
            "granted_at": row.granted_at}
