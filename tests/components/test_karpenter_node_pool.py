"""A Karpenter pool: the EC2NodeClass and NodePool (karpenter.k8s.aws/v1, karpenter.sh/v1) built from a pool's config."""

from __future__ import annotations

import re

import pulumi_aws as aws
import pytest

from components.karpenter_node_pool import KarpenterNodePool, KarpenterNodePoolArgs
from components.shared.node_pools import Taint
from components.shared.versions import KARPENTER_AMI_ALIAS
from tests.conftest import run_component

ZONES = ("eu-west-1a", "eu-west-1b")


def plan(architecture: str = "arm64", capacity: str = "SPOT", taints: tuple[Taint, ...] = ()):
    def program() -> None:
        gate = aws.ec2.LaunchTemplate("gate")
        KarpenterNodePool(
            "pool-batch",
            KarpenterNodePoolArgs(
                cluster_name="demo",
                pool="batch",
                node_role_name="karpenter-node-1234",
                instance_types=("m7g.large", "c7g.xlarge") if architecture == "arm64" else ("m6i.large",),
                cpu_architecture=architecture,
                capacity_type=capacity,
                max_size=6,
                disk_size_gib=40,
                max_unavailable=2,
                zones=ZONES,
                tags={"project": "eks-platform", "managed-by": "karpenter"},
                dependencies=(gate,),
                labels={"environment": "test", "example.com/team": "batch"},
                taints=taints,
            ),
        )

    return run_component(program)


def node_pool(query) -> dict:
    spec: dict = query.one("kubernetes:karpenter.sh/v1:NodePool", "pool-batch-nodepool")["inputs"]
    return spec


def node_class(query) -> dict:
    spec: dict = query.one("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", "pool-batch-class")["inputs"]
    return spec


def requirement(pool: dict, key: str) -> list[str]:
    (found,) = [r for r in pool["spec"]["template"]["spec"]["requirements"] if r["key"] == key]
    assert found["operator"] == "In"
    values: list[str] = found["values"]
    return values


@pytest.mark.parametrize(
    ("architecture", "capacity", "kubernetes_arch", "capacity_type"),
    [("arm64", "SPOT", "arm64", "spot"), ("x86_64", "ON_DEMAND", "amd64", "on-demand")],
)
def test_the_pool_launches_exactly_its_instance_types_architecture_and_capacity(
    architecture: str, capacity: str, kubernetes_arch: str, capacity_type: str
) -> None:
    """Karpenter's well-known requirement keys and values (aws/karpenter-provider-aws website/content/en/docs/concepts/
    nodepools.md: kubernetes.io/arch amd64|arm64, karpenter.sh/capacity-type spot|on-demand). Mistake: the EC2 names
    x86_64 or SPOT, which match no offering, so nothing is ever launched."""
    pool = node_pool(plan(architecture, capacity))
    assert requirement(pool, "kubernetes.io/arch") == [kubernetes_arch]
    assert requirement(pool, "karpenter.sh/capacity-type") == [capacity_type]
    assert requirement(pool, "kubernetes.io/os") == ["linux"]
    assert requirement(pool, "topology.kubernetes.io/zone") == list(ZONES)
    expected_types = ["m7g.large", "c7g.xlarge"] if architecture == "arm64" else ["m6i.large"]
    assert requirement(pool, "node.kubernetes.io/instance-type") == expected_types


def test_labels_taints_limits_and_disruption() -> None:
    query = plan(taints=(Taint("example.com/dedicated", "batch", "NoSchedule"), Taint("spot", "", "PreferNoSchedule")))
    pool = node_pool(query)
    assert pool["apiVersion"] == "karpenter.sh/v1" and pool["metadata"]["name"] == "batch"
    template = pool["spec"]["template"]
    assert template["metadata"]["labels"] == {"platform.eks/pool": "batch", "environment": "test", "example.com/team": "batch"}
    assert template["spec"]["taints"] == [
        {"key": "example.com/dedicated", "value": "batch", "effect": "NoSchedule"},
        {"key": "spot", "effect": "PreferNoSchedule"},
    ]
    assert template["spec"]["nodeClassRef"] == {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "batch"}
    # Strings: the API server stores quantities as strings (nodepools.md, "spec.limits").
    assert pool["spec"]["limits"] == {"nodes": "6"}
    assert pool["spec"]["disruption"]["budgets"] == [{"nodes": "2"}]
    assert template["spec"]["terminationGracePeriod"] == "10m"


