"""Questions asked of a plan: find resources, follow dependency edges (what `pulumi destroy` orders by)."""

from __future__ import annotations

from collections.abc import Iterable
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
