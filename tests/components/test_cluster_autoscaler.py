from __future__ import annotations

import json

import pulumi_aws as aws
import pytest

from components.cluster_autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from tests.conftest import run_component


def plan(version: str = "1.35", region: str = "eu-west-1", partition: str = "aws"):
    def program() -> None:
        nodes = aws.ec2.LaunchTemplate("nodes")
        ClusterAutoscaler(
            "ca",
            ClusterAutoscalerArgs(
                cluster_name="demo",
                region=region,
                partition=partition,
                kubernetes_version=version,
                cluster_dependencies=(nodes,),
            ),
        )

    return run_component(program)


@pytest.mark.parametrize(
    ("version", "chart", "tag"),
    [("1.33", "9.51.0", "v1.33.5"), ("1.34", "9.53.0", "v1.34.4"), ("1.35", "9.54.0", "v1.35.1"), ("1.36", "9.54.0", "v1.36.1")],
)
def test_chart_and_image_match_the_kubernetes_minor(version: str, chart: str, tag: str) -> None:
    inputs = plan(version).one("kubernetes:helm.sh/v3:Release", "ca-release")["inputs"]
    assert inputs["version"] == chart
    assert inputs["values"]["image"]["tag"] == tag


def test_discovers_this_cluster_with_a_pod_identity_service_account() -> None:
    query = plan()
    release = query.one("kubernetes:helm.sh/v3:Release", "ca-release")
    values = release["inputs"]["values"]
    assert values["autoDiscovery"] == {"clusterName": "demo"}
    assert values["awsRegion"] == "eu-west-1"
    assert values["rbac"]["serviceAccount"]["name"] == "cluster-autoscaler"
    association = query.one("aws:eks/podIdentityAssociation:PodIdentityAssociation", "ca-role-association")
    assert association["inputs"]["serviceAccount"] == "cluster-autoscaler"
    assert association["inputs"]["namespace"] == "kube-system"
    assert association["urn"] in release["dependencies"]


def test_write_actions_are_limited_to_this_clusters_auto_scaling_groups() -> None:
    policy = json.loads(plan().one("aws:iam/rolePolicy:RolePolicy", "ca-role-inline")["inputs"]["policy"])
    writes = [s for s in policy["Statement"] if "autoscaling:SetDesiredCapacity" in s["Action"]]
    (write,) = writes
    assert write["Condition"] == {"StringEquals": {"aws:ResourceTag/k8s.io/cluster-autoscaler/demo": "owned"}}
    assert write["Resource"] != "*"
    for statement in policy["Statement"]:
        if statement["Resource"] == "*":
            assert all(":Describe" in action or ":Get" in action for action in statement["Action"])


def test_nodes_with_emptydir_pods_can_still_be_scaled_down() -> None:
    """The autoscaler skips nodes whose pods use local storage (emptyDir) unless told otherwise.

    Source: kubernetes/autoscaler cluster-autoscaler/FAQ.md ("What types of pods can prevent CA from removing a
    node?": pods with local storage, unless --skip-nodes-with-local-storage=false). Every demo pod and
    metrics-server mount an emptyDir, so with the default the nodes would never scale down.
    """
    extra_args = plan().one("kubernetes:helm.sh/v3:Release", "ca-release")["inputs"]["values"]["extraArgs"]
    assert extra_args["skip-nodes-with-local-storage"] is False
    assert extra_args["balance-similar-node-groups"] is True


def test_policy_arns_follow_the_regions_partition() -> None:
    policy = json.loads(
        plan(region="cn-north-1", partition="aws-cn").one("aws:iam/rolePolicy:RolePolicy", "ca-role-inline")["inputs"]["policy"]
    )
    scoped = [s["Resource"] for s in policy["Statement"] if s["Resource"] != "*"]
    assert scoped and all(arn.startswith("arn:aws-cn:") for arn in scoped)
