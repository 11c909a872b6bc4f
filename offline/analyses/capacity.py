"""The capacity rehearsal: do the pods fit on the node pools they may land on?

Per pool: what one node of its smallest instance type offers once the kubelet has reserved its share (max pods from
the VPC CNI formula, kube-reserved CPU and memory, and the hard eviction threshold, all as nodeadm computes them; the
hypervisor's share of memory as Karpenter estimates it), minus the DaemonSet pods every node runs; against the
requests of every pod that may land there (node selector, required node affinity, taints and tolerations; replicas,
and the chart's defaults where the program sets nothing) plus the surge pod of a rolling update that must start
before an old pod stops (one whose maxUnavailable resolves to 0).

A pod that may land on several pools is counted on each: the scheduler may put it on any. A fixed pool (a managed
node group nothing resizes: the system pool under Karpenter) that cannot hold its pods, or one surge pod on top, makes
`pulumi up` wait out the Helm or await timeout and fail: that is a broken capacity need, which fails the preview like
a broken runtime need. An autoscaled pool (the cluster autoscaler's node groups, Karpenter's NodePools) reports the
nodes it needs, at the plan's replicas and with every HorizontalPodAutoscaler at its maximum; it is broken when even
its maxSize cannot hold the pods. Pods that fit no node they may land on are broken wherever they would go.

Not modelled: how the scheduler spreads pods over the nodes (the sums are of the whole pool, so a pool can fail by
fragmentation where the sum still fits), zone spread constraints, and Helm hook Jobs (transient, no requests).

Figures: data/instance-capacity.json (instance types, kubelet constants, the EKS add-ons' pods), read strictly by
`load_capacity`; the formulas and the charts' defaults are below, each with its source.
Input: the plan object and those figures; output: the report `offline.preview` writes as capacity.json.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

from components.shared.node_pools import EKS_TAINT_EFFECTS, POOL_LABEL, Taint
from offline.analyses.sourced_data import FieldReader
from offline.plan.query import PlanQuery, Resource

CAPACITY_FILE = Path(__file__).resolve().parents[2] / "data" / "instance-capacity.json"

NODE_GROUP: Final = "aws:eks/nodeGroup:NodeGroup"
NODE_POOL: Final = "kubernetes:karpenter.sh/v1:NodePool"
HELM_RELEASE: Final = "kubernetes:helm.sh/v3:Release"
WORKLOAD_KINDS: Final = {
    "kubernetes:apps/v1:Deployment": "Deployment",
    "kubernetes:apps/v1:StatefulSet": "StatefulSet",
    "kubernetes:apps/v1:DaemonSet": "DaemonSet",
}
HPA_TYPES: Final = ("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "kubernetes:autoscaling/v1:HorizontalPodAutoscaler")
# The EKS API's taint effects (aws_eks_node_group taint.effect) back in Kubernetes' spelling.
KUBERNETES_TAINT_EFFECTS: Final = {eks: kubernetes for kubernetes, eks in EKS_TAINT_EFFECTS.items()}
# Labels every node carries with a value of its own (hostname, zone): present on every pool, value unknown here.
PER_NODE_LABELS: Final = (
    "kubernetes.io/hostname",
    "topology.kubernetes.io/zone",
    "topology.kubernetes.io/region",
    "topology.k8s.aws/zone-id",
    "failure-domain.beta.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/region",
    "topology.ebs.csi.aws.com/zone",
)
HOSTNAME: Final = "kubernetes.io/hostname"
MIB: Final = 1024 * 1024

# nodeadm's kube-reserved CPU (awslabs/amazon-eks-ami nodeadm/internal/kubelet/config.go, getCPUMillicoresToReserve,
# commit 4d63a3bc2d86958490e0e0e2a04eba69da4c45db, in AMI release v20260714): 6% of the first core, 1% of the second,
# 0.5% of the third and fourth, 0.25% of the rest, each range rounded down to whole millicores. Karpenter estimates
# its nodes the same way (aws/karpenter-provider-aws pkg/providers/instancetype/types.go at tag v1.14.1,
# kubeReservedResources).
CPU_RESERVATION_TIERS: Final = ((0, 1000, 600), (1000, 2000, 100), (2000, 4000, 50), (4000, None, 25))
# nodeadm's kube-reserved memory: 11 MiB per pod the node may run plus 255 MiB (getMemoryMebibytesToReserve), and its
# max pods: ENIs on the default network card * (IPv4 addresses per ENI - 1) + 2 (eni_max_pods.go,
# calculateStandardMaxPods), the formula amazon-eks-ami's eni-max-pods.txt was generated with.
MEMORY_RESERVED_PER_POD_MIB: Final = 11
MEMORY_RESERVED_BASE_MIB: Final = 255
# Deployment defaults (kubernetes/kubernetes pkg/apis/apps/v1/defaults.go SetDefaults_Deployment: RollingUpdate with
# maxSurge and maxUnavailable 25%), resolved as pkg/controller/deployment/util/deployment_util.go ResolveFenceposts
# does: surge rounded up, unavailable rounded down, unavailable 1 when both come to 0. A rollout whose maxUnavailable
# resolves to 0 stops no old pod before its surge pod is ready: that pod needs room of its own.
DEFAULT_ROLLING_UPDATE: Final = {"maxSurge": "25%", "maxUnavailable": "25%"}


class CapacityFileError(Exception):
    """data/instance-capacity.json is unreadable or malformed; the message is one line naming the field."""


# ---------------------------------------------------------------------------------------------------------------
# Quantities and resources


_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]([+-]?[0-9]+))?(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")
_SUFFIXES: Final = {
    None: Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}


def quantity(value: Any) -> Decimal:
    """A Kubernetes resource quantity ("100m", "1Gi", 2, "1e3") as a number; ValueError for anything else."""
    if isinstance(value, bool):
        raise ValueError(f"not a quantity: {value!r}")
    if isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(str(value))
    elif isinstance(value, str) and (match := _QUANTITY.match(value.strip())):
        try:
            number = Decimal(match.group(1)) * Decimal(10) ** int(match.group(2) or 0) * _SUFFIXES[match.group(3)]
        except InvalidOperation:
            raise ValueError(f"not a quantity: {value!r}") from None
    else:
        raise ValueError(f"not a quantity: {value!r}")
    if number < 0:
        raise ValueError(f"negative quantity: {value!r}")
    return number


def millicores(value: Any) -> int:
    return int((quantity(value) * 1000).to_integral_value(ROUND_CEILING))


def memory_bytes(value: Any) -> int:
    return int(quantity(value).to_integral_value(ROUND_CEILING))


@dataclass(frozen=True)
class Resources:
    """CPU in millicores, memory in bytes, pods: what a node offers or what pods request."""

    cpu: int = 0
    memory: int = 0
    pods: int = 0

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.cpu + other.cpu, self.memory + other.memory, self.pods + other.pods)

    def __sub__(self, other: Resources) -> Resources:
        return Resources(self.cpu - other.cpu, self.memory - other.memory, self.pods - other.pods)

    def times(self, count: int) -> Resources:
        return Resources(self.cpu * count, self.memory * count, self.pods * count)

    def over(self, limit: Resources) -> tuple[str, ...]:
        """The resources of which this is more than `limit` (empty when it fits)."""
        return tuple(name for name in ("cpu", "memory", "pods") if getattr(self, name) > getattr(limit, name))

    def fits(self, limit: Resources) -> bool:
        return not self.over(limit)

    def most(self, other: Resources) -> Resources:
        return Resources(max(self.cpu, other.cpu), max(self.memory, other.memory), max(self.pods, other.pods))

    def least(self, other: Resources) -> Resources:
        return Resources(min(self.cpu, other.cpu), min(self.memory, other.memory), min(self.pods, other.pods))

    def to_json(self) -> dict[str, int]:
        return {"cpuMillicores": self.cpu, "memoryBytes": self.memory, "pods": self.pods}

    def text(self) -> str:
        return f"{self.cpu}m CPU, {_mib(self.memory)} memory, {self.pods} pods"


def _mib(value: int) -> str:
    return f"{value // MIB}Mi" if value % MIB == 0 else f"{Decimal(value) / MIB:.1f}Mi"


def _resource_text(resources: Resources, names: Sequence[str]) -> str:
    shown = {"cpu": f"{resources.cpu}m CPU", "memory": f"{_mib(resources.memory)} memory", "pods": f"{resources.pods} pods"}
    return ", ".join(shown[name] for name in names)


# ---------------------------------------------------------------------------------------------------------------
# The figures file


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpus: int
    memory_mib: int
    architecture: str
    default_max_enis: int
    ipv4_addresses_per_interface: int


@dataclass(frozen=True)
class Kubelet:
    eviction_hard_memory_mib: int
    vm_memory_overhead: Decimal
    arm64_reserved_memory_mib: int


@dataclass(frozen=True)
class AddonPods:
    addon: str
    read_for: str
    source: str
    pods: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class CapacityData:
    path: Path
    kubelet: Kubelet
    instance_types: Mapping[str, InstanceType]
    addons: Mapping[str, AddonPods]


_PINNED_SOURCE = re.compile(r"^https://github\.com/[^/\s]+/[^/\s]+/(blob|tree)/[0-9a-f]{40}/\S+$")
_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$")
_INSTANCE_FIELDS: Final = ("vcpus", "memoryMiB", "architecture", "defaultMaxENIs", "ipv4AddressesPerInterface")
_KUBELET_FIELDS: Final = ("evictionHardMemoryMiB", "vmMemoryOverheadPercent", "arm64ReservedMemoryMiB")
_POD_FIELDS: Final = {"name", "kind", "containers"}
_POD_OPTIONAL: Final = {"replicas", "strategy", "initContainers", "nodeSelector", "affinity", "tolerations", "configuration"}


def _pinned(reader: FieldReader, value: Any, where: str) -> str:
    if not isinstance(value, str) or not _PINNED_SOURCE.match(value):
        raise reader.fail(where, "must be a GitHub URL pinned to a commit (https://github.com/<owner>/<repo>/blob/<40 hex>/...)")
    return value


def _whole(reader: FieldReader, value: Any, where: str, least: int = 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise reader.fail(where, f"must be a whole number of at least {least}, got {value!r}")
    return value


def _containers(reader: FieldReader, value: Any, where: str, required: bool) -> None:
    if not isinstance(value, list) or (required and not value):
        raise reader.fail(where, "must be a non-empty list of containers" if required else "must be a list of containers")
    for index, container in enumerate(value):
        spot = f"{where}[{index}]"
        fields = reader.fields(container, spot, {"name", "requests"})
        reader.text(fields["name"], f"{spot}.name")
        requests = reader.mapping(fields["requests"], f"{spot}.requests")
        unknown = sorted(set(requests) - {"cpu", "memory"})
        if unknown:
            raise reader.fail(f"{spot}.requests", f"has unknown resource {unknown[0]!r} (cpu, memory)")
        for resource, amount in requests.items():
            try:
                quantity(amount)
            except ValueError as error:
                raise reader.fail(f"{spot}.requests.{resource}", str(error)) from None


def _addon_pod(reader: FieldReader, value: Any, where: str) -> Mapping[str, Any]:
    fields = reader.fields(value, where, _POD_FIELDS, _POD_OPTIONAL)
    reader.text(fields["name"], f"{where}.name")
    if fields["kind"] not in ("Deployment", "DaemonSet"):
        raise reader.fail(f"{where}.kind", f"must be Deployment or DaemonSet, got {fields['kind']!r}")
    if fields["kind"] == "Deployment":
        _whole(reader, fields.get("replicas"), f"{where}.replicas")
    elif "replicas" in fields or "strategy" in fields:
        raise reader.fail(where, "is a DaemonSet: one pod per node, no replicas or strategy")
    _containers(reader, fields["containers"], f"{where}.containers", required=True)
    _containers(reader, fields.get("initContainers", []), f"{where}.initContainers", required=False)
    for key in ("nodeSelector", "affinity", "strategy"):
        if key in fields:
            reader.mapping(fields[key], f"{where}.{key}")
    if "tolerations" in fields and not isinstance(fields["tolerations"], list):
        raise reader.fail(f"{where}.tolerations", "must be a list")
    configuration = fields.get("configuration", [])
    if not isinstance(configuration, list) or not all(isinstance(part, str) for part in configuration):
        raise reader.fail(
            f"{where}.configuration", "must be a list of keys (where the add-on's configuration values set this pod)"
        )
    return fields


def load_capacity(path: Path = CAPACITY_FILE) -> CapacityData:
    reader = FieldReader(path, CapacityFileError)
    top = reader.fields(reader.load(), "the top level", {"schema", "kubelet", "instanceTypes", "addons"}, {"about"})
    if top["schema"] != 1:
        raise reader.fail("schema", f"must be 1, got {top['schema']!r}")
    kubelet = reader.fields(top["kubelet"], "kubelet", {*_KUBELET_FIELDS, "sources"}, {"note"})
    sources = reader.fields(kubelet["sources"], "kubelet.sources", set(_KUBELET_FIELDS))
    for name in _KUBELET_FIELDS:
        _pinned(reader, sources[name], f"kubelet.sources.{name}")
    overhead = kubelet["vmMemoryOverheadPercent"]
    if not isinstance(overhead, Decimal) or not Decimal(0) <= overhead < Decimal(1):
        raise reader.fail("kubelet.vmMemoryOverheadPercent", f"must be a fraction from 0 to below 1, got {overhead!r}")
    figures = Kubelet(
        _whole(reader, kubelet["evictionHardMemoryMiB"], "kubelet.evictionHardMemoryMiB", 0),
        overhead,
        _whole(reader, kubelet["arm64ReservedMemoryMiB"], "kubelet.arm64ReservedMemoryMiB", 0),
    )

    table = reader.fields(top["instanceTypes"], "instanceTypes", {"sources", "date", "types"}, {"note"})
    type_sources = reader.fields(table["sources"], "instanceTypes.sources", set(_INSTANCE_FIELDS))
    for name in _INSTANCE_FIELDS:
        _pinned(reader, type_sources[name], f"instanceTypes.sources.{name}")
    reader.day(table["date"], "instanceTypes.date")
    types: dict[str, InstanceType] = {}
    for name, entry in reader.mapping(
        table["types"], "instanceTypes.types", "a non-empty object of instance type to figures"
    ).items():
        where = f"instanceTypes.types.{name}"
        if not _INSTANCE_TYPE.match(name):
            raise reader.fail(where, "is not an instance type name such as m6i.large")
        row = reader.fields(entry, where, set(_INSTANCE_FIELDS))
        if row["architecture"] not in ("x86_64", "arm64"):
            raise reader.fail(f"{where}.architecture", f"must be x86_64 or arm64, got {row['architecture']!r}")
        types[name] = InstanceType(
            name,
            _whole(reader, row["vcpus"], f"{where}.vcpus"),
            _whole(reader, row["memoryMiB"], f"{where}.memoryMiB"),
            row["architecture"],
            _whole(reader, row["defaultMaxENIs"], f"{where}.defaultMaxENIs"),
            _whole(reader, row["ipv4AddressesPerInterface"], f"{where}.ipv4AddressesPerInterface", 2),
        )

    addons: dict[str, AddonPods] = {}
    for addon, entry in reader.mapping(top["addons"], "addons", "a non-empty object of EKS add-on name to its pods").items():
        where = f"addons.{addon}"
        fields = reader.fields(entry, where, {"readFor", "source", "pods"}, {"note"})
        pods = fields["pods"]
        if not isinstance(pods, list) or not pods:
            raise reader.fail(f"{where}.pods", "must be a non-empty list of pods")
        addons[addon] = AddonPods(
            addon,
            reader.text(fields["readFor"], f"{where}.readFor"),
            _pinned(reader, fields["source"], f"{where}.source"),
            tuple(_addon_pod(reader, pod, f"{where}.pods[{index}]") for index, pod in enumerate(pods)),
        )
    return CapacityData(path, figures, types, addons)


# ---------------------------------------------------------------------------------------------------------------
# What a node offers


def max_pods(instance: InstanceType) -> int:
    """nodeadm's standard max pods: ENIs * (IPv4 addresses per ENI - 1) + 2."""
    return instance.default_max_enis * (instance.ipv4_addresses_per_interface - 1) + 2


