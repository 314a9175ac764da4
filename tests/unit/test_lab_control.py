"""`ixchange lab up` refuses while any part of a lab runs, and a new lab starts empty in
its own data directory, apart from `make run`'s."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from controller import lab
from controller.cli import main
from marketplace.settings import Settings, load_settings


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setattr(lab, "preflight", lambda: None)
    return load_settings(env={}, data_dir=tmp_path / "run-data", lab_dir=tmp_path / "lab")


def test_lab_up_refuses_while_a_lab_runs_and_says_what_to_do(settings: Settings, tmp_path: Path) -> None:
    state = tmp_path / "lab" / "run"
    state.mkdir(parents=True)
    (state / "mininet.pid").write_text(f"{os.getpid()}\n")  # a live process
    with pytest.raises(lab.LabError) as refused:
        lab.up(settings)
    assert "already up" in str(refused.value) and "restart-exchange" in str(refused.value)


def test_the_cli_exits_non_zero_when_lab_up_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lab, "preflight", lambda: None)
    state = tmp_path / "lab" / "run"
    state.mkdir(parents=True)
    (state / "exchange.pid").write_text(f"{os.getpid()}\n")
    monkeypatch.setenv("IXCHANGE_LAB_DIR", str(tmp_path / "lab"))
    assert main(["lab", "up"]) == 2


def test_a_new_lab_forgets_the_previous_labs_data_and_never_touches_make_runs(settings: Settings) -> None:
    settings.lab_dir.mkdir(parents=True)
    settings.data_dir.mkdir(parents=True)
    names = ("ixchange.db", "ixchange.db-wal", "operator.token")
    for name in names:
        (settings.lab_dir / name).write_text("the last lab's")
        (settings.data_dir / name).write_text("make run's")
    lab._forget_previous_lab(settings)
    assert not any((settings.lab_dir / name).exists() for name in names)
    assert all((settings.data_dir / name).read_text() == "make run's" for name in names)
    lab_side = lab.lab_settings(settings)
    assert lab_side.data_dir == settings.lab_dir and lab_side.server == settings.lab_listen != settings.server
