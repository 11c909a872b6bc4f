"""Karpenter's controller, IAM, interruption queue and node access, as the reference installation sets them up
(aws/karpenter-provider-aws website/content/en/docs/getting-started/getting-started-with-karpenter/)."""

from __future__ import annotations

import fnmatch
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


# Karpenter's reference controller policy at the pinned chart version (components/shared/versions.py KARPENTER):
# aws/karpenter-provider-aws tag v1.14.1 (bde00654cd316fddb3dccfba3f5ac07039865429),
# website/content/en/docs/getting-started/getting-started-with-karpenter/cloudformation.yaml, the PolicyDocuments of
# NodeLifecyclePolicy, IAMIntegrationPolicy, EKSIntegrationPolicy, InterruptionPolicy and ResourceDiscoveryPolicy, with
# ${AWS::Partition}, ${AWS::Region}, ${AWS::AccountId} and ${ClusterName} filled in. ZonalShiftPolicy is left out: its
# one call (arc-zonal-shift:GetManagedResource) is made only with settings.enableZonalShift, off here and by default
# (charts/karpenter/values.yaml; pkg/operator/operator.go).
ACCOUNT = "123456789012"
REGION = "eu-west-1"


def reference_statements(node_role_arn: str, queue_arn: str) -> dict[str, dict[str, Any]]:
    ec2 = f"arn:aws:ec2:{REGION}"
    profiles = f"arn:aws:iam::{ACCOUNT}:instance-profile/*"
    launched = [
        f"{ec2}:*:{kind}/*"
        for kind in ("fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request")
    ]
    owned = {f"aws:ResourceTag/kubernetes.io/cluster/{CLUSTER}": "owned"}
    requested = {f"aws:RequestTag/kubernetes.io/cluster/{CLUSTER}": "owned", "aws:RequestTag/eks:eks-cluster-name": CLUSTER}
    any_nodepool = {"aws:ResourceTag/karpenter.sh/nodepool": "*"}
    statements = [
        # NodeLifecyclePolicy
        {
            "Sid": "AllowScopedEC2InstanceAccessActions",
            "Resource": [
                f"{ec2}::image/*",
                f"{ec2}::snapshot/*",
                f"{ec2}:*:security-group/*",
                f"{ec2}:*:subnet/*",
                f"{ec2}:*:capacity-reservation/*",
                f"{ec2}:*:placement-group/*",
            ],
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
        },
        {
            "Sid": "AllowScopedEC2LaunchTemplateAccessActions",
            "Resource": f"{ec2}:*:launch-template/*",
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
            "Condition": {"StringEquals": owned, "StringLike": any_nodepool},
        },
        {
            "Sid": "AllowScopedEC2InstanceActionsWithTags",
            "Resource": launched,
            "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
            "Condition": {"StringEquals": requested, "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}},
        },
        {
            "Sid": "AllowScopedResourceCreationTagging",
            "Resource": launched,
            "Action": "ec2:CreateTags",
            "Condition": {
                "StringEquals": {**requested, "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"]},
                "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"},
            },
        },
        {
            "Sid": "AllowScopedResourceTagging",
            "Resource": f"{ec2}:*:instance/*",
            "Action": "ec2:CreateTags",
            "Condition": {
                "StringEquals": owned,
                "StringLike": any_nodepool,
                "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": CLUSTER},
                "ForAllValues:StringEquals": {"aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]},
            },
        },
        {
            "Sid": "AllowScopedDeletion",
            "Resource": [f"{ec2}:*:instance/*", f"{ec2}:*:launch-template/*"],
            "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
            "Condition": {"StringEquals": owned, "StringLike": any_nodepool},
        },
        # IAMIntegrationPolicy
        {
            "Sid": "AllowPassingInstanceRole",
            "Resource": node_role_arn,
            "Action": "iam:PassRole",
            "Condition": {"StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]}},
        },
        {
            "Sid": "AllowScopedInstanceProfileCreationActions",
            "Resource": profiles,
            "Action": ["iam:CreateInstanceProfile"],
            "Condition": {
                "StringEquals": {**requested, "aws:RequestTag/topology.kubernetes.io/region": REGION},
                "StringLike": {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"},
            },
        },
        {
            "Sid": "AllowScopedInstanceProfileTagActions",
            "Resource": profiles,
            "Action": ["iam:TagInstanceProfile"],
            "Condition": {
                "StringEquals": {
                    **owned,
                    "aws:ResourceTag/topology.kubernetes.io/region": REGION,
                    **requested,
                    "aws:RequestTag/topology.kubernetes.io/region": REGION,
                },
                "StringLike": {
                    "aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*",
                    "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*",
                },
            },
        },
        {
            "Sid": "AllowScopedInstanceProfileActions",
            "Resource": profiles,
            "Action": ["iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"],
            "Condition": {
                "StringEquals": {**owned, "aws:ResourceTag/topology.kubernetes.io/region": REGION},
                "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"},
            },
        },
        # EKSIntegrationPolicy
        {
            "Sid": "AllowAPIServerEndpointDiscovery",
            "Resource": f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{CLUSTER}",
            "Action": "eks:DescribeCluster",
        },
        # InterruptionPolicy
        {
            "Sid": "AllowInterruptionQueueActions",
            "Resource": queue_arn,
            "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
        },
        # ResourceDiscoveryPolicy
        {
            "Sid": "AllowRegionalReadActions",
            "Resource": "*",
            "Action": [
                "ec2:DescribeCapacityReservations",
                "ec2:DescribeImages",
                "ec2:DescribeInstances",
                "ec2:DescribeInstanceStatus",
                "ec2:DescribeInstanceTypeOfferings",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplates",
                "ec2:DescribePlacementGroups",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSpotPriceHistory",
                "ec2:DescribeSubnets",
            ],
            "Condition": {"StringEquals": {"aws:RequestedRegion": REGION}},
        },
        {
            "Sid": "AllowSSMReadActions",
            "Resource": f"arn:aws:ssm:{REGION}::parameter/aws/service/*",
            "Action": "ssm:GetParameter",
        },
        {"Sid": "AllowPricingReadActions", "Resource": "*", "Action": "pricing:GetProducts"},
        {"Sid": "AllowUnscopedInstanceProfileListAction", "Resource": "*", "Action": "iam:ListInstanceProfiles"},
        {"Sid": "AllowInstanceProfileReadActions", "Resource": profiles, "Action": "iam:GetInstanceProfile"},
    ]
    return {statement["Sid"]: {"Effect": "Allow", **statement} for statement in statements}


