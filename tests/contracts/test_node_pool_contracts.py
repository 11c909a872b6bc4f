"""Upstream rules for node pools and Karpenter, checked over plans with several pools: the shipped stacks, the
Karpenter example, a three-pool cluster-autoscaler config and the example with its demo on a Karpenter pool.

Each test names the external rule with its source and the realistic mistake it catches (as in
test_upstream_contracts.py, whose per-stack rules these extend to every pool)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from components.shared.node_pools import EKS_TAINT_EFFECTS, POOL_LABEL
from offline.analyses.lifecycle import check_needs
from offline.plan.query import PlanQuery
from settings import SYSTEM_POOL
from tests.conftest import frozen_plan, karpenter_workload_plan, managed_pools_plan

PLANS: dict[str, Callable[[], PlanQuery]] = {
    "dev": lambda: frozen_plan("dev"),
    "prod": lambda: frozen_plan("prod"),
    "karpenter-example": lambda: frozen_plan("karpenter-example"),
    "three-managed-pools": managed_pools_plan,
    "demo-on-karpenter": karpenter_workload_plan,
}
KARPENTER_PLANS = ("karpenter-example", "demo-on-karpenter")
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
WORKLOADS = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:DaemonSet")
GRAVITON = re.compile(r"^(a1|[a-z]+[0-9]+g[a-z]*)\.")


def pools_of(query: PlanQuery) -> dict[str, dict[str, Any]]:
    """Pool name -> {"managed": bool, "labels", "taints" (Kubernetes spelling)} from node groups and NodePools."""
    pools: dict[str, dict[str, Any]] = {}
    inverse = {eks: kubernetes for kubernetes, eks in EKS_TAINT_EFFECTS.items()}
    for group in query.of_type(NODE_GROUP):
        labels = group["inputs"]["labels"]
        taints = [{**t, "effect": inverse[t["effect"]]} for t in group["inputs"].get("taints", [])]
        pools[labels[POOL_LABEL]] = {"managed": True, "labels": labels, "taints": taints}
    for pool in query.of_type(NODE_POOL):
        template = pool["inputs"]["spec"]["template"]
        labels = template["metadata"]["labels"]
        pools[labels[POOL_LABEL]] = {"managed": False, "labels": labels, "taints": template["spec"].get("taints", [])}
    return pools


def required_pools(pod_spec: dict[str, Any]) -> set[str]:
    selected = {pod_spec["nodeSelector"][POOL_LABEL]} if POOL_LABEL in pod_spec.get("nodeSelector", {}) else set()
    terms = pod_spec.get("affinity", {}).get("nodeAffinity", {}).get("requiredDuringSchedulingIgnoredDuringExecution", {})
    for term in terms.get("nodeSelectorTerms", []):
        for expression in term.get("matchExpressions", []):
            if expression["key"] == POOL_LABEL and expression["operator"] == "In":
                selected.update(expression["values"])
    return selected


def tolerates(pod_spec: dict[str, Any], taint: dict[str, str]) -> bool:
    for toleration in pod_spec.get("tolerations", []):
        matches = toleration.get("key") in (None, taint["key"]) and toleration.get("effect") in (None, taint["effect"])
        if matches and (toleration.get("operator") == "Exists" or toleration.get("value", "") == taint.get("value", "")):
            return True
    return False


@pytest.mark.parametrize("plan", PLANS, ids=PLANS)
def test_every_pool_follows_the_control_plane_and_keeps_imds_to_the_node(plan: str) -> None:
    """test_upstream_contracts 6 and 12, for every pool: with our launch template EKS sets no node group version by
    itself (pulumi/pulumi-eks nodejs/eks/nodegroup.ts), and hop limit 1 keeps pods off the node role (AWS EKS Best
    Practices, "Restrict access to the instance profile assigned to the worker node"). Mistake: a second pool
    declared without the first pool's settings."""
    query = PLANS[plan]()
    version = query.one("eks:index:Cluster", "cluster-eks")["inputs"]["version"]
    groups = query.of_type(NODE_GROUP)
    assert groups and all(g["inputs"]["version"] == version for g in groups)
    templates = {f"{t['name']}-id": t for t in query.of_type("aws:ec2/launchTemplate:LaunchTemplate")}
    for group in groups:
        template = templates[group["inputs"]["launchTemplate"]["id"]]["inputs"]
        assert template["metadataOptions"]["httpTokens"] == "required"
        assert template["metadataOptions"]["httpPutResponseHopLimit"] == 1
        assert template["blockDeviceMappings"][0]["ebs"]["encrypted"] == "true"
    for node_class in query.of_type(NODE_CLASS):
        spec = node_class["inputs"]["spec"]
        assert spec["metadataOptions"]["httpPutResponseHopLimit"] == 1 and spec["metadataOptions"]["httpTokens"] == "required"


