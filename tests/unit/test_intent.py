"""The provisioning inventory and the pure intent compiler: paths with capacity
admission, VLAN handling at each end, meters, and per-node changes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.deals import Agreement, Deal, DealStatus, Interconnect, Party
from marketplace.errors import InvalidArgument
from marketplace.orders import Route, ServiceType
from provisioning.fabric_state import FabricState
from provisioning.intent import (
    NotAdmitted,
    VlanAction,
    compile_intent,
    deal_cookie,
    deal_of_cookie,
    intent_from_json,
    intent_to_json,
)
from provisioning.inventory import load_inventory
from provisioning.protection import with_backup

G = 1_000_000
RING = """
[[nodes]]
name = "s1"
kind = "openflow"
datapath_id = "0x1"
ports = [{name = "1", number = 1, capacity = "10G"}, {name = "2", number = 2, capacity = "1G"},
         {name = "3", number = 3, capacity = "1G"}, {name = "4", number = 4, capacity = "10G"}]

[[nodes]]
name = "s2"
kind = "openflow"
datapath_id = 2
ports = [{name = "1", number = 1, capacity = "10G"}, {name = "2", number = 2, capacity = "1G"},
         {name = "3", number = 3, capacity = "1G"}]

[[nodes]]
name = "s3"
kind = "openflow"
datapath_id = 3
ports = [{name = "1", number = 1, capacity = "10G"}, {name = "2", number = 2, capacity = "1G"},
         {name = "3", number = 3, capacity = "1G"}]

[[nodes]]
name = "r1"
kind = "router"
driver = "ixlinux"
host = "r1.lab"
credentials = "r1"
ports = [{name = "eth1", capacity = "10G"}, {name = "eth2", capacity = "10G"}]

[[links]]
a = "s1:2"
z = "s2:2"

[[links]]
a = "s2:3"
z = "s3:2"

[[links]]
a = "s3:3"
z = "s1:3"

[[links]]
a = "s1:4"
z = "r1:eth1"

[[attachments]]
participant = "globex"
node = "s1"
port = "1"
vlans = "100-199"

[[attachments]]
participant = "acme"
node = "s2"
port = "1"
vlans = "300-399"

[[attachments]]
participant = "initech"
node = "s3"
port = "1"
vlans = "0"