def _values(value: Any) -> list[str]:
    return sorted(value) if isinstance(value, list) else [value]


def normalized(statement: dict[str, Any]) -> dict[str, Any]:
    """A statement with every string-or-list field as a sorted list: IAM reads "a" and ["a"] alike, and order
    within a field means nothing."""
    conditions = {
        operator: {key: _values(value) for key, value in keys.items()}
        for operator, keys in statement.get("Condition", {}).items()
    }
    return {
        "Effect": statement["Effect"],
        "Action": _values(statement["Action"]),
        "Resource": _values(statement["Resource"]),
        "Condition": conditions,
    }


def reference_for(query) -> dict[str, dict[str, Any]]:
    node_role = query.one("aws:iam/role:Role", "karpenter-node")
    queue_arn = query.of_type("aws:cloudwatch/eventTarget:EventTarget")[0]["inputs"]["arn"]
    return reference_statements(f"arn:aws:iam::{ACCOUNT}:role/{node_role['name']}", queue_arn)


REFERENCE_SIDS = tuple(reference_statements("role", "queue"))


def test_the_controller_policy_has_exactly_the_reference_statements() -> None:
    """One inline document holding the reference's statements, each under its Sid, and nothing else (v1.14.1
    cloudformation.yaml, encoded in reference_statements). Catches: a statement dropped or renamed, or one of our own added (an
    extra grant the reference does not make)."""
    sids = [statement["Sid"] for statement in controller_policy(plan(REGION))]
    assert sorted(sids) == sorted(REFERENCE_SIDS)
    assert len(sids) == len(set(sids))


@pytest.mark.parametrize("sid", REFERENCE_SIDS)
def test_each_controller_statement_grants_and_scopes_what_the_reference_does(sid: str) -> None:
    """Statement by statement against the reference (v1.14.1 cloudformation.yaml): the same actions, resources and
    conditions. Catches, per statement: a missing action (ec2:DescribeSubnets gone from AllowRegionalReadActions:
    Karpenter cannot resolve its EC2NodeClass's subnets and never launches a node), an extra one, a wider resource,
    or a loosened condition (AllowScopedDeletion without karpenter.sh/nodepool: the controller may terminate the
    managed node group's instances, which carry the cluster's owned tag too)."""
    query = plan(REGION)
    ours = {statement["Sid"]: statement for statement in controller_policy(query)}
    assert sid in ours, f"{sid} is missing"
    assert normalized(ours[sid]) == normalized(reference_for(query)[sid])


