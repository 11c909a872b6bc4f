"""offline.analyses.graph: the plan drawn as Graphviz: an overview of the components, and every resource in its component.

Both draw the transitive reduction of "depends on" (recorded dependencies plus the provider each resource uses).
"""

from __future__ import annotations

import copy
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from offline.analyses.graph import STACK_TYPE, transitive_reduction, write_graph
from offline.plan.build import build_plan
from offline.plan.query import PlanQuery

# A DOT quoted string: anything but a quote or backslash, or any backslash escape.
QUOTED = r'"(?:[^"\\]|\\.)*"'
NODE_LINE = re.compile(rf"^\s*({QUOTED}) \[(.*)\];$")
EDGE_LINE = re.compile(rf"^\s*({QUOTED}) -> ({QUOTED});$")
CLUSTER_OPEN = re.compile(r"^\s*subgraph (cluster_\d+) \{$")
LABEL_LINE = re.compile(rf"^\s*label=({QUOTED});$")


def unquote(text: str) -> str:
    """The inverse of offline.analyses.graph.quote."""
    return re.sub(r"\\(.)", lambda match: "\n" if match.group(1) == "n" else match.group(1), text[1:-1])


@dataclass
class Cluster:
    label: str = ""
    depth: int = 0
    parent: str | None = None
    nodes: list[str] = field(default_factory=list)


@dataclass
class ParsedDot:
    nodes: dict[str, str]  # id -> attribute text
    edges: list[tuple[str, str]]
    clusters: dict[str, Cluster]


def parse_dot(text: str) -> ParsedDot:
    """Parse the subset of DOT that write_graph emits (one statement a line) and check its structure."""
    without_strings = re.sub(QUOTED, '""', text)
    assert without_strings.count("{") == without_strings.count("}"), "unbalanced braces"
    lines = text.splitlines()
    assert lines[0].startswith("digraph ") and lines[0].endswith("{")
    assert lines[-1] == "}"

    nodes: dict[str, str] = {}
    edges: list[tuple[str, str]] = []
    clusters: dict[str, Cluster] = {}
    open_clusters: list[str] = []
    for line in lines[1:-1]:
        if match := CLUSTER_OPEN.match(line):
            name = match.group(1)
            clusters[name] = Cluster(depth=len(open_clusters), parent=open_clusters[-1] if open_clusters else None)
            open_clusters.append(name)
        elif line.strip() == "}":
            assert open_clusters, "closing brace without an open cluster"
            open_clusters.pop()
        elif (match := LABEL_LINE.match(line)) and open_clusters:
            clusters[open_clusters[-1]].label = unquote(match.group(1))
        elif match := EDGE_LINE.match(line):
            edges.append((unquote(match.group(1)), unquote(match.group(2))))
        elif match := NODE_LINE.match(line):
            node_id = unquote(match.group(1))
            assert node_id not in nodes, f"node declared twice: {node_id}"
            nodes[node_id] = match.group(2)
            if open_clusters:
                clusters[open_clusters[-1]].nodes.append(node_id)
    assert not open_clusters, "cluster left open"
    for dependent, dependency in edges:
        assert dependent in nodes, f"edge from an undeclared node: {dependent}"
        assert dependency in nodes, f"edge to an undeclared node: {dependency}"
    assert len(edges) == len(set(edges)), "duplicate edges"
    return ParsedDot(nodes, edges, clusters)


@pytest.fixture(scope="module")
def dev_plan() -> dict[str, Any]:
    return build_plan("dev").to_json()


def urn_of(plan: dict[str, Any], resource_type: str, name: str) -> str:
    matches = [r["urn"] for r in plan["resources"] if r["type"] == resource_type and r["name"] == name]
    assert len(matches) == 1, f"{resource_type} {name}: {matches}"
    return str(matches[0])


def graph_of(plan: dict[str, Any], out_dir: Path, name: str = "graph") -> ParsedDot:
    write_graph(PlanQuery(plan), out_dir)
    return parse_dot((out_dir / f"{name}.dot").read_text(encoding="utf-8"))


