"""Typed, validated stack settings: the only place that reads Pulumi config.

`Pulumi.yaml` holds every key's type, default and description; the CLI (or the
offline preview) applies those defaults and the stack file, so this module sees
a complete set of raw string values. It turns them into immutable settings or
stops with one `ConfigError` line naming the key, the value and what is allowed.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TypeVar

import pulumi
from pulumi.runtime import config as runtime_config

from components.versions import CLUSTER_AUTOSCALER

PROJECT = "eks-platform"

ENVIRONMENTS = ("dev", "staging", "prod")
NAT_STRATEGIES = ("single", "per-zone")
CAPACITY_TYPES = ("ON_DEMAND", "SPOT")
INGRESS_CONTROLLERS = ("f5-nginx", "ingress-nginx")
# Kubernetes minors this program has pinned a matching cluster autoscaler for.
SUPPORTED_KUBERNETES_VERSIONS = tuple(sorted(CLUSTER_AUTOSCALER))

_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.(nano|micro|small|medium|large|metal|[0-9]*xlarge|metal-[0-9]+xl)$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$")
_PRINCIPAL_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:(role|user)/[\w+=,.@/-]+$")
# Graviton families carry a "g" right after the generation digit: m7g, c6gn, t4g, r8gd.
_GRAVITON = re.compile(r"^[a-z]+[0-9]+g[a-z]*\.")
MAX_PUBLIC_ACCESS_CIDRS = 40


class ConfigError(pulumi.RunError):
    """A user mistake in stack config: reported as one line, without a traceback."""

    def __init__(self, key: str, value: object, allowed: str, namespace: str = PROJECT) -> None:
        self.key = key
        super().__init__(f"invalid config {namespace}:{key} = {value!r}: {allowed}")


@dataclass(frozen=True)
class NodeGroupSettings:
    instance_types: tuple[str, ...]
    capacity_type: str
    min_size: int
    desired_size: int
    max_size: int
    disk_size_gib: int


@dataclass(frozen=True)
class Settings:
    project: str
    stack: str
    environment: str
    region: str
    availability_zones: tuple[str, ...]
    vpc_cidr: str
    subnet_prefix_length: int
    nat_strategy: str
    kubernetes_version: str
    endpoint_public_access: bool
    public_access_cidrs: tuple[str, ...]
    cluster_admin_arns: tuple[str, ...]
    deletion_protection: bool
    node_group: NodeGroupSettings
    ingress_controller: str
    ingress_replicas: int
    demo_workloads: bool

    @property
    def is_production(self) -> bool:
        return self.environment == "prod"

    @property
    def cluster_name(self) -> str:
        # Known before the cluster exists: subnets must carry kubernetes.io/cluster/<name> tags.
        return f"{self.project}-{self.stack}"


# Every key the program reads; `Pulumi.yaml` documents each with type, default and description.
KEYS = (
    "environment",
    "region",
    "availabilityZones",
    "vpcCidr",
    "subnetPrefixLength",
    "natStrategy",
    "kubernetesVersion",
    "endpointPublicAccess",
    "publicAccessCidrs",
    "clusterAdminArns",
    "deletionProtection",
    "nodeInstanceTypes",
    "nodeCapacityType",
    "nodeMinSize",
    "nodeDesiredSize",
    "nodeMaxSize",
    "nodeDiskSizeGiB",
    "ingressController",
    "ingressReplicas",
    "demoWorkloads",
)

T = TypeVar("T")


def _parse_int(key: str, raw: str, low: int, high: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(key, raw, f"expected a whole number from {low} to {high}") from None
    if not low <= value <= high:
        raise ConfigError(key, value, f"expected a whole number from {low} to {high}")
    return value


def _parse_bool(key: str, raw: str) -> bool:
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise ConfigError(key, raw, "expected true or false")


def _parse_choice(key: str, raw: str, allowed: tuple[str, ...]) -> str:
    if raw not in allowed:
        raise ConfigError(key, raw, f"expected one of {', '.join(allowed)}")
    return raw


def _parse_list(key: str, raw: str, item: Callable[[str], T], what: str) -> tuple[T, ...]:
    try:
        values = json.loads(raw)
    except json.JSONDecodeError:
        values = None
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ConfigError(key, raw, f"expected a list of {what}")
    return tuple(item(v) for v in values)


def _reject_duplicates(key: str, values: tuple[str, ...]) -> None:
    repeated = sorted({value for value in values if values.count(value) > 1})
    if repeated:
        raise ConfigError(key, repeated[0], "listed twice; expected each value once")


def _cidr(key: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        try:
            return str(ipaddress.IPv4Network(raw, strict=True))
        except ValueError:
            raise ConfigError(key, raw, "expected an IPv4 CIDR block such as 203.0.113.0/24 (host bits zero)") from None

    return parse


def _matching(key: str, pattern: re.Pattern[str], what: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if not pattern.match(raw):
            raise ConfigError(key, raw, f"expected {what}")
        return raw

    return parse


def parse_settings(raw: Mapping[str, str], project: str, stack: str) -> Settings:
    """Validate raw config values (keys without the project prefix) into `Settings`."""
    missing = [key for key in KEYS if key not in raw]
    if missing:
        raise ConfigError(missing[0], None, "required; set it in Pulumi.<stack>.yaml or give it a default in Pulumi.yaml")

    environment = _parse_choice("environment", raw["environment"], ENVIRONMENTS)
    region = _matching("region", _REGION, "an AWS region name such as eu-central-1")(raw["region"])

    zones = _parse_list("availabilityZones", raw["availabilityZones"], str, "zone names")
    if len(zones) < 2 or len(set(zones)) != len(zones):
        raise ConfigError("availabilityZones", list(zones), "expected at least 2 distinct zones: EKS needs subnets in two zones")
    for zone in zones:
        if not re.fullmatch(re.escape(region) + r"[a-z]", zone):
            raise ConfigError("availabilityZones", zone, f"expected zones of region {region}, such as {region}a")

    vpc_cidr = _cidr("vpcCidr")(raw["vpcCidr"])
    vpc = ipaddress.IPv4Network(vpc_cidr)
    if not 16 <= vpc.prefixlen <= 24:
        raise ConfigError("vpcCidr", vpc_cidr, "expected a prefix length from /16 to /24 (the sizes AWS allows for a VPC)")
    subnet_prefix = _parse_int("subnetPrefixLength", raw["subnetPrefixLength"], vpc.prefixlen + 1, 28)
    subnet_count = 2 * len(zones)
    if subnet_count > 2 ** (subnet_prefix - vpc.prefixlen):
        raise ConfigError(
            "subnetPrefixLength",
            subnet_prefix,
            f"{subnet_count} subnets (one public and one private per zone) of /{subnet_prefix} do not fit in {vpc_cidr}; "
            f"use at most /{vpc.prefixlen + (subnet_count - 1).bit_length()} or fewer zones",
        )

    kubernetes_version = raw["kubernetesVersion"]
    if not re.fullmatch(r"1\.[0-9]{2}", kubernetes_version):
        raise ConfigError("kubernetesVersion", kubernetes_version, _kubernetes_version_hint(kubernetes_version))
    _parse_choice("kubernetesVersion", kubernetes_version, SUPPORTED_KUBERNETES_VERSIONS)

    endpoint_public_access = _parse_bool("endpointPublicAccess", raw["endpointPublicAccess"])
    public_access_cidrs = _parse_list("publicAccessCidrs", raw["publicAccessCidrs"], _cidr("publicAccessCidrs"), "CIDR blocks")
    if endpoint_public_access and not public_access_cidrs:
        raise ConfigError("publicAccessCidrs", [], "expected at least one CIDR block while endpointPublicAccess is true")
    if len(public_access_cidrs) > MAX_PUBLIC_ACCESS_CIDRS:
        raise ConfigError(
            "publicAccessCidrs", f"{len(public_access_cidrs)} blocks", f"EKS allows at most {MAX_PUBLIC_ACCESS_CIDRS}"
        )
    admin_arns = _parse_list(
        "clusterAdminArns",
        raw["clusterAdminArns"],
        _matching(
            "clusterAdminArns", _PRINCIPAL_ARN, "an IAM role or user ARN such as arn:aws:iam::123456789012:role/platform-admin"
        ),
        "IAM role or user ARNs",
    )
    _reject_duplicates("clusterAdminArns", admin_arns)
    deletion_protection = _parse_bool("deletionProtection", raw["deletionProtection"])

    instance_types = _parse_list(
        "nodeInstanceTypes",
        raw["nodeInstanceTypes"],
        _matching("nodeInstanceTypes", _INSTANCE_TYPE, "an EC2 instance type such as t3.medium or m7i.large"),
        "EC2 instance types",
    )
    if not instance_types:
        raise ConfigError("nodeInstanceTypes", [], "expected at least one EC2 instance type")
    _reject_duplicates("nodeInstanceTypes", instance_types)
    if len({_GRAVITON.match(kind) is not None for kind in instance_types}) > 1:
        raise ConfigError(
            "nodeInstanceTypes", list(instance_types), "expected one CPU architecture: all Graviton (arm64, e.g. m7g) or none"
        )
    capacity_type = _parse_choice("nodeCapacityType", raw["nodeCapacityType"], CAPACITY_TYPES)
    if capacity_type == "SPOT" and environment == "prod":
        raise ConfigError("nodeCapacityType", capacity_type, "prod rule: nodes must be ON_DEMAND; SPOT is for dev and staging")
    max_size = _parse_int("nodeMaxSize", raw["nodeMaxSize"], 1, 450)
    min_size = _parse_int("nodeMinSize", raw["nodeMinSize"], 0, 450)
    desired_size = _parse_int("nodeDesiredSize", raw["nodeDesiredSize"], 0, 450)
    if min_size > max_size:
        raise ConfigError("nodeMinSize", min_size, f"expected at most nodeMaxSize ({max_size})")
    if not min_size <= desired_size <= max_size:
        raise ConfigError("nodeDesiredSize", desired_size, f"expected from nodeMinSize ({min_size}) to nodeMaxSize ({max_size})")
    disk_size = _parse_int("nodeDiskSizeGiB", raw["nodeDiskSizeGiB"], 20, 16384)

    ingress_controller = _parse_choice("ingressController", raw["ingressController"], INGRESS_CONTROLLERS)
    ingress_replicas = _parse_int("ingressReplicas", raw["ingressReplicas"], 1, 10)
    if ingress_replicas < 2 and environment == "prod":
        raise ConfigError(
            "ingressReplicas",
            ingress_replicas,
            "prod rule: expected from 2 to 10 in prod, so that losing one node or zone does not cut all traffic",
        )

    return Settings(
        project=project,
        stack=stack,
        environment=environment,
        region=region,
        availability_zones=zones,
        vpc_cidr=vpc_cidr,
        subnet_prefix_length=subnet_prefix,
        nat_strategy=_parse_choice("natStrategy", raw["natStrategy"], NAT_STRATEGIES),
        kubernetes_version=kubernetes_version,
        endpoint_public_access=endpoint_public_access,
        public_access_cidrs=public_access_cidrs,
        cluster_admin_arns=admin_arns,
        deletion_protection=deletion_protection,
        node_group=NodeGroupSettings(
            instance_types=instance_types,
            capacity_type=capacity_type,
            min_size=min_size,
            desired_size=desired_size,
            max_size=max_size,
            disk_size_gib=disk_size,
        ),
        ingress_controller=ingress_controller,
        ingress_replicas=ingress_replicas,
        demo_workloads=_parse_bool("demoWorkloads", raw["demoWorkloads"]),
    )


def load_settings() -> Settings:
    """Read this stack's config once, rejecting keys the program does not know (usually typos)."""
    project, stack = pulumi.get_project(), pulumi.get_stack()
    present = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    secret_keys = {key for key in present if runtime_config.is_config_secret(key)} | set(
        runtime_config.get_config_secret_keys_env()
    )
    check_config_keys({key: str(runtime_config.get_config(key)) for key in present}, project, secret_keys)
    config = pulumi.Config()
    raw = {key: value for key in KEYS if (value := config.get(key)) is not None}
    return parse_settings(raw, project, stack)


