"""What changing one plan into another would do, resource by resource, in the `pulumi preview --diff` style.

Resources are matched by URN: added, removed, changed (every changed input path, old => new), unchanged. Each
changed resource is an update, a replacement or a "may replace" (offline.change.replacements says which, with its
source), and a replacement or deletion of something that holds state or serves traffic is called out as a danger.
A change below a path of the resource's `ignoreChanges` option is shown as ignored: Pulumi keeps the value it has,
so it is no update, and a resource with only such changes counts as unchanged.
Values stay as the plan has them: "[secret]" is never unmasked (so a changed secret is not visible offline) and
"[unknown]" is only known after deployment.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, Final

from offline.change.replacements import (
    LAUNCH_TEMPLATE_VERSIONED,
    MAY_REPLACE,
    PULUMI_EKS_ACCESS_ENTRIES,
    REPLACE,
    UPDATE,
    InputPath,
    change_effect,
    danger_reason,
    overall,
)
from offline.change.upgrade_rules import check_plans
from offline.plan.plan_file import SECRET, UNKNOWN

CREATE: Final = "create"
DELETE: Final = "delete"
# A change Pulumi does not make (ignoreChanges), and the step of a resource whose changes are all such.
IGNORED: Final = "ignored"
SAME: Final = "same"
# Order of the summary, and the symbols `pulumi preview` uses (it has none for "may replace").
STEPS: Final = {CREATE: "+", UPDATE: "~", REPLACE: "+-", MAY_REPLACE: "?", DELETE: "-"}
_SYMBOLS: Final = {**STEPS, SAME: "="}
_MAX_VALUE_CHARS: Final = 160
# https://www.pulumi.com/docs/iac/concepts/options/ignorechanges/: later updates use the value in the stack's state.
IGNORED_WHY: Final = "Pulumi keeps the value in its state"


class BadPlan(Exception):
    """A plan no Pulumi program could have recorded; the message is one line naming what is wrong."""


@dataclass(frozen=True)
class Change:
    path: str
    kind: str  # "add", "delete" or "update"
    old: Any
    new: Any
    effect: str  # UPDATE, REPLACE, MAY_REPLACE or IGNORED
    why: str  # the source for the verdict (the text shows it for replacements), or what is not known


@dataclass(frozen=True)
class ResourceDiff:
    urn: str
    type: str
    name: str
    step: str  # CREATE, DELETE, UPDATE, REPLACE, MAY_REPLACE, or SAME (only ignored changes)
    changes: tuple[Change, ...]
    danger: str  # why replacing or deleting it hurts; "" when it does not
    note: str  # where a derived resource comes from, or why a dependency makes it "may replace"
    warnings: tuple[str, ...] = ()  # what may make the update fail in the cloud, and what to do first


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
    # Changes AWS cannot make the way Pulumi orders them (each a line saying why and what to do instead).
    refusals: tuple[str, ...] = ()

    @property
    def has_changes(self) -> bool:
        """Ignored changes count: that Pulumi will not make them is news to whoever changed the value."""
        return bool(self.resources or self.outputs)

    @property
    def ignored_only(self) -> int:
        return sum(1 for resource in self.resources if resource.step == SAME)

    @property
    def dangers(self) -> tuple[ResourceDiff, ...]:
        return tuple(resource for resource in self.resources if resource.danger)

    def counts(self) -> dict[str, int]:
        return {step: sum(1 for r in self.resources if r.step == step) for step in STEPS}

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "summary": {**self.counts(), "unchanged": self.unchanged, "ignoredOnly": self.ignored_only},
            "resources": [asdict(resource) for resource in self.resources],
            "outputs": [asdict(output) for output in self.outputs],
            "dangers": [{"urn": r.urn, "step": r.step, "reason": r.danger} for r in self.dangers],
            "upgrade": {"refused": bool(self.upgrade_problems), "problems": list(self.upgrade_problems)},
            "refusals": list(self.refusals),
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


# Pulumi's property path syntax (pulumi/pulumi sdk/go/common/resource/properties_path.go, parsePropertyPath):
# names joined by dots, [N] for a list index, ["key"] for any key, and * or [*] for any key or index.
_PATH_TOKEN = re.compile(r'(?P<name>[^.\[]+)|\[(?P<index>\d+|\*)\]|\["(?P<key>(?:[^"\\]|\\.)*)"\]')
ANY: Final = "*"


def parse_property_path(text: str) -> InputPath:
    """'scalingConfig.desiredSize' -> ('scalingConfig', 'desiredSize'); 'a[0]["b.c"]' -> ('a', 0, 'b.c')."""
    segments: list[str | int] = []
    position = 0
    while position < len(text):
        if segments and text[position] == ".":
            position += 1
        match = _PATH_TOKEN.match(text, position)
        if match is None:
            allowed = 'name.name, [index], ["key"], * or [*]'
            raise ValueError(f"{text!r} is no property path ({allowed}) at character {position + 1}")
        if match["name"] is not None:
            segments.append(match["name"])
        elif match["index"] is not None:
            segments.append(ANY if match["index"] == ANY else int(match["index"]))
        else:
            segments.append(match["key"].replace('\\"', '"'))
        position = match.end()
    if not segments:
        raise ValueError("an empty property path")
    return tuple(segments)


def contains(pattern: InputPath, path: InputPath) -> bool:
    """True when `path` is `pattern` or below it, * matching any key or index (PropertyPath.Contains)."""
    return len(path) >= len(pattern) and all(
        want == ANY or (type(want) is type(got) and want == got) for want, got in zip(pattern, path, strict=False)
    )


def ignored_paths(resource: Mapping[str, Any]) -> tuple[InputPath, ...]:
    """The resource's ignoreChanges option as paths; raises BadPlan when it is not a list of property paths."""
    option = resource.get("ignoreChanges") or []
    if not isinstance(option, list) or not all(isinstance(item, str) for item in option):
        raise BadPlan(f"ignoreChanges of {resource.get('urn')} must be a list of property paths, not {show(option)}")
    try:
        return tuple(parse_property_path(item) for item in option)
    except ValueError as error:
        raise BadPlan(f"ignoreChanges of {resource.get('urn')}: {error}") from None


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
# Updates the cloud refuses although the plan is valid

