"""Deals and the bilateral agreements they are provisioned under."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from marketplace import limits
from marketplace.errors import InvalidArgument
from marketplace.orders import Route, ServiceType


class DealStatus(IntEnum):
    """Values match ixchange.v1.DealStatus."""

    PENDING_AGREEMENT = 1
    BROKERED = 2
    PROVISIONING = 3
    ACTIVE = 4
    PROVISIONING_FAILED = 5
    TERMINATING = 6
    TERMINATED = 7


# A deal in one of these holds capacity under its agreement.
CAPACITY_HOLDING = frozenset({DealStatus.BROKERED, DealStatus.PROVISIONING, DealStatus.ACTIVE, DealStatus.TERMINATING})
FINAL = frozenset({DealStatus.TERMINATED, DealStatus.PROVISIONING_FAILED})

# Which status may follow which. Provisioning (a later layer) drives most of these.
TRANSITIONS: dict[DealStatus, frozenset[DealStatus]] = {
    DealStatus.PENDING_AGREEMENT: frozenset({DealStatus.BROKERED, DealStatus.TERMINATED}),
    DealStatus.BROKERED: frozenset({DealStatus.PROVISIONING, DealStatus.TERMINATING, DealStatus.TERMINATED}),
    DealStatus.PROVISIONING: frozenset({DealStatus.ACTIVE, DealStatus.PROVISIONING_FAILED, DealStatus.TERMINATING}),
    DealStatus.ACTIVE: frozenset({DealStatus.TERMINATING}),
    DealStatus.TERMINATING: frozenset({DealStatus.TERMINATED}),
    DealStatus.PROVISIONING_FAILED: frozenset(),
    DealStatus.TERMINATED: frozenset(),
}


@dataclass(slots=True, eq=False)
class Deal:
    """One match: `circuits` circuits of the offer sold to the request at `price` each."""

    deal_id: int
    offer_order_id: int
    request_order_id: int
    seller: str
    buyer: str
    service_type: ServiceType
    route: Route
    capacity_kbps: int
    circuits: int
    price: int
    class_scheme: str
    scheme_version: int
    grade: str
    agreement_id: int
    status: DealStatus
    status_reason: str
    created_at: int
    updated_at: int
    ends_at: int = 0  # the request's service end: terminated then (0: only by a party)
    replaces: int = 0  # a seller swap: the deal this one takes the buyer's service over from
    replaced_by: int = 0  # the swap deal that took this one's service over (or is taking it)
    protection_price: int = 0  # per circuit, on top of `price`, while protected (0: unprotected)

    @property
    def rate_kbps(self) -> int:
        """Capacity the deal uses under its agreement."""
        return self.capacity_kbps * self.circuits

    def state(self) -> tuple[int, DealStatus, str, int]:
        """The fields that change after the match, as one cheap tuple (for events)."""
        return (self.agreement_id, self.status, self.status_reason, self.updated_at)

    def snapshot(self, state: tuple[int, DealStatus, str, int] | None = None) -> Deal:
        """A copy frozen at this moment, or as it was at `state` (from `state()`)."""
        agreement_id, status, status_reason, updated_at = state or self.state()
        return Deal(
            self.deal_id,
            self.offer_order_id,
            self.request_order_id,
            self.seller,
            self.buyer,
            self.service_type,
            self.route,
            self.capacity_kbps,
            self.circuits,
            self.price,
            self.class_scheme,
            self.scheme_version,
            self.grade,
            agreement_id,
            status,
            status_reason,
            self.created_at,
            updated_at,
            self.ends_at,
            self.replaces,
            self.replaced_by,
            self.protection_price,
        )


class Party(IntEnum):
    """Values match ixchange.v1.Party."""

    BUYER = 1
    SELLER = 2


@dataclass(frozen=True, slots=True)
class Interconnect:
    """Where one party hands off traffic: node, port, and the VLANs it may use there."""

    party: Party
    node: str
    port: str
    vlan_min: int
    vlan_max: int


@dataclass(frozen=True, slots=True)
class Agreement:
    """A pre-determined bilateral agreement between a buyer and a seller."""

    agreement_id: int
    reference: str
    buyer: str
    seller: str
    interconnects: tuple[Interconnect, ...]
    max_rate_kbps: int
    terms: str
    created_at: int

    def same_terms(self, other: Agreement) -> bool:
        """Equal apart from id and time: a retried registration."""
        return (self.reference, self.buyer, self.seller, self.interconnects, self.max_rate_kbps, self.terms) == (
            other.reference,
            other.buyer,
            other.seller,
            other.interconnects,
            other.max_rate_kbps,
            other.terms,
        )


def validate_agreement(a: Agreement) -> None:
    """Reject an agreement that provisioning could not follow."""
    limits.AGREEMENT_REFERENCE.check("agreement.reference", a.reference)
    limits.PARTICIPANT_NAME.check("agreement.buyer", a.buyer)
    limits.PARTICIPANT_NAME.check("agreement.seller", a.seller)
    if a.buyer == a.seller:
        raise InvalidArgument("agreement.seller", "must differ from agreement.buyer")
    if not 1 <= a.max_rate_kbps <= 10**12:
        raise InvalidArgument("agreement.max_rate_kbps", "must be 1..10^12")
    limits.TERMS.check("agreement.terms", a.terms)
    if len(a.interconnects) > limits.MAX_INTERCONNECTS:
        raise InvalidArgument("agreement.interconnects", f"at most {limits.MAX_INTERCONNECTS}")
    parties = set()
    for i, ic in enumerate(a.interconnects):
        where = f"agreement.interconnects[{i}]"
        if ic.party not in (Party.BUYER, Party.SELLER):
            raise InvalidArgument(f"{where}.party", "must be BUYER or SELLER")
        limits.NODE_NAME.check(f"{where}.node", ic.node)
        limits.NODE_NAME.check(f"{where}.port", ic.port)
        if not 1 <= ic.vlan_min <= ic.vlan_max <= 4094:
            raise InvalidArgument(f"{where}.vlan_min", "VLANs must satisfy 1 <= vlan_min <= vlan_max <= 4094")
        parties.add(ic.party)
    if parties != {Party.BUYER, Party.SELLER}:
        raise InvalidArgument("agreement.interconnects", "need at least one BUYER and one SELLER interconnect")
