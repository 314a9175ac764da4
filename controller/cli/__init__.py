"""`ixchange`: run the exchange and trade on it from the command line.

One module per command group (serve, trading, deals, market, classes, participants, lab,
completion); common.py holds the client plumbing and output. A new group is a new module
with `add_parsers(sub)`, its handlers registered by `set_defaults(run=...)` (called with the
parsed arguments and a Client) or `run_local=...` (arguments and settings, no server call)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import grpc

from controller.cli import (
    batch,
    classes,
    completion,
    continuity,
    deals,
    lab,
    market,
    participants,
    portal,
    quality,
    reflector,
    serve,
    trading,
)
from controller.cli.common import OUTPUTS, Client, CliError, Output, err_console
from marketplace.errors import DomainError
from marketplace.settings import load_settings

GROUPS = (
    serve,
    portal,
    trading,
    batch,
    deals,
    continuity,
    quality,
    market,
    classes,
    participants,
    lab,
    reflector,
    completion,
)
SETTING_FLAGS = (
    "listen",
    "database_url",
    "tls_cert",
    "tls_key",
    "tls_client_ca",
    "metrics_listen",
    "topology",
    "openflow_listen",
    "insecure",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ixchange", description="Open exchange for telecommunications services.")
    parser.add_argument("--server", help="address of the exchange (IXCHANGE_SERVER)")
    parser.add_argument("--data-dir", type=Path, help="database and credentials folder (IXCHANGE_DATA_DIR)")
    parser.add_argument("--as", dest="as_name", metavar="NAME", help="act as this participant (saved credential)")
    output_help = "table (default, for people) or json (proto field names, for scripts)"
    parser.add_argument("-o", "--output", choices=OUTPUTS, default="table", help=output_help)
    sub = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.add_parsers(sub)
    # `ixchange deals -o json` as well as `ixchange -o json deals`.
    for command in sub.choices.values():
        command.add_argument("-o", "--output", choices=OUTPUTS, default=argparse.SUPPRESS, help=output_help)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    Output.json = args.output == "json"
    try:
        overrides = {"server": args.server, "data_dir": args.data_dir}
        overrides.update({k: getattr(args, k, None) for k in SETTING_FLAGS})
        settings = load_settings(**overrides)
        if hasattr(args, "run_local"):
            code: int = args.run_local(args, settings)
            return code
        participants.check_args(args)
        code = args.run(args, Client(settings, args.as_name))
        return code
    except grpc.RpcError as err:
        err_console.print(f"[red]{err.code().name}[/]: {err.details()}", soft_wrap=True)  # type: ignore[attr-defined]
        return 1
    except (CliError, DomainError) as err:
        err_console.print(f"[red]error[/]: {err}", soft_wrap=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
