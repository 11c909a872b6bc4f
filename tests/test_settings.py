"""Config validation: the valid stacks parse; every rule rejects its bad value with a message naming the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from offline.plan.build import build_plan
from offline.plan.stack_files import stack_config
from offline.plan.zones import recorded_zones
from settings import KEYS, ConfigError, check_config_keys, check_zones_offered, parse_settings, settings_notes
from tests.conftest import FIXTURE_STACK

ROOT = Path(__file__).resolve().parent.parent


def raw(stack: str = "dev", **overrides: object) -> dict[str, str]:
    values = {key.split(":", 1)[1]: value for key, value in stack_config(ROOT, stack).items() if key.startswith("eks-platform:")}
    for key, value in overrides.items():
        values[key] = value if isinstance(value, str) else json.dumps(value)
    return values


def test_every_key_has_a_default_in_pulumi_yaml() -> None:
    assert set(raw()) == set(KEYS)


def pools(stack: str = "dev", *, system: dict[str, object] | None = None, **others: object) -> str:
    """The stack's nodeGroups with fields of the system pool changed (None removes one) and other pools added."""
    value = json.loads(raw(stack)["nodeGroups"])
    for field, changed in (system or {}).items():
        if changed is None:
            value["system"].pop(field, None)
        else:
            value["system"][field] = changed
    return json.dumps({**value, **others})


SPOT_GRAVITON: dict[str, object] = {"instanceTypes": ["m7g.large"], "capacityType": "SPOT", "maxSize": 4}
TAINT = {"key": "example.com/dedicated", "value": "batch", "effect": "NoSchedule"}


def test_dev_settings() -> None:
    settings = parse_settings(raw("dev"), "eks-platform", "dev")
    assert settings.cluster_name == "eks-platform-dev"
    assert settings.availability_zones == ("eu-central-1a", "eu-central-1b", "eu-central-1c")
    assert settings.nat_strategy == "single"
    assert settings.autoscaler == "cluster-autoscaler"
    (system,) = settings.node_pools
    assert system.name == "system" and system.capacity_type == "SPOT" and not system.karpenter
    assert (system.min_size, system.desired_size, system.max_size) == (1, 2, 3)
    assert settings.workload_pools == ("system",)
    assert not settings.is_production


def test_the_default_pool_keeps_the_seed_shape() -> None:
    """Pulumi.yaml's default nodeGroups: one system pool of 1/2/3 nodes, on demand, 20 GiB."""
    values = raw("dev")
    values["nodeGroups"] = json.dumps(yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]["nodeGroups"]["default"])
    (system,) = parse_settings(values, "eks-platform", "dev").node_pools
    assert (system.min_size, system.desired_size, system.max_size, system.disk_size_gib) == (1, 2, 3, 20)
    assert (system.capacity_type, system.per_zone, system.max_unavailable, system.taints) == ("ON_DEMAND", False, 1, ())


def test_graviton_only_node_groups_are_fine() -> None:
    settings = settings_of("dev", nodeGroups=pools(system={"instanceTypes": ["m7g.large", "c6gn.xlarge", "a1.large"]}))
    assert settings.node_pools[0].instance_types == ("m7g.large", "c6gn.xlarge", "a1.large")
    assert settings.node_pools[0].cpu_architecture == "arm64"
    assert settings_of("dev").node_pools[0].cpu_architecture == "x86_64"


def test_prod_settings() -> None:
    settings = parse_settings(raw("prod"), "eks-platform", "prod")
    assert settings.is_production
    assert settings.deletion_protection
    assert settings.nat_strategy == "per-zone"
    (system,) = settings.node_pools
    assert system.capacity_type == "ON_DEMAND" and system.per_zone


def test_workload_pools_are_the_untainted_pools_besides_system() -> None:
    tainted = {**SPOT_GRAVITON, "minSize": 0, "desiredSize": 0, "taints": [TAINT]}
    general = {"instanceTypes": ["m6i.large"], "minSize": 0, "desiredSize": 1, "maxSize": 3}
    settings = settings_of("dev", nodeGroups=pools(graviton=tainted, general=general))
    assert [pool.name for pool in settings.node_pools] == ["system", "graviton", "general"]
    assert settings.workload_pools == ("general",)
    assert settings_of("dev", nodeGroups=pools(graviton=tainted)).workload_pools == ("system",)


