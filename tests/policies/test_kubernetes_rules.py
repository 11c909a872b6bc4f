"""Kubernetes and Helm rules: a compliant workload passes every rule in every workload kind, and each rule
fails the one change it is about. Manifests are full objects, as pulumi-kubernetes registers them."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from offline.analyses.policy import Violation, evaluate
from offline.plan.query import PlanQuery
from policies.eks_policies.common import POD_SPEC_PATHS
from policies.eks_policies.kubernetes_rules import KUBERNETES_POLICIES, image_tag_problem
from tests.conftest import frozen_plan
from tests.policies.plans import STRICT, assert_fires, check, plan_resource, single_resource_plan

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
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
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
    # Pod Security Standards baseline "Host Ports": a hostPort opens the node's own port, past every NetworkPolicy.
    "host/hostPort": Case(
        "k8s-no-host-access",
        lambda spec: app(spec).update(ports=[{"containerPort": 8080, "hostPort": 8080}]),
        "container 'app' binds hostPort 8080",
    ),
    # Restricted "Running as Non-root user": runAsNonRoot true beside runAsUser 0 is still user 0 on the pod.
    "non-root/pod user 0": Case(
        "k8s-run-as-non-root", lambda spec: spec["securityContext"].update(runAsUser=0), "runs its pod as user 0"
    ),
    "non-root/init container user 0": Case(
        "k8s-run-as-non-root",
        lambda spec: spec["initContainers"][0]["securityContext"].update(runAsUser=0),
        "init container 'migrate' runs as user 0",
    ),
    # Dropping ALL and adding SYS_ADMIN back is near enough privileged: the drop rule alone passes it.
    "capabilities/add SYS_ADMIN": Case(
        "k8s-no-added-capabilities",
        lambda spec: app(spec)["securityContext"].update(capabilities={"drop": ["ALL"], "add": ["SYS_ADMIN"]}),
        "container 'app' adds capabilities SYS_ADMIN",
    ),
    "capabilities/add beside NET_BIND_SERVICE": Case(
        "k8s-no-added-capabilities",
        lambda spec: spec["initContainers"][0]["securityContext"].update(
            capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE", "NET_ADMIN"]}
        ),
        "init container 'migrate' adds capabilities NET_ADMIN (only",
    ),
    "seccomp/pod unconfined": Case(
        "k8s-seccomp-profile",
        lambda spec: spec["securityContext"].update(seccompProfile={"type": "Unconfined"}),
        "sets seccompProfile type Unconfined on the pod",
    ),
    "seccomp/container unconfined": Case(
        "k8s-seccomp-profile",
        lambda spec: app(spec)["securityContext"].update(seccompProfile={"type": "Unconfined"}),
        "container 'app' sets seccompProfile type Unconfined",
    ),
    "seccomp/none": Case(
        "k8s-seccomp-profile", lambda spec: spec["securityContext"].pop("seccompProfile"), "has no seccompProfile", kind="Job"
    ),
    "volumes/nfs": Case(
        "k8s-restricted-volume-types",
        lambda spec: spec["volumes"].append({"name": "share", "nfs": {"server": "10.0.0.5", "path": "/export"}}),
        "mounts volume 'share' of type nfs",
    ),
    "volumes/awsElasticBlockStore": Case(
        "k8s-restricted-volume-types",
        lambda spec: spec["volumes"].append({"name": "disk", "awsElasticBlockStore": {"volumeID": "vol-1"}}),
        "of type awsElasticBlockStore",
        kind="StatefulSet",
    ),
    "token/true": Case(
        "k8s-no-token-automount",
        lambda spec: spec.update(automountServiceAccountToken=True),
        "sets automountServiceAccountToken true",
    ),
    # Unset, the pod takes its ServiceAccount's setting, and every namespace's default account mounts the token.
    "token/unset": Case(
        "k8s-no-token-automount",
        lambda spec: spec.pop("automountServiceAccountToken"),
        "does not set automountServiceAccountToken false",
        kind="CronJob",
    ),
    "secret env/secretKeyRef": Case(
        "k8s-no-secret-env",
        lambda spec: app(spec).update(
            env=[{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]
        ),
        "container 'app' reads key password of Secret db into env var DB_PASSWORD",
    ),
    "secret env/envFrom": Case(
        "k8s-no-secret-env",
        lambda spec: spec["initContainers"][0].update(envFrom=[{"configMapRef": {"name": "c"}}, {"secretRef": {"name": "db"}}]),
        "init container 'migrate' loads Secret db into its environment",
    ),
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


# Each new workload rule's boundary: the nearest thing that is allowed.
NEAR_MISSES: dict[str, tuple[str, Callable[[dict[str, Any]], object]]] = {
    "capabilities/add NET_BIND_SERVICE": (
        "k8s-no-added-capabilities",
        lambda spec: app(spec)["securityContext"].update(capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}),
    ),
    "capabilities/add NET_BIND_SERVICE keeps the drop rule": (
        "k8s-drop-all-capabilities",
        lambda spec: app(spec)["securityContext"].update(capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}),
    ),
    "host/containerPort only": ("k8s-no-host-access", lambda spec: app(spec).update(ports=[{"containerPort": 8080}])),
    "host/hostPort 0": ("k8s-no-host-access", lambda spec: app(spec).update(ports=[{"containerPort": 8080, "hostPort": 0}])),
    "non-root/user 1000": ("k8s-run-as-non-root", lambda spec: app(spec)["securityContext"].update(runAsUser=1000)),
    "seccomp/localhost": (
        "k8s-seccomp-profile",
        lambda spec: spec["securityContext"].update(seccompProfile={"type": "Localhost", "localhostProfile": "app.json"}),
    ),
    "seccomp/every container, not the pod": ("k8s-seccomp-profile", lambda spec: seccomp_on_containers_only(spec)),
    "volumes/restricted kinds": ("k8s-restricted-volume-types", lambda spec: spec.update(volumes=restricted_volumes())),
    "secret env/secret volume": ("k8s-no-secret-env", lambda spec: spec["volumes"].append(secret_volume())),
    "secret env/configMap and plain values": (
        "k8s-no-secret-env",
        lambda spec: app(spec).update(
            env=[{"name": "MODE", "value": "prod"}, {"name": "C", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}],
            envFrom=[{"configMapRef": {"name": "c"}}],
        ),
    ),
    # A pod that must call the API server mounts its token explicitly: automount stays false, the volume is allowed.
    "token/projected token volume": (
        "k8s-no-token-automount",
        lambda spec: spec["volumes"].append(
            {
                "name": "api-token",
                "projected": {"sources": [{"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}}]},
            }
        ),
    ),
}


def seccomp_on_containers_only(spec: dict[str, Any]) -> None:
    spec["securityContext"].pop("seccompProfile")
    for container in spec["initContainers"] + spec["containers"]:
        container["securityContext"]["seccompProfile"] = {"type": "RuntimeDefault"}


def secret_volume() -> dict[str, Any]:
    return {"name": "db", "secret": {"secretName": "db"}}


def restricted_volumes() -> list[dict[str, Any]]:
    return [
        {"name": "tmp", "emptyDir": {}},
        {"name": "config", "configMap": {"name": "c"}},
        secret_volume(),
        {"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
        {"name": "info", "downwardAPI": {"items": []}},
        {"name": "token", "projected": {"sources": []}},
        {"name": "csi", "csi": {"driver": "secrets-store.csi.k8s.io"}},
        {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}},
    ]


@pytest.mark.parametrize("case", NEAR_MISSES.values(), ids=NEAR_MISSES.keys())
def test_near_miss_passes(case: tuple[str, Callable[[dict[str, Any]], object]]) -> None:
    policy, change = case
    assert workload_violations(policy, change) == []


def test_a_host_path_volume_is_reported_once() -> None:
    """hostPath is the host-access rule's (mandatory in dev); the volume-types rule does not repeat it."""

    def host_path(spec: dict[str, Any]) -> None:
        spec["volumes"].append({"name": "etc", "hostPath": {"path": "/etc"}})

    assert workload_violations("k8s-restricted-volume-types", host_path) == []
    assert_fires(workload_violations("k8s-no-host-access", host_path), "hostPath /etc")


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