def kube_reserved_cpu(vcpus: int) -> int:
    """Millicores nodeadm reserves for the kubelet and container runtime."""
    total = vcpus * 1000
    reserved = 0
    for start, end, basis_points in CPU_RESERVATION_TIERS:
        if total > start:
            reserved += (min(total, end if end is not None else total) - start) * basis_points // 10000
    return reserved


def kube_reserved_memory_mib(pods: int) -> int:
    return MEMORY_RESERVED_PER_POD_MIB * pods + MEMORY_RESERVED_BASE_MIB


@dataclass(frozen=True)
class NodeFigures:
    instance_type: str
    capacity: Resources
    kube_reserved: Resources
    eviction_hard: Resources

    @property
    def allocatable(self) -> Resources:
        return self.capacity - self.kube_reserved - self.eviction_hard

    def to_json(self) -> dict[str, Any]:
        return {
            "instanceType": self.instance_type,
            "capacity": self.capacity.to_json(),
            "kubeReserved": self.kube_reserved.to_json(),
            "evictionHard": self.eviction_hard.to_json(),
            "allocatable": self.allocatable.to_json(),
        }


def node_figures(instance: InstanceType, kubelet: Kubelet) -> NodeFigures:
    """Capacity as the kubelet sees it (memory less the VM's and, on Graviton, the CMA share, as Karpenter's
    instancetype/types.go memory() subtracts them), kube-reserved and the hard eviction threshold."""
    memory = instance.memory_mib - (kubelet.arm64_reserved_memory_mib if instance.architecture == "arm64" else 0)
    memory -= int((Decimal(memory) * kubelet.vm_memory_overhead).to_integral_value(ROUND_CEILING))
    pods = max_pods(instance)
    return NodeFigures(
        instance.name,
        Resources(instance.vcpus * 1000, memory * MIB, pods),
        Resources(kube_reserved_cpu(instance.vcpus), kube_reserved_memory_mib(pods) * MIB, 0),
        Resources(0, kubelet.eviction_hard_memory_mib * MIB, 0),
    )


