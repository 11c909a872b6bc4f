"""How long a first `pulumi up` takes: the critical path through the plan's create order.

`pulumi up` creates a resource once everything it waits for exists, many at a time; so the wall time is the
longest chain of waits, weighted by typical create durations (data/deploy-durations.json, each with its
source). The waits are the plan's create edges (`PlanQuery.create_edges`), the same the lifecycle rehearsal uses.

Some waits exist for `pulumi destroy` ordering or convenience, not because the resource needs the other
one to run. `runtime_need` is the heuristic that tells them apart (see its docstring); a wait without a
need that lengthens the critical path is flagged with the time it costs.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Mapping, Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offline.analyses.sourced_data import FieldReader
from offline.plan.query import PlanQuery, Resource, load_balancer_services

DURATIONS_FILE = Path(__file__).resolve().parents[2] / "data" / "deploy-durations.json"
WORKLOAD_TYPES = (
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:apps/v1:ReplicaSet",
    "kubernetes:batch/v1:Job",
    "kubernetes:batch/v1:CronJob",
    "kubernetes:core/v1:Pod",
    "kubernetes:helm.sh/v3:Release",
    "kubernetes:helm.sh/v4:Chart",
    "aws:eks/addon:Addon",
)
POD_IDENTITY_ROLE = "eks-platform:iam:PodIdentityRole"


class DeployTimeError(Exception):
    """A durations file or a set of waits the estimate cannot use, reported as one line."""


@dataclass(frozen=True)
class Duration:
    seconds: int
    source: str | None
    note: str


@dataclass(frozen=True)
class DurationTable:
    entries: tuple[tuple[str, Mapping[str, Any], Duration], ...]
    default: Duration

    def for_resource(self, resource: Resource) -> Duration:
        traits = _traits(resource)
        for kind, where, duration in self.entries:
            if kind == resource["type"] and all(traits.get(key) == value for key, value in where.items()):
                return duration
        if resource["type"].startswith("pulumi:providers:"):
            return Duration(0, None, "provider: configured locally")
        if not resource["custom"]:
            return Duration(0, None, "component: no work of its own")
        return self.default


def _traits(resource: Resource) -> dict[str, Any]:
    inputs = resource["inputs"]
    return {"addonName": inputs.get("addonName"), "loadBalancer": any(True for _ in load_balancer_services(inputs.get("values")))}


def _duration(reader: FieldReader, entry: Any, where: str) -> Duration:
    fields = reader.fields(entry, where, {"seconds", "source", "note"}, {"type", "where"})
    seconds = fields["seconds"]
    if not isinstance(seconds, int) or isinstance(seconds, bool) or not 0 <= seconds <= 86_400:
        raise reader.fail(f"{where}.seconds", f"must be a whole number of seconds (0 to 86400), got {seconds!r}")
    note = reader.text(fields["note"], f"{where}.note")
    if fields["source"] is None:
        if not note.startswith("no source"):
            raise reader.fail(f"{where}.note", "must start with 'no source' when source is null")
        return Duration(seconds, None, note)
    return Duration(seconds, reader.url(fields["source"], f"{where}.source"), note)


def load_durations(path: Path = DURATIONS_FILE) -> DurationTable:
    reader = FieldReader(path, DeployTimeError)
    top = reader.fields(reader.load(), "the top level", {"schema", "default", "durations"}, {"about"})
    if top["schema"] != 1:
        raise reader.fail("schema", f"must be 1, got {top['schema']!r}")
    entries = []
    listed = top["durations"]
    if not isinstance(listed, list):
        raise reader.fail("durations", "must be a list")
    for index, entry in enumerate(listed):
        where = f"durations[{index}]"
        duration = _duration(reader, entry, where)
        kind = reader.text(entry.get("type"), f"{where}.type")
        traits = reader.mapping(entry.get("where", {}), f"{where}.where")
        unknown = sorted(set(traits) - {"addonName", "loadBalancer"})
        if unknown:
            raise reader.fail(f"{where}.where", f"has unknown trait {unknown[0]!r} (traits: addonName, loadBalancer)")
        entries.append((kind, traits, duration))
    return DurationTable(tuple(entries), _duration(reader, top["default"], "default"))


def _needs_ebs_volumes(resource: Resource) -> bool:
    def mentions(value: Any) -> bool:
        if isinstance(value, dict):
            return "persistentVolumeClaim" in value or "volumeClaimTemplates" in value or any(mentions(v) for v in value.values())
        return isinstance(value, list) and any(mentions(v) for v in value)

    return resource["type"] in (
        "kubernetes:core/v1:PersistentVolumeClaim",
        "pulumi-python:dynamic/storage:VolumeReleaseGate",
    ) or mentions(resource["inputs"])


def _ancestors(query: PlanQuery, resource: Resource) -> list[str]:
    chain, parent = [], resource["parent"]
    while parent:
        chain.append(parent)
        parent = (query.find(parent) or {}).get("parent")
    return chain


def runtime_need(query: PlanQuery, waiter: Resource, waited: Resource) -> bool:
    """Whether `waiter` needs `waited` to exist in order to be created and run (heuristic, errs towards yes).

    Only waits on cluster add-ons and on add-on-only IAM can be judged from the plan, so only those can be
    "no": the EBS CSI driver is needed by claims, by workloads that mount a claim and by the volume gate;
    the Pod Identity agent by whatever uses a pod identity association; CoreDNS by anything that runs pods.
    A role inside a PodIdentityRole component is needed by what shares the component that owns the role.
    Every other wait (data flow, provider, nodes, cluster, unknown add-ons) counts as needed.
    """
    if waited["type"] == "aws:eks/addon:Addon":
        addon = waited["inputs"].get("addonName")
        if addon == "aws-ebs-csi-driver":
            return _needs_ebs_volumes(waiter)
        if addon == "eks-pod-identity-agent":
            associated = any(
                (query.find(urn) or {}).get("type") == "aws:eks/podIdentityAssociation:PodIdentityAssociation"
                for urn in waiter["dependencies"]
            )
            return associated or bool(waiter["inputs"].get("podIdentityAssociations"))
        if addon == "coredns":
            return waiter["type"] in WORKLOAD_TYPES
        return True
    role = next(
        (urn for urn in [waited["urn"], *_ancestors(query, waited)] if (query.find(urn) or {}).get("type") == POD_IDENTITY_ROLE),
        None,
    )
    if role is not None:
        owner = (query.find(role) or {}).get("parent")
        return owner in _ancestors(query, waiter)
    return True


@dataclass(frozen=True)
class Step:
    urn: str
    name: str
    type: str
    start: int
    finish: int
    duration: Duration


@dataclass(frozen=True)
class FlaggedWait:
    waiter: str
    waited: str
    saves_seconds: int


@dataclass(frozen=True)
class DeployEstimate:
    total_seconds: int
    path: tuple[Step, ...]
    flagged: tuple[FlaggedWait, ...]
    unneeded_waits: int
    without_unneeded_seconds: int

    @property
    def unsourced(self) -> tuple[Step, ...]:
        return tuple(step for step in self.path if step.duration.source is None and step.duration.seconds > 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "criticalPathSeconds": self.total_seconds,
            "withoutUnneededWaitsSeconds": self.without_unneeded_seconds,
            "unneededWaits": self.unneeded_waits,
            "path": [
                {
                    "urn": s.urn,
                    "type": s.type,
                    "start": s.start,
                    "finish": s.finish,
                    "seconds": s.duration.seconds,
                    "source": s.duration.source,
                    "note": s.duration.note,
                }
                for s in self.path
            ],
            "flaggedWaits": [{"waiter": f.waiter, "waited": f.waited, "savesSeconds": f.saves_seconds} for f in self.flagged],
        }

    def render(self) -> str:
        out = [f"Deploy-time estimate (first `pulumi up`, creates only): critical path {_clock(self.total_seconds)}"]
        for step in self.path:
            if step.duration.seconds == 0:
                continue
            source = step.duration.source or step.duration.note
            out.append(f"  {_clock(step.start):>8} +{_clock(step.duration.seconds):<8} {step.name} ({step.type})  [{source}]")
        if self.flagged:
            out.append(
                "  Waits that lengthen it without a runtime need (heuristic: runtime_need in offline/analyses/deploy_time.py):"
            )
            out.extend(f"    {_name(f.waiter)} waits for {_name(f.waited)}: {_clock(f.saves_seconds)}" for f in self.flagged)
        out.append(
            f"  Without all {self.unneeded_waits} waits that have no runtime need: {_clock(self.without_unneeded_seconds)}"
            f" (saves {_clock(self.total_seconds - self.without_unneeded_seconds)})"
        )
        if self.unsourced:
            out.append(
                "  Durations on this path without a source (assumed): "
                + ", ".join(f"{s.name} {_clock(s.duration.seconds)}" for s in self.unsourced)
            )
        return "\n".join(out)

    def summary(self) -> str:
        slowest = sorted((s for s in self.path if s.duration.seconds), key=lambda s: -s.duration.seconds)[:3]
        parts = ", ".join(f"{s.name} {_clock(s.duration.seconds)}" for s in slowest)
        saved = _clock(self.total_seconds - self.without_unneeded_seconds)
        flagged = f"; waits without a runtime need add {saved}" if self.flagged else ""
        return f"Deploy time (first `pulumi up`): critical path **{_clock(self.total_seconds)}**, longest steps {parts}{flagged}."


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def _clock(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"


def _longest(
    order: list[str], waits: Mapping[str, Set[str]], seconds: Mapping[str, int]
) -> tuple[dict[str, int], dict[str, str | None]]:
    finish: dict[str, int] = {}
    binding: dict[str, str | None] = {}
    for urn in order:
        # Ties go to the larger urn so the reported path does not depend on set order.
        latest = max(waits[urn], key=lambda dep: (finish[dep], dep), default=None)
        finish[urn] = (finish[latest] if latest else 0) + seconds[urn]
        binding[urn] = latest
    return finish, binding


def _create_order(waits: Mapping[str, Set[str]]) -> list[str]:
    unknown = sorted({dep for deps in waits.values() for dep in deps} - set(waits))
    if unknown:
        raise DeployTimeError(f"waits name {unknown[0]} which is not a resource of the plan")
    pending = {urn: len(deps) for urn, deps in waits.items()}
    waiters: dict[str, list[str]] = {urn: [] for urn in waits}
    for urn, deps in waits.items():
        for dep in deps:
            waiters[dep].append(urn)
    ready = sorted(urn for urn, count in pending.items() if count == 0)
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        urn = heapq.heappop(ready)
        order.append(urn)
        for waiter in waiters[urn]:
            pending[waiter] -= 1
            if pending[waiter] == 0:
                heapq.heappush(ready, waiter)
    if len(order) != len(waits):
        stuck = sorted(urn for urn, count in pending.items() if count)
        raise DeployTimeError(f"the waits form a cycle through {stuck[0]}; nothing on it could ever be created")
    return order


def critical_path(query: PlanQuery, durations: DurationTable) -> DeployEstimate:
    # Only what the create edges name is a step (they leave out local components, which create nothing).
    waits = query.create_edges
    by_urn = {r["urn"]: r for r in query.resources}
    order = _create_order(waits)
    table = {urn: durations.for_resource(by_urn[urn]) for urn in order}
    seconds = {urn: duration.seconds for urn, duration in table.items()}
    finish, binding = _longest(order, waits, seconds)
    end = max(order, key=lambda urn: (finish[urn], urn))
    chain: list[str] = []
    current: str | None = end
    while current is not None:
        chain.append(current)
        current = binding[current]
    chain.reverse()
    path = tuple(Step(u, by_urn[u]["name"], by_urn[u]["type"], finish[u] - seconds[u], finish[u], table[u]) for u in chain)
    total = finish[end]

    unneeded = {(u, v) for u, deps in waits.items() for v in deps if not runtime_need(query, by_urn[u], by_urn[v])}

    def length_without(dropped: Set[tuple[str, str]]) -> int:
        pruned = {u: {v for v in deps if (u, v) not in dropped} for u, deps in waits.items()}
        return max(_longest(order, pruned, seconds)[0].values(), default=0)

    flagged = []
    for waited, waiter in itertools.pairwise(chain):
        if (waiter, waited) in unneeded:
            saves = total - length_without({(waiter, waited)})
            if saves > 0:
                flagged.append(FlaggedWait(waiter, waited, saves))
    return DeployEstimate(total, path, tuple(flagged), len(unneeded), length_without(unneeded))
