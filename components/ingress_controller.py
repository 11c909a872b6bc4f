"""The ingress controller (the seed's nginx controller) as a pinned Helm release behind one AWS NLB."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.shared.helm_release import pinned_release
from components.shared.versions import COMMUNITY_INGRESS_NGINX, F5_NGINX_INGRESS, Chart

CHARTS = {"f5-nginx": F5_NGINX_INGRESS, "ingress-nginx": COMMUNITY_INGRESS_NGINX}

# One internet-facing Network Load Balancer, provisioned by EKS' AWS cloud controller.
NLB_ANNOTATIONS = {
    "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
    "service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled": "true",
}
CONTROLLER_RESOURCES = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}


@dataclass(frozen=True)
class IngressControllerArgs:
    controller: str  # "f5-nginx" or "ingress-nginx"
    replicas: int
    # prod: replicas must land in different zones so a zone outage keeps the ingress up.
    zone_spread: bool
    # The release's LoadBalancer Service must be deleted while nodes and cluster still exist.
    cluster_dependencies: tuple[pulumi.Resource, ...]
    # Node labels the controller pods require (the system pool).
    node_selector: dict[str, str] = field(default_factory=dict)
    ingress_class_name: str = "nginx"


def controller_values(args: IngressControllerArgs, chart: Chart) -> dict[str, Any]:
    """Chart values for the chosen controller; the two charts spell the same settings differently."""
    service = {"type": "LoadBalancer", "externalTrafficPolicy": "Local", "annotations": NLB_ANNOTATIONS}
    pod_labels = {"app.kubernetes.io/name": chart.name, "app.kubernetes.io/instance": chart.name}
    if args.controller == "ingress-nginx":
        # The chart's admission-webhook Jobs carry the same name and instance labels.
        pod_labels["app.kubernetes.io/component"] = "controller"
    spread = [
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": pod_labels},
        }
    ]
    controller: dict[str, Any] = {"replicaCount": args.replicas, "resources": CONTROLLER_RESOURCES, "service": service}
    if args.node_selector:
        # controller.nodeSelector in both charts (nginx/kubernetes-ingress and kubernetes/ingress-nginx
        # charts/*/values.yaml); Helm merges it with ingress-nginx's default kubernetes.io/os: linux.
        controller["nodeSelector"] = args.node_selector
    if args.zone_spread:
        controller["topologySpreadConstraints"] = spread
    if args.controller == "f5-nginx":
        controller |= {
            "ingressClass": {"name": args.ingress_class_name, "create": True, "setAsDefaultIngress": False},
            "podDisruptionBudget": {"enabled": args.replicas > 1, "minAvailable": 1},
            "enableSnippets": False,
        }
    else:
        controller |= {
            "ingressClass": args.ingress_class_name,
            "ingressClassResource": {"name": args.ingress_class_name, "enabled": True, "default": False},
            # The chart creates its PodDisruptionBudget when replicaCount > 1.
            "minAvailable": 1,
            "allowSnippetAnnotations": False,
            "admissionWebhooks": {
                "enabled": True,
                **({"patch": {"nodeSelector": args.node_selector}} if args.node_selector else {}),
            },
        }
    return {"controller": controller}


def _first_hostname(status: k8s.core.v1.outputs.ServiceStatus | None) -> str:
    ingress = status.load_balancer.ingress if status and status.load_balancer else None
    return (ingress[0].hostname or "") if ingress else ""


class IngressController(pulumi.ComponentResource):
    release: k8s.helm.v3.Release
    ingress_class_name: str
    namespace_name: str
    load_balancer_hostname: pulumi.Output[str]

    def __init__(self, name: str, args: IngressControllerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-platform:ingress:IngressController", name, None, opts)
        chart = CHARTS[args.controller]

        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=chart.name,
                # The controller needs NET_BIND_SERVICE, which `restricted` allows only with warnings on some charts.
                labels={
                    "pod-security.kubernetes.io/enforce": "baseline",
                    "pod-security.kubernetes.io/warn": "restricted",
                    "pod-security.kubernetes.io/audit": "restricted",
                },
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Install waits for the controller (and its admission webhook) and the NLB address.
        self.release = pinned_release(
            f"{name}-release",
            chart,
            chart.name,
            controller_values(args, chart),
            pulumi.ResourceOptions(parent=self, depends_on=[namespace, *args.cluster_dependencies]),
            timeout_seconds=900,
        )

        # Read only once the release exists (the id is unknown until then, so a first preview does not fail).
        service_id = self.release.status.apply(lambda status: f"{status.namespace}/{chart.name}-controller")
        service = k8s.core.v1.Service.get(f"{name}-service", service_id, opts=pulumi.ResourceOptions(parent=self))

        self.ingress_class_name = args.ingress_class_name
        self.namespace_name = chart.name
        self.load_balancer_hostname = service.status.apply(_first_hostname)
        self.register_outputs({"release": self.release.name, "loadBalancerHostname": self.load_balancer_hostname})
