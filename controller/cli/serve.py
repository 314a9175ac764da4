"""`ixchange serve`: the exchange, and the OpenFlow controller for its fabric."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from controller.cli.common import console, err_console
from marketplace.settings import Settings


def add_parsers(sub: Any) -> None:
    serve = sub.add_parser("serve", help="run the exchange")
    serve.add_argument("--listen", help="host:port to listen on (IXCHANGE_LISTEN)")
    serve.add_argument("--database-url", help="SQLAlchemy URL (IXCHANGE_DATABASE_URL); default embedded SQLite")
    serve.add_argument("--tls-cert", help="PEM certificate (IXCHANGE_TLS_CERT)")
    serve.add_argument("--tls-key", help="PEM private key (IXCHANGE_TLS_KEY)")
    serve.add_argument("--tls-client-ca", help="CA for client certificates: mutual TLS (IXCHANGE_TLS_CLIENT_CA)")
    serve.add_argument("--metrics-listen", help="Prometheus host:port, empty for none (IXCHANGE_METRICS_LISTEN)")
    serve.add_argument("--topology", help="fabric topology TOML to load and store (IXCHANGE_TOPOLOGY)")
    serve.add_argument("--openflow-listen", help="OpenFlow host:port (IXCHANGE_OPENFLOW_LISTEN)")
    serve.add_argument("--no-controller", action="store_true", help="run the exchange alone: deals stay BROKERED")
    serve.add_argument(
        "--insecure",
        action="store_true",
        default=None,
        help="serve plaintext gRPC on an address beyond loopback (IXCHANGE_INSECURE); use TLS instead",
    )
    serve.add_argument(
        "--portal",
        action="store_true",
        help="also run the web portal beside it, as its own process (`ixchange portal`; `make run` does)",
    )
    serve.set_defaults(run_local=cmd_serve)


STEPPED_DOWN = 3  # exit status: lost the leader's lease (high availability)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from marketplace.api.listen import ListenError, check_free
    from marketplace.api.server import create_server
    from provisioning.monitor import TermsError, load_terms

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        check_free("IXCHANGE_LISTEN", settings.listen)
        if settings.metrics_listen:
            check_free("IXCHANGE_METRICS_LISTEN", settings.metrics_listen)
        controller = not args.no_controller and (settings.topology or _has_stored_topology(settings))
        if controller:
            check_free("IXCHANGE_OPENFLOW_LISTEN", settings.openflow_listen)
        if settings.measurement:
            load_terms(Path(settings.measurement))  # refused before anything is opened
    except ListenError as err:
        err_console.print(f"[red]cannot start[/]: {err}", soft_wrap=True)
        return 2
    except TermsError as err:
        err_console.print(f"[red]cannot start[/]: IXCHANGE_MEASUREMENT: {err}", soft_wrap=True)
        return 2
    provisioner = None if args.no_controller else fabric_provisioner(settings)

    async def main() -> None:
        with console.status("opening the store and rebuilding the books..."):
            server = await create_server(settings, provisioner=provisioner)
        console.print(
            f"[bold green]ixchange[/] listening on [bold]{settings.listen.rsplit(':', 1)[0]}:{server.port}[/]"
            f" ({'TLS' if settings.tls_cert else 'plaintext'}"
            f"{', mutual TLS' if settings.tls_client_ca else ''})"
        )
        console.print(f"database: [bold]{server.store.describe()}[/]")
        if server.metrics_port:
            host = settings.metrics_listen.rpartition(":")[0]
            console.print(f"metrics: http://{host}:{server.metrics_port}/metrics")
        if server.operator_token_file:
            console.print(
                f"new exchange: operator credential written to [bold]{server.operator_token_file}[/]"
                " (mode 0600; the CLI reads it from there)"
            )
        else:
            console.print(f"operator credential: {settings.operator_token_file}")
        if provisioner is not None:
            nodes = provisioner.inventory.nodes
            console.print(
                f"OpenFlow controller on [bold]{settings.openflow_listen}[/]; fabric: {len(nodes)} nodes, "
                f"{len(provisioner.inventory.links)} links, {len(provisioner.inventory.attachments)} attachments"
            )
        elif args.no_controller:
            console.print("no controller (--no-controller): deals stay BROKERED")
        else:
            console.print("no fabric topology (give --topology FILE once): no controller, deals stay BROKERED")
        console.print(
            f"books: {len(server.sequencer.engine.books)}, open orders: "
            f"{len(server.sequencer.engine.orders)}; Ctrl-C stops"
        )
        portal = start_portal(settings, server.port) if args.portal else None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda: loop.create_task(server.stop(5)))
        try:
            await server.wait()
            await server.stop(0)
        finally:
            if portal is not None:
                portal.terminate()
                await asyncio.to_thread(portal.wait, 10)
        if server.lost_lease:
            # Nothing more was committed (store writes are fenced); the supervisor (systemd's
            # Restart=, or a loop) starts it again and it stands by.
            raise SystemExit(STEPPED_DOWN)
        if server.sequencer.failed is not None:
            raise SystemExit(f"stopped: store failure: {server.sequencer.failed}")

    asyncio.run(main())
    return 0


def start_portal(settings: Settings, port: int) -> subprocess.Popen[bytes]:
    """`ixchange portal` as a process of its own (a busy portal never slows the exchange's
    event loop), pointed at this exchange; it prints its URL."""
    host = settings.listen.rsplit(":", 1)[0].strip("[]")
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    env = {**os.environ, "IXCHANGE_SERVER": target, "IXCHANGE_DATA_DIR": str(settings.data_dir)}
    return subprocess.Popen([sys.executable, "-m", "controller.cli", "portal"], env=env)


def _has_stored_topology(settings: Settings) -> bool:
    from marketplace.store import Store

    if not settings.database_url and not (settings.data_dir / "ixchange.db").exists():
        return False
    store = Store(settings.resolved_database_url)
    try:
        return store.topology() is not None
    finally:
        store.close()


def fabric_provisioner(settings: Settings) -> Any:
    """The provisioner for the fabric in the topology file (stored for next time) or in
    the store; None when there is no topology yet. Starts the OpenFlow controller."""
    from controller.runtime import start_controller
    from marketplace.store import Store
    from provisioning.inventory import load_inventory
    from provisioning.monitor import load_terms
    from provisioning.openflow import OpenFlowDriver
    from provisioning.routers import Credentials, RouterDrivers
    from provisioning.service import FabricProvisioner, ProvisioningSettings

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(settings.resolved_database_url)
    try:
        if settings.topology:
            text = Path(settings.topology).read_text()
            inventory = load_inventory(text)
            if store.save_topology(text, time.time_ns() // 1000):
                console.print(f"topology loaded from {settings.topology} and stored")
        else:
            stored = store.topology()
            if stored is None:
                return None
            inventory = load_inventory(stored)
    finally:
        store.close()
    credentials = Credentials(Path(settings.credentials_file) if settings.credentials_file else None)
    driver = OpenFlowDriver()
    host, _, port = settings.openflow_listen.rpartition(":")
    start_controller(driver, int(port), host)
    options = ProvisioningSettings(
        probe_timeout_s=settings.probe_timeout_s,
        switch_wait_s=settings.switch_wait_s,
        traffic_poll_s=settings.traffic_poll_s,
        measurement_terms=load_terms(Path(settings.measurement)) if settings.measurement else {},
        probe_interval_s=settings.probe_interval_s,
        verify_offers=settings.verify_offers,
        verification_s=settings.verification_s,
        reverify_s=settings.reverify_s,
        drain_s=settings.swap_drain_ms / 1000,
    )
    return FabricProvisioner(inventory, driver, RouterDrivers(credentials), options)
