"""The capacity rehearsal: the node figures as nodeadm computes them, the figures file read strictly, where pods land,
and each rule caught at its boundary (exactly full passes, one millicore, byte or pod more fails).

Behaviour runs on the frozen stacks (tests/fixtures/stacks), their variants and plans built here; the user's stack
files only get what holds for any valid stack.
"""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path
from typing import Any

import pytest

from offline.analyses import capacity
from offline.analyses.capacity import (
    CHARTS,
    MIB,
    CapacityFileError,
    Rehearsal,
    Resources,
    check,
    helm_merge,
    kube_reserved_cpu,
    kube_reserved_memory_mib,
    load_capacity,
    max_pods,
    node_figures,
    node_pools,
    rehearse,
    summary,
    surge_pods,
)
from offline.plan.build import build_plan
from offline.plan.query import PlanQuery
from tests.conftest import (
    FROZEN_STACKS,
    KARPENTER_WORKLOAD_POOLS,
    MANAGED_POOLS,
    STACKS,
    frozen_plan,
    karpenter_workload_plan,
    make_fixture_project,
    managed_pools_plan,
    stack_plan,
)

ROOT = Path(__file__).resolve().parents[3]
DATA = load_capacity()
SHARED_CHARTS = ROOT.parent / "shared" / "charts"

# Pulumi.karpenter-example.yaml as it was before the capacity rehearsal (issue 16, item 2): two m6i.large that nothing
# resizes, for Karpenter's 2 x 1 CPU, the add-ons and the demo.
KARPENTER_EXAMPLE_BEFORE = """config:
  eks-platform:publicAccessCidrs:
    - 203.0.113.0/24
  eks-platform:autoscaler: karpenter
  eks-platform:nodeGroups:
    system:
      instanceTypes: [m6i.large]
      minSize: 2
      desiredSize: 2
      maxSize: 3
    graviton-spot:
      instanceTypes: [m7g.large, m7g.xlarge, c7g.xlarge]
      capacityType: SPOT
      maxSize: 5
      diskSizeGiB: 40
      labels:
        workload-class: batch
      taints:
        - key: workload-class
          value: batch
          effect: NoSchedule
  eks-platform:demoWorkloads: true
"""


def run(query: PlanQuery) -> Rehearsal:
    return check(query, DATA)


def checks(rehearsal: Rehearsal) -> list[tuple[str, str, str]]:
    return [(b.pool, b.check, b.workload) for b in rehearsal.broken]


def pool(rehearsal: Rehearsal, name: str) -> capacity.PoolCapacity:
    (found,) = [p for p in rehearsal.pools if p.pool.name == name]
    return found


def names(demands: Any) -> set[str]:
    return {d.workload for d in demands}


def test_the_rehearsal_is_an_analysis_of_the_plan_like_the_others() -> None:
    """tests/test_layout.py's rules for offline/analyses/* (its ANALYSES list does not name this one yet): it reads
    the plan and its own data only, never a component, another analysis or a command; its entry takes a PlanQuery.
    Mistake caught: the rehearsal importing components/ (the program) to learn the pool label or the charts."""
    from tests.test_layout import ANALYSIS_DATA, IMPORTS, OUTSIDE, within

    name = "offline.analyses.capacity"
    assert {i for i in IMPORTS[name] if not within(i, "offline.plan", *ANALYSIS_DATA, *OUTSIDE)} == set()
    assert next(iter(inspect.signature(rehearse).parameters)) == "query"
    assert inspect.signature(rehearse).parameters["query"].annotation == "PlanQuery"


# ---------------------------------------------------------------------------------------------------------------
# What a node offers, as nodeadm computes it


@pytest.mark.parametrize(("vcpus", "reserved"), [(1, 60), (2, 70), (4, 80), (8, 90), (16, 110), (64, 230)])
def test_kube_reserved_cpu_follows_nodeadms_tiers(vcpus: int, reserved: int) -> None:
    """6% of the first core, 1% of the second, 0.5% of the next two, 0.25% of the rest (nodeadm config.go,
    getCPUMillicoresToReserve). Mistake caught: one rate for every core, or a tier boundary off by a core."""
    assert kube_reserved_cpu(vcpus) == reserved


def test_kube_reserved_matches_nodeadms_own_expectation() -> None:
    """nodeadm's e2e case kubelet-config-new-instance-type (amazon-eks-ami 4d63a3bc, expected-kubelet-config.json): a
    2-vCPU type it has no ENI figures for gets the kubelet's 110 pods, kubeReserved cpu 70m and memory 1465Mi.
    Mistake caught: the memory reservation computed from something other than max pods (11 MiB each plus 255)."""
    assert (kube_reserved_cpu(2), kube_reserved_memory_mib(110)) == (70, 1465)


