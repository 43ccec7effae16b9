"""obsapp installs like a package: a wheel built from the repository, installed into a clean virtual
environment with no checkout on the path, runs `obsapp init`, `obsapp demo` and `obsapp serve` from an
unrelated working directory, with its migrations, templates, static files and built-in frameworks.

To stay quick, the clean environment borrows the already-installed dependencies of the test environment
through a plain path line in a .pth file (which, unlike a site directory, does not run that directory's
own .pth hooks, so the editable install of the checkout is not seen) and installs only the wheel."""

from __future__ import annotations

import queue
import re
import socket
import subprocess
import sys
import sysconfig
import threading
import venv
from pathlib import Path

import pytest
import requests

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only(
    reason="the installed wheel runs with no settings at all: the embedded SQLite default, never the run's database")]
REPO = Path(__file__).resolve().parents[1]


def _run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, timeout=600, check=True, **kwargs)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A clean venv with only the obsapp wheel installed in it, and the environment to run it in."""
    base = tmp_path_factory.mktemp("packaging")
    dist = base / "dist"
    # Builds the sdist, then the wheel from the sdist (so both carry everything), without downloading.
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(REPO)], cwd=base)
    wheels = list(dist.glob("obsapp-*.whl"))
    assert len(wheels) == 1, wheels

    env_dir = base / "venv"
    venv.create(env_dir, with_pip=False, symlinks=True)
    python = env_dir / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
          "--no-index", str(wheels[0])], cwd=base)
    site_packages = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              cwd=base).stdout.strip())
    dependencies = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site_packages / "_test_dependencies.pth").write_text("".join(f"{path}\n" for path in sorted(dependencies)))

    work = base / "work"  # an unrelated working directory
    work.mkdir()
    env = {"PATH": f"{env_dir / 'bin'}:/usr/local/bin:/usr/bin:/bin", "HOME": str(base), "LANG": "C.UTF-8"}
    return {"python": python, "obsapp": env_dir / "bin" / "obsapp", "env": env, "work": work,
            "prefix": env_dir.resolve()}


def _obsapp(installed, *args):
    return _run([str(installed["obsapp"]), *args], env=installed["env"], cwd=installed["work"])


def test_the_package_imports_from_the_new_environment_not_the_checkout(installed):
    out = _run([str(installed["python"]), "-c",
                "import obsapp, sys; print(obsapp.__file__); print(obsapp.migrations_dir()); "
                "print('|'.join(sys.path))"],
               env=installed["env"], cwd=installed["work"]).stdout.splitlines()
    assert Path(out[0]).resolve().is_relative_to(installed["prefix"]), out
    assert not Path(out[0]).resolve().is_relative_to(REPO)
    migrations = Path(out[1])
    assert migrations.is_relative_to(installed["prefix"]) and (migrations / "env.py").is_file()
    assert sorted(p.name for p in (migrations / "versions").glob("0*.py")) == sorted(
        p.name for p in (REPO / "obsapp" / "migrations" / "versions").glob("0*.py"))
    assert str(REPO) not in out[2].split("|")  # no checkout on the path


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


def test_every_file_of_the_package_is_installed(installed):
    """Code, pages, static files (vendored JS included), migrations and built-in data: all of obsapp/."""
    package = Path(_run([str(installed["python"]), "-c", "import obsapp; print(obsapp.__file__)"],
                        env=installed["env"], cwd=installed["work"]).stdout.strip()).parent
    missing = _files(REPO / "obsapp") - _files(package)
    assert not missing, sorted(missing)


def _reader(stream, lines: queue.Queue):
    for line in stream:
        lines.put(line)
    lines.put(None)


def test_init_demo_and_serve_from_the_wheel(installed):
    init = _obsapp(installed, "init")
    assert "Database ready" in init.stdout and "Loaded the Singapore Teaching Practice framework" in init.stdout
    instance = installed["prefix"] / "var" / "obsapp-instance"  # the default outside a checkout
    assert (instance / "obsapp.db").is_file() and (instance / "media_store" / "originals").is_dir()

    demo = _obsapp(installed, "demo")
    assert "(ready)" in demo.stdout

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([str(installed["obsapp"]), "serve", "--port", str(port)], env=installed["env"],
                            cwd=installed["work"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
    try:
        seen = []
        while True:  # until the server says it serves (or stops)
            line = lines.get(timeout=120)
            assert line is not None, "obsapp serve stopped:\n" + "".join(seen)
            seen.append(line)
            if "obsapp serving on" in line:
                break
        base = f"http://127.0.0.1:{port}"
        assert requests.get(f"{base}/healthz", timeout=10).json() == {"status": "ok"}

        browser = requests.Session()
        login = browser.get(f"{base}/login", timeout=10)
        assert login.status_code == 200 and "<form" in login.text
        signed_in = browser.post(f"{base}/api/v1/auth/login", timeout=10,
                                 json={"email": "teacher@demo.school", "password": "demo-password"})
        assert signed_in.status_code == 200, signed_in.text
        home = browser.get(f"{base}/", timeout=10)
        assert home.status_code == 200 and "Demo: Fractions, P4" in home.text
        assets = set(re.findall(r'(?:src|href)="(/static/[^"?#]+)', login.text + home.text))
        assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets), assets
        for asset in sorted(assets):
            response = browser.get(base + asset, timeout=10)
            assert response.status_code == 200 and response.content, asset
        frameworks = browser.get(f"{base}/api/v1/frameworks", timeout=10).json()
        assert "Singapore Teaching Practice" in str(frameworks)
    finally:
        proc.terminate()
        proc.wait(30)
