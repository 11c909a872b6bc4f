"""Cluster Autoscaler: grows and shrinks the managed node group, found by its ASG tags."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.pod_identity import PodIdentityRole, PodIdentityRoleArgs
from components.shared.helm_release import pinned_release
from components.shared.versions import KUBERNETES_RELEASES

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "cluster-autoscaler"


def autoscaler_policy(cluster_name: str, region: str, partition: str) -> str:
    """Read what it must; change only the auto-scaling groups EKS tagged as this cluster's."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Discover",
                    "Effect": "Allow",
                    "Action": [
                        "autoscaling:DescribeAutoScalingGroups",
                        "autoscaling:DescribeAutoScalingInstances",
                        "autoscaling:DescribeLaunchConfigurations",
                        "autoscaling:DescribeScalingActivities",
                        "ec2:DescribeImages",
                        "ec2:DescribeInstanceTypes",
                        "ec2:DescribeLaunchTemplateVersions",
                        "ec2:GetInstanceTypesFromInstanceRequirements",
                    ],
                    "Resource": "*",
                },
                {
                    "Sid": "DescribeOwnNodeGroups",
                    "Effect": "Allow",
                    "Action": ["eks:DescribeNodegroup"],
                    "Resource": f"arn:{partition}:eks:{region}:*:nodegroup/{cluster_name}/*",
                },
                {
                    "Sid": "ScaleOwnNodeGroups",
                    "Effect": "Allow",
                    "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                    "Resource": f"arn:{partition}:autoscaling:{region}:*:autoScalingGroup:*:autoScalingGroupName/*",
                    # EKS tags every managed node group's ASG with this key.
                    "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}},
                },
            ],
        }
    )


@dataclass(frozen=True)
class ClusterAutoscalerArgs:
    cluster_name: pulumi.Input[str]
    region: str
    partition: str
    kubernetes_version: str
    cluster_dependencies: tuple[pulumi.Resource, ...]
    # Node labels the pod requires (the system pool); the chart's top-level nodeSelector.
    node_selector: dict[str, str] = field(default_factory=dict)


class ClusterAutoscaler(pulumi.ComponentResource):
    release: k8s.helm.v3.Release
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ClusterAutoscalerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-platform:autoscaling:ClusterAutoscaler", name, None, opts)
        release = KUBERNETES_RELEASES[args.kubernetes_version]
        chart, image_tag = release.cluster_autoscaler_chart, release.cluster_autoscaler_image

        role = PodIdentityRole(
            f"{name}-role",
            PodIdentityRoleArgs(
                cluster_name=args.cluster_name,
                namespace=NAMESPACE,
                service_account=SERVICE_ACCOUNT,
                partition=args.partition,
                inline_policy=pulumi.Output.from_input(args.cluster_name).apply(
                    lambda cluster_name: autoscaler_policy(cluster_name, args.region, args.partition)
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.release = pinned_release(
            f"{name}-release",
            chart,
            NAMESPACE,
            {
                "cloudProvider": "aws",
                "awsRegion": args.region,
                "autoDiscovery": {"clusterName": args.cluster_name},
                "image": {"tag": image_tag},
                "rbac": {"serviceAccount": {"create": True, "name": SERVICE_ACCOUNT}},
                "extraArgs": {
                    "balance-similar-node-groups": True,
                    "skip-nodes-with-system-pods": False,
                    # Most pods here (demo apps, metrics-server) have emptyDir scratch space; with the default
                    # (true) the autoscaler never removes a node running one, so nodes would never scale down.
                    "skip-nodes-with-local-storage": False,
                    "expander": "least-waste",
                },
                "resources": {"requests": {"cpu": "100m", "memory": "300Mi"}, "limits": {"cpu": "500m", "memory": "600Mi"}},
                **({"nodeSelector": args.node_selector} if args.node_selector else {}),
            },
            pulumi.ResourceOptions(parent=self, depends_on=[role, *args.cluster_dependencies]),
        )
        self.role_arn = role.role_arn
        self.register_outputs({"release": self.release.name, "roleArn": self.role_arn})
