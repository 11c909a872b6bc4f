"""Karpenter's controller, IAM, interruption queue and node access, as the reference installation sets them up
(aws/karpenter-provider-aws website/content/en/docs/getting-started/getting-started-with-karpenter/)."""

from __future__ import annotations

import json
from typing import Any

import pulumi_aws as aws
import pytest

from components.karpenter import Karpenter, KarpenterArgs
from tests.conftest import run_component

CLUSTER = "demo"
OWNED = {f"aws:ResourceTag/kubernetes.io/cluster/{CLUSTER}": "owned"}


def plan(region: str = "eu-west-1", partition: str = "aws"):
    def program() -> None:
        cluster = aws.ec2.LaunchTemplate("cluster")
        nodes = aws.ec2.LaunchTemplate("system-nodes")
        subnet = aws.ec2.Subnet("private-a", vpc_id="vpc-1", cidr_block="10.0.0.0/24")
        Karpenter(
            "karpenter",
            KarpenterArgs(
                cluster_name=CLUSTER,
                cluster=CLUSTER,
                region=region,
                partition=partition,
                cluster_security_group_id="sg-cluster",
                system_pool="system",
                cluster_dependencies=(cluster, nodes),
                network_dependencies=(subnet,),
            ),
        )

    return run_component(program)


def controller_policy(query) -> list[dict[str, Any]]:
    document = json.loads(query.one("aws:iam/rolePolicy:RolePolicy", "karpenter-controller-inline")["inputs"]["policy"])
    statements: list[dict[str, Any]] = document["Statement"]
    return statements


def actions(statement: dict[str, Any]) -> list[str]:
    value = statement["Action"]
    return value if isinstance(value, list) else [value]


def resources(statement: dict[str, Any]) -> list[str]:
    value = statement["Resource"]
    return value if isinstance(value, list) else [value]


WRITES = (
    "ec2:CreateLaunchTemplate",
    "ec2:CreateTags",
    "ec2:TerminateInstances",
    "ec2:DeleteLaunchTemplate",
    "iam:CreateInstanceProfile",
    "iam:TagInstanceProfile",
    "iam:AddRoleToInstanceProfile",
    "iam:RemoveRoleFromInstanceProfile",
    "iam:DeleteInstanceProfile",
)


def test_every_write_is_scoped_to_this_clusters_tags() -> None:
    """The reference policy scopes each write by the tags Karpenter puts on what it creates: kubernetes.io/cluster/
    <cluster>=owned on the resource, or in the request (cloudformation.yaml, NodeLifecyclePolicy and
    IAMIntegrationPolicy). Mistake: `ec2:TerminateInstances` on `*`, letting the controller end any instance."""
    statements = controller_policy(plan())
    for statement in statements:
        for action in actions(statement):
            if action not in WRITES:
                continue
            conditions = json.dumps(statement.get("Condition", {}))
            assert f"kubernetes.io/cluster/{CLUSTER}" in conditions, (statement["Sid"], action)
            assert "*" not in resources(statement), statement["Sid"]
    # RunInstances and CreateFleet on the instances, volumes and interfaces they create carry the request tags.
    (launch,) = [s for s in statements if s["Sid"] == "AllowScopedEC2InstanceActionsWithTags"]
    assert launch["Condition"]["StringEquals"] == {
        f"aws:RequestTag/kubernetes.io/cluster/{CLUSTER}": "owned",
        "aws:RequestTag/eks:eks-cluster-name": CLUSTER,
    }
    (delete,) = [s for s in statements if "ec2:TerminateInstances" in actions(s)]
    assert delete["Condition"]["StringEquals"] == OWNED


def test_unscoped_statements_only_read() -> None:
    for statement in controller_policy(plan()):
        if "*" in resources(statement):
            assert all(a.split(":")[1].startswith(("Describe", "Get", "List")) for a in actions(statement)), statement["Sid"]


