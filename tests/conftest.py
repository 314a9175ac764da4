"""Shared fixtures: databases (SQLite file, and PostgreSQL when IXCHANGE_TEST_POSTGRES_URL
is set, as `make test` does) and a real exchange server on port 0."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

POSTGRES_URL = os.environ.get("IXCHANGE_TEST_POSTGRES_URL", "")


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ixchange.db'}"
        return
    with fresh_postgres_database() as url:
        yield url


@contextlib.contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty database in the test cluster (`make test` starts it); dropped after."""
    if not POSTGRES_URL:
        if os.environ.get("CI"):
            pytest.fail("IXCHANGE_TEST_POSTGRES_URL is not set in CI; run the suite through `make test`")
        pytest.skip("IXCHANGE_TEST_POSTGRES_URL not set (make test starts a PostgreSQL)")
    import psycopg

    name = f"ixtest_{uuid.uuid4().hex[:12]}"
    admin = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = POSTGRES_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        _drop(admin, name)


def _drop(admin: str, name: str) -> None:
    import psycopg

    # FORCE cannot end an autovacuum worker that happens to be on the new database (it runs
    # as the cluster's superuser: InsufficientPrivilege, seen once in CI): it finishes in
    # moments, so try again; a database left behind in the private test cluster is harmless.
    for attempt in range(20):
        try:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            break
        except psycopg.errors.InsufficientPrivilege:
            time.sleep(0.1 * (attempt + 1))


class ServerThread:
    """Runs create_server() on its own event loop in a thread; tests call it with the
    synchronous gRPC client like any other client would."""

    def __init__(self, settings: object) -> None:
        from marketplace.settings import Settings

        assert isinstance(settings, Settings)
        self.settings = settings
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.port = 0
        self.server: object = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> ServerThread:
        self._thread.start()
        self._ready.wait(60)
        if self._error is not None:
            raise self._error
        return self

    def _run(self) -> None:
        from marketplace.api.server import create_server

        async def main() -> None:
            try:
                self.server = server = await create_server(self.settings)
            except BaseException as err:
                self._error = err
                self._ready.set()
                return
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self.port = server.port
            self._ready.set()
            await self._stop.wait()
            await server.stop(1)

        asyncio.run(main())

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def operator_token(self) -> str:
        return self.settings.operator_token_file.read_text().strip()

    def stop(self) -> None:
        if not self._thread.is_alive():
            return  # stopped already (a test restarting the server stops it itself)
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


@pytest.fixture
def exchange(database_url: str, tmp_path: Path) -> Iterator[ServerThread]:
    """A running exchange on a free port with a fresh database of each kind."""
    from marketplace.settings import load_settings

    settings = load_settings(
        env={},
        data_dir=tmp_path / "data",
        database_url=database_url,
        listen="127.0.0.1:0",
        metrics_listen="127.0.0.1:0",
    )
    server = ServerThread(settings).start()
    yield server
    server.stop()


@pytest.fixture
def make_exchange(database_url: str, tmp_path: Path) -> Iterator[Callable[..., ServerThread]]:
    """Start exchanges with settings of the test's choosing (on a fresh database of
    each kind); all are stopped after the test."""
    from marketplace.settings import load_settings

    started: list[ServerThread] = []

    def make(**overrides: object) -> ServerThread:
        options: dict[str, object] = {
            "data_dir": tmp_path / "data",
            "database_url": database_url,
            "listen": "127.0.0.1:0",
            "metrics_listen": "",
            **overrides,
        }
        server = ServerThread(load_settings(env={}, **options)).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


# ----- a real browser (the web portal's tests) -------------------------------------------

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's chromium through Playwright. Per module: Playwright's synchronous API runs
    an event loop in the main thread while it is open, which other tests' asyncio.run()
    would trip over."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (packaging/debian-packages)")
    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        yield launched
        launched.close()


@pytest.fixture
def new_page(browser: object) -> Iterator[object]:
    """Pages in fresh browser contexts (separate cookie jars: one person each)."""
    contexts = []

    def make(viewport: dict[str, int] | None = None) -> object:
        context = browser.new_context(  # type: ignore[attr-defined]
            ignore_https_errors=True, viewport=viewport or {"width": 1280, "height": 900}
        )
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
