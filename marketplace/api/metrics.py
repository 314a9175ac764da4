"""Prometheus metrics of a running exchange, on their own registry so several servers can
live in one process (as in the tests)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from marketplace.deals import FINAL, DealStatus


class ExchangeMetrics:
    """What an operator watches: command flow, group-commit behaviour, book size."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.commands = Counter("ixchange_commands", "Commands run by the sequencer", registry=self.registry)
        self.refused = Counter("ixchange_commands_refused", "Commands refused by the domain", registry=self.registry)
        self.deals = Counter("ixchange_deals", "Deals struck", registry=self.registry)
        self.events = Counter("ixchange_events", "Events journaled", registry=self.registry)
        self.batch_size = Histogram(
            "ixchange_batch_commands",
            "Commands per committed batch",
            registry=self.registry,
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
        )
        self.commit_seconds = Histogram(
            "ixchange_commit_seconds",
            "Store commit time per batch",
            registry=self.registry,
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
        )
        self.open_orders = Gauge("ixchange_open_orders", "Orders live on the books", registry=self.registry)
        self.books = Gauge("ixchange_books", "Non-empty books", registry=self.registry)

    def watch_engine(
        self, open_orders: Callable[[], int], books: Callable[[], int], deals: Callable[[], Iterable[Any]]
    ) -> None:
        """Read book sizes and live deals at scrape time instead of tracking them on the
        hot path. `deals` returns the deals not yet ended (their `status` an enum)."""
        self.open_orders.set_function(open_orders)
        self.books.set_function(books)
        self.registry.register(_DealsByStatus(deals))

    def watch_fairness(self, calls: Any, auth: Any, streams: Any) -> None:
        """Limits at work: refusals since start and live event streams, read at scrape time."""
        gauges = (
            (
                "ixchange_calls_rate_limited",
                "Calls refused for being over the caller's rate, since start",
                calls,
                "refused",
            ),
            ("ixchange_calls_unauthenticated", "Calls refused for their token, since start", auth, "refused"),
            (
                "ixchange_calls_delayed",
                "Calls that waited for their turn under the caller's rate, since start",
                calls,
                "delayed",
            ),
            ("ixchange_event_streams", "Live WatchEvents streams", streams, "count"),
            ("ixchange_event_streams_dropped", "Streams dropped for falling behind, since start", streams, "dropped"),
        )
        for name, doc, owner, attribute in gauges:
            Gauge(name, doc, registry=self.registry).set_function(_reader(owner, attribute))

    def watch_guard(self, guard: Any) -> None:
        Gauge("ixchange_internal_errors", "Calls answered INTERNAL, since start", registry=self.registry).set_function(
            _reader(guard, "internal_errors")
        )
        Gauge(
            "ixchange_undecodable_requests", "Requests whose bytes did not decode, since start", registry=self.registry
        ).set_function(_reader(guard.undecodable, "total"))

    def serve(self, listen: str) -> int:
        """Expose /metrics on host:port (port 0 picks one); returns the bound port."""
        host, _, port = listen.rpartition(":")
        server, _thread = start_http_server(int(port), addr=host or "127.0.0.1", registry=self.registry)
        return int(server.server_address[1])


class _DealsByStatus(Collector):
    """ixchange_deals_live{status}: deals not yet ended, by state (every state listed)."""

    def __init__(self, deals: Callable[[], Iterable[Any]]) -> None:
        self.deals = deals

    def collect(self) -> Iterator[Any]:
        family = GaugeMetricFamily("ixchange_deals_live", "Deals not yet ended, by state", labels=["status"])
        counts = {status.name: 0 for status in DealStatus if status not in FINAL}
        for deal in list(self.deals()):
            counts[deal.status.name] = counts.get(deal.status.name, 0) + 1
        for status, n in counts.items():
            family.add_metric([status], n)
        yield family


def _reader(owner: Any, attribute: str) -> Callable[[], float]:
    return lambda: float(getattr(owner, attribute))
