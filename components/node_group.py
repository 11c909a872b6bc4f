"""One node pool (the seed's auto-scaling group, min 1 / desired 2 / max 3) as EKS managed node groups."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.shared.node_pools import EKS_TAINT_EFFECTS, POOL_LABEL, ROOT_DEVICE, Taint

# EKS-optimized Amazon Linux 2023 AMI per CPU architecture (aws_eks_node_group ami_type values).
AMI_TYPES = {"x86_64": "AL2023_x86_64_STANDARD", "arm64": "AL2023_ARM_64_STANDARD"}


def split_evenly(total: int, parts: int) -> list[int]:
    """`total` nodes over `parts` groups, the first groups taking the remainder: 7 over 3 -> [3, 2, 2]."""
    return [total // parts + (1 if index < total % parts else 0) for index in range(parts)]


@dataclass(frozen=True)
class NodeGroupArgs:
    # Text, as config fixes it: the launch template's description and Name tag are written with it, and the
    # dependency on the cluster comes from `dependencies`.
    cluster_name: str
    pool: str
    # Managed node groups with our launch template get no version from EKS' defaults on upgrade: each
    # group is pinned to the control plane's version explicitly, so one config change moves both.
    kubernetes_version: str
    # The EKS-optimized AMI release of that minor (components/shared/versions.py): moved only by a reviewed change.
    release_version: str
    node_role_arn: pulumi.Input[str]
    # The node role's policy attachments, the cluster, and the private subnets' egress (NAT, routes):
    # nodes need them until they are gone, so destroy removes the nodes first.
    dependencies: tuple[pulumi.Resource, ...]
    # (zone, private subnet id) for every zone the nodes may run in.
    subnets: tuple[tuple[str, pulumi.Input[str]], ...]
    instance_types: tuple[str, ...]
    cpu_architecture: str
    capacity_type: str
    min_size: int
    desired_size: int
    max_size: int
    disk_size_gib: int
    # One group per zone, so the cluster autoscaler can grow exactly the zone a pending pod needs.
    per_zone: bool
    max_unavailable: int
    # The cluster autoscaler resizes the group: its desired size is then left alone by `pulumi up`. Otherwise
    # (Karpenter's system pool) nothing resizes it, and config stays the truth.
    autoscaled: bool = True
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()
    # The stack's tags for the instances and root volumes the template launches: the provider's default tags
    # reach only a resource's own `tags`, never a template's tag specifications (terraform-provider-aws#19387),
    # and EKS does not copy node group tags to instances.
    tags: dict[str, str] = field(default_factory=dict)


class NodeGroup(pulumi.ComponentResource):
    node_groups: tuple[aws.eks.NodeGroup, ...]
    node_group_names: pulumi.Output[list[str]]

    def __init__(self, name: str, args: NodeGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-platform:nodegroup:NodeGroup", name, None, opts)

        # Our own launch template, for IMDSv2 and an encrypted root volume (EKS' default template has neither).
        launch_template = aws.ec2.LaunchTemplate(
            f"{name}-lt",
            description=f"Managed nodes of {args.cluster_name}: IMDSv2 only, encrypted gp3 root volume",
            update_default_version=True,
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                # One hop: only processes on the node itself (kubelet, and host-network pods such as the VPC CNI,
                # kube-proxy and the Pod Identity agent) reach IMDS; ordinary pods cannot borrow the node role.
                # Pods that call AWS get their own role through Pod Identity and are given the region explicitly.
                http_put_response_hop_limit=1,
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name=ROOT_DEVICE,
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=args.disk_size_gib,
                        volume_type="gp3",
                        encrypted="true",
                        delete_on_termination="true",
                    ),
                )
            ],
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(
                    resource_type=kind, tags={**args.tags, "Name": f"{args.cluster_name}-{name}"}
                )
                for kind in ("instance", "volume")
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )

        placements = (
            [(f"{name}-{zone}", [subnet]) for zone, subnet in args.subnets]
            if args.per_zone
            else [(name, [s for _, s in args.subnets])]
        )
        parts = len(placements)
        sizes = zip(
            split_evenly(args.min_size, parts),
            split_evenly(args.desired_size, parts),
            split_evenly(args.max_size, parts),
            strict=True,
        )
        self.node_groups = tuple(
            aws.eks.NodeGroup(
                f"{group_name}-group",
                cluster_name=args.cluster_name,
                version=args.kubernetes_version,
                # Without it EKS picks the newest AMI at creation and never moves it: a security fix in the node
                # image would stay invisible and unplanned.
                release_version=args.release_version,
                node_role_arn=args.node_role_arn,
                subnet_ids=subnet_ids,
                ami_type=AMI_TYPES[args.cpu_architecture],
                instance_types=list(args.instance_types),
                capacity_type=args.capacity_type,
                scaling_config=aws.eks.NodeGroupScalingConfigArgs(min_size=min_size, desired_size=desired, max_size=max_size),
                update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=args.max_unavailable),
                launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                    id=launch_template.id,
                    version=launch_template.latest_version.apply(str),
                ),
                # The same labels and taints on every group of the pool: the autoscaler balances only groups that
                # look alike, and reads both from the EKS API to scale a group up from zero.
                labels={POOL_LABEL: args.pool, **args.labels},
                taints=[
                    aws.eks.NodeGroupTaintArgs(key=taint.key, value=taint.value or None, effect=EKS_TAINT_EFFECTS[taint.effect])
                    for taint in args.taints
                ]
                or None,
                opts=pulumi.ResourceOptions(
                    parent=self,
                    depends_on=list(args.dependencies),
                    # The cluster autoscaler owns the desired size after creation; `pulumi up` must not reset it.
                    ignore_changes=["scalingConfig.desiredSize"] if args.autoscaled else None,
                ),
            )
            for (group_name, subnet_ids), (min_size, desired, max_size) in zip(placements, sizes, strict=True)
        )

        self.node_group_names = pulumi.Output.all(*[group.node_group_name for group in self.node_groups])
        self.register_outputs({"nodeGroupNames": self.node_group_names})
