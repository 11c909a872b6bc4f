"""Deploy-time estimate: the create waits, the critical path over sourced durations, and waits without a need."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from offline.analyses.deploy_time import (
    DURATIONS_FILE,
    DeployTimeError,
    critical_path,
    load_durations,
    runtime_need,
)
from offline.plan.query import PlanQuery
from tests.policies.plans import STACK_URN, plan_resource

PREFIX = "urn:pulumi:test::eks-platform::"


def resource(
    name: str, kind: str, deps: tuple[str, ...] = (), parent: str | None = STACK_URN, custom: bool = True, **inputs: Any
) -> dict[str, Any]:
    made = plan_resource(kind, name, inputs, custom=custom)
    made.update(parent=parent, dependencies=[PREFIX + dep for dep in deps])
    return made


def urn(name: str, kind: str) -> str:
    return f"{PREFIX}{kind}::{name}"


CLUSTER = "eks:index:Cluster"
NODES = "aws:eks/nodeGroup:NodeGroup"
ADDON = "aws:eks/addon:Addon"
RELEASE = "kubernetes:helm.sh/v3:Release"
CLAIM = "kubernetes:core/v1:PersistentVolumeClaim"
ADDONS = "eks-platform:cluster:ClusterAddons"


def addons_plan() -> dict[str, Any]:
    """A release that waits for the whole add-ons component, as `after_nodes` makes every Kubernetes object do."""
    component = urn("addons", ADDONS)
    resources = [
        {**resource("stack", "pulumi:pulumi:Stack", parent=None, custom=False), "urn": STACK_URN},
        resource("cluster", CLUSTER, custom=False, version="1.35"),
        resource("nodes", NODES, (f"{CLUSTER}::cluster",)),
        resource("addons", ADDONS, custom=False),
        resource("coredns", ADDON, (f"{NODES}::nodes",), parent=component, addonName="coredns"),
        resource("agent", ADDON, (f"{NODES}::nodes",), parent=component, addonName="eks-pod-identity-agent"),
        resource(
            "csi",
            ADDON,
            (f"{NODES}::nodes", f"{ADDON}::agent"),
            parent=component,
            addonName="aws-ebs-csi-driver",
            podIdentityAssociations=[
                {"serviceAccount": "ebs-csi-controller-sa", "roleArn": "arn:aws:iam::123456789012:role/csi"}
            ],
        ),
        resource("web", RELEASE, (f"{ADDONS}::addons",)),
        resource("claim", CLAIM, (f"{ADDONS}::addons",)),
    ]
    return {"project": "p", "stack": "t", "resources": resources, "outputs": {}}


def test_a_wait_on_a_component_is_a_wait_on_everything_inside_it() -> None:
    waits = PlanQuery(addons_plan()).create_edges
    # The component itself creates nothing, so only what is inside it is waited for.
    assert waits[urn("web", RELEASE)] == {urn("coredns", ADDON), urn("agent", ADDON), urn("csi", ADDON)}


def test_a_resource_waits_for_its_provider() -> None:
    plan = addons_plan()
    provider = resource("k8s", "pulumi:providers:kubernetes", (f"{CLUSTER}::cluster",))
    plan["resources"].append(provider)
    next(r for r in plan["resources"] if r["name"] == "web")["provider"] = provider["urn"]
    assert provider["urn"] in PlanQuery(plan).create_edges[urn("web", RELEASE)]


def test_critical_path_adds_the_sourced_durations_along_the_longest_chain() -> None:
    """Cluster 748 s, nodes 119 s, the Pod Identity agent (60 s, no source) then the CSI driver 900 s, the release 60 s."""
    estimate = critical_path(PlanQuery(addons_plan()), load_durations())
    assert [step.name for step in estimate.path if step.duration.seconds] == ["cluster", "nodes", "agent", "csi", "web"]
    assert estimate.total_seconds == 748 + 119 + 60 + 900 + 60
    assert estimate.path[0].start == 0 and all(
        a.finish == b.start for a, b in zip(estimate.path, estimate.path[1:], strict=False)
    )
    assert [step.name for step in estimate.unsourced] == ["agent", "web"]


def test_release_waiting_for_an_add_on_it_does_not_use_is_flagged_with_its_cost() -> None:
    """The release runs pods (needs CoreDNS) but mounts no volume (does not need the EBS CSI driver): its wait on
    the driver delays it by the 60 s the driver finishes after CoreDNS. Without that wait the run ends with the
    claim instead (it needs the driver, so it is not flagged), 5 s after the driver: the saving is 55 s."""
    plan = addons_plan()
    estimate = critical_path(PlanQuery(plan), load_durations())
    assert [(f.waiter, f.waited, f.saves_seconds) for f in estimate.flagged] == [(urn("web", RELEASE), urn("csi", ADDON), 55)]
    assert estimate.without_unneeded_seconds == estimate.total_seconds - 55


@pytest.mark.parametrize(
    ("waiter", "waited", "needed"),
    [
        ("web", "csi", False),
        ("claim", "csi", True),
        ("web", "coredns", True),
        ("claim", "coredns", False),
        ("web", "agent", False),
        ("csi", "agent", True),
        ("web", "nodes", True),
    ],
)
def test_runtime_need_heuristic(waiter: str, waited: str, needed: bool) -> None:
    query = PlanQuery(addons_plan())
    by_name = {r["name"]: r for r in query.resources}
    assert runtime_need(query, by_name[waiter], by_name[waited]) is needed


def test_pod_identity_users_need_the_agent_and_their_own_role() -> None:
    query = PlanQuery(
        {
            "resources": [
                resource("owner", "eks-platform:autoscaling:ClusterAutoscaler", custom=False),
                resource(
                    "role",
                    "eks-platform:iam:PodIdentityRole",
                    parent=urn("owner", "eks-platform:autoscaling:ClusterAutoscaler"),
                    custom=False,
                ),
                resource(
                    "assoc",
                    "aws:eks/podIdentityAssociation:PodIdentityAssociation",
                    parent=urn("role", "eks-platform:iam:PodIdentityRole"),
                ),
                resource("iam", "aws:iam/role:Role", parent=urn("role", "eks-platform:iam:PodIdentityRole")),
                resource(
                    "release",
                    RELEASE,
                    ("aws:eks/podIdentityAssociation:PodIdentityAssociation::assoc",),
                    parent=urn("owner", "eks-platform:autoscaling:ClusterAutoscaler"),
                ),
                resource("other", RELEASE),
                resource("agent", ADDON, addonName="eks-pod-identity-agent"),
            ]
        }
    )
    by_name = {r["name"]: r for r in query.resources}
    assert runtime_need(query, by_name["release"], by_name["agent"])
    assert runtime_need(query, by_name["release"], by_name["iam"])
    assert not runtime_need(query, by_name["other"], by_name["iam"])


def test_waits_that_form_a_cycle_are_one_line() -> None:
    plan = addons_plan()
    (cluster,) = [resource for resource in plan["resources"] if resource["urn"] == urn("cluster", CLUSTER)]
    cluster["dependencies"] = [urn("web", RELEASE)]
    with pytest.raises(DeployTimeError) as caught:
        critical_path(PlanQuery(plan), load_durations())
    assert "cycle" in str(caught.value) and "\n" not in str(caught.value)


def test_shipped_stack_path_runs_through_cluster_nodes_and_an_add_on(dev: Any) -> None:
    estimate = critical_path(dev, load_durations())
    names = [step.name for step in estimate.path]
    assert {"cluster-eks", "nodes-system-group", "addons-ebs-csi-driver", "storage-ebs-pvc"} <= set(names)
    # The ingress, metrics-server and demo apps need no add-on: none of them waits for the EBS CSI driver.
    assert estimate.flagged == ()
    assert estimate.total_seconds == sum(step.duration.seconds for step in estimate.path)
    assert "critical path" in estimate.render() and estimate.summary().startswith("Deploy time")


def test_every_duration_names_a_source_or_says_it_has_none() -> None:
    document = json.loads(DURATIONS_FILE.read_text())
    for entry in [document["default"], *document["durations"]]:
        assert (entry["source"] or "").startswith("https://") or entry["note"].startswith("no source")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d["durations"][0].update(seconds=-1), "seconds must be a whole number"),
        (lambda d: d["durations"][0].update(source=None), "must start with 'no source'"),
        (lambda d: d["durations"][0].update(source="ftp://x"), "must be an https:// URL"),
        (lambda d: d["durations"][2].update(where={"zone": "a"}), "unknown trait 'zone'"),
        (lambda d: d.update(durations={}), "durations must be a list"),
    ],
)
def test_malformed_durations_file_is_one_line(tmp_path: Path, change: Any, words: str) -> None:
    document = json.loads(DURATIONS_FILE.read_text())
    change(document)
    path = tmp_path / "durations.json"
    path.write_text(json.dumps(document))
    with pytest.raises(DeployTimeError) as caught:
        load_durations(path)
    assert words in str(caught.value) and "\n" not in str(caught.value)


STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"


def stateful_set_plan() -> dict[str, Any]:
    """The add-ons plan with a StatefulSet in place of the release and the claim: its volume comes from
    volumeClaimTemplates only (no claim of its own, no persistentVolumeClaim volume in its pod template)."""
    plan = addons_plan()
    plan["resources"] = [r for r in plan["resources"] if r["name"] not in ("web", "claim")]
    plan["resources"].append(
        resource(
            "db",
            STATEFUL_SET,
            (f"{ADDONS}::addons",),
            spec={
                "serviceName": "db",
                "replicas": 2,
                "selector": {"matchLabels": {"app": "db"}},
                "template": {
                    "metadata": {"labels": {"app": "db"}},
                    "spec": {
                        "containers": [
                            {"name": "db", "image": "postgres:17", "volumeMounts": [{"name": "data", "mountPath": "/data"}]}
                        ]
                    },
                },
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "storageClassName": "gp3-encrypted",
                            "resources": {"requests": {"storage": "10Gi"}},
                        },
                    }
                ],
            },
        )
    )
    return plan


def test_a_stateful_set_with_volume_claim_templates_needs_the_ebs_csi_driver() -> None:
    """The StatefulSet controller creates one PersistentVolumeClaim per replica from volumeClaimTemplates (Kubernetes
    docs, StatefulSets: "Stable Storage"), and a claim of an ebs.csi.aws.com class is provisioned by the EBS CSI
    driver's controller: its csi-provisioner sidecar watches claims and sends the driver CreateVolume, which calls EC2
    (kubernetes-sigs/aws-ebs-csi-driver v1.63.1 docs/design.md, examples/kubernetes/dynamic-provisioning). Without
    the driver the claims stay Pending and so do the pods. Catches: a StatefulSet judged not to need the driver, its
    wait flagged as removable (here it would "save" 5 s), and a user who removes that wait left with Pending pods."""
    query = PlanQuery(stateful_set_plan())
    by_name = {r["name"]: r for r in query.resources}
    assert runtime_need(query, by_name["db"], by_name["csi"])
    estimate = critical_path(query, load_durations())
    assert estimate.path[-1].name == "db" and "csi" in [step.name for step in estimate.path]
    assert estimate.flagged == (), "the StatefulSet's wait on the EBS CSI driver is flagged as removable"
    assert estimate.unneeded_waits == 1  # db on the Pod Identity agent: it uses no pod identity.
    assert estimate.without_unneeded_seconds == estimate.total_seconds
