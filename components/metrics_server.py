"""metrics-server: the resource metrics API the demo's HorizontalPodAutoscaler scales on."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.shared.helm_release import pinned_release
from components.shared.versions import METRICS_SERVER


@dataclass(frozen=True)
class MetricsServerArgs:
    replicas: int
    cluster_dependencies: tuple[pulumi.Resource, ...]
    # Node labels the pods require (the system pool); the chart's top-level nodeSelector.
    node_selector: dict[str, str] = field(default_factory=dict)


class MetricsServer(pulumi.ComponentResource):
    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: MetricsServerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-platform:autoscaling:MetricsServer", name, None, opts)
        self.release = pinned_release(
            f"{name}-release",
            METRICS_SERVER,
            "kube-system",
            {
                "replicas": args.replicas,
                "podDisruptionBudget": {"enabled": args.replicas > 1, "minAvailable": 1},
                "resources": {"requests": {"cpu": "100m", "memory": "200Mi"}, "limits": {"cpu": "500m", "memory": "400Mi"}},
                **({"nodeSelector": args.node_selector} if args.node_selector else {}),
            },
            pulumi.ResourceOptions(parent=self, depends_on=list(args.cluster_dependencies)),
        )
        self.register_outputs({"release": self.release.name})
