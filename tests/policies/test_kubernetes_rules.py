"""Kubernetes and Helm rules: a compliant workload passes every rule in every workload kind, and each rule
fails the one change it is about. Manifests are full objects, as pulumi-kubernetes registers them."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from policies.eks_policies.common import POD_SPEC_PATHS
from policies.eks_policies.kubernetes_rules import KUBERNETES_POLICIES, image_tag_problem
from tests.policies.plans import assert_fires, check

WORKLOAD_TYPES = {
    "Pod": "kubernetes:core/v1:Pod",
    "Deployment": "kubernetes:apps/v1:Deployment",
    "StatefulSet": "kubernetes:apps/v1:StatefulSet",
    "DaemonSet": "kubernetes:apps/v1:DaemonSet",
    "ReplicaSet": "kubernetes:apps/v1:ReplicaSet",
    "ReplicationController": "kubernetes:core/v1:ReplicationController",
    "Job": "kubernetes:batch/v1:Job",
    "CronJob": "kubernetes:batch/v1:CronJob",
}
KUBERNETES_POLICY_NAMES = [policy.name for policy in KUBERNETES_POLICIES]


def good_container(name: str = "app") -> dict[str, Any]:
    return {
        "name": name,
        "image": "ghcr.io/example/app:1.4.2",
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
        "livenessProbe": {"httpGet": {"path": "/live", "port": 8080}},
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
    }


def good_pod_spec() -> dict[str, Any]:
    init = good_container("migrate")
    del init["readinessProbe"], init["livenessProbe"]  # init containers run to completion: no probes
    return {
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001},
        "initContainers": [init],
        "containers": [good_container()],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
    }


def manifest(kind: str, spec: dict[str, Any] | None = None) -> dict[str, Any]:
    """A workload of `kind` around a pod spec, nested where that kind keeps it."""
    pod = good_pod_spec() if spec is None else spec
    body: dict[str, Any] = pod
    for key in reversed(POD_SPEC_PATHS[kind][1:]):
        body = {key: body}
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": "web", "namespace": "apps"}, "spec": body}


def workload_violations(policy: str, change: Callable[[dict[str, Any]], object], kind: str = "Deployment") -> list[Any]:
    spec = good_pod_spec()
    change(spec)
    return check(WORKLOAD_TYPES[kind], manifest(kind, spec), policy)


def app(spec: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = spec["containers"][0]
    return container


@pytest.mark.parametrize("kind", WORKLOAD_TYPES)
@pytest.mark.parametrize("policy", KUBERNETES_POLICY_NAMES)
def test_compliant_workload_passes_every_rule(kind: str, policy: str) -> None:
    assert check(WORKLOAD_TYPES[kind], manifest(kind), policy) == []


@pytest.mark.parametrize("kind", WORKLOAD_TYPES)
def test_pod_specs_are_found_in_every_workload_kind(kind: str) -> None:
    violations = workload_violations(
        "k8s-not-privileged", lambda spec: app(spec)["securityContext"].update(privileged=True), kind
    )
    assert_fires(violations, "container 'app' is privileged")


def set_image(image: str, container: str = "containers") -> Callable[[dict[str, Any]], None]:
    def change(spec: dict[str, Any]) -> None:
        spec[container][0]["image"] = image

    return change


@dataclass(frozen=True)
class Case:
    policy: str
    change: Callable[[dict[str, Any]], object]
    fragment: str
    kind: str = "Deployment"


FAILING: dict[str, Case] = {
    "image/latest": Case("k8s-image-tag-pinned", set_image("nginx:latest"), "nginx:latest with the mutable tag latest"),
    "image/no tag": Case("k8s-image-tag-pinned", set_image("nginx"), "without a tag"),
    "image/registry port no tag": Case("k8s-image-tag-pinned", set_image("registry.local:5000/app"), "without a tag"),
    "image/init container": Case(
        "k8s-image-tag-pinned", set_image("busybox:latest", "initContainers"), "init container 'migrate'"
    ),
    "resources/no limits": Case(
        "k8s-container-resources", lambda spec: app(spec)["resources"].pop("limits"), "limits.cpu, limits.memory"
    ),
    "resources/no memory request": Case(
        "k8s-container-resources", lambda spec: app(spec)["resources"]["requests"].pop("memory"), "requests.memory"
    ),
    "probes/no liveness": Case("k8s-container-probes", lambda spec: app(spec).pop("livenessProbe"), "has no livenessProbe"),
    "probes/none": Case(
        "k8s-container-probes",
        lambda spec: [app(spec).pop(probe) for probe in ("readinessProbe", "livenessProbe")],
        "readinessProbe or livenessProbe",
    ),
    "non-root/unset": Case("k8s-run-as-non-root", lambda spec: spec.pop("securityContext"), "may run as root"),
    "non-root/container overrides pod": Case(
        "k8s-run-as-non-root",
        lambda spec: app(spec)["securityContext"].update(runAsNonRoot=False),
        "container 'app' may run as root",
    ),
    "escalation/unset": Case(
        "k8s-no-privilege-escalation",
        lambda spec: app(spec)["securityContext"].pop("allowPrivilegeEscalation"),
        "allowPrivilegeEscalation",
    ),
    "escalation/true": Case(
        "k8s-no-privilege-escalation",
        lambda spec: app(spec)["securityContext"].update(allowPrivilegeEscalation=True),
        "container 'app'",
    ),
    "privileged/init container": Case(
        "k8s-not-privileged",
        lambda spec: spec["initContainers"][0]["securityContext"].update(privileged=True),
        "init container 'migrate'",
    ),
    "capabilities/partial drop": Case(
        "k8s-drop-all-capabilities",
        lambda spec: app(spec)["securityContext"].update(capabilities={"drop": ["NET_RAW"]}),
        "does not drop ALL",
    ),
    "capabilities/none": Case("k8s-drop-all-capabilities", lambda spec: app(spec).pop("securityContext"), "does not drop ALL"),
    "host/hostPath": Case(
        "k8s-no-host-access",
        lambda spec: spec["volumes"].append({"name": "etc", "hostPath": {"path": "/etc"}}),
        "mounts hostPath /etc as volume 'etc'",
    ),
    "host/network": Case("k8s-no-host-access", lambda spec: spec.update(hostNetwork=True), "sets hostNetwork"),
    "host/pid": Case("k8s-no-host-access", lambda spec: spec.update(hostPID=True), "sets hostPID"),
    "host/ipc": Case("k8s-no-host-access", lambda spec: spec.update(hostIPC=True), "sets hostIPC", kind="CronJob"),
    "retired/controller image": Case(
        "helm-no-retired-ingress-nginx",
        set_image("registry.k8s.io/ingress-nginx/controller:v1.14.0"),
        "runs the retired community ingress-nginx controller",
    ),
}


@pytest.mark.parametrize("case", FAILING.values(), ids=FAILING.keys())
def test_workload_rule_fails(case: Case) -> None:
    assert_fires(workload_violations(case.policy, case.change, case.kind), case.fragment)


@pytest.mark.parametrize(
    "image",
    ["nginx:1.27.3", "registry.local:5000/app:2.0", "nginx@sha256:" + "a" * 64, "ghcr.io/org/app:1.0@sha256:" + "b" * 64],
)
def test_pinned_images(image: str) -> None:
    assert image_tag_problem(image) is None


def test_batch_pods_need_no_probes() -> None:
    def no_probes(spec: dict[str, Any]) -> None:
        app(spec).pop("readinessProbe")
        app(spec).pop("livenessProbe")

    assert workload_violations("k8s-container-probes", no_probes, "Job") == []
    assert_fires(workload_violations("k8s-container-probes", no_probes, "StatefulSet"), "readinessProbe")


def test_run_as_non_root_on_the_container_alone_passes() -> None:
    def container_level(spec: dict[str, Any]) -> None:
        spec.pop("securityContext")
        for container in spec["initContainers"] + spec["containers"]:
            container["securityContext"]["runAsNonRoot"] = True

    assert workload_violations("k8s-run-as-non-root", container_level) == []


# ---------------------------------------------------------------------------------------------------------------
# Objects other than workloads


def service(service_type: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "svc", "namespace": "ingress", "labels": labels},
        "spec": {"type": service_type, "ports": [{"port": 443}]},
    }


CONTROLLER_LABELS = {"app.kubernetes.io/name": "nginx-ingress", "app.kubernetes.io/component": "controller"}


def namespace(labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps", "labels": labels}}


def claim(storage_class: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    if storage_class is not None:
        spec["storageClassName"] = storage_class
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"}, "spec": spec}


def storage_class(provisioner: str, parameters: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": "gp3-encrypted"},
        "provisioner": provisioner,
        "parameters": parameters,
    }


def stateful_set_with_claim(storage_class_name: str) -> dict[str, Any]:
    stateful_set = manifest("StatefulSet")
    stateful_set["spec"]["volumeClaimTemplates"] = [{"metadata": {"name": "data"}, "spec": claim(storage_class_name)["spec"]}]
    return stateful_set


def release(chart: str, version: str, repo: str = "https://helm.nginx.com/stable") -> dict[str, Any]:
    return {"name": "ingress", "chart": chart, "version": version, "namespace": "ingress", "repositoryOpts": {"repo": repo}}


def ingress(class_name: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"rules": [{"host": "app.example.com"}]}
    if class_name is not None:
        spec["ingressClassName"] = class_name
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web"}, "spec": spec}


SERVICE = "kubernetes:core/v1:Service"
RELEASE = "kubernetes:helm.sh/v3:Release"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
NAMESPACE = "kubernetes:core/v1:Namespace"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
STATEFUL_SET = WORKLOAD_TYPES["StatefulSet"]

# (policy, resource type, inputs, expected fragment or None for a pass)
OBJECT_CASES: dict[str, tuple[str, str, dict[str, Any], str | None]] = {
    "service/cluster ip": ("k8s-service-exposure", SERVICE, service("ClusterIP", {}), None),
    "service/controller load balancer": ("k8s-service-exposure", SERVICE, service("LoadBalancer", CONTROLLER_LABELS), None),
    "service/app load balancer": ("k8s-service-exposure", SERVICE, service("LoadBalancer", {"app": "web"}), "type LoadBalancer"),
    "service/node port": (
        "k8s-service-exposure",
        SERVICE,
        service("NodePort", {**CONTROLLER_LABELS, "app.kubernetes.io/component": "backend"}),
        "type NodePort",
    ),
    "ingress/class": ("k8s-ingress-class", INGRESS, ingress("nginx"), None),
    "ingress/no class": ("k8s-ingress-class", INGRESS, ingress(None), "spec.ingressClassName"),
    "namespace/restricted": (
        "k8s-namespace-pod-security",
        NAMESPACE,
        namespace({"pod-security.kubernetes.io/enforce": "restricted"}),
        None,
    ),
    "namespace/unlabelled": (
        "k8s-namespace-pod-security",
        NAMESPACE,
        namespace({"team": "a"}),
        "no pod-security.kubernetes.io/enforce",
    ),
    "namespace/privileged": (
        "k8s-namespace-pod-security",
        NAMESPACE,
        namespace({"pod-security.kubernetes.io/enforce": "privileged"}),
        "'privileged'",
    ),
    "storage/pvc encrypted": ("k8s-encrypted-storage", PVC, claim("gp3-encrypted"), None),
    "storage/pvc gp2": ("k8s-encrypted-storage", PVC, claim("gp2"), "storage class 'gp2'"),
    "storage/pvc default class": ("k8s-encrypted-storage", PVC, claim(None), "storage class None"),
    "storage/stateful set template": (
        "k8s-encrypted-storage",
        STATEFUL_SET,
        stateful_set_with_claim("gp2"),
        "volume claim template 'data'",
    ),
    "storage/stateful set encrypted": ("k8s-encrypted-storage", STATEFUL_SET, stateful_set_with_claim("gp3-encrypted"), None),
    "storage/class encrypted": (
        "k8s-encrypted-storage",
        STORAGE_CLASS,
        storage_class("ebs.csi.aws.com", {"type": "gp3", "encrypted": "true"}),
        None,
    ),
    "storage/class plain": (
        "k8s-encrypted-storage",
        STORAGE_CLASS,
        storage_class("ebs.csi.aws.com", {"type": "gp3"}),
        "encrypted 'true'",
    ),
    "storage/in-tree class plain": (
        "k8s-encrypted-storage",
        STORAGE_CLASS,
        storage_class("kubernetes.io/aws-ebs", {"type": "gp2", "encrypted": "false"}),
        "encrypted 'true'",
    ),
    "storage/efs class": ("k8s-encrypted-storage", STORAGE_CLASS, storage_class("efs.csi.aws.com", {}), None),
    "retired/f5 chart": ("helm-no-retired-ingress-nginx", RELEASE, release("nginx-ingress", "2.0.1"), None),
    "retired/community chart": (
        "helm-no-retired-ingress-nginx",
        RELEASE,
        release("ingress-nginx", "4.15.0", "https://kubernetes.github.io/ingress-nginx"),
        "retired upstream in March 2026",
    ),
    "retired/community repo prefix": (
        "helm-no-retired-ingress-nginx",
        "kubernetes:helm.sh/v4:Chart",
        {"chart": "ingress-nginx/ingress-nginx", "version": "4.15.0"},
        "community ingress-nginx chart",
    ),
    "retired/chart object": (
        "helm-no-retired-ingress-nginx",
        "kubernetes:core/v1:ConfigMap",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"helm.sh/chart": "ingress-nginx-4.15.0"}}},
        "ingress-nginx-4.15.0",
    ),
    "version/exact": ("helm-chart-version-pinned", RELEASE, release("nginx-ingress", "2.0.1"), None),
    "version/empty": ("helm-chart-version-pinned", RELEASE, release("nginx-ingress", ""), "does not pin a version"),
    "version/caret range": ("helm-chart-version-pinned", RELEASE, release("nginx-ingress", "^2.0.0"), "'^2.0.0'"),
    "version/wildcard": ("helm-chart-version-pinned", RELEASE, release("nginx-ingress", "2.x"), "'2.x'"),
    "version/v4 chart missing": (
        "helm-chart-version-pinned",
        "kubernetes:helm.sh/v4:Chart",
        {"chart": "oci://ghcr.io/nginx/charts/nginx-ingress"},
        "does not pin",
    ),
    "version/local chart": ("helm-chart-version-pinned", RELEASE, {"chart": "./charts/app", "namespace": "apps"}, None),
}


@pytest.mark.parametrize("case", OBJECT_CASES.values(), ids=OBJECT_CASES.keys())
def test_object_rule(case: tuple[str, str, dict[str, Any], str | None]) -> None:
    policy, resource_type, inputs, fragment = case
    violations = check(resource_type, inputs, policy)
    if fragment is None:
        assert violations == []
    else:
        assert_fires(violations, fragment)


def test_configured_ingress_controller_names() -> None:
    config = {"all": "mandatory", "k8s-service-exposure": {"ingressControllerNames": ["traefik"]}}
    assert_fires(
        check(SERVICE, service("LoadBalancer", CONTROLLER_LABELS), "k8s-service-exposure", pack_config=config), "LoadBalancer"
    )


def test_configured_encrypted_storage_classes() -> None:
    config = {"all": "mandatory", "k8s-encrypted-storage": {"encryptedStorageClasses": ["io2-encrypted"]}}
    assert_fires(check(PVC, claim("gp3-encrypted"), "k8s-encrypted-storage", pack_config=config), "io2-encrypted")


def test_every_kubernetes_rule_has_a_passing_and_a_failing_case() -> None:
    failing = {case.policy for case in FAILING.values()} | {case[0] for case in OBJECT_CASES.values() if case[3] is not None}
    passing = {case[0] for case in OBJECT_CASES.values() if case[3] is None} | set(KUBERNETES_POLICY_NAMES)  # compliant workload
    assert set(KUBERNETES_POLICY_NAMES) <= failing & passing


def test_release_values_are_not_inspected() -> None:
    # Offline a release is opaque: a privileged pod in its values is the chart's business, not a workload rule's.
    values = {"controller": {"securityContext": {"privileged": True}, "image": {"tag": "latest"}}}
    inputs = {**release("nginx-ingress", "2.0.1"), "values": copy.deepcopy(values)}
    for policy in ("k8s-not-privileged", "k8s-image-tag-pinned"):
        assert check(RELEASE, inputs, policy) == []