@pytest.mark.parametrize("plan", PLANS, ids=PLANS)
def test_every_pool_boots_the_ami_of_its_instance_types(plan: str) -> None:
    """An arm64 instance type cannot boot an x86_64 AMI: EKS rejects a node group whose amiType does not match its
    instance types (Amazon EKS API Reference, CreateNodegroup: amiType; AL2023_ARM_64_STANDARD for Graviton), and
    Karpenter launches only instance types matching the kubernetes.io/arch requirement. Mistake: a Graviton pool
    added with the default amiType, or a NodePool that asks for amd64 with m7g instance types (nothing launches)."""
    query = PLANS[plan]()
    for group in query.of_type(NODE_GROUP):
        graviton = {bool(GRAVITON.match(kind)) for kind in group["inputs"]["instanceTypes"]}
        assert graviton in ({True}, {False}), group["name"]
        expected = "AL2023_ARM_64_STANDARD" if graviton == {True} else "AL2023_x86_64_STANDARD"
        assert group["inputs"]["amiType"] == expected, group["name"]
    for pool in query.of_type(NODE_POOL):
        requirements = {r["key"]: r["values"] for r in pool["inputs"]["spec"]["template"]["spec"]["requirements"]}
        graviton = {bool(GRAVITON.match(kind)) for kind in requirements["node.kubernetes.io/instance-type"]}
        assert requirements["kubernetes.io/arch"] == (["arm64"] if graviton == {True} else ["amd64"])


@pytest.mark.parametrize("plan", PLANS, ids=PLANS)
def test_every_pod_can_land_on_a_pool_that_exists_and_admits_it(plan: str) -> None:
    """A pod whose required node affinity names no existing pool, or only pools whose taints it does not tolerate,
    stays Pending forever (Kubernetes documentation, "Assigning Pods to Nodes" and "Taints and Tolerations"), and the
    Deployment's await fails `pulumi up`. Mistake: the demo sent to a tainted pool, or a pool renamed under it."""
    query = PLANS[plan]()
    pools = pools_of(query)
    for workload in [w for t in WORKLOADS for w in query.of_type(t)]:
        pod_spec = workload["inputs"]["spec"]["template"]["spec"]
        selected = required_pools(pod_spec)
        assert selected, f"{workload['name']} may land anywhere"
        admitting = [name for name in selected if name in pools and all(tolerates(pod_spec, t) for t in pools[name]["taints"])]
        assert admitting, f"{workload['name']} selects {sorted(selected)}; existing {sorted(pools)}"


@pytest.mark.parametrize("plan", PLANS, ids=PLANS)
def test_controllers_run_on_the_managed_system_pool(plan: str) -> None:
    """Add-ons and controllers run on the system pool's managed nodes: the cluster autoscaler must not run on nodes it
    may remove, and Karpenter must never run on nodes it launched (aws/karpenter-provider-aws charts/karpenter/
    values.yaml, default affinity karpenter.sh/nodepool DoesNotExist). Mistake: a controller without a selector
    landing on a Spot or Karpenter node that consolidation then removes under it."""
    query = PLANS[plan]()
    pools = pools_of(query)
    assert pools[SYSTEM_POOL]["managed"] and not pools[SYSTEM_POOL]["taints"]
    for release in query.of_type("kubernetes:helm.sh/v3:Release"):
        values = release["inputs"].get("values", {})
        if release["name"] == "karpenter-crd":
            continue  # CRDs only, no pods
        selector = values.get("controller", {}).get("nodeSelector") or values.get("nodeSelector") or {}
        assert selector.get(POOL_LABEL) == SYSTEM_POOL, release["name"]


@pytest.mark.parametrize("plan", ["three-managed-pools"])
def test_pools_that_start_at_zero_can_be_scaled_up_by_the_autoscaler(plan: str) -> None:
    """With no node to copy, the cluster autoscaler builds a node template for an EKS managed node group from
    DescribeNodegroup (labels, taints): kubernetes/autoscaler cluster-autoscaler/cloudprovider/aws/
    managed_nodegroup_cache.go. Without eks:DescribeNodegroup on the cluster's node groups, a pool at minSize 0 with
    a label its pods select never grows. Mistake: the permission dropped as unused."""
    query = PLANS[plan]()
    from_zero = [g for g in query.of_type(NODE_GROUP) if g["inputs"]["scalingConfig"]["minSize"] == 0]
    assert from_zero
    cluster = query.one("eks:index:Cluster", "cluster-eks")["inputs"]["name"]
    policy = json.loads(query.one("aws:iam/rolePolicy:RolePolicy", "autoscaler-role-inline")["inputs"]["policy"])
    (describe,) = [s for s in policy["Statement"] if "eks:DescribeNodegroup" in s["Action"]]
    assert describe["Resource"].endswith(f":nodegroup/{cluster}/*")


