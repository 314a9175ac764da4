"""The one list of Debian packages (packaging/debian-packages): what `make test` installs
covers what the lab needs, and `ixchange lab up` checks the same list."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from controller import lab, packages

ROOT = Path(__file__).resolve().parents[2]


def make_installs(target: str) -> set[str]:
    """The packages `make TARGET` would check and install (dry run: nothing is run)."""
    out = subprocess.run(["make", "-n", "-C", str(ROOT), target], capture_output=True, text=True, check=True).stdout
    found = re.findall(r"for p in ([^;]*); do dpkg-query", out)
    assert found, f"make -n {target} shows no package loop:\n{out}"
    return {package for loop in found for package in loop.split()}


def test_make_venv_installs_what_the_venv_and_the_compiled_core_need() -> None:
    assert set(packages.debian_packages("venv")) <= make_installs("venv")


def test_make_test_installs_every_package_the_lab_and_the_service_tests_need() -> None:
    needed = set(packages.debian_packages("lab")) | set(packages.debian_packages("test"))
    assert needed - make_installs("test-deps") == set()


def test_make_lab_installs_every_package_the_lab_needs() -> None:
    assert set(packages.debian_packages("lab")) <= make_installs("lab-deps")


LAB_PROGRAMS = ("ovs-vsctl", "mnexec", "sshd", "ssh-keygen", "iperf3", "ping", "ethtool", "ss", "ip", "pkill")


def owner(program: str) -> str | None:
    """The Debian package that installed `program` here (None when it is not installed)."""
    found = shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin")
    if found is None or shutil.which("dpkg-query") is None:
        return None
    real = Path(found).resolve()
    for candidate in (str(real), str(real).removeprefix("/usr")):  # usrmerge: either may be listed
        out = subprocess.run(["dpkg-query", "-S", candidate], capture_output=True, text=True).stdout
        if out:
            return out.split(":", 1)[0]
    return None


def test_the_lab_needs_what_its_commands_come_from() -> None:
    """Each program the lab runs comes (where installed) from a package of the lab group."""
    owners = {p: owner(p) for p in LAB_PROGRAMS}
    if not any(owners.values()):
        pytest.skip("none of the lab's programs is installed here")
    lab_group = set(packages.debian_packages("lab"))
    assert {p: o for p, o in owners.items() if o and o not in lab_group} == {}


def test_lab_up_names_each_missing_package_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lab.os, "geteuid", lambda: 0)
    monkeypatch.setattr(packages, "missing", lambda wanted: [p for p in wanted if p in ("mininet", "iperf3")])
    with pytest.raises(lab.LabError) as refused:
        lab.preflight()
    message = str(refused.value)
    assert message.count("mininet") == 2  # once in the list, once in the apt-get command
    assert "apt-get install mininet iperf3" in message


def test_an_unknown_group_is_an_error() -> None:
    with pytest.raises(KeyError):
        packages.debian_packages("nonsense")


def test_every_directory_shipped_with_the_code_is_a_listed_package() -> None:
    """setuptools warns at every install ("Package ... is absent from the packages
    configuration") for a directory with files inside a package that is not listed."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    roots = {name for name in listed if "." not in name} - {"ixchange"}
    for root in roots:
        for directory in (ROOT / root).rglob("*"):
            if not directory.is_dir() or directory.name == "__pycache__":
                continue
            if any(f.is_file() for f in directory.iterdir()):
                name = ".".join(directory.relative_to(ROOT).parts)
                assert name in listed, f"{name} holds files but is not in [tool.setuptools] packages"