def binding(kind: str, role: str, subjects: list[dict[str, str]]) -> dict[str, Any]:
    metadata = {"name": "b"} if kind == "ClusterRoleBinding" else {"name": "b", "namespace": "apps"}
    role_kind = "ClusterRole" if role in ("cluster-admin", "view") else "Role"
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": metadata,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
        "subjects": subjects,
    }


ANONYMOUS_USER = {"kind": "User", "name": "system:anonymous", "apiGroup": "rbac.authorization.k8s.io"}
UNAUTHENTICATED = {"kind": "Group", "name": "system:unauthenticated", "apiGroup": "rbac.authorization.k8s.io"}
APP_ACCOUNT = {"kind": "ServiceAccount", "name": "web", "namespace": "apps"}


def role(kind: str, *rules: dict[str, list[str]]) -> dict[str, Any]:
    metadata = {"name": "r"} if kind == "ClusterRole" else {"name": "r", "namespace": "apps"}
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": metadata, "rules": list(rules)}


READ_PODS = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}


def service_account(automount: bool | None) -> dict[str, Any]:
    account: dict[str, Any] = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "web", "namespace": "apps"}}
    if automount is not None:
        account["automountServiceAccountToken"] = automount
    return account


def with_external_ips(addresses: Any) -> dict[str, Any]:
    inputs = service("ClusterIP", {})
    inputs["spec"]["externalIPs"] = addresses
    return inputs