# amazon-eks-ami templates/shared/runtime/eni-max-pods.txt at 2377b69aaeb8d751af1a265c2bfbeb94e6f6da90, the table the
# same formula generated, before it moved out of the repository.
ENI_MAX_PODS = {
    "t3.medium": 17,
    "t3.large": 35,
    "m6i.large": 29,
    "m6i.xlarge": 58,
    "m7g.large": 29,
    "c7g.xlarge": 58,
    "r6i.large": 29,
}


@pytest.mark.parametrize(("instance_type", "pods"), sorted(ENI_MAX_PODS.items()))
def test_max_pods_is_the_vpc_cni_formula(instance_type: str, pods: int) -> None:
    """ENIs * (IPv4 addresses per ENI - 1) + 2. Mistake caught: forgetting each ENI's primary address or the two
    host-network pods, or an ENI figure copied wrong into the data file."""
    assert max_pods(DATA.instance_types[instance_type]) == pods


def test_a_node_offers_what_the_kubelet_leaves_after_its_reservations() -> None:
    """m6i.large: 2 vCPU, 8192 MiB less Karpenter's 7.5% VM overhead (615 MiB, rounded up) = 7577 MiB; kube-reserved
    70m and 11 * 29 + 255 = 574 MiB; 100 MiB hard eviction: 1930m, 6903 MiB, 29 pods. An m7g.large also loses 64 MiB
    of Graviton CMA memory first (8128, less 610). Mistake caught: counting EC2's nominal memory as allocatable."""
    intel = node_figures(DATA.instance_types["m6i.large"], DATA.kubelet)
    assert intel.capacity == Resources(2000, 7577 * MIB, 29)
    assert intel.kube_reserved == Resources(70, 574 * MIB, 0)
    assert intel.allocatable == Resources(1930, 6903 * MIB, 29)
    graviton = node_figures(DATA.instance_types["m7g.large"], DATA.kubelet)
    assert graviton.allocatable == Resources(1930, (8128 - 610 - 574 - 100) * MIB, 29)


# ---------------------------------------------------------------------------------------------------------------
# The figures file


def test_every_figure_names_a_source_pinned_to_a_commit() -> None:
    document = json.loads(capacity.CAPACITY_FILE.read_text())
    urls = [*document["kubelet"]["sources"].values(), *document["instanceTypes"]["sources"].values()]
    urls += [addon["source"] for addon in document["addons"].values()]
    assert urls and all(re.match(r"^https://github\.com/[^/]+/[^/]+/(blob|tree)/[0-9a-f]{40}/", url) for url in urls)


def _instance_types_of(text: str) -> set[str]:
    return set(re.findall(r"\b[a-z][a-z0-9]*\.(?:medium|large|[0-9]*xlarge)\b", text))


def test_every_instance_type_the_tests_and_shipped_stacks_use_has_figures() -> None:
    """The shipped and frozen stacks, Pulumi.yaml's default pool, conftest's pool variants and the forked stacks.
    Mistake caught: a stack the suite previews whose pool the rehearsal silently leaves unchecked."""
    from tests.stacks.test_forked_stacks import FORKS

    texts = [path.read_text() for path in (*ROOT.glob("Pulumi*.yaml"), *FROZEN_STACKS.glob("Pulumi.*.yaml"))]
    texts += [json.dumps(KARPENTER_WORKLOAD_POOLS), json.dumps(MANAGED_POOLS), *FORKS.values()]
    used = set().union(*(_instance_types_of(text) for text in texts))
    assert {"m6i.large", "t3.medium", "m7g.large", "c6i.xlarge"} <= used
    assert used - set(DATA.instance_types) == set()


