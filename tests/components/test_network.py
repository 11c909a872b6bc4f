from __future__ import annotations

import ipaddress

import pytest

from components.network import Network, NetworkArgs, subnet_blocks
from tests.conftest import run_component

ZONES = ("eu-west-1a", "eu-west-1b", "eu-west-1c")


def plan(nat_strategy: str, zones: tuple[str, ...] = ZONES):
    return run_component(
        lambda: Network(
            "net",
            NetworkArgs(
                cluster_name="demo",
                vpc_cidr="10.1.0.0/16",
                availability_zones=zones,
                subnet_prefix_length=20,
                nat_strategy=nat_strategy,
            ),
        )
    )


def test_one_public_and_one_private_subnet_per_zone_with_eks_tags() -> None:
    query = plan("single")
    subnets = query.of_type("aws:ec2/subnet:Subnet")
    public = [s for s in subnets if "kubernetes.io/role/elb" in s["inputs"]["tags"]]
    private = [s for s in subnets if "kubernetes.io/role/internal-elb" in s["inputs"]["tags"]]
    assert sorted(s["inputs"]["availabilityZone"] for s in public) == list(ZONES)
    assert sorted(s["inputs"]["availabilityZone"] for s in private) == list(ZONES)
    for subnet in subnets:
        assert subnet["inputs"]["tags"]["kubernetes.io/cluster/demo"] == "shared"
        assert subnet["inputs"]["mapPublicIpOnLaunch"] is False
    blocks = [ipaddress.ip_network(s["inputs"]["cidrBlock"]) for s in subnets]
    assert all(block.subnet_of(ipaddress.ip_network("10.1.0.0/16")) for block in blocks)
    assert not any(a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1 :])


@pytest.mark.parametrize(("strategy", "expected"), [("single", 1), ("per-zone", 3)])
def test_nat_gateways_follow_the_strategy(strategy: str, expected: int) -> None:
    query = plan(strategy)
    assert len(query.of_type("aws:ec2/natGateway:NatGateway")) == expected
    assert len(query.of_type("aws:ec2/eip:Eip")) == expected


def test_private_route_tables_send_default_route_to_a_nat_in_their_own_zone_when_per_zone() -> None:
    query = plan("per-zone")
    for zone in ZONES:
        table = query.one("aws:ec2/routeTable:RouteTable", f"net-private-rt-{zone}")
        (route,) = table["inputs"]["routes"]
        assert route["cidrBlock"] == "0.0.0.0/0"
        assert route["natGatewayId"] == f"net-nat-{zone}-id"


def test_public_route_table_uses_the_internet_gateway() -> None:
    query = plan("single")
    (route,) = query.one("aws:ec2/routeTable:RouteTable", "net-public-rt")["inputs"]["routes"]
    assert route == {"cidrBlock": "0.0.0.0/0", "gatewayId": "net-igw-id"}
    associations = query.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
    assert len(associations) == 6


def test_two_zones_work_and_children_are_named_after_the_component() -> None:
    query = plan("single", ZONES[:2])
    assert len(query.of_type("aws:ec2/subnet:Subnet")) == 4
    component = query.one("eks-platform:network:Network", "net")
    for child in query.descendants(component["urn"]):
        assert child["name"].startswith("net-")


@pytest.mark.parametrize(
    ("layout", "zones", "expected"),
    [
        # zone-order: the public blocks first, then the private ones, in the zones' order (the first stacks' layout).
        ("zone-order", ("z1a", "z1b"), {"z1a": ("10.0.0.0/19", "10.0.64.0/19"), "z1b": ("10.0.32.0/19", "10.0.96.0/19")}),
        # zone-slots: letter k takes blocks 2k and 2k+1, whatever the other zones are.
        ("zone-slots", ("z1a", "z1c"), {"z1a": ("10.0.0.0/19", "10.0.32.0/19"), "z1c": ("10.0.128.0/19", "10.0.160.0/19")}),
    ],
)
def test_subnet_blocks_by_layout(layout: str, zones: tuple[str, ...], expected: dict[str, tuple[str, str]]) -> None:
    """Catches: a zone-slots layout that depends on the zone count or order, or a changed zone-order layout (it would
    move the subnets of every stack deployed with it)."""
    assert subnet_blocks("10.0.0.0/16", 19, zones, layout) == expected
    assert subnet_blocks("10.0.0.0/16", 19, tuple(reversed(zones)), "zone-slots") == subnet_blocks(
        "10.0.0.0/16", 19, zones, "zone-slots"
    )
