"""README is the entry: every docs page is linked from it, and every link to docs/ leads to a page that exists."""

from __future__ import annotations

import re
from itertools import pairwise

from offline.analyses.graph import component_edges
from offline.plan.query import PlanQuery
from tests.conftest import ROOT, frozen_plan

LINK = re.compile(r"\]\((docs/[^)#]+)")


def test_every_docs_page_is_linked_from_readme_and_every_link_resolves() -> None:
    """Catches: a page moved to docs/ that nobody can find, or a README link to a page that was renamed."""
    linked = set(LINK.findall((ROOT / "README.md").read_text()))
    pages = {f"docs/{path.name}" for path in (ROOT / "docs").glob("*.md")}
    assert pages - linked == set(), "not linked from README"
    assert {link for link in linked if not (ROOT / link).exists()} == set()


def test_links_between_docs_pages_resolve() -> None:
    for page in (ROOT / "docs").glob("*.md"):
        for target in re.findall(r"\]\(([a-z-]+\.(?:md|svg))", page.read_text()):
            assert (ROOT / "docs" / target).exists(), f"{page.name} links {target}"


# The chart's boxes in docs/architecture.md and the component each stands for (its type token).
CHART_COMPONENTS = {
    "IAM": "eks-platform:iam:ClusterIam",
    "NET": "eks-platform:network:Network",
    "CL": "eks-platform:cluster:Cluster",
    "NG": "eks-platform:nodegroup:NodeGroup",
    "AD": "eks-platform:cluster:ClusterAddons",
    "ING": "eks-platform:ingress:IngressController",
    "MS": "eks-platform:autoscaling:MetricsServer",
    "CA": "eks-platform:autoscaling:ClusterAutoscaler",
    "DEMO": "eks-platform:workloads:DemoWorkloads",
    "ST": "eks-platform:storage:Storage",
}


def chart_edges(page: str) -> set[tuple[str, str]]:
    """(from, to) of the mermaid chart's arrows: `A --> B --> C`, `A & B --> C`, `A -- "label" --> B`."""
    chart = page.split("```mermaid", 1)[1].split("```", 1)[0]
    edges = set()
    for line in chart.splitlines():
        steps = re.sub(r'--\s*"[^"]*"\s*-->', "-->", line).split("-->")
        for left, right in pairwise(steps):
            edges |= {(a.strip(), b.strip()) for a in left.split("&") for b in right.split("&")}
    return edges


def component_reach(plan: PlanQuery) -> dict[str, set[str]]:
    """Component type -> the component types it depends on, directly or through others (the overview's edges)."""
    type_of = {resource["urn"]: resource["type"] for resource in plan.plan["resources"]}
    direct: dict[str, set[str]] = {}
    for dependent, dependency in component_edges(plan):
        direct.setdefault(type_of[dependent], set()).add(type_of[dependency])
    reach: dict[str, set[str]] = {}
    for start in direct:
        seen, todo = set(), [start]
        while todo:
            for following in direct.get(todo.pop(), set()) - seen:
                seen.add(following)
                todo.append(following)
        reach[start] = seen - {start}
    return reach


def test_the_architecture_charts_arrows_point_the_way_the_generated_graphs_do() -> None:
    """The hand-drawn chart and the pictures drawn from the plan read the same way: from what depends to what it
    depends on. Catches: the chart drawn the other way round (it was), or an arrow the plan does not have."""
    edges = chart_edges((ROOT / "docs" / "architecture.md").read_text())
    assert {box for edge in edges for box in edge} == set(CHART_COMPONENTS)
    reach = component_reach(frozen_plan("dev"))
    for dependent, dependency in sorted(edges):
        first, then = CHART_COMPONENTS[dependent], CHART_COMPONENTS[dependency]
        assert then in reach.get(first, set()), f"{dependent} --> {dependency}: the plan has no such dependency"
        assert first not in reach.get(then, set()), f"{dependent} --> {dependency} points the wrong way"
