from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pulumi_aws as aws
import pytest

from components.node_group import NodeGroup, NodeGroupArgs, split_evenly
from components.shared.node_pools import Taint
from tests.components.aws_emulation import REGION, emulated_aws
from tests.conftest import FixturePlans, run_component

ZONES = ("eu-west-1a", "eu-west-1b", "eu-west-1c")
TAGS = {"project": "demo", "stack": "test", "managed-by": "pulumi"}


def plan(
    per_zone: bool = False,
    sizes: tuple[int, int, int] = (1, 2, 3),
    architecture: str = "x86_64",
    taints: tuple[Taint, ...] = (),
    max_unavailable: int = 1,
):
    def program() -> None:
        attachment = aws.iam.RolePolicyAttachment("node-policy", role="nodes", policy_arn="arn:aws:iam::aws:policy/X")
        NodeGroup(
            "workers",
            NodeGroupArgs(
                cluster_name="demo",
                pool="batch",
                kubernetes_version="1.34",
                release_version="1.34.9-20260714",
                node_role_arn="arn:aws:iam::123456789012:role/nodes",
                dependencies=(attachment,),
                subnets=tuple((zone, f"subnet-private-{zone[-1]}") for zone in ZONES),
                instance_types=("m6i.large",) if architecture == "x86_64" else ("m7g.large",),
                cpu_architecture=architecture,
                capacity_type="ON_DEMAND",
                min_size=sizes[0],
                desired_size=sizes[1],
                max_size=sizes[2],
                disk_size_gib=40,
                per_zone=per_zone,
                max_unavailable=max_unavailable,
                labels={"environment": "test"},
                taints=taints,
                tags=TAGS,
            ),
        )

    return run_component(program)


def test_one_group_over_all_zones_with_sizes_version_and_autoscaler_ownership() -> None:
    query = plan()
    (group,) = query.of_type("aws:eks/nodeGroup:NodeGroup")
    inputs = group["inputs"]
    assert group["name"] == "workers-group"
    assert inputs["scalingConfig"] == {"minSize": 1, "desiredSize": 2, "maxSize": 3}
    assert inputs["subnetIds"] == ["subnet-private-a", "subnet-private-b", "subnet-private-c"]
    assert inputs["version"] == "1.34"
    assert inputs["amiType"] == "AL2023_x86_64_STANDARD"
    assert inputs["capacityType"] == "ON_DEMAND"
    assert inputs["instanceTypes"] == ["m6i.large"]
    assert inputs["updateConfig"] == {"maxUnavailable": 1}
    # The pool's name, not the component's: controllers and workloads select nodes by it.
    assert inputs["labels"] == {"environment": "test", "platform.eks/pool": "batch"}
    assert "taints" not in inputs
    assert group["ignoreChanges"] == ["scalingConfig.desiredSize"]
    assert query.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "node-policy")["urn"] in group["dependencies"]


def test_graviton_nodes_get_the_arm64_ami() -> None:
    (group,) = plan(architecture="arm64").of_type("aws:eks/nodeGroup:NodeGroup")
    assert group["inputs"]["amiType"] == "AL2023_ARM_64_STANDARD"


def test_taints_reach_every_group_in_the_eks_spelling() -> None:
    """The EKS API spells effects NO_SCHEDULE, NO_EXECUTE, PREFER_NO_SCHEDULE (Amazon EKS API Reference, Taint);
    Kubernetes' NoSchedule would be refused. A taint without a value sends none."""
    taints = (Taint("dedicated", "batch", "NoSchedule"), Taint("spot", "", "PreferNoSchedule"))
    groups = plan(per_zone=True, sizes=(0, 0, 3), taints=taints).of_type("aws:eks/nodeGroup:NodeGroup")
    assert len(groups) == 3
    for group in groups:
        assert group["inputs"]["taints"] == [
            {"key": "dedicated", "value": "batch", "effect": "NO_SCHEDULE"},
            {"key": "spot", "effect": "PREFER_NO_SCHEDULE"},
        ]


def test_per_zone_groups_split_the_totals_and_look_alike_to_the_autoscaler() -> None:
    """With balance-similar-node-groups, the autoscaler balances only groups whose nodes carry the same labels
    (besides the zone and EKS' own node group labels, which it ignores on AWS): kubernetes/autoscaler
    cluster-autoscaler/processors/nodegroupset/aws_nodegroups.go. A per-zone name in a label would break it."""
    query = plan(per_zone=True, sizes=(3, 4, 9))
    groups = sorted(query.of_type("aws:eks/nodeGroup:NodeGroup"), key=lambda g: g["name"])
    assert [g["name"] for g in groups] == [f"workers-{zone}-group" for zone in ZONES]
    assert [g["inputs"]["subnetIds"] for g in groups] == [["subnet-private-a"], ["subnet-private-b"], ["subnet-private-c"]]
    assert [g["inputs"]["scalingConfig"] for g in groups] == [
        {"minSize": 1, "desiredSize": 2, "maxSize": 3},
        {"minSize": 1, "desiredSize": 1, "maxSize": 3},
        {"minSize": 1, "desiredSize": 1, "maxSize": 3},
    ]
    assert len({tuple(sorted(g["inputs"]["labels"].items())) for g in groups}) == 1


