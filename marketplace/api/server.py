"""Assemble the exchange server: store, engine rebuilt from it, sequencer, servicers,
health and reflection, on one gRPC port."""

from __future__ import annotations

import asyncio
import errno
import gc
import ipaddress
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from ixchange.v1 import (
    classes_pb2,
    classes_pb2_grpc,
    continuity_pb2,
    continuity_pb2_grpc,
    exchange_pb2,
    exchange_pb2_grpc,
    fabric_pb2,
    fabric_pb2_grpc,
    market_pb2,
    market_pb2_grpc,
    participants_pb2,
    participants_pb2_grpc,
    quality_pb2,
    quality_pb2_grpc,
)

from marketplace.api import convert, reflection, standby
from marketplace.api.auth import Authenticator
from marketplace.api.backlog import Backlog
from marketplace.api.continuity_servicer import ContinuityServicer
from marketplace.api.guard import Guard
from marketplace.api.market_servicers import ClassesServicer, FabricServicer, MarketServicer
from marketplace.api.metrics import ExchangeMetrics
from marketplace.api.participants_servicer import ParticipantsServicer
from marketplace.api.quality_servicer import QualityServicer
from marketplace.api.quotas import RateLimiter
from marketplace.api.reads import ReadPool
from marketplace.api.sequencer import Sequencer
from marketplace.api.servicers import Api, ExchangeServicer
from marketplace.api.streams import StreamLimits
from marketplace.assurance import AssuranceTerms
from marketplace.classing import DEFAULT_SCHEMES
from marketplace.engine import ExchangeEngine
from marketplace.errors import InvalidArgument
from marketplace.parameters import DEFAULT_PARAMETERS
from marketplace.participants import Participant, Role, new_token, token_hash
from marketplace.provisioner import HoldingProvisioner, Provisioner
from marketplace.reclassification import Policy
from marketplace.settings import Settings
from marketplace.store import Store
from marketplace.store.leadership import Fenced

log = logging.getLogger(__name__)

SERVICE_NAMES = (
    exchange_pb2.DESCRIPTOR.services_by_name["ExchangeService"].full_name,
    classes_pb2.DESCRIPTOR.services_by_name["ClassesService"].full_name,
    participants_pb2.DESCRIPTOR.services_by_name["ParticipantsService"].full_name,
    market_pb2.DESCRIPTOR.services_by_name["MarketService"].full_name,
    fabric_pb2.DESCRIPTOR.services_by_name["FabricService"].full_name,
    quality_pb2.DESCRIPTOR.services_by_name["QualityService"].full_name,
    continuity_pb2.DESCRIPTOR.services_by_name["ContinuityService"].full_name,
)
OPERATOR_NAME = "operator"


def assurance_terms(settings: Settings) -> AssuranceTerms:
    policy = Policy(
        settings.reclassify_threshold_permille, settings.reclassify_hysteresis_permille, settings.reclassify_hold
    )
    return AssuranceTerms(policy, settings.quality_horizon_windows, int(settings.quality_event_s * 1_000_000))


def tune_gc() -> None:
    """The engine holds many long-lived small objects (orders, book entries). CPython's
    default thresholds (a collection every 700 allocations) make it rescan them
    constantly; a larger young generation and freezing what start-up loaded cut the cost
    of an order by a third. `_steward_gc` keeps the books out of full collections.

    Only the young generations are collected first: a full collection over 10^6 restored
    orders took 1.1 s of a takeover, and what a restore leaves behind is freed by
    reference counting (a few cyclic leftovers frozen with the rest cost nothing)."""
    gc.collect(1)
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
    # Reads run on threads of their own; the event loop gets the interpreter back from
    # them every millisecond instead of every five, so calls wait less behind a read.
    sys.setswitchinterval(0.001)


def wall_clock() -> int:
    """Microseconds since the Unix epoch."""
    return time.time_ns() // 1000


@dataclass
class ExchangeServer:
    """A running exchange. `port` is the bound port (useful with port 0)."""

    server: grpc.aio.Server
    port: int
    store: Store
    sequencer: Sequencer
    health: HealthServicer
    operator_token_file: Path | None
    metrics_port: int
    api: Api
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    stopped: asyncio.Event = field(default_factory=asyncio.Event)
    stopping: asyncio.Task[None] | None = None  # the stop the sequencer asked for, kept alive
    generation: int = 0  # high availability: the lease this leader holds (0: not HA)
    settings: Settings | None = None
    lost_lease: bool = False

    def step_down(self) -> None:
        """The lease is lost: stop at once, committing nothing more (`ixchange serve` then
        exits with status 3, and its supervisor starts it again as a standby)."""
        self.lost_lease = True
        self.stopping = asyncio.get_running_loop().create_task(self.stop(0))

    async def stop(self, grace: float | None = 2.0) -> None:
        """Refuse new calls, let running ones finish for `grace` seconds, then close."""
        if self.stopped.is_set():
            return
        self.stopped.set()
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
        await self.sequencer.provisioner.stop()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.sequencer.close()
        self.api.auth.close()
        self.api.reads.close()
        if self.generation and not self.lost_lease and self.settings is not None:
            await asyncio.to_thread(standby.release, self.settings, self.store, self.generation)
        self.store.close()

    async def wait(self) -> None:
        await self.server.wait_for_termination()


