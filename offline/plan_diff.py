"""What changing one plan into another would do, resource by resource, in the `pulumi preview --diff` style.

Resources are matched by URN: added, removed, changed (every changed input path, old => new), unchanged. Each
changed resource is an update, a replacement or a "may replace" (offline.replacements says which, with its
source), and a replacement or deletion of something that holds state or serves traffic is called out as a danger.
Values stay as the plan has them: "[secret]" is never unmasked (so a changed secret is not visible offline) and
"[unknown]" is only known after deployment.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final

from offline.engine import SECRET, UNKNOWN
from offline.replacements import (
    MAY_REPLACE,
    PULUMI_EKS_ACCESS_ENTRIES,
    REPLACE,
    UPDATE,
    InputPath,
    change_effect,
    danger_reason,
    overall,
)
from offline.upgrade_guard import check_plans

CREATE: Final = "create"
DELETE: Final = "delete"
# Order of the summary, and the symbols `pulumi preview` uses (it has none for "may replace").
STEPS: Final = {CREATE: "+", UPDATE: "~", REPLACE: "+-", MAY_REPLACE: "?", DELETE: "-"}
_MAX_VALUE_CHARS: Final = 160


@dataclass(frozen=True)
class Change:
    path: str
    kind: str  # "add", "delete" or "update"
    old: Any
    new: Any
    effect: str  # UPDATE, REPLACE or MAY_REPLACE
    why: str  # the source for a replacement, or what is not known


@dataclass(frozen=True)
class ResourceDiff:
    urn: str
    type: str
    name: str
    step: str  # CREATE, DELETE, UPDATE, REPLACE or MAY_REPLACE
    changes: tuple[Change, ...]
    danger: str  # why replacing or deleting it hurts; "" when it does not
    note: str  # where a derived resource comes from, or why a dependency makes it "may replace"


@dataclass(frozen=True)
class OutputChange:
    name: str
    old: Any
    new: Any


@dataclass(frozen=True)
class StackDiff:
    stack: str
    resources: tuple[ResourceDiff, ...]
    outputs: tuple[OutputChange, ...]
    unchanged: int
    upgrade_problems: tuple[str, ...]

    @property
    def has_changes(self) -> bool:
        return bool(self.resources or self.outputs)

    @property
    def dangers(self) -> tuple[ResourceDiff, ...]:
        return tuple(resource for resource in self.resources if resource.danger)

    def counts(self) -> dict[str, int]:
        return {step: sum(1 for r in self.resources if r.step == step) for step in STEPS}

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "summary": {**self.counts(), "unchanged": self.unchanged},
            "resources": [asdict(resource) for resource in self.resources],
            "outputs": [asdict(output) for output in self.outputs],
            "dangers": [{"urn": r.urn, "step": r.step, "reason": r.danger} for r in self.dangers],
            "upgrade": {"refused": bool(self.upgrade_problems), "problems": list(self.upgrade_problems)},
        }


# ---------------------------------------------------------------------------------------------------------------
# Paths and values

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def format_path(path: InputPath) -> str:
    """('metadata', 'labels', 'app.kubernetes.io/name') -> 'metadata.labels["app.kubernetes.io/name"]'."""
    text = ""
    for segment in path:
        if isinstance(segment, int):
            text += f"[{segment}]"
        elif _IDENTIFIER.match(segment):
            text += f".{segment}" if text else segment
        else:
            text += f"[{json.dumps(segment)}]"
    return text


def value_changes(old: Any, new: Any, path: InputPath = ()) -> Iterator[tuple[InputPath, str, Any, Any]]:
    """(path, kind, old, new) for every difference; a key or list item on one side only is one add or delete."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            if key not in new:
                yield (*path, key), "delete", old[key], None
            elif key not in old:
                yield (*path, key), "add", None, new[key]
            else:
                yield from value_changes(old[key], new[key], (*path, key))
    elif isinstance(old, list) and isinstance(new, list):
        for index in range(max(len(old), len(new))):
            if index >= len(new):
                yield (*path, index), "delete", old[index], None
            elif index >= len(old):
                yield (*path, index), "add", None, new[index]
            else:
                yield from value_changes(old[index], new[index], (*path, index))
    # True == 1 in Python; a bool that became a number is a change.
    elif old != new or type(old) is not type(new):
        yield path, "update", old, new