NODE_GROUP: Final = "aws:eks/nodeGroup:NodeGroup"
DESIRED_SIZE: Final = ("scalingConfig", "desiredSize")
# EKS checks minSize <= desiredSize <= maxSize against the group's live sizes: "Minimum capacity 2 can't be greater
# than desired size 1" (terraform-aws-modules/terraform-aws-eks#2508, #944, #3521; the CLI fix from
# wandb/terraform-aws-wandb#201).
MIN_ABOVE_DESIRED: Final = "terraform-aws-modules/terraform-aws-eks#2508, #944, #3521"


def _known(inputs: Mapping[str, Any], key: str, placeholder: str) -> str:
    value = inputs.get(key)
    return value if isinstance(value, str) and value and value not in (SECRET, UNKNOWN) else placeholder


def _size(inputs: Mapping[str, Any], key: str) -> int | None:
    value = (inputs.get("scalingConfig") or {}).get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _warnings(resource: Mapping[str, Any], old_inputs: Mapping[str, Any], ignored: tuple[InputPath, ...]) -> tuple[str, ...]:
    """A node group whose minSize rises while desiredSize is ignored: the live desired size may be below the new
    minimum (the cluster autoscaler moves it, the plan cannot see it), and then EKS refuses the whole update."""
    new_inputs = resource["inputs"]
    if resource["type"] != NODE_GROUP or not any(contains(pattern, DESIRED_SIZE) for pattern in ignored):
        return ()
    before, after = _size(old_inputs, "minSize"), _size(new_inputs, "minSize")
    if before is None or after is None or after <= before:
        return ()
    old_max, new_max = _size(old_inputs, "maxSize"), _size(new_inputs, "maxSize")
    # Above the live maximum EKS refuses the desired size too: raise the maximum in the same call.
    sizes = f"desiredSize={after}" + (f",maxSize={new_max}" if old_max is not None and new_max and after > old_max else "")
    cluster, name = _known(new_inputs, "clusterName", "<cluster>"), _known(new_inputs, "nodeGroupName", "<node group>")
    return (
        f"minSize rises to {after}: EKS refuses it while the live desired size is below {after} (Pulumi does not "
        f"manage desiredSize); first run `aws eks update-nodegroup-config --cluster-name {cluster} --nodegroup-name "
        f"{name} --scaling-config {sizes}` if `aws eks describe-nodegroup` shows a smaller desiredSize, wait for the "
        f"update to finish, then deploy ({MIN_ABOVE_DESIRED})",
    )


