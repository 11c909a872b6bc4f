"""The seed's closing warning as a guarantee: `pulumi destroy` leaves no load balancer and no EBS volume behind.

Pulumi deletes a resource before everything it depends on. So every object that owns a cloud resource
(a LoadBalancer Service, directly or inside a Helm release, and every PVC with the gate that waits for its
EBS volume to be gone) must depend on the node group, the EBS CSI add-on and the cluster: then it is
deleted while the controllers that clean up (delete the volume, the NLB) still run.
"""

from __future__ import annotations

import copy

import pytest

from offline.plan_query import PlanQuery
from tests.conftest import STACKS, stack_plan

VOLUME_GATE = "pulumi-python:dynamic/storage:VolumeReleaseGate"
# Demo workloads on: every claim and load balancer the program can declare, in every stack.
CASES = [(stack, controller) for stack in STACKS for controller in ("", "ingress-nginx")]


def cloud_owners(query: PlanQuery) -> list[dict]:
    owners = list(query.of_type("kubernetes:core/v1:PersistentVolumeClaim"))
    owners += query.of_type(VOLUME_GATE)
    owners += [s for s in query.of_type("kubernetes:core/v1:Service") if s["inputs"]["spec"].get("type") == "LoadBalancer"]
    owners += [
        release
        for release in query.of_type("kubernetes:helm.sh/v3:Release")
        if release["inputs"]["values"].get("controller", {}).get("service", {}).get("type") == "LoadBalancer"
    ]
    return owners


def must_outlive(query: PlanQuery) -> list[dict]:
    (node_group,) = query.of_type("eks:index:ManagedNodeGroup")
    (cluster,) = query.of_type("eks:index:Cluster")
    (csi,) = [a for a in query.of_type("aws:eks/addon:Addon") if a["inputs"]["addonName"] == "aws-ebs-csi-driver"]
    return [node_group, csi, cluster]


def violations(query: PlanQuery) -> list[str]:
    return [
        f"{owner['urn']} could outlive {target['urn']}"
        for owner in cloud_owners(query)
        for target in must_outlive(query)
        if not query.depends_on(owner["urn"], target["urn"])
    ]


@pytest.mark.parametrize(("stack", "controller"), CASES)
def test_everything_that_owns_a_cloud_resource_is_deleted_first(stack: str, controller: str) -> None:
    query = stack_plan(stack, controller, demo_workloads=True)
    owners = cloud_owners(query)
    assert {o["type"] for o in owners} == {
        "kubernetes:core/v1:PersistentVolumeClaim",
        VOLUME_GATE,
        "kubernetes:helm.sh/v3:Release",
    }
    assert violations(query) == []


@pytest.mark.parametrize("stack", STACKS)
def test_each_stack_as_shipped_is_deleted_in_order(stack: str) -> None:
    # With the stack's own demoWorkloads setting; without the demos the ingress release is the only owner.
    query = stack_plan(stack)
    assert "kubernetes:helm.sh/v3:Release" in {o["type"] for o in cloud_owners(query)}
    assert violations(query) == []


@pytest.mark.parametrize(("stack", "controller"), CASES)
def test_every_claim_waits_for_its_volume_to_be_released(stack: str, controller: str) -> None:
    # Deleting a claim returns before the CSI driver has deleted its EBS volume; the gate behind it waits.
    query = stack_plan(stack, controller, demo_workloads=True)
    gates = {(g["inputs"]["namespace"], g["inputs"]["claim"]): g for g in query.of_type(VOLUME_GATE)}
    for claim in query.of_type("kubernetes:core/v1:PersistentVolumeClaim"):
        metadata = claim["inputs"]["metadata"]
        gate = gates[(metadata["namespace"], metadata["name"])]
        assert gate["urn"] in claim["dependencies"]


@pytest.mark.parametrize(("stack", "controller"), CASES)
def test_helm_releases_wait_for_their_objects_to_be_deleted(stack: str, controller: str) -> None:
    for release in stack_plan(stack, controller, demo_workloads=True).of_type("kubernetes:helm.sh/v3:Release"):
        # skipAwait false makes `helm uninstall` wait, so the LoadBalancer Service's finalizer (the NLB) is gone first.
        assert release["inputs"]["skipAwait"] is False, release["urn"]


def test_the_check_fails_when_a_claim_loses_its_edges() -> None:
    plan = copy.deepcopy(stack_plan("dev").plan)
    for resource in plan["resources"]:
        resource["dependencies"] = [d for d in resource["dependencies"] if "addons-ebs-csi-driver" not in d]
    problems = violations(PlanQuery(plan))
    claim = "urn:pulumi:dev::eks-platform::eks-platform:storage:Storage$kubernetes:core/v1:PersistentVolumeClaim::storage-ebs-pvc"
    csi = "urn:pulumi:dev::eks-platform::eks-platform:cluster:ClusterAddons$aws:eks/addon:Addon::addons-ebs-csi-driver"
    assert f"{claim} could outlive {csi}" in problems


def test_a_load_balancer_service_outside_the_graph_order_is_caught() -> None:
    plan = copy.deepcopy(stack_plan("dev").plan)
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
    assert len(violations(PlanQuery(plan))) == 3


def test_prod_protects_the_cluster_and_the_claim() -> None:
    query = stack_plan("prod", demo_workloads=True)
    assert query.one("eks:index:Cluster", "cluster-eks")["protect"] is True
    assert query.one("kubernetes:core/v1:PersistentVolumeClaim", "storage-ebs-pvc")["protect"] is True
    assert stack_plan("dev").one("kubernetes:core/v1:PersistentVolumeClaim", "storage-ebs-pvc")["protect"] is False


@pytest.mark.parametrize("stack", STACKS)
def test_iam_permissions_outlive_what_uses_them(stack: str) -> None:
    # A role's policies must be detached only after whatever acts with the role is gone: the control plane
    # deletes load balancers with the cluster role, the CSI driver deletes volumes with its role.
    query = stack_plan(stack)
    permissions = query.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") + query.of_type(
        "aws:iam/rolePolicy:RolePolicy"
    )
    users = [r for r in query.resources if r["custom"] or r["type"].startswith("eks:index:")]
    users = [r for r in users if not r["type"].startswith(("aws:iam/", "pulumi:providers:"))]
    for permission in permissions:
        assert any(permission["urn"] in user["dependencies"] for user in users), f"nothing waits for {permission['urn']}"
    (cluster,) = query.of_type("eks:index:Cluster")
    (node_group,) = query.of_type("eks:index:ManagedNodeGroup")
    (csi,) = [a for a in query.of_type("aws:eks/addon:Addon") if a["inputs"]["addonName"] == "aws-ebs-csi-driver"]
    for consumer, role_prefix in ((cluster, "iam-cluster-"), (node_group, "iam-node-"), (csi, "addons-ebs-csi-")):
        mine = [p for p in permissions if p["name"].startswith(role_prefix)]
        assert mine and all(p["urn"] in consumer["dependencies"] for p in mine), consumer["urn"]
