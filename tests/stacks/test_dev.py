from __future__ import annotations

import json

from offline.plan.query import PlanQuery
from tests.stacks.common import check_common


def test_common_rules(dev: PlanQuery) -> None:
    check_common(dev, "dev")


def test_provider_region_and_default_tags(dev: PlanQuery) -> None:
    (provider,) = dev.of_type("pulumi:providers:aws")
    assert provider["inputs"]["region"] == "eu-central-1"
    tags = json.loads(provider["inputs"]["defaultTags"])["tags"]
    assert tags == {"project": "eks-platform", "stack": "dev", "environment": "dev", "managed-by": "pulumi"}


def test_dev_is_cheap_single_nat_and_spot(dev: PlanQuery) -> None:
    assert len(dev.of_type("aws:ec2/natGateway:NatGateway")) == 1
    group = dev.one("aws:eks/nodeGroup:NodeGroup", "nodes-system-group")["inputs"]
    assert group["capacityType"] == "SPOT"
    assert group["scalingConfig"] == {"minSize": 1, "desiredSize": 2, "maxSize": 3}


def test_dev_cluster_can_be_deleted(dev: PlanQuery) -> None:
    cluster = dev.one("eks:index:Cluster", "cluster-eks")
    assert cluster["protect"] is False
    assert cluster["inputs"]["deletionProtection"] is False


def test_zones_span_three_availability_zones(dev: PlanQuery) -> None:
    zones = {s["inputs"]["availabilityZone"] for s in dev.of_type("aws:ec2/subnet:Subnet")}
    assert zones == {"eu-central-1a", "eu-central-1b", "eu-central-1c"}


def test_node_group_runs_in_the_private_subnets(dev: PlanQuery) -> None:
    private = sorted(
        f"{s['name']}-id"
        for s in dev.of_type("aws:ec2/subnet:Subnet")
        if "kubernetes.io/role/internal-elb" in s["inputs"]["tags"]
    )
    assert dev.one("aws:eks/nodeGroup:NodeGroup", "nodes-system-group")["inputs"]["subnetIds"] == private


def test_every_component_registers_outputs() -> None:
    from offline.plan.build import build_plan

    plan = build_plan("dev")
    components = [r["urn"] for r in plan.resources if r["type"].startswith("eks-platform:")]
    assert components
    for urn in components:
        assert plan.component_outputs.get(urn), f"{urn} registers no outputs"