@pytest.mark.parametrize(
    ("total", "parts", "expected"), [(7, 3, [3, 2, 2]), (3, 3, [1, 1, 1]), (1, 3, [1, 0, 0]), (0, 2, [0, 0])]
)
def test_split_evenly(total: int, parts: int, expected: list[int]) -> None:
    assert split_evenly(total, parts) == expected


def test_launch_template_requires_imdsv2_with_one_hop_and_encrypts_the_root_volume() -> None:
    query = plan()
    template = query.one("aws:ec2/launchTemplate:LaunchTemplate", "workers-lt")
    assert template["inputs"]["metadataOptions"]["httpTokens"] == "required"
    assert template["inputs"]["metadataOptions"]["httpPutResponseHopLimit"] == 1
    (device,) = template["inputs"]["blockDeviceMappings"]
    assert device["deviceName"] == "/dev/xvda"
    assert device["ebs"]["encrypted"] == "true"
    assert device["ebs"]["volumeSize"] == 40
    assert device["ebs"]["volumeType"] == "gp3"
    (group,) = query.of_type("aws:eks/nodeGroup:NodeGroup")
    assert group["inputs"]["launchTemplate"] == {"id": "workers-lt-id", "version": "1"}
    assert template["urn"] in group["dependencies"]


def test_every_group_pins_the_ami_release_it_is_given() -> None:
    """Without releaseVersion EKS takes the newest AMI at creation and never moves it, so a node image security fix
    is invisible and unplanned (aws_eks_node_group release_version). Catches: the pin dropped or not passed on."""
    for group in plan(per_zone=True).of_type("aws:eks/nodeGroup:NodeGroup"):
        assert group["inputs"]["releaseVersion"] == "1.34.9-20260714"


def test_instances_and_root_volumes_carry_the_stack_tags_and_a_name() -> None:
    """The provider's default tags reach only a resource's own `tags`, never a launch template's tag specifications
    (hashicorp/terraform-provider-aws#19387), and EKS copies no node group tag to its instances. Catches: the pool's
    instances and volumes, the largest cost items, tagged with nothing but a Name."""
    template = plan().one("aws:ec2/launchTemplate:LaunchTemplate", "workers-lt")["inputs"]
    specs = {spec["resourceType"]: spec["tags"] for spec in template["tagSpecifications"]}
    assert specs == {kind: {**TAGS, "Name": "demo-workers"} for kind in ("instance", "volume")}


def test_only_an_autoscaled_group_leaves_its_desired_size_to_the_live_value() -> None:
    """With Karpenter nothing resizes the managed system pool: ignoring desiredSize there would freeze the pool at
    its first size, since a later config change would never reach EKS."""

    def groups(autoscaled: bool) -> list[dict]:
        def program() -> None:
            NodeGroup(
                "sys",
                NodeGroupArgs(
                    cluster_name="demo",
                    pool="system",
                    kubernetes_version="1.35",
                    release_version="1.35.6-20260714",
                    node_role_arn="arn:aws:iam::123456789012:role/nodes",
                    dependencies=(),
                    subnets=(("eu-west-1a", "subnet-a"),),
                    instance_types=("m6i.large",),
                    cpu_architecture="x86_64",
                    capacity_type="ON_DEMAND",
                    min_size=2,
                    desired_size=2,
                    max_size=3,
                    disk_size_gib=20,
                    per_zone=False,
                    max_unavailable=1,
                    autoscaled=autoscaled,
                ),
            )

        return run_component(program).of_type("aws:eks/nodeGroup:NodeGroup")

    assert [g["ignoreChanges"] for g in groups(autoscaled=True)] == [["scalingConfig.desiredSize"]]
    assert [g["ignoreChanges"] for g in groups(autoscaled=False)] == [[]]


