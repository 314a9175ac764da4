"""Server and client settings: typed defaults, one IXCHANGE_* environment variable each,
unknown IXCHANGE_* variables rejected, frozen after validation."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from marketplace.errors import InvalidArgument


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ixchange"


def default_lab_dir() -> Path:
    return default_data_dir().with_name("ixchange-lab")


@dataclass(frozen=True)
class Settings:
    """Everything `ixchange serve` and the CLI can be told. Environment: IXCHANGE_<FIELD>."""

    # Where the embedded database, the operator credential and CLI credentials live.
    data_dir: Path = field(default_factory=default_data_dir)
    # SQLAlchemy URL; empty means SQLite at <data_dir>/ixchange.db.
    database_url: str = ""
    # gRPC listen address of the server (host:port; port 0 picks a free one).
    listen: str = "127.0.0.1:50051"
    # Address the CLI calls.
    server: str = "127.0.0.1:50051"
    # Bearer token the CLI sends; empty means read it from the credentials files.
    token: str = ""
    # TLS for the server: certificate and key (PEM files); client CA enables mutual TLS.
    tls_cert: str = ""
    tls_key: str = ""
    tls_client_ca: str = ""
    # TLS for the CLI: CA to trust, and its own certificate and key for mutual TLS.
    ca_cert: str = ""
    client_cert: str = ""
    client_key: str = ""
    # Most commands committed in one database transaction (group commit).
    max_batch: int = 1024
    # Prometheus /metrics listen address (host:port); empty turns it off.
    metrics_listen: str = "127.0.0.1:9464"
    # How often expiry of good-till-date orders is checked, in seconds.
    expiry_interval_s: float = 1.0
    # How long a price quote can be entered at, in seconds.
    quote_ttl_s: float = 30.0
    # How long a request with a server-proposed class waits for the buyer's approval.
    approval_ttl_s: float = 3600.0
    # OpenFlow listen address of the controller (host:port). Switches on other machines
    # need 0.0.0.0:6653; the default keeps the lab on loopback.
    openflow_listen: str = "127.0.0.1:6653"
    # Fabric topology file (TOML) to load into the store; empty uses the stored one.
    topology: str = ""
    # Router credentials by reference (TOML, mode 0600); see provisioning/routers.py.
    credentials_file: str = ""
    # Data-plane probe: seconds per attempt; how long a deal waits for its switches.
    probe_timeout_s: float = 1.0
    switch_wait_s: float = 10.0
    # How often the switches are asked for each deal's traffic counters (Prometheus).
    traffic_poll_s: float = 10.0
    # Delivered-quality measurement of live deals: the agreements' measurement terms (TOML,
    # provisioning/monitor.py; empty: none measured) and one STAMP probe per deal this often.
    measurement: str = ""
    probe_interval_s: float = 1.0
    # Reclassification by delivered quality (README "Service assurance"): a move down
    # needs values this far (permille of a bound's distance from the best value) beyond
    # the class, a move up this far inside the better one, over this many windows in a
    # row; loss and availability roll over the last horizon windows; a QUALITY event per
    # deal at least this often besides moves.
    reclassify_threshold_permille: int = 100
    reclassify_hysteresis_permille: int = 100
    reclassify_hold: int = 3
    quality_horizon_windows: int = 60
    quality_event_s: float = 60.0
    # Verification before listing (with measurement terms): an offer with asserted values
    # waits off the book while the seller's service is measured for verification_s; listed
    # offers are measured again every reverify_s.
    verify_offers: bool = True
    verification_s: float = 30.0
    reverify_s: float = 86_400.0
    # Service continuity (README "Seller swaps"): a deal that falls below its class moves
    # to another seller where one can take it; after a swap or a drain moves the buyer's
    # entry switch, the old path stays this long for frames in flight, then goes.
    swap_when_degraded: bool = True
    swap_drain_ms: int = 50
    # Protected deals (README "Protected deals"): the protection charge, percent of the price.
    protection_percent: int = 50
    # Plaintext gRPC on an address other than loopback is refused unless this is set.
    insecure: bool = False
    # Limits and quotas (README "Limits and quotas"). Calls per second per participant
    # (a call that returns many rows counts as several; 0 turns the limit off), and burst.
    rate_limit: float = 500.0
    rate_burst: float = 1000.0
    # Failed logins per second from one address before its failures are answered slowly.
    auth_failures_per_s: float = 20.0
    # Live orders one participant may have (resting, scheduled or awaiting approval).
    max_open_orders: int = 10_000
    # Price quotes one participant may hold still valid at once.
    max_live_quotes: int = 100
    # Event streams (WatchEvents) in total and per participant; events one may queue.
    max_streams: int = 256
    max_streams_per_participant: int = 8
    stream_queue: int = 1000
    # Overload (README "Limits and quotas"): order commands one participant, and everyone,
    # may have waiting for the sequencer before more are refused with RESOURCE_EXHAUSTED;
    # calls one connection may have open at once (beyond, HTTP/2 refuses the stream).
    max_orders_in_flight: int = 16_384  # two TradeStreams with every batch they may send in flight
    max_orders_queued: int = 65_536
    max_calls_per_connection: int = 1000
    # High availability (README "High availability"; PostgreSQL only): stand by until this
    # process holds the leader's lease, which lasts this long unless renewed.
    ha: bool = False
    ha_lease_s: float = 1.5
    # Run the domain's compiled core as its pure-Python source (marketplace/compiled.py;
    # read when the package is imported, before any other setting).
    pure_python: bool = False
    # Threads for reads (never the commit thread), and reads one participant may run at once.
    read_threads: int = 4
    reads_per_participant: int = 2
    # Largest request message, bytes.
    max_message_bytes: int = 1_048_576
    # Market report rows shown to participants aggregate at least this many deals.
    report_min_deals: int = 5
    # Money: every price is an integer count of minor units of this ISO 4217 currency
    # (exponent = digits after the decimal point: 2 for EUR, 0 for JPY).
    currency: str = "EUR"
    currency_exponent: int = 2
    # Seconds between heartbeats on an idle WatchEvents stream.
    heartbeat_s: float = 15.0
    # The Mininet lab (`ixchange lab`): its own data directory (database, credentials,
    # network state, logs) and the address its exchange listens on, apart from `make run`'s.
    lab_dir: Path = field(default_factory=default_lab_dir)
    lab_listen: str = "127.0.0.1:50061"
    # The web portal (`ixchange portal`, README "The web portal"): its HTTPS address, the
    # operator's certificate and key (empty: a self-signed pair made on first start), plain
    # HTTP (loopback only), and its sessions' idle and absolute lifetimes.
    portal_listen: str = "127.0.0.1:8443"
    portal_cert: str = ""
    portal_key: str = ""
    portal_insecure_http: bool = False
    portal_session_idle_s: float = 900.0
    portal_session_max_s: float = 28_800.0
    # Failed logins one user name or one address may make in `portal_login_window_s`.
    portal_login_failures: int = 5
    portal_login_window_s: float = 300.0

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'ixchange.db'}"

    @property
    def operator_token_file(self) -> Path:
        return self.data_dir / "operator.token"

    @property
    def credentials_dir(self) -> Path:
        return self.data_dir / "credentials"

    def validated(self) -> Settings:
        if self.max_batch < 1:
            raise InvalidArgument("IXCHANGE_MAX_BATCH", "must be at least 1")
        if self.expiry_interval_s <= 0:
            raise InvalidArgument("IXCHANGE_EXPIRY_INTERVAL_S", "must be positive")
        for name in ("quote_ttl_s", "approval_ttl_s"):
            if not 0 < getattr(self, name) <= 86_400:
                raise InvalidArgument(f"IXCHANGE_{name.upper()}", "must be more than 0 and at most 86400 seconds")
        host, _, port = self.openflow_listen.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise InvalidArgument("IXCHANGE_OPENFLOW_LISTEN", "must be host:port, e.g. 127.0.0.1:6653")
        for name in ("probe_timeout_s", "switch_wait_s", "traffic_poll_s", "probe_interval_s"):
            if not 0 < getattr(self, name) <= 600:
                raise InvalidArgument(f"IXCHANGE_{name.upper()}", "must be more than 0 and at most 600 seconds")
        for name in (
            "max_open_orders",
            "max_live_quotes",
            "max_streams",
            "max_streams_per_participant",
            "stream_queue",
            "max_orders_in_flight",
            "max_orders_queued",
            "max_calls_per_connection",
            "read_threads",
            "reads_per_participant",
            "report_min_deals",
        ):
            if not 1 <= getattr(self, name) <= 10_000_000:
                raise InvalidArgument(f"IXCHANGE_{name.upper()}", "must be 1..10000000")
        for name in ("reclassify_threshold_permille", "reclassify_hysteresis_permille"):
            if not 0 <= getattr(self, name) <= 1000:
                raise InvalidArgument(f"IXCHANGE_{name.upper()}", "must be 0..1000 permille")
        for name in ("reclassify_hold", "quality_horizon_windows"):
            if not 1 <= getattr(self, name) <= 10_000:
                raise InvalidArgument(f"IXCHANGE_{name.upper()}", "must be 1..10000")
        if not 1 <= self.verification_s <= 3600:
            raise InvalidArgument("IXCHANGE_VERIFICATION_S", "must be 1..3600 seconds")
        if not 60 <= self.reverify_s <= 365 * 86_400:
            raise InvalidArgument("IXCHANGE_REVERIFY_S", "must be 60 seconds..365 days")
        if not 0 <= self.swap_drain_ms <= 10_000:
            raise InvalidArgument("IXCHANGE_SWAP_DRAIN_MS", "must be 0..10000 ms")
        if not 1 <= self.protection_percent <= 1000:
            raise InvalidArgument("IXCHANGE_PROTECTION_PERCENT", "must be 1..1000 percent")
        if not 0 < self.quality_event_s <= 86_400:
            raise InvalidArgument("IXCHANGE_QUALITY_EVENT_S", "must be more than 0 and at most 86400 seconds")
        if not 1024 <= self.max_message_bytes <= 64 * 1024 * 1024:
            raise InvalidArgument("IXCHANGE_MAX_MESSAGE_BYTES", "must be 1024..67108864")
        for name in ("rate_limit", "rate_burst", "auth_failures_per_s"):
            if not 0 <= getattr(self, name) <= 10_000_000:
                raise InvalidArgument(f"IXCHANGE_{name.upper()}", "must be 0..10000000")
        if not (len(self.currency) == 3 and self.currency.isascii() and self.currency.isupper()):
            raise InvalidArgument("IXCHANGE_CURRENCY", "must be an ISO 4217 code: three capital letters, e.g. EUR")
        if not 0 <= self.currency_exponent <= 4:
            raise InvalidArgument("IXCHANGE_CURRENCY_EXPONENT", "must be 0..4 (ISO 4217 minor unit digits)")
        if not 0.05 <= self.heartbeat_s <= 3600:
            raise InvalidArgument("IXCHANGE_HEARTBEAT_S", "must be 0.05..3600 seconds")
        if bool(self.portal_cert) != bool(self.portal_key):
            raise InvalidArgument("IXCHANGE_PORTAL_CERT", "HTTPS needs both a certificate and a key")
        if not 1 <= self.portal_session_idle_s <= self.portal_session_max_s <= 7 * 86_400:
            raise InvalidArgument(
                "IXCHANGE_PORTAL_SESSION_IDLE_S",
                "must be at least 1 s and at most IXCHANGE_PORTAL_SESSION_MAX_S (at most 7 days)",
            )
        if not 1 <= self.portal_login_failures <= 1000 or not 1 <= self.portal_login_window_s <= 86_400:
            raise InvalidArgument("IXCHANGE_PORTAL_LOGIN_FAILURES", "1..1000 failures in a window of 1..86400 s")
        if bool(self.tls_cert) != bool(self.tls_key):
            raise InvalidArgument("IXCHANGE_TLS_CERT", "TLS needs both a certificate and a key")
        if self.tls_client_ca and not self.tls_cert:
            raise InvalidArgument("IXCHANGE_TLS_CLIENT_CA", "mutual TLS needs IXCHANGE_TLS_CERT and IXCHANGE_TLS_KEY")
        return self


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Defaults, then IXCHANGE_* from the environment, then explicit overrides (flags)."""
    env = os.environ if env is None else env
    known = {f.name: f for f in fields(Settings)}
    values: dict[str, Any] = {}
    for key, raw in env.items():
        if not key.startswith("IXCHANGE_") or key.startswith("IXCHANGE_TEST_"):
            continue
        name = key[len("IXCHANGE_") :].lower()
        if name not in known:
            raise InvalidArgument(key, f"unknown setting (known: {', '.join('IXCHANGE_' + n.upper() for n in known)})")
        values[name] = _coerce(key, known[name].type, raw)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return replace(Settings(), **values).validated()


def _coerce(key: str, kind: Any, raw: str) -> Any:
    kind = str(kind)
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        raise InvalidArgument(key, f"must be a number, got {raw[:32]!r}") from None
    if kind == "Path":
        return Path(raw).expanduser()
    if kind == "bool":
        if raw.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if raw.strip().lower() in ("", "0", "false", "no", "off"):
            return False
        raise InvalidArgument(key, f"must be true or false, got {raw[:32]!r}")
    return raw
