"""Config validation: the valid stacks parse; every rule rejects its bad value with a message naming the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from offline.stack_config import stack_config
from settings import KEYS, ConfigError, parse_settings

ROOT = Path(__file__).resolve().parent.parent


def raw(stack: str = "dev", **overrides: object) -> dict[str, str]:
    values = {key.split(":", 1)[1]: value for key, value in stack_config(ROOT, stack).items() if key.startswith("eks-platform:")}
    for key, value in overrides.items():
        values[key] = value if isinstance(value, str) else json.dumps(value)
    return values


def test_every_key_has_a_default_in_pulumi_yaml() -> None:
    assert set(raw()) == set(KEYS)


def test_dev_settings() -> None:
    settings = parse_settings(raw("dev"), "eks-platform", "dev")
    assert settings.cluster_name == "eks-platform-dev"
    assert settings.availability_zones == ("eu-central-1a", "eu-central-1b", "eu-central-1c")
    assert settings.nat_strategy == "single"
    assert settings.node_group.capacity_type == "SPOT"
    assert (settings.node_group.min_size, settings.node_group.desired_size, settings.node_group.max_size) == (1, 2, 3)
    assert not settings.is_production


def test_graviton_only_node_groups_are_fine() -> None:
    settings = parse_settings(raw("dev", nodeInstanceTypes=["m7g.large", "c6gn.xlarge"]), "eks-platform", "dev")
    assert settings.node_group.instance_types == ("m7g.large", "c6gn.xlarge")


def test_prod_settings() -> None:
    settings = parse_settings(raw("prod"), "eks-platform", "prod")
    assert settings.is_production
    assert settings.deletion_protection
    assert settings.nat_strategy == "per-zone"
    assert settings.node_group.capacity_type == "ON_DEMAND"


BAD = [
    # (stack, key, value, words the message must contain)
    ("dev", "nodeMinSize", "one", "whole number"),
    ("dev", "nodeMaxSize", "0", "from 1 to 450"),
    ("dev", "nodeMinSize", "4", "at most nodeMaxSize"),
    ("dev", "nodeDesiredSize", "5", "from nodeMinSize (1) to nodeMaxSize (3)"),
    ("dev", "nodeDesiredSize", "2.5", "whole number"),
    ("dev", "vpcCidr", "10.0.0.1/16", "IPv4 CIDR"),
    ("dev", "vpcCidr", "10.0.0.0/8", "/16 to /24"),
    ("dev", "subnetPrefixLength", "17", "do not fit"),
    ("dev", "subnetPrefixLength", "29", "from 17 to 28"),
    ("dev", "availabilityZones", ["eu-central-1a"], "at least 2"),
    ("dev", "availabilityZones", ["eu-central-1a", "eu-central-1a"], "at least 2 distinct"),
    ("dev", "availabilityZones", ["eu-central-1a", "us-east-1b"], "zones of region eu-central-1"),
    ("dev", "availabilityZones", "eu-central-1a", "list of zone names"),
    ("dev", "nodeInstanceTypes", ["t3medium"], "EC2 instance type"),
    ("dev", "nodeInstanceTypes", [], "at least one"),
    ("dev", "kubernetesVersion", "1.3", "1.NN"),
    ("dev", "kubernetesVersion", "1.20", "one of 1.33, 1.34, 1.35"),
    ("dev", "publicAccessCidrs", ["203.0.113.0/33"], "IPv4 CIDR"),
    ("dev", "publicAccessCidrs", [], "at least one CIDR"),
    ("dev", "natStrategy", "none", "one of single, per-zone"),
    ("dev", "environment", "Production!", "one of dev, staging, prod"),
    ("dev", "environment", "qa", "one of dev, staging, prod"),
    ("dev", "region", "europe", "AWS region"),
    ("dev", "endpointPublicAccess", "yes", "true or false"),
    ("dev", "clusterAdminArns", ["arn:aws:iam::12:role/x"], "IAM role or user ARN"),
    ("dev", "nodeCapacityType", "RESERVED", "one of ON_DEMAND, SPOT"),
    ("prod", "nodeCapacityType", "SPOT", "prod nodes must be ON_DEMAND"),
    ("dev", "nodeDiskSizeGiB", "8", "from 20 to 16384"),
    ("dev", "ingressController", "traefik", "one of f5-nginx, ingress-nginx"),
    ("prod", "ingressReplicas", "1", "from 2 to 10"),
    ("dev", "clusterAdminArns", ["arn:aws:iam::123456789012:role/a", "arn:aws:iam::123456789012:role/a"], "listed twice"),
    ("dev", "nodeInstanceTypes", ["t3.medium", "t3.medium"], "listed twice"),
    ("dev", "nodeInstanceTypes", ["t3.medium", "t4g.medium"], "one CPU architecture"),
    ("dev", "publicAccessCidrs", [f"10.0.{i}.0/24" for i in range(41)], "at most 40"),
    ("dev", "deletionProtection", "sometimes", "true or false"),
    ("dev", "kubernetesSupportType", "LONG", "one of STANDARD, EXTENDED"),
    ("dev", "controlPlaneLogRetentionDays", "10", "retention CloudWatch Logs accepts"),
    ("dev", "controlPlaneLogRetentionDays", "0", "from 1 to 3653"),
    ("dev", "nodeGroupPerZone", "maybe", "true or false"),
    ("prod", "nodeGroupPerZone", "false", "prod rule"),
    ("dev", "nodeMaxUnavailable", "0", "from 1 to 100"),
    ("dev", "region", "us-iso-east-1", "not ISO regions"),
    ("dev", "clusterAdminArns", ["arn:aws-cn:iam::123456789012:role/a"], "partition aws (region eu-central-1)"),
]


def settings_of(stack: str, **overrides: object):
    return parse_settings(raw(stack, **overrides), "eks-platform", stack)


@pytest.mark.parametrize(
    ("region", "partition"), [("eu-central-1", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")]
)
def test_partition_follows_the_region(region: str, partition: str) -> None:
    zones = [f"{region}a", f"{region}b"]
    admin = f"arn:{partition}:iam::123456789012:role/platform-admin"
    settings = settings_of("dev", region=region, availabilityZones=zones, clusterAdminArns=[admin])
    assert settings.partition == partition


def test_boundaries_that_must_still_be_accepted() -> None:
    # A fixed-size pool, one node per zone at most, retention at both ends, the largest rolling batch.
    fixed = settings_of("prod", nodeMinSize="3", nodeDesiredSize="3", nodeMaxSize="3")
    assert (fixed.node_group.min_size, fixed.node_group.max_size) == (3, 3)
    assert settings_of("dev", nodeGroupPerZone="true", nodeMinSize="0", nodeDesiredSize="0", nodeMaxSize="3").node_group.per_zone
    assert settings_of("dev", controlPlaneLogRetentionDays="1").control_plane_log_retention_days == 1
    assert settings_of("dev", controlPlaneLogRetentionDays="3653").control_plane_log_retention_days == 3653
    assert settings_of("dev", nodeMaxUnavailable="100").node_group.max_unavailable == 100
    assert settings_of("dev", kubernetesSupportType="EXTENDED").support_type == "EXTENDED"
    # An address plan that fits exactly: six /19 subnets need a /16 with room for eight.
    assert settings_of("dev", vpcCidr="10.0.0.0/16", subnetPrefixLength="19").subnet_prefix_length == 19
    assert settings_of("dev", vpcCidr="10.0.0.0/21", subnetPrefixLength="24").subnet_prefix_length == 24


def test_per_zone_groups_need_a_node_per_zone_at_most() -> None:
    with pytest.raises(ConfigError, match=r"eks-platform:nodeMaxSize = 2: with nodeGroupPerZone .* at least 3"):
        settings_of("dev", nodeGroupPerZone="true", nodeMaxSize="2")


def test_cpu_architecture_follows_the_instance_types() -> None:
    assert settings_of("dev").node_group.cpu_architecture == "x86_64"
    assert settings_of("dev", nodeInstanceTypes=["m7g.large"]).node_group.cpu_architecture == "arm64"


@pytest.mark.parametrize(("stack", "key", "value", "words"), BAD, ids=[f"{case[1]}={case[2]}" for case in BAD])
def test_bad_value_is_rejected_naming_the_key(stack: str, key: str, value: object, words: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_settings(raw(stack, **{key: value}), "eks-platform", stack)
    message = str(error.value)
    assert f"eks-platform:{key}" in message
    assert words in message
    assert "\n" not in message


def test_missing_key_is_named() -> None:
    values = raw()
    del values["vpcCidr"]
    with pytest.raises(ConfigError, match="eks-platform:vpcCidr"):
        parse_settings(values, "eks-platform", "dev")