[[attachments]]
participant = "hooli"
node = "r1"
port = "eth2"
vlans = "500-599"
"""


def deal(
    deal_id: int = 1, seller: str = "acme", buyer: str = "globex", circuits: int = 1, capacity: int = 400_000
) -> Deal:
    return Deal(
        deal_id,
        1,
        2,
        seller,
        buyer,
        ServiceType.ETHERNET_ELINE,
        Route("AMS", "FRA"),
        capacity,
        circuits,
        100,
        "circuits",
        1,
        "platinum",
        1,
        DealStatus.BROKERED,
        "",
        0,
        0,
    )


def agreement(
    seller: str = "acme", seller_at: tuple[str, str] = ("s2", "1"), vlans: tuple[int, int] = (300, 301)
) -> Agreement:
    return Agreement(
        1,
        "AG-1",
        "globex",
        seller,
        (Interconnect(Party.BUYER, "s1", "1", 100, 110), Interconnect(Party.SELLER, *seller_at, *vlans)),
        100 * G,
        "",
        0,
    )


@pytest.fixture
def ring():  # type: ignore[no-untyped-def]
    return load_inventory(RING)


def test_inventory_loads_nodes_links_and_attachments(ring) -> None:  # type: ignore[no-untyped-def]
    assert set(ring.nodes) == {"s1", "s2", "s3", "r1"}
    assert ring.by_datapath(2).name == "s2"
    assert [link.capacity_kbps for link in ring.links] == [G, G, G, 10 * G]
    assert ring.attachment("initech", "s3", "1").vlan_min == 0
    assert not any(link.bfd for link in ring.links)
    assert load_inventory(RING.replace('z = "s2:2"', 'z = "s2:2"\nbfd = true', 1)).links[0].bfd


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (('credentials = "r1"', 'credentials = "r1"\npassword = "hunter2"'), "nodes[3].password"),
        (('a = "s1:2"', 'a = "s9:2"'), "links[0].a"),
        (('vlans = "100-199"', 'vlans = "100-5000"'), "attachments[0].vlans"),
        (("datapath_id = 2", "datapath_id = 1"), "nodes"),
        (('a = "s2:3"', 'a = "s1:2"'), "links[1]"),
        (('z = "s2:2"', 'z = "s2:2"\nbfd = "yes"'), "links[0].bfd"),
    ],
)
def test_bad_inventory_is_refused_naming_the_field(change: tuple[str, str], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        load_inventory(RING.replace(*change, 1))
    assert err.value.field == field


def test_shortest_path_with_vlan_swaps_and_meters_at_the_edges(ring) -> None:  # type: ignore[no-untyped-def]
    intent = compile_intent(deal(), agreement(), ring, FabricState())
    assert intent.nodes() == ["s1", "s2"] and intent.links == ("s1:2-s2:2",)
    assert (intent.buyer_vlan, intent.seller_vlan, intent.fabric_vlan) == (100, 300, 2)
    flows = {(f.node, f.in_port, f.vlan): f for f in intent.flows}
    ingress = flows[("s1", 1, 100)]
    assert (ingress.out_port, ingress.vlan_action, ingress.set_vlan, ingress.meter_id) == (2, VlanAction.SWAP, 2, 1)
    egress = flows[("s2", 2, 2)]
    assert (egress.out_port, egress.set_vlan, egress.meter_id) == (1, 300, 0)
    back = flows[("s2", 1, 300)]
    assert (back.out_port, back.set_vlan, back.meter_id) == (2, 2, 2)
    assert {(m.node, m.meter_id, m.rate_kbps, m.burst_kbits) for m in intent.meters} == {
        ("s1", 1, 400_000, 100_000),  # 250 ms at the rate (BENCHMARKS.md: goodput)
        ("s2", 2, 400_000, 100_000),
    }
    assert all(deal_of_cookie(f.cookie) == 1 for f in intent.flows) and deal_of_cookie(0x1234) is None
    assert deal_cookie(7) != 7


def test_capacity_admission_takes_the_other_way_round_the_ring(ring) -> None:  # type: ignore[no-untyped-def]
    state = FabricState()
    first = compile_intent(deal(1, capacity=600_000), agreement(), ring, state)
    state.hold(first)
    second = compile_intent(deal(2, capacity=600_000), agreement(), ring, state)
    assert second.nodes() == ["s1", "s3", "s2"]  # s1-s2 has only 400M left
    assert second.buyer_vlan == 101 and second.seller_vlan == 301
    state.hold(second)
    with pytest.raises(NotAdmitted, match="no path from s1 to s2"):
        compile_intent(deal(3, capacity=600_000), agreement(vlans=(300, 310)), ring, state)
    state.release(first)
    third = compile_intent(deal(3, capacity=600_000), agreement(vlans=(300, 310)), ring, state)
    assert third.nodes() == ["s1", "s2"] and third.buyer_vlan == 100


def test_untagged_end_pushes_and_pops(ring) -> None:  # type: ignore[no-untyped-def]
    intent = compile_intent(deal(seller="initech"), agreement("initech", ("s3", "1"), (1, 1)), ring, FabricState())
    assert intent.nodes() == ["s1", "s3"] and intent.seller_vlan == 0
    flows = {(f.node, f.in_port, f.vlan): f for f in intent.flows}
    assert flows[("s3", 3, intent.fabric_vlan)].vlan_action is VlanAction.POP
    assert flows[("s3", 1, 0)].vlan_action is VlanAction.PUSH
    state = FabricState()
    state.hold(intent)
    with pytest.raises(NotAdmitted, match="untagged port s3:1 already carries a deal"):
        compile_intent(deal(2, seller="initech"), agreement("initech", ("s3", "1"), (1, 1)), ring, state)


def test_router_node_gets_a_service_not_flows(ring) -> None:  # type: ignore[no-untyped-def]
    intent = compile_intent(deal(seller="hooli"), agreement("hooli", ("r1", "eth2"), (500, 500)), ring, FabricState())
    assert intent.nodes() == ["s1", "r1"]
    (service,) = intent.router_services
    assert (service.buyer_side_port, service.seller_side_port, service.seller_side_vlan) == ("eth1", "eth2", 500)
    assert service.buyer_side_vlan == intent.fabric_vlan and service.rate_kbps == 400_000
    assert {f.node for f in intent.flows} == {"s1"}


def test_refusals_say_why(ring) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotAdmitted, match="not an attachment of acme"):
        compile_intent(deal(), agreement(seller_at=("s3", "1")), ring, FabricState())
    with pytest.raises(NotAdmitted, match="exceed 300-399"):
        compile_intent(deal(), agreement(vlans=(390, 400)), ring, FabricState())
    with pytest.raises(NotAdmitted, match="carries 10000000 kbit/s"):
        compile_intent(deal(circuits=2, capacity=6 * G), agreement(), ring, FabricState())
    state = FabricState()
    state.port(("s2", "1")).vlans = 1 << 300 | 1 << 301
    with pytest.raises(NotAdmitted, match="no free VLAN in 300-301"):
        compile_intent(deal(), agreement(), ring, state)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["acme", "initech", "hooli"]), st.integers(1, 4), st.sampled_from([100_000, 300_000])
        ),
        max_size=30,
    ),
    st.data(),
)
def test_admission_never_oversubscribes_a_link_or_reuses_a_tag(deals: list[tuple[str, int, int]], data) -> None:  # type: ignore[no-untyped-def]
    """Property: whatever deals come and go, every link and every port (hand-offs and
    link ends) carries at most its capacity, and no two live deals share a VLAN on a port
    or a fabric VLAN on a link."""
    ring = load_inventory(RING)
    ends = {"acme": ("s2", "1", (300, 399)), "initech": ("s3", "1", (1, 1)), "hooli": ("r1", "eth2", (500, 599))}
    state = FabricState()
    live = []
    for i, (seller, circuits, capacity) in enumerate(deals, start=1):
        node, port, vlans = ends[seller]
        try:
            intent = compile_intent(
                deal(i, seller, circuits=circuits, capacity=capacity),
                agreement(seller, (node, port), vlans),
                ring,
                state,
            )
        except NotAdmitted:
            continue
        state.hold(intent)
        live.append((intent, (node, port)))
        if live and data.draw(st.booleans()):  # a deal ends
            gone, _ = live.pop(data.draw(st.integers(0, len(live) - 1)))
            state.release(gone)
        load: dict[str, int] = {}
        tags: dict[str, list[int]] = {}
        end_tags: dict[tuple[str, str], list[int]] = {}
        for intent, seller_end in live:
            for key, vlan in zip(intent.links, intent.link_vlans, strict=True):
                load[key] = load.get(key, 0) + intent.rate_kbps
                tags.setdefault(key, []).append(vlan)
            end_tags.setdefault(("s1", "1"), []).append(intent.buyer_vlan)
            end_tags.setdefault(seller_end, []).append(intent.seller_vlan)
        capacity_of = {link.key: link.capacity_kbps for link in ring.links}
        assert all(load[k] <= capacity_of[k] for k in load)
        port_load: dict[tuple[str, str], int] = {}
        for intent, _ in live:
            for port in intent.ports():
                port_load[port] = port_load.get(port, 0) + intent.rate_kbps
        for (node, port), committed in port_load.items():
            found = ring.nodes[node].port(port)
            assert found is not None and committed <= found.capacity_kbps, (node, port, committed)
        assert {k: use.load for k, use in state.ports.items() if use.load} == port_load
        # The VLAN masks say exactly what the live deals hold.
        assert {k: use.vlans for k, use in state.links.items() if use.vlans} == {
            k: sum(1 << v for v in t) for k, t in tags.items()
        }
        held_ends: dict[tuple[str, str], int] = {}
        for intent, _ in live:
            for end, vlan in intent.end_vlans():
                held_ends[end] = held_ends.get(end, 0) | 1 << vlan
        assert {k: use.vlans for k, use in state.ports.items() if use.vlans} == held_ends
        assert all(len(v) == len(set(v)) for v in (*tags.values(), *end_tags.values()))


def test_an_access_link_carries_one_deal_untagged_and_the_switch_pops_and_pushes(ring) -> None:  # type: ignore[no-untyped-def]
    access = RING.replace('a = "s1:4"\nz = "r1:eth1"', 'a = "s1:4"\nz = "r1:eth1"\nuntagged = true')
    inventory = load_inventory(access)
    state = FabricState()
    to_router = agreement("hooli", ("r1", "eth2"), (500, 501))
    intent = compile_intent(deal(1, seller="hooli"), to_router, inventory, state)
    assert intent.nodes() == ["s1", "r1"] and intent.link_vlans == (0,) and intent.fabric_vlan == 0
    flows = {(f.node, f.in_port): f for f in intent.flows}
    assert flows[("s1", 1)].vlan_action is VlanAction.POP  # buyer's VLAN 100 -> untagged to r1
    assert flows[("s1", 4)].vlan_action is VlanAction.PUSH and flows[("s1", 4)].set_vlan == 100
    (service,) = intent.router_services
    assert (service.buyer_side_port, service.buyer_side_vlan, service.seller_side_vlan) == ("eth1", 0, 500)
    assert intent.side_vlans(0) == (100, 0) and intent.side_vlans(1) == (0, 500)
    state.hold(intent)
    with pytest.raises(NotAdmitted, match="no path from s1 to r1"):
        compile_intent(deal(2, seller="hooli"), to_router, inventory, state)
    state.release(intent)
    assert compile_intent(deal(3, seller="hooli"), to_router, inventory, state).link_vlans == (0,)


def test_routing_avoids_unconnected_switches_but_not_the_ends(ring) -> None:  # type: ignore[no-untyped-def]
    direct = compile_intent(deal(), agreement(), ring, FabricState())
    assert direct.nodes() == ["s1", "s2"]
    around = compile_intent(deal(), agreement(), ring, FabricState(), unavailable=frozenset({"s3"}))
    assert around.nodes() == ["s1", "s2"]
    state = FabricState()
    state.link("s1:2-s2:2").load = G  # the direct link is full
    assert compile_intent(deal(), agreement(), ring, state).nodes() == ["s1", "s3", "s2"]
    with pytest.raises(NotAdmitted, match="no path"):
        compile_intent(deal(), agreement(), ring, state, unavailable=frozenset({"s3"}))
    ends_down = compile_intent(deal(), agreement(), ring, FabricState(), unavailable=frozenset({"s1", "s2"}))
    assert ends_down.nodes() == ["s1", "s2"]  # the ends are the agreement's; waiting for them is the provisioner's job


def test_intents_survive_the_store_format(ring) -> None:  # type: ignore[no-untyped-def]
    from provisioning.intent import intent_from_json, intent_to_json

    state = FabricState()
    for i, seller in enumerate(("acme", "hooli"), start=1):
        where = ("s2", "1") if seller == "acme" else ("r1", "eth2")
        intent = compile_intent(
            deal(i, seller=seller), agreement(seller, where, (300, 301) if i == 1 else (500, 501)), ring, state
        )
        assert intent_from_json(intent_to_json(intent)) == intent
        state.hold(intent)


def test_an_edge_port_is_admitted_like_a_link(ring) -> None:  # type: ignore[no-untyped-def]
    """Found in the lab: two 900M deals both ending on seller-a's 1G port were ACTIVE."""
    s2 = RING.index('name = "s2"')
    one_g = load_inventory(RING[:s2] + RING[s2:].replace('capacity = "10G"', 'capacity = "1G"', 1))
    assert one_g.nodes["s2"].port("1").capacity_kbps == G  # acme's hand-off is 1G here
    state = FabricState()
    first = compile_intent(deal(1, capacity=900_000), agreement(), one_g, state)
    state.hold(first)
    assert state.port_load(("s2", "1")) == 900_000 and state.port_load(("s1", "1")) == 900_000
    with pytest.raises(NotAdmitted, match=r"s2:1 has 100000 kbit/s left of 1000000"):
        compile_intent(deal(2, capacity=900_000), agreement(vlans=(300, 310)), one_g, state)
    state.release(first)
    assert compile_intent(deal(2, capacity=900_000), agreement(vlans=(300, 310)), one_g, state)


