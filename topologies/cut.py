"""Cut a lab link without losing carrier: every frame leaving either end is dropped
(nftables netdev egress hooks, which Open vSwitch's userspace datapath sends through),
so the link looks up to the kernel and the switches, and only BFD can tell. `mend` takes
the drops away. The lab's stand-in for a failed transponder or a dead far end.

    python -m topologies.cut cut s3-eth2 s1-eth3
    python -m topologies.cut mend s3-eth2 s1-eth3
"""

from __future__ import annotations

import argparse
import subprocess
import sys

TABLE = "ixlab_cut"


def cut(interfaces: list[str]) -> None:
    rules = [f"add table netdev {TABLE}"]
    for intf in interfaces:
        rules.append(
            f"add chain netdev {TABLE} {_chain(intf)} {{ type filter hook egress device {intf} priority 0 ; }}"
        )
        rules.append(f"add rule netdev {TABLE} {_chain(intf)} drop")
    subprocess.run(["nft", "-f", "-"], input="\n".join(rules) + "\n", text=True, check=True)


def mend(interfaces: list[str]) -> None:
    for intf in interfaces:
        subprocess.run(["nft", "delete", "chain", "netdev", TABLE, _chain(intf)], capture_output=True, check=False)


def _chain(intf: str) -> str:
    return "cut_" + intf.replace("-", "_")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m topologies.cut")
    parser.add_argument("action", choices=("cut", "mend"))
    parser.add_argument("interfaces", nargs="+")
    args = parser.parse_args(argv)
    (cut if args.action == "cut" else mend)(args.interfaces)
    return 0


if __name__ == "__main__":
    sys.exit(main())