def test_dev_graph_is_well_formed_and_has_every_resource(dev_plan: dict[str, Any], tmp_path: Path) -> None:
    graph = graph_of(dev_plan, tmp_path)
    parents = {r["parent"] for r in dev_plan["resources"]}
    expected_nodes = {
        r["urn"] for r in dev_plan["resources"] if r["type"] != STACK_TYPE and (r["custom"] or r["urn"] not in parents)
    }
    assert set(graph.nodes) == expected_nodes
    assert graph.edges


def test_each_local_component_is_a_cluster_nested_like_the_tree(dev_plan: dict[str, Any], tmp_path: Path) -> None:
    graph = graph_of(dev_plan, tmp_path)
    parents = {r["parent"] for r in dev_plan["resources"]}
    components = [r for r in dev_plan["resources"] if not r["custom"] and r["type"] != STACK_TYPE and r["urn"] in parents]
    assert {r["type"] for r in components} >= {"eks-platform:network:Network", "eks-platform:iam:PodIdentityRole"}
    cluster_by_label = {cluster.label: name for name, cluster in graph.clusters.items()}
    assert len(cluster_by_label) == len(graph.clusters) == len(components)
    for component in components:
        assert f"{component['name']}\n{component['type']}" in cluster_by_label

    pod_identity = graph.clusters[cluster_by_label["addons-ebs-csi\neks-platform:iam:PodIdentityRole"]]
    assert pod_identity.parent == cluster_by_label["addons\neks-platform:cluster:ClusterAddons"]
    assert urn_of(dev_plan, "aws:iam/role:Role", "addons-ebs-csi") in pod_identity.nodes


def test_remote_components_and_providers_are_nodes(dev_plan: dict[str, Any], tmp_path: Path) -> None:
    graph = graph_of(dev_plan, tmp_path)
    eks_cluster = urn_of(dev_plan, "eks:index:Cluster", "cluster-eks")
    assert "shape=component" in graph.nodes[eks_cluster]
    assert 'label="cluster-eks\\neks:index:Cluster"' in graph.nodes[eks_cluster]
    assert (
        'label="network-private-eu-central-1a\\nSubnet"'
        in graph.nodes[urn_of(dev_plan, "aws:ec2/subnet:Subnet", "network-private-eu-central-1a")]
    )
    assert urn_of(dev_plan, "pulumi:providers:aws", "aws") in graph.nodes


@pytest.mark.parametrize("name", ["graph", "overview"])
def test_every_provider_is_connected_to_what_uses_it(dev_plan: dict[str, Any], tmp_path: Path, name: str) -> None:
    graph = graph_of(dev_plan, tmp_path, name)
    for provider in ("aws", "k8s"):
        urn = urn_of(dev_plan, f"pulumi:providers:{'aws' if provider == 'aws' else 'kubernetes'}", provider)
        assert any(dependency == urn for _, dependency in graph.edges), f"nothing uses the {provider} provider"
    # The Kubernetes provider itself needs the cluster (its kubeconfig).
    k8s = urn_of(dev_plan, "pulumi:providers:kubernetes", "k8s")
    assert any(dependent == k8s for dependent, _ in graph.edges)


def reaches(edges: set[tuple[str, str]] | list[tuple[str, str]]) -> dict[str, set[str]]:
    successors: dict[str, set[str]] = {}
    for source, target in edges:
        successors.setdefault(source, set()).add(target)
    closure: dict[str, set[str]] = {}
    for start in successors:
        seen: set[str] = set()
        todo = list(successors[start])
        while todo:
            node = todo.pop()
            if node not in seen:
                seen.add(node)
                todo.extend(successors.get(node, ()))
        closure[start] = seen
    return closure


def all_dependencies(plan: dict[str, Any], nodes: set[str]) -> set[tuple[str, str]]:
    """Every recorded dependency and provider use between drawn nodes: what the picture must still imply."""
    edges = set()
    for resource in plan["resources"]:
        uses = [*resource["dependencies"], resource["provider"], *resource["providers"].values()]
        edges |= {
            (resource["urn"], used) for used in uses if resource["urn"] in nodes and used in nodes and used != resource["urn"]
        }
    return edges


def test_the_graph_implies_every_dependency_with_no_redundant_arrow(dev_plan: dict[str, Any], tmp_path: Path) -> None:
    graph = graph_of(dev_plan, tmp_path)
    full = all_dependencies(dev_plan, set(graph.nodes))
    drawn = set(graph.edges)
    assert drawn <= full and len(drawn) < len(full) / 2
    assert reaches(drawn) == reaches(full)
    assert transitive_reduction(drawn) == drawn


