"""The worker nodes (the seed's auto-scaling group, min 1 / desired 2 / max 3) as an EKS managed node group."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks

ROOT_DEVICE = "/dev/xvda"  # root volume of AL2023 EKS AMIs


@dataclass(frozen=True)
class NodeGroupArgs:
    cluster: eks.Cluster
    cluster_name: str
    node_role_arn: pulumi.Input[str]
    # The node role's policy attachments: nodes need them until they are gone.
    role_dependencies: tuple[pulumi.Resource, ...]
    subnet_ids: pulumi.Input[list[str]]
    instance_types: tuple[str, ...]
    capacity_type: str
    min_size: int
    desired_size: int
    max_size: int
    disk_size_gib: int
    labels: dict[str, str] = field(default_factory=dict)


class NodeGroup(pulumi.ComponentResource):
    managed_node_group: eks.ManagedNodeGroup
    node_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: NodeGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-platform:nodegroup:NodeGroup", name, None, opts)

        # Our own launch template, because pulumi-eks' IMDSv2 template leaves the root volume unencrypted.
        launch_template = aws.ec2.LaunchTemplate(
            f"{name}-lt",
            description=f"Managed nodes of {args.cluster_name}: IMDSv2 only, encrypted gp3 root volume",
            update_default_version=True,
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                # 2 hops: agents running in containers on the node (VPC CNI, EBS CSI node) still reach IMDS.
                http_put_response_hop_limit=2,
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
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags={"Name": f"{args.cluster_name}-{name}"})
                for kind in ("instance", "volume")
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.managed_node_group = eks.ManagedNodeGroup(
            f"{name}-mng",
            cluster=args.cluster,
            node_role_arn=args.node_role_arn,
            subnet_ids=args.subnet_ids,
            operating_system=eks.OperatingSystem.AL2023,
            instance_types=list(args.instance_types),
            capacity_type=args.capacity_type,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=args.min_size,
                desired_size=args.desired_size,
                max_size=args.max_size,
            ),
            # The cluster autoscaler owns the desired size after creation; `pulumi up` must not reset it.
            ignore_scaling_changes=True,
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=launch_template.id,
                version=launch_template.latest_version.apply(str),
            ),
            labels={"platform.eks/node-group": name, **args.labels},
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.role_dependencies)),
        )

        self.node_group_name = self.managed_node_group.node_group.node_group_name
        self.register_outputs({"nodeGroupName": self.node_group_name})