def test_pass_role_queue_and_cluster_are_exactly_these() -> None:
    query = plan()
    statements = {s["Sid"]: s for s in controller_policy(query)}
    node_role = query.one("aws:iam/role:Role", "karpenter-node")
    assert statements["AllowPassingInstanceRole"]["Resource"] == f"arn:aws:iam::123456789012:role/{node_role['name']}"
    assert statements["AllowPassingInstanceRole"]["Condition"]["StringEquals"]["iam:PassedToService"][0] == "ec2.amazonaws.com"
    (target, *_) = query.of_type("aws:cloudwatch/eventTarget:EventTarget")
    assert statements["AllowInterruptionQueueActions"]["Resource"] == target["inputs"]["arn"]
    assert statements["AllowAPIServerEndpointDiscovery"]["Resource"] == f"arn:aws:eks:eu-west-1:123456789012:cluster/{CLUSTER}"
    # Within the 10,240 characters IAM allows for a role's inline policies (IAM User Guide, "IAM and AWS STS quotas").
    inline = query.one("aws:iam/rolePolicy:RolePolicy", "karpenter-controller-inline")["inputs"]["policy"]
    assert len(json.dumps(json.loads(inline), separators=(",", ":"))) < 10_240


def test_the_controller_gets_its_role_through_pod_identity() -> None:
    query = plan()
    association = query.one("aws:eks/podIdentityAssociation:PodIdentityAssociation", "karpenter-controller-association")
    assert (association["inputs"]["namespace"], association["inputs"]["serviceAccount"]) == ("kube-system", "karpenter")
    release = query.one("kubernetes:helm.sh/v3:Release", "karpenter-release")
    assert release["inputs"]["values"]["serviceAccount"] == {"create": True, "name": "karpenter"}
    assert release["inputs"]["namespace"] == "kube-system"
    assert association["urn"] in release["dependencies"]
    trust = json.loads(query.one("aws:iam/role:Role", "karpenter-controller")["inputs"]["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "pods.eks.amazonaws.com"}


def test_the_controller_runs_on_managed_system_nodes_with_its_region_and_queue() -> None:
    """Karpenter reads its region from IMDS when none is configured and exits if it cannot (aws/karpenter-provider-aws
    pkg/operator/operator.go); with a hop limit of 1 the pod cannot reach IMDS. It must never run on a node it
    launched: the chart's default affinity (karpenter.sh/nodepool DoesNotExist, charts/karpenter/values.yaml) is
    kept, and the nodes must belong to an EKS managed node group of the system pool."""
    query = plan()
    values = query.one("kubernetes:helm.sh/v3:Release", "karpenter-release")["inputs"]["values"]
    queue = query.one("aws:sqs/queue:Queue", "karpenter-interruptions")["inputs"]["name"]
    assert values["settings"] == {"clusterName": CLUSTER, "interruptionQueue": queue}
    assert {"name": "AWS_REGION", "value": "eu-west-1"} in values["controller"]["env"]
    assert values["nodeSelector"]["platform.eks/pool"] == "system"
    (term,) = values["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert {"key": "karpenter.sh/nodepool", "operator": "DoesNotExist"} in term["matchExpressions"]
    assert {"key": "eks.amazonaws.com/nodegroup", "operator": "Exists"} in term["matchExpressions"]
    assert values["controller"]["resources"]["requests"] == values["controller"]["resources"]["limits"]


def test_charts_are_pinned_oci_charts_and_the_crds_have_their_own_release() -> None:
    """Helm installs a chart's crds/ directory once and never upgrades it (aws/karpenter-provider-aws
    website/content/en/docs/upgrading/upgrade-guide.md, "CRD Upgrades"): the karpenter-crd chart of the same
    version manages them, and the controller chart skips its copy. Mistake: CRDs frozen at the first version."""
    query = plan()
    crds = query.one("kubernetes:helm.sh/v3:Release", "karpenter-crd")["inputs"]
    controller = query.one("kubernetes:helm.sh/v3:Release", "karpenter-release")
    assert crds["chart"] == "oci://public.ecr.aws/karpenter/karpenter-crd"
    assert controller["inputs"]["chart"] == "oci://public.ecr.aws/karpenter/karpenter"
    assert crds["version"] == controller["inputs"]["version"] == "1.14.1"
    assert "repositoryOpts" not in crds
    assert controller["inputs"]["skipCrds"] is True and "skipCrds" not in crds
    assert query.one("kubernetes:helm.sh/v3:Release", "karpenter-crd")["urn"] in controller["dependencies"]


def test_the_interruption_queue_receives_the_four_interruption_events_and_more() -> None:
    """cloudformation.yaml: a queue with 300 s retention and SSE, a policy letting EventBridge (and SQS) send and
    refusing plain HTTP, and one rule per event type with the queue as target. Mistake: a rule without a target, or
    a queue policy EventBridge cannot send through (interruptions then never reach Karpenter)."""
    query = plan()
    queue = query.one("aws:sqs/queue:Queue", "karpenter-interruptions")
    assert queue["inputs"]["messageRetentionSeconds"] == 300
    assert queue["inputs"]["sqsManagedSseEnabled"] is True
    rules = query.of_type("aws:cloudwatch/eventRule:EventRule")
    patterns = {json.loads(r["inputs"]["eventPattern"])["detail-type"][0] for r in rules}
    assert {
        "EC2 Spot Instance Interruption Warning",
        "EC2 Instance Rebalance Recommendation",
        "EC2 Instance State-change Notification",
        "AWS Health Event",
    } <= patterns
    targets = query.of_type("aws:cloudwatch/eventTarget:EventTarget")
    assert len(targets) == len(patterns) == 5
    # Every rule has a target, and every target is the queue.
    assert {t["inputs"]["rule"] for t in targets} == {r["name"] for r in rules}
    (queue_arn,) = {t["inputs"]["arn"] for t in targets}
    assert queue_arn.endswith("/demo-karpenter")
    policy = json.loads(query.one("aws:sqs/queuePolicy:QueuePolicy", "karpenter-interruptions")["inputs"]["policy"])
    allow, deny = policy["Statement"]
    assert allow["Principal"] == {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]}
    assert (allow["Action"], allow["Resource"], deny["Resource"]) == ("sqs:SendMessage", queue_arn, queue_arn)
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_karpenters_nodes_have_their_role_access_entry_and_security_group_tag() -> None:
    query = plan()
    role = query.one("aws:iam/role:Role", "karpenter-node")
    assert json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    attached = {
        a["inputs"]["policyArn"].rsplit("/", 1)[-1] for a in query.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    }
    assert attached == {
        "AmazonEKS_CNI_Policy",
        "AmazonEKSWorkerNodePolicy",
        "AmazonEC2ContainerRegistryPullOnly",
        "AmazonSSMManagedInstanceCore",
    }
    # API authentication mode: a node role needs an EC2_LINUX access entry (EKS User Guide, "Create access entries").
    entry = query.one("aws:eks/accessEntry:AccessEntry", "karpenter-node-access")["inputs"]
    assert entry == {
        "clusterName": CLUSTER,
        "principalArn": f"arn:aws:iam::123456789012:role/{role['name']}",
        "type": "EC2_LINUX",
    }
    tag = query.one("aws:ec2/tag:Tag", "karpenter-cluster-sg-discovery")["inputs"]
    assert tag == {"resourceId": "sg-cluster", "key": "karpenter.sh/discovery", "value": CLUSTER}


def test_the_gate_waits_for_everything_karpenter_and_its_instances_need() -> None:
    query = plan()
    (gate,) = query.of_type("pulumi-python:dynamic/karpenter:InstanceGate")
    names = {urn.rsplit("::", 1)[-1] for urn in gate["dependencies"]}
    assert {"karpenter-release", "karpenter-crd", "karpenter-node-access", "karpenter-cluster-sg-discovery"} <= names
    assert {"karpenter-controller-inline", "karpenter-controller-association", "karpenter-interruptions"} <= names
    assert {f"karpenter-node-{policy}" for policy in ("AmazonEKS_CNI_Policy", "AmazonEKSWorkerNodePolicy")} <= names
    assert {"karpenter-spot-interruption", "cluster", "system-nodes", "private-a"} <= names


@pytest.mark.parametrize(("region", "partition"), [("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")])
def test_policy_arns_follow_the_partition(region: str, partition: str) -> None:
    # The node role and queue ARNs come from AWS (the mock answers in its own partition); the rest are built here.
    for statement in controller_policy(plan(region, partition)):
        if statement["Sid"] in ("AllowPassingInstanceRole", "AllowInterruptionQueueActions"):
            continue
        for arn in resources(statement):
            assert arn == "*" or arn.startswith(f"arn:{partition}:"), arn
