"""High availability in the Mininet lab (issue 16): kill -9 of the leader exchange to (a)
the OpenFlow MASTER role of every lab switch moved to the new leader — as the new leader's
controller saw the switches' role replies (its log), and as Open vSwitch's database shows
it (`ovs-vsctl list controller`, which lags) — and (b) the first acknowledged order on the
new leader. A fresh `ixchange lab up --ha` per kill (root; the test suite's private
PostgreSQL, a fresh database each).

`python -m bench.lab_failover [--kills 10]`"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import grpc
from ixchange.v1 import common_pb2, exchange_pb2

from bench.failover import database
from controller.lab_ha import all_in_role
from topologies.driver import QUALITY
from topologies.driver import LabDriver as Lab

LEASE_S = 1.5


def next_port(address: str) -> str:
    host, _, port = address.rpartition(":")
    return f"{host}:{int(port) + 1}"


def one_kill() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        lab = Lab.up(
            Path(tmp), settings={"IXCHANGE_DATABASE_URL": database(), "IXCHANGE_HA_LEASE_S": str(LEASE_S)}, ha=True
        )
        try:
            standby_of = next_port(lab.env["IXCHANGE_OPENFLOW_LISTEN"])
            lab.follow(next_port(lab.server))  # the standby's address: where orders go after the kill
            stub, auth = lab.stub("seller-a")
            request = exchange_pb2.SubmitOfferRequest(
                client_order_id=uuid.uuid4().hex,
                service_type=common_pb2.SERVICE_TYPE_ETHERNET_ELINE,
                route=common_pb2.Route(a_end="LAB1", z_end="SELLER-A"),
                capacity_kbps=10_000,
                circuits=1,
                values=QUALITY,
                price=100,
                grade="platinum",
            )
            killed_wall = time.time()
            killed = time.monotonic()
            os.kill(lab.exchange_pid(), signal.SIGKILL)
            acked = master_db = 0.0
            while not (acked and master_db):
                if not acked:
                    try:
                        stub.SubmitOffer(request, metadata=auth, timeout=1)
                        acked = time.monotonic() - killed
                    except grpc.RpcError:
                        pass
                if not master_db and all_in_role(standby_of, "master"):
                    master_db = time.monotonic() - killed
                if time.monotonic() - killed > 60:
                    raise RuntimeError("no failover within 60 s")
                time.sleep(0.02)
            log = (Path(tmp) / "run" / "exchange-standby.log").read_text()
            stamps = re.findall(
                r"^(\S+ \S+) INFO provisioning.openflow: switch 0x[123]: this controller is master", log, re.M
            )
            assert len(stamps) >= 3, log[-2000:]
            last = max(datetime.strptime(s, "%Y-%m-%d %H:%M:%S,%f").timestamp() for s in stamps[:3])
            return {"master_moved_s": last - killed_wall, "master_in_ovsdb_s": master_db, "first_ack_s": acked}
        finally:
            lab.down()


def main(kills: int = 10) -> list[dict[str, Any]]:
    runs = []
    for n in range(kills):
        runs.append(one_kill())
        print(f"kill {n + 1}: " + ", ".join(f"{k} {v:.2f}" for k, v in runs[-1].items()), flush=True)
    rows = []
    for key in ("master_moved_s", "master_in_ovsdb_s", "first_ack_s"):
        values = sorted(r[key] for r in runs)
        rows.append(
            {
                "bench": "lab_failover",
                "name": key,
                "kills": kills,
                "p50_s": round(statistics.median(values), 2),
                "p95_s": round(values[min(len(values) - 1, int(0.95 * len(values)))], 2),
                "min_s": round(values[0], 2),
                "max_s": round(values[-1], 2),
            }
        )
    for row in rows:
        print(row, flush=True)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10)
    main(parser.parse_args().kills)
