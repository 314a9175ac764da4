"""Property tests: whatever the order flow, the books keep their invariants and the engine
agrees with a naive price-time reference matcher."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.engine import ExchangeEngine
from marketplace.orders import OrderStatus, Side
from tests.unit.factories import GOLD, PLATINUM, new_engine, offer, request

ROUTES = [("FRA", "AMS"), ("LON", "PAR")]
GRADES = {"platinum": PLATINUM, "gold": GOLD}
PARTIES = ["p1", "p2", "p3"]

submit_offer = st.tuples(
    st.just("offer"),
    st.sampled_from(PARTIES),
    st.sampled_from(list(GRADES)),
    st.sampled_from(ROUTES),
    st.integers(90, 110),
    st.integers(1, 4),
    st.sampled_from([1_000, 3_000, 4_500]),
)
submit_request = st.tuples(
    st.just("request"),
    st.sampled_from(PARTIES),
    st.sampled_from(list(GRADES)),
    st.sampled_from(ROUTES),
    st.integers(90, 110),
    st.integers(1, 6),
    st.sampled_from([0, 3_000]),
)
cancel = st.tuples(st.just("cancel"), st.integers(0, 50))
replace = st.tuples(st.just("replace"), st.integers(0, 50), st.integers(90, 110), st.integers(1, 5))
commands = st.lists(st.one_of(submit_offer, submit_request, cancel, replace), max_size=60)


@dataclass
class RefOrder:
    oid: int
    party: str
    side: Side
    key: tuple[str, tuple[str, str]]
    price: int
    prio: int
    remaining: int
    latency: int  # offers: asserted latency; requests: required maximum (0 = none)


class Reference:
    """The rules written the slow, obvious way."""

    def __init__(self) -> None:
        self.live: dict[int, RefOrder] = {}
        self.prio = 0
        self.deals: list[tuple[int, int, int, int]] = []

    def eligible(self, o: RefOrder, r: RefOrder) -> bool:
        return o.party != r.party and (r.latency == 0 or o.latency <= r.latency)

    def match(self, inc: RefOrder) -> None:
        while inc.remaining:
            cands = [
                x
                for x in self.live.values()
                if x.key == inc.key
                and x.side != inc.side
                and x is not inc
                and (x.price >= inc.price if inc.side is Side.OFFER else x.price <= inc.price)
                and self.eligible(*((inc, x) if inc.side is Side.OFFER else (x, inc)))
            ]
            if not cands:
                break
            best = min(cands, key=lambda x: ((-x.price if inc.side is Side.OFFER else x.price), x.prio))
            qty = min(best.remaining, inc.remaining)
            best.remaining -= qty
            inc.remaining -= qty
            o, r = (inc, best) if inc.side is Side.OFFER else (best, inc)
            self.deals.append((o.oid, r.oid, qty, best.price))
            if best.remaining == 0:
                del self.live[best.oid]
        if inc.remaining:
            self.live[inc.oid] = inc
        else:
            self.live.pop(inc.oid, None)

    def submit(
        self,
        oid: int,
        party: str,
        side: Side,
        key: tuple[str, tuple[str, str]],
        price: int,
        circuits: int,
        latency: int,
    ) -> None:
        self.prio += 1
        self.match(RefOrder(oid, party, side, key, price, self.prio, circuits, latency))

    def replace(self, oid: int, price: int, remaining: int) -> None:
        o = self.live.pop(oid)
        if price != o.price or remaining > o.remaining:
            self.prio += 1
            o.prio = self.prio
        o.price, o.remaining = price, remaining
        self.match(o)


def run(cmds: list[tuple[object, ...]]) -> tuple[ExchangeEngine, Reference, list[tuple[int, int, int, int]]]:
    engine = new_engine()
    ref = Reference()
    deals: list[tuple[int, int, int, int]] = []
    order_ids: list[int] = []
    for now, cmd in enumerate(cmds, start=1):
        kind = cmd[0]
        if kind in ("offer", "request"):
            _, party, grade, route, price, circuits, latency = cmd
            assert isinstance(party, str) and isinstance(grade, str) and isinstance(latency, int)
            assert isinstance(price, int) and isinstance(circuits, int) and isinstance(route, tuple)
            if kind == "offer":
                values = {**GRADES[grade], "latency_us": min(latency, GRADES[grade]["latency_us"])}
                out = engine.submit(
                    offer(party, price=price, circuits=circuits, values=values, route=route, grade=grade), now
                )
                side, lat = Side.OFFER, values["latency_us"]
            else:
                req = {"latency_us": latency} if latency else {}
                out = engine.submit(
                    request(party, limit=price, circuits=circuits, grade=grade, requirements=req, route=route), now
                )
                side, lat = Side.REQUEST, latency
            assert out.order is not None
            order_ids.append(out.order.order_id)
            ref.submit(out.order.order_id, party, side, (grade, tuple(sorted(route))), price, circuits, lat)
        else:
            if not order_ids:
                continue
            idx = cmd[1]
            assert isinstance(idx, int)
            oid = order_ids[idx % len(order_ids)]
            if oid not in engine.orders:
                continue
            owner = engine.orders[oid].participant
            if kind == "cancel":
                engine.cancel(owner, oid, now)
                ref.live.pop(oid)
                continue
            _, _, price, remaining = cmd
            assert isinstance(price, int) and isinstance(remaining, int)
            out = engine.replace(owner, oid, price, remaining, now)
            ref.replace(oid, price, remaining)
        deals += [(d.offer_order_id, d.request_order_id, d.circuits, d.price) for d in out.deals]
        check_books(engine)
    return engine, ref, deals


def check_books(engine: ExchangeEngine) -> None:
    """No mutually eligible offer and request rest crossed in any book."""
    for book in engine.books.values():
        for o in book.offers:
            for r in book.requests:
                if o.price > r.price:
                    break
                latency_ok = "latency_us" not in r.values or o.values["latency_us"] <= r.values["latency_us"]
                assert o.participant == r.participant or not latency_ok, f"crossed: {o} / {r}"


@settings(max_examples=200, deadline=None)
@given(commands)
def test_engine_agrees_with_reference_price_time_matcher(cmds: list[tuple[object, ...]]) -> None:
    engine, ref, deals = run(cmds)
    assert deals == ref.deals
    assert {oid: o.remaining for oid, o in engine.orders.items()} == {oid: o.remaining for oid, o in ref.live.items()}


@settings(max_examples=100, deadline=None)
@given(commands)
def test_circuits_are_conserved(cmds: list[tuple[object, ...]]) -> None:
    engine, _, deals = run(cmds)
    changes = engine.drain()
    final = {}
    for ev in changes.events:
        if ev.order is not None:
            final[ev.order.order_id] = ev.order
    filled: dict[int, int] = {}
    for offer_id, request_id, circuits, _ in deals:
        filled[offer_id] = filled.get(offer_id, 0) + circuits
        filled[request_id] = filled.get(request_id, 0) + circuits
    for oid, order in final.items():
        assert order.circuits - order.remaining == filled.get(oid, 0)
        assert order.remaining >= 0
        if order.remaining == 0 and order.status is not OrderStatus.CANCELLED:
            assert order.status is OrderStatus.FILLED


@settings(max_examples=50, deadline=None)
@given(commands)
def test_same_commands_give_same_deals(cmds: list[tuple[object, ...]]) -> None:
    assert run(cmds)[2] == run(cmds)[2]