def test_transitive_reduction_drops_only_implied_edges() -> None:
    assert transitive_reduction([("a", "b"), ("b", "c"), ("a", "c")]) == {("a", "b"), ("b", "c")}
    # Two routes that do not imply each other both stay.
    assert transitive_reduction([("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")]) == {
        ("a", "b"),
        ("a", "c"),
        ("b", "d"),
        ("c", "d"),
    }
    assert transitive_reduction([("a", "a"), ("a", "b")]) == {("a", "b")}


def test_transitive_reduction_keeps_reachability_even_in_a_cycle() -> None:
    edges = [("a", "b"), ("a", "c"), ("b", "c"), ("c", "b")]
    assert reaches(transitive_reduction(edges)) == reaches(edges)


def test_overview_has_one_node_per_component_and_reads_in_seconds(dev_plan: dict[str, Any], tmp_path: Path) -> None:
    overview = graph_of(dev_plan, tmp_path, "overview")
    stack = next(r["urn"] for r in dev_plan["resources"] if r["type"] == STACK_TYPE)
    top_level = {r["urn"] for r in dev_plan["resources"] if r["parent"] == stack}
    assert set(overview.nodes) == top_level and not overview.clusters
    assert len(overview.edges) <= len(overview.nodes) + 5
    node = {r["name"]: r["urn"] for r in dev_plan["resources"] if r["urn"] in top_level}
    for dependent, dependency in [
        ("cluster", "iam"),
        ("cluster", "network"),
        ("nodes-system", "cluster"),
        ("addons", "nodes-system"),
    ]:
        assert (node[dependent], node[dependency]) in overview.edges
    # cluster -> aws is implied through iam and network, so it is not drawn.
    assert (node["cluster"], node["aws"]) not in overview.edges
    assert 'label="network\\nNetwork\\n' in overview.nodes[node["network"]]


def test_overview_marks_a_component_holding_a_protected_resource(tmp_path: Path) -> None:
    prod = build_plan("prod").to_json()
    overview = graph_of(prod, tmp_path, "overview")
    cluster = urn_of(prod, "eks-platform:cluster:Cluster", "cluster")
    assert 'color="#c00000"' in overview.nodes[cluster]
    assert 'color="#c00000"' not in overview.nodes[urn_of(prod, "eks-platform:network:Network", "network")]


def test_dependencies_point_from_dependent_to_dependency(dev_plan: dict[str, Any], tmp_path: Path) -> None:
    graph = graph_of(dev_plan, tmp_path)
    node_group = urn_of(dev_plan, "aws:eks/nodeGroup:NodeGroup", "nodes-system-group")
    launch_template = urn_of(dev_plan, "aws:ec2/launchTemplate:LaunchTemplate", "nodes-system-lt")
    assert (node_group, launch_template) in graph.edges
    assert (launch_template, node_group) not in graph.edges
    subnet = urn_of(dev_plan, "aws:ec2/subnet:Subnet", "network-public-eu-central-1a")
    assert (subnet, urn_of(dev_plan, "aws:ec2/vpc:Vpc", "network-vpc")) in graph.edges


def test_same_plan_gives_the_same_bytes_whatever_the_registration_order(dev_plan: dict[str, Any], tmp_path: Path) -> None:
    reordered = copy.deepcopy(dev_plan)
    reordered["resources"].reverse()
    for resource in reordered["resources"]:
        resource["dependencies"] = list(reversed(resource["dependencies"])) * 2
    write_graph(PlanQuery(dev_plan), tmp_path / "first")
    write_graph(PlanQuery(dev_plan), tmp_path / "second")
    write_graph(PlanQuery(reordered), tmp_path / "reordered")
    first = (tmp_path / "first" / "graph.dot").read_bytes()
    assert first == (tmp_path / "second" / "graph.dot").read_bytes()
    assert first == (tmp_path / "reordered" / "graph.dot").read_bytes()


