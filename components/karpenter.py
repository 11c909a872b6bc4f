"""Karpenter: the node autoscaler that launches EC2 instances for pending pods, as the alternative to the
Cluster Autoscaler. The controller runs on the managed system pool; its nodes join through an access entry."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.iam import create_service_role
from components.karpenter_instance_gate import KarpenterInstanceGate, KarpenterInstanceGateArgs
from components.pod_identity import PodIdentityRole, PodIdentityRoleArgs
from components.shared.helm_release import pinned_release
from components.shared.node_pools import POOL_LABEL
from components.shared.policy_documents import service_trust_policy
from components.shared.versions import KARPENTER, KARPENTER_CRD

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "karpenter"
# Set by this program on the private subnets and the cluster security group; the EC2NodeClasses select by it.
DISCOVERY_TAG = "karpenter.sh/discovery"
# The managed policies of the reference node role (aws/karpenter-provider-aws website/content/en/docs/
# getting-started/getting-started-with-karpenter/cloudformation.yaml, KarpenterNodeRole).
NODE_POLICIES = (
    "AmazonEKS_CNI_Policy",
    "AmazonEKSWorkerNodePolicy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonSSMManagedInstanceCore",
)
# EventBridge events Karpenter handles from its queue (the same reference, *Rule resources).
INTERRUPTION_EVENTS = {
    "scheduled-change": ("aws.health", "AWS Health Event"),
    "spot-interruption": ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
    "rebalance": ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
    "instance-state-change": ("aws.ec2", "EC2 Instance State-change Notification"),
    "capacity-reservation-interruption": ("aws.ec2", "EC2 Capacity Reservation Instance Interruption Warning"),
}
# What upstream's getting-started installs the controller with (step08-apply-helm-chart.sh): requests = limits.
CONTROLLER_RESOURCES = {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}


def controller_policy(cluster: str, region: str, partition: str, account: str, node_role_arn: str, queue_arn: str) -> str:
    """The reference controller policies (cloudformation.yaml: NodeLifecycle, IAMIntegration, EKSIntegration,
    Interruption, ResourceDiscovery) as one document: every write is scoped to this cluster by the tags Karpenter
    sets (kubernetes.io/cluster/<cluster>=owned, eks:eks-cluster-name=<cluster>, karpenter.sh/nodepool). Zonal
    shift is not enabled here, so its statement is left out."""
    ec2 = f"arn:{partition}:ec2:{region}"
    profiles = f"arn:{partition}:iam::{account}:instance-profile/*"
    owned = {f"aws:ResourceTag/kubernetes.io/cluster/{cluster}": "owned"}
    requested = {f"aws:RequestTag/kubernetes.io/cluster/{cluster}": "owned", "aws:RequestTag/eks:eks-cluster-name": cluster}
    launched = [
        f"{ec2}:*:{kind}/*"
        for kind in ("fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request")
    ]
    profile_region = {"aws:RequestTag/topology.kubernetes.io/region": region}
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AllowScopedEC2InstanceAccessActions",
            "Effect": "Allow",
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
            "Effect": "Allow",
            "Resource": f"{ec2}:*:launch-template/*",
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
            "Condition": {"StringEquals": owned, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}},
        },
        {
            "Sid": "AllowScopedEC2InstanceActionsWithTags",
            "Effect": "Allow",
            "Resource": launched,
            "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
            "Condition": {"StringEquals": requested, "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}},
        },
        {
            "Sid": "AllowScopedResourceCreationTagging",
            "Effect": "Allow",
            "Resource": launched,
            "Action": "ec2:CreateTags",
            "Condition": {
                "StringEquals": {**requested, "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"]},
                "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"},
            },
        },
        {
            "Sid": "AllowScopedResourceTagging",
            "Effect": "Allow",
            "Resource": f"{ec2}:*:instance/*",
            "Action": "ec2:CreateTags",
            "Condition": {
                "StringEquals": owned,
                "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
                "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": cluster},
                "ForAllValues:StringEquals": {"aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]},
            },
        },
        {
            "Sid": "AllowScopedDeletion",
            "Effect": "Allow",
            "Resource": [f"{ec2}:*:instance/*", f"{ec2}:*:launch-template/*"],
            "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
            "Condition": {"StringEquals": owned, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}},
        },
        {
            "Sid": "AllowPassingInstanceRole",
            "Effect": "Allow",
            "Resource": node_role_arn,
            "Action": "iam:PassRole",
            "Condition": {"StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]}},
        },
        {
            "Sid": "AllowScopedInstanceProfileCreationActions",
            "Effect": "Allow",
            "Resource": profiles,
            "Action": ["iam:CreateInstanceProfile"],
            "Condition": {
                "StringEquals": {**requested, **profile_region},
                "StringLike": {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"},
            },
        },
        {
            "Sid": "AllowScopedInstanceProfileTagActions",
            "Effect": "Allow",
            "Resource": profiles,
            "Action": ["iam:TagInstanceProfile"],
            "Condition": {
                "StringEquals": {
                    **owned,
                    "aws:ResourceTag/topology.kubernetes.io/region": region,
                    **requested,
                    **profile_region,
                },
                "StringLike": {
                    "aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*",
                    "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*",
                },
            },
        },
        {
            "Sid": "AllowScopedInstanceProfileActions",
            "Effect": "Allow",
            "Resource": profiles,
            "Action": ["iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"],
            "Condition": {
                "StringEquals": {**owned, "aws:ResourceTag/topology.kubernetes.io/region": region},
                "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"},
            },
        },
        {
            "Sid": "AllowAPIServerEndpointDiscovery",
            "Effect": "Allow",
            "Resource": f"arn:{partition}:eks:{region}:{account}:cluster/{cluster}",
            "Action": "eks:DescribeCluster",
        },
        {
            "Sid": "AllowInterruptionQueueActions",
            "Effect": "Allow",
            "Resource": queue_arn,
            "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
        },
        {
            "Sid": "AllowRegionalReadActions",
            "Effect": "Allow",
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
            "Condition": {"StringEquals": {"aws:RequestedRegion": region}},
        },
        {
            "Sid": "AllowSSMReadActions",
            "Effect": "Allow",
            "Resource": f"arn:{partition}:ssm:{region}::parameter/aws/service/*",
            "Action": "ssm:GetParameter",
        },
        {"Sid": "AllowPricingReadActions", "Effect": "Allow", "Resource": "*", "Action": "pricing:GetProducts"},
        {
            "Sid": "AllowUnscopedInstanceProfileListAction",
            "Effect": "Allow",
            "Resource": "*",
            "Action": "iam:ListInstanceProfiles",
        },
        {"Sid": "AllowInstanceProfileReadActions", "Effect": "Allow", "Resource": profiles, "Action": "iam:GetInstanceProfile"},
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def queue_policy(queue_arn: str) -> str:
    """EventBridge (and SQS itself) may send to the queue; nothing may use it without TLS (cloudformation.yaml)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": "EC2InterruptionPolicy",
            "Statement": [
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
            ],
        }
    )