# ---------------------------------------------------------------------------------------------------------------
# Pools


Labels = Mapping[str, frozenset[str] | None]  # None: every node has the key, each with a value of its own


@dataclass(frozen=True)
class Pool:
    name: str
    launched_by: str  # "managed node group" or "Karpenter"
    instance_types: tuple[str, ...]
    labels: Labels
    taints: tuple[Taint, ...]
    # Nothing resizes it: min_nodes == max_nodes, the nodes it runs.
    fixed: bool
    min_nodes: int
    # None: no node limit (a NodePool without limits.nodes).
    max_nodes: int | None
    urns: tuple[str, ...]


def _chart_name(release: Resource) -> str:
    return str(release["inputs"].get("chart", "")).rstrip("/").rsplit("/", 1)[-1]


def _count(value: Any, default: int = 0) -> int:
    if value is None:
        return default
    if isinstance(value, bool):
        raise ValueError(f"not a count: {value!r}")
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, int | float) and float(value).is_integer():
        return int(value)
    raise ValueError(f"not a count: {value!r}")


def _with_node_labels(labels: dict[str, frozenset[str] | None]) -> dict[str, frozenset[str] | None]:
    for key in PER_NODE_LABELS:
        labels.setdefault(key, None)
    labels.setdefault("kubernetes.io/os", frozenset({"linux"}))
    labels.setdefault("beta.kubernetes.io/os", labels["kubernetes.io/os"])
    if "kubernetes.io/arch" in labels:
        labels.setdefault("beta.kubernetes.io/arch", labels["kubernetes.io/arch"])
    if "node.kubernetes.io/instance-type" in labels:
        labels.setdefault("beta.kubernetes.io/instance-type", labels["node.kubernetes.io/instance-type"])
    return labels