def _write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "instance-capacity.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def _edit(change: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(capacity.CAPACITY_FILE.read_text())
    change(document)
    return document


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d["instanceTypes"]["types"]["m6i.large"].pop("vcpus"), "instanceTypes.types.m6i.large lacks 'vcpus'"),
        (lambda d: d["instanceTypes"]["types"]["m6i.large"].update(vcpus=0), "instanceTypes.types.m6i.large.vcpus must be"),
        (lambda d: d["instanceTypes"]["types"]["m6i.large"].update(architecture="arm"), "architecture must be x86_64 or arm64"),
        (lambda d: d["instanceTypes"]["types"].update({"M6I LARGE": {}}), "is not an instance type name"),
        (
            lambda d: d["instanceTypes"]["sources"].update(
                vcpus="https://github.com/flexera-public/policy_templates/blob/master/x"
            ),
            "instanceTypes.sources.vcpus must be a GitHub URL pinned to a commit",
        ),
        (lambda d: d["kubelet"].update(vmMemoryOverheadPercent=1), "kubelet.vmMemoryOverheadPercent must be a fraction"),
        (
            lambda d: d["addons"]["coredns"]["pods"][0]["containers"][0]["requests"].update(cpu="10 m"),
            "addons.coredns.pods[0].containers[0].requests.cpu not a quantity",
        ),
        (
            lambda d: d["addons"]["coredns"]["pods"][0]["containers"][0]["requests"].update(gpu="1"),
            "has unknown resource 'gpu'",
        ),
        (lambda d: d["addons"]["coredns"]["pods"][0].update(kind="Job"), "addons.coredns.pods[0].kind must be Deployment"),
        (
            lambda d: d["addons"]["coredns"]["pods"][0].update(replicas=0),
            "addons.coredns.pods[0].replicas must be a whole number",
        ),
        (lambda d: d["addons"]["vpc-cni"]["pods"][0].update(replicas=2), "is a DaemonSet"),
        (lambda d: d["addons"]["vpc-cni"].update(pods=[]), "addons.vpc-cni.pods must be a non-empty list"),
        (lambda d: d.update(schema=2), "schema must be 1"),
        (lambda d: d.update(extra=1), "has unknown field 'extra'"),
    ],
)
def test_a_malformed_figures_file_is_one_line_naming_the_field(tmp_path: Path, change: Any, words: str) -> None:
    """Mistake caught: a typo in the figures becoming a node with no CPU, or an add-on that requests nothing."""
    with pytest.raises(CapacityFileError) as caught:
        load_capacity(_write(tmp_path, _edit(change)))
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_a_key_written_twice_in_the_figures_file_is_refused(tmp_path: Path) -> None:
    text = capacity.CAPACITY_FILE.read_text().replace('"schema": 1,', '"schema": 1, "schema": 1,', 1)
    with pytest.raises(CapacityFileError, match="'schema' appears twice"):
        load_capacity(_write(tmp_path, text))


# ---------------------------------------------------------------------------------------------------------------
# Where the figures come from: the pinned charts and add-ons


def test_every_chart_the_program_pins_has_its_defaults_read() -> None:
    """Mistake caught: a chart bumped in components/shared/versions.py while the rehearsal still assumes the old
    version's replicas and requests."""
    from components.shared import versions

    pinned = {versions.F5_NGINX_INGRESS, versions.COMMUNITY_INGRESS_NGINX, versions.METRICS_SERVER, versions.KARPENTER}
    pinned |= {versions.KARPENTER_CRD, *(row.cluster_autoscaler_chart for row in versions.KUBERNETES_RELEASES.values())}
    assert [(c.name, c.version) for c in pinned if c.name not in CHARTS or c.version not in CHARTS[c.name].versions] == []


def _subset_of(mine: Any, theirs: Any, where: str) -> list[str]:
    if isinstance(mine, dict) and mine:
        if not isinstance(theirs, dict):
            return [f"{where}: {theirs!r} in the chart"]
        return [problem for key, value in mine.items() for problem in _subset_of(value, theirs.get(key), f"{where}.{key}")]
    return [] if mine == theirs else [f"{where}: {mine!r} here, {theirs!r} in the chart"]


@pytest.mark.parametrize("chart", sorted(name for name in CHARTS if CHARTS[name].defaults))
def test_the_chart_defaults_are_the_charts_own_values(chart: str) -> None:
    """Read against the pinned charts' values.yaml in ../shared/charts (not part of this repository; skipped where it
    is absent). Mistake caught: a default typed in wrong (the replicas or requests the rehearsal counts)."""
    from ruamel.yaml import YAML

    for version in CHARTS[chart].versions:
        values_file = SHARED_CHARTS / f"{chart}-{version}" / "values.yaml"
        if not values_file.exists():
            pytest.skip(f"{values_file} is not here")
        values = YAML(typ="safe").load(values_file.read_text())
        assert _subset_of(CHARTS[chart].defaults, values, chart) == []


