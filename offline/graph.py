"""Draw a plan (the dict written to plan.json) as a Graphviz graph: `graph.dot`, plus `graph.svg` when `dot` is installed.

Local components are clusters (nested like the resource tree), resources are nodes, and dependencies are
edges from the dependent to its dependency, so every arrow points at what must exist first.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

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


def render_dot(plan: dict[str, Any]) -> str:
    # Sorted by URN so the output depends on what was declared, not on the order registrations arrived in.
    resources = sorted((r for r in plan["resources"] if r["type"] != STACK_TYPE), key=lambda r: str(r["urn"]))
    known_urns = {r["urn"] for r in resources}

    children: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for resource in resources:
        # Children of the stack (and of anything not in the plan) are drawn at the top level.
        parent = resource["parent"] if resource["parent"] in known_urns else None
        children[parent].append(resource)

    def is_cluster(resource: dict[str, Any]) -> bool:
        return not resource["custom"] and bool(children.get(resource["urn"]))

    node_urns = {r["urn"] for r in resources if not is_cluster(r)}
    project, stack = str(plan["project"]), str(plan["stack"])
    lines = [
        f"digraph {quote(f'{project}-{stack}')} {{",
        "  rankdir=LR;",
        f"  label={quote(f'{project} ({stack}): each arrow points from a resource to what it depends on')};",
        "  labelloc=t;",
        '  fontname="Helvetica";',
        f"  {NODE_DEFAULTS}",
    ]
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

    edges: set[tuple[str, str]] = set()
    for resource in resources:
        if resource["urn"] not in node_urns:
            continue
        for dependency in resource["dependencies"]:
            # Clusters are skipped: the SDK already expands a dependency on a component to its children.
            if dependency in node_urns and dependency != resource["urn"]:
                edges.add((resource["urn"], dependency))
    lines.extend(f"  {quote(dependent)} -> {quote(dependency)};" for dependent, dependency in sorted(edges))
    lines.append("}")
    return "\n".join(lines) + "\n"


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


def write_graph(plan: dict[str, Any], out_dir: Path) -> list[Path]:
    """Write graph.dot (and graph.svg when Graphviz's `dot` is on PATH) into out_dir; return the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    dot_path = out_dir / "graph.dot"
    svg_path = out_dir / "graph.svg"
    dot_path.write_text(render_dot(plan), encoding="utf-8")
    if render_svg(dot_path, svg_path):
        return [dot_path, svg_path]
    # An svg left from an earlier run would no longer match graph.dot.
    svg_path.unlink(missing_ok=True)
    return [dot_path]
