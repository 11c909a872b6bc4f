"""Typed, validated stack settings: the only place that reads Pulumi config.

`Pulumi.yaml` holds every key's type, default and description; the CLI (or the
offline preview) applies those defaults and the stack file, so this module sees
a complete set of raw string values. It turns them into immutable settings or
stops with one `ConfigError` line naming the key, the value and what is allowed.
"""

from __future__ import annotations

import difflib
import functools
import ipaddress
import json
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import botocore
import pulumi
from botocore.loaders import Loader
from pulumi.runtime import config as runtime_config

from components.shared.node_pools import EKS_TAINT_EFFECTS, POOL_LABEL, Taint
from components.shared.versions import KUBERNETES_RELEASES

PROJECT = "eks-platform"

ENVIRONMENTS = ("dev", "staging", "prod")
NAT_STRATEGIES = ("single", "per-zone")
SUBNET_LAYOUTS = ("zone-order", "zone-slots")
SUBNET_ROOM = {
    "zone-order": "one public and one private per zone",
    "zone-slots": "a public and a private slot for every zone letter up to the last zone's",
}
CAPACITY_TYPES = ("ON_DEMAND", "SPOT")
INGRESS_CONTROLLERS = ("f5-nginx", "ingress-nginx")
AUTOSCALERS = ("cluster-autoscaler", "karpenter")
CPU_ARCHITECTURES = ("x86_64", "arm64")
# The pool every stack has: add-ons and controllers (the autoscaler, Karpenter itself) run there, on managed nodes.
SYSTEM_POOL = "system"
# Karpenter's chart runs 2 controller replicas with a required anti-affinity on kubernetes.io/hostname
# (aws/karpenter-provider-aws charts/karpenter/values.yaml, replicas and affinity.podAntiAffinity).
KARPENTER_REPLICAS = 2
# EKS upgradePolicy.supportType: EXTENDED keeps a minor running past standard support at a higher hourly price.
SUPPORT_TYPES = ("STANDARD", "EXTENDED")
# The retention periods CloudWatch Logs accepts (PutRetentionPolicy), in days.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
# Region prefix to ARN partition. Other partitions (the ISO regions) are refused: nothing here is tested there.
PARTITIONS = (("cn-", "aws-cn"), ("us-gov-", "aws-us-gov"))
# Kubernetes minors this program has pinned add-ons and a matching cluster autoscaler for.
SUPPORTED_KUBERNETES_VERSIONS = tuple(sorted(KUBERNETES_RELEASES))

_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$")
_PRINCIPAL_ARN = r"^arn:{partition}:iam::[0-9]{{12}}:(role|user)/[\w+=,.@/-]+$"
# Graviton families carry a "g" right after the generation digit (m7g, c6gn, t4g, r8gd, hpc7g); a1 is Graviton 1.
_GRAVITON = re.compile(r"^(a1|[a-z]+[0-9]+g[a-z]*)\.")
# Pool names become resource names, node group names (EKS: at most 63 characters, with zone and suffix added),
# a Kubernetes label value and Karpenter object names.
_POOL_NAME = re.compile(r"^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$")
# Kubernetes label keys and values (and taint keys and values): an optional DNS-subdomain prefix and a name of at
# most 63 characters (Kubernetes documentation, "Labels and Selectors", "Syntax and character set").
_LABEL_NAME = r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)"
_LABEL_KEY = re.compile(rf"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?{_LABEL_NAME}$")
_LABEL_VALUE = re.compile(rf"^{_LABEL_NAME}?$")
# Label domains the platform refuses in a pool's labels. EKS rejects node group labels containing kubernetes.io/,
# k8s.io/ or eks.amazonaws.com/ ("Label cannot contain reserved prefixes": aws/containers-roadmap#1451,
# eksctl-io/eksctl#4007); Karpenter refuses its own domains karpenter.sh and karpenter.k8s.aws in a NodePool's
# labels (aws/karpenter-provider-aws pkg/apis/crds/karpenter.sh_nodepools.yaml, template.metadata.labels).
RESTRICTED_LABEL_DOMAINS = ("kubernetes.io", "k8s.io", "eks.amazonaws.com", "karpenter.sh", "karpenter.k8s.aws")
POOL_FIELDS = (
    "instanceTypes",
    "cpuArchitecture",
    "capacityType",
    "minSize",
    "desiredSize",
    "maxSize",
    "diskSizeGiB",
    "labels",
    "taints",
    "perZone",
    "maxUnavailable",
)
MAX_PUBLIC_ACCESS_CIDRS = 40


