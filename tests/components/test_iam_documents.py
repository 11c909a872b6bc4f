"""Every IAM document the program writes, both halves: it grants what its user calls at run time, and it is scoped
as upstream scopes it. Karpenter's documents (controller policy, node and controller roles, queue policy) are
tested in tests/components/test_karpenter.py; the rest are here, on the frozen shipped stacks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.components.test_karpenter import actions, allows, resource_tags, resources
from tests.conftest import frozen_plan

CLUSTER = "eks-platform-dev"
REGION = "eu-central-1"
ACCOUNT = "123456789012"
# The documents of the three shipped stacks, and where each one's two halves are tested.
DOCUMENTS = {
    ("aws:iam/role:Role", "iam-cluster"): "test_the_cluster_role_*",
    ("aws:iam/role:Role", "iam-node"): "test_the_node_role_*",
    ("aws:iam/role:Role", "addons-ebs-csi"): "test_the_ebs_csi_role_*",
    ("aws:iam/role:Role", "autoscaler-role"): "test_the_autoscaler_*",
    ("aws:iam/rolePolicy:RolePolicy", "autoscaler-role-inline"): "test_the_autoscaler_*",
    ("aws:iam/rolePolicy:RolePolicy", "cluster-secrets-key-use"): "test_the_cluster_role_*",
    ("aws:iam/role:Role", "karpenter-node"): "test_karpenter.py",
    ("aws:iam/role:Role", "karpenter-controller"): "test_karpenter.py",
    ("aws:iam/rolePolicy:RolePolicy", "karpenter-controller-inline"): "test_karpenter.py",
    ("aws:sqs/queuePolicy:QueuePolicy", "karpenter-interruptions"): "test_karpenter.py",
}
DOCUMENT_TYPES = (
    "aws:iam/role:Role",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/policy:Policy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
    "aws:sqs/queuePolicy:QueuePolicy",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:kms/keyPolicy:KeyPolicy",
)


def trust(query: Any, role: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = json.loads(query.one("aws:iam/role:Role", role)["inputs"]["assumeRolePolicy"])["Statement"]
    return statements


def attached(query: Any, role: str) -> set[str]:
    return {
        a["inputs"]["policyArn"]
        for a in query.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a["inputs"]["role"] == role
    }


def inline(query: Any, role: str) -> list[str]:
    return [p["name"] for p in query.of_type("aws:iam/rolePolicy:RolePolicy") if p["inputs"]["role"] == role]


@pytest.mark.parametrize("stack", ["dev", "prod", "karpenter-example"])
def test_every_iam_document_of_the_shipped_stacks_is_one_tested_here(stack: str) -> None:
    """Catches: a role, inline policy or resource policy added without the tests of its two halves."""
    query = frozen_plan(stack)
    written = {(r["type"], r["name"]) for r in query.resources if r["type"] in DOCUMENT_TYPES}
    assert written <= set(DOCUMENTS), sorted(written - set(DOCUMENTS))


# The cluster role. EKS User Guide, security/iam-reference/cluster-iam-role.adoc (awsdocs/amazon-eks-user-guide
# 4d52b4d05e3478582e7d10a73cbd9ba9194dd5f7): trusted by eks.amazonaws.com, AmazonEKSClusterPolicy attached. The key
# grant for envelope encryption: terraform-aws-modules/terraform-aws-eks main.tf (0005984c1251953c3616df8b304a6a3978d75920),
# aws_iam_policy.cluster_encryption: kms:Encrypt, kms:Decrypt, kms:ListGrants, kms:DescribeKey on the cluster's key.
KEY_USE = ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"]


def test_the_cluster_role_grants_the_control_plane_its_policy_and_the_secrets_key() -> None:
    """Run-time half: the control plane manages the cluster's EC2 resources with AmazonEKSClusterPolicy, and
    encrypts and decrypts Secrets with the cluster's key (the cluster waits for that grant). Catches: the policy or
    a key action missing: cluster creation fails, or Secrets cannot be read after the data key is rotated."""
    query = frozen_plan("dev")
    assert attached(query, "iam-cluster") == {"arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"}
    grant = query.one("aws:iam/rolePolicy:RolePolicy", "cluster-secrets-key-use")
    (statement,) = json.loads(grant["inputs"]["policy"])["Statement"]
    assert statement["Effect"] == "Allow" and sorted(statement["Action"]) == sorted(KEY_USE)
    assert grant["inputs"]["role"] == "iam-cluster"
    assert grant["urn"] in query.one("eks:index:Cluster", "cluster-eks")["dependencies"]


def test_the_cluster_role_is_trusted_by_eks_only_and_uses_this_key_only() -> None:
    """Scoping half: only eks.amazonaws.com may assume the role, and the key grant names this cluster's key alone,
    with no condition loosened and no other action. The trust is the reference's, sts:AssumeRole alone
    (cluster-iam-role.adoc; sts:TagSession is for Auto Mode's cluster role only, auto-cluster-iam-role.adoc).
    Catches: the grant on "*" or on kms:*, a second principal in the trust, or an action EKS does not need."""
    query = frozen_plan("dev")
    assert trust(query, "iam-cluster") == [
        {"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": ["sts:AssumeRole"]}
    ]
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/cluster-secrets"
    assert json.loads(query.one("aws:iam/rolePolicy:RolePolicy", "cluster-secrets-key-use")["inputs"]["policy"]) == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": KEY_USE, "Resource": key}],
    }
    assert inline(query, "iam-cluster") == ["cluster-secrets-key-use"]


# The managed nodes' role. EKS User Guide, security/iam-reference/create-node-role.adoc (same commit): trusted by
# ec2.amazonaws.com with sts:AssumeRole; AmazonEKSWorkerNodePolicy, AmazonEC2ContainerRegistryPullOnly and, when the
# VPC CNI has no role of its own (as here), AmazonEKS_CNI_Policy.
NODE_POLICIES = {
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
}


def test_the_node_role_grants_kubelet_the_cni_and_image_pulls() -> None:
    """Run-time half: kubelet and the Pod Identity agent need AmazonEKSWorkerNodePolicy, the VPC CNI (no role of its
    own here) AmazonEKS_CNI_Policy, image pulls AmazonEC2ContainerRegistryPullOnly (pull and nothing more, where
    ReadOnly also lists and describes every repository); Session Manager is the operators' shell. Catches: one of
    them missing (nodes never join, pods get no IP, images fail to pull), or the wider ReadOnly policy back."""
    query = frozen_plan("dev")
    assert attached(query, "iam-node") == NODE_POLICIES
    for group in query.of_type("aws:eks/nodeGroup:NodeGroup"):
        assert group["inputs"]["nodeRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/iam-node"


def test_the_node_role_is_trusted_by_ec2_only_and_holds_no_policy_of_ours() -> None:
    """Scoping half: only EC2 may assume the role, with sts:AssumeRole alone (create-node-role.adoc), and no inline
    policy widens the managed ones. Catches: another principal or action in the trust, or an inline grant every
    process on a node could use."""
    query = frozen_plan("dev")
    assert trust(query, "iam-node") == [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": ["sts:AssumeRole"]}
    ]
    assert inline(query, "iam-node") == []


# The EBS CSI driver's role. kubernetes-sigs/aws-ebs-csi-driver v1.63.1 (6fa1a0f1657c233aac52eef4f94b8f7aa19147d2)
# docs/install.md, "Set up driver permissions" and "(EKS Only) EKS Pod Identity": the driver's managed policy V2 (scoped
# to volumes and snapshots tagged ebs.csi.aws.com/cluster=true, which the driver sets on every volume it provisions)
# on a role that EKS Pod Identity assumes for kube-system/ebs-csi-controller-sa.
EBS_CSI_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicyV2"


def test_the_ebs_csi_role_grants_the_driver_its_policy_through_its_add_on() -> None:
    """Run-time half: the driver's controller creates, attaches and deletes volumes with the managed policy, through
    the add-on's Pod Identity association for ebs-csi-controller-sa. Catches: no policy, or the role bound to
    another service account: every claim stays Pending."""
    query = frozen_plan("dev")
    assert attached(query, "addons-ebs-csi") == {EBS_CSI_POLICY}
    driver = query.one("aws:eks/addon:Addon", "addons-ebs-csi-driver")
    assert driver["inputs"]["podIdentityAssociations"] == [
        {"serviceAccount": "ebs-csi-controller-sa", "roleArn": f"arn:aws:iam::{ACCOUNT}:role/addons-ebs-csi"}
    ]


def test_the_ebs_csi_role_is_assumable_by_pod_identity_for_the_driver_only() -> None:
    """Scoping half: only EKS Pod Identity may assume the role (sts:AssumeRole and sts:TagSession, EKS User Guide
    service-accounts), only the add-on binds it (no association of ours for any other service account), and no
    inline policy widens the managed one. Catches: a trust or binding that lets other pods use the driver's
    volume permissions."""
    query = frozen_plan("dev")
    assert trust(query, "addons-ebs-csi") == [
        {"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}
    ]
    assert inline(query, "addons-ebs-csi") == []
    bound = [a["inputs"]["roleArn"] for a in query.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")]
    assert f"arn:aws:iam::{ACCOUNT}:role/addons-ebs-csi" not in bound


# The cluster autoscaler. kubernetes/autoscaler tag cluster-autoscaler-1.35.1 (3929ade99d23cb3d1a21256f9f361644d79e3279;
# the same text at the 1.33.5, 1.34.4 and 1.36.1 tags the other minors pin) cluster-autoscaler/cloudprovider/aws/
# README.md, "Full Cluster Autoscaler Features Policy (Recommended)": these reads on "*", and the two writes, which
# it recommends restricting by tag-based conditionals. EKS tags every managed node group's auto-scaling group with
# k8s.io/cluster-autoscaler/<cluster>=owned (EKS User Guide, managed-node-groups).
AUTOSCALER_READS = (
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeLaunchConfigurations",
    "autoscaling:DescribeScalingActivities",
    "ec2:DescribeImages",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:GetInstanceTypesFromInstanceRequirements",
    "eks:DescribeNodegroup",
)
AUTOSCALER_WRITES = ("autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup")
GROUP = f"arn:aws:autoscaling:{REGION}:{ACCOUNT}:autoScalingGroup:uuid:autoScalingGroupName/eks-nodes-system-group-1"
NODE_GROUP = f"arn:aws:eks:{REGION}:{ACCOUNT}:nodegroup/{CLUSTER}/nodes-system-group/uuid"


def autoscaler_policy() -> list[dict[str, Any]]:
    query = frozen_plan("dev")
    statements: list[dict[str, Any]] = json.loads(
        query.one("aws:iam/rolePolicy:RolePolicy", "autoscaler-role-inline")["inputs"]["policy"]
    )["Statement"]
    return statements


def test_the_autoscaler_may_make_every_call_of_the_reference_policy() -> None:
    """Run-time half: each read of the reference on what the autoscaler reads, and both writes on an auto-scaling
    group EKS tagged as this cluster's. Catches: a read dropped (DescribeLaunchTemplateVersions: no scale-up from zero;
    DescribeNodegroup: a group at zero loses its labels and taints) or a write refused (the autoscaler never scales)."""
    statements = autoscaler_policy()
    owned = resource_tags({f"k8s.io/cluster-autoscaler/{CLUSTER}": "owned", "k8s.io/cluster-autoscaler/enabled": "true"})
    for call in AUTOSCALER_READS:
        target = NODE_GROUP if call == "eks:DescribeNodegroup" else "*"
        assert allows(statements, call, target, {}), call
    for call in AUTOSCALER_WRITES:
        assert allows(statements, call, GROUP, owned), call
    association = frozen_plan("dev").one("aws:eks/podIdentityAssociation:PodIdentityAssociation", "autoscaler-role-association")
    assert association["inputs"]["roleArn"] == f"arn:aws:iam::{ACCOUNT}:role/autoscaler-role"


def test_the_autoscaler_changes_only_this_clusters_groups_and_reads_nothing_more() -> None:
    """Scoping half: the writes need the cluster's autoscaler tag on the group, the README's tag-based restriction; ours
    is tighter than the README where it can be (eks:DescribeNodegroup on this cluster's node groups, not "*"), and
    grants nothing the README does not (autoscaling:DescribeTags is no longer among its reads). Catches: a write on any
    auto-scaling group (another cluster's, or one outside EKS), or an action the autoscaler never calls."""
    statements = autoscaler_policy()
    for call in AUTOSCALER_WRITES:
        assert not allows(statements, call, GROUP, {}), f"{call} on a group without the tag"
        other = resource_tags({"k8s.io/cluster-autoscaler/other": "owned"})
        assert not allows(statements, call, GROUP, other), f"{call} on another cluster's group"
    other_group = NODE_GROUP.replace(f"nodegroup/{CLUSTER}/", "nodegroup/other/")
    assert not allows(statements, "eks:DescribeNodegroup", other_group, {})
    granted = {action for statement in statements for action in actions(statement)}
    assert granted <= {*AUTOSCALER_READS, *AUTOSCALER_WRITES}, granted
    for statement in statements:
        if "*" in resources(statement):
            assert all(a.split(":")[1].startswith(("Describe", "Get")) for a in actions(statement)), statement["Sid"]
    query = frozen_plan("dev")
    assert trust(query, "autoscaler-role") == [
        {"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}
    ]
    assert attached(query, "autoscaler-role") == set()
