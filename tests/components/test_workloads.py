from __future__ import annotations

import pulumi_aws as aws
import pytest

from components.workloads import DemoWorkloads, DemoWorkloadsArgs
from tests.conftest import run_component


def plan(controller: str = "f5-nginx"):
    def program() -> None:
        release = aws.ec2.LaunchTemplate("controller-release")
        nodes = aws.ec2.LaunchTemplate("nodes")
        DemoWorkloads(
            "demo",
            DemoWorkloadsArgs(
                namespace="demo",
                ingress_controller=controller,
                ingress_class_name="nginx",
                ingress_namespace="nginx-ingress",
                controller=release,
                cluster_dependencies=(nodes,),
            ),
        )

    return run_component(program)


def pod_spec(query, name: str) -> dict:
    return query.one("kubernetes:apps/v1:Deployment", name)["inputs"]["spec"]["template"]["spec"]


def test_namespace_enforces_restricted_pod_security_and_waits_for_nodes() -> None:
    query = plan()
    namespace = query.one("kubernetes:core/v1:Namespace", "demo-namespace")
    assert namespace["inputs"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert query.one("aws:ec2/launchTemplate:LaunchTemplate", "nodes")["urn"] in namespace["dependencies"]


@pytest.mark.parametrize(("deployment", "image_prefix"), [("demo-httpd", "httpd:2.4."), ("demo-tomcat", "tomcat:10.1.")])
def test_deployments_are_pinned_probed_limited_and_hardened(deployment: str, image_prefix: str) -> None:
    query = plan()
    spec = query.one("kubernetes:apps/v1:Deployment", deployment)["inputs"]["spec"]
    assert spec["replicas"] == 2
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in pod["containers"] + pod.get("initContainers", []):
        assert container["image"].startswith(image_prefix)
        assert set(container["resources"]) == {"requests", "limits"}
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["readOnlyRootFilesystem"] is True
        assert context["capabilities"] == {"drop": ["ALL"]}
    for container in pod["containers"]:
        assert container["readinessProbe"]["httpGet"]["port"] == 8080
        assert container["livenessProbe"]["httpGet"]["port"] == 8080
    mounted = {m["mountPath"] for c in pod["containers"] for m in c["volumeMounts"]}
    assert "/tmp" in mounted


def test_tomcat_serves_its_welcome_page_from_a_writable_root_webapp() -> None:
    pod = pod_spec(plan(), "demo-tomcat")
    (init,) = pod["initContainers"]
    assert "webapps.dist/ROOT" in init["command"][-1]
    assert any(m["mountPath"] == "/usr/local/tomcat/webapps/ROOT" for m in pod["containers"][0]["volumeMounts"])


def test_httpd_listens_on_8080_as_a_high_uid() -> None:
    pod = pod_spec(plan(), "demo-httpd")
    assert pod["securityContext"]["runAsUser"] >= 10000
    assert "Listen 8080" in pod["containers"][0]["command"][-1]


@pytest.mark.parametrize("deployment", ["demo-httpd", "demo-tomcat"])
def test_demo_pods_run_as_uids_outside_the_nodes_range(deployment: str) -> None:
    """UIDs below 10000 may belong to a user of the node; checkov CKV_K8S_40 asks for 10000 or more."""
    pod = pod_spec(plan(), deployment)
    assert pod["securityContext"]["runAsUser"] >= 10000
    assert pod["securityContext"]["runAsGroup"] >= 10000


def policies(query) -> dict[str, dict]:
    return {
        p["inputs"]["metadata"]["name"]: p["inputs"]["spec"]
        for p in query.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
    }


def test_namespace_denies_all_traffic_by_default_and_allows_dns_to_coredns_only() -> None:
    """The VPC CNI enforces NetworkPolicies once enable_network_policy is on (EKS User Guide, "Limit Pod traffic with
    Kubernetes network policies"). A Service's ClusterIP is allowed only through a rule whose podSelector matches
    that Service's selector, k8s-app=kube-dns for CoreDNS (aws/aws-network-policy-agent). The mistake: a DNS rule
    by namespace alone, or none, and every name lookup times out."""
    specs = policies(plan())
    assert specs["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    (rule,) = specs["allow-dns"]["egress"]
    (peer,) = rule["to"]
    assert peer["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "kube-system"}
    assert peer["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}
    assert sorted((p["protocol"], p["port"]) for p in rule["ports"]) == [("TCP", 53), ("UDP", 53)]


def test_only_the_ingress_controllers_namespace_reaches_the_apps_and_only_on_their_container_port() -> None:
    """Policies are evaluated after the Service has translated its port, so they name container ports
    (aws/aws-network-policy-agent; Kubernetes documentation, "Network Policies"). Kubelet probes need no rule: the
    agent always admits the node's own address. The mistake: the Service port in the rule, which drops all traffic."""
    query = plan()
    specs = policies(query)
    for app in ("httpd", "tomcat"):
        spec = specs[f"allow-ingress-controller-to-{app}"]
        assert spec["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": app}
        (rule,) = spec["ingress"]
        assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "nginx-ingress"}}}]
        container_ports = {p["containerPort"] for c in pod_spec(query, f"demo-{app}")["containers"] for p in c["ports"]}
        assert {p["port"] for p in rule["ports"]} <= container_ports


def test_services_disruption_budgets_and_autoscaler() -> None:
    query = plan()
    for name, service in (("demo-httpd", "httpd-service"), ("demo-tomcat", "tomcat-service")):
        spec = query.one("kubernetes:core/v1:Service", name)["inputs"]
        assert spec["metadata"]["name"] == service
        assert spec["spec"]["type"] == "ClusterIP"
        assert spec["spec"]["ports"] == [{"name": "http", "port": 8080, "targetPort": 8080}]
        assert query.one("kubernetes:policy/v1:PodDisruptionBudget", name)["inputs"]["spec"]["minAvailable"] == 1
    hpa = query.one("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "demo-httpd")["inputs"]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "httpd"}
    assert hpa["minReplicas"] == 2
    assert hpa["metrics"][0]["resource"]["name"] == "cpu"


@pytest.mark.parametrize(
    ("controller", "paths", "annotation"),
    [
        ("f5-nginx", ["/httpd", "/tomcat"], "nginx.org/rewrites"),
        ("ingress-nginx", ["/httpd(/|$)(.*)", "/tomcat(/|$)(.*)"], "nginx.ingress.kubernetes.io/rewrite-target"),
    ],
)
def test_ingress_routes_both_prefixes_and_waits_for_the_controller(controller: str, paths: list[str], annotation: str) -> None:
    query = plan(controller)
    ingress = query.one("kubernetes:networking.k8s.io/v1:Ingress", "demo-ingress")
    spec = ingress["inputs"]["spec"]
    assert spec["ingressClassName"] == "nginx"
    routes = spec["rules"][0]["http"]["paths"]
    assert [route["path"] for route in routes] == paths
    assert [route["backend"]["service"]["name"] for route in routes] == ["httpd-service", "tomcat-service"]
    assert annotation in ingress["inputs"]["metadata"]["annotations"]
    assert query.one("aws:ec2/launchTemplate:LaunchTemplate", "controller-release")["urn"] in ingress["dependencies"]
