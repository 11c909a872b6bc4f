from __future__ import annotations

import pulumi_aws as aws

from components.cluster_addons import ClusterAddons, ClusterAddonsArgs
from tests.conftest import run_component


def plan():
    def program() -> None:
        nodes = aws.ec2.LaunchTemplate("stand-in-for-nodes")
        ClusterAddons("addons", ClusterAddonsArgs(cluster_name="demo", node_dependencies=(nodes,)))

    return run_component(program)


def test_addons_are_installed_after_the_nodes() -> None:
    query = plan()
    nodes = query.one("aws:ec2/launchTemplate:LaunchTemplate", "stand-in-for-nodes")
    names = {}
    for addon in query.of_type("aws:eks/addon:Addon"):
        names[addon["inputs"]["addonName"]] = addon
        assert nodes["urn"] in addon["dependencies"]
        assert addon["inputs"]["clusterName"] == "demo"
    assert set(names) == {"eks-pod-identity-agent", "coredns", "aws-ebs-csi-driver"}


def test_ebs_csi_driver_gets_its_role_through_pod_identity() -> None:
    query = plan()
    driver = query.one("aws:eks/addon:Addon", "addons-ebs-csi-driver")
    (association,) = driver["inputs"]["podIdentityAssociations"]
    assert association == {"serviceAccount": "ebs-csi-controller-sa", "roleArn": "arn:aws:iam::123456789012:role/addons-ebs-csi"}
    agent = query.one("aws:eks/addon:Addon", "addons-pod-identity-agent")
    assert agent["urn"] in driver["dependencies"]
    policy = query.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "addons-ebs-csi-AmazonEBSCSIDriverPolicy")
    assert policy["inputs"]["policyArn"].endswith("service-role/AmazonEBSCSIDriverPolicy")