def test_the_add_on_figures_are_read_for_the_pinned_builds() -> None:
    """Mistake caught: moving vpc-cni or the EBS CSI driver to a new build without reading its pods again."""
    from components.shared import versions

    for row in versions.KUBERNETES_RELEASES.values():
        assert row.addons.vpc_cni.startswith(f"{DATA.addons['vpc-cni'].read_for}-eksbuild.")
        assert row.addons.ebs_csi_driver.startswith(f"{DATA.addons['aws-ebs-csi-driver'].read_for}-eksbuild.")
    coredns_135 = versions.KUBERNETES_RELEASES["1.35"].addons.coredns.split("-eksbuild.")[0]
    assert coredns_135 in DATA.addons["coredns"].read_for


# ---------------------------------------------------------------------------------------------------------------
# The frozen stacks


_before: list[PlanQuery] = []


def karpenter_example_before(tmp_path_factory: pytest.TempPathFactory) -> PlanQuery:
    if not _before:
        project = make_fixture_project(tmp_path_factory.mktemp("before"), KARPENTER_EXAMPLE_BEFORE)
        _before.append(PlanQuery(build_plan("fixture", project).to_json()))
    return _before[0]


def test_the_karpenter_example_as_it_was_cannot_roll_out_tomcat_the_ingress_or_metrics_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Issue 16, item 2: two m6i.large hold 3500m CPU for pods (1930m each after kube-reserved, less 180m of
    DaemonSets); 3420m is requested (Karpenter alone 2 x 1 CPU), so the surge pod of tomcat (250m), the ingress
    controller or metrics-server (100m each) never starts, while httpd's (50m) does and Karpenter, CoreDNS and the EBS
    CSI controller stop a pod first. Mistake caught: a rehearsal that misses the example's failing `up`."""
    rehearsal = run(karpenter_example_before(tmp_path_factory))
    system = pool(rehearsal, "system")
    assert system.pool.fixed and system.pool.min_nodes == 2
    assert (system.free.cpu, system.requests.cpu, system.capacity) == (1750, 3420, Resources(3500, 2 * 6799 * MIB, 50))
    assert checks(rehearsal) == [
        ("system", "surge", "Deployment demo/tomcat"),
        ("system", "surge", "metrics-server (Helm chart metrics-server 3.13.1)"),
        ("system", "surge", "nginx-ingress controller (Helm chart nginx-ingress 2.6.4)"),
    ]
    assert "Deployment demo/httpd" in names(system.surges)


def test_the_fixed_karpenter_example_holds_its_pods_and_a_surge() -> None:
    """Three m6i.large: 5250m CPU for 3420m and the largest surge (250m)."""
    rehearsal = run(frozen_plan("karpenter-example"))
    system = pool(rehearsal, "system")
    assert checks(rehearsal) == []
    assert (system.pool.min_nodes, system.capacity, system.requests.cpu) == (3, Resources(5250, 3 * 6799 * MIB, 75), 3420)


PLANS = {
    "dev": lambda: frozen_plan("dev"),
    "dev-ingress-nginx": lambda: frozen_plan("dev", "ingress-nginx"),
    "prod": lambda: frozen_plan("prod"),
    "prod-with-demo": lambda: frozen_plan("prod", demo_workloads=True),
    "karpenter-example": lambda: frozen_plan("karpenter-example"),
    "demo-on-karpenter": karpenter_workload_plan,
    "three-managed-pools": managed_pools_plan,
}


@pytest.mark.parametrize("name", sorted(PLANS))
def test_the_frozen_stacks_and_their_variants_fit_and_everything_is_counted(name: str) -> None:
    """Mistake caught: a false alarm that would fail every preview, or pods and pools quietly left out."""
    rehearsal = run(PLANS[name]())
    assert checks(rehearsal) == []
    assert list(rehearsal.uncounted) == []
    assert all(not p.not_checked for p in rehearsal.pools)
    assert {p.pool.name for p in rehearsal.pools} == {p.name for p in node_pools(PLANS[name]())}


def test_every_node_runs_the_add_ons_daemonsets_tainted_or_not() -> None:
    """aws-node (3 x 25m, init container beside), kube-proxy (100m), ebs-csi-node (30m) and the Pod Identity agent
    (nothing, but a pod) tolerate every taint. Mistake caught: forgetting the per-node pods, or keeping them off a
    tainted pool."""
    rehearsal = run(frozen_plan("karpenter-example"))
    expected = {
        "aws-node (EKS add-on vpc-cni)",
        "kube-proxy (EKS add-on kube-proxy)",
        "ebs-csi-node (EKS add-on aws-ebs-csi-driver)",
        "eks-pod-identity-agent (EKS add-on eks-pod-identity-agent)",
    }
    for name in ("system", "graviton-spot"):
        found = pool(rehearsal, name)
        assert names(found.daemon_sets) == expected
        assert found.node - found.free == Resources(180, 104 * MIB, 4)


