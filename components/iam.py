"""IAM roles for the control plane and the worker nodes (the seed's EKSEC2UserRole and NodeInstanceRole)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.shared.policy_documents import aws_managed_policy_arn, service_trust_policy

CLUSTER_POLICIES = ("AmazonEKSClusterPolicy",)
NODE_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    # Pulling images is all a node does with ECR (EKS User Guide, create-node-role: AmazonEC2ContainerRegistryPullOnly).
    "AmazonEC2ContainerRegistryPullOnly",
    # Session Manager gives operators a shell on nodes without SSH keys or open ports.
    "AmazonSSMManagedInstanceCore",
)


def create_service_role(
    name: str,
    description: str,
    trust_policy: str,
    partition: str,
    managed_policies: tuple[str, ...],
    opts: pulumi.ResourceOptions,
) -> tuple[aws.iam.Role, tuple[aws.iam.RolePolicyAttachment, ...]]:
    """A role with the given trust policy and AWS managed policies, each attachment named after the role.

    The attachments are returned too: whatever acts with the role depends on them, so destroy detaches them last.
    """
    role = aws.iam.Role(name, assume_role_policy=trust_policy, description=description, opts=opts)
    attachments = tuple(
        aws.iam.RolePolicyAttachment(
            f"{name}-{policy.rsplit('/', 1)[-1]}",
            role=role.name,
            policy_arn=aws_managed_policy_arn(partition, policy),
            opts=opts,
        )
        for policy in managed_policies
    )
    return role, attachments


@dataclass(frozen=True)
class ClusterIamArgs:
    cluster_name: str
    partition: str


class ClusterIam(pulumi.ComponentResource):
    cluster_role: aws.iam.Role
    cluster_role_arn: pulumi.Output[str]
    cluster_role_name: pulumi.Output[str]
    node_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ClusterIamArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-platform:iam:ClusterIam", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.cluster_role, _ = create_service_role(
            f"{name}-cluster",
            f"EKS control plane of {args.cluster_name}",
            # EKS User Guide, cluster-iam-role: the control plane assumes it with sts:AssumeRole (sts:TagSession is
            # only for EKS Auto Mode, auto-cluster-iam-role).
            service_trust_policy("eks.amazonaws.com", ("sts:AssumeRole",)),
            args.partition,
            CLUSTER_POLICIES,
            child,
        )
        node_role, _ = create_service_role(
            f"{name}-node",
            f"EC2 worker nodes of {args.cluster_name}",
            service_trust_policy("ec2.amazonaws.com"),
            args.partition,
            NODE_POLICIES,
            child,
        )

        self.cluster_role_arn = self.cluster_role.arn
        self.cluster_role_name = self.cluster_role.name
        self.node_role_arn = node_role.arn
        self.register_outputs(
            {
                "clusterRoleArn": self.cluster_role_arn,
                "nodeRoleArn": self.node_role_arn,
            }
        )
