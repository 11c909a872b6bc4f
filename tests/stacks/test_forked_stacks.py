"""A team forks the project and edits its stack files: each edit below is valid, and on each the stack-level checks
hold (it previews, passes the pack at its levels, the contracts and relations hold, destroy order keeps every
clean-up need, every billable item is priced or named as not sourced). The checks are the ones the shipped stacks
get (tests/stacks/common.py, test_relations.py's RELATION_CHECKS); these stacks are the tests' own.

Catches: a tool tuned to the shipped stacks (a hard-coded zone, region, instance type, pool name or version) that
breaks or lies on a fork's first edit.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from offline.analyses import capacity
from offline.analyses.cost import PER_REQUEST, estimate
from offline.analyses.lifecycle import check_needs
from offline.analyses.policy import evaluate, load_pack_config
from offline.analyses.prices import PRICE_FILE, load_prices
from offline.plan.build import build_plan
from offline.plan.query import PlanQuery
from settings import CostAssumptions
from tests.conftest import link_program
from tests.stacks.common import check_common
from tests.stacks.test_relations import RELATION_CHECKS

ALLOWED = "  eks-platform:publicAccessCidrs: [198.51.100.7/32]\n  eks-platform:demoWorkloads: true\n"
FORKS = {
    "usw2-graviton": "  eks-platform:region: us-west-2\n"
    "  eks-platform:availabilityZones: [us-west-2a, us-west-2b, us-west-2c]\n"
    "  eks-platform:nodeGroups:\n    system: {instanceTypes: [m7g.large], minSize: 2, desiredSize: 2, maxSize: 3}\n",
    "use1-small": "  eks-platform:region: us-east-1\n"
    "  eks-platform:availabilityZones: [us-east-1a, us-east-1f]\n"
    "  eks-platform:vpcCidr: 10.20.0.0/22\n  eks-platform:subnetPrefixLength: 24\n"
    "  eks-platform:nodeGroups:\n    system: {instanceTypes: [m7i.large], minSize: 2, desiredSize: 2, maxSize: 4}\n",
    "private-endpoint": "  eks-platform:endpointPublicAccess: false\n  eks-platform:publicAccessCidrs: []\n",
    "older-minor": '  eks-platform:kubernetesVersion: "1.34"\n',
    "newest-minor": '  eks-platform:kubernetesVersion: "1.36"\n',
    "three-pools": "  eks-platform:nodeGroups:\n"
    "    system: {instanceTypes: [t3.large], minSize: 2, desiredSize: 2, maxSize: 3}\n"
    "    general: {instanceTypes: [c6i.xlarge], minSize: 0, desiredSize: 0, maxSize: 6, perZone: true}\n"
    "    memory: {instanceTypes: [r6i.large], minSize: 1, desiredSize: 1, maxSize: 2}\n",
    "karpenter-two-pools": "  eks-platform:autoscaler: karpenter\n"
    "  eks-platform:nodeGroups:\n"
    "    system: {instanceTypes: [m6i.large], minSize: 2, desiredSize: 3, maxSize: 3}\n"
    "    general: {instanceTypes: [m6i.large, m7i.large], maxSize: 4}\n"
    "    arm: {instanceTypes: [m7g.large], capacityType: SPOT, maxSize: 4,"
    " taints: [{key: arch, value: arm, effect: NoSchedule}]}\n",
    "prod-eu-west-1": "  eks-platform:environment: prod\n  eks-platform:region: eu-west-1\n"
    "  eks-platform:availabilityZones: [eu-west-1a, eu-west-1b, eu-west-1c]\n"
    "  eks-platform:natStrategy: per-zone\n  eks-platform:deletionProtection: true\n  eks-platform:ingressReplicas: 3\n"
    "  eks-platform:nodeGroups:\n"
    "    system: {instanceTypes: [m6i.xlarge], minSize: 3, desiredSize: 3, maxSize: 6, perZone: true}\n",
}


@pytest.fixture(scope="module")
def forks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = link_program(tmp_path_factory.mktemp("fork") / "project")
    for stack, edits in FORKS.items():
        extra = "" if "publicAccessCidrs" in edits else ALLOWED.splitlines(keepends=True)[0]
        demo = "" if "environment: prod" in edits else ALLOWED.splitlines(keepends=True)[1]
        (project / f"Pulumi.{stack}.yaml").write_text(f"config:\n{extra}{demo}{edits}")
    return project


_plans: dict[str, PlanQuery] = {}


def fork_plan(project: Path, stack: str) -> PlanQuery:
    if stack not in _plans:
        _plans[stack] = PlanQuery(build_plan(stack, project).to_json())
    return _plans[stack]


@pytest.mark.parametrize("stack", FORKS)
def test_a_forked_stack_previews_passes_its_policy_levels_and_keeps_every_relation(forks: Path, stack: str) -> None:
    query = fork_plan(forks, stack)
    check_common(query, stack)
    mandatory = [v for v in evaluate(query, load_pack_config(stack, forks)) if v["enforcement"] == "mandatory"]
    assert mandatory == []
    if query.of_type("eks-platform:workloads:DemoWorkloads"):
        for check in RELATION_CHECKS:
            check(query)
    assert [need for need in check_needs(query) if not need.holds] == []
    assert capacity.rehearse(query, capacity.load_capacity())["broken"] == []


@pytest.mark.parametrize("stack", FORKS)
def test_every_billable_item_of_a_forked_stack_is_priced_or_named_as_not_sourced(forks: Path, stack: str) -> None:
    """A fork in another region or with other instance types gets an estimate; what the price file has no source
    for is named as such (data/prices/aws.json notSourced), and usage-billed services as not estimated."""
    query = fork_plan(forks, stack)
    report = estimate(query, load_prices(), CostAssumptions(100, 5, 1, 0))
    region = json.loads(PRICE_FILE.read_text())["regions"][report.region]
    for line in report.unpriced:
        resource_type = query.find(line.urn)["type"]  # type: ignore[index]
        assert resource_type in PER_REQUEST or line.price_id in region["notSourced"], (line.resource, line.item, line.note)
    assert all(not line.price_id.startswith("ec2.") for line in report.unpriced)
    assert report.total_usd > Decimal(0)
    # Demand-driven capacity is a range, never left out: autoscaled and Karpenter pools say how far it can go.
    autoscaled = any(r["name"] == "autoscaler-release" for r in query.of_type("kubernetes:helm.sh/v3:Release"))
    if query.of_type("kubernetes:karpenter.sh/v1:NodePool") or autoscaled:
        assert report.demand_range is not None
