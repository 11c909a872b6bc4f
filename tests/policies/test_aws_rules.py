"""Each AWS rule passes a compliant resource and fails a bad one, in the pulumi-eks component shape (what the
offline plan holds) and in the AWS resource shape (what `pulumi preview --policy-pack` also sees)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.policies.plans import REQUIRED_TAGS, assert_fires, aws_provider, check

CLUSTER_COMPONENT = "eks:index:Cluster"
CLUSTER = "aws:eks/cluster:Cluster"
MNG_COMPONENT = "eks:index:ManagedNodeGroup"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
ROOT_VOLUME = {"deviceName": "/dev/xvda", "rootVolume": True, "ebs": {"volumeSize": "20Gi", "encrypted": True}}
KEY_ARN = "arn:aws:kms:eu-central-1:123456789012:key/k"


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def trust(principal: Any) -> dict[str, Any]:
    return {"assumeRolePolicy": document({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"})}


ADMIN = {"Effect": "Allow", "Action": "*", "Resource": "*"}
SCOPED = {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": KEY_ARN}


def ingress(port: int, cidr: str = "0.0.0.0/0", protocol: str = "tcp", to_port: int | None = None) -> dict[str, Any]:
    return {"protocol": protocol, "fromPort": port, "toPort": port if to_port is None else to_port, "cidrBlocks": [cidr]}


@dataclass(frozen=True)
class Case:
    policy: str
    resource_type: str
    inputs: dict[str, Any]
    fires: str | None  # a fragment of the expected message, or None when the rule must stay silent
    component: bool = False
    pack_config: dict[str, Any] | None = field(default=None)


CASES: dict[str, Case] = {
    # eks-public-endpoint-restricted
    "endpoint/component allow-list": Case(
        "eks-public-endpoint-restricted",
        CLUSTER_COMPONENT,
        {"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]},
        None,
        component=True,
    ),
    "endpoint/component private": Case(
        "eks-public-endpoint-restricted", CLUSTER_COMPONENT, {"endpointPublicAccess": False}, None, component=True
    ),
    "endpoint/component world": Case(
        "eks-public-endpoint-restricted",
        CLUSTER_COMPONENT,
        {"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]},
        "open to 0.0.0.0/0",
        component=True,
    ),
    "endpoint/component default open": Case(
        "eks-public-endpoint-restricted", CLUSTER_COMPONENT, {}, "without a CIDR allow-list", component=True
    ),
    "endpoint/cluster allow-list": Case(
        "eks-public-endpoint-restricted",
        CLUSTER,
        {"vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["198.51.100.0/24"]}},
        None,
    ),
    "endpoint/cluster ipv6 world": Case(
        "eks-public-endpoint-restricted", CLUSTER, {"vpcConfig": {"publicAccessCidrs": ["10.0.0.0/8", "::/0"]}}, "open to ::/0"
    ),
    "endpoint/cluster unknown cidrs": Case(
        "eks-public-endpoint-restricted", CLUSTER, {"vpcConfig": {"publicAccessCidrs": "[unknown]"}}, None
    ),
    # eks-secrets-encryption
    "secrets/component key": Case(
        "eks-secrets-encryption", CLUSTER_COMPONENT, {"encryptionConfigKeyArn": KEY_ARN}, None, component=True
    ),
    "secrets/component unknown key": Case(
        "eks-secrets-encryption", CLUSTER_COMPONENT, {"encryptionConfigKeyArn": "[unknown]"}, None, component=True
    ),
    "secrets/component none": Case("eks-secrets-encryption", CLUSTER_COMPONENT, {}, "does not encrypt", component=True),
    "secrets/cluster key": Case(
        "eks-secrets-encryption", CLUSTER, {"encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": KEY_ARN}}}, None
    ),
    "secrets/cluster none": Case("eks-secrets-encryption", CLUSTER, {"name": "c"}, "does not encrypt"),
    # eks-control-plane-logging
    "logging/component all": Case(
        "eks-control-plane-logging",
        CLUSTER_COMPONENT,
        {"enabledClusterLogTypes": ["api", "audit", "authenticator", "scheduler"]},
        None,
        component=True,
    ),
    "logging/component partial": Case(
        "eks-control-plane-logging",
        CLUSTER_COMPONENT,
        {"enabledClusterLogTypes": ["api"]},
        "audit, authenticator",
        component=True,
    ),
    "logging/cluster all": Case(
        "eks-control-plane-logging", CLUSTER, {"enabledClusterLogTypes": ["api", "audit", "authenticator"]}, None
    ),
    "logging/cluster none": Case("eks-control-plane-logging", CLUSTER, {}, "api, audit, authenticator"),
    "logging/configured types": Case(
        "eks-control-plane-logging",
        CLUSTER,
        {"enabledClusterLogTypes": ["api", "audit", "authenticator"]},
        "scheduler",
        pack_config={"all": "mandatory", "eks-control-plane-logging": {"requiredLogTypes": ["scheduler"]}},
    ),
    # eks-deletion-protection (STRICT requires it, like prod)
    "deletion/component on": Case(
        "eks-deletion-protection", CLUSTER_COMPONENT, {"deletionProtection": True}, None, component=True
    ),
    "deletion/component off": Case(
        "eks-deletion-protection", CLUSTER_COMPONENT, {"deletionProtection": False}, "no deletion protection", component=True
    ),
    "deletion/cluster on": Case("eks-deletion-protection", CLUSTER, {"deletionProtection": True}, None),
    "deletion/cluster unset": Case("eks-deletion-protection", CLUSTER, {}, "no deletion protection"),
    "deletion/not required": Case("eks-deletion-protection", CLUSTER, {}, None, pack_config={"all": "mandatory"}),
    # kms-key-rotation
    "rotation/on": Case("kms-key-rotation", "aws:kms/key:Key", {"enableKeyRotation": True}, None),
    "rotation/off": Case("kms-key-rotation", "aws:kms/key:Key", {"enableKeyRotation": False}, "enableKeyRotation"),
    "rotation/unset": Case("kms-key-rotation", "aws:kms/key:Key", {"description": "k"}, "enableKeyRotation"),
    "rotation/asymmetric exempt": Case("kms-key-rotation", "aws:kms/key:Key", {"customerMasterKeySpec": "RSA_2048"}, None),
    # nodes-require-imdsv2
    "imds/component launch template": Case(
        "nodes-require-imdsv2", MNG_COMPONENT, {"launchTemplate": {"id": "lt-1", "version": "1"}}, None, component=True
    ),
    "imds/component enableIMDSv2": Case("nodes-require-imdsv2", MNG_COMPONENT, {"enableIMDSv2": True}, None, component=True),
    "imds/component neither": Case(
        "nodes-require-imdsv2", MNG_COMPONENT, {"capacityType": "SPOT"}, "accept IMDSv1", component=True
    ),
    "imds/node group launch template": Case(
        "nodes-require-imdsv2", NODE_GROUP, {"launchTemplate": {"id": "lt-1", "version": "1"}}, None
    ),
    "imds/node group none": Case("nodes-require-imdsv2", NODE_GROUP, {"diskSize": 20}, "no launch template"),
    "imds/launch template required": Case(
        "nodes-require-imdsv2", LAUNCH_TEMPLATE, {"metadataOptions": {"httpTokens": "required"}}, None
    ),
    "imds/launch template optional": Case(
        "nodes-require-imdsv2", LAUNCH_TEMPLATE, {"metadataOptions": {"httpTokens": "optional"}}, "httpTokens is 'optional'"
    ),
    "imds/launch template unset": Case("nodes-require-imdsv2", LAUNCH_TEMPLATE, {}, "allows IMDSv1"),
    "imds/node class required": Case(
        "nodes-require-imdsv2", NODE_CLASS, {"spec": {"metadataOptions": {"httpTokens": "required"}}}, None
    ),
    # The EC2NodeClass CRD defaults httpTokens to required (karpenter.k8s.aws_ec2nodeclasses.yaml).
    "imds/node class default": Case("nodes-require-imdsv2", NODE_CLASS, {"spec": {"role": "nodes"}}, None),
    "imds/node class optional": Case(
        "nodes-require-imdsv2", NODE_CLASS, {"spec": {"metadataOptions": {"httpTokens": "optional"}}}, "accept IMDSv1"
    ),
    # nodes-no-public-ip
    "public ip/component off": Case(
        "nodes-no-public-ip", CLUSTER_COMPONENT, {"nodeAssociatePublicIpAddress": False}, None, component=True
    ),
    "public ip/component default": Case(
        "nodes-no-public-ip", CLUSTER_COMPONENT, {}, "nodeAssociatePublicIpAddress", component=True
    ),
    "public ip/private subnet off": Case(
        "nodes-no-public-ip",
        "aws:ec2/subnet:Subnet",
        {"mapPublicIpOnLaunch": False, "tags": {"kubernetes.io/role/internal-elb": "1"}},
        None,
    ),
    "public ip/private subnet on": Case(
        "nodes-no-public-ip",
        "aws:ec2/subnet:Subnet",
        {"mapPublicIpOnLaunch": True, "tags": {"kubernetes.io/role/internal-elb": "1"}},
        "mapPublicIpOnLaunch",
    ),
    "public ip/public subnet may": Case(
        "nodes-no-public-ip",
        "aws:ec2/subnet:Subnet",
        {"mapPublicIpOnLaunch": True, "tags": {"kubernetes.io/role/elb": "1"}},
        None,
    ),
    "public ip/launch template interface": Case(
        "nodes-no-public-ip", LAUNCH_TEMPLATE, {"networkInterfaces": [{"associatePublicIpAddress": "true"}]}, "public IP"
    ),
    "public ip/launch template private interface": Case(
        "nodes-no-public-ip", LAUNCH_TEMPLATE, {"networkInterfaces": [{"associatePublicIpAddress": "false"}]}, None
    ),
    # node-volumes-encrypted
    "volumes/launch template encrypted": Case(
        "node-volumes-encrypted",
        LAUNCH_TEMPLATE,
        {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true", "volumeSize": 20}}]},
        None,
    ),
    "volumes/launch template plain": Case(
        "node-volumes-encrypted",
        LAUNCH_TEMPLATE,
        {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "false"}}]},
        "unencrypted EBS volume /dev/xvda",
    ),
    "volumes/launch template unset": Case(
        "node-volumes-encrypted",
        LAUNCH_TEMPLATE,
        {"blockDeviceMappings": [{"deviceName": "/dev/xvdb", "ebs": {"volumeSize": 5}}]},
        "/dev/xvdb",
    ),
    "volumes/node class encrypted": Case(
        "node-volumes-encrypted", NODE_CLASS, {"spec": {"blockDeviceMappings": [ROOT_VOLUME]}}, None
    ),
    "volumes/node class plain": Case(
        "node-volumes-encrypted",
        NODE_CLASS,
        {"spec": {"blockDeviceMappings": [{**ROOT_VOLUME, "ebs": {"volumeSize": "20Gi"}}]}},
        "unencrypted EBS volume /dev/xvda",
    ),
    "volumes/node class default mappings": Case(
        "node-volumes-encrypted", NODE_CLASS, {"spec": {"role": "nodes"}}, "declares no blockDeviceMappings"
    ),
    "volumes/ebs encrypted": Case("node-volumes-encrypted", "aws:ebs/volume:Volume", {"encrypted": True, "size": 5}, None),
    "volumes/ebs plain": Case("node-volumes-encrypted", "aws:ebs/volume:Volume", {"size": 5}, "is not encrypted"),
    "volumes/component no default node group": Case(
        "node-volumes-encrypted", CLUSTER_COMPONENT, {"skipDefaultNodeGroup": True}, None, component=True
    ),
    "volumes/component default node group plain": Case(
        "node-volumes-encrypted", CLUSTER_COMPONENT, {"desiredCapacity": 2}, "nodeRootVolumeEncrypted", component=True
    ),
    # security-group-no-world-ingress
    "sg/https from world": Case(
        "security-group-no-world-ingress", "aws:ec2/securityGroup:SecurityGroup", {"ingress": [ingress(443)]}, None
    ),
    "sg/ssh from world": Case(
        "security-group-no-world-ingress",
        "aws:ec2/securityGroup:SecurityGroup",
        {"ingress": [ingress(22)]},
        "from 0.0.0.0/0 on port 22",
    ),
    "sg/ssh from vpc": Case(
        "security-group-no-world-ingress", "aws:ec2/securityGroup:SecurityGroup", {"ingress": [ingress(22, "10.0.0.0/16")]}, None
    ),
    "sg/all protocols": Case(
        "security-group-no-world-ingress",
        "aws:ec2/securityGroup:SecurityGroup",
        {"ingress": [ingress(0, protocol="-1")]},
        "on all ports",
    ),
    "sg/range beyond listeners": Case(
        "security-group-no-world-ingress",
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        {"ingress": [ingress(80, to_port=443)]},
        "ports 80-443",
    ),
    "sg/ipv6 world": Case(
        "security-group-no-world-ingress",
        "aws:ec2/securityGroup:SecurityGroup",
        {"ingress": [{"protocol": "tcp", "fromPort": 5432, "toPort": 5432, "ipv6CidrBlocks": ["::/0"]}]},
        "from ::/0 on port 5432",
    ),
    "sg/rule ingress": Case(
        "security-group-no-world-ingress",
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        {"type": "ingress", **ingress(22)},
        "on port 22",
    ),
    "sg/rule egress": Case(
        "security-group-no-world-ingress", "aws:ec2/securityGroupRule:SecurityGroupRule", {"type": "egress", **ingress(22)}, None
    ),
    "sg/vpc ingress rule world": Case(
        "security-group-no-world-ingress",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        {"ipProtocol": "tcp", "fromPort": 3389, "toPort": 3389, "cidrIpv4": "0.0.0.0/0"},
        "on port 3389",
    ),
    "sg/vpc ingress rule listener": Case(
        "security-group-no-world-ingress",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv6": "::/0"},
        None,
    ),
    "sg/configured listener": Case(
        "security-group-no-world-ingress",
        "aws:ec2/securityGroup:SecurityGroup",
        {"ingress": [ingress(443)]},
        "port 443",
        pack_config={"all": "mandatory", "security-group-no-world-ingress": {"allowedPublicPorts": [8443]}},
    ),
    # iam-no-admin-wildcard
    "iam/role policy scoped": Case("iam-no-admin-wildcard", "aws:iam/rolePolicy:RolePolicy", {"policy": document(SCOPED)}, None),
    "iam/role policy admin": Case(
        "iam-no-admin-wildcard",
        "aws:iam/rolePolicy:RolePolicy",
        {"policy": document(SCOPED, ADMIN)},
        "every action on every resource",
    ),
    "iam/policy admin object": Case(
        "iam-no-admin-wildcard",
        "aws:iam/policy:Policy",
        {"policy": {"Statement": {"Effect": "Allow", "Action": ["*:*"], "Resource": ["*"]}}},
        "every action",
    ),
    "iam/policy deny all": Case(
        "iam-no-admin-wildcard", "aws:iam/policy:Policy", {"policy": document({**ADMIN, "Effect": "Deny"})}, None
    ),
    "iam/policy all actions one resource": Case(
        "iam-no-admin-wildcard", "aws:iam/policy:Policy", {"policy": document({**ADMIN, "Resource": KEY_ARN})}, None
    ),
    "iam/role inline admin": Case(
        "iam-no-admin-wildcard",
        "aws:iam/role:Role",
        {"inlinePolicies": [{"name": "god", "policy": document(ADMIN)}], **trust({"Service": "ec2.amazonaws.com"})},
        "inline policy 'god'",
    ),
    # iam-trust-names-principal
    "trust/service": Case("iam-trust-names-principal", "aws:iam/role:Role", trust({"Service": "eks.amazonaws.com"}), None),
    "trust/account": Case(
        "iam-trust-names-principal", "aws:iam/role:Role", trust({"AWS": "arn:aws:iam::123456789012:root"}), None
    ),
    "trust/federated": Case(
        "iam-trust-names-principal",
        "aws:iam/role:Role",
        trust({"Federated": "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-central-1.amazonaws.com/id/X"}),
        None,
    ),
    "trust/star": Case("iam-trust-names-principal", "aws:iam/role:Role", trust("*"), "any principal"),
    "trust/aws star": Case("iam-trust-names-principal", "aws:iam/role:Role", trust({"AWS": ["*"]}), "any principal"),
    "trust/no principal": Case("iam-trust-names-principal", "aws:iam/role:Role", trust({}), "names no service"),
    # aws-required-tags (more below: where the provider's defaultTags come from)
    "tags/provider default tags": Case("aws-required-tags", "aws:ec2/subnet:Subnet", {"tags": {"Name": "s"}}, None),
    "tags/configured tag missing": Case(
        "aws-required-tags",
        "aws:ec2/subnet:Subnet",
        {"tags": {"Name": "s"}},
        "cost-centre",
        pack_config={"all": "mandatory", "aws-required-tags": {"requiredTags": ["project", "cost-centre"]}},
    ),
    # node-group-scaling (default maxNodes 10)
    "scaling/component consistent": Case(
        "node-group-scaling",
        MNG_COMPONENT,
        {"scalingConfig": {"minSize": 1, "desiredSize": 2, "maxSize": 3}},
        None,
        component=True,
    ),
    "scaling/component inverted": Case(
        "node-group-scaling",
        MNG_COMPONENT,
        {"scalingConfig": {"minSize": 3, "desiredSize": 2, "maxSize": 5}},
        "min 3, desired 2, max 5",
        component=True,
    ),
    "scaling/node group too big": Case(
        "node-group-scaling", NODE_GROUP, {"scalingConfig": {"minSize": 1, "desiredSize": 2, "maxSize": 40}}, "40 nodes"
    ),
    "scaling/node group consistent": Case(
        "node-group-scaling", NODE_GROUP, {"scalingConfig": {"minSize": 2, "desiredSize": 2, "maxSize": 10}}, None
    ),
    "scaling/configured maximum": Case(
        "node-group-scaling",
        NODE_GROUP,
        {"scalingConfig": {"minSize": 1, "desiredSize": 2, "maxSize": 6}},
        "maximum of 5",
        pack_config={"all": "mandatory", "node-group-scaling": {"maxNodes": 5}},
    ),
    "scaling/component default node group": Case(
        "node-group-scaling",
        CLUSTER_COMPONENT,
        {"minSize": 4, "desiredCapacity": 2, "maxSize": 4},
        "need min <= desired",
        component=True,
    ),
    # karpenter-nodepool-limits
    "nodepool/node limit": Case("karpenter-nodepool-limits", NODE_POOL, {"spec": {"limits": {"nodes": "5"}}}, None),
    "nodepool/cpu limit": Case("karpenter-nodepool-limits", NODE_POOL, {"spec": {"limits": {"cpu": "100"}}}, None),
    "nodepool/unbounded": Case("karpenter-nodepool-limits", NODE_POOL, {"spec": {"template": {}}}, "sets no spec.limits"),
    "nodepool/only a gpu limit": Case(
        "karpenter-nodepool-limits", NODE_POOL, {"spec": {"limits": {"nvidia.com/gpu": "2"}}}, "sets no spec.limits"
    ),
    "nodepool/above maxNodes": Case(
        "karpenter-nodepool-limits",
        NODE_POOL,
        {"spec": {"limits": {"nodes": "12"}}},
        "may grow to 12 nodes",
        pack_config={"karpenter-nodepool-limits": {"maxNodes": 5}},
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_aws_rule(case: Case) -> None:
    violations = check(case.resource_type, case.inputs, case.policy, pack_config=case.pack_config, component=case.component)
    if case.fires is None:
        assert violations == []
    else:
        assert_fires(violations, case.fires)


def test_every_aws_rule_has_a_passing_and_a_failing_case() -> None:
    from policies.eks_policies.aws_rules import AWS_POLICIES

    for policy in AWS_POLICIES:
        outcomes = {case.fires is None for case in CASES.values() if case.policy == policy.name}
        assert outcomes == {True, False}, policy.name


# ---------------------------------------------------------------------------------------------------------------
# aws-required-tags: the provider's defaultTags count, in both shapes the provider arrives in


def test_tags_from_provider_default_tags_pass() -> None:
    assert check("aws:ec2/vpc:Vpc", {"cidrBlock": "10.0.0.0/16"}, "aws-required-tags") == []


def test_tags_missing_everywhere_fail() -> None:
    provider = aws_provider({"project": "eks-platform"})
    violations = check("aws:ec2/vpc:Vpc", {"tags": {"Name": "v"}}, "aws-required-tags", provider=provider)
    assert_fires(violations, "stack, environment, managed-by")


def test_own_tags_complete_the_provider_default_tags() -> None:
    provider = aws_provider({"project": "eks-platform", "stack": "test"})
    own = {"environment": "test", "managed-by": "pulumi"}
    assert check("aws:kms/key:Key", {"tags": own}, "aws-required-tags", provider=provider) == []


def test_provider_default_tags_as_object_count_too() -> None:
    # A real CLI may hand the provider's defaultTags over as an object rather than JSON text.
    provider = aws_provider()
    provider["inputs"]["defaultTags"] = {"tags": REQUIRED_TAGS}
    assert check("aws:iam/role:Role", {}, "aws-required-tags", provider=provider) == []
    provider["inputs"]["defaultTags"] = {"tags": {"project": "p"}}
    assert_fires(check("aws:iam/role:Role", {}, "aws-required-tags", provider=provider), "stack")


def test_component_tags_come_from_its_providers_map() -> None:
    # Offline: the component's providers map leads to the aws provider and its defaultTags.
    assert check(CLUSTER_COMPONENT, {}, "aws-required-tags", component=True) == []
    bare = aws_provider({})
    assert_fires(check(CLUSTER_COMPONENT, {}, "aws-required-tags", component=True, provider=bare), "project")


def test_component_without_provider_is_left_to_its_children() -> None:
    # Under the real CLI a component has no provider; its AWS children are checked with theirs.
    assert check(CLUSTER_COMPONENT, {"tags": {}}, "aws-required-tags") == []


def test_untaggable_resources_are_not_checked() -> None:
    attachment = {"role": "r", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}
    provider = aws_provider({})
    assert check("aws:iam/rolePolicyAttachment:RolePolicyAttachment", attachment, "aws-required-tags", provider=provider) == []
