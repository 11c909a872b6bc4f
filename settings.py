"""Typed, validated stack settings: the only place that reads Pulumi config.

`Pulumi.yaml` holds every key's type, default and description; the CLI (or the
offline preview) applies those defaults and the stack file, so this module sees
a complete set of raw string values. It turns them into immutable settings or
stops with one `ConfigError` line naming the key, the value and what is allowed.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import pulumi
from pulumi.runtime import config as runtime_config

from components.versions import KUBERNETES_RELEASES

PROJECT = "eks-platform"

ENVIRONMENTS = ("dev", "staging", "prod")
NAT_STRATEGIES = ("single", "per-zone")
CAPACITY_TYPES = ("ON_DEMAND", "SPOT")
INGRESS_CONTROLLERS = ("f5-nginx", "ingress-nginx")
# EKS upgradePolicy.supportType: EXTENDED keeps a minor running past standard support at a higher hourly price.
SUPPORT_TYPES = ("STANDARD", "EXTENDED")
# The retention periods CloudWatch Logs accepts (PutRetentionPolicy), in days.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
# Region prefix to ARN partition. Other partitions (the ISO regions) are refused: nothing here is tested there.
PARTITIONS = (("cn-", "aws-cn"), ("us-gov-", "aws-us-gov"))
# Kubernetes minors this program has pinned add-ons and a matching cluster autoscaler for.
SUPPORTED_KUBERNETES_VERSIONS = tuple(sorted(KUBERNETES_RELEASES))

_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.(nano|micro|small|medium|large|metal|[0-9]*xlarge|metal-[0-9]+xl)$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$")
_PRINCIPAL_ARN = r"^arn:{partition}:iam::[0-9]{{12}}:(role|user)/[\w+=,.@/-]+$"
# Graviton families carry a "g" right after the generation digit: m7g, c6gn, t4g, r8gd.
_GRAVITON = re.compile(r"^[a-z]+[0-9]+g[a-z]*\.")
MAX_PUBLIC_ACCESS_CIDRS = 40


class ConfigError(pulumi.RunError):
    """A user mistake in stack config: reported as one line, without a traceback."""

    def __init__(self, key: str, value: object, allowed: str) -> None:
        self.key = key
        super().__init__(f"invalid config {PROJECT}:{key} = {value!r}: {allowed}")


@dataclass(frozen=True)
class NodeGroupSettings:
    instance_types: tuple[str, ...]
    cpu_architecture: str  # x86_64 or arm64 (Graviton)
    capacity_type: str
    min_size: int
    desired_size: int
    max_size: int
    disk_size_gib: int
    # One managed node group per zone, so the cluster autoscaler can grow the zone a pending pod needs.
    per_zone: bool
    # Nodes a rolling update (new AMI, new Kubernetes version, new launch template) may take down at once.
    max_unavailable: int


@dataclass(frozen=True)
class CostAssumptions:
    """Usage the plan cannot show, for the offline cost estimate (offline/cost.py); the program ignores them."""

    nat_data_gb_per_month: int
    log_ingest_gb_per_month: int
    nlb_capacity_units: int
    spot_discount_percent: int


@dataclass(frozen=True)
class Settings:
    project: str
    stack: str
    environment: str
    region: str
    partition: str
    availability_zones: tuple[str, ...]
    vpc_cidr: str
    subnet_prefix_length: int
    nat_strategy: str
    kubernetes_version: str
    support_type: str
    control_plane_log_retention_days: int
    endpoint_public_access: bool
    public_access_cidrs: tuple[str, ...]
    cluster_admin_arns: tuple[str, ...]
    deletion_protection: bool
    node_group: NodeGroupSettings
    ingress_controller: str
    ingress_replicas: int
    cost: CostAssumptions

    @property
    def is_production(self) -> bool:
        return self.environment == "prod"

    @property
    def cluster_name(self) -> str:
        # Known before the cluster exists: subnets must carry kubernetes.io/cluster/<name> tags.
        return f"{self.project}-{self.stack}"


# Read only by the offline cost estimate, validated here like every other key.
COST_KEYS = ("costNatDataGBPerMonth", "costLogIngestGBPerMonth", "costNlbCapacityUnits", "costSpotDiscountPercent")

# Every key the program reads; `Pulumi.yaml` documents each with type, default and description.
KEYS = (
    "environment",
    "region",
    "availabilityZones",
    "vpcCidr",
    "subnetPrefixLength",
    "natStrategy",
    "kubernetesVersion",
    "kubernetesSupportType",
    "controlPlaneLogRetentionDays",
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
    "nodeGroupPerZone",
    "nodeMaxUnavailable",
    "ingressController",
    "ingressReplicas",
    *COST_KEYS,
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


def partition_of(region: str) -> str:
    """The ARN partition of a region: aws, aws-cn or aws-us-gov."""
    return next((partition for prefix, partition in PARTITIONS if region.startswith(prefix)), "aws")


def parse_cost_assumptions(raw: Mapping[str, str]) -> CostAssumptions:
    missing = [key for key in COST_KEYS if key not in raw]
    if missing:
        raise ConfigError(missing[0], None, "required; set it in Pulumi.<stack>.yaml or give it a default in Pulumi.yaml")
    return CostAssumptions(
        nat_data_gb_per_month=_parse_int("costNatDataGBPerMonth", raw["costNatDataGBPerMonth"], 0, 10_000_000),
        log_ingest_gb_per_month=_parse_int("costLogIngestGBPerMonth", raw["costLogIngestGBPerMonth"], 0, 1_000_000),
        nlb_capacity_units=_parse_int("costNlbCapacityUnits", raw["costNlbCapacityUnits"], 0, 100_000),
        # AWS advertises Spot at "up to 90%" off On-Demand (https://aws.amazon.com/ec2/spot/pricing/).
        spot_discount_percent=_parse_int("costSpotDiscountPercent", raw["costSpotDiscountPercent"], 0, 90),
    )


def parse_settings(raw: Mapping[str, str], project: str, stack: str) -> Settings:
    """Validate raw config values (keys without the project prefix) into `Settings`."""
    missing = [key for key in KEYS if key not in raw]
    if missing:
        raise ConfigError(missing[0], None, "required; set it in Pulumi.<stack>.yaml or give it a default in Pulumi.yaml")

    environment = _parse_choice("environment", raw["environment"], ENVIRONMENTS)
    region = _matching(
        "region", _REGION, "an AWS region name such as eu-central-1 (commercial, China or GovCloud; not ISO regions)"
    )(raw["region"])
    partition = partition_of(region)

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
        raise ConfigError("kubernetesVersion", kubernetes_version, "expected a version of the form 1.NN, such as 1.35")
    _parse_choice("kubernetesVersion", kubernetes_version, SUPPORTED_KUBERNETES_VERSIONS)
    log_retention = _parse_int("controlPlaneLogRetentionDays", raw["controlPlaneLogRetentionDays"], 1, 3653)
    if log_retention not in LOG_RETENTION_DAYS:
        raise ConfigError(
            "controlPlaneLogRetentionDays",
            log_retention,
            f"expected a retention CloudWatch Logs accepts: {', '.join(map(str, LOG_RETENTION_DAYS))}",
        )

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
            "clusterAdminArns",
            re.compile(_PRINCIPAL_ARN.format(partition=re.escape(partition))),
            f"an IAM role or user ARN of partition {partition} (region {region}) such as "
            f"arn:{partition}:iam::123456789012:role/platform-admin",
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
        raise ConfigError("nodeCapacityType", capacity_type, "prod nodes must be ON_DEMAND; SPOT is for dev and staging")
    max_size = _parse_int("nodeMaxSize", raw["nodeMaxSize"], 1, 450)
    min_size = _parse_int("nodeMinSize", raw["nodeMinSize"], 0, 450)
    desired_size = _parse_int("nodeDesiredSize", raw["nodeDesiredSize"], 0, 450)
    if min_size > max_size:
        raise ConfigError("nodeMinSize", min_size, f"expected at most nodeMaxSize ({max_size})")
    if not min_size <= desired_size <= max_size:
        raise ConfigError("nodeDesiredSize", desired_size, f"expected from nodeMinSize ({min_size}) to nodeMaxSize ({max_size})")
    disk_size = _parse_int("nodeDiskSizeGiB", raw["nodeDiskSizeGiB"], 20, 16384)
    per_zone = _parse_bool("nodeGroupPerZone", raw["nodeGroupPerZone"])
    if per_zone and max_size < len(zones):
        raise ConfigError(
            "nodeMaxSize",
            max_size,
            f"with nodeGroupPerZone each of the {len(zones)} zones gets its own node group, which needs at least one node "
            f"at most; expected at least {len(zones)}",
        )
    if environment == "prod" and not per_zone:
        raise ConfigError(
            "nodeGroupPerZone",
            per_zone,
            "prod rule: prod spreads the ingress controller over zones (DoNotSchedule), and the cluster autoscaler can "
            "add a node in the zone a pending pod needs only with one node group per zone; expected true",
        )
    # EKS: maxUnavailable is 1 to 100 (UpdateNodegroupConfig); more than the group's maximum means all at once.
    max_unavailable = _parse_int("nodeMaxUnavailable", raw["nodeMaxUnavailable"], 1, 100)

    ingress_controller = _parse_choice("ingressController", raw["ingressController"], INGRESS_CONTROLLERS)
    min_replicas = 2 if environment == "prod" else 1
    ingress_replicas = _parse_int("ingressReplicas", raw["ingressReplicas"], min_replicas, 10)

    return Settings(
        project=project,
        stack=stack,
        environment=environment,
        region=region,
        partition=partition,
        availability_zones=zones,
        vpc_cidr=vpc_cidr,
        subnet_prefix_length=subnet_prefix,
        nat_strategy=_parse_choice("natStrategy", raw["natStrategy"], NAT_STRATEGIES),
        kubernetes_version=kubernetes_version,
        support_type=_parse_choice("kubernetesSupportType", raw["kubernetesSupportType"], SUPPORT_TYPES),
        control_plane_log_retention_days=log_retention,
        endpoint_public_access=endpoint_public_access,
        public_access_cidrs=public_access_cidrs,
        cluster_admin_arns=admin_arns,
        deletion_protection=deletion_protection,
        node_group=NodeGroupSettings(
            instance_types=instance_types,
            cpu_architecture="arm64" if _GRAVITON.match(instance_types[0]) else "x86_64",
            capacity_type=capacity_type,
            min_size=min_size,
            desired_size=desired_size,
            max_size=max_size,
            disk_size_gib=disk_size,
            per_zone=per_zone,
            max_unavailable=max_unavailable,
        ),
        ingress_controller=ingress_controller,
        ingress_replicas=ingress_replicas,
        cost=parse_cost_assumptions(raw),
    )


def load_settings() -> Settings:
    """Read this stack's config once, rejecting keys the program does not know (usually typos)."""
    project, stack = pulumi.get_project(), pulumi.get_stack()
    prefix = f"{project}:"
    present = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    for full_key in sorted(present):
        if full_key.startswith(prefix) and full_key[len(prefix) :] not in KEYS:
            key = full_key[len(prefix) :]
            raise ConfigError(key, "(set)", f"unknown key; known keys are {', '.join(KEYS)}")
    config = pulumi.Config()
    raw = {key: value for key in KEYS if (value := config.get(key)) is not None}
    return parse_settings(raw, project, stack)
