"""The seed's demo applications (ingress-prep + test-ingress): httpd and Tomcat behind one Ingress."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.shared.containers import HTTPD_PORT, HTTPD_USER, TOMCAT_PORT, TOMCAT_USER, httpd_container, tomcat_containers
from components.shared.ingress_routing import Route, prefix_rewrites
from components.shared.pod_security import (
    ACCEPTED_CHECKOV_FINDINGS,
    RESTRICTED_NAMESPACE_LABELS,
    labels_for,
    pool_affinity,
    restricted_pod_spec,
)

PART_OF = "seed-demo"
HTTPD_SERVICE = "httpd-service"
TOMCAT_SERVICE = "tomcat-service"
SERVICE_PORT = 8080
# Set by Kubernetes on every namespace (immutable), so policies can select a namespace by its name.
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
# CoreDNS pods as the EKS add-on labels them.
COREDNS_POD_LABELS = {"k8s-app": "kube-dns"}


@dataclass(frozen=True)
class _App:
    name: str
    service_name: str
    port: int
    user_id: int
    containers: list[k8s.core.v1.ContainerArgs]
    init_containers: list[k8s.core.v1.ContainerArgs]
    volumes: list[k8s.core.v1.VolumeArgs]
    # An HPA owns the replica count once it runs; `pulumi up` must not reset it.
    autoscaled: bool


@dataclass(frozen=True)
class DemoWorkloadsArgs:
    namespace: str
    ingress_controller: str
    ingress_class_name: str
    # Where the ingress controller runs: the only source of traffic the demo apps accept.
    ingress_namespace: str
    # The Ingress waits for the controller (and its admission webhook) to be ready before it is created.
    controller: pulumi.Resource
    # Pods need nodes; on destroy, everything here goes before the nodes and the cluster.
    cluster_dependencies: tuple[pulumi.Resource, ...]
    # Node pools the demo pods may run on (node affinity on the pool label); empty places them anywhere.
    pools: tuple[str, ...] = ()
    replicas: int = 2
    max_httpd_replicas: int = 6


class DemoWorkloads(pulumi.ComponentResource):
    namespace_resource: k8s.core.v1.Namespace
    namespace: pulumi.Output[str]
    ingress_name: pulumi.Output[str]

    def __init__(self, name: str, args: DemoWorkloadsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-platform:workloads:DemoWorkloads", name, None, opts)

        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.namespace, labels=RESTRICTED_NAMESPACE_LABELS),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.cluster_dependencies)),
        )
        in_namespace = pulumi.ResourceOptions(parent=self, depends_on=[namespace])

        httpd, httpd_volumes = httpd_container("httpd")
        httpd_app = _App("httpd", HTTPD_SERVICE, HTTPD_PORT, HTTPD_USER, [httpd], [], httpd_volumes, autoscaled=True)
        httpd_deployment = self._application(f"{name}-httpd", httpd_app, args, in_namespace)
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-httpd",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="httpd", namespace=args.namespace, labels=labels_for("httpd", PART_OF)),
            spec=k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
                scale_target_ref=k8s.autoscaling.v2.CrossVersionObjectReferenceArgs(
                    api_version="apps/v1", kind="Deployment", name="httpd"
                ),
                min_replicas=args.replicas,
                max_replicas=args.max_httpd_replicas,
                metrics=[
                    k8s.autoscaling.v2.MetricSpecArgs(
                        type="Resource",
                        resource=k8s.autoscaling.v2.ResourceMetricSourceArgs(
                            name="cpu",
                            target=k8s.autoscaling.v2.MetricTargetArgs(type="Utilization", average_utilization=70),
                        ),
                    )
                ],
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace, httpd_deployment]),
        )

        install_root, tomcat, tomcat_volumes = tomcat_containers()
        tomcat_app = _App(
            "tomcat", TOMCAT_SERVICE, TOMCAT_PORT, TOMCAT_USER, [tomcat], [install_root], tomcat_volumes, autoscaled=False
        )
        self._application(f"{name}-tomcat", tomcat_app, args, in_namespace)
        self._network_policies(name, args, (httpd_app, tomcat_app), in_namespace)

        annotations, paths = prefix_rewrites(
            args.ingress_controller,
            (Route("/httpd", HTTPD_SERVICE, SERVICE_PORT), Route("/tomcat", TOMCAT_SERVICE, SERVICE_PORT)),
        )
        ingress = k8s.networking.v1.Ingress(
            f"{name}-ingress",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name="test-ingress",
                namespace=args.namespace,
                labels=labels_for("test-ingress", PART_OF),
                annotations=annotations,
            ),
            spec=k8s.networking.v1.IngressSpecArgs(
                ingress_class_name=args.ingress_class_name,
                rules=[
                    k8s.networking.v1.IngressRuleArgs(
                        http=k8s.networking.v1.HTTPIngressRuleValueArgs(
                            paths=[
                                k8s.networking.v1.HTTPIngressPathArgs(
                                    path=routed.path,
                                    path_type=routed.path_type,
                                    backend=k8s.networking.v1.IngressBackendArgs(
                                        service=k8s.networking.v1.IngressServiceBackendArgs(
                                            name=routed.service,
                                            port=k8s.networking.v1.ServiceBackendPortArgs(number=routed.port),
                                        )
                                    ),
                                )
                                for routed in paths
                            ]
                        )
                    )
                ],
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace, args.controller]),
        )

        self.namespace_resource = namespace
        self.namespace = namespace.metadata.name
        self.ingress_name = ingress.metadata.name
        self.register_outputs({"namespace": self.namespace, "ingress": self.ingress_name})

    def _network_policies(self, name: str, args: DemoWorkloadsArgs, apps: tuple[_App, ...], opts: pulumi.ResourceOptions) -> None:
        """Deny everything in the namespace, then allow DNS out and the ingress controller in to each app's port.

        The VPC CNI enforces these (enable_network_policy on the cluster). Kubelet probes need no rule: the
        network policy agent always admits the node's own address (aws/aws-network-policy-agent). Ports are
        container ports: policies apply after the Service has translated its port.
        """
        everything = k8s.meta.v1.LabelSelectorArgs()
        k8s.networking.v1.NetworkPolicy(
            f"{name}-default-deny",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="default-deny", namespace=args.namespace),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(pod_selector=everything, policy_types=["Ingress", "Egress"]),
            opts=opts,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-allow-dns",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="allow-dns", namespace=args.namespace),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=everything,
                policy_types=["Egress"],
                egress=[
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[
                            k8s.networking.v1.NetworkPolicyPeerArgs(
                                namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                                    match_labels={NAMESPACE_NAME_LABEL: "kube-system"}
                                ),
                                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=COREDNS_POD_LABELS),
                            )
                        ],
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol=p, port=53) for p in ("UDP", "TCP")],
                    )
                ],
            ),
            opts=opts,
        )
        for app in apps:
            k8s.networking.v1.NetworkPolicy(
                f"{name}-allow-ingress-to-{app.name}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=f"allow-ingress-controller-to-{app.name}", namespace=args.namespace),
                spec=k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"app.kubernetes.io/name": app.name}),
                    policy_types=["Ingress"],
                    ingress=[
                        k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                            from_=[
                                k8s.networking.v1.NetworkPolicyPeerArgs(
                                    namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                                        match_labels={NAMESPACE_NAME_LABEL: args.ingress_namespace}
                                    )
                                )
                            ],
                            ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=app.port)],
                        )
                    ],
                ),
                opts=opts,
            )

    @staticmethod
    def _application(
        resource_name: str, app: _App, args: DemoWorkloadsArgs, opts: pulumi.ResourceOptions
    ) -> k8s.apps.v1.Deployment:
        """A Deployment spread over zones, its ClusterIP Service and a PodDisruptionBudget."""
        labels = labels_for(app.name, PART_OF)
        selector = {"app.kubernetes.io/name": app.name}
        deployment = k8s.apps.v1.Deployment(
            resource_name,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=app.name, namespace=args.namespace, labels=labels, annotations=ACCEPTED_CHECKOV_FINDINGS
            ),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=args.replicas,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=restricted_pod_spec(
                        app.user_id,
                        app.containers,
                        app.volumes,
                        init_containers=app.init_containers,
                        topology_spread_constraints=[
                            k8s.core.v1.TopologySpreadConstraintArgs(
                                max_skew=1,
                                topology_key="topology.kubernetes.io/zone",
                                when_unsatisfiable="ScheduleAnyway",
                                label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                            )
                        ],
                        affinity=pool_affinity(args.pools),
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(ignore_changes=["spec.replicas"]))
            if app.autoscaled
            else opts,
        )
        k8s.core.v1.Service(
            resource_name,
            metadata=k8s.meta.v1.ObjectMetaArgs(name=app.service_name, namespace=args.namespace, labels=labels),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="ClusterIP",
                selector=selector,
                ports=[k8s.core.v1.ServicePortArgs(name="http", port=SERVICE_PORT, target_port=app.port)],
            ),
            opts=opts,
        )
        k8s.policy.v1.PodDisruptionBudget(
            resource_name,
            metadata=k8s.meta.v1.ObjectMetaArgs(name=app.name, namespace=args.namespace, labels=labels),
            spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                min_available=1,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
            ),
            opts=opts,
        )
        return deployment