def test_pods_land_where_their_selectors_affinity_and_taints_let_them() -> None:
    """Karpenter only on the managed system pool (its affinity), the demo only on `general` (pool affinity), CoreDNS
    only on system (the add-on's configured affinity), the EBS CSI controller on every untainted pool, nothing but
    DaemonSets on a tainted pool. Mistake caught: counting every pod on every pool, or on none."""
    karpenter = run(karpenter_workload_plan())
    system, general, spot = (pool(karpenter, name) for name in ("system", "general", "graviton-spot"))
    assert "karpenter (Helm chart karpenter 1.14.1)" in names(system.pods)
    assert names(general.pods) == {
        "Deployment demo/httpd",
        "Deployment demo/tomcat",
        "Deployment demo/pv-demo",
        "Deployment demo/scratch-demo",
        "ebs-csi-controller (EKS add-on aws-ebs-csi-driver)",
    }
    assert spot.pods == ()
    managed = run(managed_pools_plan())
    assert "coredns (EKS add-on coredns)" in names(pool(managed, "system").pods)
    assert "coredns (EKS add-on coredns)" not in names(pool(managed, "general").pods)
    assert "ebs-csi-controller (EKS add-on aws-ebs-csi-driver)" in names(pool(managed, "general").pods)


def test_chart_defaults_count_where_the_program_sets_nothing() -> None:
    """Karpenter's 2 replicas (values.yaml replicas), rolling with maxUnavailable 1 (no surge room needed); the F5
    controller's default strategy (25%: one surge pod of two replicas). Mistake caught: a chart value the program
    leaves unset taken as zero replicas or as a rollout that needs no room."""
    system = pool(run(frozen_plan("karpenter-example")), "system")
    pods = {d.workload: d for d in system.pods}
    assert pods["karpenter (Helm chart karpenter 1.14.1)"].pods == 2
    assert pods["karpenter (Helm chart karpenter 1.14.1)"].request.cpu == 2000
    surges = {d.workload: d.pods for d in system.surges}
    assert surges["nginx-ingress controller (Helm chart nginx-ingress 2.6.4)"] == 1
    assert not {"karpenter (Helm chart karpenter 1.14.1)", "coredns (EKS add-on coredns)"} & set(surges)


def test_the_report_and_its_summary_say_what_was_checked() -> None:
    report = rehearse(frozen_plan("karpenter-example"), DATA)
    assert set(report) == {"pools", "broken", "notCounted"}
    lines = list(summary(report, "karpenter-example"))
    assert lines[0] == "capacity karpenter-example: 2 pools (1 fixed) checked against their pods, 0 broken"
    assert any("fixed, 3 nodes: requests 3420m CPU" in line for line in lines)


# ---------------------------------------------------------------------------------------------------------------
# Each rule at its boundary, on plans built here: one pool, no EKS add-ons (so no DaemonSets), m6i.large nodes
# offering 1930m CPU, 6903 MiB and 29 pods each.


def _resource(resource_type: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "urn": f"urn:pulumi:t::p::{resource_type}::{name}",
        "type": resource_type,
        "name": name,
        "custom": True,
        "parent": None,
        "provider": None,
        "dependencies": [],
        "inputs": inputs,
    }


def node_group(
    sizes: tuple[int, int, int] = (2, 2, 3), types: tuple[str, ...] = ("m6i.large",), taints: tuple[dict[str, str], ...] = ()
) -> dict[str, Any]:
    minimum, desired, maximum = sizes
    return _resource(
        capacity.NODE_GROUP,
        "nodes-system-group",
        {
            "instanceTypes": list(types),
            "amiType": "AL2023_x86_64_STANDARD",
            "capacityType": "ON_DEMAND",
            "labels": {capacity.POOL_LABEL: "system"},
            "scalingConfig": {"minSize": minimum, "desiredSize": desired, "maxSize": maximum},
            **({"taints": list(taints)} if taints else {}),
        },
    )


