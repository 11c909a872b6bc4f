"""Draw the plan object as Graphviz graphs, `.dot` files plus `.svg` when `dot` is installed.

- `overview`: one box per top-level component and provider, an arrow where anything in one depends on the other;
  the picture to read first.
- `graph`: every resource, local components as clusters nested like the resource tree.

In both, an arrow goes from the dependent to its dependency (so it points at what must exist first), using a
provider counts as depending on it, and only the transitive reduction is drawn: no arrow that a longer path
already implies. Pulumi records each resource's every dependency, so the full relation is a tangle.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from offline.plan.query import PlanQuery

STACK_TYPE = "pulumi:pulumi:Stack"
PROVIDER_TYPE_PREFIX = "pulumi:providers:"
DOT_TIMEOUT_SECONDS = 60

# Plain resources are the common case; the graph-wide default keeps their lines short.
NODE_DEFAULTS = 'node [shape=box, style="rounded", fontname="Helvetica", fontsize=10];'
PROVIDER_STYLE = 'shape=hexagon, style="dashed"'
# A component the SDK registered without children: a remote component (eks:index:Cluster, Helm charts)
# whose insides only the real engine sees. An empty cluster would not render, so it is a node.
OPAQUE_COMPONENT_STYLE = 'shape=component, style="filled", fillcolor="#eef3fb"'
PROTECTED_STYLE = 'color="#c00000", penwidth=2.5'
PROTECTED_CLUSTER_STYLE = 'color="#c00000"; penwidth=2.5;'


def escape(text: str) -> str:
    """Text for inside a DOT quoted string, whatever it holds (quotes, backslashes, line breaks)."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "\\n")


def quote(text: str) -> str:
    return f'"{escape(text)}"'


def label(*lines: str) -> str:
    # Each line is escaped on its own, then joined with DOT's `\n` (a line break in a label).
    return '"' + "\\n".join(escape(line) for line in lines) + '"'


def short_type(resource_type: str) -> str:
    """`aws:ec2/subnet:Subnet` -> `Subnet`; `pulumi:providers:aws` -> `aws provider`."""
    if resource_type.startswith(PROVIDER_TYPE_PREFIX):
        return f"{resource_type.removeprefix(PROVIDER_TYPE_PREFIX)} provider"
    return resource_type.rsplit(":", 1)[-1]


