from __future__ import annotations

import pulumi_aws as aws
import pytest

from components.ingress_controller import IngressController, IngressControllerArgs
from tests.conftest import run_component


def plan(controller: str, replicas: int = 2, zone_spread: bool = False):
    def program() -> None:
        nodes = aws.ec2.LaunchTemplate("nodes")
        IngressController(
            "ing",
            IngressControllerArgs(
                controller=controller, replicas=replicas, zone_spread=zone_spread, cluster_dependencies=(nodes,)
            ),
        )

    return run_component(program)


@pytest.mark.parametrize(
    ("controller", "chart", "version", "repo"),
    [
        # An OCI chart is named by its reference, with no repository index.
        ("f5-nginx", "oci://ghcr.io/nginx/charts/nginx-ingress", "2.6.4", None),
        ("ingress-nginx", "ingress-nginx", "4.15.1", "https://kubernetes.github.io/ingress-nginx"),
    ],
)
def test_release_is_pinned_in_its_own_namespace_behind_one_nlb(
    controller: str, chart: str, version: str, repo: str | None
) -> None:
    query = plan(controller)
    release = query.one("kubernetes:helm.sh/v3:Release", "ing-release")
    inputs = release["inputs"]
    assert (inputs["chart"], inputs["version"], inputs.get("repositoryOpts", {}).get("repo")) == (chart, version, repo)
    assert inputs["namespace"] == inputs["name"] == chart.rsplit("/", 1)[-1]
    assert inputs["skipAwait"] is False
    service = inputs["values"]["controller"]["service"]
    assert service["type"] == "LoadBalancer"
    assert service["externalTrafficPolicy"] == "Local"
    assert service["annotations"]["service.beta.kubernetes.io/aws-load-balancer-type"] == "nlb"
    limits = inputs["values"]["controller"]["resources"]
    assert set(limits) == {"requests", "limits"}
    namespace = query.one("kubernetes:core/v1:Namespace", "ing-namespace")
    assert namespace["inputs"]["metadata"]["name"] == inputs["namespace"]
    assert "pod-security.kubernetes.io/enforce" in namespace["inputs"]["metadata"]["labels"]
    assert namespace["urn"] in release["dependencies"]
    assert query.one("aws:ec2/launchTemplate:LaunchTemplate", "nodes")["urn"] in release["dependencies"]


def test_f5_controller_gets_a_disruption_budget_and_an_ingress_class() -> None:
    controller = plan("f5-nginx").one("kubernetes:helm.sh/v3:Release", "ing-release")["inputs"]["values"]["controller"]
    assert controller["replicaCount"] == 2
    assert controller["podDisruptionBudget"] == {"enabled": True, "minAvailable": 1}
    assert controller["ingressClass"]["name"] == "nginx"
    assert controller["enableSnippets"] is False


def test_community_controller_keeps_its_admission_webhook_and_budget() -> None:
    controller = plan("ingress-nginx").one("kubernetes:helm.sh/v3:Release", "ing-release")["inputs"]["values"]["controller"]
    assert controller["admissionWebhooks"] == {"enabled": True}
    assert controller["minAvailable"] == 1
    assert controller["ingressClassResource"]["name"] == "nginx"


@pytest.mark.parametrize("controller", ["f5-nginx", "ingress-nginx"])
def test_zone_spread_only_when_asked(controller: str) -> None:
    spread = plan(controller, replicas=3, zone_spread=True).one("kubernetes:helm.sh/v3:Release", "ing-release")
    (constraint,) = spread["inputs"]["values"]["controller"]["topologySpreadConstraints"]
    assert constraint["topologyKey"] == "topology.kubernetes.io/zone"
    assert constraint["whenUnsatisfiable"] == "DoNotSchedule"
    unspread = plan(controller).one("kubernetes:helm.sh/v3:Release", "ing-release")
    assert "topologySpreadConstraints" not in unspread["inputs"]["values"]["controller"]