def _kubernetes_version_hint(value: str) -> str:
    allowed = "expected a version of the form 1.NN, such as 1.35"
    if re.fullmatch(r"1\.[0-9]", value):
        # YAML reads an unquoted 1.30 as the number 1.3; the CLI passes that on as "1.3".
        return f'{allowed}; an unquoted {value}0 in YAML is the number {value}: quote it, "{value}0"'
    return allowed


# Besides the project's own keys, a stack file may hold the engine's settings (pulumi:tags, ...).
_ENGINE_NAMESPACE = "pulumi"


def _did_you_mean(word: str, choices: Collection[str]) -> str | None:
    matches = difflib.get_close_matches(word, list(choices), n=1)
    return matches[0] if matches else None


def check_config_keys(values: Mapping[str, str], project: str, secret_keys: Collection[str] = ()) -> None:
    """Refuse config the program would silently ignore: unknown keys (typos), other namespaces, aws:* settings.

    `values` maps full keys (`namespace:key`) to raw values; a secret's value is never shown.
    """
    for full_key in sorted(values):
        namespace, _, key = full_key.partition(":")
        shown = "[secret]" if full_key in secret_keys else values[full_key]
        if namespace == project:
            if key not in KEYS:
                match = _did_you_mean(key, KEYS)
                hint = f"did you mean {match}?" if match else f"known keys are {', '.join(KEYS)}"
                raise ConfigError(key, shown, f"unknown key; {hint}", namespace)
        elif namespace == "aws":
            # Explicit providers never read the aws:* stack config; only a default provider would.
            raise ConfigError(
                key,
                shown,
                f"not read: the AWS provider is explicit; set the region with {project}:region, "
                "credentials with AWS_PROFILE or the AWS_* environment variables",
                namespace,
            )
        elif namespace not in (_ENGINE_NAMESPACE, ""):
            suggestion = f"{project}:{_did_you_mean(key, KEYS) or key}"
            hint = f"did you mean {suggestion}?" if _did_you_mean(namespace, [project]) else f"expected {project}:<key>"
            raise ConfigError(
                key, shown, f"unknown namespace {namespace}; this program reads {project}:* keys; {hint}", namespace
            )