def transitive_reduction(edges: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """The edges no other path implies; every node still reaches exactly what it reached before.

    Each edge is dropped when its target stays reachable without it, one edge at a time in a fixed order, so
    the result is deterministic, equals the unique transitive reduction on an acyclic graph, and never loses
    reachability even if a malformed plan has a cycle.
    """
    successors: dict[str, set[str]] = defaultdict(set)
    for source, target in edges:
        if source != target:
            successors[source].add(target)

    def reachable_without(source: str, target: str) -> bool:
        stack = [next_node for next_node in successors[source] if next_node != target]
        seen = set(stack)
        while stack:
            node = stack.pop()
            if node == target:
                return True
            for next_node in successors.get(node, ()):
                if next_node not in seen:
                    seen.add(next_node)
                    stack.append(next_node)
        return False

    for source, target in sorted((s, t) for s, targets in successors.items() for t in targets):
        if reachable_without(source, target):
            successors[source].discard(target)
    return {(source, target) for source, targets in successors.items() for target in targets}


class _Tree:
    """The plan's resources (without the stack) sorted by URN, so output depends on what was declared, not on the
    order registrations arrived in; children of the stack (or of anything not in the plan) are top level."""

    def __init__(self, plan: Mapping[str, Any]) -> None:
        self.resources = sorted((r for r in plan["resources"] if r["type"] != STACK_TYPE), key=lambda r: str(r["urn"]))
        known_urns = {r["urn"] for r in self.resources}
        self.children: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
        self.parent: dict[str, str | None] = {}
        for resource in self.resources:
            parent = resource["parent"] if resource["parent"] in known_urns else None
            self.parent[resource["urn"]] = parent
            self.children[parent].append(resource)

    def is_cluster(self, resource: Mapping[str, Any]) -> bool:
        return not resource["custom"] and bool(self.children.get(resource["urn"]))

    def top_level(self, urn: str) -> str:
        while (parent := self.parent[urn]) is not None:
            urn = parent
        return urn

    def edges(self) -> set[tuple[str, str]]:
        """(dependent, dependency) between drawn nodes: recorded dependencies plus the providers each one uses."""
        node_urns = {r["urn"] for r in self.resources if not self.is_cluster(r)}
        edges: set[tuple[str, str]] = set()
        for resource in self.resources:
            if resource["urn"] not in node_urns:
                continue
            # Clusters are skipped: the SDK already expands a dependency on a component to its children.
            providers = [resource.get("provider"), *(resource.get("providers") or {}).values()]
            for dependency in [*resource["dependencies"], *providers]:
                if dependency in node_urns and dependency != resource["urn"]:
                    edges.add((resource["urn"], dependency))
        return edges


def _header(name: str, title: str) -> list[str]:
    return [
        f"digraph {quote(name)} {{",
        # Right to left: what must exist first (providers, IAM, network) on the left, the workloads on the right.
        # newrank keeps arrows out of component titles more often (compared by eye on dev's graph). No concentrate:
        # with component clusters it makes dot fail outright on larger plans ("trouble in init_rank").
        "  rankdir=RL; newrank=true;",
        f"  label={quote(title)};",
        "  labelloc=t;",
        '  fontname="Helvetica";',
        f"  {NODE_DEFAULTS}",
    ]


def render_dot(plan: PlanQuery) -> str:
    tree = _Tree(plan.plan)
    children, is_cluster = tree.children, tree.is_cluster
    project, stack = str(plan.plan["project"]), plan.stack
    lines = _header(f"{project}-{stack}", f"{project} ({stack}): each arrow points from a resource to what it depends on")
    cluster_count = 0

    def draw(parent: str | None, indent: str) -> None:
        nonlocal cluster_count
        for resource in children.get(parent, []):
            if is_cluster(resource):
                lines.append(f"{indent}subgraph cluster_{cluster_count} {{")
                cluster_count += 1
                lines.append(f"{indent}  label={label(resource['name'], resource['type'])};")
                lines.append(f'{indent}  style="rounded"; color="#7f8c9d"; fontname="Helvetica"; fontsize=11;')
                if resource["protect"]:
                    lines.append(f"{indent}  {PROTECTED_CLUSTER_STYLE}")
                draw(resource["urn"], indent + "  ")
                lines.append(f"{indent}}}")
            else:
                lines.append(f"{indent}{quote(resource['urn'])} [{node_attributes(resource)}];")

    draw(None, "  ")
    edges = transitive_reduction(tree.edges())
    lines.extend(f"  {quote(dependent)} -> {quote(dependency)};" for dependent, dependency in sorted(edges))
    lines.append("}")
    return "\n".join(lines) + "\n"


def component_edges(plan: PlanQuery) -> set[tuple[str, str]]:
    """(dependent, dependency) URNs of top-level components and resources: an edge where anything inside one
    depends on the other (what the overview draws, before the transitive reduction)."""
    return _component_edges(_Tree(plan.plan))


def _component_edges(tree: _Tree) -> set[tuple[str, str]]:
    return {(tree.top_level(dependent), tree.top_level(dependency)) for dependent, dependency in tree.edges()}


def render_overview_dot(plan: PlanQuery) -> str:
    """One node per top-level component or resource; an edge where anything inside one depends on the other."""
    tree = _Tree(plan.plan)
    groups = tree.children[None]
    counts: dict[str, int] = defaultdict(int)
    for resource in tree.resources:
        if resource["custom"] or not tree.is_cluster(resource):
            counts[tree.top_level(resource["urn"])] += 1
    edges = transitive_reduction(_component_edges(tree))
    project, stack = str(plan.plan["project"]), plan.stack
    lines = _header(
        f"{project}-{stack}-overview", f"{project} ({stack}) overview: each arrow points from a component to what it depends on"
    )
    for group in groups:
        attributes = [f"label={label(*_overview_label(group, counts[group['urn']]))}"]
        if group["type"].startswith(PROVIDER_TYPE_PREFIX):
            attributes.append(PROVIDER_STYLE)
        elif not group["custom"]:
            attributes.append('style="rounded,filled", fillcolor="#eef3fb"')
        if any(r["protect"] for r in tree.resources if tree.top_level(r["urn"]) == group["urn"]):
            attributes.append(PROTECTED_STYLE)
        lines.append(f"  {quote(group['urn'])} [{', '.join(attributes)}];")
    lines.extend(f"  {quote(dependent)} -> {quote(dependency)};" for dependent, dependency in sorted(edges))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _overview_label(group: Mapping[str, Any], count: int) -> tuple[str, ...]:
    if group["type"].startswith(PROVIDER_TYPE_PREFIX) or group["custom"]:
        return (group["name"], short_type(group["type"]))
    return (group["name"], short_type(group["type"]), f"{count} resource{'s' if count != 1 else ''}")


def node_attributes(resource: dict[str, Any]) -> str:
    resource_type: str = resource["type"]
    if resource["custom"]:
        attributes = [f"label={label(resource['name'], short_type(resource_type))}"]
        if resource_type.startswith(PROVIDER_TYPE_PREFIX):
            attributes.append(PROVIDER_STYLE)
    else:
        # The full type: `Cluster` alone would not tell eks:index:Cluster from aws:eks/cluster:Cluster.
        attributes = [f"label={label(resource['name'], resource_type)}", OPAQUE_COMPONENT_STYLE]
    if resource["protect"]:
        attributes.append(PROTECTED_STYLE)
    return ", ".join(attributes)


def render_svg(dot_path: Path, svg_path: Path) -> bool:
    """Run `dot -Tsvg`; False (with a warning) when it is missing or fails, since the .dot alone is still useful."""
    dot = shutil.which("dot")
    if dot is None:
        return False
    try:
        subprocess.run(
            [dot, "-Tsvg", "-o", str(svg_path), str(dot_path)],
            check=True,
            capture_output=True,
            text=True,
            timeout=DOT_TIMEOUT_SECONDS,
        )
    except subprocess.CalledProcessError as error:
        print(f"graph: dot failed ({error.returncode}): {error.stderr.strip()}; kept {dot_path}", file=sys.stderr)
        return False
    except (OSError, subprocess.TimeoutExpired) as error:
        print(f"graph: could not run dot: {error}; kept {dot_path}", file=sys.stderr)
        return False
    return True


def write_graph(plan: PlanQuery, out_dir: Path) -> list[Path]:
    """Write overview.dot and graph.dot (each with an .svg when Graphviz's `dot` is on PATH); return the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, text in (("overview", render_overview_dot(plan)), ("graph", render_dot(plan))):
        dot_path = out_dir / f"{name}.dot"
        svg_path = out_dir / f"{name}.svg"
        dot_path.write_text(text, encoding="utf-8")
        written.append(dot_path)
        if render_svg(dot_path, svg_path):
            written.append(svg_path)
        else:
            # An svg left from an earlier run would no longer match the .dot.
            svg_path.unlink(missing_ok=True)
    return written