@dataclass(frozen=True)
class KarpenterArgs:
    # The name as config fixes it (selectors, tags and policies need it as text); `cluster` carries the dependency.
    cluster_name: str
    cluster: pulumi.Input[str]
    region: str
    partition: str
    # The EKS-created cluster security group: managed nodes get it, Karpenter's nodes find it by DISCOVERY_TAG.
    cluster_security_group_id: pulumi.Input[str]
    # Pool whose managed nodes run the controller.
    system_pool: str
    # The cluster, the managed nodes and their add-ons: the controller runs there until its instances are gone.
    cluster_dependencies: tuple[pulumi.Resource, ...]
    # What Karpenter's instances use until they are terminated (private subnets' egress and the subnets themselves).
    network_dependencies: tuple[pulumi.Resource, ...]


class Karpenter(pulumi.ComponentResource):
    release: k8s.helm.v3.Release
    node_role_name: pulumi.Output[str]
    # NodePools and EC2NodeClasses depend on it: on destroy it waits until their instances are terminated.
    instance_gate: KarpenterInstanceGate

    def __init__(self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-platform:autoscaling:Karpenter", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        after_cluster = pulumi.ResourceOptions(parent=self, depends_on=[*args.cluster_dependencies])

        node_role, node_permissions = create_service_role(
            f"{name}-node",
            f"EC2 nodes Karpenter launches for {args.cluster_name}",
            service_trust_policy("ec2.amazonaws.com"),
            args.partition,
            NODE_POLICIES,
            child,
        )
        # Karpenter's nodes join with their own role: EKS admits them through an EC2_LINUX access entry.
        access_entry = aws.eks.AccessEntry(
            f"{name}-node-access",
            cluster_name=args.cluster,
            principal_arn=node_role.arn,
            type="EC2_LINUX",
            opts=after_cluster,
        )
        security_group_tag = aws.ec2.Tag(
            f"{name}-cluster-sg-discovery",
            resource_id=args.cluster_security_group_id,
            key=DISCOVERY_TAG,
            value=args.cluster_name,
            opts=after_cluster,
        )

        queue = aws.sqs.Queue(
            f"{name}-interruptions",
            name=f"{args.cluster_name}-karpenter",
            message_retention_seconds=300,
            sqs_managed_sse_enabled=True,
            opts=child,
        )
        interruption_handling: list[pulumi.Resource] = [
            queue,
            aws.sqs.QueuePolicy(f"{name}-interruptions", queue_url=queue.id, policy=queue.arn.apply(queue_policy), opts=child),
        ]
        for event, (source, detail_type) in INTERRUPTION_EVENTS.items():
            rule = aws.cloudwatch.EventRule(
                f"{name}-{event}",
                description=f"{detail_type} events for Karpenter of {args.cluster_name}",
                event_pattern=json.dumps({"source": [source], "detail-type": [detail_type]}),
                opts=child,
            )
            target = aws.cloudwatch.EventTarget(
                f"{name}-{event}", rule=rule.name, arn=queue.arn, target_id="KarpenterInterruptionQueueTarget", opts=child
            )
            interruption_handling += [rule, target]

        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        role = PodIdentityRole(
            f"{name}-controller",
            PodIdentityRoleArgs(
                cluster_name=args.cluster,
                namespace=NAMESPACE,
                service_account=SERVICE_ACCOUNT,
                partition=args.partition,
                inline_policy=pulumi.Output.all(account, node_role.arn, queue.arn).apply(
                    lambda values: controller_policy(
                        args.cluster_name, args.region, args.partition, str(values[0]), str(values[1]), str(values[2])
                    )
                ),
            ),
            opts=child,
        )

        crds = pinned_release(f"{name}-crd", KARPENTER_CRD, NAMESPACE, {}, after_cluster)
        self.release = pinned_release(
            f"{name}-release",
            KARPENTER,
            NAMESPACE,
            {
                "settings": {"clusterName": args.cluster_name, "interruptionQueue": queue.name},
                "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
                "controller": {
                    # With IMDS limited to one hop the pod cannot read its region there, and Karpenter exits
                    # without one (aws/karpenter-provider-aws pkg/operator/operator.go).
                    "env": [{"name": "AWS_REGION", "value": args.region}],
                    "resources": CONTROLLER_RESOURCES,
                },
                # Never on a node it launched (it would drain itself away): only on the system pool's managed node
                # groups. The chart's own default keeps DoesNotExist on karpenter.sh/nodepool; the terms are
                # replaced as a whole, so it is repeated here.
                "nodeSelector": {"kubernetes.io/os": "linux", POOL_LABEL: args.system_pool},
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {
                                    "matchExpressions": [
                                        {"key": "karpenter.sh/nodepool", "operator": "DoesNotExist"},
                                        {"key": "eks.amazonaws.com/nodegroup", "operator": "Exists"},
                                    ]
                                }
                            ]
                        }
                    }
                },
            },
            pulumi.ResourceOptions(parent=self, depends_on=[crds, role, *interruption_handling, *args.cluster_dependencies]),
            skip_crds=True,
        )

        self.instance_gate = KarpenterInstanceGate(
            f"{name}-instances-terminated",
            KarpenterInstanceGateArgs(region=args.region, cluster_name=args.cluster_name),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[
                    self.release,
                    crds,
                    role,
                    *interruption_handling,
                    *node_permissions,
                    access_entry,
                    security_group_tag,
                    *args.cluster_dependencies,
                    *args.network_dependencies,
                ],
            ),
        )
        self.node_role_name = node_role.name
        self.register_outputs(
            {"release": self.release.name, "interruptionQueue": queue.name, "nodeRoleName": self.node_role_name}
        )
