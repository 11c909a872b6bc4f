"""An Amazon EKS platform as one Pulumi graph: config in, components wired together, outputs out."""

from datetime import date

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.cluster import Cluster, ClusterArgs
from components.cluster_addons import ClusterAddons, ClusterAddonsArgs
from components.cluster_autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from components.iam import ClusterIam, ClusterIamArgs
from components.ingress_controller import IngressController, IngressControllerArgs
from components.karpenter import DISCOVERY_TAG, Karpenter, KarpenterArgs
from components.karpenter_node_pool import KarpenterNodePool, KarpenterNodePoolArgs
from components.metrics_server import MetricsServer, MetricsServerArgs
from components.network import Network, NetworkArgs
from components.node_group import NodeGroup, NodeGroupArgs
from components.shared.node_pools import POOL_LABEL
from components.shared.versions import KUBERNETES_RELEASES, support_notes
from components.storage import Storage, StorageArgs
from components.workloads import DemoWorkloads, DemoWorkloadsArgs
from settings import SYSTEM_POOL, check_zones_offered, load_settings, settings_notes

settings = load_settings()
release = KUBERNETES_RELEASES[settings.kubernetes_version]
for note in [*settings_notes(settings), *support_notes(settings.kubernetes_version, settings.support_type, date.today())]:
    pulumi.log.warn(note)
addon_versions = release.addons
karpenter_enabled = settings.autoscaler == "karpenter"
stack_tags = {
    "project": settings.project,
    "stack": settings.stack,
    "environment": settings.environment,
}

default_tags = {**stack_tags, "managed-by": "pulumi"}
aws_provider = aws.Provider("aws", region=settings.region, default_tags=aws.ProviderDefaultTagsArgs(tags=default_tags))
on_aws = pulumi.ResourceOptions(providers=[aws_provider])
# Zones that exist only for AWS: asked before anything is built, so a wrong one stops the preview in one line.
offered_zones = aws.get_availability_zones(state="available", opts=pulumi.InvokeOptions(provider=aws_provider))
check_zones_offered(settings, offered_zones.names)

iam = ClusterIam("iam", ClusterIamArgs(cluster_name=settings.cluster_name, partition=settings.partition), on_aws)
network = Network(
    "network",
    NetworkArgs(
        cluster_name=settings.cluster_name,
        vpc_cidr=settings.vpc_cidr,
        availability_zones=settings.availability_zones,
        subnet_prefix_length=settings.subnet_prefix_length,
        subnet_layout=settings.subnet_layout,
        nat_strategy=settings.nat_strategy,
        private_subnet_tags={DISCOVERY_TAG: settings.cluster_name} if karpenter_enabled else {},
    ),
    on_aws,
)
cluster = Cluster(
    "cluster",
    ClusterArgs(
        cluster_name=settings.cluster_name,
        region=settings.region,
        kubernetes_version=settings.kubernetes_version,
        support_type=settings.support_type,
        partition=settings.partition,
        log_retention_days=settings.control_plane_log_retention_days,
        addon_versions=addon_versions,
        vpc_id=network.vpc_id,
        public_subnet_ids=network.public_subnet_ids,
        private_subnet_ids=network.private_subnet_ids,
        cluster_role=iam.cluster_role,
        cluster_role_name=iam.cluster_role_name,
        node_role_arn=iam.node_role_arn,
        role_dependencies=(iam,),
        admin_arns=settings.cluster_admin_arns,
        viewer_arns=settings.cluster_viewer_arns,
        creator_arn=settings.cluster_creator_arn,
        endpoint_public_access=settings.endpoint_public_access,
        public_access_cidrs=settings.public_access_cidrs,
        deletion_protection=settings.deletion_protection,
    ),
    on_aws,
)
nodes = tuple(
    NodeGroup(
        f"nodes-{pool.name}",
        NodeGroupArgs(
            cluster_name=settings.cluster_name,
            pool=pool.name,
            kubernetes_version=settings.kubernetes_version,
            release_version=release.node_release_version,
            node_role_arn=iam.node_role_arn,
            dependencies=(iam, cluster.eks_cluster, *network.private_egress),
            subnets=network.private_subnets,
            instance_types=pool.instance_types,
            cpu_architecture=pool.cpu_architecture,
            capacity_type=pool.capacity_type,
            min_size=pool.min_size,
            desired_size=pool.desired_size,
            max_size=pool.max_size,
            disk_size_gib=pool.disk_size_gib,
            per_zone=pool.per_zone,
            max_unavailable=pool.max_unavailable,
            autoscaled=not karpenter_enabled,
            labels={"environment": settings.environment, **pool.labels},
            taints=pool.taints,
            tags=default_tags,
        ),
        on_aws,
    )
    for pool in settings.managed_pools
)
addons = ClusterAddons(
    "addons",
    ClusterAddonsArgs(
        cluster_name=cluster.cluster_name,
        partition=settings.partition,
        addon_versions=addon_versions,
        system_pool=SYSTEM_POOL,
        node_dependencies=nodes,
    ),
    on_aws,
)