def deployment(
    name: str,
    cpu: str = "0",
    memory: str = "0",
    replicas: int = 1,
    strategy: dict[str, Any] | None = None,
    **pod: Any,
) -> dict[str, Any]:
    container = {"name": name, "resources": {"requests": {"cpu": cpu, "memory": memory}}}
    return _resource(
        "kubernetes:apps/v1:Deployment",
        name,
        {
            "metadata": {"name": name, "namespace": "apps"},
            "spec": {
                "replicas": replicas,
                "strategy": strategy if strategy is not None else {"type": "Recreate"},
                "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container], **pod}},
            },
        },
    )


HELM = capacity.HELM_RELEASE
# Its one pod requests nothing (the chart sets no resources) but counts as a pod, with a surge pod on top.
AUTOSCALER = _resource(HELM, "autoscaler-release", {"chart": "cluster-autoscaler", "version": "9.54.0"})


def plan_of(*resources: dict[str, Any]) -> PlanQuery:
    return PlanQuery({"stack": "t", "resources": list(resources)})


@pytest.mark.parametrize(("cpu", "broken"), [("965m", []), ("966m", [("system", "requests", "")])])
def test_a_fixed_pool_exactly_full_passes_and_one_millicore_more_fails(cpu: str, broken: list[Any]) -> None:
    """4 x 965m = 3860m, what two nodes hold. Mistake caught: a fixed pool allowed to be over-committed."""
    assert checks(run(plan_of(node_group(), deployment("app", cpu, replicas=4)))) == broken


@pytest.mark.parametrize(("memory", "broken"), [(str(4602 * MIB), []), (str(4602 * MIB + 1), [("system", "requests", "")])])
def test_memory_counts_to_the_byte(memory: str, broken: list[Any]) -> None:
    """3 x 4602 MiB = 13806 MiB, two nodes' 6903 MiB. Mistake caught: memory left out, or compared in rounded units."""
    assert checks(run(plan_of(node_group(), deployment("app", memory=memory, replicas=3)))) == broken


@pytest.mark.parametrize(("replicas", "broken"), [(58, []), (59, [("system", "requests", "")])])
def test_pods_count_against_max_pods(replicas: int, broken: list[Any]) -> None:
    """Two nodes of 29 pods. Mistake caught: a pool of tiny pods that the VPC CNI's address limit cannot seat."""
    assert checks(run(plan_of(node_group(), deployment("app", "1m", replicas=replicas)))) == broken


@pytest.mark.parametrize(
    ("cpu", "strategy", "broken"),
    [
        ("965m", {}, []),
        ("966m", {}, [("system", "surge", "Deployment apps/app")]),
        # maxUnavailable 1: the rollout stops an old pod first, so its surge needs no room of its own.
        ("966m", {"rollingUpdate": {"maxUnavailable": 1}}, []),
    ],
)
def test_a_fixed_pool_holds_the_surge_pod_of_a_rollout_that_stops_no_pod_first(
    cpu: str, strategy: dict[str, Any], broken: list[Any]
) -> None:
    """3 replicas with the default strategy: 25% surge rounds up to 1 pod, 25% unavailable down to 0, so 4 x 965m =
    3860m must fit. Mistake caught: ignoring the surge (the next `up` that changes the Deployment hangs), or counting
    one for a rollout that makes room first."""
    assert checks(run(plan_of(node_group(), deployment("app", cpu, replicas=3, strategy=strategy)))) == broken


@pytest.mark.parametrize(
    ("kind", "strategy", "replicas", "surge"),
    [
        ("Deployment", None, 2, 1),
        ("Deployment", None, 4, 0),  # 25% of 4 lets one pod go first
        ("Deployment", {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}}, 10, 3),
        ("Deployment", {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}, 2, 0),  # resolved to unavailable 1
        ("Deployment", {"type": "Recreate"}, 2, 0),
        ("StatefulSet", None, 2, 0),
    ],
)
def test_surge_pods_resolve_as_the_deployment_controller_does(
    kind: str, strategy: dict[str, Any] | None, replicas: int, surge: int
) -> None:
    """ResolveFenceposts: surge rounded up, unavailable rounded down, 1 unavailable when both are 0."""
    assert surge_pods(kind, strategy, replicas) == surge


@pytest.mark.parametrize(("cpu", "broken"), [("1930m", []), ("1931m", [("system", "pod-size", "Deployment apps/app")])])
def test_a_pod_larger_than_any_node_it_may_land_on_is_broken(cpu: str, broken: list[Any]) -> None:
    """Mistake caught: a pool whose total is large enough hiding a pod no single node can take."""
    assert checks(run(plan_of(node_group(), deployment("app", cpu)))) == broken


