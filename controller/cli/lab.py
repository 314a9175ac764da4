"""`ixchange lab up|down|restart-exchange|status|env|exec`: the Mininet lab, run by
controller/lab.py, with its own data directory and addresses."""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from controller.cli.common import CliError, console, emit, say
from marketplace.settings import Settings

# The walkthrough a reader follows after `lab up`; printed unwrapped, one command a line.
TRADE_HINT = (
    'eval "$(ixchange lab env)"      # this shell now talks to the lab\'s exchange',
    "ixchange --as seller-a offer --route LAB1:LAB2 --capacity 10M --price 100 --grade platinum "
    "--value latency_us=4000 --value jitter_us=300 --value loss_ppm=5 --value availability_ppm=999995",
    "ixchange --as buyer-a request --route LAB1:LAB2 --capacity 10M --limit 100 --grade platinum",
    "ixchange lab exec ba ping -c 3 10.0.1.2      # buyer-a's host to seller-a's",
    "ixchange lab down",
)


def add_parsers(sub: Any) -> None:
    lab = sub.add_parser(
        "lab", help="the Mininet + Open vSwitch lab (root): up, down, restart-exchange, status, env, exec HOST CMD"
    )
    lab_sub = lab.add_subparsers(dest="action", required=True)
    lab_up = lab_sub.add_parser(
        "up", help="start Open vSwitch, a fresh lab network and its exchange (refused while a lab is up)"
    )
    lab_up.add_argument("--no-exchange", action="store_true", help="only the network; run `ixchange serve` yourself")
    lab_sub.add_parser("down", help="stop the exchange and the lab network")
    lab_sub.add_parser(
        "restart-exchange", help="stop and start the lab's exchange only; the network and the deals stay"
    )
    lab_sub.add_parser("status", help="the lab's participants, VLANs and addresses, and what is running")
    lab_sub.add_parser("env", help='print the shell lines that point ixchange at the lab: eval "$(ixchange lab env)"')
    lab_exec = lab_sub.add_parser("exec", help="run a command on a lab host (ba, bb, sa, sb, sr, r1)")
    lab_exec.add_argument("host")
    lab_exec.add_argument("command_line", nargs=argparse.REMAINDER)
    lab.set_defaults(run_local=cmd_lab)


def cmd_lab(args: argparse.Namespace, settings: Settings) -> int:
    from controller import lab

    try:
        if args.action == "up":
            info = lab.up(settings, with_exchange=not args.no_exchange)
            say(
                f"[bold green]lab up[/]: switches s1 s2 s3 (userspace Open vSwitch, all connected), router r1 over "
                f"SSH at {info['router']}, hosts {', '.join(sorted(info['hosts']))}; exchange at "
                f"{settings.lab_listen}, data in {settings.lab_dir}"
            )
            console.print(lab.pairs_table())
            say("Try it:")
            for line in TRADE_HINT:
                say(f"  {line}")
        elif args.action == "down":
            stopped = lab.down(settings)
            say(f"lab down: stopped {', '.join(stopped) or 'nothing (it was not running)'}")
        elif args.action == "restart-exchange":
            lab.restart_exchange(settings)
            say(f"lab exchange restarted at {settings.lab_listen}; the switches reconnected and were reconciled")
        elif args.action == "status":
            running = lab.running(settings)
            emit(running, lambda: (console.print(lab.pairs_table()), say(_running_text(running))))
        elif args.action == "env":
            for key, value in lab.client_env(settings).items():
                print(f"export {key}={shlex.quote(value)}")
        else:
            if not args.command_line:
                raise CliError("lab exec HOST COMMAND...: give a command")
            return lab.run_on(settings, args.host, args.command_line).returncode
    except lab.LabError as err:
        console.print(f"[red]error:[/] {err}", soft_wrap=True)
        return 2
    return 0


def _running_text(running: dict[str, Any]) -> str:
    parts = [f"{what}: {'pid ' + str(pid) if pid else 'not running'}" for what, pid in running["processes"].items()]
    return "; ".join(parts) + f"; exchange at {running['server']}, data in {running['data_dir']}"
