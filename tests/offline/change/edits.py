"""Edited copies of the shipped plans: the base and head of a diff without building a second program.

`with_versions` writes the version-carrying inputs of offline.upgrade_guard.VERSION_INPUTS into a plan, whichever
resource types carry them (pulumi-eks ManagedNodeGroup or aws.eks.NodeGroup). It stands in for the program's own
version inputs where a branch does not have them yet; once the program sets them, tests/offline/test_diff.py
checks the same rules on real git history.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from offline.change.upgrade_rules import ADDON, CONTROL_PLANE, NODES, VERSION_INPUTS, VersionInput, input_at, table_addon_version
from tests.conftest import frozen_plan

Resource = dict[str, Any]


def plan_copy(stack: str = "dev") -> dict[str, Any]:
    return copy.deepcopy(frozen_plan(stack).plan)


def resources(plan: dict[str, Any], resource_type: str) -> list[Resource]:
    return [resource for resource in plan["resources"] if resource["type"] == resource_type]


def one(plan: dict[str, Any], resource_type: str, name: str | None = None) -> Resource:
    found = [resource for resource in resources(plan, resource_type) if name is None or resource["name"] == name]
    assert len(found) == 1, f"expected one {resource_type} {name or ''}, found {len(found)}"
    return found[0]


def edit(plan: dict[str, Any], resource_type: str, change: Callable[[dict[str, Any]], None], name: str | None = None) -> None:
    change(one(plan, resource_type, name)["inputs"])


def _set(inputs: dict[str, Any], dotted: str, value: str) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        inputs = inputs.setdefault(key, {})
    inputs[last] = value


def _installed(resource: Resource, spec: VersionInput) -> bool:
    return resource["type"] == spec.resource_type and not (spec.enabled and input_at(resource["inputs"], spec.enabled) is False)


def with_versions(
    plan: dict[str, Any], kubernetes: str, *, nodes: str | None = None, addons: str | None = None
) -> dict[str, Any]:
    """The plan with every version input set: control plane and nodes to `kubernetes` (or `nodes`), every add-on to
    the build components/shared/versions.py pins for `kubernetes` (or for `addons`; a made-up one for a minor it lacks)."""
    minor = addons or kubernetes
    edited = copy.deepcopy(plan)
    for resource in edited["resources"]:
        for spec in (spec for spec in VERSION_INPUTS if _installed(resource, spec)):
            addon = spec.addon or str(resource["inputs"].get("addonName", ""))
            build = table_addon_version(addon, minor) or f"v0.0.0-for-{minor}"
            value = {CONTROL_PLANE: kubernetes, NODES: nodes or kubernetes, ADDON: build}[spec.role]
            _set(resource["inputs"], spec.path, value)
    return edited