# The AWS calls the controller makes at v1.14.1: the methods of the SDK interfaces in pkg/aws/sdk.go, without those
# only tests and fakes call (iam:GetRole in pkg/fake, sqs:SendMessage in the test suites, Timestream) and without
# arc-zonal-shift:GetManagedResource (zonal shift is off). iam:PassRole is what RunInstances/CreateFleet need to
# launch with the node role's instance profile.
CONTROLLER_CALLS = (
    "ec2:DescribeCapacityReservations",
    "ec2:DescribePlacementGroups",
    "ec2:DescribeImages",
    "ec2:DescribeLaunchTemplates",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeInstanceTypeOfferings",
    "ec2:DescribeSpotPriceHistory",
    "ec2:DescribeInstanceStatus",
    "ec2:CreateFleet",
    "ec2:TerminateInstances",
    "ec2:DescribeInstances",
    "ec2:RunInstances",
    "ec2:CreateTags",
    "ec2:CreateLaunchTemplate",
    "ec2:DeleteLaunchTemplate",
    "iam:GetInstanceProfile",
    "iam:CreateInstanceProfile",
    "iam:DeleteInstanceProfile",
    "iam:AddRoleToInstanceProfile",
    "iam:TagInstanceProfile",
    "iam:RemoveRoleFromInstanceProfile",
    "iam:ListInstanceProfiles",
    "iam:PassRole",
    "eks:DescribeCluster",
    "pricing:GetProducts",
    "ssm:GetParameter",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueUrl",
)


def test_the_controller_may_make_every_aws_call_it_makes() -> None:
    """The run-time half: every call of Karpenter's SDK interfaces at v1.14.1 (aws/karpenter-provider-aws
    pkg/aws/sdk.go) is allowed by some statement. Catches: a call the controller makes left out of every statement
    (ec2:DescribeSubnets: no subnet resolves, NodeClaims never launch; sqs:ReceiveMessage: interruptions never
    handled)."""
    allowed = {action for statement in controller_policy(plan(REGION)) for action in actions(statement)}
    assert not set(CONTROLLER_CALLS) - allowed


def test_zonal_shift_stays_off_so_its_statement_is_not_needed() -> None:
    """The reference's ZonalShiftPolicy serves settings.enableZonalShift only (charts/karpenter/values.yaml: false);
    turning it on without that statement makes the controller panic at start (pkg/operator/operator.go,
    ValidateZonalShiftEnablement). Catches: zonal shift switched on while its statement is left out."""
    values = plan(REGION).one("kubernetes:helm.sh/v3:Release", "karpenter-release")["inputs"]["values"]
    assert "enableZonalShift" not in values["settings"]


def _condition_holds(operator: str, key: str, expected: Any, context: dict[str, Any]) -> bool:
    wanted = _values(expected)
    if operator == "ForAllValues:StringEquals":
        return all(value in wanted for value in _values(context.get(key, [])))
    if key not in context:
        return operator.endswith("IfExists")
    if operator.removesuffix("IfExists") == "StringEquals":
        return context[key] in wanted
    if operator == "StringLike":
        return any(fnmatch.fnmatchcase(context[key], pattern) for pattern in wanted)
    raise AssertionError(f"no evaluation for condition operator {operator}")


def allows(statements: list[dict[str, Any]], action: str, resource: str, context: dict[str, Any]) -> bool:
    """IAM's evaluation of Allow statements for one request (IAM User Guide, "Policy evaluation logic"): some statement
    names the action and a matching resource, and every condition in it holds. Enough for the operators used here."""
    return any(
        statement["Effect"] == "Allow"
        and action in actions(statement)
        and any(fnmatch.fnmatchcase(resource, pattern) for pattern in resources(statement))
        and all(
            _condition_holds(operator, key, expected, context)
            for operator, keys in statement.get("Condition", {}).items()
            for key, expected in keys.items()
        )
        for statement in statements
    )


def resource_tags(tags: dict[str, str]) -> dict[str, str]:
    return {f"aws:ResourceTag/{key}": value for key, value in tags.items()}


INSTANCE = f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0123456789abcdef0"
LAUNCH_TEMPLATE = f"arn:aws:ec2:{REGION}:{ACCOUNT}:launch-template/lt-0123456789abcdef0"
# Tags on a managed node group's instances (EKS tags its node groups' resources for the cluster autoscaler, EKS User
# Guide managed-node-groups, and they carry the cluster's owned tag too), and those Karpenter puts on all it launches
# (aws/karpenter-provider-aws v1.14.1 pkg/utils/utils.go GetTags: the same owned tag, karpenter.sh/nodepool,
# karpenter.k8s.aws/ec2nodeclass, eks:eks-cluster-name).
MANAGED_NODE = {
    f"kubernetes.io/cluster/{CLUSTER}": "owned",
    "eks:cluster-name": CLUSTER,
    "eks:nodegroup-name": "system-group",
    f"k8s.io/cluster-autoscaler/{CLUSTER}": "owned",
}
KARPENTER_NODE = {
    f"kubernetes.io/cluster/{CLUSTER}": "owned",
    "karpenter.sh/nodepool": "batch",
    "karpenter.k8s.aws/ec2nodeclass": "batch",
    "eks:eks-cluster-name": CLUSTER,
}


