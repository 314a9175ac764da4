"""One lab for every lab test module (only one Mininet lab runs on a machine at a time)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from topologies.driver import LabDriver as Lab


@pytest.fixture(scope="package")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    running = Lab.up(tmp_path_factory.mktemp("lab"))
    try:
        yield running
    finally:
        running.down()


@pytest.fixture(autouse=True)
def no_deals_left(request: pytest.FixtureRequest) -> Iterator[None]:
    """Whatever a lab test leaves (also when it fails) is terminated or cancelled before the next one."""
    yield
    if "lab" in request.fixturenames:
        running: Lab = request.getfixturevalue("lab")
        running.end_all_deals()
        running.cancel_open_orders()
