"""The seed's closing warning as a guarantee: `pulumi destroy` leaves no load balancer and no EBS volume behind.

Each guarantee is a runtime need of the lifecycle rehearsal (offline/lifecycle.py), checked here per stack and
ingress controller; these tests pin which needs cover what the seed warns about.
"""

from __future__ import annotations

import pytest

from offline.analyses.lifecycle import check_needs, rehearse
from tests.conftest import STACKS, frozen_plan, karpenter_workload_plan, stack_plan

VOLUME_GATE = "pulumi-python:dynamic/storage:VolumeReleaseGate"
# Demo workloads on: every claim and load balancer the program can declare, in every stack.
CASES = [(stack, controller) for stack in STACKS for controller in ("", "ingress-nginx")]
# What must be gone before the controllers that clean up after it: the needs that say so.
CLEAN_UP_NEEDS = {"volume-deletion", "load-balancer-deletion", "public-addresses", "workloads-nodes", "workloads-egress"}


@pytest.mark.parametrize(("stack", "controller"), CASES)
def test_everything_that_owns_a_cloud_resource_is_deleted_first(stack: str, controller: str) -> None:
    checks = [c for c in check_needs(stack_plan(stack, controller, demo_workloads=True)) if c.need in CLEAN_UP_NEEDS]
    owners = {c.consumer.rsplit("::", 1)[-1] for c in checks if c.need in ("volume-deletion", "load-balancer-deletion")}
    assert owners == {"storage-ebs-pvc", "storage-ebs-pvc-released", "ingress-release"}
    assert [c for c in checks if not c.holds] == []


@pytest.mark.parametrize("stack", STACKS)
def test_each_stack_as_shipped_is_deleted_in_order(stack: str) -> None:
    # With the stack's own demoWorkloads setting; without the demos the ingress release is the only owner.
    checks = [c for c in check_needs(stack_plan(stack)) if c.need in CLEAN_UP_NEEDS]
    assert any(c.consumer.endswith("::ingress-release") for c in checks)
    assert [c for c in checks if not c.holds] == []


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


def test_prod_protects_the_cluster_and_the_claim() -> None:
    query = frozen_plan("prod", demo_workloads=True)
    assert query.one("eks:index:Cluster", "cluster-eks")["protect"] is True
    assert query.one("kubernetes:core/v1:PersistentVolumeClaim", "storage-ebs-pvc")["protect"] is True
    assert frozen_plan("dev").one("kubernetes:core/v1:PersistentVolumeClaim", "storage-ebs-pvc")["protect"] is False


@pytest.mark.parametrize("stack", STACKS)
def test_iam_permissions_outlive_what_uses_them(stack: str) -> None:
    # A role's policies must be detached only after whatever acts with the role is gone: the control plane
    # deletes load balancers with the cluster role, the CSI driver deletes volumes with its role.
    query = stack_plan(stack, demo_workloads=True)
    permissions = query.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") + query.of_type(
        "aws:iam/rolePolicy:RolePolicy"
    )
    users = [r for r in query.resources if r["custom"] or r["type"].startswith("eks:index:")]
    users = [r for r in users if not r["type"].startswith(("aws:iam/", "pulumi:providers:"))]
    for permission in permissions:
        assert any(permission["urn"] in user["dependencies"] for user in users), f"nothing waits for {permission['urn']}"
    checks = check_needs(query)
    for need in ("node-permissions", "control-plane-permissions", "volume-deletion"):
        assert any(c.need == need and "iam" in c.provider for c in checks if c.holds), need


def test_with_karpenter_destroy_removes_workloads_then_node_pools_then_waits_then_karpenter() -> None:
    """The order `pulumi destroy` follows with Karpenter (README, "Destroy leaves nothing behind"): what runs on a
    Karpenter pool, then its NodePool and EC2NodeClass, then the gate waits for their instances, then Karpenter, its
    role and queue, then the cluster and the network. Waves from the lifecycle rehearsal; a lower wave goes first."""
    report = rehearse(karpenter_workload_plan())
    waves = {urn: index for index, urns in enumerate(report["destroy"]) for urn in urns}

    def wave(type_and_name: str) -> int:
        (index,) = [index for urn, index in waves.items() if urn.endswith(type_and_name)]
        return index

    gate = wave("dynamic/karpenter:InstanceGate::karpenter-instances-terminated")
    workload = wave("Deployment::demo-httpd")
    assert workload < wave("NodePool::pool-general-nodepool") < wave("EC2NodeClass::pool-general-class") < gate
    for after_gate in (
        "Release::karpenter-release",
        "RolePolicy::karpenter-controller-inline",
        "Queue::karpenter-interruptions",
        "AccessEntry::karpenter-node-access",
    ):
        assert gate < wave(after_gate), after_gate
    assert wave("Release::karpenter-release") < wave("NodeGroup::nodes-system-group") < wave("Cluster::cluster-eks")
    assert wave("Cluster::cluster-eks") < wave("Vpc::network-vpc")