# ---------------------------------------------------------------------------------------------------------------
# The diff


def _changed(resource: Mapping[str, Any], old_inputs: Mapping[str, Any], ignored: tuple[InputPath, ...]) -> list[ResourceDiff]:
    new_inputs = resource["inputs"]
    derived, handled = _derived(resource, old_inputs, new_inputs)
    own = {key: value for key, value in new_inputs.items() if key not in handled}
    was = {key: value for key, value in old_inputs.items() if key not in handled}
    changes = []
    for path, kind, old, new in value_changes(was, own):
        if any(contains(pattern, path) for pattern in ignored):
            changes.append(Change(format_path(path), kind, old, new, IGNORED, IGNORED_WHY))
            continue
        effect = change_effect(resource["type"], path, removed=kind == "delete")
        changes.append(Change(format_path(path), kind, old, new, effect.effect, effect.why))
    if not changes:
        return derived
    made = [change.effect for change in changes if change.effect != IGNORED]
    step = overall(made) if made else SAME
    warnings = _warnings(resource, old_inputs, ignored)
    own_diff = ResourceDiff(resource["urn"], resource["type"], resource["name"], step, tuple(changes), "", "", warnings)
    return [own_diff, *derived]


def _with_danger(resource: ResourceDiff) -> ResourceDiff:
    if resource.step not in (REPLACE, MAY_REPLACE, DELETE):
        return resource
    return replace(resource, danger=danger_reason(resource.type, resource.urn))


# A replacement gets new IDs and ARNs. Pulumi replaces a dependent only when an input that takes the replaced
# resource's outputs is one the dependent's provider replaces on (pulumi/pulumi pkg/resource/deploy/step_generator.go,
# calculateDependentReplacements: the property dependencies on the replaced resource, checked against the provider's
# replace keys); an input updated in place is an update, and an ordering-only dependency (dependsOn) changes nothing.
NO_PROPERTY_DEPENDENCIES: Final = "the plan records no property dependencies (an older checkout wrote it)"
# terraform-provider-aws internal/service/eks/cluster.go, resourceClusterUpdate: encryption_config is associated only
# when the cluster had none; EKS has no call that swaps the key of an encrypted cluster.
CLUSTER_KEY_SWAP: Final = (
    "EKS cannot change the key of an encrypted cluster (terraform-provider-aws cluster.go resourceClusterUpdate "
    "associates encryption_config only when none was set): the cluster keeps its current key, so keep that key "
    "enabled; deleting or disabling it leaves the cluster's secrets unreadable"
)
_KEY_SWAPS: Final = {("eks:index:Cluster", "encryptionConfigKeyArn")}


def _through_inputs(resource: Mapping[str, Any], cause_urns: Mapping[str, ResourceDiff]) -> tuple[str, str, str] | None:
    """(effect, input, cause) of the strongest input that takes a replaced resource's outputs, or None."""
    property_dependencies = resource.get("propertyDependencies")
    if property_dependencies is None:
        cause = next((urn for urn in resource.get("dependencies", []) if urn in cause_urns), None)
        return (MAY_REPLACE, NO_PROPERTY_DEPENDENCIES, cause) if cause else None
    found: list[tuple[str, str, str]] = []
    for key, urns in sorted(property_dependencies.items()):
        for urn in urns:
            if urn in cause_urns:
                effect = change_effect(resource["type"], (key,), removed=False).effect
                found.append((MAY_REPLACE if effect in (REPLACE, MAY_REPLACE) else UPDATE, key, urn))
    return next((item for effect in (MAY_REPLACE, UPDATE) for item in found if item[0] == effect), None)


