"""`ixchange lab up|down|restart-exchange|status|impair|env|exec`: the Mininet lab, run
by controller/lab.py, with its own data directory and addresses."""

from __future__ import annotations

import argparse
import shlex
from dataclasses import replace
from typing import Any

from controller.cli.common import CliError, console, emit, say
from controller.lab_ha import standby_settings as lab_standby_settings
from marketplace.settings import Settings

# The walkthrough a reader follows after `lab up`; printed unwrapped, one command a line.
TRADE_HINT = (
    'eval "$(ixchange lab env)"      # this shell now talks to the lab\'s exchange',
    "ixchange --as seller-a offer --route LAB1:LAB2 --capacity 10M --price 100 --grade gold "
    "--value latency_us=4000 --value jitter_us=300 --value loss_ppm=5 --value availability_ppm=999995",
    "ixchange --as buyer-a request --route LAB1:LAB2 --capacity 10M --limit 100 --grade gold",
    "sleep 15                        # the offer is listed once seller-a's service is measured",
    "ixchange lab exec ba ping -c 3 10.0.1.2      # buyer-a's host to seller-a's",
    "ixchange lab down",
)


def add_parsers(sub: Any) -> None:
    lab = sub.add_parser(
        "lab",
        help="the Mininet + Open vSwitch lab (root): up, down, restart-exchange, status, impair, env, exec HOST CMD",
    )
    lab_sub = lab.add_subparsers(dest="action", required=True)
    lab_up = lab_sub.add_parser(
        "up", help="start Open vSwitch, a fresh lab network and its exchange (refused while a lab is up)"
    )
    lab_up.add_argument("--no-exchange", action="store_true", help="only the network; run `ixchange serve` yourself")
    lab_up.add_argument(
        "--ha",
        action="store_true",
        help="two exchanges, a leader and a standby, on the PostgreSQL database of IXCHANGE_DATABASE_URL "
        "(IXCHANGE_HA); the standby listens one port above the leader",
    )
    lab_sub.add_parser("down", help="stop the exchange and the lab network")
    lab_sub.add_parser(
        "restart-exchange", help="stop and start the lab's exchange only; the network and the deals stay"
    )
    lab_sub.add_parser("status", help="the lab's participants, VLANs and addresses, and what is running")
    lab_sub.add_parser("env", help='print the shell lines that point ixchange at the lab: eval "$(ixchange lab env)"')
    lab_impair = lab_sub.add_parser(
        "impair",
        help="delay, jitter and loss on a seller's network segment, while traffic flows (no option: show it)",
    )
    lab_impair.add_argument("seller", help="seller-a, seller-b or seller-r")
    lab_impair.add_argument("--delay", type=duration_us, help="each way, e.g. 12ms or 500us")
    lab_impair.add_argument("--jitter", type=duration_us, help="± this around the delay (uniform), e.g. 2ms")
    lab_impair.add_argument("--loss", type=loss_ppm, help="each way, e.g. 0.5%% or 5000ppm")
    lab_impair.add_argument("--clear", action="store_true", help="no delay, jitter or loss")
    lab_exec = lab_sub.add_parser("exec", help="run a command on a lab host (ba, bb, sa, sb, sr, r1)")
    lab_exec.add_argument("host")
    lab_exec.add_argument("command_line", nargs=argparse.REMAINDER)
    lab.set_defaults(run_local=cmd_lab)


def duration_us(text: str) -> int:
    """12ms, 1.5ms, 500us, 0 -> microseconds."""
    for suffix, scale in (("ms", 1000), ("us", 1), ("s", 1_000_000)):
        if text.endswith(suffix):
            return _scaled(text[: -len(suffix)], scale, text)
    return _scaled(text, 1000, text) if text == "0" else _bad(text, "a duration such as 12ms or 500us")


def loss_ppm(text: str) -> int:
    """0.5%, 5000ppm -> parts per million."""
    if text.endswith("%"):
        value = _scaled(text[:-1], 10_000, text)
    elif text.endswith("ppm"):
        value = _scaled(text[:-3], 1, text)
    else:
        value = _bad(text, "a share such as 0.5% or 5000ppm")
    if value > 1_000_000:
        _bad(text, "at most 100%")
    return value


def _scaled(number: str, scale: int, text: str) -> int:
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if not value >= 0 or value * scale > 2**31:
        _bad(text, "a number >= 0")
    return round(value * scale)


def _bad(text: str, wanted: str) -> int:
    raise argparse.ArgumentTypeError(f"{text[:20]!r}: expected {wanted}")


def _impairment_text(seller: str, reply: dict[str, Any]) -> str:
    imp = reply["impairment"]
    ways = reply["ways"]
    counts = "; ".join(
        f"{'from the seller' if name.endswith('eth0') else 'towards the seller'}: "
        f"{w['forwarded']} frames forwarded, {w['dropped']} dropped"
        for name, w in sorted(ways.items())
    )
    return (
        f"{seller}'s segment: delay {imp['delay_us'] / 1000:g} ms ± {imp['jitter_us'] / 1000:g} ms, "
        f"loss {imp['loss_ppm'] / 10_000:g} % each way; {counts}"
    )


def cmd_lab(args: argparse.Namespace, settings: Settings) -> int:
    from controller import lab

    try:
        if args.action == "up":
            if args.ha:
                settings = replace(settings, ha=True)
            info = lab.up(settings, with_exchange=not args.no_exchange)
            if settings.ha and not args.no_exchange:
                standby = lab_standby_settings(settings)
                say(f"high availability: standby exchange at {standby.lab_listen} (OpenFlow {standby.openflow_listen})")
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
        elif args.action == "impair":
            changes = {"delay_us": 0, "jitter_us": 0, "loss_ppm": 0} if args.clear else {}
            for name, value in (("delay_us", args.delay), ("jitter_us", args.jitter), ("loss_ppm", args.loss)):
                if value is not None:
                    changes[name] = value
            reply = lab.impair(settings, args.seller, changes)
            emit(reply, lambda: say(_impairment_text(args.seller, reply)))
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