@pytest.mark.parametrize(("cpu", "fits"), [("3920m", True), ("3921m", False)])
def test_karpenter_takes_a_pod_its_largest_listed_type_fits(cpu: str, fits: bool) -> None:
    """A NodePool of m7g.large and m7g.xlarge (3920m allocatable): Karpenter picks the type that fits. Mistake caught:
    judging a Karpenter pool by its smallest type only."""
    node_pool = _resource(
        capacity.NODE_POOL,
        "pool-general-nodepool",
        {
            "metadata": {"name": "general"},
            "spec": {
                "template": {
                    "metadata": {"labels": {capacity.POOL_LABEL: "general"}},
                    "spec": {
                        "requirements": [
                            {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["m7g.large", "m7g.xlarge"]}
                        ]
                    },
                },
                "limits": {"nodes": "4"},
            },
        },
    )
    broken = checks(run(plan_of(node_pool, deployment("app", cpu))))
    assert broken == ([] if fits else [("general", "pod-size", "Deployment apps/app")])


@pytest.mark.parametrize(("replicas", "broken"), [(2, []), (3, [("system", "one-per-node", "Deployment apps/app")])])
def test_pods_that_want_a_node_each_need_as_many_nodes(replicas: int, broken: list[Any]) -> None:
    """Required anti-affinity on kubernetes.io/hostname with its own pods (Karpenter's chart does this). Mistake
    caught: a fixed pool of two nodes for three such pods."""
    anti = {
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "app"}}}
            ]
        }
    }
    assert checks(run(plan_of(node_group(), deployment("app", "10m", replicas=replicas, affinity=anti)))) == broken


@pytest.mark.parametrize(("cpu", "broken"), [("965m", []), ("966m", [("system", "max-size", "")])])
def test_an_autoscaled_pool_reports_the_nodes_it_needs_and_fails_past_its_max(cpu: str, broken: list[Any]) -> None:
    """Under the cluster autoscaler the pool grows to maxSize 3: 6 x 965m = 5790m is three nodes, 966m needs a fourth.
    Mistake caught: an autoscaled pool treated as fixed at its desired size, or as unlimited."""
    rehearsal = run(plan_of(node_group((1, 1, 3)), AUTOSCALER, deployment("app", cpu, replicas=6)))
    assert checks(rehearsal) == broken
    assert pool(rehearsal, "system").nodes_needed == (3 if not broken else 4)


def test_nodes_needed_at_max_count_every_hpa_at_its_maximum() -> None:
    """Reported, not a failure: the autoscaler adds nodes up to maxSize as the HPA scales out."""
    hpa = _resource(
        "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
        "app",
        {
            "metadata": {"name": "app", "namespace": "apps"},
            "spec": {"minReplicas": 2, "maxReplicas": 8, "scaleTargetRef": {"kind": "Deployment", "name": "app"}},
        },
    )
    rehearsal = run(plan_of(node_group((1, 1, 3)), AUTOSCALER, hpa, deployment("app", "965m", replicas=2)))
    system = pool(rehearsal, "system")
    assert (system.nodes_needed, system.nodes_needed_at_max, checks(rehearsal)) == (1, 4, [])


@pytest.mark.parametrize(
    ("taint", "tolerations", "broken"),
    [
        ({"key": "team", "value": "a", "effect": "NO_SCHEDULE"}, [], [("", "no-pool", "Deployment apps/app")]),
        ({"key": "team", "value": "a", "effect": "NO_SCHEDULE"}, [{"key": "team", "operator": "Equal", "value": "a"}], []),
        (
            {"key": "team", "value": "a", "effect": "NO_EXECUTE"},
            [{"key": "team", "value": "b"}],
            [("", "no-pool", "Deployment apps/app")],
        ),
        ({"key": "team", "value": "a", "effect": "NO_SCHEDULE"}, [{"operator": "Exists"}], []),
        ({"key": "team", "value": "a", "effect": "PREFER_NO_SCHEDULE"}, [], []),
    ],
)
def test_a_taint_keeps_off_the_pods_that_do_not_tolerate_it(
    taint: dict[str, str], tolerations: list[Any], broken: list[Any]
) -> None:
    """Mistake caught: pods counted on a tainted pool they can never run on (or a Pending pod nobody is told of)."""
    assert checks(run(plan_of(node_group(taints=(taint,)), deployment("app", "10m", tolerations=tolerations)))) == broken


