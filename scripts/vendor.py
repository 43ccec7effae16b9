#!/usr/bin/env python3
"""Vendor the browser libraries obsapp's pages use, straight from the npm registry (no Node needed).

For each pinned package: download its tarball from the registry, check it against the pinned SRI integrity
hash (sha512, as the registry publishes it in `dist.integrity`), and extract the built browser file and the
licence into obsapp/static/vendor/NAME-VERSION/. The vendored files are committed, so `make run`, Docker and
CI never run this; maintainers run `make vendor` after changing a pin below.

To upgrade: `npm view socket.io-client@latest version dist.integrity` (or read
https://registry.npmjs.org/socket.io-client/latest), change VERSION and INTEGRITY here, change the import
paths in obsapp/static/js/lib/, run `make vendor`, then the browser tests.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import shutil
import sys
import tarfile
import urllib.request
from pathlib import Path

REGISTRY = "https://registry.npmjs.org"
ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "obsapp" / "static" / "vendor"

# name, version, SRI integrity of the tarball, {file in the tarball: file name in the vendor folder}
PACKAGES = [
    ("socket.io-client", "4.8.4",
     "sha512-7wjKAvVXYOJsbmUgkWbnhPD4bFpkqrUR0++XOjpGFmqDqsqV1CI93VTraeExLxpjxEqrWgFoSRZu1ihjLWfkAA==",
     {"package/dist/socket.io.esm.min.js": "socket.io.esm.min.js", "package/LICENSE": "LICENSE"}),
    ("tus-js-client", "4.3.1",
     "sha512-ZLeYmjrkaU1fUsKbIi8JML52uAocjEZtBx4DKjRrqzrZa0O4MYwT6db+oqePlspV+FxXJAyFBc/L5gwUi2OFsg==",
     {"package/dist/tus.min.js": "tus.min.js", "package/LICENSE": "LICENSE"}),
    # the accessibility checker the browser tests run on every page (tests/browser/axe.py); pages never load it
    ("axe-core", "4.14.1",
     "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==",
     {"package/axe.min.js": "axe.min.js", "package/LICENSE": "LICENSE"}),
]


class VendorError(Exception):
    pass


def tarball_url(name: str, version: str) -> str:
    base = name.rsplit("/", 1)[-1]  # scoped packages: @scope/name -> name-version.tgz
    return f"{REGISTRY}/{name}/-/{base}-{version}.tgz"


def check_integrity(data: bytes, integrity: str) -> None:
    algorithm, _, expected = integrity.partition("-")
    if algorithm != "sha512":
        raise VendorError(f"only sha512 integrity hashes are accepted, not {algorithm!r}")
    actual = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if actual != expected:
        raise VendorError(f"integrity mismatch: expected sha512-{expected}, got sha512-{actual}")


def extract(data: bytes, files: dict[str, str], target: Path) -> None:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        members = {member.name: member for member in archive.getmembers() if member.isfile()}
        missing = sorted(set(files) - set(members))
        if missing:
            raise VendorError(f"not in the tarball: {', '.join(missing)}")
        staging = target.with_name(target.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for source, dest in files.items():
            handle = archive.extractfile(members[source])
            assert handle is not None
            (staging / dest).write_bytes(handle.read())
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


def vendor(name: str, version: str, integrity: str, files: dict[str, str], *, timeout: float) -> Path:
    url = tarball_url(name, version)
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - fixed https registry URL
        data = response.read()
    try:
        check_integrity(data, integrity)
    except VendorError as exc:
        raise VendorError(f"{name}@{version}: {exc}") from None
    target = VENDOR / f"{name.replace('/', '-').lstrip('@')}-{version}"
    extract(data, files, target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per download")
    args = parser.parse_args(argv)
    wanted = {f"{name.replace('/', '-').lstrip('@')}-{version}" for name, version, _, _ in PACKAGES}
    try:
        for name, version, integrity, files in PACKAGES:
            target = vendor(name, version, integrity, files, timeout=args.timeout)
            print(f"{name}@{version}: {', '.join(sorted(files.values()))} -> {target.relative_to(ROOT)}")
    except (VendorError, OSError) as exc:
        print(f"vendor: {exc}", file=sys.stderr)
        return 1
    for folder in sorted(VENDOR.iterdir()):
        if folder.is_dir() and folder.name not in wanted:
            shutil.rmtree(folder)
            print(f"removed the old {folder.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