def _propagate_replacements(entries: dict[str, ResourceDiff], new_by_urn: Mapping[str, Mapping[str, Any]]) -> None:
    """Mark what takes a replaced resource's outputs (or its provider) as may replace or update, to a fixed point:
    a dependent that may be replaced gets new outputs in turn. A "may replace" of a resource's own inputs (no source
    read) is not spread: it would flag half the stack on a guess."""
    propagated: set[str] = set()
    changed = True
    while changed:
        changed = False
        causes = {urn: entry for urn, entry in entries.items() if entry.step == REPLACE or urn in propagated}
        for urn, resource in new_by_urn.items():
            current = entries.get(urn)
            if current is not None and current.step in (CREATE, REPLACE, MAY_REPLACE):
                continue
            provider = resource.get("provider")
            if provider in causes:
                step, note = MAY_REPLACE, f"its provider {causes[provider].name} may be replaced"
                warnings: tuple[str, ...] = ()
            else:
                through = _through_inputs(resource, causes)
                if through is None or (current is not None and current.step == UPDATE and through[0] == UPDATE):
                    continue
                step, key, cause_urn = through
                cause = causes[cause_urn]
                verb = "is replaced" if cause.step == REPLACE else "may be replaced"
                note = f"{key} takes outputs of {cause.type} {cause.name}, which {verb}"
                if key == NO_PROPERTY_DEPENDENCIES:
                    note = f"depends on {cause.type} {cause.name}, which {verb}; {key}"
                warnings = (CLUSTER_KEY_SWAP,) if (resource["type"], key) in _KEY_SWAPS else ()
            found = current or ResourceDiff(urn, resource["type"], resource["name"], step, (), "", "")
            entries[urn] = replace(found, step=step, note=note, warnings=(*found.warnings, *warnings))
            if step == MAY_REPLACE:
                propagated.add(urn)
                changed = True


LAUNCH_TEMPLATE: Final = "aws:ec2/launchTemplate:LaunchTemplate"
# A managed node group on a launch template version replaces every node when the version changes, in batches of
# updateConfig (https://docs.aws.amazon.com/eks/latest/userguide/managed-node-update-behavior.html); the group uses
# the template's latestVersion (components/node_group.py), which each template update moves.
NODE_UPDATE_BEHAVIOUR: Final = "https://docs.aws.amazon.com/eks/latest/userguide/managed-node-update-behavior.html"


def _batch(inputs: Mapping[str, Any]) -> str:
    update = inputs.get("updateConfig") or {}
    if isinstance(update.get("maxUnavailablePercentage"), int):
        return f"{update['maxUnavailablePercentage']}% at a time (updateConfig.maxUnavailablePercentage)"
    return f"{update.get('maxUnavailable', 1)} at a time (updateConfig.maxUnavailable)"


def _node_count(inputs: Mapping[str, Any]) -> str:
    low, desired, high = (_size(inputs, key) for key in ("minSize", "desiredSize", "maxSize"))
    if low is None or high is None:
        return "its nodes"
    if low == high:
        return f"its {low} node(s)"
    wanted = f", {desired} at creation" if desired is not None else ""
    return f"its {low} to {high} node(s) (as many as run{wanted})"


def _writes_a_version(template: ResourceDiff) -> bool:
    return any(
        change.effect == UPDATE and str(change.path).split(".")[0].split("[")[0] in LAUNCH_TEMPLATE_VERSIONED
        for change in template.changes
    )


# Inputs of a node group whose change replaces each node with one from a new AMI (UpdateNodegroupVersion).
NEW_AMI_INPUTS: Final = ("releaseVersion", "version")