def resource(urn_name: str, resource_type: str, *, custom: bool, parent: str | None, **extra: Any) -> dict[str, Any]:
    urn = f"urn:pulumi:t::p::{resource_type}::{urn_name}"
    return {
        "urn": urn,
        "type": resource_type,
        "name": urn_name,
        "custom": custom,
        "parent": parent,
        "provider": None,
        "providers": {},
        "dependencies": [],
        "inputs": {},
        "protect": False,
        "retainOnDelete": False,
    } | extra


TRICKY_NAME = 'say "hi" {x} \\ end\\'


def tricky_plan() -> dict[str, Any]:
    stack = resource("p-t", STACK_TYPE, custom=False, parent=None)
    component = resource('team "a"', "my:index:Component", custom=False, parent=stack["urn"])
    bucket = resource(TRICKY_NAME, "aws:s3/bucket:Bucket", custom=True, parent=component["urn"], protect=True)
    policy = resource("line\nbreak", "aws:s3/bucketPolicy:BucketPolicy", custom=True, parent=component["urn"])
    # Dependencies on the stack and on a component drawn as a cluster are not edges.
    policy["dependencies"] = [bucket["urn"], bucket["urn"], component["urn"], stack["urn"]]
    return {"project": 'p"q', "stack": "t", "resources": [stack, component, bucket, policy], "outputs": {}}


def test_names_with_quotes_and_backslashes_are_escaped(tmp_path: Path) -> None:
    plan = tricky_plan()
    graph = graph_of(plan, tmp_path)
    _, _, bucket, policy = plan["resources"]
    assert set(graph.nodes) == {bucket["urn"], policy["urn"]}
    assert graph.edges == [(policy["urn"], bucket["urn"])]
    [cluster] = graph.clusters.values()
    assert cluster.label == 'team "a"\nmy:index:Component'
    text = (tmp_path / "graph.dot").read_text(encoding="utf-8")
    assert '"urn:pulumi:t::p::aws:s3/bucket:Bucket::say \\"hi\\" {x} \\\\ end\\\\"' in text
    assert 'label="line\\nbreak\\nBucketPolicy"' in text


def test_protected_resources_are_drawn_with_a_red_border(tmp_path: Path) -> None:
    plan = tricky_plan()
    graph = graph_of(plan, tmp_path)
    _, _, bucket, policy = plan["resources"]
    assert 'color="#c00000"' in graph.nodes[bucket["urn"]]
    assert "color" not in graph.nodes[policy["urn"]]


def fake_dot(tmp_path: Path, script: str) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    dot = bin_dir / "dot"
    dot.write_text(f"#!/bin/sh\n{script}\n")
    dot.chmod(0o755)
    return bin_dir


def test_without_dot_only_the_dot_file_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    out = tmp_path / "out"
    out.mkdir()
    (out / "graph.svg").write_text("stale")
    assert write_graph(PlanQuery(tricky_plan()), out) == [out / "overview.dot", out / "graph.dot"]
    assert not (out / "graph.svg").exists()


def test_a_failing_dot_keeps_the_dot_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(fake_dot(tmp_path, 'echo "syntax error" >&2; exit 1')))
    out = tmp_path / "out"
    assert write_graph(PlanQuery(tricky_plan()), out) == [out / "overview.dot", out / "graph.dot"]
    assert (out / "graph.dot").read_text(encoding="utf-8").startswith("digraph ")
    assert not (out / "graph.svg").exists()
    assert "syntax error" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed (Debian: apt-get install graphviz)")
def test_svg_is_rendered_by_graphviz(dev_plan: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "dev"
    paths = write_graph(PlanQuery(dev_plan), out)
    assert paths == [out / "overview.dot", out / "overview.svg", out / "graph.dot", out / "graph.svg"]
    assert ">ClusterAddons</text>" in (out / "overview.svg").read_text(encoding="utf-8")
    svg = (out / "graph.svg").read_text(encoding="utf-8")
    assert "<svg" in svg
    assert ">nodes&#45;system&#45;group</text>" in svg or ">nodes-system-group</text>" in svg

    # Graphviz itself must read the escaped names back as they were.
    write_graph(PlanQuery(tricky_plan()), tmp_path / "tricky")
    tricky_svg = (tmp_path / "tricky" / "graph.svg").read_text(encoding="utf-8")
    assert ">say &quot;hi&quot; {x} \\ end\\</text>" in tricky_svg
