"""Transition only: the access rules live in ``obsapp.policy``; import them from there."""

from obsapp.policy import ACTIONS, Access, can, is_active_mentor, lesson_access, require

__all__ = ["ACTIONS", "Access", "can", "is_active_mentor", "lesson_access", "require"]