def test_the_node_class_finds_the_tagged_subnets_and_security_group_and_hardens_the_instance() -> None:
    spec = node_class(plan())["spec"]
    assert spec["role"] == "karpenter-node-1234"
    assert spec["amiSelectorTerms"] == [{"alias": KARPENTER_AMI_ALIAS}]
    assert spec["subnetSelectorTerms"] == [{"tags": {"karpenter.sh/discovery": "demo"}}]
    assert spec["securityGroupSelectorTerms"] == [{"tags": {"karpenter.sh/discovery": "demo"}}]
    assert spec["metadataOptions"]["httpTokens"] == "required"
    assert spec["metadataOptions"]["httpPutResponseHopLimit"] == 1
    (root,) = spec["blockDeviceMappings"]
    assert root == {
        "deviceName": "/dev/xvda",
        "rootVolume": True,
        "ebs": {"volumeSize": "40Gi", "volumeType": "gp3", "encrypted": True, "deleteOnTermination": True},
    }
    # The provider's default tags never reach instances Karpenter launches: the node class carries them.
    assert spec["tags"] == {"project": "eks-platform", "managed-by": "karpenter"}


def test_the_ami_alias_is_a_pinned_al2023_release() -> None:
    """An alias of family@version; `latest` drifts every node at each AMI release (the EC2NodeClass CRD's
    amiSelectorTerms.alias description: not recommended for production)."""
    family, _, version = KARPENTER_AMI_ALIAS.partition("@")
    assert family == "al2023" and version.startswith("v") and version[1:].isdigit() and len(version) == 9


def test_both_objects_wait_for_the_gate_and_the_pool_for_its_class() -> None:
    query = plan()
    gate = query.one("aws:ec2/launchTemplate:LaunchTemplate", "gate")["urn"]
    nodes = query.one("kubernetes:karpenter.sh/v1:NodePool", "pool-batch-nodepool")
    nodeclass = query.one("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", "pool-batch-class")
    assert gate in nodes["dependencies"] and gate in nodeclass["dependencies"]
    assert nodeclass["urn"] in nodes["dependencies"]


def test_deleting_either_object_may_last_as_long_as_its_nodes_drain() -> None:
    """A NodePool keeps its finalizer until its NodeClaims are gone, an EC2NodeClass until no NodeClaim uses it
    (kubernetes-sigs/karpenter pkg/controllers/nodepool/termination; karpenter-provider-aws nodeclass termination),
    and a drain may take the whole termination grace period (10m). pulumi-kubernetes gives up on a deletion after
    10 minutes by default (pulumi/pulumi-kubernetes provider/pkg/await/await.go). The mistake: a destroy that fails
    half-way on the NodePool while its nodes are still draining."""
    query = plan()
    for resource in (
        query.one("kubernetes:karpenter.sh/v1:NodePool", "pool-batch-nodepool"),
        query.one("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", "pool-batch-class"),
    ):
        assert resource["customTimeouts"] == {"delete": "20m"}, resource["urn"]


def _hours(duration: str) -> float:
    """A NodePool duration (the CRD's pattern ^(([0-9]+(s|m|h))+|Never)$) in hours."""
    parts = re.fullmatch(r"(?:[0-9]+[smh])+", duration)
    assert parts, f"expireAfter {duration!r} is not a finite duration"
    scale = {"s": 1 / 3600, "m": 1 / 60, "h": 1}
    return sum(int(amount) * scale[unit] for amount, unit in re.findall(r"([0-9]+)([smh])", duration))


def test_nodes_expire_so_karpenter_rotates_long_lived_nodes() -> None:
    """spec.template.spec.expireAfter is how long a node may live before Karpenter replaces it, "useful to implement
    features like eventually consistent node upgrade, memory leak protection" (aws/karpenter-provider-aws v1.14.1
    pkg/apis/crds/karpenter.sh_nodepools.yaml: default 720h, "Never" turns it off). Left out, the API server applies
    that default. Catches: nodes that never expire ("Never", or years), which keep their kernel, AMI and whatever
    leaked indefinitely: Karpenter never rotates long-lived nodes."""
    spec = node_pool(plan())["spec"]["template"]["spec"]
    expire_after = spec.get("expireAfter", "720h")
    assert expire_after != "Never", "Karpenter never rotates the pool's nodes"
    assert _hours(expire_after) == 720
