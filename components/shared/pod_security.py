"""Building blocks for pods that pass Pod Security `restricted`: shared by every workload component."""

from __future__ import annotations

import pulumi_kubernetes as k8s

from components.shared.node_pools import POOL_LABEL

RESTRICTED_NAMESPACE_LABELS = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/audit": "restricted",
    "pod-security.kubernetes.io/warn": "restricted",
}


def pod_security_context(user_id: int) -> k8s.core.v1.PodSecurityContextArgs:
    return k8s.core.v1.PodSecurityContextArgs(
        run_as_non_root=True,
        run_as_user=user_id,
        run_as_group=user_id,
        fs_group=user_id,
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def restricted_pod_spec(
    user_id: int,
    containers: list[k8s.core.v1.ContainerArgs],
    volumes: list[k8s.core.v1.VolumeArgs],
    init_containers: list[k8s.core.v1.ContainerArgs] | None = None,
    topology_spread_constraints: list[k8s.core.v1.TopologySpreadConstraintArgs] | None = None,
    affinity: k8s.core.v1.AffinityArgs | None = None,
) -> k8s.core.v1.PodSpecArgs:
    """A pod running as `user_id` with no Kubernetes API token (none of the demo apps talks to the API)."""
    return k8s.core.v1.PodSpecArgs(
        automount_service_account_token=False,
        affinity=affinity,
        security_context=pod_security_context(user_id),
        init_containers=init_containers or None,
        containers=containers,
        volumes=volumes,
        topology_spread_constraints=topology_spread_constraints,
    )


def pool_affinity(pools: tuple[str, ...]) -> k8s.core.v1.AffinityArgs | None:
    """Pods of this affinity run only on nodes of the given pools (any of them); None places them anywhere."""
    if not pools:
        return None
    return k8s.core.v1.AffinityArgs(
        node_affinity=k8s.core.v1.NodeAffinityArgs(
            required_during_scheduling_ignored_during_execution=k8s.core.v1.NodeSelectorArgs(
                node_selector_terms=[
                    k8s.core.v1.NodeSelectorTermArgs(
                        match_expressions=[
                            k8s.core.v1.NodeSelectorRequirementArgs(key=POOL_LABEL, operator="In", values=list(pools))
                        ]
                    )
                ]
            )
        )
    )


def container_security_context() -> k8s.core.v1.SecurityContextArgs:
    return k8s.core.v1.SecurityContextArgs(
        allow_privilege_escalation=False,
        privileged=False,
        read_only_root_filesystem=True,
        run_as_non_root=True,
        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def resources(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> k8s.core.v1.ResourceRequirementsArgs:
    return k8s.core.v1.ResourceRequirementsArgs(
        requests={"cpu": cpu, "memory": memory},
        limits={"cpu": cpu_limit, "memory": memory_limit},
    )


def http_probe(path: str, port: int, initial_delay: int, period: int = 10) -> k8s.core.v1.ProbeArgs:
    return k8s.core.v1.ProbeArgs(
        http_get=k8s.core.v1.HTTPGetActionArgs(path=path, port=port),
        initial_delay_seconds=initial_delay,
        period_seconds=period,
        timeout_seconds=3,
        failure_threshold=3,
    )


def scratch_volumes(mounts: dict[str, str]) -> tuple[list[k8s.core.v1.VolumeArgs], list[k8s.core.v1.VolumeMountArgs]]:
    """emptyDir volumes for the paths an app must write to while its root filesystem stays read-only."""
    volumes = [k8s.core.v1.VolumeArgs(name=name, empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs()) for name in mounts]
    volume_mounts = [k8s.core.v1.VolumeMountArgs(name=name, mount_path=path) for name, path in mounts.items()]
    return volumes, volume_mounts


# checkov findings accepted for every workload, each with its reason (checkov.io/skip<N>: <check>=<reason>; the
# reason must not contain "=", which checkov splits on).
ACCEPTED_CHECKOV_FINDINGS = {
    "checkov.io/skip1": "CKV_K8S_43=Images are pinned by exact version tag in components/shared/versions.py; a digest is "
    "pinned only once it can be verified from an authoritative source",
    "checkov.io/skip2": "CKV_K8S_15=IfNotPresent with an exact version tag: Always would make every pod start depend on "
    "the registry answering and could pick up a re-pushed tag",
}


def labels_for(app: str, part_of: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": part_of}
