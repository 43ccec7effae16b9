"""obsapp.media stays pure: no web framework, no database, ffmpeg only via run.py."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import obsapp.media

MEDIA_DIR = Path(obsapp.media.__file__).resolve().parent
MODULES = sorted(p.stem for p in MEDIA_DIR.glob("*.py") if p.stem != "__init__")


def test_expected_modules_exist():
    assert {"run", "probe", "transcode", "frames", "audio", "ingest"} <= set(MODULES)


def test_importing_every_module_pulls_in_no_flask_or_sqlalchemy():
    # obsapp/__init__.py is the Flask app factory, so the parent package is
    # replaced by a bare namespace: this checks what obsapp.media itself imports.
    names = ["obsapp.media"] + [f"obsapp.media.{m}" for m in MODULES]
    code = (
        "import importlib, sys, types\n"
        "parent = types.ModuleType('obsapp')\n"
        f"parent.__path__ = [{str(MEDIA_DIR.parent)!r}]\n"
        "sys.modules['obsapp'] = parent\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "assert sys.modules['obsapp.media.run'].__file__.startswith(parent.__path__[0])\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'flask_sqlalchemy'))\n"
        "print(','.join(bad))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def _imported_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_run_py_starts_processes():
    for module in MODULES:
        names = _imported_names(MEDIA_DIR / f"{module}.py")
        assert not names & {"flask", "sqlalchemy", "ffmpeg"}, module  # ffmpeg = ffmpeg-python
        if module != "run":
            assert "subprocess" not in names, f"{module}.py must call ffmpeg through run.py"
