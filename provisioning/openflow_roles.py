"""OpenFlow controller roles for high availability (issue 16, item 2).

Every exchange process connects to every switch; only the leader may change them. The
leader asks each switch for the MASTER role with its lease's fencing generation as the
role generation id; a standby asks for SLAVE with the generation of the leader it knows
of. The switch does the fencing: it refuses a slave's flow-mods, meter-mods and
packet-outs (OFPBRC_IS_SLAVE), refuses a MASTER or SLAVE request whose generation is older
than the newest it has seen (OFPRRFC_STALE), and turns the previous master into a slave
when a new one takes over (telling it with a role status message on OpenFlow 1.4). So a
leader that was paused past its lease cannot touch the network after the takeover, even if
it sends something before it learns it lost the lease.

Without high availability no role is asked for: the single controller keeps OpenFlow's
default, EQUAL, as before."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MASTER, SLAVE, EQUAL = "master", "slave", "equal"
# OFPCR_ROLE_* (the same numbers in OpenFlow 1.3 and 1.4)
ROLE_CODE = {EQUAL: 1, MASTER: 2, SLAVE: 3}
ROLE_NAME = {code: name for name, code in ROLE_CODE.items()}
ROLE_REQUEST_FAILED = 11  # OFPET_ROLE_REQUEST_FAILED
ROLE_FAILURES = {0: "stale generation (OFPRRFC_STALE)", 1: "roles unsupported (OFPRRFC_UNSUP)", 2: "bad role"}
BAD_REQUEST, IS_SLAVE = 1, 10  # OFPET_BAD_REQUEST, OFPBRC_IS_SLAVE
GENERATION_MAX = 2**64 - 1  # the role request's generation_id is 64 bits


@dataclass(frozen=True, slots=True)
class Role:
    name: str  # master, slave or equal
    generation: int

    def __post_init__(self) -> None:
        if self.name not in ROLE_CODE:
            raise ValueError(f"no OpenFlow role {self.name[:20]!r}: master, slave or equal")
        if not 0 <= self.generation <= GENERATION_MAX:
            raise ValueError(f"role generation {self.generation} does not fit OpenFlow's 64 bits")


def role_request(dp: Any, role: Role) -> Any:
    """The role request for one switch connection."""
    return dp.ofproto_parser.OFPRoleRequest(dp, ROLE_CODE[role.name], role.generation)


def error_text(type_: int, code: int) -> str | None:
    """Words for the role errors; None for any other error."""
    if type_ == ROLE_REQUEST_FAILED:
        return f"role request refused: {ROLE_FAILURES.get(code, f'code {code}')}"
    if type_ == BAD_REQUEST and code == IS_SLAVE:
        return "refused: this controller is the switch's slave, not its master (OFPBRC_IS_SLAVE)"
    return None


def superseded(wanted: Role | None, told: Role) -> bool:
    """A switch says this controller is a slave (a role status) while it means to be
    master: another controller took over with a newer generation."""
    return wanted is not None and wanted.name == MASTER and told.name == SLAVE
