"""The policy module's shape: its lightweight tables name real tables and columns, it imports no domain module,
and nothing outside it decides access (the rules themselves: tests/accounts/test_permissions.py)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from obsapp import policy
from obsapp.extensions import db

PACKAGE = Path(policy.__file__).resolve().parent


@pytest.mark.parametrize("light", policy.TABLES, ids=lambda t: t.name)
def test_policy_tables_name_real_tables_and_columns(app, light):
    """Fails when a model's table or one of the columns the rules read is renamed."""
    real = db.metadata.tables.get(light.name)
    assert real is not None, f"no table {light.name!r} among the models"
    missing = [c.name for c in light.columns if c.name not in real.columns]
    assert missing == [], f"{light.name}: no column(s) {missing}"


def test_policy_imports_no_domain_module():
    """Every layer may import the policy, so it imports only the extensions, the errors and SQLAlchemy."""
    tree = ast.parse((PACKAGE / "policy.py").read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    ours = {name for name in imported if name.split(".")[0] == "obsapp"}
    assert ours <= {"obsapp.extensions", "obsapp.errors"}, ours
    assert all(name.split(".")[0] in {"obsapp", "sqlalchemy", "__future__", "collections", "enum", "typing"}
               for name in imported), imported


# Decisions spelled out where they do not belong: an admin flag or a visibility tested in a condition, an
# owner, author, creator or host compared with the acting user.
AD_HOC = [
    re.compile(r"^\s*(if|elif)\b.*(?<!policy)\.is_admin\b"),
    re.compile(r"\bnot\s+(?!policy\.)[\w.]+\.is_admin\b"),
    re.compile(r"\.visibility\s*[!=]=\s*\"private\""),
    re.compile(r"\b(owner_id|author_id|creator_id|host_id)\s*[!=]=\s*(actor|current_user|who|user)\.id\b"),
    re.compile(r"\b(actor|current_user|who|user)\.id\s*[!=]=\s*[\w.]*\b(owner_id|author_id|creator_id|host_id)\b"),
    re.compile(r"accounts\.permissions|accounts import permissions"),
]


# Comparisons that choose what to show, not who may see it (scopes such as "my clips", presentation, state).
NOT_ACCESS = {
    ("annotations/views.py", 'has_private = any(a.visibility == "private"'),  # offer the "with private notes" switch
    ("annotations/dashboard.py", ".where(Annotation.lesson_id.in_(ids), Annotation.author_id != actor.id, visible,"),  # new: by others
    ("annotations/dashboard.py", ".where(Annotation.lesson_id.in_(ids), Reply.author_id != actor.id, visible,"),  # new: by others
    ("clips/services.py", ".where(Clip.creator_id == actor.id, policy.lesson_filter("),  # "my clips", visible ones
    ("clips/views.py", "select(Reel).where(Reel.creator_id == current_user.id,"),  # "my reels", visible ones
    ("lessons/services.py", "stmt = stmt.where(Lesson.owner_id == actor.id)"),  # scope=mine
    ("lessons/services.py", "stmt = stmt.where(Lesson.owner_id != actor.id,"),  # scope=shared
    ("lessons/services.py", "if user.id == lesson.owner_id:"),  # no share with the owner themselves
    ("watch/services.py", "if removed.user.id == live.host_id and live.locked"),  # the host left: unlock
    ("watch/services.py", "p.user.id == author_id for p in store.participants"),  # a participant's note
    ("talk/calibration.py", "Annotation.author_id == actor.id,"),  # a coder's blind codes: their own private
    ("talk/calibration.py", 'Annotation.visibility == "private")'),  # annotations made since the exercise opened
}


def test_nothing_else_decides_access():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative in ("policy.py", "accounts/permissions.py") or relative.startswith("media/"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if any(pattern.search(line) for pattern in AD_HOC) and not any(
                    relative == file and snippet in line for file, snippet in NOT_ACCESS):
                found.append(f"{relative}:{number}: {line.strip()}")
    assert found == [], "access decided outside obsapp/policy.py:\n" + "\n".join(found)