def test_a_link_whose_end_port_is_full_is_routed_around(ring) -> None:  # type: ignore[no-untyped-def]
    state = FabricState()
    state.port(("s1", "2")).load = 900_000  # s1's port towards s2 (1G) carries other traffic
    routed = compile_intent(deal(1, capacity=400_000), agreement(), ring, state)
    assert routed.nodes() == ["s1", "s3", "s2"]


def test_a_re_route_avoids_the_down_link_keeps_the_hand_offs_and_takes_the_next_generation(ring) -> None:  # type: ignore[no-untyped-def]
    state = FabricState()
    old = compile_intent(deal(), agreement(), ring, state)
    assert old.nodes() == ["s1", "s2"] and old.generation == 0 and old.cookie == deal_cookie(1)
    new = compile_intent(deal(), agreement(), ring, state, down=frozenset(old.links), replacing=old)
    assert new.nodes() == ["s1", "s3", "s2"] and "s1:2-s2:2" not in new.links
    assert (new.buyer_vlan, new.seller_vlan) == (old.buyer_vlan, old.seller_vlan)  # the hand-offs stay
    assert new.generation == 1 and {f.cookie for f in new.flows} == {deal_cookie(1, 1)} != {deal_cookie(1)}
    assert deal_of_cookie(new.cookie) == deal_of_cookie(old.cookie) == 1  # either generation: the same deal
    entry_old = {(f.in_port, f.vlan) for f in old.flows if f.node == "s1"}
    entry_new = {(f.in_port, f.vlan) for f in new.flows if f.node == "s1"}
    assert (1, old.buyer_vlan) in entry_old & entry_new  # replaced in place on the entry switch
    assert intent_from_json(intent_to_json(new)) == new
    with pytest.raises(NotAdmitted, match="no path"):
        compile_intent(deal(), agreement(), ring, state, down=frozenset({"s1:2-s2:2", "s3:3-s1:3"}), replacing=old)
    assert deal_cookie(2**40 + 5) == deal_cookie(5)  # deal ids beyond 40 bits never reach the generation


