"""The CLI walks a seller and a buyer from offer and request to a brokered deal."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.cli import main
from marketplace.settings import load_settings
from tests.conftest import ServerThread


@pytest.fixture
def server(tmp_path: Path) -> ServerThread:
    settings = load_settings(env={}, data_dir=tmp_path, listen="127.0.0.1:0", metrics_listen="")
    running = ServerThread(settings).start()
    yield running  # type: ignore[misc]
    running.stop()


def test_cli_walkthrough(
    server: ServerThread, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    base = ["--server", server.target, "--data-dir", str(tmp_path)]

    def run(*args: str) -> str:
        code = main([*base, *args])
        out = capsys.readouterr()
        assert code == 0, out.err
        return out.out

    assert "seller1.token" in run("participants", "add", "seller1", "--role", "seller")
    assert (tmp_path / "credentials" / "seller1.token").stat().st_mode & 0o777 == 0o600
    run("participants", "add", "buyer1", "--role", "buyer", "--carrier")
    assert "buyer1" in run("participants")
    out = run(
        "--as",
        "seller1",
        "offer",
        "--route",
        "FRA1:AMS2",
        "--capacity",
        "10G",
        "--circuits",
        "2",
        "--price",
        "90000",
        "--value",
        "latency_us=4000",
        "--value",
        "jitter_us=300",
        "--value",
        "loss_ppm=5",
        "--value",
        "availability_ppm=999995",
    )
    assert "platinum" in out
    assert "90000" in run("book")
    out = run(
        "--as",
        "buyer1",
        "request",
        "--route",
        "AMS2:FRA1",
        "--capacity",
        "10G",
        "--limit",
        "95000",
        "--grade",
        "platinum",
    )
    assert "Deals struck" in out and "PENDING_AGREEMENT" in out
    out = run(
        "agreements",
        "add",
        "--reference",
        "AG-1",
        "--buyer",
        "buyer1",
        "--seller",
        "seller1",
        "--buyer-port",
        "sw1:2:100-199",
        "--seller-port",
        "sw3:4:100-199",
        "--max-rate",
        "100G",
    )
    assert "released" in out
    assert "BROKERED" in run("--as", "buyer1", "deals")
    assert "grade" in run("classes", "classify", "--value", "latency_us=30000")


def test_cli_reports_bad_input_without_a_traceback(
    server: ServerThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--server", server.target, "--data-dir", str(tmp_path)]
    assert main([*base, "participants", "add", "s", "--role", "seller"]) == 0
    capsys.readouterr()
    code = main([*base, "--as", "s", "offer", "--route", "FRA:FRA", "--capacity", "1G", "--price", "5"])
    err = capsys.readouterr().err
    assert code == 1 and "INVALID_ARGUMENT" in err and "route.z_end" in err
    assert main([*base, "--as", "nobody", "book"]) == 2


def test_cli_pretrade_walkthrough(
    server: ServerThread, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Quote and enter at it, propose and approve a class, alternates, re-bid, and the
    market report as a table, a CSV file and the daily file."""
    monkeypatch.setenv("COLUMNS", "250")
    base = ["--server", server.target, "--data-dir", str(tmp_path)]

    def run(*args: str) -> str:
        code = main([*base, *args])
        out = capsys.readouterr()
        assert code == 0, out.err
        return out.out

    platinum = ["--value", "latency_us=4000", "--value", "jitter_us=300", "--value", "loss_ppm=5"]
    platinum += ["--value", "availability_ppm=999995"]
    run("participants", "add", "seller1", "--role", "seller")
    run("participants", "add", "buyer1", "--role", "buyer")
    run("neighbours", "set", "FRA1", "MUC1")
    assert "MUC1" in run("neighbours")
    sell = ["--as", "seller1", "offer", "--capacity", "1G"]
    run(*sell, "--route", "FRA1:AMS2", "--circuits", "2", "--price", "900", *platinum)
    run(*sell, "--route", "MUC1:AMS2", "--price", "700", *platinum)

    out = run("--as", "buyer1", "quote", "--route=FRA1:AMS2", "--capacity=1G", "--circuits=2", "--grade=platinum")
    assert "fills fully at up to 900" in out
    quote_id = out.split("request --quote ")[1].split()[0]
    out = run("--as", "buyer1", "request", "--quote", quote_id)
    assert "Deals struck" in out and "FILLED" in out

    requirements = ["--require", "latency_us=4000", "--require", "jitter_us=300", "--require", "loss_ppm=5"]
    requirements += ["--require", "availability_ppm=999995"]
    out = run(
        "--as",
        "buyer1",
        "request",
        "--route",
        "FRA1:AMS2",
        "--capacity",
        "1G",
        "--limit",
        "800",
        "--propose",
        *requirements,
    )
    assert "PENDING_APPROVAL" in out and "ixchange approve" in out
    order_id = out.split("ixchange approve ")[1].split()[0]
    out = run("--as", "buyer1", "approve", order_id)
    assert "Class approved" in out and "nearby route" in out  # nothing at 800 on FRA1; MUC1 is near
    out = run("--as", "buyer1", "recommend", order_id)
    assert "MUC1" in out and "700" in out
    out = run(
        "--as",
        "buyer1",
        "request",
        "--route",
        "FRA1:AMS2",
        "--capacity",
        "1G",
        "--limit",
        "850",
        "--grade",
        "platinum",
        "--rebid-of",
        order_id,
    )
    assert "OPEN" in out
    assert "SUPERSEDED" in run("--as", "buyer1", "orders")

    csv_file = tmp_path / "report.csv"
    out = run("report", "--csv", str(csv_file))
    assert "circuits/platinum" in out
    lines = csv_file.read_text().splitlines()
    assert lines[0].startswith("window_start,window_end,class_scheme") and ",900,900,900,1800," in lines[1]
    out = run("report", "--daily", "--dir", str(tmp_path / "daily"))
    written = list((tmp_path / "daily").glob("market-report-*.csv"))
    assert len(written) == 1 and "rows written" in out
