"""`ixchange reflector`: a STAMP Session-Reflector (RFC 8762) for a seller's far end, so
the exchange can measure the service it sells (any RFC 8762 reflector does as well)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from typing import Any

from controller.cli.common import console, err_console
from controller.stamp_packets import PORT
from marketplace.settings import Settings


def add_parsers(sub: Any) -> None:
    reflector = sub.add_parser("reflector", help="answer the exchange's STAMP probes (a seller's far end)")
    reflector.add_argument("--listen", default=f"0.0.0.0:{PORT}", help=f"UDP host:port (default 0.0.0.0:{PORT})")
    reflector.set_defaults(run_local=cmd_reflector)


def cmd_reflector(args: argparse.Namespace, settings: Settings) -> int:
    from controller.stamp import Reflector

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    host, _, port = args.listen.rpartition(":")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        err_console.print(f"[red]--listen[/]: expected host:port, got {args.listen[:40]!r}")
        return 2

    async def main() -> None:
        reflector = Reflector(host or "0.0.0.0", int(port))
        try:
            reflector.start()
        except OSError as err:
            err_console.print(f"[red]cannot listen on {args.listen}[/]: {err.strerror}")
            raise SystemExit(2) from None
        bound_host, bound_port = reflector.address
        console.print(f"STAMP reflector on [bold]{bound_host}:{bound_port}[/] (UDP); Ctrl-C stops it")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 60)
                logging.getLogger(__name__).info(
                    "reflected %d probes, %d malformed", reflector.reflected, reflector.malformed
                )
        finally:
            reflector.close()

    asyncio.run(main())
    return 0