def config_map(namespace: str | None) -> dict[str, Any]:
    metadata = {"name": "c"} if namespace is None else {"name": "c", "namespace": namespace}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": {"k": "v"}}


def in_namespace(inputs: dict[str, Any], namespace: str) -> dict[str, Any]:
    inputs = copy.deepcopy(inputs)
    inputs["metadata"]["namespace"] = namespace
    return inputs


SERVICE = "kubernetes:core/v1:Service"
RELEASE = "kubernetes:helm.sh/v3:Release"
CLUSTER_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
DEPLOYMENT = WORKLOAD_TYPES["Deployment"]
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
    # RBAC: anonymous bindings (Gatekeeper K8sDisallowAnonymous) and wildcard roles (CIS EKS 4.1.3).
    "anonymous/cluster-admin to system:anonymous": (
        "k8s-rbac-no-anonymous-binding",
        CLUSTER_ROLE_BINDING,
        binding("ClusterRoleBinding", "cluster-admin", [ANONYMOUS_USER]),
        "binds ClusterRole cluster-admin to User system:anonymous",
    ),
    "anonymous/any role to system:unauthenticated": (
        "k8s-rbac-no-anonymous-binding",
        ROLE_BINDING,
        binding("RoleBinding", "reader", [APP_ACCOUNT, UNAUTHENTICATED]),
        "binds Role reader to Group system:unauthenticated",
    ),
    "anonymous/named role to a ServiceAccount": (
        "k8s-rbac-no-anonymous-binding",
        CLUSTER_ROLE_BINDING,
        binding("ClusterRoleBinding", "view", [APP_ACCOUNT]),
        None,
    ),
    "anonymous/named group": (
        "k8s-rbac-no-anonymous-binding",
        ROLE_BINDING,
        binding(
            "RoleBinding", "reader", [{"kind": "Group", "name": "platform-readers", "apiGroup": "rbac.authorization.k8s.io"}]
        ),
        None,
    ),
    "wildcards/every verb on every resource": (
        "k8s-rbac-no-wildcards",
        CLUSTER_ROLE,
        role("ClusterRole", READ_PODS, {"apiGroups": [""], "resources": ["*"], "verbs": ["*"]}),
        "rule 1 grants verbs * on resources * in API groups ''",
    ),
    "wildcards/every resource of every group": (
        "k8s-rbac-no-wildcards",
        ROLE,
        role("Role", {"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list"]}),
        "rule 0 grants verbs get, list on resources * in API groups '*'",
    ),
    "wildcards/read pods": ("k8s-rbac-no-wildcards", CLUSTER_ROLE, role("ClusterRole", READ_PODS), None),
    # The boundary: a wildcard is refused where it reaches every resource, not on one named resource.
    "wildcards/every verb on pods": (
        "k8s-rbac-no-wildcards",
        ROLE,
        role("Role", {"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}),
        None,
    ),
    # Tokens: a ServiceAccount that opts in mounts a token into every pod that leaves its own setting unset.
    "token/service account true": (
        "k8s-no-token-automount",
        SERVICE_ACCOUNT,
        service_account(True),
        "sets automountServiceAccountToken true",
    ),
    "token/service account false": ("k8s-no-token-automount", SERVICE_ACCOUNT, service_account(False), None),
    "token/service account unset": ("k8s-no-token-automount", SERVICE_ACCOUNT, service_account(None), None),
    # CVE-2020-8554: a Service's externalIPs capture traffic meant for those addresses, cluster-wide.
    "external ips/set": (
        "k8s-no-external-ips",
        SERVICE,
        with_external_ips(["203.0.113.10"]),
        "sets spec.externalIPs 203.0.113.10",
    ),
    "external ips/empty": ("k8s-no-external-ips", SERVICE, with_external_ips([]), None),
    "external ips/unknown": ("k8s-no-external-ips", SERVICE, with_external_ips("[unknown]"), None),
    "external ips/controller load balancer": (
        "k8s-no-external-ips",
        SERVICE,
        service("LoadBalancer", CONTROLLER_LABELS),
        None,
    ),
    # Default namespace (CIS EKS 4.5.2): explicit, or left unset with a provider that names none.
    "default namespace/explicit": (
        "k8s-no-default-namespace",
        DEPLOYMENT,
        in_namespace(manifest("Deployment"), "default"),
        "is in the default namespace",
    ),
    "default namespace/unset": (
        "k8s-no-default-namespace",
        CONFIG_MAP,
        config_map(None),
        "names no namespace, and neither does its provider",
    ),
    "default namespace/role binding": (
        "k8s-no-default-namespace",
        ROLE_BINDING,
        in_namespace(binding("RoleBinding", "reader", [APP_ACCOUNT]), "default"),
        "default namespace",
    ),
    "default namespace/helm release unset": (
        "k8s-no-default-namespace",
        RELEASE,
        {"chart": "nginx-ingress", "version": "2.0.1"},
        "lands in the default namespace",
    ),
    "default namespace/own namespace": ("k8s-no-default-namespace", CONFIG_MAP, config_map("apps"), None),
    "default namespace/release in its namespace": ("k8s-no-default-namespace", RELEASE, release("nginx-ingress", "2.0.1"), None),
    "default namespace/cluster-scoped namespace": ("k8s-no-default-namespace", NAMESPACE, namespace({}), None),
    "default namespace/cluster-scoped binding": (
        "k8s-no-default-namespace",
        CLUSTER_ROLE_BINDING,
        binding("ClusterRoleBinding", "view", [APP_ACCOUNT]),
        None,
    ),
    "default namespace/cluster-scoped storage class": (
        "k8s-no-default-namespace",
        STORAGE_CLASS,
        storage_class("ebs.csi.aws.com", {"encrypted": "true"}),
        None,
    ),
    # A custom resource's scope is in its CRD, unseen here: Karpenter's NodePool is cluster-scoped.
    "default namespace/custom resource": (
        "k8s-no-default-namespace",
        "kubernetes:karpenter.sh/v1:NodePool",
        {"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": "general"}, "spec": {}},
        None,
    ),
}


