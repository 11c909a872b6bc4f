"""Kubernetes and Helm rules. Workload rules read pod specs of every workload kind (see common.POD_SPEC_PATHS);
Helm releases are opaque offline, so only the release-level rules look at them.

References in descriptions: Pod Security Standards control names (kubernetes.io/docs/concepts/security/
pod-security-standards), CIS Amazon EKS Benchmark 1.8.0 ids as kube-bench cfg/eks-1.8.0 numbers them (section 4,
"Policies"), with the CIS Kubernetes Benchmark id (kube-bench cfg/cis-1.9, section 5) beside them, and the Kyverno
(kyverno/policies) and Gatekeeper (gatekeeper-library) policies that check the same thing."""

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
    is_false,
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
# Pod Security Standards, restricted: the one capability a container may add back after dropping ALL.
ALLOWED_ADDED_CAPABILITIES: Final = frozenset({"NET_BIND_SERVICE"})
ALLOWED_SECCOMP_TYPES: Final = ("RuntimeDefault", "Localhost")
# Pod Security Standards, restricted, "Volume Types": every other volume source is refused.
RESTRICTED_VOLUME_TYPES: Final = frozenset(
    {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}
)


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


def _is_root_user(value: Any) -> bool:
    # bool is an int in Python: runAsUser False is not user 0.
    return (isinstance(value, int) and not isinstance(value, bool) and value == 0) or value == "0"


def _check_run_as_non_root(resource: Resource) -> Iterator[str]:
    spec = pod_spec(resource)
    # As the Pod Security Standards judge it, each level on its own: a pod-level 0 is refused whatever the containers say.
    if spec is not None and _is_root_user(get(spec, "securityContext", "runAsUser")):
        yield "runs its pod as user 0 (root): securityContext.runAsUser is 0"
    for spec, container in workload_containers(resource):
        value = _effective(spec, container.spec, "runAsNonRoot")
        if _is_root_user(get(container.spec, "securityContext", "runAsUser")):
            yield f"{container.label} runs as user 0 (root): securityContext.runAsUser is 0"
        elif value is not UNKNOWN and not is_true(value):
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


def _check_added_capabilities(resource: Resource) -> Iterator[str]:
    for _, container in workload_containers(resource):
        added = as_list(get(container.spec, "securityContext", "capabilities", "add"))
        # Compared exactly, as Pod Security Admission compares them: "CAP_SYS_ADMIN" and "sys_admin" are refused too.
        extra = [
            str(capability) for capability in added if capability is not UNKNOWN and capability not in ALLOWED_ADDED_CAPABILITIES
        ]
        if extra:
            yield f"{container.label} adds capabilities {', '.join(extra)} (only NET_BIND_SERVICE may be added)"


def _seccomp_type(holder: JsonDict) -> Any:
    return get(holder, "securityContext", "seccompProfile", "type")


def _check_seccomp_profile(resource: Resource) -> Iterator[str]:
    spec = pod_spec(resource)
    if spec is None:
        return
    pod_type = _seccomp_type(spec)
    if pod_type is not None and pod_type is not UNKNOWN and pod_type not in ALLOWED_SECCOMP_TYPES:
        yield f"sets seccompProfile type {pod_type} on the pod"
    for _, container in workload_containers(resource):
        own = _seccomp_type(container.spec)
        if own is UNKNOWN:
            continue
        if own is not None and own not in ALLOWED_SECCOMP_TYPES:
            yield f"{container.label} sets seccompProfile type {own}"
        elif own is None and pod_type is None:
            # Restricted wants the profile explicit: unset, the runtime may run the container unconfined.
            yield f"{container.label} has no seccompProfile (neither it nor the pod sets one)"


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
    for _, container in workload_containers(resource):
        for port in as_list(container.spec.get("ports")):
            host_port = port.get("hostPort") if isinstance(port, dict) else None
            # The Pod Security Standards allow hostPort only unset or 0.
            if host_port is not None and host_port is not UNKNOWN and host_port not in (0, "0"):
                yield f"{container.label} binds hostPort {host_port}"


