from __future__ import annotations

from offline.plan.query import PlanQuery
from tests.stacks.common import check_common


def test_common_rules(prod: PlanQuery) -> None:
    check_common(prod, "prod")


def test_prod_has_a_nat_gateway_per_zone(prod: PlanQuery) -> None:
    gateways = prod.of_type("aws:ec2/natGateway:NatGateway")
    assert len(gateways) == 3
    private_tables = [t for t in prod.of_type("aws:ec2/routeTable:RouteTable") if "private" in t["name"]]
    assert {t["inputs"]["routes"][0]["natGatewayId"] for t in private_tables} == {f"{g['name']}-id" for g in gateways}


def test_prod_cluster_is_protected_twice(prod: PlanQuery) -> None:
    cluster = prod.one("eks:index:Cluster", "cluster-eks")
    assert cluster["protect"] is True
    assert cluster["inputs"]["deletionProtection"] is True


def test_prod_nodes_are_on_demand_and_sized_for_production(prod: PlanQuery) -> None:
    groups = prod.of_type("aws:eks/nodeGroup:NodeGroup")
    # One group per zone (for the autoscaler and the ingress zone spread), the totals split evenly.
    assert sorted(g["name"] for g in groups) == [f"nodes-system-eu-central-1{zone}-group" for zone in "abc"]
    for group in groups:
        assert group["inputs"]["capacityType"] == "ON_DEMAND"
        assert group["inputs"]["scalingConfig"] == {"minSize": 1, "desiredSize": 1, "maxSize": 3}
    template = prod.one("aws:ec2/launchTemplate:LaunchTemplate", "nodes-system-lt")["inputs"]
    assert template["blockDeviceMappings"][0]["ebs"]["volumeSize"] == 50


def test_prod_endpoint_allow_list(prod: PlanQuery) -> None:
    cluster = prod.one("eks:index:Cluster", "cluster-eks")["inputs"]
    assert cluster["publicAccessCidrs"] == ["198.51.100.0/24"]