def _managed_pools(query: PlanQuery) -> list[Pool]:
    autoscaled = any(_chart_name(release) == "cluster-autoscaler" for release in query.of_type(HELM_RELEASE))
    groups: dict[str, list[Resource]] = defaultdict(list)
    for group in query.of_type(NODE_GROUP):
        groups[str((group["inputs"].get("labels") or {}).get(POOL_LABEL, group["name"]))].append(group)
    pools = []
    for name, members in groups.items():
        inputs = [member["inputs"] for member in members]
        instance_types = tuple(dict.fromkeys(t for i in inputs for t in i.get("instanceTypes") or ()))
        labels: dict[str, frozenset[str] | None] = {}
        for i in inputs:
            for key, value in (i.get("labels") or {}).items():
                labels[key] = (labels.get(key) or frozenset()) | {str(value)}
        architectures = {"amd64" if "ARM" not in str(i.get("amiType", "")).upper() else "arm64" for i in inputs}
        labels |= {
            "kubernetes.io/arch": frozenset(architectures),
            "node.kubernetes.io/instance-type": frozenset(instance_types),
            "eks.amazonaws.com/nodegroup": None,
            "eks.amazonaws.com/capacityType": frozenset(str(i.get("capacityType", "ON_DEMAND")) for i in inputs),
        }
        taints = {
            Taint(
                str(t.get("key", "")),
                str(t.get("value") or ""),
                KUBERNETES_TAINT_EFFECTS.get(str(t.get("effect")), str(t.get("effect"))),
            )
            for i in inputs
            for t in i.get("taints") or ()
        }
        scaling = [i.get("scalingConfig") or {} for i in inputs]
        desired = sum(_count(s.get("desiredSize")) for s in scaling)
        pools.append(
            Pool(
                name,
                "managed node group",
                instance_types,
                _with_node_labels(labels),
                tuple(sorted(taints, key=lambda t: (t.key, t.effect))),
                fixed=not autoscaled,
                min_nodes=sum(_count(s.get("minSize")) for s in scaling) if autoscaled else desired,
                max_nodes=sum(_count(s.get("maxSize")) for s in scaling) if autoscaled else desired,
                urns=tuple(member["urn"] for member in members),
            )
        )
    return pools


def _karpenter_pools(query: PlanQuery) -> list[Pool]:
    pools = []
    for node_pool in query.of_type(NODE_POOL):
        spec = node_pool["inputs"].get("spec") or {}
        template = spec.get("template") or {}
        template_labels = (template.get("metadata") or {}).get("labels") or {}
        name = str(
            template_labels.get(POOL_LABEL) or (node_pool["inputs"].get("metadata") or {}).get("name") or node_pool["name"]
        )
        labels: dict[str, frozenset[str] | None] = {key: frozenset({str(value)}) for key, value in template_labels.items()}
        labels["karpenter.sh/nodepool"] = frozenset({str((node_pool["inputs"].get("metadata") or {}).get("name", name))})
        instance_types: tuple[str, ...] = ()
        for requirement in (template.get("spec") or {}).get("requirements") or ():
            key, values = str(requirement.get("key")), [str(v) for v in requirement.get("values") or ()]
            labels[key] = frozenset(values) if requirement.get("operator") == "In" else None
            if key == "node.kubernetes.io/instance-type" and requirement.get("operator") == "In":
                instance_types = tuple(values)
        taints = tuple(
            Taint(str(t.get("key", "")), str(t.get("value") or ""), str(t.get("effect", "")))
            for t in (template.get("spec") or {}).get("taints") or ()
        )
        limit = (spec.get("limits") or {}).get("nodes")
        pools.append(
            Pool(
                name,
                "Karpenter",
                instance_types,
                _with_node_labels(labels),
                taints,
                fixed=False,
                min_nodes=0,
                max_nodes=None if limit is None else _count(limit),
                urns=(node_pool["urn"],),
            )
        )
    return pools


def node_pools(query: PlanQuery) -> list[Pool]:
    """Every pool of the plan: managed node groups by their pool label, Karpenter NodePools."""
    return [*_managed_pools(query), *_karpenter_pools(query)]


# ---------------------------------------------------------------------------------------------------------------
# Pods


@dataclass(frozen=True)
class Workload:
    """Pods of one controller, as the scheduler sees them."""

    name: str
    kind: str  # Deployment, StatefulSet, DaemonSet
    source: str  # the plan resource's URN, or where the figures come from
    request: Resources  # one pod's effective request (pods=1)
    replicas: int = 1  # DaemonSets: 1 per node
    # With every HorizontalPodAutoscaler at its maximum.
    max_replicas: int = 1
    # Pods a rolling update starts before it may stop an old one (0 when it may stop one first).
    surge: int = 0
    node_selector: Mapping[str, str] = field(default_factory=dict)
    # Required node affinity terms (any of them), None when there is none.
    affinity_terms: tuple[Mapping[str, Any], ...] | None = None
    tolerations: tuple[Mapping[str, Any], ...] = ()
    # Required pod anti-affinity with its own pods on kubernetes.io/hostname: one pod per node.
    one_per_node: bool = False

    @property
    def daemon(self) -> bool:
        return self.kind == "DaemonSet"


def _requests(container: Mapping[str, Any]) -> Resources:
    resources = container.get("resources") or {}
    # A container with a limit and no request gets the limit as its request (Kubernetes documentation, "Resource
    # Management for Pods and Containers").
    amounts = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
    return Resources(
        millicores(amounts["cpu"]) if "cpu" in amounts else 0,
        memory_bytes(amounts["memory"]) if "memory" in amounts else 0,
        0,
    )


def pod_request(containers: Iterable[Mapping[str, Any]], init_containers: Iterable[Mapping[str, Any]] = ()) -> Resources:
    """A pod's effective request: its containers and sidecars together, or its largest init container (with the
    sidecars started before it, bounded here by all of them) when that is more."""
    inits = list(init_containers)
    sidecars = [c for c in inits if c.get("restartPolicy") == "Always"]
    running = sum((_requests(c) for c in [*containers, *sidecars]), Resources())
    sidecar_total = sum((_requests(c) for c in sidecars), Resources())
    request = running
    for init in inits:
        if init.get("restartPolicy") != "Always":
            request = request.most(_requests(init) + sidecar_total)
    return replace(request, pods=1)


def _scaled(value: Any, replicas: int, round_up: bool) -> int:
    if isinstance(value, str) and value.strip().endswith("%"):
        share = Decimal(value.strip()[:-1]) * replicas / 100
        return int(share.to_integral_value(ROUND_CEILING) if round_up else math.floor(share))
    return _count(value)


