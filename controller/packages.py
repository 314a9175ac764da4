"""The Debian packages ixchange needs, from packaging/debian-packages (the one list the
Makefile, `ixchange lab up` and the tests read)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

PACKAGES_FILE = Path(__file__).resolve().parents[1] / "packaging" / "debian-packages"


def debian_packages(group: str) -> list[str]:
    """The packages of one group ("venv", "test", "lab"), in the file's order."""
    for line in PACKAGES_FILE.read_text().splitlines():
        name, sep, packages = line.partition(":")
        if sep and not name.startswith("#") and name.strip() == group:
            return packages.split()
    raise KeyError(f"{PACKAGES_FILE} has no group {group!r}")


def missing(packages: list[str]) -> list[str]:
    """Those dpkg does not list as installed (removed but not purged counts as missing).
    Without dpkg (not Debian) nothing can be said: none are reported."""
    if shutil.which("dpkg-query") is None:
        return []
    absent = []
    for package in packages:
        status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True).stdout
        if "install ok installed" not in status:
            absent.append(package)
    return absent
