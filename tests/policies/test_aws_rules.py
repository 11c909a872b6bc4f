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
ACCOUNT = "123456789012"
ONE_HOP = {"httpTokens": "required", "httpPutResponseHopLimit": 1}


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
    # Issue 22: two halves are the whole internet without ever writing 0.0.0.0/0.
    "endpoint/component halves add up to the world": Case(
        "eks-public-endpoint-restricted",
        CLUSTER_COMPONENT,
        {"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/1", "128.0.0.0/1"]},
        "0.0.0.0/1, 128.0.0.0/1 together covers all of 0.0.0.0/0",
        component=True,
    ),
    "endpoint/cluster ipv6 halves add up to the world": Case(
        "eks-public-endpoint-restricted",
        CLUSTER,
        {"vpcConfig": {"publicAccessCidrs": ["198.51.100.0/24", "::/1", "8000::/1"]}},
        "together covers all of ::/0",
    ),
    # One half alone is not the world, but no organisation's range: refused as broader than a /8.
    "endpoint/component half the internet": Case(
        "eks-public-endpoint-restricted",
        CLUSTER_COMPONENT,
        {"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/1"]},
        "open to 0.0.0.0/1, broader than a /8",
        component=True,
    ),
    "endpoint/cluster a /8 is the broadest allowed": Case(
        "eks-public-endpoint-restricted", CLUSTER, {"vpcConfig": {"publicAccessCidrs": ["17.0.0.0/8", "203.0.113.0/24"]}}, None
    ),
    "endpoint/cluster a /7 is too broad": Case(
        "eks-public-endpoint-restricted", CLUSTER, {"vpcConfig": {"publicAccessCidrs": ["16.0.0.0/7"]}}, "broader than a /8"
    ),
    "endpoint/configured minimum prefix": Case(
        "eks-public-endpoint-restricted",
        CLUSTER,
        {"vpcConfig": {"publicAccessCidrs": ["198.51.0.0/16"]}},
        "broader than a /24",
        pack_config={"all": "mandatory", "eks-public-endpoint-restricted": {"minPrefixLength": 24}},
    ),
    # eks-private-endpoint
    "private endpoint/component on": Case(
        "eks-private-endpoint", CLUSTER_COMPONENT, {"endpointPrivateAccess": True}, None, component=True
    ),
    "private endpoint/component off": Case(
        "eks-private-endpoint", CLUSTER_COMPONENT, {"endpointPrivateAccess": False}, "no private API endpoint", component=True
    ),
    "private endpoint/component default": Case(
        "eks-private-endpoint", CLUSTER_COMPONENT, {"endpointPublicAccess": True}, "endpointPrivateAccess", component=True
    ),
    "private endpoint/cluster on": Case("eks-private-endpoint", CLUSTER, {"vpcConfig": {"endpointPrivateAccess": True}}, None),
    "private endpoint/cluster off": Case(
        "eks-private-endpoint", CLUSTER, {"vpcConfig": {"endpointPrivateAccess": False}}, "no private API endpoint"
    ),
    "private endpoint/cluster unknown": Case(
        "eks-private-endpoint", CLUSTER, {"vpcConfig": {"endpointPrivateAccess": "[unknown]"}}, None
    ),
    # eks-authentication-mode
    "auth/component API": Case("eks-authentication-mode", CLUSTER_COMPONENT, {"authenticationMode": "API"}, None, component=True),
    "auth/component CONFIG_MAP": Case(
        "eks-authentication-mode",
        CLUSTER_COMPONENT,
        {"authenticationMode": "CONFIG_MAP"},
        "authenticationMode 'CONFIG_MAP', so the aws-auth ConfigMap grants cluster access",
        component=True,
    ),
    # The migration mode still honours aws-auth: refused unless the config lists it.
    "auth/component API_AND_CONFIG_MAP": Case(
        "eks-authentication-mode",
        CLUSTER_COMPONENT,
        {"authenticationMode": "API_AND_CONFIG_MAP"},
        "'API_AND_CONFIG_MAP'",
        component=True,
    ),
    "auth/configured migration mode": Case(
        "eks-authentication-mode",
        CLUSTER,
        {"accessConfig": {"authenticationMode": "API_AND_CONFIG_MAP"}},
        None,
        pack_config={
            "all": "mandatory",
            "eks-authentication-mode": {"allowedAuthenticationModes": ["API", "API_AND_CONFIG_MAP"]},
        },
    ),
    "auth/cluster API": Case("eks-authentication-mode", CLUSTER, {"accessConfig": {"authenticationMode": "API"}}, None),
    "auth/cluster default": Case("eks-authentication-mode", CLUSTER, {"name": "c"}, "EKS then uses CONFIG_MAP"),
    "auth/cluster unknown": Case("eks-authentication-mode", CLUSTER, {"accessConfig": {"authenticationMode": "[unknown]"}}, None),
    # eks-network-policy-enforced (the program's shape: vpcCniOptions.enableNetworkPolicy true)
    "netpol/component on": Case(
        "eks-network-policy-enforced",
        CLUSTER_COMPONENT,
        {"vpcCniOptions": {"enableNetworkPolicy": True, "addonVersion": "v1.21.1-eksbuild.7"}},
        None,
        component=True,
    ),
    "netpol/component off": Case(
        "eks-network-policy-enforced",
        CLUSTER_COMPONENT,
        {"vpcCniOptions": {"enableNetworkPolicy": False}},
        "vpcCniOptions.enableNetworkPolicy is false",
        component=True,
    ),
    "netpol/component no options": Case(
        "eks-network-policy-enforced", CLUSTER_COMPONENT, {"authenticationMode": "API"}, "is unset", component=True
    ),
    # pulumi-eks lets configurationValues' own enableNetworkPolicy override the option (cni-addon.ts).
    "netpol/component configuration values override": Case(
        "eks-network-policy-enforced",
        CLUSTER_COMPONENT,
        {"vpcCniOptions": {"enableNetworkPolicy": True, "configurationValues": {"enableNetworkPolicy": "false"}}},
        'is "false"',
        component=True,
    ),
    "netpol/component default CNI": Case(
        "eks-network-policy-enforced", CLUSTER_COMPONENT, {"useDefaultVpcCni": True}, "useDefaultVpcCni", component=True
    ),
    "netpol/addon component on": Case(
        "eks-network-policy-enforced",
        "eks:index:VpcCniAddon",
        {"clusterName": "c", "enableNetworkPolicy": True},
        None,
        component=True,
    ),
    "netpol/addon on": Case(
        "eks-network-policy-enforced",
        "aws:eks/addon:Addon",
        {"addonName": "vpc-cni", "configurationValues": json.dumps({"enableNetworkPolicy": "true", "env": {}})},
        None,
    ),
    "netpol/addon default": Case(
        "eks-network-policy-enforced", "aws:eks/addon:Addon", {"addonName": "vpc-cni"}, "configurationValues.enableNetworkPolicy"
    ),
    "netpol/other addon": Case("eks-network-policy-enforced", "aws:eks/addon:Addon", {"addonName": "coredns"}, None),
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
    # All five (CIS EKS 2.1.1), in an order of their own.
    "logging/component all": Case(
        "eks-control-plane-logging",
        CLUSTER_COMPONENT,
        {"enabledClusterLogTypes": ["scheduler", "authenticator", "controllerManager", "audit", "api"]},
        None,
        component=True,
    ),
    "logging/component without controllerManager and scheduler": Case(
        "eks-control-plane-logging",
        CLUSTER_COMPONENT,
        {"enabledClusterLogTypes": ["api", "audit", "authenticator"]},
        "control-plane logs controllerManager, scheduler",
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
        "eks-control-plane-logging",
        CLUSTER,
        {"enabledClusterLogTypes": ["api", "audit", "authenticator", "controllerManager", "scheduler"]},
        None,
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
    # pulumi-eks' launch template for enableIMDSv2 allows two hops (nodes/nodegroup.ts): pods reach IMDS.
    "imds/component enableIMDSv2": Case(
        "nodes-require-imdsv2", MNG_COMPONENT, {"enableIMDSv2": True}, "hop limit of 2", component=True
    ),
    "imds/component enableIMDSv2 where two hops are allowed": Case(
        "nodes-require-imdsv2",
        MNG_COMPONENT,
        {"enableIMDSv2": True},
        None,
        component=True,
        pack_config={"all": "mandatory", "nodes-require-imdsv2": {"maxHopLimit": 2}},
    ),
    "imds/component neither": Case(
        "nodes-require-imdsv2", MNG_COMPONENT, {"capacityType": "SPOT"}, "accept IMDSv1", component=True
    ),
    "imds/node group launch template": Case(
        "nodes-require-imdsv2", NODE_GROUP, {"launchTemplate": {"id": "lt-1", "version": "1"}}, None
    ),
    "imds/node group none": Case("nodes-require-imdsv2", NODE_GROUP, {"diskSize": 20}, "no launch template"),
    "imds/launch template required": Case("nodes-require-imdsv2", LAUNCH_TEMPLATE, {"metadataOptions": ONE_HOP}, None),
    # Issue 22: tokens required, but three hops let every pod fetch the node role's credentials.
    "imds/launch template three hops": Case(
        "nodes-require-imdsv2",
        LAUNCH_TEMPLATE,
        {"metadataOptions": {**ONE_HOP, "httpPutResponseHopLimit": 3}},
        "httpPutResponseHopLimit is 3, allowed: 1",
    ),
    "imds/launch template two hops": Case(
        "nodes-require-imdsv2", LAUNCH_TEMPLATE, {"metadataOptions": {**ONE_HOP, "httpPutResponseHopLimit": 2}}, "is 2"
    ),
    "imds/launch template hop limit unset": Case(
        "nodes-require-imdsv2", LAUNCH_TEMPLATE, {"metadataOptions": {"httpTokens": "required"}}, "leaving it to the AMI"
    ),
    "imds/launch template configured two hops": Case(
        "nodes-require-imdsv2",
        LAUNCH_TEMPLATE,
        {"metadataOptions": {**ONE_HOP, "httpPutResponseHopLimit": 2}},
        None,
        pack_config={"all": "mandatory", "nodes-require-imdsv2": {"maxHopLimit": 2}},
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
    "imds/node class one hop": Case("nodes-require-imdsv2", NODE_CLASS, {"spec": {"metadataOptions": ONE_HOP}}, None),
    "imds/node class two hops": Case(
        "nodes-require-imdsv2",
        NODE_CLASS,
        {"spec": {"metadataOptions": {**ONE_HOP, "httpPutResponseHopLimit": 2}}},
        "spec.metadataOptions.httpPutResponseHopLimit is 2",
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
    # Issue 22: IAM administrator power without writing '*' on '*'.
    "iam/policy iam star": Case(
        "iam-no-admin-wildcard",
        "aws:iam/policy:Policy",
        {"policy": document({"Effect": "Allow", "Action": "iam:*", "Resource": "*"})},
        "every action of a service (iam:*)",
    ),
    "iam/role policy not action": Case(
        "iam-no-admin-wildcard",
        "aws:iam/rolePolicy:RolePolicy",
        {"policy": document({"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"})},
        "Allow and NotAction",
    ),
    "iam/policy deny not action": Case(
        "iam-no-admin-wildcard",
        "aws:iam/policy:Policy",
        {"policy": document({"Effect": "Deny", "NotAction": "iam:*", "Resource": "*"})},
        None,
    ),
    "iam/pass role to one role": Case(
        "iam-no-admin-wildcard",
        "aws:iam/rolePolicy:RolePolicy",
        {"policy": document({"Effect": "Allow", "Action": "iam:PassRole", "Resource": f"arn:aws:iam::{ACCOUNT}:role/nodes"})},
        None,
    ),
    "iam/prefix wildcard": Case(
        "iam-no-admin-wildcard",
        "aws:iam/policy:Policy",
        {"policy": document({"Effect": "Allow", "Action": ["ec2:Describe*", "iam:Get*"], "Resource": "*"})},
        None,
    ),
    "iam/attach AdministratorAccess": Case(
        "iam-no-admin-wildcard",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
        "attaches the AdministratorAccess managed policy",
    ),
    "iam/attach IAMFullAccess in GovCloud": Case(
        "iam-no-admin-wildcard",
        "aws:iam/userPolicyAttachment:UserPolicyAttachment",
        {"user": "u", "policyArn": "arn:aws-us-gov:iam::aws:policy/IAMFullAccess"},
        "IAMFullAccess",
    ),
    "iam/attach a narrow managed policy": Case(
        "iam-no-admin-wildcard",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        {"role": "r", "policyArn": "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicyV2"},
        None,
    ),
    "iam/role managed policy arns": Case(
        "iam-no-admin-wildcard",
        "aws:iam/role:Role",
        {
            "managedPolicyArns": [
                "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
                "arn:aws:iam::aws:policy/AdministratorAccess",
            ],
            **trust({"Service": "ec2.amazonaws.com"}),
        },
        "AdministratorAccess",
    ),
    "iam/exclusive attachments": Case(
        "iam-no-admin-wildcard",
        "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
        {"roleName": "r", "policyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]},
        "AdministratorAccess",
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


# ---------------------------------------------------------------------------------------------------------------
# Issue 22: mistakes that passed prod, each now one mandatory line there; the shipped plans still pass

ISSUE_22_RULES = (
    "eks-public-endpoint-restricted",
    "eks-private-endpoint",
    "eks-authentication-mode",
    "eks-network-policy-enforced",
    "eks-control-plane-logging",
    "nodes-require-imdsv2",
    "iam-no-admin-wildcard",
)
ISSUE_22_MISTAKES: dict[str, tuple[str, str, dict[str, Any], str]] = {
    "launch template with three metadata hops": (
        "nodes-require-imdsv2",
        LAUNCH_TEMPLATE,
        {"metadataOptions": {**ONE_HOP, "httpPutResponseHopLimit": 3}},
        "httpPutResponseHopLimit is 3",
    ),
    "endpoint allow-list of two halves": (
        "eks-public-endpoint-restricted",
        CLUSTER_COMPONENT,
        {"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/1", "128.0.0.0/1"]},
        "covers all of 0.0.0.0/0",
    ),
    "iam:* on *": (
        "iam-no-admin-wildcard",
        "aws:iam/rolePolicy:RolePolicy",
        {"policy": document({"Effect": "Allow", "Action": "iam:*", "Resource": "*"})},
        "iam:*",
    ),
    "Allow with NotAction": (
        "iam-no-admin-wildcard",
        "aws:iam/policy:Policy",
        {"policy": document({"Effect": "Allow", "NotAction": "s3:DeleteBucket", "Resource": "*"})},
        "NotAction",
    ),
    "AdministratorAccess attached": (
        "iam-no-admin-wildcard",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
        "AdministratorAccess",
    ),
    "network policies not enforced": (
        "eks-network-policy-enforced",
        CLUSTER_COMPONENT,
        {"vpcCniOptions": {"enableNetworkPolicy": False}},
        "enableNetworkPolicy is false",
    ),
    "aws-auth ConfigMap authentication": (
        "eks-authentication-mode",
        CLUSTER_COMPONENT,
        {"authenticationMode": "CONFIG_MAP"},
        "CONFIG_MAP",
    ),
    "no private endpoint": ("eks-private-endpoint", CLUSTER_COMPONENT, {"endpointPrivateAccess": False}, "private API endpoint"),
    "no controllerManager and scheduler logs": (
        "eks-control-plane-logging",
        CLUSTER_COMPONENT,
        {"enabledClusterLogTypes": ["api", "audit", "authenticator"]},
        "controllerManager, scheduler",
    ),
}


@pytest.mark.parametrize("mistake", ISSUE_22_MISTAKES.values(), ids=ISSUE_22_MISTAKES.keys())
def test_issue_22_mistake_is_one_mandatory_line_in_prod(mistake: tuple[str, str, dict[str, Any], str]) -> None:
    """Each mistake of issue 22 passed the prod pack; now prod blocks it with one line naming the resource and the fix."""
    from offline.analyses.policy import environment_pack_config

    policy, resource_type, inputs, fragment = mistake
    violations = check(
        resource_type, inputs, policy, pack_config=environment_pack_config("prod"), component=resource_type.startswith("eks:")
    )
    assert len(violations) == 1, violations
    assert violations[0]["enforcement"] == "mandatory"
    assert_fires(violations, fragment, "Fix: ")


@pytest.mark.parametrize("stack", ["dev", "prod", "karpenter-example"])
def test_frozen_plans_pass_the_issue_22_rules(stack: str) -> None:
    """The rules of issue 22 must not refuse what the program ships: its one-hop launch template, its /24 allow-list,
    API authentication, the VPC CNI's network policies, all five logs, and its real IAM policies (Karpenter's
    controller, the cluster autoscaler, the EBS CSI driver's role)."""
    from offline.analyses.policy import evaluate
    from offline.plan.query import PlanQuery
    from tests.conftest import frozen_plan
    from tests.policies.plans import STRICT

    plan = frozen_plan(stack).plan
    names = {resource["name"] for resource in plan["resources"]}
    # The plans hold what these rules judge, so that passing means something.
    assert {"cluster-eks", "nodes-system-lt", "addons-ebs-csi-AmazonEBSCSIDriverPolicyV2"} <= names
    assert ("karpenter-controller-inline" if stack == "karpenter-example" else "autoscaler-role-inline") in names
    violations = [violation for violation in evaluate(PlanQuery(plan), STRICT) if violation["policy"] in ISSUE_22_RULES]
    assert violations == [], json.dumps(violations, indent=2)
