"""Kubernetes upgrades Pulumi can reconcile: the control plane moves up one minor version at a time and never down,
and the nodes and every add-on move with it in the same change.

Input: two plan documents (`check_plans`, for `make diff`) or two versions (`check_step`, for the guard before
`make up`, offline/upgrade_guard.py); output: one line per broken rule, each with its source.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from offline.change.replacements import PULUMI_EKS_ADDONS, PULUMI_EKS_NODE_GROUP
from offline.plan.plan_file import UNKNOWN

EKS_ONE_MINOR: Final = "https://docs.aws.amazon.com/eks/latest/eksctl/cluster-upgrade.html"
EKS_NO_DOWNGRADE: Final = "https://docs.aws.amazon.com/eks/latest/userguide/update-cluster.html"
EKS_NODES_MATCH: Final = "https://docs.aws.amazon.com/eks/latest/APIReference/API_UpdateClusterVersion.html"
EKS_ADDONS_STAY: Final = "https://docs.aws.amazon.com/eks/latest/userguide/updating-an-add-on.html"
KUBELET_SKEW: Final = "https://kubernetes.io/releases/version-skew-policy/"

CONTROL_PLANE: Final = "control plane"
NODES: Final = "nodes"
ADDON: Final = "add-on"

_VERSION = re.compile(r"^(\d+)\.(\d+)$")

# The program's add-on build per Kubernetes minor (its sources are cited there). Some builds serve many minors
# (vpc-cni, the EBS CSI driver), so an add-on that keeps its version across an upgrade is right when the table says
# so, and wrong when the table gives another build. Names as EKS spells them -> the table's fields.
ADDON_TABLE: Final = "components/shared/versions.py"
_TABLE_FIELDS: Final = {
    "vpc-cni": "vpc_cni",
    "kube-proxy": "kube_proxy",
    "coredns": "coredns",
    "aws-ebs-csi-driver": "ebs_csi_driver",
    "eks-pod-identity-agent": "pod_identity_agent",
}


def table_addon_version(addon: str, minor: str) -> str | None:
    """The add-on build components/shared/versions.py pins for a Kubernetes minor, or None when it names none."""
    from components.shared.versions import KUBERNETES_RELEASES

    release = KUBERNETES_RELEASES.get(minor)
    field = _TABLE_FIELDS.get(addon)
    return str(getattr(release.addons, field)) if release is not None and field is not None else None


@dataclass(frozen=True)
class VersionInput:
    """An input that carries a Kubernetes (or add-on) version.

    `follows`: the source saying that leaving the input unset makes it follow the control plane ("" when an
    unset version stays where it is); `unless`: an input whose presence cancels that (a launch template).
    `enabled`: an input that, when false, means the add-on is not installed at all.
    """

    resource_type: str
    path: str
    role: str
    addon: str = ""
    follows: str = ""
    unless: str = ""
    enabled: str = ""


# Where versions live in the plan. vpc-cni, kube-proxy and CoreDNS options belong to the pulumi-eks cluster component,
# which resolves an unset add-on version for the cluster's Kubernetes version.
VERSION_INPUTS: Final = (
    VersionInput("eks:index:Cluster", "version", CONTROL_PLANE),
    VersionInput("eks:index:ManagedNodeGroup", "version", NODES, follows=PULUMI_EKS_NODE_GROUP, unless="launchTemplate"),
    # Optional and computed in Terraform: left unset it keeps whatever version the group has.
    VersionInput("aws:eks/nodeGroup:NodeGroup", "version", NODES),
    VersionInput("aws:eks/addon:Addon", "addonVersion", ADDON),
    VersionInput("eks:index:Cluster", "vpcCniOptions.addonVersion", ADDON, addon="vpc-cni", follows=PULUMI_EKS_ADDONS),
    VersionInput(
        "eks:index:Cluster",
        "kubeProxyAddonOptions.version",
        ADDON,
        addon="kube-proxy",
        follows=PULUMI_EKS_ADDONS,
        enabled="kubeProxyAddonOptions.enabled",
    ),
    VersionInput(
        "eks:index:Cluster",
        "corednsAddonOptions.version",
        ADDON,
        addon="coredns",
        follows=PULUMI_EKS_ADDONS,
        enabled="corednsAddonOptions.enabled",
    ),
)


@dataclass(frozen=True)
class Carrier:
    """One version-carrying input of one resource in a plan."""

    urn: str
    path: str
    role: str
    label: str
    version: str | None  # None: not set (or only known after deployment)
    follows: bool  # unset, and upstream makes it follow the control plane
    cluster: str  # the cluster URN it belongs to
    addon: str = ""  # the add-on's EKS name (vpc-cni, coredns, ...)


class BadVersion(Exception):
    """A version that is not of the form 1.NN; the message is one line."""


def parse_minor(version: str, what: str) -> tuple[int, int]:
    match = _VERSION.match(version)
    if match is None:
        raise BadVersion(f"{what} {version!r} is not a Kubernetes version such as 1.35")
    return int(match[1]), int(match[2])


def input_at(inputs: Mapping[str, Any], dotted: str) -> Any:
    """The value at a dotted input path, or None."""
    value: Any = inputs
    for key in dotted.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def carriers(plan: Mapping[str, Any]) -> list[Carrier]:
    """Every version-carrying input in the plan, tied to its cluster (node groups by URN, add-ons by cluster name)."""
    resources = plan["resources"]
    clusters = {r["urn"]: r["inputs"].get("name") for r in resources if r["type"] == "eks:index:Cluster"}
    by_name = {name: urn for urn, name in clusters.items() if isinstance(name, str)}
    only_cluster = next(iter(clusters)) if len(clusters) == 1 else ""
    found: list[Carrier] = []
    for resource in resources:
        inputs = resource["inputs"]
        for spec in VERSION_INPUTS:
            if resource["type"] != spec.resource_type or (spec.enabled and input_at(inputs, spec.enabled) is False):
                continue
            if spec.role == CONTROL_PLANE or spec.addon:
                cluster = resource["urn"]
            else:
                cluster = inputs.get("cluster") or by_name.get(inputs.get("clusterName"), "") or only_cluster
            value = input_at(inputs, spec.path)
            # A version only known after deployment comes from another resource, in practice the cluster.
            version = None if value in (None, UNKNOWN) else str(value)
            follows = version is None and (value == UNKNOWN or (bool(spec.follows) and not inputs.get(spec.unless)))
            addon = spec.addon or str(inputs.get("addonName") or "")
            label = {
                CONTROL_PLANE: f"cluster {resource['name']}",
                NODES: f"node group {resource['name']}",
                ADDON: f"add-on {addon} ({resource['name']})",
            }[spec.role]
            found.append(Carrier(resource["urn"], spec.path, spec.role, label, version, follows, cluster, addon))
    return found


def check_step(old: str, new: str, what: str) -> str | None:
    """One line when moving the control plane from `old` to `new` is refused, else None."""
    old_minor, new_minor = parse_minor(old, f"{what} version"), parse_minor(new, f"{what} version")
    if new_minor < old_minor:
        return f"{what} would go down from {old} to {new}: EKS cannot downgrade a cluster ({EKS_NO_DOWNGRADE})"
    if new_minor[0] != old_minor[0] or new_minor[1] > old_minor[1] + 1:
        return (
            f"{what} would jump from {old} to {new}: EKS upgrades one minor version at a time, "
            f"so go to {old_minor[0]}.{old_minor[1] + 1} first ({EKS_ONE_MINOR})"
        )
    return None


def _moves_with(carrier: Carrier, before: Carrier | None, old: str, new: str) -> str | None:
    """Why this node group or add-on would not move with a control plane going from `old` to `new`."""
    if carrier.version is None:
        if carrier.follows:
            return None
        source = EKS_NODES_MATCH if carrier.role == NODES else EKS_ADDONS_STAY
        return f"{carrier.label} sets no version, so it stays as it is while the control plane moves to {new} ({source})"
    if carrier.role == NODES and carrier.version != new:
        return (
            f"{carrier.label} is on {carrier.version} while the control plane moves to {new}: "
            f"move both in the same change ({EKS_NODES_MATCH})"
        )
    if carrier.role != ADDON:
        return None
    expected = table_addon_version(carrier.addon, new)
    if expected is not None and carrier.version != expected:
        return (
            f"{carrier.label} is at {carrier.version}, but {ADDON_TABLE} gives {expected} for {new}: "
            f"move it with the control plane in the same change ({EKS_ADDONS_STAY})"
        )
    if expected is None and before is not None and before.version == carrier.version:
        return (
            f"{carrier.label} stays at {carrier.version} while the control plane moves from {old} to {new}, and "
            f"{ADDON_TABLE} has no build of it for {new}: give it the version for {new} in the same change ({EKS_ADDONS_STAY})"
        )
    return None


def _newer_nodes(members: list[Carrier], plane: str, label: str) -> list[str]:
    """Node groups newer than their control plane (a kubelet may not be newer than the API server)."""
    return [
        f"{c.label} is on {c.version}, newer than {label} on {plane} ({KUBELET_SKEW})"
        for c in members
        if c.role == NODES and c.version is not None and parse_minor(c.version, c.label) > parse_minor(plane, label)
    ]


def check_plans(old_plan: Mapping[str, Any], new_plan: Mapping[str, Any]) -> list[str]:
    """Every upgrade rule the change from `old_plan` to `new_plan` breaks, one line each (raises BadVersion)."""
    before = {(c.urn, c.path): c for c in carriers(old_plan)}
    after = carriers(new_plan)
    problems: list[str] = []
    for plane in (c for c in after if c.role == CONTROL_PLANE):
        previous = before.get((plane.urn, plane.path))
        members = [c for c in after if c.role != CONTROL_PLANE and c.cluster == plane.urn]
        old, new = previous.version if previous else None, plane.version
        if new is None:
            continue
        if old is None or old == new:
            problems.extend(_newer_nodes(members, new, plane.label))
            continue
        step = check_step(old, new, plane.label)
        if step is not None:
            problems.append(step)
            continue
        for member in members:
            problem = _moves_with(member, before.get((member.urn, member.path)), old, new)
            if problem is not None:
                problems.append(problem)
    return problems
