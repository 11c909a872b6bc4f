"""An Amazon EKS platform as one Pulumi graph: config in, components wired together, outputs out."""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.cluster import Cluster, ClusterArgs
from components.cluster_addons import ClusterAddons, ClusterAddonsArgs
from components.cluster_autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from components.iam import ClusterIam, ClusterIamArgs
from components.ingress_controller import IngressController, IngressControllerArgs
from components.metrics_server import MetricsServer, MetricsServerArgs
from components.network import Network, NetworkArgs
from components.node_group import NodeGroup, NodeGroupArgs
from components.storage import Storage, StorageArgs
from components.workloads import DemoWorkloads, DemoWorkloadsArgs
from settings import load_settings

settings = load_settings()

aws_provider = aws.Provider(
    "aws",
    region=settings.region,
    default_tags=aws.ProviderDefaultTagsArgs(
        tags={
            "project": settings.project,
            "stack": settings.stack,
            "environment": settings.environment,
            "managed-by": "pulumi",
        }
    ),
)
on_aws = pulumi.ResourceOptions(providers=[aws_provider])

iam = ClusterIam("iam", ClusterIamArgs(cluster_name=settings.cluster_name), on_aws)
network = Network(
    "network",
    NetworkArgs(
        cluster_name=settings.cluster_name,
        vpc_cidr=settings.vpc_cidr,
        availability_zones=settings.availability_zones,
        subnet_prefix_length=settings.subnet_prefix_length,
        nat_strategy=settings.nat_strategy,
    ),
    on_aws,
)
cluster = Cluster(
    "cluster",
    ClusterArgs(
        cluster_name=settings.cluster_name,
        kubernetes_version=settings.kubernetes_version,
        vpc_id=network.vpc_id,
        public_subnet_ids=network.public_subnet_ids,
        private_subnet_ids=network.private_subnet_ids,
        cluster_role=iam.cluster_role,
        cluster_role_name=iam.cluster_role_name,
        node_role_arn=iam.node_role_arn,
        role_dependencies=(iam,),
        admin_arns=settings.cluster_admin_arns,
        endpoint_public_access=settings.endpoint_public_access,
        public_access_cidrs=settings.public_access_cidrs,
        deletion_protection=settings.deletion_protection,
    ),
    on_aws,
)
nodes = NodeGroup(
    "nodes",
    NodeGroupArgs(
        cluster=cluster.eks_cluster,
        cluster_name=settings.cluster_name,
        node_role_arn=iam.node_role_arn,
        role_dependencies=(iam,),
        subnet_ids=network.private_subnet_ids,
        instance_types=settings.node_group.instance_types,
        capacity_type=settings.node_group.capacity_type,
        min_size=settings.node_group.min_size,
        desired_size=settings.node_group.desired_size,
        max_size=settings.node_group.max_size,
        disk_size_gib=settings.node_group.disk_size_gib,
        labels={"environment": settings.environment},
    ),
    on_aws,
)
addons = ClusterAddons(
    "addons",
    ClusterAddonsArgs(cluster_name=cluster.cluster_name, node_dependencies=(nodes,)),
    on_aws,
)

# --- Kubernetes half: everything below uses this provider, and everything that owns a cloud resource or
# runs on nodes depends on the nodes, the add-ons and the cluster, so `pulumi destroy` removes it first.
k8s_provider = k8s.Provider("k8s", kubeconfig=cluster.kubeconfig_json, enable_server_side_apply=True)
on_cluster = pulumi.ResourceOptions(providers=[k8s_provider])
on_cluster_and_aws = pulumi.ResourceOptions(providers=[k8s_provider, aws_provider])
after_nodes = (cluster.eks_cluster, nodes, addons)

ingress = IngressController(
    "ingress",
    IngressControllerArgs(
        controller=settings.ingress_controller,
        replicas=settings.ingress_replicas,
        zone_spread=settings.is_production,
        cluster_dependencies=after_nodes,
    ),
    on_cluster,
)
MetricsServer("metrics", MetricsServerArgs(replicas=2, cluster_dependencies=after_nodes), on_cluster)
ClusterAutoscaler(
    "autoscaler",
    ClusterAutoscalerArgs(
        cluster_name=cluster.cluster_name,
        region=settings.region,
        kubernetes_version=settings.kubernetes_version,
        cluster_dependencies=after_nodes,
    ),
    on_cluster_and_aws,
)
# The seed's demo systems, switched by demoWorkloads (on in dev); the default StorageClass is there either way.
demo = (
    DemoWorkloads(
        "demo",
        DemoWorkloadsArgs(
            namespace="demo",
            ingress_controller=settings.ingress_controller,
            ingress_class_name=ingress.ingress_class_name,
            controller=ingress.release,
            cluster_dependencies=after_nodes,
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
        csi_dependencies=after_nodes,
        protect_claim=settings.deletion_protection,
    ),
    on_cluster,
)

pulumi.export("region", settings.region)
pulumi.export("clusterName", cluster.cluster_name)
pulumi.export("kubeconfig", cluster.kubeconfig_json)
pulumi.export("vpcId", network.vpc_id)
pulumi.export("publicSubnetIds", network.public_subnet_ids)
pulumi.export("privateSubnetIds", network.private_subnet_ids)
pulumi.export("nodeGroupName", nodes.node_group_name)
pulumi.export("ebsCsiRoleArn", addons.ebs_csi_role_arn)
pulumi.export("ingressHostname", ingress.load_balancer_hostname)
if demo:
    pulumi.export("httpdUrl", pulumi.Output.concat("http://", ingress.load_balancer_hostname, "/httpd"))
    pulumi.export("tomcatUrl", pulumi.Output.concat("http://", ingress.load_balancer_hostname, "/tomcat"))
