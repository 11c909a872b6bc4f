"""Kubernetes and Helm rules. Workload rules read pod specs of every workload kind (see common.POD_SPEC_PATHS);
Helm releases are opaque offline, so only the release-level rules look at them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Final

from pulumi_policy import ResourceValidationPolicy, Severity

from .common import (
    BATCH_KINDS,
    UNKNOWN,
    JsonDict,
    Resource,
    as_list,
    get,
    is_kubernetes,
    is_true,
    labels,
    pod_spec,
    resource_policy,
    workload_containers,
)

HELM_RELEASE_TYPES: Final = frozenset({"kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart"})
EBS_PROVISIONERS: Final = frozenset({"ebs.csi.aws.com", "kubernetes.io/aws-ebs"})
POD_SECURITY_LEVELS: Final = ("privileged", "baseline", "restricted")


# ---------------------------------------------------------------------------------------------------------------
# Containers


def image_tag_problem(image: Any) -> str | None:
    """Why an image reference is not pinned, or None when it has a digest or a tag other than latest."""
    if image is UNKNOWN:
        return None
    if not isinstance(image, str) or not image:
        return "has no image"
    if "@" in image:  # repo@sha256:...
        return None
    last_segment = image.rsplit("/", 1)[-1]  # the registry part may hold a port (registry:5000/app)
    if ":" not in last_segment:
        return f"uses image {image} without a tag"
    if last_segment.rsplit(":", 1)[1] == "latest":
        return f"uses image {image} with the mutable tag latest"
    return None


def _check_image_pinned(resource: Resource) -> Iterator[str]:
    for _, container in workload_containers(resource):
        problem = image_tag_problem(container.spec.get("image"))
        if problem:
            yield f"{container.label} {problem}"


def _check_resources(resource: Resource) -> Iterator[str]:
    for _, container in workload_containers(resource):
        declared = container.spec.get("resources")
        missing = [
            f"{section}.{quantity}"
            for section in ("requests", "limits")
            for quantity in ("cpu", "memory")
            if get(declared, section, quantity) is None
        ]
        if missing:
            yield f"{container.label} sets no {', '.join(missing)}"


def _check_probes(resource: Resource) -> Iterator[str]:
    # Batch pods serve no traffic and end on their own: readiness and liveness do not apply.
    if resource.kind in BATCH_KINDS:
        return
    for _, container in workload_containers(resource):
        if container.is_init:
            continue
        missing = [probe for probe in ("readinessProbe", "livenessProbe") if not container.spec.get(probe)]
        if missing:
            yield f"{container.label} has no {' or '.join(missing)}"


def _effective(spec: JsonDict, container: JsonDict, key: str) -> Any:
    """A security setting as Kubernetes applies it: the container's own, else the pod's."""
    own = get(container, "securityContext", key)
    return own if own is not None else get(spec, "securityContext", key)


def _check_run_as_non_root(resource: Resource) -> Iterator[str]:
    for spec, container in workload_containers(resource):
        value = _effective(spec, container.spec, "runAsNonRoot")
        if value is not UNKNOWN and not is_true(value):
            yield f"{container.label} may run as root (runAsNonRoot is not true)"


def _check_no_privilege_escalation(resource: Resource) -> Iterator[str]:
    for _, container in workload_containers(resource):
        # Kubernetes defaults allowPrivilegeEscalation to true, so only an explicit false passes.
        if get(container.spec, "securityContext", "allowPrivilegeEscalation") is not False:
            yield f"{container.label} does not set allowPrivilegeEscalation false"


def _check_not_privileged(resource: Resource) -> Iterator[str]:
    for _, container in workload_containers(resource):
        if is_true(get(container.spec, "securityContext", "privileged")):
            yield f"{container.label} is privileged"


def _check_drop_all_capabilities(resource: Resource) -> Iterator[str]:
    for _, container in workload_containers(resource):
        dropped = [
            str(capability).upper() for capability in as_list(get(container.spec, "securityContext", "capabilities", "drop"))
        ]
        if "ALL" not in dropped:
            yield f"{container.label} does not drop ALL capabilities"


def _check_no_host_access(resource: Resource) -> Iterator[str]:
    spec = pod_spec(resource)
    if spec is None:
        return
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if is_true(spec.get(flag)):
            yield f"sets {flag}"
    for volume in as_list(spec.get("volumes")):
        if isinstance(volume, dict) and volume.get("hostPath") is not None:
            yield f"mounts hostPath {get(volume, 'hostPath', 'path')} as volume '{volume.get('name', '?')}'"


# ---------------------------------------------------------------------------------------------------------------
# Exposure and namespaces


def _check_service_exposure(resource: Resource) -> Iterator[str]:
    if resource.type != "kubernetes:core/v1:Service":
        return
    service_type = get(resource.props, "spec", "type")
    if service_type not in ("LoadBalancer", "NodePort"):
        return
    service_labels = labels(resource)
    is_ingress_controller = service_labels.get("app.kubernetes.io/component") == "controller" and service_labels.get(
        "app.kubernetes.io/name"
    ) in list(resource.config["ingressControllerNames"])
    if not is_ingress_controller:
        yield f"is of type {service_type} but is not the ingress controller's Service"


def _check_ingress_class(resource: Resource) -> Iterator[str]:
    if resource.type != "kubernetes:networking.k8s.io/v1:Ingress":
        return
    class_name = get(resource.props, "spec", "ingressClassName")
    if class_name is not UNKNOWN and not class_name:
        yield "sets no spec.ingressClassName"


def _check_namespace_pod_security(resource: Resource) -> Iterator[str]:
    if resource.type != "kubernetes:core/v1:Namespace":
        return
    level = labels(resource).get("pod-security.kubernetes.io/enforce")
    allowed = list(resource.config["allowedEnforceLevels"])
    if level is None:
        yield "has no pod-security.kubernetes.io/enforce label"
    elif level is not UNKNOWN and level not in allowed:
        yield f"enforces pod security level {level!r}, not one of {', '.join(allowed)}"


# ---------------------------------------------------------------------------------------------------------------
# Storage


def _claims(resource: Resource) -> Iterator[tuple[str, JsonDict]]:
    """(label, claim spec) for a PVC and for each volumeClaimTemplate of a StatefulSet."""
    if resource.type == "kubernetes:core/v1:PersistentVolumeClaim":
        spec = resource.props.get("spec")
        yield "", spec if isinstance(spec, dict) else {}
    elif resource.type == "kubernetes:apps/v1:StatefulSet":
        for template in as_list(get(resource.props, "spec", "volumeClaimTemplates")):
            if isinstance(template, dict):
                spec = template.get("spec")
                yield f"volume claim template '{get(template, 'metadata', 'name')}' ", spec if isinstance(spec, dict) else {}


def _check_encrypted_storage(resource: Resource) -> Iterator[str]:
    allowed = list(resource.config["encryptedStorageClasses"])
    for label, claim in _claims(resource):
        storage_class = claim.get("storageClassName")
        if storage_class is not UNKNOWN and storage_class not in allowed:
            # No class means the cluster default, whose encryption this pack cannot see.
            yield f"{label}uses storage class {storage_class!r}, not an encrypted one ({', '.join(allowed)})"
    if resource.type == "kubernetes:storage.k8s.io/v1:StorageClass" and resource.props.get("provisioner") in EBS_PROVISIONERS:
        encrypted = get(resource.props, "parameters", "encrypted")
        if encrypted is not UNKNOWN and encrypted != "true":
            yield "provisions EBS volumes without parameters.encrypted 'true'"


# ---------------------------------------------------------------------------------------------------------------
# Helm

RETIRED_CHART: Final = "ingress-nginx"
RETIRED_REPOSITORY: Final = "kubernetes.github.io/ingress-nginx"
RETIRED_IMAGE: Final = "ingress-nginx/controller"


def _is_retired_chart(chart: Any, repository: Any) -> bool:
    chart_name = chart.rstrip("/").rsplit("/", 1)[-1] if isinstance(chart, str) else ""
    return chart_name == RETIRED_CHART or (isinstance(repository, str) and RETIRED_REPOSITORY in repository)


def _check_retired_ingress_nginx(resource: Resource) -> Iterator[str]:
    if resource.type in HELM_RELEASE_TYPES:
        if _is_retired_chart(resource.props.get("chart"), get(resource.props, "repositoryOpts", "repo")):
            yield "installs the community ingress-nginx chart, retired upstream in March 2026 (no security fixes)"
        return
    if not is_kubernetes(resource):
        return
    # Under the real CLI a chart's objects are visible: recognise them by their chart label or controller image.
    chart_label = labels(resource).get("helm.sh/chart")
    if isinstance(chart_label, str) and chart_label.startswith(f"{RETIRED_CHART}-"):
        yield f"comes from the retired community ingress-nginx chart ({chart_label})"
        return
    for _, container in workload_containers(resource):
        image = container.spec.get("image")
        if isinstance(image, str) and RETIRED_IMAGE in image:
            yield f"{container.label} runs the retired community ingress-nginx controller ({image})"


# An exact SemVer 2 version: no ranges (^ ~ > < x *), no partial versions.
_EXACT_VERSION = re.compile(r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


def _check_chart_version_pinned(resource: Resource) -> Iterator[str]:
    if resource.type not in HELM_RELEASE_TYPES:
        return
    chart = resource.props.get("chart")
    # A chart from a local directory has no version to pin: the files are in this repository.
    if isinstance(chart, str) and chart.startswith(("./", "../", "/")):
        return
    version = resource.props.get("version")
    if version is UNKNOWN:
        return
    if not version:
        yield f"does not pin a version of chart {chart}"
    elif not (isinstance(version, str) and _EXACT_VERSION.match(version)):
        yield f"pins chart {chart} to {version!r}, which is not one exact version"


# ---------------------------------------------------------------------------------------------------------------


KUBERNETES_POLICIES: Final[list[ResourceValidationPolicy]] = [
    resource_policy(
        "k8s-image-tag-pinned",
        "Container images must be pinned to a tag other than latest, or to a digest.",
        Severity.MEDIUM,
        "use an explicit version tag (nginx:1.27.3) or a digest (nginx@sha256:...).",
        _check_image_pinned,
    ),
    resource_policy(
        "k8s-container-resources",
        "Every container must request and limit CPU and memory.",
        Severity.MEDIUM,
        "set resources.requests and resources.limits for cpu and memory.",
        _check_resources,
    ),
    resource_policy(
        "k8s-container-probes",
        "Long-running containers must have readiness and liveness probes.",
        Severity.LOW,
        "add readinessProbe and livenessProbe (httpGet, tcpSocket or exec) to the container.",
        _check_probes,
    ),
    resource_policy(
        "k8s-run-as-non-root",
        "Containers must run as a non-root user.",
        Severity.HIGH,
        "set securityContext.runAsNonRoot true on the pod or container (and a non-zero runAsUser if the image needs it).",
        _check_run_as_non_root,
    ),
    resource_policy(
        "k8s-no-privilege-escalation",
        "Containers must not allow privilege escalation.",
        Severity.HIGH,
        "set securityContext.allowPrivilegeEscalation false on every container.",
        _check_no_privilege_escalation,
    ),
    resource_policy(
        "k8s-not-privileged",
        "Containers must not run privileged.",
        Severity.CRITICAL,
        "remove securityContext.privileged (or set it false); grant single capabilities instead if truly needed.",
        _check_not_privileged,
    ),
    resource_policy(
        "k8s-drop-all-capabilities",
        "Containers must drop all Linux capabilities.",
        Severity.MEDIUM,
        "set securityContext.capabilities.drop ['ALL'] and add back only what the process needs.",
        _check_drop_all_capabilities,
    ),
    resource_policy(
        "k8s-no-host-access",
        "Pods must not use hostPath volumes, hostNetwork, hostPID or hostIPC.",
        Severity.CRITICAL,
        "use a PersistentVolumeClaim, ConfigMap or emptyDir instead of hostPath, and drop the host* flags.",
        _check_no_host_access,
    ),
    resource_policy(
        "k8s-service-exposure",
        "Only the ingress controller's Service may be of type LoadBalancer or NodePort.",
        Severity.HIGH,
        "make the Service ClusterIP and expose it through an Ingress.",
        _check_service_exposure,
        {
            "ingressControllerNames": {
                "type": "array",
                "items": {"type": "string"},
                "default": ["nginx-ingress", "ingress-nginx"],
                "description": "app.kubernetes.io/name values of ingress controller Services "
                "(which also carry app.kubernetes.io/component=controller).",
            }
        },
    ),
    resource_policy(
        "k8s-ingress-class",
        "Ingresses must name their IngressClass.",
        Severity.LOW,
        "set spec.ingressClassName (the annotation kubernetes.io/ingress.class is deprecated).",
        _check_ingress_class,
    ),
    resource_policy(
        "k8s-namespace-pod-security",
        "Namespaces must enforce a Pod Security Standard through the pod-security.kubernetes.io/enforce label.",
        Severity.MEDIUM,
        "label the namespace pod-security.kubernetes.io/enforce: restricted (or baseline).",
        _check_namespace_pod_security,
        {
            "allowedEnforceLevels": {
                "type": "array",
                "items": {"type": "string", "enum": list(POD_SECURITY_LEVELS)},
                "default": ["baseline", "restricted"],
                "description": "Pod Security Standard levels a namespace may enforce.",
            }
        },
    ),
    resource_policy(
        "k8s-encrypted-storage",
        "Persistent volumes must come from an encrypted StorageClass, and EBS StorageClasses must encrypt.",
        Severity.HIGH,
        "set storageClassName to an encrypted class (gp3-encrypted); give EBS StorageClasses parameters.encrypted 'true'.",
        _check_encrypted_storage,
        {
            "encryptedStorageClasses": {
                "type": "array",
                "items": {"type": "string"},
                # The program's two classes: the default one and the seed claim's own (components/storage.py).
                "default": ["gp3-encrypted", "gp3-encrypted-ebs-pvc"],
                "description": "StorageClasses known to encrypt their volumes.",
            }
        },
    ),
    resource_policy(
        "helm-no-retired-ingress-nginx",
        "The community ingress-nginx chart is retired (March 2026) and gets no security fixes.",
        Severity.HIGH,
        "switch to a maintained controller (ingressController f5-nginx installs the F5 NGINX Ingress Controller).",
        _check_retired_ingress_nginx,
    ),
    resource_policy(
        "helm-chart-version-pinned",
        "Helm releases must pin one exact chart version.",
        Severity.MEDIUM,
        "set version to an exact chart version such as 2.0.1 (no ranges, not empty).",
        _check_chart_version_pinned,
    ),
]