def _check_volume_types(resource: Resource) -> Iterator[str]:
    spec = pod_spec(resource)
    if spec is None:
        return
    for volume in as_list(spec.get("volumes")):
        if not isinstance(volume, dict):
            continue
        for source, value in volume.items():
            # hostPath is k8s-no-host-access's (mandatory even in dev): one mistake, one message.
            if source in ("name", "hostPath") or source in RESTRICTED_VOLUME_TYPES or value is None:
                continue
            yield f"mounts volume '{volume.get('name', '?')}' of type {source}"


# ---------------------------------------------------------------------------------------------------------------
# Service account tokens and Secrets

SERVICE_ACCOUNT: Final = "kubernetes:core/v1:ServiceAccount"


def _check_token_automount(resource: Resource) -> Iterator[str]:
    if resource.type == SERVICE_ACCOUNT:
        # An account's own setting only matters to pods that leave theirs unset, and those are refused below.
        if is_true(resource.props.get("automountServiceAccountToken")):
            yield "sets automountServiceAccountToken true"
        return
    spec = pod_spec(resource)
    if spec is None:
        return
    value = spec.get("automountServiceAccountToken")
    if value is UNKNOWN or is_false(value):
        return
    if is_true(value):
        yield "sets automountServiceAccountToken true on its pods"
    else:
        # Unset, the pod's ServiceAccount decides, and the default account of every namespace mounts a token.
        yield "does not set automountServiceAccountToken false, so its pods get a service account token by default"


def _check_secret_env(resource: Resource) -> Iterator[str]:
    for _, container in workload_containers(resource):
        for variable in as_list(container.spec.get("env")):
            reference = get(variable, "valueFrom", "secretKeyRef")
            if isinstance(reference, dict):
                yield (
                    f"{container.label} reads key {reference.get('key', '?')} of Secret {reference.get('name', '?')} "
                    f"into env var {get(variable, 'name')}"
                )
        for source in as_list(container.spec.get("envFrom")):
            reference = get(source, "secretRef")
            if isinstance(reference, dict):
                yield f"{container.label} loads Secret {reference.get('name', '?')} into its environment (envFrom)"


# ---------------------------------------------------------------------------------------------------------------
# RBAC

RBAC_PREFIX: Final = "kubernetes:rbac.authorization.k8s.io/"
ANONYMOUS_SUBJECTS: Final = frozenset({"system:anonymous", "system:unauthenticated"})


def _strings(value: Any) -> list[str]:
    return [item for item in as_list(value) if isinstance(item, str)]


def _check_anonymous_binding(resource: Resource) -> Iterator[str]:
    if not (resource.type.startswith(RBAC_PREFIX) and resource.kind in ("RoleBinding", "ClusterRoleBinding")):
        return
    role = f"{get(resource.props, 'roleRef', 'kind')} {get(resource.props, 'roleRef', 'name')}"
    for subject in as_list(resource.props.get("subjects")):
        if isinstance(subject, dict) and subject.get("kind") in ("User", "Group") and subject.get("name") in ANONYMOUS_SUBJECTS:
            yield f"binds {role} to {subject['kind']} {subject['name']}, that is, to anyone who can reach the API server"


def _check_role_wildcards(resource: Resource) -> Iterator[str]:
    if not (resource.type.startswith(RBAC_PREFIX) and resource.kind in ("Role", "ClusterRole")):
        return
    for index, rule in enumerate(as_list(resource.props.get("rules"))):
        if not isinstance(rule, dict):
            continue
        verbs, resources, groups = (_strings(rule.get(key)) for key in ("verbs", "resources", "apiGroups"))
        # Every resource with every verb, or every resource of every API group (CRDs included): cluster-admin in all but name.
        if "*" in resources and ("*" in verbs or "*" in groups):
            yield (
                f"rule {index} grants verbs {', '.join(verbs) or '-'} on resources * "
                f"in API groups {', '.join(repr(group) for group in groups) or '-'}"
            )


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


def _check_external_ips(resource: Resource) -> Iterator[str]:
    if resource.type != "kubernetes:core/v1:Service":
        return
    addresses = get(resource.props, "spec", "externalIPs")
    if addresses is not UNKNOWN and as_list(addresses):
        yield f"sets spec.externalIPs {', '.join(str(address) for address in as_list(addresses))}"


