"""Argon2id password hashing (argon2-cffi). Passwords are never stored or logged in clear."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app

_hashers: dict[tuple, PasswordHasher] = {}


def _hasher() -> PasswordHasher:
    # Tests use cheaper parameters (still Argon2id) so thousands of sign-ins stay fast.
    params = current_app.config.get("ARGON2_PARAMS") or {}
    key = tuple(sorted(params.items()))
    if key not in _hashers:
        _hashers[key] = PasswordHasher(**params)
    return _hashers[key]


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> tuple[bool, str | None]:
    """(matches, new hash if the stored one should be upgraded)."""
    hasher = _hasher()
    try:
        hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    return True, hasher.hash(password) if hasher.check_needs_rehash(password_hash) else None


_DUMMY: dict[tuple, str] = {}


def burn_time(password: str) -> None:
    """Spend the time a real verification would, so unknown emails are not revealed by timing."""
    hasher = _hasher()
    key = (hasher.time_cost, hasher.memory_cost)
    if key not in _DUMMY:
        _DUMMY[key] = hasher.hash("not-a-real-password")
    verify_password(_DUMMY[key], password)
