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
]


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