def test_a_seller_swap_keeps_the_buyers_hand_off_and_holds_the_old_path_less_it(ring) -> None:  # type: ignore[no-untyped-def]
    state = FabricState()
    old = compile_intent(deal(1, capacity=G), agreement(), ring, state)  # globex s1:1 -> acme s2:1, all of port s1:2
    state.hold(old)
    buyer_end = ("s1", "1", old.buyer_vlan)
    hooli = Agreement(
        2,
        "AG-2",
        "globex",
        "hooli",
        (Interconnect(Party.BUYER, "s1", "1", 150, 160), Interconnect(Party.BUYER, "s1", "1", 100, 101),
         Interconnect(Party.SELLER, "r1", "eth2", 500, 501)),
        10**7,
        "",
        0,
    )  # fmt: skip
    # Taken over: the old deal's hand-off share passes to the new one, the rest of its path stays held.
    rest = state.beyond_buyer_end(old)
    state.release(old)
    state.take(rest)
    new = compile_intent(deal(2, seller="hooli", capacity=G), hooli, ring, state, buyer_end=buyer_end)
    assert new.buyer_vlan == old.buyer_vlan and new.path[0].buyer_side_port == "1"
    assert new.nodes() == ["s1", "r1"]
    assert {(f.in_port, f.vlan) for f in new.flows if f.node == "s1"} >= {(1, old.buyer_vlan)}  # replaces in place
    assert state.port_load(("s1", "2")) == G  # the old path still holds its link until it is removed
    state.hold(new)
    state.give_back(rest)
    assert state.port_load(("s1", "1")) == G and state.port_vlans(("s1", "1")) == 1 << old.buyer_vlan
    assert state.port_load(("s1", "2")) == 0
    with pytest.raises(NotAdmitted, match="the buyer's hand-off s1:1 VLAN 120 is not one of its interconnects"):
        compile_intent(deal(3, seller="hooli"), hooli, ring, FabricState(), buyer_end=("s1", "1", 120))