def test_with_karpenter_every_pool_but_system_is_a_karpenter_pool() -> None:
    settings = settings_of(
        "dev", autoscaler="karpenter", nodeGroups=pools(system={"minSize": 2, "desiredSize": 2}, graviton=SPOT_GRAVITON)
    )
    assert [(p.name, p.karpenter) for p in settings.node_pools] == [("system", False), ("graviton", True)]
    graviton = settings.karpenter_pools[0]
    assert (graviton.min_size, graviton.desired_size, graviton.max_size, graviton.cpu_architecture) == (0, 0, 4, "arm64")
    assert [p.name for p in settings.managed_pools] == ["system"]


BAD = [
    # (stack, key, value, words the message must contain)
    ("dev", "autoscaler", "keda", "one of cluster-autoscaler, karpenter"),
    ("dev", "vpcCidr", "10.0.0.1/16", "IPv4 CIDR"),
    ("dev", "vpcCidr", "10.0.0.0/8", "/16 to /24"),
    ("dev", "subnetPrefixLength", "17", "do not fit"),
    ("dev", "subnetPrefixLength", "29", "from 17 to 28"),
    ("dev", "availabilityZones", ["eu-central-1a"], "at least 2"),
    ("dev", "availabilityZones", ["eu-central-1a", "eu-central-1a"], "at least 2 distinct"),
    ("dev", "availabilityZones", ["eu-central-1a", "us-east-1b"], "zones of region eu-central-1"),
    ("dev", "availabilityZones", "eu-central-1a", "list of zone names"),
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
    ("dev", "clusterViewerArns", ["arn:aws:iam::12:role/x"], "IAM role or user ARN"),
    ("dev", "clusterViewerArns", ["arn:aws:iam::123456789012:role/v", "arn:aws:iam::123456789012:role/v"], "listed twice"),
    ("dev", "ingressController", "traefik", "one of f5-nginx, ingress-nginx"),
    ("prod", "ingressReplicas", "1", "prod rule: expected from 2 to 10 in prod"),
    ("dev", "demoWorkloads", "yes", "true or false"),
    ("dev", "clusterAdminArns", ["arn:aws:iam::123456789012:role/a", "arn:aws:iam::123456789012:role/a"], "listed twice"),
    ("dev", "publicAccessCidrs", [f"10.0.{i}.0/24" for i in range(41)], "at most 40"),
    ("dev", "deletionProtection", "sometimes", "true or false"),
    ("dev", "kubernetesSupportType", "LONG", "one of STANDARD, EXTENDED"),
    ("dev", "controlPlaneLogRetentionDays", "10", "retention CloudWatch Logs accepts"),
    ("dev", "controlPlaneLogRetentionDays", "0", "from 1 to 3653"),
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
    fixed = settings_of("prod", nodeGroups=pools("prod", system={"minSize": 3, "desiredSize": 3, "maxSize": 3}))
    assert (fixed.node_pools[0].min_size, fixed.node_pools[0].max_size) == (3, 3)
    zonal = {"instanceTypes": ["m6i.large"], "minSize": 0, "desiredSize": 0, "maxSize": 3, "perZone": True}
    assert settings_of("dev", nodeGroups=pools(batch=zonal)).node_pools[1].per_zone
    assert settings_of("dev", controlPlaneLogRetentionDays="1").control_plane_log_retention_days == 1
    assert settings_of("dev", controlPlaneLogRetentionDays="3653").control_plane_log_retention_days == 3653
    assert settings_of("dev", nodeGroups=pools(system={"maxUnavailable": 100})).node_pools[0].max_unavailable == 100
    assert settings_of("dev", kubernetesSupportType="EXTENDED").support_type == "EXTENDED"
    # An address plan that fits exactly: six /19 subnets need a /16 with room for eight.
    assert settings_of("dev", vpcCidr="10.0.0.0/16", subnetPrefixLength="19").subnet_prefix_length == 19
    assert settings_of("dev", vpcCidr="10.0.0.0/21", subnetPrefixLength="24").subnet_prefix_length == 24


def test_pool_boundaries_that_must_still_be_accepted() -> None:
    labelled = {
        **SPOT_GRAVITON,
        "minSize": 0,
        "desiredSize": 0,
        "cpuArchitecture": "arm64",
        "diskSizeGiB": 16384,
        # A domain that merely contains a reserved word is fine; an empty value is a valid label value.
        "labels": {"example.com/team": "batch", "kubernetes-io.example.com/x": ""},
        "taints": [
            {"key": "example.com/dedicated", "effect": "NoExecute"},
            {"key": "example.com/dedicated", "effect": "NoSchedule"},
        ],
    }
    pool = settings_of("dev", nodeGroups=pools(**{"a" * 20: labelled})).node_pools[1]
    assert pool.name == "a" * 20 and pool.disk_size_gib == 16384
    assert [(t.key, t.value, t.effect) for t in pool.taints] == [
        ("example.com/dedicated", "", "NoExecute"),
        ("example.com/dedicated", "", "NoSchedule"),
    ]
    # Karpenter: a pool of instance types and a node limit only; a system pool of exactly two nodes.
    karpenter = settings_of(
        "dev",
        autoscaler="karpenter",
        nodeGroups=pools(system={"minSize": 2, "desiredSize": 2}, spot={"instanceTypes": ["m7g.large"], "maxSize": 1}),
    )
    assert karpenter.karpenter_pools[0].max_size == 1


WORKLOAD = {**SPOT_GRAVITON, "minSize": 0, "desiredSize": 0}
POOL_BAD = [
    # (stack, changed system pool fields, added pools, key, words the message must contain)
    ("dev", {"minSize": "one"}, {}, "nodeGroups.system.minSize", "whole number"),
    ("dev", {"maxSize": 0}, {}, "nodeGroups.system.maxSize", "from 1 to 450"),
    ("dev", {"maxSize": True}, {}, "nodeGroups.system.maxSize", "whole number"),
    ("dev", {"minSize": 4}, {}, "nodeGroups.system.minSize", "at most maxSize (3)"),
    ("dev", {"desiredSize": 5}, {}, "nodeGroups.system.desiredSize", "from minSize (1) to maxSize (3)"),
    ("dev", {"desiredSize": 2.5}, {}, "nodeGroups.system.desiredSize", "whole number"),
    ("dev", {"maxSize": None}, {}, "nodeGroups.system.maxSize", "required"),
    ("dev", {"minSize": None}, {}, "nodeGroups.system.minSize", "required for a managed node group"),
    ("dev", {"instanceTypes": ["t3medium"]}, {}, "nodeGroups.system.instanceTypes", "EC2 instance type"),
    ("dev", {"instanceTypes": []}, {}, "nodeGroups.system.instanceTypes", "at least one"),
    ("dev", {"instanceTypes": ["t3.medium", "t3.medium"]}, {}, "nodeGroups.system.instanceTypes", "listed twice"),
    ("dev", {"instanceTypes": ["t3.medium", "t4g.medium"]}, {}, "nodeGroups.system.instanceTypes", "one CPU architecture"),
    ("dev", {"cpuArchitecture": "arm64"}, {}, "nodeGroups.system.cpuArchitecture", "expected x86_64"),
    ("dev", {"cpuArchitecture": "amd64"}, {}, "nodeGroups.system.cpuArchitecture", "one of x86_64, arm64"),
    ("dev", {"capacityType": "RESERVED"}, {}, "nodeGroups.system.capacityType", "one of ON_DEMAND, SPOT"),
    ("prod", {"capacityType": "SPOT"}, {}, "nodeGroups.system.capacityType", "prod rule: nodes must be ON_DEMAND"),
    ("dev", {"diskSizeGiB": 8}, {}, "nodeGroups.system.diskSizeGiB", "from 20 to 16384"),
    ("dev", {"perZone": "maybe"}, {}, "nodeGroups.system.perZone", "true or false"),
    ("dev", {"perZone": True, "maxSize": 2, "desiredSize": 1}, {}, "nodeGroups.system.maxSize", "at least 3"),
    ("prod", {"perZone": False}, {}, "nodeGroups.system.perZone", "prod rule"),
    ("prod", {"minSize": 2, "desiredSize": 2}, {}, "nodeGroups.system.minSize", "a node in each of the 3 zones"),
    ("dev", {"maxUnavailable": 0}, {}, "nodeGroups.system.maxUnavailable", "from 1 to 100"),
    ("dev", {"maxsize": 3}, {}, "nodeGroups.system.maxsize", "did you mean maxSize?"),
    ("dev", {"minSize": 0, "desiredSize": 0}, {}, "nodeGroups.system.minSize", "at least 1"),
    ("dev", {"taints": [TAINT]}, {}, "nodeGroups.system.taints", "takes no taints"),
    ("dev", {"labels": {"node.kubernetes.io/role": "x"}}, {}, "nodeGroups.system.labels", "reserved"),
    ("dev", {"labels": {"karpenter.sh/x": "y"}}, {}, "nodeGroups.system.labels", "reserved"),
    ("dev", {"labels": {"eks.amazonaws.com/x": "y"}}, {}, "nodeGroups.system.labels", "reserved"),
    ("dev", {"labels": {"platform.eks/pool": "x"}}, {}, "nodeGroups.system.labels", "set by the platform"),
    ("dev", {"labels": {"bad key": "x"}}, {}, "nodeGroups.system.labels", "label key"),
    ("dev", {"labels": {"team": "a b"}}, {}, "nodeGroups.system.labels", "label value"),
    ("dev", {"labels": ["team"]}, {}, "nodeGroups.system.labels", "map of label keys"),
    (
        "dev",
        {},
        {"batch": {**WORKLOAD, "taints": [{**TAINT, "effect": "NoSchedulee"}]}},
        "nodeGroups.batch.taints",
        "expected effect",
    ),
    ("dev", {}, {"batch": {**WORKLOAD, "taints": [{"effect": "NoSchedule"}]}}, "nodeGroups.batch.taints", "{key, value"),
    ("dev", {}, {"batch": {**WORKLOAD, "taints": [TAINT, TAINT]}}, "nodeGroups.batch.taints", "listed twice"),
    ("dev", {}, {"Batch": WORKLOAD}, "nodeGroups", "pool names"),
    ("dev", {}, {"batch": "m7g.large"}, "nodeGroups.batch", "map of pool fields"),
]


@pytest.mark.parametrize(
    ("stack", "system", "others", "key", "words"), POOL_BAD, ids=[f"{case[3]}={case[1] or case[2]}" for case in POOL_BAD]
)
def test_bad_pool_is_rejected_naming_pool_and_field(
    stack: str, system: dict[str, object], others: dict[str, object], key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as error:
        settings_of(stack, nodeGroups=pools(stack, system=system, **others))
    message = str(error.value)
    assert f"eks-platform:{key} = " in message
    assert words in message
    assert "\n" not in message


KARPENTER_BAD = [
    ({"spot": {**SPOT_GRAVITON, "minSize": 0}}, "nodeGroups.spot.minSize", "takes maxSize only"),
    ({"spot": {**SPOT_GRAVITON, "desiredSize": 1}}, "nodeGroups.spot.desiredSize", "takes maxSize only"),
    ({"spot": {**SPOT_GRAVITON, "perZone": True}}, "nodeGroups.spot.perZone", "Karpenter chooses the zone"),
    (
        {"system": {"instanceTypes": ["m6i.large"], "minSize": 1, "desiredSize": 1, "maxSize": 3}},
        "nodeGroups.system.minSize",
        "2 replicas",
    ),
]


@pytest.mark.parametrize(("node_groups", "key", "words"), KARPENTER_BAD, ids=[case[1] for case in KARPENTER_BAD])
def test_bad_karpenter_pool_is_rejected(node_groups: dict[str, object], key: str, words: str) -> None:
    base = {"system": {"instanceTypes": ["m6i.large"], "minSize": 2, "desiredSize": 2, "maxSize": 3}}
    with pytest.raises(ConfigError) as error:
        settings_of("dev", autoscaler="karpenter", nodeGroups=json.dumps({**base, **node_groups}))
    assert f"eks-platform:{key} = " in str(error.value) and words in str(error.value)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("[]", "map of pool name"),
        ("{}", "map of pool name"),
        ('{"general": {"instanceTypes": ["t3.medium"], "maxSize": 1}}', "pool named system"),
    ],
)
def test_bad_node_groups_value_is_rejected(value: str, words: str) -> None:
    with pytest.raises(ConfigError, match=f"eks-platform:nodeGroups = .*{words}"):
        settings_of("dev", nodeGroups=value)


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
    dev = parse_settings(raw("dev", ingressReplicas="1"), "eks-platform", "dev")
    assert (dev.node_pools[0].capacity_type, dev.ingress_replicas) == ("SPOT", 1)
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
    assert refused({"eks-platform:ingresReplicas": "4"}) == (
        "invalid config eks-platform:ingresReplicas = '4': unknown key; did you mean ingressReplicas?"
    )