class ConfigError(pulumi.RunError):
    """A user mistake in stack config: reported as one line, without a traceback."""

    def __init__(self, key: str, value: object, allowed: str, namespace: str = PROJECT) -> None:
        self.key = key
        super().__init__(f"invalid config {namespace}:{key} = {value!r}: {allowed}")


@dataclass(frozen=True)
class NodePoolSettings:
    name: str
    instance_types: tuple[str, ...]
    cpu_architecture: str  # x86_64 or arm64 (Graviton)
    capacity_type: str
    # Managed node groups only: Karpenter has no minimum or desired size, it launches nodes for pending pods.
    min_size: int
    desired_size: int
    # A managed group's maxSize; a Karpenter NodePool's node limit.
    max_size: int
    disk_size_gib: int
    labels: dict[str, str]
    taints: tuple[Taint, ...]
    # One managed node group per zone, so the cluster autoscaler can grow the zone a pending pod needs.
    per_zone: bool
    # Nodes a rolling update (managed) or a disruption (Karpenter) may take down at once.
    max_unavailable: int
    # True when Karpenter launches this pool's nodes (autoscaler karpenter, every pool but system).
    karpenter: bool


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
    subnet_layout: str
    nat_strategy: str
    kubernetes_version: str
    support_type: str
    control_plane_log_retention_days: int
    endpoint_public_access: bool
    public_access_cidrs: tuple[str, ...]
    cluster_admin_arns: tuple[str, ...]
    # Read-only access (AmazonEKSAdminViewPolicy): CI's preview role, so `pulumi preview` can read the cluster.
    cluster_viewer_arns: tuple[str, ...]
    # "" means the identity running `pulumi up` (only right at the first deploy).
    cluster_creator_arn: str
    deletion_protection: bool
    # The system pool first, then the others in config order.
    node_pools: tuple[NodePoolSettings, ...]
    autoscaler: str
    ingress_controller: str
    ingress_replicas: int
    cost: CostAssumptions
    demo_workloads: bool

    @property
    def is_production(self) -> bool:
        return self.environment == "prod"

    @property
    def managed_pools(self) -> tuple[NodePoolSettings, ...]:
        return tuple(pool for pool in self.node_pools if not pool.karpenter)

    @property
    def karpenter_pools(self) -> tuple[NodePoolSettings, ...]:
        return tuple(pool for pool in self.node_pools if pool.karpenter)

    @property
    def workload_pools(self) -> tuple[str, ...]:
        """Where the demo workloads run: every untainted pool but system, or system when there is none."""
        untainted = tuple(pool.name for pool in self.node_pools if pool.name != SYSTEM_POOL and not pool.taints)
        return untainted or (SYSTEM_POOL,)

    @property
    def cluster_name(self) -> str:
        return cluster_name_of(self.project, self.stack)


# Read only by the offline cost estimate, validated here like every other key.
COST_KEYS = ("costNatDataGBPerMonth", "costLogIngestGBPerMonth", "costNlbCapacityUnits", "costSpotDiscountPercent")