async def create_server(
    settings: Settings,
    clock: Callable[[], int] = wall_clock,
    provisioner: Provisioner | None = None,
) -> ExchangeServer:
    """Open the store, rebuild the engine, bind the port and start serving."""
    check_startup(settings)
    private_dir(settings.data_dir)
    store = await asyncio.to_thread(Store, settings.resolved_database_url)
    provisioner = provisioner or HoldingProvisioner()
    keeper = None
    if settings.ha:
        bind = partial(_bind, settings=settings)
        keeper = await standby.wait_for_leadership(settings, store, bind, provisioner.standing_by)
    engine = ExchangeEngine(
        quote_ttl=int(settings.quote_ttl_s * 1_000_000),
        approval_ttl=int(settings.approval_ttl_s * 1_000_000),
        max_open_orders=settings.max_open_orders,
        max_live_quotes=settings.max_live_quotes,
    )
    engine.assurance = assurance_terms(settings)
    engine.swap_when_degraded = settings.swap_when_degraded
    engine.protection_percent = settings.protection_percent
    warm = keeper.warm if keeper is not None else None
    await asyncio.to_thread(store.restore, engine, clock(), warm)
    if keeper is not None and warm is not None:
        log.info("took over with the rows kept warm (%d read while standing by)", warm.rows_applied)
        keeper.warm = None
    tune_gc()
    metrics = ExchangeMetrics()
    metrics.watch_engine(lambda: len(engine.orders), lambda: len(engine.books), lambda: engine.deals.values())
    metrics_port = metrics.serve(settings.metrics_listen) if settings.metrics_listen else 0
    streams = StreamLimits(settings.max_streams_per_participant, settings.max_streams, settings.stream_queue)
    sequencer = Sequencer(engine, store, clock, provisioner, settings.max_batch, metrics, streams)
    tasks = [asyncio.create_task(sequencer.serve(), name="sequencer")]
    if not engine.parameters:
        await _seed_defaults(sequencer)
    await provisioner.start(sequencer)
    token_file = await asyncio.to_thread(_bootstrap_operator, store, settings, clock())

    calls = RateLimiter(settings.rate_limit, settings.rate_burst, "calls", "IXCHANGE_RATE_LIMIT")
    failures = RateLimiter(
        settings.auth_failures_per_s, 5 * settings.auth_failures_per_s, "failed logins", "IXCHANGE_AUTH_FAILURES_PER_S"
    )
    auth = Authenticator(store, calls, failures)
    await auth.reload()
    reads = ReadPool(settings.read_threads, settings.reads_per_participant)
    guard = Guard()
    backlog = Backlog(settings.max_orders_in_flight, settings.max_orders_queued, lambda: sequencer.pace)
    api = Api(sequencer, auth, reads, settings.report_min_deals, settings.heartbeat_s, guard, backlog)
    convert.configure_money(settings.currency, settings.currency_exponent)
    metrics.watch_fairness(calls, auth, sequencer.streams)
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", settings.max_message_bytes),
            # Without a limit, calls the loop cannot get to are cancelled by the transport,
            # unanswered; beyond it, HTTP/2 refuses them unprocessed (safe to retry).
            ("grpc.max_concurrent_streams", settings.max_calls_per_connection),
        ]
    )
    metrics.watch_guard(guard)
    guard.register(server, exchange_pb2_grpc.add_ExchangeServiceServicer_to_server, ExchangeServicer(api))
    guard.register(server, classes_pb2_grpc.add_ClassesServiceServicer_to_server, ClassesServicer(api))
    guard.register(server, participants_pb2_grpc.add_ParticipantsServiceServicer_to_server, ParticipantsServicer(api))
    guard.register(server, market_pb2_grpc.add_MarketServiceServicer_to_server, MarketServicer(api))
    guard.register(server, fabric_pb2_grpc.add_FabricServiceServicer_to_server, FabricServicer(api))
    guard.register(server, quality_pb2_grpc.add_QualityServiceServicer_to_server, QualityServicer(api))
    guard.register(server, continuity_pb2_grpc.add_ContinuityServiceServicer_to_server, ContinuityServicer(api))
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    reflection.enable(server, (*SERVICE_NAMES, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name))
    port = _bind(server, settings)
    await server.start()
    for name in ("", *SERVICE_NAMES):
        await health.set(name, health_pb2.HealthCheckResponse.SERVING)
    if keeper is not None:
        await keeper.stop_standing_by()  # this server answers on the address now
    running = ExchangeServer(server, port, store, sequencer, health, token_file, metrics_port, api, tasks)
    running.settings = settings

    def stop_on_store_failure(err: BaseException) -> None:
        if isinstance(err, Fenced):  # another process leads now: this one steps down
            running.step_down()
        else:
            running.stopping = asyncio.get_running_loop().create_task(running.stop(0))

    sequencer.on_failure = stop_on_store_failure
    if keeper is not None:
        running.generation = keeper.generation
        tasks.append(keeper.task)
        tasks.append(asyncio.create_task(keeper.step_down_when_lost(running.step_down), name="step-down"))
    tasks.append(asyncio.create_task(_expire_forever(sequencer, settings.expiry_interval_s), name="expiry"))
    tasks.append(asyncio.create_task(_steward_gc(), name="gc"))
    tasks.append(asyncio.create_task(auth.reload_forever(), name="token-reload"))
    return running