@pytest.mark.parametrize("action", ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"])
def test_the_controller_may_delete_only_what_karpenter_launched_for_this_cluster(action: str) -> None:
    """AllowScopedDeletion requires both the cluster's owned tag and karpenter.sh/nodepool on the resource (v1.14.1
    cloudformation.yaml). Evaluated for the requests the controller would send: its own nodes are allowed, the managed
    node group's (owned tag, no nodepool tag) and another cluster's Karpenter nodes are not. Catches: the nodepool
    condition dropped, which lets Karpenter (garbage collection, a mistaken NodeClaim) terminate the system pool's
    nodes, and with them its own controller."""
    statements = controller_policy(plan(REGION))
    resource = INSTANCE if action == "ec2:TerminateInstances" else LAUNCH_TEMPLATE
    assert allows(statements, action, resource, resource_tags(KARPENTER_NODE))
    assert not allows(statements, action, resource, resource_tags(MANAGED_NODE)), "the managed nodes can be deleted"
    other_cluster = {**KARPENTER_NODE, "kubernetes.io/cluster/other": "owned"}
    del other_cluster[f"kubernetes.io/cluster/{CLUSTER}"]
    assert not allows(statements, action, resource, resource_tags(other_cluster))


def test_the_controller_may_read_subnets_and_the_rest_of_its_discovery_in_its_region_only() -> None:
    """Karpenter resolves an EC2NodeClass's subnetSelectorTerms with ec2:DescribeSubnets (v1.14.1
    pkg/providers/subnet/subnet.go) and
    launches nowhere without them; the reference allows its reads in the cluster's region only
    (AllowRegionalReadActions, aws:RequestedRegion). Catches: DescribeSubnets lost (no node is ever launched) or the
    region condition dropped."""
    statements = controller_policy(plan(REGION))
    for call in ("ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeImages", "ec2:DescribeInstanceTypes"):
        assert allows(statements, call, "*", {"aws:RequestedRegion": REGION}), f"{call} refused"
        assert not allows(statements, call, "*", {"aws:RequestedRegion": "us-east-1"}), f"{call} in any region"


def test_node_and_controller_roles_trust_only_their_service_and_hold_nothing_else() -> None:
    """The scoping half of the two roles. The node role: ec2 may assume it with sts:AssumeRole, nothing else, and it
    holds the reference's four managed policies only (v1.14.1 cloudformation.yaml, KarpenterNodeRole); it reaches
    nodes only through the instance profiles the controller builds. The controller role: only EKS Pod Identity may
    assume it, with sts:AssumeRole and sts:TagSession (EKS User Guide, service-accounts: the Pod Identity trust
    policy), bound to kube-system/karpenter, and it holds only the controller policy. Catches: a trust widened to
    another principal or action, or a policy attached beyond the reference."""
    query = plan(REGION)
    node_role = query.one("aws:iam/role:Role", "karpenter-node")
    assert json.loads(node_role["inputs"]["assumeRolePolicy"])["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": ["sts:AssumeRole"]}
    ]
    controller = query.one("aws:iam/role:Role", "karpenter-controller")
    assert json.loads(controller["inputs"]["assumeRolePolicy"])["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}
    ]
    inline = {p["name"]: p["inputs"]["role"] for p in query.of_type("aws:iam/rolePolicy:RolePolicy")}
    assert inline == {"karpenter-controller-inline": controller["name"]}
    attached = {a["inputs"]["role"] for a in query.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")}
    assert attached == {node_role["name"]}
    (association,) = query.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert (association["inputs"]["namespace"], association["inputs"]["serviceAccount"]) == ("kube-system", "karpenter")
    assert association["inputs"]["roleArn"] == f"arn:aws:iam::{ACCOUNT}:role/{controller['name']}"


def test_the_queue_policy_is_the_reference_one() -> None:
    """Both halves of the queue's resource policy against v1.14.1 cloudformation.yaml (KarpenterInterruptionQueuePolicy):
    EventBridge and SQS may send to this queue only, and any use without TLS is refused. Catches: a principal or
    queue other than these, or the DenyHTTP statement weakened."""
    query = plan(REGION)
    queue_arn = query.of_type("aws:cloudwatch/eventTarget:EventTarget")[0]["inputs"]["arn"]
    policy = json.loads(query.one("aws:sqs/queuePolicy:QueuePolicy", "karpenter-interruptions")["inputs"]["policy"])
    assert policy["Id"] == "EC2InterruptionPolicy"
    assert policy["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
        },
        {
            "Sid": "DenyHTTP",
            "Effect": "Deny",
            "Action": "sqs:*",
            "Resource": queue_arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Principal": "*",
        },
    ]
