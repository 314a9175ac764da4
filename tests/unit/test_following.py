"""IXCHANGE_SERVER with several servers: one static address list with round_robin over the
backends whose gRPC health says SERVING (the leader)."""

from __future__ import annotations

import json

import pytest

from marketplace.api.following import channel_target, split_servers
from marketplace.errors import InvalidArgument


def test_one_server_is_used_as_it_is() -> None:
    assert channel_target("exchange.example:50051") == ("exchange.example:50051", [])


def test_several_servers_become_one_list_that_follows_the_healthy_one() -> None:
    target, options = channel_target("127.0.0.1:50051, 127.0.0.2:50052")
    assert target == "ipv4:127.0.0.1:50051,127.0.0.2:50052"
    config = json.loads(dict(options)["grpc.service_config"])
    assert config["loadBalancingConfig"] == [{"round_robin": {}}]
    assert config["healthCheckConfig"] == {"serviceName": ""}
    assert dict(options)["grpc.ssl_target_name_override"] == "127.0.0.1"  # TLS: the first's address
    v6, _ = channel_target("[::1]:1,[::1]:2")
    assert v6 == "ipv6:[::1]:1,[::1]:2"


def test_names_are_resolved_and_tls_checks_the_first_name() -> None:
    target, options = channel_target("localhost:50051,127.0.0.1:50052")
    assert target.startswith(("ipv4:", "ipv6:")) and target.endswith(":50052")
    assert dict(options)["grpc.ssl_target_name_override"] == "localhost"


@pytest.mark.parametrize(
    "text",
    [
        "127.0.0.1",
        "127.0.0.1:0",
        "127.0.0.1:70000",
        ":50051",
        "a:1,,b:2",
        "127.0.0.1:1,[::1]:2",
        "no-such.invalid:1,b:2",
    ],
)
def test_bad_server_lists_are_refused_naming_the_setting(text: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        channel_target(text)
    assert err.value.field == "IXCHANGE_SERVER"


def test_at_most_sixteen_servers() -> None:
    assert len(split_servers(",".join(f"10.0.0.{i}:1" for i in range(16)))) == 16
    with pytest.raises(InvalidArgument, match="at most 16"):
        split_servers(",".join(f"10.0.0.{i}:1" for i in range(17)))
