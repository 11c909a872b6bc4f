"""Config validation: the valid stacks parse; every rule rejects its bad value with a message naming the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from offline.stack_config import stack_config
from settings import KEYS, ConfigError, check_config_keys, parse_settings

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
    ("prod", "nodeCapacityType", "SPOT", "prod rule: nodes must be ON_DEMAND"),
    ("dev", "nodeDiskSizeGiB", "8", "from 20 to 16384"),
    ("dev", "ingressController", "traefik", "one of f5-nginx, ingress-nginx"),
    ("prod", "ingressReplicas", "1", "prod rule: expected from 2 to 10 in prod"),
    ("dev", "demoWorkloads", "yes", "true or false"),
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


def test_prod_rules_hold_only_in_prod() -> None:
    # The boundary of each prod rule: what prod refuses, dev accepts; the smallest prod value passes.
    dev = parse_settings(raw("dev", nodeCapacityType="SPOT", ingressReplicas="1"), "eks-platform", "dev")
    assert (dev.node_group.capacity_type, dev.ingress_replicas) == ("SPOT", 1)
    assert parse_settings(raw("prod", ingressReplicas="2"), "eks-platform", "prod").ingress_replicas == 2


def test_an_unquoted_version_read_as_a_number_gets_a_hint_to_quote_it() -> None:
    # `kubernetesVersion: 1.30` unquoted is the YAML float 1.3; the CLI hands the program the string "1.3".
    with pytest.raises(ConfigError) as error:
        parse_settings(raw("dev", kubernetesVersion="1.3"), "eks-platform", "dev")
    assert str(error.value).endswith('an unquoted 1.30 in YAML is the number 1.3: quote it, "1.30"')


def test_a_version_that_is_no_float_artefact_gets_no_quoting_hint() -> None:
    for version in ("1.20", "latest", "1.3.1"):
        with pytest.raises(ConfigError) as error:
            parse_settings(raw("dev", kubernetesVersion=version), "eks-platform", "dev")
        assert "quote" not in str(error.value)
    assert parse_settings(raw("dev", kubernetesVersion="1.33"), "eks-platform", "dev").kubernetes_version == "1.33"


def test_demo_workloads_switch() -> None:
    assert parse_settings(raw("dev"), "eks-platform", "dev").demo_workloads is True
    assert parse_settings(raw("prod"), "eks-platform", "prod").demo_workloads is False
    assert parse_settings(raw("prod", demoWorkloads="true"), "eks-platform", "prod").demo_workloads is True


# ---------------------------------------------------------------------------------------------------------------
# Keys the program would silently ignore


def refused(values: dict[str, str], secret_keys: tuple[str, ...] = ()) -> str:
    with pytest.raises(ConfigError) as error:
        check_config_keys(values, "eks-platform", secret_keys)
    message = str(error.value)
    assert "\n" not in message
    return message


def test_every_known_key_and_engine_settings_pass() -> None:
    check_config_keys({f"eks-platform:{key}": "x" for key in KEYS} | {"pulumi:tags": "{}"}, "eks-platform")


def test_unknown_key_shows_its_value_and_the_closest_key() -> None:
    assert refused({"eks-platform:nodeMaxSzie": "4"}) == (
        "invalid config eks-platform:nodeMaxSzie = '4': unknown key; did you mean nodeMaxSize?"
    )


def test_unknown_key_without_a_close_match_lists_the_known_keys() -> None:
    assert "unknown key; known keys are environment, region," in refused({"eks-platform:colour": "blue"})


def test_a_secret_value_is_never_shown() -> None:
    message = refused({"eks-platform:passwrd": "hunter2"}, secret_keys=("eks-platform:passwrd",))
    assert "hunter2" not in message and "'[secret]'" in message


def test_a_typo_in_the_namespace_is_refused_with_the_key_meant() -> None:
    message = refused({"eks-platfrom:nodeMinSize": "1"})
    assert message.startswith("invalid config eks-platfrom:nodeMinSize = '1': unknown namespace eks-platfrom")
    assert message.endswith("did you mean eks-platform:nodeMinSize?")


def test_another_namespace_is_refused() -> None:
    assert refused({"kubernetes:context": "kind"}).endswith("expected eks-platform:<key>")


def test_aws_region_is_refused_naming_the_key_to_use() -> None:
    """aws:* stack config reaches only default providers; the program's AWS provider is explicit.

    Source: pulumi/pulumi pkg/resource/deploy/default_providers.go (newRegisterDefaultProviderEvent reads
    `config.GetPackageConfig(package)` for default providers only); explicit providers get the program's arguments.
    """
    message = refused({"aws:region": "us-east-1"})
    assert message.startswith("invalid config aws:region = 'us-east-1': not read")
    assert "set the region with eks-platform:region" in message