def check_startup(settings: Settings) -> None:
    """Refuse to start in a way that exposes the exchange: plaintext beyond loopback
    (unless told to), or secrets that other local users can read."""
    host = settings.listen.rpartition(":")[0].strip("[]")
    if not settings.tls_cert and not settings.insecure and not is_loopback(host):
        raise InvalidArgument(
            "IXCHANGE_LISTEN",
            f"{settings.listen} is reachable from other machines and TLS is off: give IXCHANGE_TLS_CERT and "
            "IXCHANGE_TLS_KEY, or --insecure (IXCHANGE_INSECURE=1) to serve plaintext anyway",
        )
    for setting, path in (
        ("IXCHANGE_TLS_KEY", settings.tls_key),
        ("IXCHANGE_CREDENTIALS_FILE", settings.credentials_file),
    ):
        if path and Path(path).exists() and Path(path).stat().st_mode & 0o077:
            raise InvalidArgument(
                setting,
                f"{path} can be read by other users (mode {Path(path).stat().st_mode & 0o777:o}); chmod 600 it",
            )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def private_dir(path: Path) -> None:
    """The data directory holds the database and credentials: its owner's only."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)


def _bind(server: grpc.aio.Server, settings: Settings) -> int:
    if not settings.tls_cert:
        return server.add_insecure_port(settings.listen)
    key = Path(settings.tls_key).read_bytes()
    cert = Path(settings.tls_cert).read_bytes()
    client_ca = Path(settings.tls_client_ca).read_bytes() if settings.tls_client_ca else None
    creds = grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=client_ca, require_client_auth=client_ca is not None
    )
    return server.add_secure_port(settings.listen, creds)


async def _seed_defaults(sequencer: Sequencer) -> None:
    """A new exchange gets the built-in parameters and the default class schemes."""

    def seed(engine: ExchangeEngine, now: int) -> None:
        for p in DEFAULT_PARAMETERS:
            engine.define_parameter(p)
        for s in DEFAULT_SCHEMES:
            engine.define_scheme(s, now)

    await sequencer.run(seed)


def _bootstrap_operator(store: Store, settings: Settings, now: int) -> Path | None:
    """On an empty database, create the operator and write its token to a file only the
    owner can read. The file is written first: if it cannot be, nothing is committed and
    the next start tries again (the other way round, the operator would exist with a
    token nobody has). Returns the file when one was written."""
    if store.participants():
        return None
    token = new_token()
    path = settings.operator_token_file
    private_dir(path.parent)
    staged = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        if path.is_dir() or (path.exists() and not os.access(path, os.W_OK)):
            raise IsADirectoryError(errno.EISDIR, f"{path.name} cannot be replaced")
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token + "\n")
            f.flush()
            os.fsync(f.fileno())
    except OSError as err:
        staged.unlink(missing_ok=True)
        raise InvalidArgument(
            "IXCHANGE_DATA_DIR", f"cannot write the operator credential in {path.parent}: {err.strerror}"
        ) from None
    operator = Participant(OPERATOR_NAME, frozenset({Role.OPERATOR}), False, "Exchange operator", now)
    try:
        created = store.bootstrap_operator(operator, token_hash(token), now)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    if not created:  # another process bootstrapped it first
        staged.unlink(missing_ok=True)
        return None
    os.replace(staged, path)
    return path


async def _steward_gc(freeze_every: float = 1.0, full_every: float = 600.0) -> None:
    """Keep collector pauses short while the books hold 10^5 orders: every second collect
    the young generations and freeze what survived, so full collections never rescan the
    books; every ten minutes unfreeze and collect everything, so cyclic garbage that aged
    before it died is still reclaimed."""
    loop = asyncio.get_running_loop()
    last_full = loop.time()
    while True:
        await asyncio.sleep(freeze_every)
        if loop.time() - last_full >= full_every:
            gc.unfreeze()
            gc.collect()
            last_full = loop.time()
        else:
            gc.collect(1)
        gc.freeze()


async def _expire_forever(sequencer: Sequencer, interval: float) -> None:
    """Take good-till-date orders off the book when their time comes, even on a quiet book."""
    while True:
        await asyncio.sleep(interval)
        await sequencer.run(lambda engine, now: engine.advance(now))