def surge_pods(kind: str, strategy: Mapping[str, Any] | None, replicas: int) -> int:
    """Pods a rolling update of a Deployment must start before it may stop an old one (ResolveFenceposts)."""
    strategy = strategy or {}
    if kind != "Deployment" or replicas < 1 or strategy.get("type") == "Recreate":
        return 0
    rolling = {**DEFAULT_ROLLING_UPDATE, **(strategy.get("rollingUpdate") or {})}
    surge = _scaled(rolling["maxSurge"], replicas, round_up=True)
    unavailable = _scaled(rolling["maxUnavailable"], replicas, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge if unavailable == 0 else 0


def _required_terms(affinity: Mapping[str, Any] | None) -> tuple[Mapping[str, Any], ...] | None:
    required = ((affinity or {}).get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution")
    if not required:
        return None
    return tuple(required.get("nodeSelectorTerms") or ())


def _one_per_node(affinity: Mapping[str, Any] | None, pod_labels: Mapping[str, Any], chart_fills_selector: bool) -> bool:
    terms = ((affinity or {}).get("podAntiAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution") or ()
    for term in terms:
        if term.get("topologyKey") != HOSTNAME:
            continue
        selector = term.get("labelSelector")
        if selector is None:
            # Karpenter's chart fills in the pod's own labels (templates/deployment.yaml, karpenter.patchAffinity: "If an
            # explicit label selector is not provided ... one will be created from the pod selector labels", values.yaml).
            if chart_fills_selector:
                return True
            continue
        wanted = selector.get("matchLabels") or {}
        if wanted and all(pod_labels.get(key) == value for key, value in wanted.items()) and not selector.get("matchExpressions"):
            return True
    return False


def _workload(
    name: str,
    kind: str,
    source: str,
    pod_spec: Mapping[str, Any],
    replicas: int,
    strategy: Mapping[str, Any] | None,
    max_replicas: int | None = None,
    pod_labels: Mapping[str, Any] | None = None,
    chart_fills_selector: bool = False,
) -> Workload:
    affinity = pod_spec.get("affinity")
    return Workload(
        name=name,
        kind=kind,
        source=source,
        request=pod_request(pod_spec.get("containers") or (), pod_spec.get("initContainers") or ()),
        replicas=1 if kind == "DaemonSet" else replicas,
        max_replicas=1 if kind == "DaemonSet" else max(replicas, max_replicas or replicas),
        surge=surge_pods(kind, strategy, replicas),
        node_selector={str(k): str(v) for k, v in (pod_spec.get("nodeSelector") or {}).items()},
        affinity_terms=_required_terms(affinity),
        tolerations=tuple(pod_spec.get("tolerations") or ()),
        one_per_node=_one_per_node(affinity, pod_labels or {}, chart_fills_selector),
    )


def _autoscalers(query: PlanQuery) -> dict[tuple[str, str, str], tuple[int, int]]:
    """(namespace, kind, name) of each HPA's target -> (minReplicas, maxReplicas)."""
    found = {}
    for hpa in (r for t in HPA_TYPES for r in query.of_type(t)):
        inputs = hpa["inputs"]
        target = (inputs.get("spec") or {}).get("scaleTargetRef") or {}
        namespace = str((inputs.get("metadata") or {}).get("namespace") or "default")
        spec = inputs.get("spec") or {}
        key = (namespace, str(target.get("kind")), str(target.get("name")))
        try:
            found[key] = (_count(spec.get("minReplicas"), 1), _count(spec.get("maxReplicas"), 1))
        except ValueError:
            continue  # the API server refuses it; its target keeps its own replicas
    return found


def _plan_workloads(query: PlanQuery) -> Iterator[tuple[Resource, Workload | str]]:
    """Each Deployment, StatefulSet and DaemonSet of the plan, or why its pods cannot be counted."""
    scalers = _autoscalers(query)
    for resource_type, kind in WORKLOAD_KINDS.items():
        for resource in query.of_type(resource_type):
            inputs = resource["inputs"]
            metadata = inputs.get("metadata") or {}
            spec = inputs.get("spec") or {}
            template = spec.get("template") or {}
            namespace = str(metadata.get("namespace") or "default")
            name = str(metadata.get("name") or resource["name"])
            try:
                replicas = _count(spec.get("replicas"), 1)
                low, high = scalers.get((namespace, kind, name), (replicas, replicas))
                yield (
                    resource,
                    _workload(
                        f"{kind} {namespace}/{name}",
                        kind,
                        resource["urn"],
                        template.get("spec") or {},
                        max(replicas, low),
                        spec.get("strategy"),
                        max_replicas=high,
                        pod_labels=(template.get("metadata") or {}).get("labels") or {},
                    ),
                )
            except ValueError as error:
                yield resource, f"{kind} {namespace}/{name}: {error}"


# The charts this program installs and what of their values shapes their pods: the defaults are the charts' own
# values.yaml at the pinned version (../shared/charts/<chart>-<version>/, SOURCE.yaml naming the commit), only the keys
# used here; Helm merges the release's values over them (maps key by key, anything else replaced).
@dataclass(frozen=True)
class ChartWorkload:
    name: str
    kind: str  # Deployment, unless kind_path says otherwise
    paths: Mapping[str, tuple[str, ...]]  # replicas, resources, nodeSelector, affinity, tolerations, strategy
    kind_path: tuple[str, ...] | None = None
    # The chart fills in the pod's own labels where an anti-affinity term has no selector.
    fills_selector: bool = False


@dataclass(frozen=True)
class ChartPods:
    versions: tuple[str, ...]
    source: str
    defaults: Mapping[str, Any]
    workloads: tuple[ChartWorkload, ...]


def _paths(base: tuple[str, ...], strategy: str, replicas: str, resources: tuple[str, ...] = ()) -> dict[str, tuple[str, ...]]:
    return {
        "replicas": (*base, replicas),
        "resources": resources or (*base, "resources"),
        "nodeSelector": (*base, "nodeSelector"),
        "affinity": (*base, "affinity"),
        "tolerations": (*base, "tolerations"),
        "strategy": (*base, strategy),
    }


_NO_PLACEMENT: Final[dict[str, Any]] = {"nodeSelector": {}, "tolerations": [], "affinity": {}}
CHARTS: Final[Mapping[str, ChartPods]] = {
    "karpenter": ChartPods(
        ("1.14.1",),
        "aws/karpenter-provider-aws charts/karpenter/values.yaml at c88abbbad455186e69e30296c595e474123e9bc1 (release v1.14.1)",
        {
            "replicas": 2,
            "strategy": {"rollingUpdate": {"maxUnavailable": 1}},
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {"matchExpressions": [{"key": "karpenter.sh/nodepool", "operator": "DoesNotExist"}]}
                        ]
                    }
                },
                "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": HOSTNAME}]},
            },
            "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
            "controller": {"resources": {}},
        },
        (
            ChartWorkload(
                "karpenter", "Deployment", _paths((), "strategy", "replicas", ("controller", "resources")), fills_selector=True
            ),
        ),
    ),
    "karpenter-crd": ChartPods(("1.14.1",), "aws/karpenter-provider-aws charts/karpenter-crd (CRDs only)", {}, ()),
    "nginx-ingress": ChartPods(
        ("2.6.4",),
        "nginx/kubernetes-ingress charts/nginx-ingress/values.yaml at f92a24e4fd2b52c72739c4a1f4f9bb6424bf5731 (tag v5.5.4)",
        {
            "controller": {
                "kind": "deployment",
                "replicaCount": 1,
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                "strategy": {},
                # No nodeSelector of its own (values.yaml only comments one out).
                "tolerations": [],
                "affinity": {},
            }
        },
        (ChartWorkload("controller", "Deployment", _paths(("controller",), "strategy", "replicaCount"), ("controller", "kind")),),
    ),
    "ingress-nginx": ChartPods(
        ("4.15.1",),
        "kubernetes/ingress-nginx charts/ingress-nginx/values.yaml at 0a5901f3c64f11e92e487799b8da3f00cca37515 "
        "(tag helm-chart-4.15.1)",
        {
            "controller": {
                "kind": "Deployment",
                "replicaCount": 1,
                "resources": {"requests": {"cpu": "100m", "memory": "90Mi"}},
                "updateStrategy": {},
                **_NO_PLACEMENT,
                "nodeSelector": {"kubernetes.io/os": "linux"},
            }
        },
        (
            ChartWorkload(
                "controller", "Deployment", _paths(("controller",), "updateStrategy", "replicaCount"), ("controller", "kind")
            ),
        ),
    ),
    "metrics-server": ChartPods(
        ("3.13.1",),
        "kubernetes-sigs/metrics-server charts/metrics-server/values.yaml at 842dcc8c42f22cc19f10c7d5f2d32a9f4b6013b0 "
        "(tag metrics-server-helm-chart-3.13.1)",
        {"replicas": 1, "resources": {"requests": {"cpu": "100m", "memory": "200Mi"}}, "updateStrategy": {}, **_NO_PLACEMENT},
        (ChartWorkload("metrics-server", "Deployment", _paths((), "updateStrategy", "replicas")),),
    ),
    "cluster-autoscaler": ChartPods(
        ("9.51.0", "9.53.0", "9.54.0"),
        "kubernetes/autoscaler charts/cluster-autoscaler/values.yaml at 9befb31fd94d (9.51.0), a2db9eb71c28 (9.53.0), "
        "d4a3ca1d9bf7 (9.54.0)",
        {"replicaCount": 1, "resources": {}, "updateStrategy": {}, **_NO_PLACEMENT},
        (ChartWorkload("cluster-autoscaler", "Deployment", _paths((), "updateStrategy", "replicaCount")),),
    ),
}
_CHART_KINDS: Final = {"deployment": "Deployment", "daemonset": "DaemonSet", "statefulset": "StatefulSet"}