# Every key the program reads; `Pulumi.yaml` documents each with type, default and description.
KEYS = (
    "environment",
    "region",
    "availabilityZones",
    "vpcCidr",
    "subnetPrefixLength",
    "subnetLayout",
    "natStrategy",
    "kubernetesVersion",
    "kubernetesSupportType",
    "controlPlaneLogRetentionDays",
    "endpointPublicAccess",
    "publicAccessCidrs",
    "clusterAdminArns",
    "clusterViewerArns",
    "clusterCreatorArn",
    "deletionProtection",
    "nodeGroups",
    "autoscaler",
    "ingressController",
    "ingressReplicas",
    *COST_KEYS,
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


# YAML 1.1 booleans: the Pulumi CLI reads stack files as YAML 1.2 (gopkg.in/yaml.v3), where they are strings.
_YAML_1_1_BOOLEANS = ("yes", "no", "on", "off", "y", "n")


def _not_a_bool(key: str, value: object) -> ConfigError:
    if isinstance(value, str) and value.lower() in _YAML_1_1_BOOLEANS:
        why = "the Pulumi CLI reads stack files as YAML 1.2, where yes/no/on/off are text"
        return ConfigError(key, value, f"expected true or false ({why})")
    return ConfigError(key, value, "expected true or false")


def _parse_bool(key: str, raw: str) -> bool:
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise _not_a_bool(key, raw)


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


# What AWS names, as the AWS SDK ships it: the EC2 API model's InstanceType enum and the partitions' regions.
BOTOCORE = f"botocore {botocore.__version__}"
# The partitions this program deploys to (ISO partitions are refused: see partition_of).
DEPLOYABLE_PARTITIONS = ("aws", "aws-cn", "aws-us-gov")


@functools.cache
def ec2_instance_types() -> frozenset[str]:
    return frozenset(Loader().load_service_model("ec2", "service-2")["shapes"]["InstanceType"]["enum"])


@functools.cache
def aws_regions() -> frozenset[str]:
    partitions = Loader().load_data("endpoints")["partitions"]
    return frozenset(region for p in partitions if p["partition"] in DEPLOYABLE_PARTITIONS for region in p["regions"])


def _known(key: str, value: str, known: frozenset[str], what: str) -> str:
    if value in known:
        return value
    close = difflib.get_close_matches(value, sorted(known), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}?" if close else f"see {BOTOCORE}'s list, or pin a newer botocore if AWS added it since"
    raise ConfigError(key, value, f"not {what} ({BOTOCORE}); {hint}")


def _matching(key: str, pattern: re.Pattern[str], what: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if not pattern.match(raw):
            raise ConfigError(key, raw, f"expected {what}")
        return raw

    return parse


def settings_notes(settings: Settings) -> list[str]:
    """Valid settings that are probably not what was meant, warned about at preview."""
    notes = []
    if settings.autoscaler == "karpenter" and not settings.karpenter_pools:
        notes.append(
            "autoscaler is karpenter but nodeGroups has no pool besides system: Karpenter is installed with no NodePool "
            "to manage; add a pool, or use cluster-autoscaler"
        )
    named = [word for word in re.split(r"[-_.]", settings.stack) if word in ENVIRONMENTS]
    if named and settings.environment not in named:
        notes.append(
            f"stack {settings.stack!r} runs as environment {settings.environment!r} (its policy levels and rules): "
            f"set eks-platform:environment to {named[0]!r} if that is what the name means"
        )
    return notes


def cluster_name_of(project: str, stack: str) -> str:
    """The EKS cluster's name. Known before the cluster exists: subnets must carry kubernetes.io/cluster/<name> tags."""
    return f"{project}-{stack}"


def partition_of(region: str) -> str:
    """The ARN partition of a region: aws, aws-cn or aws-us-gov."""
    return next((partition for prefix, partition in PARTITIONS if region.startswith(prefix)), "aws")


def _pool_field(pool: str, field: str) -> str:
    return f"nodeGroups.{pool}.{field}"


def _pool_int(key: str, value: Any, low: int, high: int) -> int:
    # bool is an int in Python; `true` is no size.
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(key, value, f"expected a whole number from {low} to {high}")
    return value


def _pool_bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _not_a_bool(key, value)
    return value


def _pool_labels(pool: str, value: Any) -> dict[str, str]:
    key = _pool_field(pool, "labels")
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(key, value, "expected a map of label keys to string values")
    for name, label_value in value.items():
        if name == POOL_LABEL:
            raise ConfigError(key, name, f"{POOL_LABEL} is set by the platform to the pool's name; choose another key")
        domain = name.rpartition("/")[0]
        # The prefix is a DNS subdomain: at most 253 characters.
        if not _LABEL_KEY.match(name) or len(domain) > 253:
            raise ConfigError(key, name, "expected a Kubernetes label key such as team or example.com/team")
        if any(domain == restricted or domain.endswith(f".{restricted}") for restricted in RESTRICTED_LABEL_DOMAINS):
            raise ConfigError(
                key, name, f"label domains {', '.join(RESTRICTED_LABEL_DOMAINS)} are reserved by Kubernetes, EKS or Karpenter"
            )
        if not _LABEL_VALUE.match(label_value):
            raise ConfigError(key, {name: label_value}, "expected a label value of at most 63 letters, digits, '-', '_' or '.'")
    return dict(value)


def _pool_taints(pool: str, value: Any) -> tuple[Taint, ...]:
    key = _pool_field(pool, "taints")
    shape = "expected a list of {key, value (optional), effect}"
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ConfigError(key, value, shape)
    taints = []
    for item in value:
        if set(item) - {"key", "value", "effect"} or not isinstance(item.get("key"), str):
            raise ConfigError(key, item, shape)
        taint_value = item.get("value", "")
        if not _LABEL_KEY.match(item["key"]) or not isinstance(taint_value, str) or not _LABEL_VALUE.match(taint_value):
            raise ConfigError(key, item, "expected a taint key and value in Kubernetes label syntax, such as dedicated=batch")
        effect = item.get("effect")
        if effect not in EKS_TAINT_EFFECTS:
            raise ConfigError(key, item, f"expected effect {', '.join(EKS_TAINT_EFFECTS)}")
        taints.append(Taint(item["key"], taint_value, str(effect)))
    repeated = sorted({f"{t.key}:{t.effect}" for t in taints if [(u.key, u.effect) for u in taints].count((t.key, t.effect)) > 1})
    if repeated:
        raise ConfigError(key, repeated[0], "listed twice; expected one taint per key and effect")
    return tuple(taints)


def _parse_pool(
    name: str, spec: Any, environment: str, zones: tuple[str, ...], karpenter: bool, runs_karpenter: bool
) -> NodePoolSettings:
    if not isinstance(spec, dict):
        raise ConfigError(f"nodeGroups.{name}", spec, f"expected a map of pool fields: {', '.join(POOL_FIELDS)}")
    for field in spec:
        if field not in POOL_FIELDS:
            match = _did_you_mean(field, POOL_FIELDS)
            hint = f"did you mean {match}?" if match else f"known fields are {', '.join(POOL_FIELDS)}"
            raise ConfigError(_pool_field(name, field), spec[field], f"unknown pool field; {hint}")

    def key(field: str) -> str:
        return _pool_field(name, field)

    instance_types = spec.get("instanceTypes")
    if not isinstance(instance_types, list) or not instance_types or not all(isinstance(t, str) for t in instance_types):
        raise ConfigError(key("instanceTypes"), instance_types, "expected a list of at least one EC2 instance type")
    for kind in instance_types:
        _known(key("instanceTypes"), kind, ec2_instance_types(), "an EC2 instance type")
    _reject_duplicates(key("instanceTypes"), tuple(instance_types))
    graviton = {_GRAVITON.match(kind) is not None for kind in instance_types}
    if len(graviton) > 1:
        raise ConfigError(
            key("instanceTypes"), instance_types, "expected one CPU architecture: all Graviton (arm64, e.g. m7g) or none"
        )
    architecture = "arm64" if graviton == {True} else "x86_64"
    declared = spec.get("cpuArchitecture", architecture)
    if declared != architecture:
        allowed = f"expected {architecture}: instance types {', '.join(instance_types)} are {architecture}"
        raise ConfigError(
            key("cpuArchitecture"),
            declared,
            allowed if declared in CPU_ARCHITECTURES else f"expected one of {', '.join(CPU_ARCHITECTURES)}",
        )

    capacity_type = spec.get("capacityType", "ON_DEMAND")
    if capacity_type not in CAPACITY_TYPES:
        raise ConfigError(key("capacityType"), capacity_type, f"expected one of {', '.join(CAPACITY_TYPES)}")
    if capacity_type == "SPOT" and environment == "prod":
        raise ConfigError(key("capacityType"), capacity_type, "prod rule: nodes must be ON_DEMAND; SPOT is for dev and staging")

    if "maxSize" not in spec:
        raise ConfigError(key("maxSize"), None, "required: the most nodes the pool may have")
    max_size = _pool_int(key("maxSize"), spec["maxSize"], 1, 450)
    if karpenter:
        for field in ("minSize", "desiredSize"):
            if field in spec:
                raise ConfigError(
                    key(field), spec[field], "Karpenter launches nodes for pending pods: a Karpenter pool takes maxSize only"
                )
        min_size = desired_size = 0
    else:
        for field in ("minSize", "desiredSize"):
            if field not in spec:
                raise ConfigError(key(field), None, "required for a managed node group")
        min_size = _pool_int(key("minSize"), spec["minSize"], 0, 450)
        desired_size = _pool_int(key("desiredSize"), spec["desiredSize"], 0, 450)
        if min_size > max_size:
            raise ConfigError(key("minSize"), min_size, f"expected at most maxSize ({max_size})")
        if not min_size <= desired_size <= max_size:
            raise ConfigError(key("desiredSize"), desired_size, f"expected from minSize ({min_size}) to maxSize ({max_size})")

    per_zone = _pool_bool(key("perZone"), spec.get("perZone", False))
    if per_zone and karpenter:
        raise ConfigError(
            key("perZone"), per_zone, "Karpenter chooses the zone of every node itself; perZone is for managed node groups"
        )
    if per_zone and max_size < len(zones):
        raise ConfigError(
            key("maxSize"),
            max_size,
            f"with perZone each of the {len(zones)} zones gets its own node group, which needs at least one node "
            f"at most; expected at least {len(zones)}",
        )
    taints = _pool_taints(name, spec.get("taints", []))
    if name == SYSTEM_POOL:
        if taints:
            raise ConfigError(
                key("taints"),
                [f"{t.key}:{t.effect}" for t in taints],
                "the system pool takes no taints: EKS add-ons and charts run there without tolerations; taint other pools",
            )
        if min_size < 1:
            raise ConfigError(key("minSize"), min_size, "the system pool runs the add-ons and controllers; expected at least 1")
        if runs_karpenter and min_size < KARPENTER_REPLICAS:
            raise ConfigError(
                key("minSize"),
                min_size,
                f"with autoscaler karpenter nothing resizes the system pool, and Karpenter runs {KARPENTER_REPLICAS} "
                f"replicas on different nodes (its chart's required anti-affinity); expected at least {KARPENTER_REPLICAS}",
            )
        if environment == "prod" and not per_zone:
            raise ConfigError(
                key("perZone"),
                per_zone,
                "prod rule: prod spreads the ingress controller over zones (DoNotSchedule) on the system pool, and the "
                "cluster autoscaler can add a node in the zone a pending pod needs only with one node group per zone; "
                "expected true",
            )
        if environment == "prod" and min_size < len(zones):
            raise ConfigError(
                key("minSize"),
                min_size,
                f"prod rule: the ingress controller's zone spread (DoNotSchedule) needs a node in each of the {len(zones)} "
                f"zones at all times; expected at least {len(zones)}",
            )
    return NodePoolSettings(
        name=name,
        instance_types=tuple(instance_types),
        cpu_architecture=architecture,
        capacity_type=capacity_type,
        min_size=min_size,
        desired_size=desired_size,
        max_size=max_size,
        disk_size_gib=_pool_int(key("diskSizeGiB"), spec.get("diskSizeGiB", 20), 20, 16384),
        labels=_pool_labels(name, spec.get("labels", {})),
        taints=taints,
        per_zone=per_zone,
        # EKS: maxUnavailable is 1 to 100 (UpdateNodegroupConfig); more than the group's maximum means all at once.
        max_unavailable=_pool_int(key("maxUnavailable"), spec.get("maxUnavailable", 1), 1, 100),
        karpenter=karpenter,
    )


def _parse_node_pools(raw: str, environment: str, zones: tuple[str, ...], autoscaler: str) -> tuple[NodePoolSettings, ...]:
    try:
        spec = json.loads(raw)
    except json.JSONDecodeError:
        spec = None
    if not isinstance(spec, dict) or not spec:
        raise ConfigError("nodeGroups", raw, "expected a map of pool name to pool fields, with at least a system pool")
    for name in spec:
        if not _POOL_NAME.match(name):
            raise ConfigError("nodeGroups", name, "expected pool names of at most 20 lowercase letters, digits and '-'")
    if SYSTEM_POOL not in spec:
        raise ConfigError(
            "nodeGroups", sorted(spec), f"expected a pool named {SYSTEM_POOL}: the add-ons and controllers run there"
        )
    ordered = [SYSTEM_POOL, *(name for name in spec if name != SYSTEM_POOL)]
    karpenter = autoscaler == "karpenter"
    return tuple(
        _parse_pool(name, spec[name], environment, zones, karpenter and name != SYSTEM_POOL, karpenter and name == SYSTEM_POOL)
        for name in ordered
    )


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
    # Checked before the zones, so that a misspelled region is named as such rather than each of its zones.
    _known("region", region, aws_regions(), "an AWS region of the commercial, China or GovCloud partitions")
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
    subnet_layout = _parse_choice("subnetLayout", raw["subnetLayout"], SUBNET_LAYOUTS)
    # zone-slots reserves a pair for every letter up to the last zone's: zones a and c take the room of a, b, c.
    subnet_count = 2 * (max(ord(zone[-1]) - ord("a") for zone in zones) + 1 if subnet_layout == "zone-slots" else len(zones))
    if subnet_count > 2 ** (subnet_prefix - vpc.prefixlen):
        raise ConfigError(
            "subnetPrefixLength",
            subnet_prefix,
            f"{subnet_count} subnets ({SUBNET_ROOM[subnet_layout]}) of /{subnet_prefix} do not fit in {vpc_cidr}; "
            f"use at most /{vpc.prefixlen + (subnet_count - 1).bit_length()} or fewer zones",
        )

    kubernetes_version = raw["kubernetesVersion"]
    if not re.fullmatch(r"1\.[0-9]{2}", kubernetes_version):
        raise ConfigError("kubernetesVersion", kubernetes_version, _kubernetes_version_hint(kubernetes_version))
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
    admin_arns, viewer_arns = (
        _parse_list(
            key,
            raw[key],
            _matching(
                key,
                re.compile(_PRINCIPAL_ARN.format(partition=re.escape(partition))),
                f"an IAM role or user ARN of partition {partition} (region {region}) such as "
                f"arn:{partition}:iam::123456789012:role/{example}",
            ),
            "IAM role or user ARNs",
        )
        for key, example in (("clusterAdminArns", "platform-admin"), ("clusterViewerArns", "ci-preview"))
    )
    _reject_duplicates("clusterAdminArns", admin_arns)
    _reject_duplicates("clusterViewerArns", viewer_arns)
    both = next((arn for arn in viewer_arns if arn in admin_arns), None)
    if both is not None:
        raise ConfigError(
            "clusterViewerArns", both, "expected an ARN not in clusterAdminArns too (EKS allows one access entry per principal)"
        )
    creator_arn = raw["clusterCreatorArn"] and _matching(
        "clusterCreatorArn",
        re.compile(_PRINCIPAL_ARN.format(partition=re.escape(partition))),
        f"an IAM role or user ARN of partition {partition} (region {region}), or empty for the identity running Pulumi",
    )(raw["clusterCreatorArn"])
    deletion_protection = _parse_bool("deletionProtection", raw["deletionProtection"])

    autoscaler = _parse_choice("autoscaler", raw["autoscaler"], AUTOSCALERS)
    node_pools = _parse_node_pools(raw["nodeGroups"], environment, zones, autoscaler)

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
        partition=partition,
        availability_zones=zones,
        vpc_cidr=vpc_cidr,
        subnet_prefix_length=subnet_prefix,
        subnet_layout=subnet_layout,
        nat_strategy=_parse_choice("natStrategy", raw["natStrategy"], NAT_STRATEGIES),
        kubernetes_version=kubernetes_version,
        support_type=_parse_choice("kubernetesSupportType", raw["kubernetesSupportType"], SUPPORT_TYPES),
        control_plane_log_retention_days=log_retention,
        endpoint_public_access=endpoint_public_access,
        public_access_cidrs=public_access_cidrs,
        cluster_admin_arns=admin_arns,
        cluster_viewer_arns=viewer_arns,
        cluster_creator_arn=creator_arn,
        deletion_protection=deletion_protection,
        node_pools=node_pools,
        autoscaler=autoscaler,
        ingress_controller=ingress_controller,
        ingress_replicas=ingress_replicas,
        cost=parse_cost_assumptions(raw),
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


def check_zones_offered(settings: Settings, offered: Collection[str]) -> None:
    """Every availabilityZones entry must be a zone AWS offers this account in the region: the answer of
    getAvailabilityZones (state available), asked at `pulumi preview` and `up` before anything is built. The
    offline engine answers nothing (offline.plan.zones checks there), and nothing is refused on no answer."""
    for zone in settings.availability_zones:
        if offered and zone not in offered:
            raise ConfigError(
                "availabilityZones", zone, f"not a zone of {settings.region}; its zones: {', '.join(sorted(offered))}"
            )


def _kubernetes_version_hint(value: str) -> str:
    allowed = "expected a version of the form 1.NN, such as 1.35"
    if re.fullmatch(r"1\.[0-9]", value):
        # YAML reads an unquoted 1.30 as the number 1.3; the CLI passes that on as "1.3".
        return f'{allowed}; an unquoted {value}0 in YAML is the number {value}: quote it, "{value}0"'
    return allowed


# The flat node keys of earlier versions, now fields of each pool in nodeGroups.
MOVED_INTO_NODE_GROUPS = {
    "nodeInstanceTypes": "instanceTypes",
    "nodeCapacityType": "capacityType",
    "nodeMinSize": "minSize",
    "nodeDesiredSize": "desiredSize",
    "nodeMaxSize": "maxSize",
    "nodeDiskSizeGiB": "diskSizeGiB",
    "nodeGroupPerZone": "perZone",
    "nodeMaxUnavailable": "maxUnavailable",
}

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
            if key in MOVED_INTO_NODE_GROUPS:
                field = MOVED_INTO_NODE_GROUPS[key]
                raise ConfigError(
                    key,
                    shown,
                    f"no longer read: node settings are per pool now, set nodeGroups.<pool>.{field} instead",
                    namespace,
                )
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