# Built-in namespaced kinds by API group ("core" is the legacy group). A custom resource's scope is in its CRD, which
# a resource policy does not see, so custom resources are not judged (Karpenter's NodePool is cluster-scoped).
NAMESPACED_KINDS: Final[dict[str, frozenset[str]]] = {
    "core": frozenset(
        {
            "Pod",
            "Service",
            "ConfigMap",
            "Secret",
            "ServiceAccount",
            "Endpoints",
            "Event",
            "LimitRange",
            "PersistentVolumeClaim",
            "PodTemplate",
            "ReplicationController",
            "ResourceQuota",
        }
    ),
    "apps": frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ControllerRevision"}),
    "batch": frozenset({"Job", "CronJob"}),
    "autoscaling": frozenset({"HorizontalPodAutoscaler"}),
    "policy": frozenset({"PodDisruptionBudget"}),
    "networking.k8s.io": frozenset({"Ingress", "NetworkPolicy"}),
    "rbac.authorization.k8s.io": frozenset({"Role", "RoleBinding"}),
    "coordination.k8s.io": frozenset({"Lease"}),
    "discovery.k8s.io": frozenset({"EndpointSlice"}),
    "events.k8s.io": frozenset({"Event"}),
    "storage.k8s.io": frozenset({"CSIStorageCapacity"}),
}


def _is_namespaced(resource: Resource) -> bool:
    # "kubernetes:apps/v1:Deployment" -> group "apps"
    group = resource.type.split(":")[1].rsplit("/", 1)[0] if resource.type.count(":") == 2 else ""
    return resource.kind in NAMESPACED_KINDS.get(group, frozenset())