def helm_merge(defaults: Any, values: Any) -> Any:
    """Helm's coalescing of a release's values over the chart's: maps merge key by key, a null deletes the key,
    anything else replaces the default."""
    if not isinstance(defaults, Mapping) or not isinstance(values, Mapping):
        return values
    merged = dict(defaults)
    for key, value in values.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = helm_merge(defaults.get(key), value)
    return merged


def _at(values: Mapping[str, Any], path: Sequence[str]) -> Any:
    current: Any = values
    for key in path:
        if not isinstance(current, Mapping):
            return None
        current = current.get(key)
    return current


def _release_workloads(query: PlanQuery, release: Resource) -> list[Workload]:
    chart = _chart_name(release)
    version = str(release["inputs"].get("version", ""))
    known = CHARTS.get(chart)
    if known is None or version not in known.versions:
        raise LookupError(f"chart {chart} {version}: its default values are not read here (offline/analyses/capacity.py CHARTS)")
    values = helm_merge(known.defaults, release["inputs"].get("values") or {})
    release_name = str(release["inputs"].get("name") or release["name"])
    found = []
    for workload in known.workloads:
        kind = workload.kind
        if workload.kind_path is not None:
            declared = str(_at(values, workload.kind_path) or "")
            if declared.lower() not in _CHART_KINDS:
                raise LookupError(f"chart {chart}: controller kind {declared!r} is not one this rehearsal counts")
            kind = _CHART_KINDS[declared.lower()]
        pod_spec = {
            "containers": [{"name": workload.name, "resources": _at(values, workload.paths["resources"]) or {}}],
            "nodeSelector": _at(values, workload.paths["nodeSelector"]) or {},
            "affinity": _at(values, workload.paths["affinity"]) or {},
            "tolerations": _at(values, workload.paths["tolerations"]) or [],
        }
        found.append(
            _workload(
                f"{' '.join(dict.fromkeys((release_name, workload.name)))} (Helm chart {chart} {version})",
                kind,
                release["urn"],
                pod_spec,
                _count(_at(values, workload.paths["replicas"]), 1),
                _at(values, workload.paths["strategy"]),
                chart_fills_selector=workload.fills_selector,
            )
        )
    return found


def _installed_addons(query: PlanQuery) -> dict[str, tuple[Resource, Mapping[str, Any]]]:
    """EKS add-ons the plan installs -> (the resource, its configuration values)."""
    found: dict[str, tuple[Resource, Mapping[str, Any]]] = {}
    for cluster in query.of_type("eks:index:Cluster"):
        inputs = cluster["inputs"]
        # pulumi-eks installs vpc-cni and kube-proxy with the control plane (CoreDNS only where enabled).
        found["vpc-cni"] = (cluster, {})
        if (inputs.get("kubeProxyAddonOptions") or {}).get("enabled", True) is not False:
            found["kube-proxy"] = (cluster, {})
        if (inputs.get("corednsAddonOptions") or {}).get("enabled") is True:
            found["coredns"] = (cluster, {})
    for addon in query.of_type("aws:eks/addon:Addon"):
        raw = addon["inputs"].get("configurationValues")
        try:
            configuration = json.loads(raw) if isinstance(raw, str) and raw.strip() else {}
        except json.JSONDecodeError as error:
            raise LookupError(f"add-on {addon['name']}: configurationValues is not JSON ({error})") from None
        found[str(addon["inputs"].get("addonName"))] = (addon, configuration if isinstance(configuration, Mapping) else {})
    return found


