"""The Kubernetes half of each stack, with either ingress controller, and with the demo workloads on and off."""

from __future__ import annotations

import pytest

from components.shared.versions import KUBERNETES_RELEASES
from tests.conftest import STACKS, frozen_plan, stack_plan

CONTROLLERS = ["f5-nginx", "ingress-nginx"]


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("controller", CONTROLLERS)
def test_every_kubernetes_object_uses_the_cluster_provider(stack: str, controller: str) -> None:
    query = stack_plan(stack, controller, demo_workloads=True)
    (provider,) = query.of_type("pulumi:providers:kubernetes")
    assert provider["inputs"]["kubeconfig"] == "[secret]"
    assert query.depends_on(provider["urn"], query.one("eks:index:Cluster", "cluster-eks")["urn"])
    kubernetes = [r for r in query.resources if r["custom"] and r["type"].startswith("kubernetes:")]
    assert len(kubernetes) >= 15
    for resource in kubernetes:
        assert resource["provider"] == provider["urn"], resource["urn"]


@pytest.mark.parametrize("stack", STACKS)
def test_switching_the_controller_changes_the_release_the_ingress_and_its_allow_rules_only(stack: str) -> None:
    f5, community = stack_plan(stack, "f5-nginx", demo_workloads=True), stack_plan(stack, "ingress-nginx", demo_workloads=True)
    f5_release = f5.one("kubernetes:helm.sh/v3:Release", "ingress-release")["inputs"]
    community_release = community.one("kubernetes:helm.sh/v3:Release", "ingress-release")["inputs"]
    assert (f5_release["chart"], community_release["chart"]) == ("oci://ghcr.io/nginx/charts/nginx-ingress", "ingress-nginx")
    f5_ingress = f5.one("kubernetes:networking.k8s.io/v1:Ingress", "demo-ingress")["inputs"]
    community_ingress = community.one("kubernetes:networking.k8s.io/v1:Ingress", "demo-ingress")["inputs"]
    assert "nginx.org/rewrites" in f5_ingress["metadata"]["annotations"]
    assert "nginx.ingress.kubernetes.io/rewrite-target" in community_ingress["metadata"]["annotations"]
    assert f5_ingress["spec"]["ingressClassName"] == community_ingress["spec"]["ingressClassName"] == "nginx"
    different = {r["urn"] for r in f5.resources if (other := community.find(r["urn"])) is None or other["inputs"] != r["inputs"]}
    names = {urn.rsplit("::", 1)[-1] for urn in different}
    # The demo apps admit traffic from the controller's namespace only, so those policies follow it.
    assert names == {
        "ingress-namespace",
        "ingress-release",
        "demo-ingress",
        "demo-allow-ingress-to-httpd",
        "demo-allow-ingress-to-tomcat",
    }


def test_prod_ingress_spreads_over_zones_and_dev_does_not() -> None:
    prod = frozen_plan("prod").one("kubernetes:helm.sh/v3:Release", "ingress-release")["inputs"]["values"]["controller"]
    dev = frozen_plan("dev").one("kubernetes:helm.sh/v3:Release", "ingress-release")["inputs"]["values"]["controller"]
    assert prod["replicaCount"] == 3
    assert prod["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"
    assert dev["replicaCount"] == 2
    assert "topologySpreadConstraints" not in dev


@pytest.mark.parametrize("stack", STACKS)
def test_demo_urls_and_autoscaler_outputs(stack: str) -> None:
    query = stack_plan(stack, demo_workloads=True)
    outputs = query.plan["outputs"]
    # Known only once the NLB exists; the preview shows them as unknown, like `pulumi preview`.
    assert outputs["httpdUrl"] == outputs["tomcatUrl"] == outputs["ingressHostname"] == "[unknown]"
    if query.plan["outputs"]["autoscaler"] == "karpenter":
        # Karpenter launches its own nodes; nothing resizes the managed system pool.
        assert not [r for r in query.of_type("kubernetes:helm.sh/v3:Release") if r["name"] == "autoscaler-release"]
        return
    release = query.one("kubernetes:helm.sh/v3:Release", "autoscaler-release")["inputs"]
    assert release["values"]["autoDiscovery"]["clusterName"] == f"eks-platform-{stack}"
    # The autoscaler must match the cluster's minor: the chart pinned for the stack's own kubernetesVersion.
    minor = query.one("eks:index:Cluster", "cluster-eks")["inputs"]["version"]
    assert release["version"] == KUBERNETES_RELEASES[minor].cluster_autoscaler_chart.version
    for group in query.of_type("aws:eks/nodeGroup:NodeGroup"):
        assert group["ignoreChanges"] == ["scalingConfig.desiredSize"]


@pytest.mark.parametrize("stack", STACKS)
def test_without_demo_workloads_only_the_platform_is_left(stack: str) -> None:
    # The switch removes the seed's systems and nothing the platform needs: the default class stays.
    query = stack_plan(stack, demo_workloads=False)
    assert not [r for r in query.resources if r["type"].startswith("eks-platform:workloads:")]
    assert not query.of_type("kubernetes:core/v1:PersistentVolumeClaim")
    assert not query.of_type("kubernetes:apps/v1:Deployment")
    assert "demo" not in {r["inputs"]["metadata"]["name"] for r in query.of_type("kubernetes:core/v1:Namespace")}
    assert query.one("kubernetes:storage.k8s.io/v1:StorageClass", "storage-gp3")
    assert {"httpdUrl", "tomcatUrl"}.isdisjoint(query.plan["outputs"])
    assert query.plan["outputs"]["ingressHostname"] == "[unknown]"


def test_demo_workloads_default_per_stack() -> None:
    """Documented in README (Stacks): the seed's systems run in dev; prod (and the Pulumi.yaml default) has none."""
    assert frozen_plan("dev").of_type("eks-platform:workloads:DemoWorkloads")
    assert frozen_plan("dev").one("kubernetes:core/v1:PersistentVolumeClaim", "storage-ebs-pvc")
    assert not frozen_plan("prod").of_type("eks-platform:workloads:DemoWorkloads")
    assert not frozen_plan("prod").of_type("kubernetes:core/v1:PersistentVolumeClaim")
