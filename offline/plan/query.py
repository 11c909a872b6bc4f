"""Questions asked of a plan: find resources, follow dependency edges (what `pulumi destroy` orders by)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

Resource = dict[str, Any]


class PlanQuery:
    def __init__(self, plan: dict[str, Any]) -> None:
        self.plan = plan
        self.resources: list[Resource] = plan["resources"]
        self._by_urn: dict[str, Resource] = {resource["urn"]: resource for resource in self.resources}

    def of_type(self, resource_type: str) -> list[Resource]:
        return [resource for resource in self.resources if resource["type"] == resource_type]

    def one(self, resource_type: str, name: str) -> Resource:
        matches = [resource for resource in self.of_type(resource_type) if resource["name"] == name]
        if len(matches) != 1:
            raise KeyError(f"expected one {resource_type} named {name}, found {len(matches)}")
        return matches[0]

    def find(self, urn: str) -> Resource | None:
        return self._by_urn.get(urn)

    def children(self, urn: str) -> list[Resource]:
        return [resource for resource in self.resources if resource["parent"] == urn]

    def descendants(self, urn: str) -> Iterable[Resource]:
        for child in self.children(urn):
            yield child
            yield from self.descendants(child["urn"])

    def depends_on(self, urn: str, target: str) -> bool:
        """True when `urn` waits for `target` (directly or through others), so destroy deletes `urn` first.

        A dependency on a component counts as a dependency on everything inside it, and a resource
        depends on its provider (the engine deletes resources before the provider that manages them).
        """
        targets = {target, *(resource["urn"] for resource in self.descendants(target))}
        seen: set[str] = set()
        stack = [urn]
        while stack:
            current = stack.pop()
            if current in seen or current not in self._by_urn:
                continue
            seen.add(current)
            resource = self._by_urn[current]
            edges = [*resource["dependencies"], *([resource["provider"]] if resource["provider"] else [])]
            for dependency in edges:
                if dependency in targets:
                    return True
                stack.append(dependency)
                stack.extend(resource["urn"] for resource in self.descendants(dependency))
        return False


def report_name_for(plan: Any, plan_path: Path, stack: str, report: str, tool: str, applied: str, writes: bool) -> str:
    """`report` (e.g. cost.json), unless the plan is another stack's: then one warning line (`applied` says what of
    `stack` was used), and a name with the stack in it (cost.prod.json), so the plan's own stack keeps its report."""
    plan_stack = plan.get("stack") if isinstance(plan, dict) else None
    if not isinstance(plan_stack, str) or plan_stack == stack:
        return report
    stem, _, suffix = report.rpartition(".")
    name = f"{stem}.{stack}.{suffix}"
    kept = f"; writing {name}, so {plan_stack}'s own {report} stays as it is" if writes else ""
    print(
        f"{tool}: warning: {plan_path} is a plan of stack {plan_stack!r}, {applied}{kept}",
        file=sys.stderr,
    )
    return name