def show(value: Any, limit: int | None = _MAX_VALUE_CHARS) -> str:
    """A value as the diff prints it: plan markers bare, everything else as compact JSON."""
    if value in (SECRET, UNKNOWN):
        return str(value)
    text = json.dumps(value, sort_keys=True, separators=(", ", ": "))
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------------------------------
# Resources a remote component creates from one of its map inputs: offline the component is opaque, so an entry
# added to the map is shown as the resource upstream creates for it.


@dataclass(frozen=True)
class DerivedChildren:
    component_type: str
    map_input: str
    child_type: str
    source: str


DERIVED_CHILDREN: Final = (
    DerivedChildren("eks:index:Cluster", "accessEntries", "aws:eks/accessEntry:AccessEntry", PULUMI_EKS_ACCESS_ENTRIES),
)


def _child_urn(component: Mapping[str, Any], child_type: str, child_name: str) -> str:
    prefix, _, _ = component["urn"].rpartition("::")
    return f"{prefix}${child_type}::{child_name}"


def _derived(component: Mapping[str, Any], old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[list[ResourceDiff], set[str]]:
    """The derived children whose map entries changed, and the input names that they account for."""
    children: list[ResourceDiff] = []
    handled: set[str] = set()
    for spec in DERIVED_CHILDREN:
        if component["type"] != spec.component_type:
            continue
        handled.add(spec.map_input)
        before, after = old.get(spec.map_input) or {}, new.get(spec.map_input) or {}
        for key in sorted(set(before) | set(after)):
            name = f"{component['name']}-{key}"
            urn = _child_urn(component, spec.child_type, name)
            note = f"{spec.map_input}[{json.dumps(key)}] of {component['type']} {component['name']} ({spec.source})"
            if key not in before or key not in after:
                step = CREATE if key not in before else DELETE
                children.append(ResourceDiff(urn, spec.child_type, name, step, (), "", note))
                continue
            changes = tuple(
                Change(format_path(path), kind, was, now, MAY_REPLACE, f"no source read for {spec.child_type}")
                for path, kind, was, now in value_changes(before[key], after[key])
            )
            if changes:
                children.append(ResourceDiff(urn, spec.child_type, name, MAY_REPLACE, changes, "", note))
    return children, handled


# ---------------------------------------------------------------------------------------------------------------
# The diff


def _changed(resource: Mapping[str, Any], old_inputs: Mapping[str, Any]) -> list[ResourceDiff]:
    new_inputs = resource["inputs"]
    derived, handled = _derived(resource, old_inputs, new_inputs)
    own = {key: value for key, value in new_inputs.items() if key not in handled}
    was = {key: value for key, value in old_inputs.items() if key not in handled}
    changes = []
    for path, kind, old, new in value_changes(was, own):
        effect = change_effect(resource["type"], path, removed=kind == "delete")
        changes.append(Change(format_path(path), kind, old, new, effect.effect, effect.why))
    if not changes:
        return derived
    step = overall(change.effect for change in changes)
    return [ResourceDiff(resource["urn"], resource["type"], resource["name"], step, tuple(changes), "", ""), *derived]


def _with_danger(resource: ResourceDiff) -> ResourceDiff:
    if resource.step not in (REPLACE, MAY_REPLACE, DELETE):
        return resource
    reason = danger_reason(resource.type, resource.urn)
    return ResourceDiff(resource.urn, resource.type, resource.name, resource.step, resource.changes, reason, resource.note)


def diff_plans(old_plan: Mapping[str, Any], new_plan: Mapping[str, Any]) -> StackDiff:
    """The change from `old_plan` to `new_plan` (both offline.preview plan.json content, same stack)."""
    old_by_urn = {resource["urn"]: resource for resource in old_plan["resources"]}
    new_by_urn = {resource["urn"]: resource for resource in new_plan["resources"]}
    entries: dict[str, ResourceDiff] = {}
    for urn, resource in new_by_urn.items():
        if urn not in old_by_urn:
            entries[urn] = ResourceDiff(urn, resource["type"], resource["name"], CREATE, (), "", "")
        else:
            entries.update((entry.urn, entry) for entry in _changed(resource, old_by_urn[urn]["inputs"]))
    for urn, resource in old_by_urn.items():
        if urn not in new_by_urn:
            entries[urn] = ResourceDiff(urn, resource["type"], resource["name"], DELETE, (), "", "")

    # A replacement gets new IDs and ARNs: what takes them as inputs may have to be replaced too.
    replaced = {urn: entry for urn, entry in entries.items() if entry.step == REPLACE}
    for urn, resource in new_by_urn.items():
        current = entries.get(urn)
        if current is not None and current.step in (CREATE, REPLACE):
            continue
        edges = [*resource.get("dependencies", []), *([resource["provider"]] if resource.get("provider") else [])]
        cause = next((replaced[edge] for edge in edges if edge in replaced), None)
        if cause is not None:
            changes = current.changes if current is not None else ()
            note = f"depends on {cause.type} {cause.name}, which is replaced"
            entries[urn] = ResourceDiff(urn, resource["type"], resource["name"], MAY_REPLACE, changes, "", note)

    resources = tuple(_with_danger(entries[urn]) for urn in sorted(entries))
    old_outputs, new_outputs = old_plan.get("outputs") or {}, new_plan.get("outputs") or {}
    outputs = tuple(
        OutputChange(name, old_outputs.get(name), new_outputs.get(name))
        for name in sorted(set(old_outputs) | set(new_outputs))
        if old_outputs.get(name) != new_outputs.get(name)
    )
    unchanged = sum(1 for urn in new_by_urn if urn in old_by_urn and urn not in entries)
    return StackDiff(str(new_plan.get("stack", "")), resources, outputs, unchanged, tuple(check_plans(old_plan, new_plan)))


# ---------------------------------------------------------------------------------------------------------------
# Text


def _change_line(change: Change) -> str:
    path = change.path or "(value)"
    if change.kind == "add":
        line = f"+ {path}: {show(change.new)}"
    elif change.kind == "delete":
        line = f"- {path}: {show(change.old)}"
    else:
        line = f"~ {path}: {show(change.old)} => {show(change.new)}"
    if change.effect == REPLACE:
        return f"{line}   [forces replacement: {change.why}]"
    if change.effect == MAY_REPLACE:
        return f"{line}   [may replace: {change.why}]"
    return line


def summary_line(diff: StackDiff) -> str:
    counts = diff.counts()
    parts = [
        f"{STEPS[step]} {count} {'may replace' if step == MAY_REPLACE else 'to ' + step}"
        for step, count in counts.items()
        if count
    ]
    return "Resources: " + ", ".join([*parts, f"{diff.unchanged} unchanged"])


def render_text(diff: StackDiff, title: str) -> str:
    """The stack's diff for a terminal; `title` says what is compared, e.g. "origin/main (1a2b3c4) -> working tree"."""
    if not diff.has_changes:
        return f"{diff.stack}: no changes ({diff.unchanged} resources unchanged; {title})"
    lines = [f"{diff.stack}: {title}"]
    for resource in diff.resources:
        lines.append(f"  {STEPS[resource.step]:<2} {resource.type} {resource.name} ({resource.step})")
        if resource.note:
            lines.append(f"       ({resource.note})")
        lines.extend(f"       {_change_line(change)}" for change in resource.changes)
    if diff.outputs:
        lines.append("  Outputs:")
        lines.extend(f"     ~ {o.name}: {show(o.old)} => {show(o.new)}" for o in diff.outputs)
    for resource in diff.dangers:
        verb = {DELETE: "is deleted", REPLACE: "is replaced", MAY_REPLACE: "may be replaced"}[resource.step]
        lines.append(f"  DANGER: {resource.type} {resource.name} {verb}: {resource.danger}")
    lines.extend(f"  UPGRADE REFUSED: {problem}" for problem in diff.upgrade_problems)
    lines.append(f"  {summary_line(diff)}")
    return "\n".join(lines)