def _as_containers(containers: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The figures file's containers ({name, requests}) in the shape of a pod spec's."""
    return [{"name": c["name"], "resources": {"requests": dict(c["requests"])}} for c in containers]


def _addon_workloads(addon: AddonPods, resource: Resource, configuration: Mapping[str, Any]) -> list[Workload]:
    """The add-on's pods, with what its configuration values set in their place (the add-on's schema keys
    replicaCount, resources, nodeSelector, affinity and tolerations, under the pod's `configuration` path)."""
    found = []
    for pod in addon.pods:
        settings = _at(configuration, pod.get("configuration", [])) if "configuration" in pod else {}
        settings = settings if isinstance(settings, Mapping) else {}
        containers = _as_containers(pod["containers"])
        if "resources" in settings:
            containers = [{"name": c["name"], "resources": settings["resources"]} for c in containers]
        pod_spec = {
            "containers": containers,
            "initContainers": _as_containers(pod.get("initContainers", [])),
            "nodeSelector": settings.get("nodeSelector", pod.get("nodeSelector", {})),
            "affinity": settings.get("affinity", pod.get("affinity", {})),
            "tolerations": settings.get("tolerations", pod.get("tolerations", [])),
        }
        found.append(
            _workload(
                f"{pod['name']} (EKS add-on {addon.addon})",
                str(pod["kind"]),
                f"{resource['urn']} ({addon.source})",
                pod_spec,
                _count(settings.get("replicaCount"), pod.get("replicas", 1)),
                pod.get("strategy"),
            )
        )
    return found


def workloads(query: PlanQuery, data: CapacityData) -> tuple[list[Workload], list[dict[str, str]]]:
    """Every controller of pods the plan creates, and what the rehearsal could not count (with the reason)."""
    found: list[Workload] = []
    uncounted = []
    for resource, workload in _plan_workloads(query):
        if isinstance(workload, Workload):
            found.append(workload)
        else:
            uncounted.append({"resource": resource["urn"], "reason": workload})
    for release in query.of_type(HELM_RELEASE):
        try:
            found.extend(_release_workloads(query, release))
        except (LookupError, ValueError) as error:
            uncounted.append({"resource": release["urn"], "reason": str(error)})
    try:
        installed = _installed_addons(query)
    except LookupError as error:
        return found, [*uncounted, {"resource": "EKS add-ons", "reason": str(error)}]
    for name, (resource, configuration) in sorted(installed.items()):
        if name not in data.addons:
            uncounted.append({"resource": resource["urn"], "reason": f"add-on {name}: no pods for it in {data.path.name}"})
            continue
        try:
            found.extend(_addon_workloads(data.addons[name], resource, configuration))
        except ValueError as error:
            uncounted.append({"resource": resource["urn"], "reason": f"add-on {name}: {error}"})
    return found, uncounted


# ---------------------------------------------------------------------------------------------------------------
# Placement


def _expression_may_match(expression: Mapping[str, Any], labels: Labels) -> bool:
    key, operator = str(expression.get("key")), expression.get("operator")
    values = {str(v) for v in expression.get("values") or ()}
    present, known = key in labels, labels.get(key)
    if operator == "In":
        return present and (known is None or bool(known & values))
    if operator == "NotIn":
        return not present or known is None or bool(known - values)
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    return present  # Gt, Lt: compared with a value of each node's own


def _term_may_match(term: Mapping[str, Any], labels: Labels) -> bool:
    expressions = term.get("matchExpressions") or ()
    if not expressions and not term.get("matchFields"):
        return False  # an empty term matches no node (Kubernetes API, NodeSelectorTerm)
    return all(_expression_may_match(e, labels) for e in expressions)


def _tolerates(tolerations: Iterable[Mapping[str, Any]], taint: Taint) -> bool:
    for toleration in tolerations:
        key, operator = toleration.get("key") or "", toleration.get("operator") or "Equal"
        if key and key != taint.key:
            continue
        if not key and operator != "Exists":
            continue
        if toleration.get("effect") and toleration.get("effect") != taint.effect:
            continue
        if operator == "Exists" or str(toleration.get("value") or "") == taint.value:
            return True
    return False


def may_land(workload: Workload, pool: Pool) -> bool:
    """Whether the scheduler may put the workload's pods on some node of the pool."""
    if not all(
        _expression_may_match({"key": k, "operator": "In", "values": [v]}, pool.labels) for k, v in workload.node_selector.items()
    ):
        return False
    if workload.affinity_terms is not None and not any(_term_may_match(t, pool.labels) for t in workload.affinity_terms):
        return False
    return all(taint.effect == "PreferNoSchedule" or _tolerates(workload.tolerations, taint) for taint in pool.taints)


# ---------------------------------------------------------------------------------------------------------------
# The rehearsal


@dataclass(frozen=True)
class Demand:
    workload: str
    pods: int
    request: Resources  # all of them


@dataclass(frozen=True)
class Broken:
    pool: str
    check: str  # requests, surge, one-per-node, max-size, pod-size, no-pool, daemon-sets
    message: str
    workload: str = ""

    def to_json(self) -> dict[str, str]:
        return {"pool": self.pool, "check": self.check, "workload": self.workload, "message": self.message}


@dataclass(frozen=True)
class PoolCapacity:
    pool: Pool
    # Why it was not checked (an instance type without figures), else "".
    not_checked: str = ""
    nodes: tuple[NodeFigures, ...] = ()
    node: Resources = Resources()  # one node's allocatable, the least of its types per resource
    daemon_sets: tuple[Demand, ...] = ()
    free: Resources = Resources()  # per node, after the DaemonSets
    pods: tuple[Demand, ...] = ()
    surges: tuple[Demand, ...] = ()
    requests: Resources = Resources()
    # Fixed pools: what all its nodes hold after their DaemonSets.
    capacity: Resources | None = None
    # Autoscaled pools: nodes needed for the plan's replicas plus the largest surge, and with every HPA at its max
    # (None: no number of nodes can hold them).
    nodes_needed: int | None = None
    nodes_needed_at_max: int | None = None

    def to_json(self) -> dict[str, Any]:
        pool = self.pool
        report: dict[str, Any] = {
            "pool": pool.name,
            "launchedBy": pool.launched_by,
            "fixed": pool.fixed,
            "instanceTypes": list(pool.instance_types),
            "minNodes": pool.min_nodes,
            "maxNodes": pool.max_nodes,
        }
        if self.not_checked:
            return {**report, "notChecked": self.not_checked}
        return {
            **report,
            "nodeFigures": [figures.to_json() for figures in self.nodes],
            "allocatablePerNode": self.node.to_json(),
            "daemonSets": [{"workload": d.workload, "perNode": d.request.to_json()} for d in self.daemon_sets],
            "freePerNode": self.free.to_json(),
            "pods": [{"workload": d.workload, "pods": d.pods, "requests": d.request.to_json()} for d in self.pods],
            "requests": self.requests.to_json(),
            "surges": [{"workload": d.workload, "pods": d.pods, "requests": d.request.to_json()} for d in self.surges],
            **({"capacity": self.capacity.to_json()} if self.capacity is not None else {}),
            **(
                {"nodesNeeded": self.nodes_needed, "nodesNeededWithHpasAtMax": self.nodes_needed_at_max} if not pool.fixed else {}
            ),
        }


def _nodes_for(demand: Resources, free: Resources) -> int | None:
    needed = 0
    for name in ("cpu", "memory", "pods"):
        wanted, per_node = getattr(demand, name), getattr(free, name)
        if wanted <= 0:
            continue
        if per_node <= 0:
            return None
        needed = max(needed, -(-wanted // per_node))
    return needed


def _pool_figures(pool: Pool, data: CapacityData) -> tuple[str, tuple[NodeFigures, ...]]:
    if not pool.instance_types:
        return "its instance types are not in the plan", ()
    missing = [t for t in pool.instance_types if t not in data.instance_types]
    if missing:
        return f"no figures for {', '.join(missing)} in {data.path.name}", ()
    return "", tuple(node_figures(data.instance_types[t], data.kubelet) for t in pool.instance_types)


def _least(figures: Iterable[Resources]) -> Resources:
    found: Resources | None = None
    for resources in figures:
        found = resources if found is None else found.least(resources)
    return found or Resources()


@dataclass(frozen=True)
class Rehearsal:
    pools: tuple[PoolCapacity, ...]
    broken: tuple[Broken, ...]
    uncounted: tuple[dict[str, str], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "pools": [pool.to_json() for pool in self.pools],
            "broken": [broken.to_json() for broken in self.broken],
            "notCounted": list(self.uncounted),
        }


def _check_pool(pool: Pool, data: CapacityData, placed: Sequence[Workload], broken: list[Broken]) -> PoolCapacity:
    not_checked, figures = _pool_figures(pool, data)
    if not_checked:
        return PoolCapacity(pool, not_checked)
    node = _least(f.allocatable for f in figures)
    daemons = tuple(Demand(w.name, 1, w.request) for w in placed if w.daemon)
    free = node - sum((d.request for d in daemons), Resources())
    short = Resources().over(free)
    if short:
        broken.append(
            Broken(
                pool.name,
                "daemon-sets",
                f"its DaemonSets alone request more than a node has: {_resource_text(node - free, short)} "
                f"of {_resource_text(node, short)}",
            )
        )
    others = [w for w in placed if not w.daemon and (pool.launched_by == "Karpenter" or w.request.fits(free))]
    pods = tuple(Demand(w.name, w.replicas, w.request.times(w.replicas)) for w in others)
    surges = tuple(Demand(w.name, w.surge, w.request.times(w.surge)) for w in others if w.surge)
    requests = sum((d.request for d in pods), Resources())
    largest_surge = Resources()
    for surge in surges:
        largest_surge = largest_surge.most(surge.request)
    spread = max((w.replicas for w in others if w.one_per_node), default=0)
    result = PoolCapacity(pool, "", figures, node, daemons, free, pods, surges, requests)
    if pool.fixed:
        capacity = free.times(pool.min_nodes)
        over = requests.over(capacity)
        if over:
            broken.append(
                Broken(
                    pool.name,
                    "requests",
                    f"its pods request {_resource_text(requests, over)} of the {_resource_text(capacity, over)} its "
                    f"{pool.min_nodes} nodes hold: some stay Pending",
                )
            )
        else:
            for surge in surges:
                total = requests + surge.request
                over = total.over(capacity)
                if over:
                    broken.append(
                        Broken(
                            pool.name,
                            "surge",
                            f"a rolling update of {surge.workload} cannot start its surge pod: "
                            f"{_resource_text(total, over)} of {_resource_text(capacity, over)}",
                            surge.workload,
                        )
                    )
        if spread > pool.min_nodes:
            workload = next(w.name for w in others if w.one_per_node and w.replicas == spread)
            broken.append(
                Broken(
                    pool.name,
                    "one-per-node",
                    f"{workload} runs {spread} pods on different nodes; the pool has {pool.min_nodes}",
                    workload,
                )
            )
        return replace(result, capacity=capacity)
    needed = _nodes_for(requests + largest_surge, free)
    at_max = _nodes_for(sum((w.request.times(w.max_replicas) for w in others), Resources()) + largest_surge, free)
    needed = None if needed is None else max(needed, spread)
    at_max = None if at_max is None else max(at_max, spread)
    if needed is None or (pool.max_nodes is not None and needed > pool.max_nodes):
        limit = "has no node limit" if pool.max_nodes is None else f"may have {pool.max_nodes}"
        broken.append(Broken(pool.name, "max-size", f"its pods and the largest surge need {_nodes(needed)}; the pool {limit}"))
    return replace(result, nodes_needed=needed, nodes_needed_at_max=at_max)


def _fits_a_node(workload: Workload, pool: PoolCapacity) -> bool:
    if pool.not_checked:
        return True
    if pool.pool.launched_by == "Karpenter":
        # Karpenter launches whichever listed type fits the pod.
        daemons = sum((d.request for d in pool.daemon_sets), Resources())
        return any(workload.request.fits(f.allocatable - daemons) for f in pool.nodes)
    return workload.request.fits(pool.free)


def check(query: PlanQuery, data: CapacityData) -> Rehearsal:
    """Every pool's capacity against the pods that may land on it, and the needs that do not hold."""
    pools = node_pools(query)
    found, uncounted = workloads(query, data)
    broken: list[Broken] = []
    placements = {pool.name: [w for w in found if may_land(w, pool)] for pool in pools}
    checked = tuple(_check_pool(pool, data, placements[pool.name], broken) for pool in pools)
    for workload in (w for w in found if not w.daemon):
        candidates = [p for p in checked if workload in placements[p.pool.name]]
        if not candidates and pools:
            broken.append(Broken("", "no-pool", f"{workload.name} may land on no pool: its pods stay Pending", workload.name))
        elif candidates and not any(_fits_a_node(workload, p) for p in candidates):
            names = ", ".join(p.pool.name for p in candidates)
            broken.append(
                Broken(
                    names,
                    "pod-size",
                    f"a pod of {workload.name} requests {workload.request.text()}: more than a node of {names} has free",
                    workload.name,
                )
            )
    return Rehearsal(checked, tuple(broken), tuple(uncounted))


def rehearse(query: PlanQuery, data: CapacityData) -> dict[str, Any]:
    """The capacity report (capacity.json): every pool checked, the broken needs, and what could not be counted."""
    return check(query, data).to_json()


def _nodes(count: int | None) -> str:
    return "more nodes than any number" if count is None else f"{count} node{'' if count == 1 else 's'}"


def summary(report: Mapping[str, Any], stack: str) -> Iterable[str]:
    pools, broken = report["pools"], report["broken"]
    fixed = sum(1 for pool in pools if pool["fixed"])
    yield f"capacity {stack}: {len(pools)} pools ({fixed} fixed) checked against their pods, {len(broken)} broken"
    for pool in pools:
        name = f"  {pool['pool']:<16}"
        if "notChecked" in pool:
            yield f"{name}not checked: {pool['notChecked']}"
            continue
        free, requests = Resources(**_fields(pool["freePerNode"])), Resources(**_fields(pool["requests"]))
        if pool["fixed"]:
            capacity = Resources(**_fields(pool["capacity"]))
            yield f"{name}fixed, {pool['minNodes']} nodes: requests {requests.text()} of {capacity.text()}"
        else:
            limit = "no limit" if pool["maxNodes"] is None else f"at most {pool['maxNodes']}"
            yield (
                f"{name}{pool['launchedBy']}, {limit}: needs {_nodes(pool['nodesNeeded'])} "
                f"({_nodes(pool['nodesNeededWithHpasAtMax'])} with every HPA at its max) for {requests.text()}"
            )
        yield f"  {'':<16}per node after DaemonSets: {free.text()}"
    for item in broken:
        yield f"  broken  {item['check']:<13} {item['pool'] + ': ' if item['pool'] else ''}{item['message']}"
    for item in report["notCounted"]:
        yield f"  not counted  {item['resource'].rsplit('::', 1)[-1]}: {item['reason']}"


def _fields(resources: Mapping[str, int]) -> dict[str, int]:
    return {"cpu": resources["cpuMillicores"], "memory": resources["memoryBytes"], "pods": resources["pods"]}