@pytest.fixture
def aws_emulator(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    yield from emulated_aws(monkeypatch, tmp_path)


# The provider's tri-state strings; "" (unset) sends nothing, and EC2's default applies.
BOOLEANS = {"true": True, "false": False}


def launch_template_data(inputs: dict[str, Any]) -> dict[str, Any]:
    """The template's plan inputs as the EC2 CreateLaunchTemplate request the AWS provider sends."""
    mappings = []
    for device in inputs["blockDeviceMappings"]:
        ebs = device["ebs"]
        request = {"VolumeSize": ebs["volumeSize"], "VolumeType": ebs["volumeType"]}
        for name, key in (("Encrypted", "encrypted"), ("DeleteOnTermination", "deleteOnTermination")):
            if ebs.get(key) in BOOLEANS:
                request[name] = BOOLEANS[ebs[key]]
        mappings.append({"DeviceName": device["deviceName"], "Ebs": request})
    return {
        "BlockDeviceMappings": mappings,
        "TagSpecifications": [
            {"ResourceType": spec["resourceType"], "Tags": [{"Key": k, "Value": v} for k, v in spec["tags"].items()]}
            for spec in inputs["tagSpecifications"]
        ],
    }


def test_a_nodes_root_volume_is_deleted_with_the_node(aws_emulator: Path) -> None:
    """EC2 deletes an instance's EBS volume on termination only if its block device mapping says so
    (DeleteOnTermination, EC2 API Reference LaunchTemplateEbsBlockDeviceRequest); EKS managed node groups terminate
    instances on every scale-in, rolling update (EKS User Guide, managed-node-update-behavior, "Upgrade phase") and
    destroy, and never delete a volume themselves. The template is given to an emulated EC2 (moto), one node is
    launched from it and terminated. Catches: delete_on_termination off, which leaves a paid, encrypted 40 GiB volume
    behind per node ever replaced, outside Pulumi's state."""
    template = plan().one("aws:ec2/launchTemplate:LaunchTemplate", "workers-lt")["inputs"]
    (device,) = template["blockDeviceMappings"]
    assert device["ebs"]["deleteOnTermination"] == "true"

    ec2 = boto3.client("ec2", region_name=REGION)
    created = ec2.create_launch_template(LaunchTemplateName="workers", LaunchTemplateData=launch_template_data(template))
    (node,) = ec2.run_instances(
        LaunchTemplate={"LaunchTemplateId": created["LaunchTemplate"]["LaunchTemplateId"]},
        ImageId="ami-0123456789abcdef0",
        InstanceType="m6i.large",
        MinCount=1,
        MaxCount=1,
    )["Instances"]
    attached = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id", "Values": [node["InstanceId"]]}])["Volumes"]
    (root,) = [v for v in attached if v["Attachments"][0]["Device"] == device["deviceName"]]
    assert (root["Size"], root["Encrypted"]) == (40, True)
    ec2.terminate_instances(InstanceIds=[node["InstanceId"]])
    left = ec2.describe_volumes(Filters=[{"Name": "volume-id", "Values": [root["VolumeId"]]}])["Volumes"]
    assert left == [], f"the terminated node's root volume is left behind: {left}"


def test_nodes_can_read_instance_metadata_with_imdsv2_only_and_one_hop() -> None:
    """With HttpEndpoint disabled "you will not be able to access your instance metadata" (EC2 API Reference,
    LaunchTemplateInstanceMetadataOptionsRequest); the EKS launch template guidance keeps metadata accessible, V2 only,
    hop limit 1 for hosts whose pods use their own roles (EKS User Guide, launch-templates; EKS Best Practices,
    "Restrict access to the instance profile"). On the node, nodeadm reads the instance identity document from IMDS
    before kubelet starts (awslabs/amazon-eks-ami nodeadm/internal/api/status.go, GetInstanceDetails), and the VPC CNI
    and the Pod Identity agent (host network, one hop) read it too. Catches: IMDS switched off (nodes
    never become Ready, the group fails with NodeCreationFailure), IMDSv1 allowed again, or a hop limit of 2 that
    lets every pod borrow the node role."""
    query = plan(per_zone=True)
    options = query.one("aws:ec2/launchTemplate:LaunchTemplate", "workers-lt")["inputs"]["metadataOptions"]
    assert options.get("httpEndpoint") == "enabled", "IMDS off: kubelet, the VPC CNI and the Pod Identity agent fail"
    assert options == {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1}
    # Every group launches from this one template.
    template = query.one("aws:ec2/launchTemplate:LaunchTemplate", "workers-lt")["urn"]
    assert all(template in group["dependencies"] for group in query.of_type("aws:eks/nodeGroup:NodeGroup"))


def test_every_group_rolls_the_pools_max_unavailable_nodes_at_a_time() -> None:
    """EKS replaces a managed node group's nodes updateConfig.maxUnavailable at a time on a version or launch
    template update, one if unset (EKS User Guide, managed-node-update-behavior; API NodegroupUpdateConfig). Catches:
    the pool's maxUnavailable ignored (always 1): a 9-node pool that asked for 3 at a time rolls node by node, three
    times as long, and a pool that asked for 1 cannot be told apart from one that did not."""
    groups = plan(per_zone=True, sizes=(3, 3, 9), max_unavailable=3).of_type("aws:eks/nodeGroup:NodeGroup")
    assert len(groups) == 3
    assert [group["inputs"]["updateConfig"] for group in groups] == [{"maxUnavailable": 3}] * 3


def test_the_stacks_max_unavailable_reaches_the_node_group(fixture_plans: FixturePlans) -> None:
    """The same through the whole program: nodeGroups.<pool>.maxUnavailable in the stack file (docs/configuration.md)
    is what EKS gets. Catches: the setting read but not passed on to the node group."""
    pool = {"instanceTypes": ["t3.medium"], "minSize": 2, "desiredSize": 4, "maxSize": 6, "maxUnavailable": 2}
    query = fixture_plans(nodeGroups={"system": pool})
    (group,) = query.of_type("aws:eks/nodeGroup:NodeGroup")
    assert group["inputs"]["updateConfig"] == {"maxUnavailable": 2}
