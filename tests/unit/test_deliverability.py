"""The matcher asks whether the network can carry a match before it strikes it: an
undeliverable offer is passed over as a self-trade is, a deliverable one is always taken;
the fabric planner answers from the intent compiler's own admission, and reserves what a
struck deal will need until provisioning takes over."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.deals import Agreement, Deal, DealStatus, Interconnect, Party
from marketplace.engine import ExchangeEngine
from marketplace.orders import Route, ServiceType
from provisioning.fabric_state import FabricState
from provisioning.intent import Intent, compile_intent
from provisioning.inventory import load_inventory
from provisioning.planner import FabricPlanner
from tests.unit.factories import G, new_engine, offer, request
from tests.unit.test_intent import RING

SELLERS = ("s1", "s2", "s3")


def agreement(seller: str, ref: str = "", max_rate: int = 1000 * G) -> Agreement:
    ends = (Interconnect(Party.BUYER, "sw1", "1", 100, 199), Interconnect(Party.SELLER, "sw2", "2", 100, 199))
    return Agreement(0, ref or f"AG-{seller}", "b1", seller, ends, max_rate, "", 0)


class Refusing:
    """A network that cannot carry deals with some sellers."""

    def __init__(self, refused: set[str]) -> None:
        self.refused = refused
        self.reserved: list[int] = []
        self.released: list[int] = []

    def check(
        self, buyer: str, seller: str, rate_kbps: int, agreements: Sequence[Agreement], use: Mapping[int, int]
    ) -> Agreement | str:
        return f"{seller}'s hand-off is full" if seller in self.refused else agreements[0]

    def check_swap(
        self, replaced: int, seller: str, agreements: Sequence[Agreement], use: Mapping[int, int]
    ) -> Agreement | str:
        return self.check("", seller, 0, agreements, use)

    def reserve(self, deal: Deal, agreements: Sequence[Agreement], use: Mapping[int, int]) -> Agreement | None:
        if deal.seller in self.refused:
            return None
        self.reserved.append(deal.deal_id)
        return agreements[0]

    def release(self, deal_id: int) -> None:
        self.released.append(deal_id)

    def provisioning_p50_ms(self) -> int:
        return 42


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(SELLERS), st.integers(900, 1000), st.integers(1, 3)), min_size=1, max_size=12),
    st.sets(st.sampled_from(SELLERS)),
    st.integers(1, 20),
)
def test_an_undeliverable_offer_is_never_matched_and_a_deliverable_one_always_is(
    offers: list[tuple[str, int, int]], refused: set[str], wanted: int
) -> None:
    engine = new_engine()
    engine.deliverability = Refusing(refused)
    for seller in SELLERS:
        engine.register_agreement(agreement(seller), 0)
    for seller, price, circuits in offers:
        engine.submit(offer(seller, price=price, circuits=circuits), 1)
    deals = engine.submit(request(limit=1000, circuits=wanted), 2).deals
    assert all(d.seller not in refused for d in deals)
    deliverable = sum(c for s, _, c in offers if s not in refused)
    assert sum(d.circuits for d in deals) == min(wanted, deliverable)


def test_the_quote_shows_only_deliverable_fills_and_how_long_provisioning_takes() -> None:
    engine = new_engine()
    engine.deliverability = Refusing({"s1"})
    for seller in ("s1", "s2"):
        engine.register_agreement(agreement(seller), 0)
    engine.submit(offer("s1", price=900), 1)  # cheaper, but the network cannot carry it
    engine.submit(offer("s2", price=950), 1)
    quote = engine.quote(request(limit=1000, circuits=2), 2)
    assert quote.fills == ((950, 1),) and quote.provisioning_p50_ms == 42


def test_a_struck_deal_is_reserved_and_released_when_it_ends() -> None:
    engine = new_engine()
    checker = Refusing(set())
    engine.deliverability = checker
    engine.register_agreement(agreement("s1"), 0)
    engine.submit(offer("s1"), 1)
    deal = engine.submit(request(), 2).deals[0]
    assert deal.status is DealStatus.BROKERED and checker.reserved == [deal.deal_id]
    engine.terminate_deal("b1", deal.deal_id, "", 3)
    assert checker.released == [deal.deal_id]


def test_without_an_agreement_the_match_is_struck_and_waits_as_before() -> None:
    engine = new_engine()
    engine.deliverability = Refusing({"s1"})
    engine.submit(offer("s1"), 1)
    (deal,) = engine.submit(request(), 2).deals
    assert deal.status is DealStatus.PENDING_AGREEMENT


def probe_deal(deal_id: int, rate: int) -> Deal:
    return Deal(
        deal_id,
        1,
        2,
        "acme",
        "globex",
        ServiceType.ETHERNET_ELINE,
        Route("AMS", "FRA"),
        rate,
        1,
        1,
        "",
        1,
        "",
        1,
        DealStatus.BROKERED,
        "",
        0,
        0,
    )


def ring_agreement(ref: str, vlans: tuple[int, int], max_rate: int = 100 * G) -> Agreement:
    ends = (Interconnect(Party.BUYER, "s1", "1", *vlans), Interconnect(Party.SELLER, "s2", "1", 300, 399))
    return Agreement(len(ref), ref, "globex", "acme", ends, max_rate, "", 0)


def test_the_planner_answers_from_the_fabric_and_its_reservations() -> None:
    ring = load_inventory(RING)
    planner = FabricPlanner(ring, FabricState(), frozenset)
    single, wide = ring_agreement("AG-1", (100, 100)), ring_agreement("AG-22", (150, 160))
    assert planner.check("globex", "acme", 400_000, [single, wide], {}) is single
    assert planner.reserve(probe_deal(1, 400_000), [single, wide], {}) is single  # VLAN 100 at s1:1 is taken now
    assert planner.check("globex", "acme", 400_000, [single, wide], {}) is wide  # the other has VLANs
    why = planner.check("globex", "acme", 400_000, [single], {})
    assert isinstance(why, str) and "agreement AG-1: no free VLAN in 100-100 at s1:1" in why
    assert "0 kbit/s left" in str(planner.check("globex", "acme", 400_000, [wide], {wide.agreement_id: 100 * G}))
    planner.release(1)
    assert planner.check("globex", "acme", 400_000, [single], {}) is single
    assert planner.provisioning_p50_ms() == 0
    for seconds in (0.1, 0.3, 0.2):
        planner.took(seconds)
    assert planner.provisioning_p50_ms() == 200


def test_the_planner_keeps_new_deals_off_links_down_or_drained_and_swaps_keep_the_buyers_hand_off() -> None:
    ring = load_inventory(RING)
    state, out = FabricState(), set()
    intents: dict[int, Intent] = {}
    planner = FabricPlanner(ring, state, frozenset, intents.get, lambda: frozenset(out))
    single = ring_agreement("AG-1", (100, 100))
    assert planner.reserve(probe_deal(1, 400_000), [single], {}) is single  # its path is planned: s1 > s2
    planner.release(1)
    out.add("s1:2-s2:2")  # the direct link is down: the planned path is not used, the long way is
    assert planner.check("globex", "acme", 900_000, [single], {}) is single
    assert planner.reserve(probe_deal(2, 900_000), [single], {}) is single
    assert state.link_load("s1:2-s2:2") == 0 and state.link_load("s3:3-s1:3") == 900_000
    planner.release(2)
    out.add("s3:3-s1:3")
    assert "no path" in str(planner.check("globex", "acme", 400_000, [single], {}))
    # A swap: deal 3 holds VLAN 100 at s1:1, the only one of the agreement; the new seller's deal keeps it.
    out.clear()
    live = compile_intent(probe_deal(3, 400_000), single, ring, state)
    state.hold(live)
    intents[3] = live
    assert "no free VLAN" in str(planner.check("globex", "acme", 400_000, [single], {}))
    assert planner.check_swap(3, "acme", [single], {}) is single
    assert state.port_vlans(("s1", "1")) == 1 << 100  # as it was
    assert "no path in the network" in str(planner.check_swap(4, "acme", [single], {}))


def network_engine() -> tuple[ExchangeEngine, Refusing]:
    engine = new_engine()
    checker = Refusing(set())
    engine.deliverability = checker
    for seller in SELLERS:
        engine.register_agreement(agreement(seller), 0)
    return engine, checker


def test_a_void_deal_gives_both_orders_their_circuits_back_and_the_request_takes_the_next_offer() -> None:
    engine, _ = network_engine()
    first = engine.submit(offer("s1", price=900, circuits=2), 1).order
    second = engine.submit(offer("s2", price=950, circuits=2), 2).order
    out = engine.submit(request(limit=1000, circuits=2), 3)
    (deal,) = out.deals
    assert deal.seller == "s1" and out.order.status.name == "FILLED"
    engine.set_deal_status(deal.deal_id, DealStatus.PROVISIONING, "finding a path", 4)
    engine.drain()
    again = engine.void_deal(deal.deal_id, "probe failed", 5)
    assert deal.deal_id not in engine.deals
    # The request traded at once with the next deliverable offer (s2); s1's offer rests again.
    assert [(d.seller, d.circuits) for d in again] == [("s2", 2)]
    assert engine.orders[first.order_id].remaining == 2
    assert engine.orders[first.order_id].status.name == "OPEN"
    changes = engine.drain()
    kinds = [e.kind.name for e in changes.events]
    assert "ORDER_RESTORED" in kinds and kinds.count("ORDER_RESTORED") == 2
    failed = [d for d in changes.updated_deals.values() if d.deal_id == deal.deal_id]
    assert failed and failed[0].status is DealStatus.PROVISIONING_FAILED and "void" in failed[0].status_reason
    assert second.order_id not in engine.orders  # filled by the new deal


def test_the_failed_pair_never_trades_again_and_the_request_rests_with_its_priority() -> None:
    engine, _ = network_engine()
    sold = engine.submit(offer("s1", price=900), 1).order
    early = engine.submit(request(limit=1000), 2)
    later = engine.submit(request("b1", limit=1000, cid="later"), 3).order
    (deal,) = early.deals
    engine.set_deal_status(deal.deal_id, DealStatus.PROVISIONING, "", 4)
    # The offer is back and trades at once with the later request (never with the early
    # one again); the early request rests at the front of its level (its priority).
    (again,) = engine.void_deal(deal.deal_id, "switch refused", 5)
    assert (again.offer_order_id, again.request_order_id) == (sold.order_id, later.order_id)
    level = next(iter(engine.books.values())).requests.levels[-1000]
    assert [o.order_id for o in level] == [early.order.order_id]
    (next_deal,) = engine.submit(offer("s2", price=900), 6).deals
    assert next_deal.request_order_id == early.order.order_id


def test_an_immediate_request_whose_deal_is_void_is_cancelled_not_rested() -> None:
    engine, _ = network_engine()
    engine.submit(offer("s1", price=900), 1)
    out = engine.submit(request(limit=1000, time_in_force=3), 2)  # immediate-or-cancel
    (deal,) = out.deals
    engine.set_deal_status(deal.deal_id, DealStatus.PROVISIONING, "", 3)
    engine.void_deal(deal.deal_id, "probe failed", 4)
    assert out.order.order_id not in engine.orders
    changes = engine.drain()
    restored = [
        e for e in changes.events if e.kind.name == "ORDER_RESTORED" and e.subject.order_id == out.order.order_id
    ]
    assert restored and restored[0].subject.status.name == "CANCELLED" and restored[0].subject.remaining == 1


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 3), st.sampled_from([100_000, 300_000]), st.booleans()), max_size=40))
def test_the_planner_never_says_deliverable_for_what_it_cannot_reserve(steps: list[tuple[int, int, bool]]) -> None:
    """Soundness of the cheap answers: whenever the check says an agreement can carry a
    deal, reserving it finds a concrete allocation, and no port or link is ever committed
    beyond its capacity."""
    ring = load_inventory(RING)
    planner = FabricPlanner(ring, FabricState(), frozenset)
    agreements = [ring_agreement("AG-1", (100, 102)), ring_agreement("AG-22", (150, 151))]
    live: list[int] = []
    for deal_id, (circuits, capacity, ends_one) in enumerate(steps, start=1):
        rate = circuits * capacity
        found = planner.check("globex", "acme", rate, agreements, {})
        if isinstance(found, Agreement):
            assert planner.reserve(probe_deal(deal_id, rate), agreements, {}) is found
            assert deal_id in planner.reserved, "said deliverable, then could not reserve"
            live.append(deal_id)
        if ends_one and live:
            planner.release(live.pop(0))
        for (node, port), use in planner.state.ports.items():
            capacity_of = ring.nodes[node].port(port)
            assert capacity_of is not None and use.load <= capacity_of.capacity_kbps
        for link in ring.links:
            assert planner.state.link_load(link.key) <= link.capacity_kbps