def _check_default_namespace(resource: Resource) -> Iterator[str]:
    if resource.type in HELM_RELEASE_TYPES:
        namespace = resource.props.get("namespace")
    elif is_kubernetes(resource) and _is_namespaced(resource):
        namespace = get(resource.props, "metadata", "namespace")
    else:
        return
    if namespace is UNKNOWN:
        return
    if namespace == "default":
        yield "is in the default namespace"
    elif not namespace:
        # pulumi-kubernetes puts such an object in the provider's namespace, else the kubeconfig context's (unset in
        # an EKS kubeconfig), else default.
        provider_namespace = (resource.provider_props or {}).get("namespace")
        if provider_namespace is not UNKNOWN and provider_namespace in (None, "", "default"):
            yield "names no namespace, and neither does its provider, so it lands in the default namespace"


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
        "Containers must run as a non-root user: runAsNonRoot true and no runAsUser 0 on the pod or a container "
        "(Pod Security Standards restricted: Running as Non-root, Running as Non-root user; CIS Kubernetes 5.2.7; "
        "Kyverno require-run-as-nonroot, require-run-as-non-root-user; Gatekeeper K8sPSPAllowedUsers).",
        Severity.HIGH,
        "set securityContext.runAsNonRoot true on the pod or container and a runAsUser other than 0 (or none).",
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
        "Containers must drop all Linux capabilities (Pod Security Standards restricted: Capabilities; "
        "CIS Kubernetes 5.2.10; Kyverno disallow-capabilities-strict).",
        Severity.MEDIUM,
        "set securityContext.capabilities.drop ['ALL'] (and add back at most NET_BIND_SERVICE).",
        _check_drop_all_capabilities,
    ),
    resource_policy(
        "k8s-no-added-capabilities",
        "Containers may add back no Linux capability but NET_BIND_SERVICE (Pod Security Standards restricted: "
        "Capabilities; CIS Kubernetes 5.2.9; Kyverno disallow-capabilities-strict; Gatekeeper K8sPSPCapabilities).",
        Severity.HIGH,
        "remove the capability from securityContext.capabilities.add; only NET_BIND_SERVICE may stay.",
        _check_added_capabilities,
    ),
    resource_policy(
        "k8s-seccomp-profile",
        "Pods and containers must run under the RuntimeDefault or a Localhost seccomp profile, never Unconfined "
        "(Pod Security Standards restricted: Seccomp; CIS Kubernetes 5.7.2; Kyverno restrict-seccomp-strict; "
        "Gatekeeper K8sPSPSeccomp).",
        Severity.MEDIUM,
        "set securityContext.seccompProfile.type RuntimeDefault on the pod (or Localhost with a localhostProfile).",
        _check_seccomp_profile,
    ),
    resource_policy(
        "k8s-restricted-volume-types",
        "Pods may use only the volume types the restricted Pod Security Standard allows: configMap, csi, "
        "downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected and secret (Pod Security Standards "
        "restricted: Volume Types; Kyverno restrict-volume-types; Gatekeeper K8sPSPVolumeTypes).",
        Severity.MEDIUM,
        "replace the volume with a persistentVolumeClaim (nfs, iscsi and the like through a PersistentVolume) "
        "or a configMap, secret, projected or emptyDir volume.",
        _check_volume_types,
    ),
    resource_policy(
        "k8s-no-token-automount",
        "Pods must not get a service account token unasked: automountServiceAccountToken false on every pod spec "
        "and never true on a ServiceAccount (CIS EKS 4.1.6, CIS Kubernetes 5.1.6: Ensure that Service Account Tokens "
        "are only mounted where necessary; Kyverno restrict-automount-sa-token, restrict-sa-automount-sa-token; "
        "Gatekeeper K8sPSPAutomountServiceAccountTokenPod).",
        Severity.MEDIUM,
        "set automountServiceAccountToken false; a pod that calls the Kubernetes API mounts a projected "
        "serviceAccountToken volume instead.",
        _check_token_automount,
    ),
    resource_policy(
        "k8s-no-secret-env",
        "Containers must read Secrets from mounted files, not environment variables (CIS EKS 4.4.1, "
        "CIS Kubernetes 5.4.1: Prefer using secrets as files over secrets as environment variables; "
        "Kyverno secrets-not-from-env-vars).",
        Severity.MEDIUM,
        "mount the Secret as a secret volume and read the file, instead of env valueFrom.secretKeyRef or envFrom secretRef.",
        _check_secret_env,
    ),
    resource_policy(
        "k8s-no-host-access",
        "Pods must not use hostPath volumes, hostNetwork, hostPID, hostIPC or hostPorts (Pod Security Standards "
        "baseline: Host Namespaces, HostPath Volumes, Host Ports; CIS EKS 4.2.2-4.2.4; CIS Kubernetes 5.2.3-5.2.5, "
        "5.2.12, 5.2.13; Kyverno disallow-host-namespaces, disallow-host-path, disallow-host-ports).",
        Severity.CRITICAL,
        "use a PersistentVolumeClaim, ConfigMap or emptyDir instead of hostPath, drop the host* flags and hostPort "
        "(reach the pod through a Service).",
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
        "k8s-no-external-ips",
        "Services must not set spec.externalIPs, which lets whoever creates a Service intercept traffic to those "
        "addresses (CVE-2020-8554; Kyverno restrict-external-ips; Gatekeeper K8sExternalIPs).",
        Severity.HIGH,
        "remove spec.externalIPs; expose the Service through the ingress controller or a LoadBalancer Service.",
        _check_external_ips,
    ),
    resource_policy(
        "k8s-no-default-namespace",
        "Namespaced objects and Helm releases must not live in the default namespace (CIS EKS 4.5.2, "
        "CIS Kubernetes 5.7.4: The default namespace should not be used; Kyverno disallow-default-namespace).",
        Severity.LOW,
        "set metadata.namespace (a Helm release's namespace) to the application's own namespace.",
        _check_default_namespace,
    ),
    resource_policy(
        "k8s-rbac-no-anonymous-binding",
        "RoleBindings and ClusterRoleBindings must not bind any role to system:anonymous or system:unauthenticated "
        "(EKS Best Practices Guide: review and revoke unnecessary anonymous access; Gatekeeper K8sDisallowAnonymous; "
        "Kyverno restrict-binding-system-groups).",
        Severity.CRITICAL,
        "remove the system:anonymous / system:unauthenticated subject; bind the role to a named ServiceAccount, user or group.",
        _check_anonymous_binding,
    ),
    resource_policy(
        "k8s-rbac-no-wildcards",
        "Roles and ClusterRoles must not grant every resource with verbs * or across apiGroups * (CIS EKS 4.1.3, "
        "CIS Kubernetes 5.1.3: Minimize wildcard use in Roles and ClusterRoles; Kyverno restrict-wildcard-resources, "
        "restrict-wildcard-verbs).",
        Severity.HIGH,
        "list the API groups, resources and verbs the subject needs (get, list, watch on pods, say) instead of '*'.",
        _check_role_wildcards,
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