def _roll_nodes(entries: dict[str, ResourceDiff], new_by_urn: Mapping[str, Mapping[str, Any]]) -> None:
    """A node group that gets a new launch template version or a new AMI (releaseVersion, version) rolls all its
    nodes: say so, with count and batch."""
    for urn, resource in new_by_urn.items():
        if resource["type"] != NODE_GROUP:
            continue
        current = entries.get(urn)
        if current is not None and current.step in (CREATE, REPLACE, MAY_REPLACE, DELETE):
            continue
        uses = (resource.get("propertyDependencies") or {}).get("launchTemplate") or []
        template = next((entries[t] for t in uses if t in entries and entries[t].type == LAUNCH_TEMPLATE), None)
        new_ami = [c for c in (current.changes if current else ()) if c.effect == UPDATE and c.path in NEW_AMI_INPUTS]
        if new_ami:
            cause = f"a new AMI ({', '.join(f'{c.path} {show(c.old)} => {show(c.new)}' for c in new_ami)})"
        elif template is not None and _writes_a_version(template):
            cause = f"launch template {template.name} gets a new version"
        else:
            continue
        inputs = resource["inputs"]
        note = (
            f"rolls {_node_count(inputs)}: {cause}, and EKS replaces every node of the group with a new one, "
            f"{_batch(inputs)}; pods move as their nodes drain ({NODE_UPDATE_BEHAVIOUR})"
        )
        found = current or ResourceDiff(urn, resource["type"], resource["name"], UPDATE, (), "", "")
        entries[urn] = replace(found, step=UPDATE, note=note)


SUBNET: Final = "aws:ec2/subnet:Subnet"
VPC: Final = "aws:ec2/vpc:Vpc"
# Pulumi creates a replacement (or a new resource) before it deletes what goes (deleteBeforeReplace is off), and
# AWS refuses a subnet whose CIDR overlaps one that still exists in the VPC (CreateSubnet: InvalidSubnet.Conflict,
# https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html: subnet CIDR blocks cannot overlap).
SUBNET_CONFLICT: Final = "CreateSubnet refuses overlapping CIDRs (InvalidSubnet.Conflict)"


def _cidr(resource: Mapping[str, Any]) -> ipaddress.IPv4Network | None:
    block = resource["inputs"].get("cidrBlock")
    try:
        return ipaddress.IPv4Network(block) if isinstance(block, str) else None
    except ValueError:
        return None


def _subnet_conflicts(
    old_by_urn: Mapping[str, Mapping[str, Any]], new_by_urn: Mapping[str, Mapping[str, Any]], entries: Mapping[str, ResourceDiff]
) -> tuple[str, ...]:
    """Subnets the change creates (new or replacements) while an old subnet with an overlapping CIDR still exists:
    `up` fails halfway, with part of the network replaced. Not when the VPC itself is replaced (a new VPC)."""
    if any(entry.type == VPC and entry.step == REPLACE for entry in entries.values()):
        return ()
    existing = [
        (urn, resource, block)
        for urn, resource in old_by_urn.items()
        if resource["type"] == SUBNET and (block := _cidr(resource))
    ]
    refusals = []
    for urn, resource in sorted(new_by_urn.items()):
        entry, block = entries.get(urn), _cidr(resource)
        if resource["type"] != SUBNET or entry is None or entry.step not in (CREATE, REPLACE) or block is None:
            continue
        clash = next(
            ((old, b) for old_urn, old, b in existing if block.overlaps(b) and (old_urn != urn or entry.step == REPLACE)), None
        )
        if clash is not None:
            old, old_block = clash
            refusals.append(
                f"{resource['name']} ({block}) would be created while {old['name']} ({old_block}) still exists: "
                f"{SUBNET_CONFLICT}. With subnetLayout zone-order (components/network.py) adding or removing a zone "
                "moves existing subnets, and a new subnetPrefixLength or subnetLayout moves them all; keep them as "
                "they are, or build the new network as a new stack (subnetLayout zone-slots keeps each zone's "
                "subnets in place when zones change) and move the workloads"
            )
    return tuple(refusals)