@pytest.mark.parametrize("plan", KARPENTER_PLANS)
def test_karpenter_finds_exactly_the_subnets_and_security_group_this_program_tags(plan: str) -> None:
    """An EC2NodeClass launches into every subnet and security group its selector terms match (aws/karpenter-provider-
    aws website/content/en/docs/concepts/nodeclasses.md); the EKS-created cluster security group is the one managed
    nodes get when their launch template names none (EKS User Guide, "Customize managed nodes with launch templates").
    Mistake: the discovery tag on public subnets (nodes get no NAT route), or selectors on a tag nothing sets (no
    node can launch)."""
    query = PLANS[plan]()
    cluster = query.one("eks:index:Cluster", "cluster-eks")
    name = cluster["inputs"]["name"]
    tagged = {
        s["name"] for s in query.of_type("aws:ec2/subnet:Subnet") if s["inputs"]["tags"].get("karpenter.sh/discovery") == name
    }
    private = {
        s["name"] for s in query.of_type("aws:ec2/subnet:Subnet") if "kubernetes.io/role/internal-elb" in s["inputs"]["tags"]
    }
    assert tagged == private
    (tag,) = query.of_type("aws:ec2/tag:Tag")
    assert (tag["inputs"]["key"], tag["inputs"]["value"]) == ("karpenter.sh/discovery", name)
    assert cluster["urn"] in tag["dependencies"]
    for node_class in query.of_type(NODE_CLASS):
        spec = node_class["inputs"]["spec"]
        assert spec["subnetSelectorTerms"] == spec["securityGroupSelectorTerms"] == [{"tags": {"karpenter.sh/discovery": name}}]


@pytest.mark.parametrize("plan", KARPENTER_PLANS)
def test_karpenters_nodes_can_join_with_the_role_their_node_class_names(plan: str) -> None:
    """An EC2NodeClass names a role by name; Karpenter builds an instance profile from it and must be allowed to pass
    it (cloudformation.yaml, AllowPassingInstanceRole), and in API authentication mode a node joins only with an
    EC2_LINUX access entry for its role (EKS User Guide, "Create access entries"). Mistake: the managed nodes' role
    reused without an entry, or a second role without PassRole: instances start and never become nodes."""
    query = PLANS[plan]()
    roles = {r["name"]: r for r in query.of_type("aws:iam/role:Role")}
    entries = {e["inputs"]["principalArn"]: e for e in query.of_type("aws:eks/accessEntry:AccessEntry")}
    policy = json.loads(query.one("aws:iam/rolePolicy:RolePolicy", "karpenter-controller-inline")["inputs"]["policy"])
    (pass_role,) = [s for s in policy["Statement"] if s["Action"] == "iam:PassRole"]
    for node_class in query.of_type(NODE_CLASS):
        role = roles[node_class["inputs"]["spec"]["role"]]
        arn = f"arn:aws:iam::123456789012:role/{role['name']}"
        assert entries[arn]["inputs"]["type"] == "EC2_LINUX"
        assert pass_role["Resource"] == arn


@pytest.mark.parametrize("plan", KARPENTER_PLANS)
def test_karpenter_gets_credentials_and_region_without_the_node(plan: str) -> None:
    """Karpenter takes its region from IMDS when none is set and exits if it cannot reach it (aws/karpenter-provider-aws
    pkg/operator/operator.go); hop limit 1 keeps its pod from IMDS, so the region comes from AWS_REGION and the
    credentials from Pod Identity. Mistake: the upstream values without the env var: CrashLoopBackOff, `up` fails."""
    query = PLANS[plan]()
    values = query.one("kubernetes:helm.sh/v3:Release", "karpenter-release")["inputs"]["values"]
    (provider,) = query.of_type("pulumi:providers:aws")
    assert {"name": "AWS_REGION", "value": provider["inputs"]["region"]} in values["controller"]["env"]
    checks = [c for c in check_needs(query) if c.need == "pod-identity-credentials" and "karpenter-release" in c.consumer]
    assert len(checks) == 2 and all(c.holds for c in checks)