# --- Kubernetes half: everything below uses this provider, and everything that owns a cloud resource or
# runs on nodes depends on the nodes and the cluster, so `pulumi destroy` removes it first; what needs an add-on
# at run time (DNS, Pod Identity, the EBS CSI driver) depends on the add-ons too. The lifecycle rehearsal
# (offline/lifecycle.py) checks each of these needs.
k8s_provider = k8s.Provider("k8s", kubeconfig=cluster.kubeconfig_json, enable_server_side_apply=True)
on_cluster = pulumi.ResourceOptions(providers=[k8s_provider])
on_cluster_and_aws = pulumi.ResourceOptions(providers=[k8s_provider, aws_provider])
on_nodes = (cluster.eks_cluster, *nodes)
after_nodes = (*on_nodes, addons)
# Add-ons and controllers run on the system pool; the demo workloads on the workload pools (settings.workload_pools).
on_system_pool = {POOL_LABEL: SYSTEM_POOL}

ingress = IngressController(
    "ingress",
    IngressControllerArgs(
        controller=settings.ingress_controller,
        replicas=settings.ingress_replicas,
        zone_spread=settings.is_production,
        # Needs no add-on (it proxies to endpoints, not DNS names); its NLB holds public addresses, so it is
        # deleted before the internet gateway and the public routes.
        cluster_dependencies=(*on_nodes, *network.public_routing),
        node_selector=on_system_pool,
    ),
    on_cluster,
)
# Scrapes kubelets by node address: no add-on needed.
MetricsServer("metrics", MetricsServerArgs(replicas=2, cluster_dependencies=on_nodes, node_selector=on_system_pool), on_cluster)
if karpenter_enabled:
    karpenter = Karpenter(
        "karpenter",
        KarpenterArgs(
            cluster_name=settings.cluster_name,
            cluster=cluster.cluster_name,
            region=settings.region,
            partition=settings.partition,
            cluster_security_group_id=cluster.cluster_security_group_id,
            system_pool=SYSTEM_POOL,
            cluster_dependencies=after_nodes,
            network_dependencies=(*network.private_egress, *network.private_subnet_resources),
        ),
        on_cluster_and_aws,
    )
    # What runs on a Karpenter pool depends on its NodePool, so destroy removes it before the pool's nodes.
    node_pools: tuple[pulumi.Resource, ...] = tuple(
        KarpenterNodePool(
            f"pool-{pool.name}",
            KarpenterNodePoolArgs(
                cluster_name=settings.cluster_name,
                pool=pool.name,
                node_role_name=karpenter.node_role_name,
                instance_types=pool.instance_types,
                cpu_architecture=pool.cpu_architecture,
                capacity_type=pool.capacity_type,
                max_size=pool.max_size,
                disk_size_gib=pool.disk_size_gib,
                max_unavailable=pool.max_unavailable,
                zones=settings.availability_zones,
                tags={**stack_tags, "managed-by": "karpenter"},
                dependencies=(karpenter.instance_gate,),
                labels={"environment": settings.environment, **pool.labels},
                taints=pool.taints,
            ),
            on_cluster,
        )
        for pool in settings.karpenter_pools
    )
else:
    ClusterAutoscaler(
        "autoscaler",
        ClusterAutoscalerArgs(
            cluster_name=cluster.cluster_name,
            region=settings.region,
            partition=settings.partition,
            kubernetes_version=settings.kubernetes_version,
            cluster_dependencies=after_nodes,
            node_selector=on_system_pool,
        ),
        on_cluster_and_aws,
    )
    node_pools = ()
# The seed's demo systems, switched by demoWorkloads (on in dev); the default StorageClass is there either way.
demo = (
    DemoWorkloads(
        "demo",
        DemoWorkloadsArgs(
            namespace="demo",
            ingress_controller=settings.ingress_controller,
            ingress_class_name=ingress.ingress_class_name,
            ingress_namespace=ingress.namespace_name,
            controller=ingress.release,
            # Plain web servers behind the ingress: no add-on needed (the Storage pods in the same namespace wait
            # for the EBS CSI driver themselves).
            cluster_dependencies=(*on_nodes, *node_pools),
            pools=settings.workload_pools,
        ),
        on_cluster,
    )
    if settings.demo_workloads
    else None
)
Storage(
    "storage",
    StorageArgs(
        namespace="demo",
        namespace_resource=demo.namespace_resource if demo else None,
        cluster_name=settings.cluster_name,
        region=settings.region,
        csi_dependencies=(*after_nodes, *node_pools),
        protect_claim=settings.deletion_protection,
        pools=settings.workload_pools,
    ),
    on_cluster,
)

pulumi.export("region", settings.region)
pulumi.export("clusterName", cluster.cluster_name)
pulumi.export("kubernetesVersion", settings.kubernetes_version)
pulumi.export("kubeconfig", cluster.kubeconfig_json)
pulumi.export("vpcId", network.vpc_id)
pulumi.export("publicSubnetIds", network.public_subnet_ids)
pulumi.export("privateSubnetIds", network.private_subnet_ids)
pulumi.export(
    "nodeGroupNames",
    pulumi.Output.all(*[group.node_group_names for group in nodes]).apply(lambda pools: [n for names in pools for n in names]),
)
pulumi.export("nodePools", [pool.name for pool in settings.node_pools])
pulumi.export("autoscaler", settings.autoscaler)
pulumi.export("ebsCsiRoleArn", addons.ebs_csi_role_arn)
pulumi.export("ingressHostname", ingress.load_balancer_hostname)
if demo:
    pulumi.export("httpdUrl", pulumi.Output.concat("http://", ingress.load_balancer_hostname, "/httpd"))
    pulumi.export("tomcatUrl", pulumi.Output.concat("http://", ingress.load_balancer_hostname, "/tomcat"))