def test_a_flat_node_key_of_earlier_versions_points_to_its_pool_field() -> None:
    assert refused({"eks-platform:nodeMaxSize": "4"}) == (
        "invalid config eks-platform:nodeMaxSize = '4': no longer read: node settings are per pool now, "
        "set nodeGroups.<pool>.maxSize instead"
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


def test_an_unknown_pool_field_shows_its_value_and_only_the_closest_field() -> None:
    pools = json.loads(raw("dev")["nodeGroups"])
    pools["system"]["maxsize"] = 3
    with pytest.raises(ConfigError) as error:
        parse_settings(raw("dev", nodeGroups=pools), "eks-platform", "dev")
    assert (
        str(error.value) == "invalid config eks-platform:nodeGroups.system.maxsize = 3: unknown pool field; did you mean maxSize?"
    )


def fixture_values(project: Path, **overrides: object) -> dict[str, str]:
    """The test-owned fixture stack's raw values (tests/conftest.py), with overrides."""
    values = {k.split(":", 1)[1]: v for k, v in stack_config(project, FIXTURE_STACK).items() if k.startswith("eks-platform:")}
    return {**values, **{key: value if isinstance(value, str) else json.dumps(value) for key, value in overrides.items()}}


SYSTEM_POOL_SIZES = {"minSize": 1, "desiredSize": 2, "maxSize": 3}
# A pool prod's rules accept (ON_DEMAND, a node per zone).
PROD_POOLS = {"system": {"instanceTypes": ["m6i.large"], "minSize": 3, "desiredSize": 3, "maxSize": 6, "perZone": True}}


@pytest.mark.parametrize(
    ("kinds", "refused"),
    [
        # No m9z family exists: the closest real type is suggested.
        (["m9z.large"], "not an EC2 instance type (botocore "),
        (["t3.medium", "t3.mediun"], "did you mean t3.medium?"),
        # Near misses that must pass: current Graviton, a large memory type, two real types.
        (["m7g.large"], None),
        (["x2iedn.32xlarge"], None),
        (["c7i.4xlarge", "c6i.4xlarge"], None),
    ],
)
def test_instance_types_are_those_the_ec2_api_names(fixture_project: Path, kinds: list[str], refused: str | None) -> None:
    """botocore's EC2 service model (the InstanceType enum the AWS API validates against), pinned with botocore."""
    values = fixture_values(fixture_project, nodeGroups={"system": {"instanceTypes": kinds, **SYSTEM_POOL_SIZES}})
    if refused is None:
        (system,) = parse_settings(values, "eks-platform", FIXTURE_STACK).node_pools
        assert system.instance_types == tuple(kinds)
        return
    with pytest.raises(ConfigError) as error:
        parse_settings(values, "eks-platform", FIXTURE_STACK)
    assert error.value.key == "nodeGroups.system.instanceTypes" and refused in str(error.value)


@pytest.mark.parametrize(
    ("region", "refused"),
    [
        # A typo is named as a region, with the region meant, not blamed on each of its zones.
        ("eu-centrall-1", "did you mean eu-central-1?"),
        ("eu-central-9", "not an AWS region of the commercial, China or GovCloud partitions"),
        ("ap-east-2", None),
        ("cn-northwest-1", None),
        ("us-gov-east-1", None),
    ],
)
def test_the_region_is_one_aws_has(fixture_project: Path, region: str, refused: str | None) -> None:
    """botocore's endpoints data lists each partition's regions."""
    values = fixture_values(fixture_project, region=region, availabilityZones=[f"{region}a", f"{region}b"], clusterAdminArns=[])
    if refused is None:
        assert parse_settings(values, "eks-platform", FIXTURE_STACK).region == region
        return
    with pytest.raises(ConfigError) as error:
        parse_settings(values, "eks-platform", FIXTURE_STACK)
    assert error.value.key == "region" and refused in str(error.value)


@pytest.mark.parametrize(
    ("zones", "refused"), [(["us-west-2a", "us-west-2d"], None), (["us-west-2a", "us-west-2e"], "us-west-2e")]
)
def test_zones_must_be_ones_aws_offers_in_the_region(fixture_project: Path, zones: list[str], refused: str | None) -> None:
    """A zone name of the right form may not exist (eu-central-1d): the program asks AWS (getAvailabilityZones)
    before building anything and refuses one it does not offer, naming the zones it does. Catches: a made-up zone
    reaching the subnets, where CreateSubnet fails halfway through `up`."""
    values = fixture_values(fixture_project, region="us-west-2", availabilityZones=zones)
    settings = parse_settings(values, "eks-platform", FIXTURE_STACK)
    offered = ["us-west-2a", "us-west-2b", "us-west-2c", "us-west-2d"]  # as AWS answers for us-west-2
    if refused is None:
        check_zones_offered(settings, offered)
        return
    with pytest.raises(ConfigError) as error:
        check_zones_offered(settings, offered)
    assert str(error.value) == (
        f"invalid config eks-platform:availabilityZones = '{refused}': not a zone of us-west-2; its zones: {', '.join(offered)}"
    )
    # No answer (the offline engine) refuses nothing: offline.plan.zones says what it can instead.
    check_zones_offered(settings, [])


@pytest.mark.parametrize(
    ("region", "zones", "note"),
    [
        ("us-west-2", ["us-west-2a", "us-west-2d"], None),
        ("us-west-2", ["us-west-2a", "us-west-2e"], "warning: availabilityZones: us-west-2e is not among the zones moto"),
        ("eu-central-1", ["eu-central-1a", "eu-central-1d"], "info: availabilityZones not checked offline"),
    ],
)
def test_the_offline_preview_checks_zones_against_motos_table_and_says_what_it_cannot(
    fixture_project: Path, region: str, zones: list[str], note: str | None
) -> None:
    """Offline, the zones moto records (moto/ec2/models/availability_zones_and_regions.py) stand in for AWS's
    answer, as a warning (the table may lag AWS, and a refusal would be a false alarm). moto fills regions it has
    no table for with a, b and c by rule; that is no record of AWS, so for those (eu-central-1 among them) the
    preview says the zones are unchecked. Catches: the rule taken for data, or a made-up zone passing silently."""
    config = {"eks-platform:region": region, "eks-platform:availabilityZones": json.dumps(zones)}
    diagnostics = build_plan(FIXTURE_STACK, fixture_project, overrides=config).diagnostics
    about_zones = [line for line in diagnostics if "availabilityZones" in line]
    assert (about_zones[0].startswith(note) and len(about_zones) == 1) if note else about_zones == []
    assert "eu-central-1" not in recorded_zones() and recorded_zones()["us-east-1"][-1] == "us-east-1f"


@pytest.mark.parametrize(
    ("creator", "refused"),
    [("", None), ("arn:aws:iam::123456789012:user/alice", None), ("alice", "IAM role or user ARN of partition aws")],
)
def test_the_cluster_creator_is_an_iam_principal_or_empty(fixture_project: Path, creator: str, refused: str | None) -> None:
    values = fixture_values(fixture_project, clusterCreatorArn=creator)
    if refused is None:
        assert parse_settings(values, "eks-platform", FIXTURE_STACK).cluster_creator_arn == creator
        return
    with pytest.raises(ConfigError) as error:
        parse_settings(values, "eks-platform", FIXTURE_STACK)
    assert error.value.key == "clusterCreatorArn" and refused in str(error.value)


@pytest.mark.parametrize(
    ("zones", "prefix", "refused"),
    [
        (["eu-central-1a", "eu-central-1c"], 19, None),  # slots a, b, c: 6 blocks; a /16 holds 8 of /19
        # A /16 holds 4 of /18: enough for two zones in zone order, not for the slots up to c.
        (["eu-central-1a", "eu-central-1c"], 18, "6 subnets (a public and a private slot for every zone letter"),
    ],
)
def test_zone_slots_reserve_room_up_to_the_last_zones_letter(
    fixture_project: Path, zones: list[str], prefix: int, refused: str | None
) -> None:
    """Zones a and c under zone-slots take the room of a, b and c (c's blocks are 4 and 5). Catches: the room counted
    by the number of zones, so c's blocks fall outside the VPC and `up` fails at CreateSubnet."""
    values = fixture_values(
        fixture_project, subnetLayout="zone-slots", availabilityZones=zones, vpcCidr="10.0.0.0/16", subnetPrefixLength=str(prefix)
    )
    if refused is None:
        assert parse_settings(values, "eks-platform", FIXTURE_STACK).subnet_layout == "zone-slots"
        return
    with pytest.raises(ConfigError) as error:
        parse_settings(values, "eks-platform", FIXTURE_STACK)
    assert error.value.key == "subnetPrefixLength" and refused in str(error.value)


@pytest.mark.parametrize(
    ("stack", "overrides", "warned"),
    [
        ("fixture", {}, None),
        ("staging", {}, "stack 'staging' runs as environment 'dev'"),  # copied from dev, environment left behind
        ("staging", {"environment": "staging"}, None),
        ("team-prod-eu", {"environment": "prod", "nodeGroups": PROD_POOLS}, None),
        (
            "fixture",
            {
                "autoscaler": "karpenter",
                "nodeGroups": {"system": {"instanceTypes": ["m6i.large"], "minSize": 2, "desiredSize": 2, "maxSize": 3}},
            },
            "no NodePool",
        ),
    ],
)
def test_likely_mistakes_are_warned_not_refused(
    fixture_project: Path, stack: str, overrides: dict[str, object], warned: str | None
) -> None:
    """A stack named for one environment running as another gets that other's policy levels silently; Karpenter with no
    pool of its own manages nothing. Both are valid, so a warning at preview, not a refusal. Catches: either
    passing unsaid, or a warning on the stacks that mean it."""
    notes = settings_notes(parse_settings(fixture_values(fixture_project, **overrides), "eks-platform", stack))
    assert notes == [] if warned is None else len(notes) == 1 and warned in notes[0]


def test_a_principal_is_an_admin_or_a_viewer_not_both() -> None:
    """EKS keeps one access entry per principal: the same ARN in both lists would declare two entries for it and
    `up` would fail at the second. Near miss: different principals in the two lists are fine."""
    role = "arn:aws:iam::123456789012:role/ops"
    with pytest.raises(ConfigError) as caught:
        settings_of("dev", clusterAdminArns=[role], clusterViewerArns=[role])
    assert str(caught.value).startswith(f"invalid config eks-platform:clusterViewerArns = '{role}': expected an ARN not in")
    viewer = "arn:aws:iam::123456789012:role/ci-preview"
    settings = settings_of("dev", clusterAdminArns=[role], clusterViewerArns=[viewer])
    assert (settings.cluster_admin_arns, settings.cluster_viewer_arns) == ((role,), (viewer,))
