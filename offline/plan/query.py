"""The plan object: one query over a plan document, built once and handed to every analysis.

It answers what the analyses ask of a plan: resources by type, name and URN, children and descendants, whether one
resource waits for another (what `pulumi destroy` orders by), and the create edges the engine follows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from functools import cached_property
from types import MappingProxyType
from typing import Any

Resource = dict[str, Any]


class PlanQuery:
    def __init__(self, plan: dict[str, Any]) -> None:
        self.plan = plan
        self.resources: list[Resource] = plan["resources"]
        self._by_urn: dict[str, Resource] = {resource["urn"]: resource for resource in self.resources}
        self._children: dict[str | None, list[Resource]] = defaultdict(list)
        for resource in self.resources:
            self._children[resource.get("parent")].append(resource)

    @property
    def stack(self) -> str:
        return str(self.plan.get("stack", ""))

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
        return list(self._children.get(urn, ()))

    def descendants(self, urn: str) -> Iterable[Resource]:
        for child in self._children.get(urn, ()):
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

    @cached_property
    def create_edges(self) -> Mapping[str, frozenset[str]]:
        """Each resource the engine creates (custom resources and remote components) -> the ones it waits for.

        A dependency on a local component means one on everything inside it, and every resource waits for its
        provider; local components themselves create nothing and are left out. Computed once per plan.
        """
        steps = {r["urn"]: r for r in self.resources if _is_step(r)}
        edges: dict[str, frozenset[str]] = {}
        for urn, resource in steps.items():
            direct = [*resource["dependencies"], *([resource["provider"]] if resource.get("provider") else [])]
            targets: set[str] = set()
            for dependency in direct:
                targets.add(dependency)
                targets.update(child["urn"] for child in self.descendants(dependency))
            edges[urn] = frozenset(target for target in targets if target in steps and target != urn)
        return MappingProxyType(edges)


def _is_step(resource: Resource) -> bool:
    # Remote components (pulumi-eks) are created by the engine like resources; local ones are only grouping.
    return bool(resource["custom"]) or not str(resource["type"]).startswith(("eks-platform:", "pulumi:pulumi:Stack"))


def load_balancer_services(values: Any) -> Iterator[dict[str, Any]]:
    """Every `service` block of Helm values that asks for a LoadBalancer (where charts put it varies)."""
    if isinstance(values, dict):
        if values.get("type") == "LoadBalancer":
            yield values
        for value in values.values():
            yield from load_balancer_services(value)
    elif isinstance(values, list):
        for value in values:
            yield from load_balancer_services(value)