def diff_plans(old_plan: Mapping[str, Any], new_plan: Mapping[str, Any]) -> StackDiff:
    """The change from `old_plan` to `new_plan` (both offline.preview plan.json content, same stack).

    Raises BadPlan when a resource's ignoreChanges is not a list of property paths."""
    old_by_urn = {resource["urn"]: resource for resource in old_plan["resources"]}
    new_by_urn = {resource["urn"]: resource for resource in new_plan["resources"]}
    # The new program's options apply to the update, and a bad one is bad input even where nothing changed.
    ignored = {urn: ignored_paths(resource) for urn, resource in new_by_urn.items()}
    entries: dict[str, ResourceDiff] = {}
    for urn, resource in new_by_urn.items():
        if urn not in old_by_urn:
            entries[urn] = ResourceDiff(urn, resource["type"], resource["name"], CREATE, (), "", "")
        else:
            entries.update((entry.urn, entry) for entry in _changed(resource, old_by_urn[urn]["inputs"], ignored[urn]))
    for urn, resource in old_by_urn.items():
        if urn not in new_by_urn:
            entries[urn] = ResourceDiff(urn, resource["type"], resource["name"], DELETE, (), "", "")

    _propagate_replacements(entries, new_by_urn)
    _roll_nodes(entries, new_by_urn)
    resources = tuple(_with_danger(entries[urn]) for urn in sorted(entries))
    old_outputs, new_outputs = old_plan.get("outputs") or {}, new_plan.get("outputs") or {}
    outputs = tuple(
        OutputChange(name, old_outputs.get(name), new_outputs.get(name))
        for name in sorted(set(old_outputs) | set(new_outputs))
        if old_outputs.get(name) != new_outputs.get(name)
    )
    unchanged = sum(1 for urn in new_by_urn if urn in old_by_urn and (urn not in entries or entries[urn].step == SAME))
    upgrade = tuple(check_plans(old_plan, new_plan))
    refusals = _subnet_conflicts(old_by_urn, new_by_urn, entries)
    return StackDiff(str(new_plan.get("stack", "")), resources, outputs, unchanged, upgrade, refusals)


# ---------------------------------------------------------------------------------------------------------------
# Text


def _change_line(change: Change) -> str:
    path = change.path or "(value)"
    if change.effect == IGNORED:
        old, new = (show(value) if value is not None else "(none)" for value in (change.old, change.new))
        return f"= {path}: {old} => {new}   (ignored: {change.why})"
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
    ignored = f" ({diff.ignored_only} with ignored changes only)" if diff.ignored_only else ""
    return "Resources: " + ", ".join([*parts, f"{diff.unchanged} unchanged{ignored}"])


def render_text(diff: StackDiff, title: str) -> str:
    """The stack's diff for a terminal; `title` says what is compared, e.g. "origin/main (1a2b3c4) -> working tree"."""
    if not diff.has_changes:
        return f"{diff.stack}: no changes ({diff.unchanged} resources unchanged; {title})"
    lines = [f"{diff.stack}: {title}"]
    for resource in diff.resources:
        step = "unchanged: only ignored changes" if resource.step == SAME else resource.step
        lines.append(f"  {_SYMBOLS[resource.step]:<2} {resource.type} {resource.name} ({step})")
        if resource.note:
            lines.append(f"       ({resource.note})")
        lines.extend(f"       {_change_line(change)}" for change in resource.changes)
        lines.extend(f"       WARNING: {warning}" for warning in resource.warnings)
    if diff.outputs:
        lines.append("  Outputs:")
        lines.extend(f"     ~ {o.name}: {show(o.old)} => {show(o.new)}" for o in diff.outputs)
    for resource in diff.dangers:
        verb = {DELETE: "is deleted", REPLACE: "is replaced", MAY_REPLACE: "may be replaced"}[resource.step]
        lines.append(f"  DANGER: {resource.type} {resource.name} {verb}: {resource.danger}")
    lines.extend(f"  UPGRADE REFUSED: {problem}" for problem in diff.upgrade_problems)
    lines.extend(f"  REFUSED: {refusal}" for refusal in diff.refusals)
    lines.append(f"  {summary_line(diff)}")
    return "\n".join(lines)