@pytest.mark.parametrize(
    ("pod", "broken"),
    [
        ({"nodeSelector": {capacity.POOL_LABEL: "system"}}, []),
        ({"nodeSelector": {capacity.POOL_LABEL: "gpu"}}, [("", "no-pool", "Deployment apps/app")]),
        (
            {
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [{"matchExpressions": [{"key": "karpenter.sh/nodepool", "operator": "Exists"}]}]
                        }
                    }
                }
            },
            [("", "no-pool", "Deployment apps/app")],
        ),
    ],
)
def test_a_pod_no_pool_admits_is_broken(pod: dict[str, Any], broken: list[Any]) -> None:
    """Mistake caught: a selector for a pool that does not exist (the pod stays Pending and `up` times out)."""
    assert checks(run(plan_of(node_group(), deployment("app", "10m", **pod)))) == broken


def test_a_limit_without_a_request_and_a_larger_init_container_count_as_requests() -> None:
    """Kubernetes takes the limit as the request, and a pod's request is at least its largest init container's.
    Mistake caught: counting such pods as requesting nothing."""
    limited = deployment("limited")
    limited["inputs"]["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "500m", "memory": "1Gi"}}
    initialised = deployment("initialised", "100m", initContainers=[{"name": "init", "resources": {"requests": {"cpu": "700m"}}}])
    system = pool(run(plan_of(node_group(), limited, initialised)), "system")
    requests = {d.workload: d.request for d in system.pods}
    assert requests["Deployment apps/limited"] == Resources(500, 1024 * MIB, 1)
    assert requests["Deployment apps/initialised"] == Resources(700, 0, 1)


def test_a_release_without_values_gets_the_charts_defaults() -> None:
    """metrics-server 3.13.1 with nothing set: 1 replica of 100m and 200Mi, the default strategy (one surge pod).
    Mistake caught: a release whose values say nothing counted as no pods."""
    release = _resource(HELM, "metrics-release", {"chart": "metrics-server", "version": "3.13.1", "values": {}})
    system = pool(run(plan_of(node_group(), release)), "system")
    ((pods,),) = [system.pods]
    assert (pods.pods, pods.request, [s.pods for s in system.surges]) == (1, Resources(100, 200 * MIB, 1), [1])


def test_a_chart_it_has_not_read_is_named_as_not_counted() -> None:
    """Mistake caught: an unknown chart's pods silently taken as zero."""
    release = _resource(HELM, "other", {"chart": "oci://example.com/charts/other", "version": "1.0.0"})
    rehearsal = run(plan_of(node_group(), release))
    assert [u["reason"] for u in rehearsal.uncounted] == [
        "chart other 1.0.0: its default values are not read here (offline/analyses/capacity.py CHARTS)"
    ]


def test_helm_merges_maps_and_replaces_everything_else() -> None:
    defaults = {"affinity": {"nodeAffinity": {"a": [1]}, "podAntiAffinity": {"b": 2}}, "tolerations": [{"key": "x"}], "gone": 1}
    values = {"affinity": {"nodeAffinity": {"a": [3]}}, "tolerations": [], "gone": None}
    assert helm_merge(defaults, values) == {
        "affinity": {"nodeAffinity": {"a": [3]}, "podAntiAffinity": {"b": 2}},
        "tolerations": [],
    }


def test_an_instance_type_without_figures_leaves_its_pool_unchecked_and_says_so() -> None:
    rehearsal = run(plan_of(node_group(types=("x2iedn.32xlarge",)), deployment("app", "10m")))
    assert pool(rehearsal, "system").not_checked == "no figures for x2iedn.32xlarge in instance-capacity.json"
    assert checks(rehearsal) == []


# ---------------------------------------------------------------------------------------------------------------
# Your stacks: only what holds for any valid stack


@pytest.mark.parametrize("stack", STACKS)
def test_every_pool_of_your_stack_is_reported_and_its_sums_add_up(stack: str) -> None:
    """Whatever the pools, sizes and instance types: every pool appears once, a pool's requests are the sum of its
    pods, and a fixed pool holds its free share per node times its nodes."""
    query = stack_plan(stack)
    rehearsal = run(query)
    assert sorted(p.pool.name for p in rehearsal.pools) == sorted(p.name for p in node_pools(query))
    for found in (p for p in rehearsal.pools if not p.not_checked):
        assert found.requests == sum((d.request for d in found.pods), Resources())
        assert found.free == found.node - sum((d.request for d in found.daemon_sets), Resources())
        if found.pool.fixed:
            assert found.capacity == found.free.times(found.pool.min_nodes)
    json.dumps(rehearse(query, DATA))  # the report is plain JSON (capacity.json)