def test_a_protected_deal_has_a_link_disjoint_backup_reserved_and_failover_groups_at_both_ends(ring) -> None:  # type: ignore[no-untyped-def]
    state = FabricState()
    primary = compile_intent(deal(capacity=G // 2), agreement(), ring, state)
    intent = with_backup(primary, deal(capacity=G // 2), ring, state)
    assert intent.nodes() == ["s1", "s2"] and [h.node for h in intent.backup_path] == ["s1", "s3", "s2"]
    assert not set(intent.links) & set(intent.backup_links)  # link-disjoint
    assert [h.node for h in intent.hops()] == ["s1", "s2", "s3"]
    entry, far = (g for g in intent.groups)
    assert (entry.node, entry.port, entry.backup_port) == ("s1", 2, 3)  # primary s1:2, backup s1:3
    assert (far.node, far.port, far.backup_port) == ("s2", 2, 3)
    into = {(f.node, f.in_port): f for f in intent.flows}
    assert into[("s1", 1)].group_id == entry.group_id and into[("s1", 1)].meter_id  # metered, then the group
    assert into[("s2", 1)].group_id == far.group_id
    assert into[("s1", 3)].out_port == 1 and into[("s2", 3)].out_port == 1  # each end takes either path
    assert into[("s3", 2)].out_port == 3 and into[("s3", 3)].out_port == 2  # the backup's middle
    assert len([f for f in intent.flows if f.node in ("s1", "s2") and f.in_port == 1]) == 2  # no duplicate match
    state.hold(intent)
    assert state.link_load("s3:3-s1:3") == G // 2 and state.link_load("s2:3-s3:2") == G // 2  # reserved
    assert state.port_load(("s1", "1")) == G // 2  # the hand-off counted once
    assert intent_from_json(intent_to_json(intent)) == intent
    state.release(intent)
    assert not any(use.load for use in (*state.ports.values(), *state.links.values()))
    with pytest.raises(NotAdmitted, match="no backup path from s1 to s2"):
        with_backup(primary, deal(capacity=G // 2), ring, FabricState(), down=frozenset({"s3:3-s1:3"}))
    initech = compile_intent(deal(seller="initech"), agreement("initech", ("s3", "1"), (0, 0)), ring, FabricState())
    assert with_backup(initech, deal(seller="initech"), ring, FabricState()).backup_path
