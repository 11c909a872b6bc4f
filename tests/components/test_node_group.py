from __future__ import annotations

import pulumi_aws as aws
import pulumi_eks as eks

from components.node_group import NodeGroup, NodeGroupArgs
from tests.conftest import run_component


def plan():
    def program() -> None:
        cluster = eks.Cluster("cluster", name="demo", skip_default_node_group=True)
        attachment = aws.iam.RolePolicyAttachment("node-policy", role="nodes", policy_arn="arn:aws:iam::aws:policy/X")
        NodeGroup(
            "workers",
            NodeGroupArgs(
                cluster=cluster,
                cluster_name="demo",
                node_role_arn="arn:aws:iam::123456789012:role/nodes",
                role_dependencies=(attachment,),
                subnet_ids=["subnet-private-a", "subnet-private-b"],
                instance_types=("m6i.large",),
                capacity_type="ON_DEMAND",
                min_size=1,
                desired_size=2,
                max_size=3,
                disk_size_gib=40,
                labels={"environment": "test"},
            ),
        )

    return run_component(program)


def test_managed_node_group_sizes_subnets_and_autoscaler_ownership() -> None:
    query = plan()
    group = query.one("eks:index:ManagedNodeGroup", "workers-mng")
    inputs = group["inputs"]
    assert inputs["scalingConfig"] == {"minSize": 1, "desiredSize": 2, "maxSize": 3}
    assert inputs["ignoreScalingChanges"] is True
    assert inputs["subnetIds"] == ["subnet-private-a", "subnet-private-b"]
    assert inputs["operatingSystem"] == "AL2023"
    assert inputs["capacityType"] == "ON_DEMAND"
    assert inputs["instanceTypes"] == ["m6i.large"]
    assert inputs["nodeRoleArn"] == "arn:aws:iam::123456789012:role/nodes"
    assert inputs["labels"] == {"environment": "test", "platform.eks/node-group": "workers"}
    assert query.one("eks:index:Cluster", "cluster")["urn"] in group["dependencies"]
    assert query.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "node-policy")["urn"] in group["dependencies"]


def test_launch_template_requires_imdsv2_and_encrypts_the_root_volume() -> None:
    query = plan()
    template = query.one("aws:ec2/launchTemplate:LaunchTemplate", "workers-lt")
    assert template["inputs"]["metadataOptions"]["httpTokens"] == "required"
    (device,) = template["inputs"]["blockDeviceMappings"]
    assert device["deviceName"] == "/dev/xvda"
    assert device["ebs"]["encrypted"] == "true"
    assert device["ebs"]["volumeSize"] == 40
    assert device["ebs"]["volumeType"] == "gp3"
    group = query.one("eks:index:ManagedNodeGroup", "workers-mng")
    assert group["inputs"]["launchTemplate"] == {"id": "workers-lt-id", "version": "1"}
    assert template["urn"] in group["dependencies"]
