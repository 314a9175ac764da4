"""The portal in a real browser: a real exchange (SQLite), the portal as its own process
over HTTPS with its self-signed certificate, and Debian's chromium driven by Playwright.

Screenshots go to $IXCHANGE_TEST_ARTIFACTS/portal (default: test-artifacts/portal in the
checkout, not committed)."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from marketplace.settings import load_settings
from tests.conftest import ServerThread
from tests.service.client import Client, agreement

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("IXCHANGE_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "portal"
PASSWORDS = {
    "alice": "alice-password-1",
    "dave": "dave-password-12",
    "erin": "erin-password-12",
    "bob": "bob-password-123",
    "frank": "frank-password-1",
    "grace": "grace-password-1",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PortalProcess:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_portal(data_dir: Path, server: str, *flags: str, env: dict[str, str] | None = None) -> PortalProcess:
    port = free_port()
    log = data_dir / f"portal-{port}.log"
    insecure = "--insecure-http" in flags
    process = subprocess.Popen(
        [sys.executable, "-m", "controller.cli", "portal", "--listen", f"127.0.0.1:{port}", *flags],
        env={**os.environ, "IXCHANGE_DATA_DIR": str(data_dir), "IXCHANGE_SERVER": server, **(env or {})},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    url = f"{'http' if insecure else 'https'}://127.0.0.1:{port}"
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url + "/healthz", context=None if insecure else context, timeout=2):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"the portal did not start: {log.read_text()[-2000:]}") from None
            time.sleep(0.1)
    return PortalProcess(url, process, log)


def add_user(data_dir: Path, server: str, name: str, participant: str, *flags: str) -> str:
    """`ixchange portal user add` as an operator would run it; returns its output."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "controller.cli",
            "-o",
            "json",
            "portal",
            "user",
            "add",
            name,
            "--participant",
            participant,
            "--password-stdin",
            *flags,
        ],
        input=(PASSWORDS[name] + "\n").encode(),
        env={**os.environ, "IXCHANGE_DATA_DIR": str(data_dir), "IXCHANGE_SERVER": server, "COLUMNS": "200"},
        capture_output=True,
        cwd=ROOT,
        check=True,
    )
    return result.stdout.decode()


@dataclass
class Market:
    """The exchange, its participants and portal users, and the portal serving them."""

    exchange: ServerThread
    data_dir: Path
    portal: PortalProcess
    operator: Client
    totp_secret: str
    clients: dict[str, Client] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.portal.url


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    import json

    data_dir = tmp_path_factory.mktemp("portal")
    settings = load_settings(env={}, data_dir=data_dir, listen="127.0.0.1:0", metrics_listen="")
    exchange = ServerThread(settings).start()
    operator = Client(exchange.target, exchange.operator_token)
    clients = {
        "acme": operator.as_participant("acme", 1),
        "globex": operator.as_participant("globex", 2, carrier=True),
        "initech": operator.as_participant("initech", 2),
    }
    from ixchange.v1 import participants_pb2

    for i, buyer in enumerate(("globex", "initech")):
        operator(
            operator.participants.RegisterAgreement,
            participants_pb2.RegisterAgreementRequest(agreement=agreement(f"AG-{i}", buyer, "acme")),
        )
    add_user(data_dir, exchange.target, "alice", "acme")
    add_user(data_dir, exchange.target, "dave", "globex")
    add_user(data_dir, exchange.target, "erin", "initech")
    add_user(data_dir, exchange.target, "frank", "acme")
    secret = json.loads(add_user(data_dir, exchange.target, "bob", "globex", "--totp"))["totp_secret"]
    portal = start_portal(data_dir, exchange.target)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield Market(exchange, data_dir, portal, operator, secret, clients)
    portal.stop()
    exchange.stop()


def log_in(page: object, url: str, username: str, password: str | None = None, code: str = "") -> None:
    page.goto(url + "/login")  # type: ignore[attr-defined]
    page.fill("#f-username", username)  # type: ignore[attr-defined]
    page.fill("#f-password", password if password is not None else PASSWORDS[username])  # type: ignore[attr-defined]
    if code:
        page.fill("#f-code", code)  # type: ignore[attr-defined]
    page.click("button:has-text('Log in')")  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]


def shot(page: object, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]
