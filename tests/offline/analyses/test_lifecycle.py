"""The lifecycle rehearsal: create and destroy waves, and each runtime need caught when its edge goes missing."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from offline import lifecycle
from offline.analyses.lifecycle import NEEDS, check_needs, rehearse, reversed_edges, waves
from offline.plan.query import PlanQuery
from tests.conftest import frozen_plan, karpenter_workload_plan, stack_plan

VARIANTS = [("dev", ""), ("dev", "ingress-nginx"), ("prod", ""), ("prod", "ingress-nginx")]


def shipped(stack: str = "dev", controller: str = "") -> dict[str, Any]:
    return copy.deepcopy(stack_plan(stack, controller).plan)


def resource(plan: dict[str, Any], name: str, resource_type: str = "") -> dict[str, Any]:
    (found,) = [r for r in plan["resources"] if r["name"] == name and (not resource_type or r["type"] == resource_type)]
    return found


def drop_dependencies(plan: dict[str, Any], name: str, *fragments: str, resource_type: str = "") -> dict[str, Any]:
    target = resource(plan, name, resource_type)
    target["dependencies"] = [d for d in target["dependencies"] if not any(f in d for f in fragments)]
    return plan


def broken_needs(plan: dict[str, Any]) -> set[str]:
    return {check.need for check in check_needs(PlanQuery(plan)) if not check.holds}


def test_waves_follow_the_longest_path() -> None:
    edges = {"vpc": set(), "subnet": {"vpc"}, "nat": {"subnet", "vpc"}, "key": set()}
    assert waves(edges) == [["key", "vpc"], ["subnet"], ["nat"]]
    assert waves(reversed_edges(edges)) == [["key", "nat"], ["subnet"], ["vpc"]]


def test_a_cycle_is_reported() -> None:
    with pytest.raises(ValueError, match="cycle"):
        waves({"a": {"b"}, "b": {"a"}})


def test_a_dependency_on_a_component_is_one_on_everything_inside_it() -> None:
    plan = shipped()
    edges = PlanQuery(plan).create_edges
    claim = resource(plan, "storage-ebs-pvc")["urn"]
    # The claim names the ClusterAddons component's driver; local components themselves create nothing.
    assert resource(plan, "addons-ebs-csi-driver")["urn"] in edges[claim]
    types = {r["urn"]: r["type"] for r in plan["resources"]}
    assert not any(types[urn].startswith("eks-platform:") for urn in edges)


# Needs with something to check only when a stack uses Karpenter.
KARPENTER_NEEDS = {"karpenter-instances-terminated", "karpenter-outlives-its-instances", "workloads-before-their-karpenter-pool"}


@pytest.mark.parametrize(("stack", "controller"), [*VARIANTS, ("karpenter-example", "")])
def test_every_runtime_need_holds_in_the_shipped_stacks(stack: str, controller: str) -> None:
    # As shipped (prod without the demos), then with the demos on, so that every need has something to check.
    assert rehearse(stack_plan(stack, controller))["broken"] == []
    report = rehearse(stack_plan(stack, controller, demo_workloads=True))
    assert report["broken"] == []
    # Guards the line above: each need has something to check, so none can hold vacuously.
    checked = {need["need"] for need in report["needs"] if need["pairs"] > 0}
    expected = {need.name for need in NEEDS} - (set() if stack == "karpenter-example" else KARPENTER_NEEDS)
    # The example's demo runs on system (its only other pool is tainted); karpenter_workload_plan() covers that need.
    assert checked >= expected - {"workloads-before-their-karpenter-pool"}, report["needs"]
    created = [urn for wave in report["create"] for urn in wave]
    assert sorted(created) == sorted(urn for wave in report["destroy"] for urn in wave)


@pytest.mark.parametrize(
    ("need", "mutate"),
    [
        # Undoing issue 7 fix 2: nodes without their NAT route and private associations.
        ("node-egress", lambda p: drop_dependencies(p, "nodes-system-group", "NatGateway", "network-private")),
        # Fix 5: the ingress release not waiting for the internet gateway and public routes.
        ("public-addresses", lambda p: drop_dependencies(p, "ingress-release", "network-")),
        (
            "nat-internet-route",
            lambda p: drop_dependencies(
                p, "network-nat-eu-central-1a", "RouteTableAssociation", resource_type="aws:ec2/natGateway:NatGateway"
            ),
        ),
        # Fix 4: the cluster created before (and racing EKS for) its log group.
        ("control-plane-log-group", lambda p: drop_dependencies(p, "cluster-eks", "logGroup")),
        # The log group deleted after its sweeper: what EKS re-creates after destroy would stay.
        ("control-plane-log-group-swept", lambda p: drop_dependencies(p, "cluster-control-plane-logs", "sweeper")),
        ("volume-deletion", lambda p: drop_dependencies(p, "storage-ebs-pvc-released", "addons-")),
        # The CSI driver no longer waiting for its own role: its policy could be detached while it still deletes.
        (
            "csi-driver-permissions",
            lambda p: drop_dependencies(p, "addons-ebs-csi-driver", "addons-ebs-csi", resource_type="aws:eks/addon:Addon"),
        ),
        ("node-permissions", lambda p: drop_dependencies(p, "nodes-system-group", "::iam", "cluster-eks")),
        ("nodes-cluster", lambda p: drop_dependencies(p, "nodes-system-group", "cluster-eks")),
        ("control-plane-permissions", lambda p: drop_dependencies(p, "cluster-eks", "iam-cluster")),
        ("workloads-nodes", lambda p: drop_dependencies(p, "metrics-release", "")),
        ("workloads-egress", lambda p: drop_dependencies(p, "metrics-release", "")),
    ],
)
def test_a_missing_edge_breaks_exactly_its_need(need: str, mutate) -> None:
    assert need in broken_needs(mutate(shipped()))


def test_a_release_using_pod_identity_without_its_association_is_caught() -> None:
    plan = shipped()
    plan["resources"] = [r for r in plan["resources"] if r["type"] != "aws:eks/podIdentityAssociation:PodIdentityAssociation"]
    broken = [c for c in check_needs(PlanQuery(plan)) if not c.holds]
    assert [(c.need, c.consumer.rsplit("::", 1)[-1]) for c in broken] == [("pod-identity-credentials", "autoscaler-release")]


def test_a_load_balancer_service_outside_the_graph_order_is_caught() -> None:
    plan = shipped()
    plan["resources"].append(
        {
            "urn": "urn:pulumi:dev::eks-platform::kubernetes:core/v1:Service::stray-lb",
            "type": "kubernetes:core/v1:Service",
            "name": "stray-lb",
            "custom": True,
            "parent": None,
            "provider": None,
            "providers": {},
            "dependencies": [],
            "inputs": {"spec": {"type": "LoadBalancer"}},
            "protect": False,
            "retainOnDelete": False,
        }
    )
    assert {"load-balancer-deletion", "public-addresses"} <= broken_needs(plan)


def test_every_need_cites_a_source() -> None:
    for need in NEEDS:
        assert need.source and need.why, need.name


def test_cli_writes_nothing_and_exits_2_on_a_malformed_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text("{not json")
    assert lifecycle.main(["--plan", str(bad)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("lifecycle: cannot rehearse") and "\n" not in error


def test_cli_exits_1_on_a_broken_need(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(drop_dependencies(shipped(), "cluster-eks", "logGroup")))
    assert lifecycle.main(["--plan", str(path)]) == 1


GATE_AND_RELEASE = ("karpenter-instances-terminated", "karpenter-release", "karpenter-crd")


def drop_from(plan: dict[str, Any], prefixes: tuple[str, ...], *fragments: str) -> dict[str, Any]:
    """Drop the edges to `fragments` from every resource whose name starts with one of `prefixes`."""
    for target in plan["resources"]:
        if target["name"].startswith(prefixes):
            target["dependencies"] = [d for d in target["dependencies"] if not any(f in d for f in fragments)]
    return plan


def karpenter_example() -> dict[str, Any]:
    return copy.deepcopy(frozen_plan("karpenter-example").plan)


@pytest.mark.parametrize(
    ("need", "mutate"),
    [
        # The NodePool not waiting for the gate: destroy may delete the gate (and Karpenter) first.
        (
            "karpenter-instances-terminated",
            lambda p: drop_dependencies(p, "pool-graviton-spot-nodepool", "instances-terminated", "pool-graviton-spot-class"),
        ),
        ("karpenter-instances-terminated", lambda p: drop_dependencies(p, "pool-graviton-spot-class", "instances-terminated")),
        # The gate not waiting for the controller, its role, its queue or the node role (neither directly nor through
        # the release, which waits for role and queue on create). The cluster and the network are reached through the
        # release's provider too; the component test pins the gate's direct edges to them.
        (
            "karpenter-outlives-its-instances",
            lambda p: drop_dependencies(p, "karpenter-instances-terminated", "karpenter-release"),
        ),
        ("karpenter-outlives-its-instances", lambda p: drop_from(p, GATE_AND_RELEASE, "karpenter-controller")),
        ("karpenter-outlives-its-instances", lambda p: drop_from(p, GATE_AND_RELEASE, "interruptions")),
        (
            "karpenter-outlives-its-instances",
            lambda p: drop_dependencies(p, "karpenter-instances-terminated", "karpenter-node-Amazon"),
        ),
    ],
)
def test_a_missing_karpenter_edge_breaks_its_need(need: str, mutate) -> None:
    assert need in broken_needs(mutate(karpenter_example()))


def test_the_gate_waits_for_everything_karpenter_and_its_instances_use() -> None:
    pairs = [c for c in check_needs(frozen_plan("karpenter-example")) if c.need == "karpenter-outlives-its-instances"]
    providers = {c.provider.rsplit("::", 1)[-1] for c in pairs}
    assert {"karpenter-release", "karpenter-crd", "karpenter-controller-inline", "karpenter-controller-association"} <= providers
    assert {"karpenter-interruptions", "karpenter-spot-interruption", "karpenter-node-access", "cluster-eks"} <= providers
    assert {"nodes-system-group", "network-private-eu-central-1a"} <= providers
    assert all(c.holds for c in pairs)


def test_workloads_on_a_karpenter_pool_go_before_its_node_pool() -> None:
    plan = copy.deepcopy(karpenter_workload_plan().plan)
    pairs = [c for c in check_needs(PlanQuery(plan)) if c.need == "workloads-before-their-karpenter-pool"]
    assert {c.consumer.rsplit("::", 1)[-1] for c in pairs} == {
        "demo-httpd",
        "demo-tomcat",
        "storage-pv-demo",
        "storage-scratch-demo",
    }
    assert {c.provider.rsplit("::", 1)[-1] for c in pairs} == {"pool-general-nodepool"}
    assert all(c.holds for c in pairs)
    # Undo the edge: the Deployment no longer waits for the pool (nor, through the namespace, for anything).
    broken = drop_dependencies(plan, "demo-httpd", "", resource_type="kubernetes:apps/v1:Deployment")
    assert "workloads-before-their-karpenter-pool" in broken_needs(broken)