@pytest.mark.parametrize("case", OBJECT_CASES.values(), ids=OBJECT_CASES.keys())
def test_object_rule(case: tuple[str, str, dict[str, Any], str | None]) -> None:
    policy, resource_type, inputs, fragment = case
    violations = check(resource_type, inputs, policy)
    if fragment is None:
        assert violations == []
    else:
        assert_fires(violations, fragment)


def kubernetes_provider(namespace: str | None) -> dict[str, Any]:
    inputs = {"kubeconfig": "{}"} if namespace is None else {"kubeconfig": "{}", "namespace": namespace}
    return plan_resource("pulumi:providers:kubernetes", "k8s", inputs)


def with_kubernetes_provider(resource_type: str, inputs: dict[str, Any], provider: dict[str, Any]) -> list[Violation]:
    resource = plan_resource(resource_type, "subject", inputs, provider=provider["urn"])
    violations = evaluate(PlanQuery(single_resource_plan(resource, provider)), STRICT)
    return [violation for violation in violations if violation["policy"] == "k8s-no-default-namespace"]


def test_an_object_without_namespace_takes_its_providers() -> None:
    """pulumi-kubernetes puts an object that names no namespace in its provider's: only a provider naming none (or
    default) lands it in default."""
    assert with_kubernetes_provider(CONFIG_MAP, config_map(None), kubernetes_provider("apps")) == []
    assert_fires(with_kubernetes_provider(CONFIG_MAP, config_map(None), kubernetes_provider("default")), "default namespace")
    assert_fires(with_kubernetes_provider(CONFIG_MAP, config_map(None), kubernetes_provider(None)), "default namespace")
    # An explicit default is refused whatever the provider says.
    assert_fires(with_kubernetes_provider(CONFIG_MAP, config_map("default"), kubernetes_provider("apps")), "is in the default")


ISSUE_22_RULES = [
    "k8s-rbac-no-anonymous-binding",
    "k8s-rbac-no-wildcards",
    "k8s-no-added-capabilities",
    "k8s-no-host-access",
    "k8s-seccomp-profile",
    "k8s-run-as-non-root",
    "k8s-restricted-volume-types",
    "k8s-no-token-automount",
    "k8s-no-external-ips",
    "k8s-no-secret-env",
    "k8s-no-default-namespace",
]


@pytest.mark.parametrize("stack", ["dev", "prod", "karpenter-example"])
def test_the_programs_own_objects_pass_the_issue_22_rules(stack: str) -> None:
    """The program's workloads, Services, namespaces and releases already meet the new rules at every level, so a
    stack's levels can make any of them mandatory (the Kubernetes half of the plan, with its provider)."""
    for demo_workloads in (None, True):  # as shipped (prod has no demo workloads), and with them on
        kept = [
            resource
            for resource in frozen_plan(stack, demo_workloads=demo_workloads).resources
            if resource["type"].startswith("kubernetes:") or resource["type"] == "pulumi:providers:kubernetes"
        ]
        assert demo_workloads is None or any(resource["type"] == DEPLOYMENT for resource in kept)
        violations = evaluate(PlanQuery({"resources": copy.deepcopy(kept)}), {"all": "mandatory"})
        assert [violation for violation in violations if violation["policy"] in ISSUE_22_RULES] == [], violations


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
