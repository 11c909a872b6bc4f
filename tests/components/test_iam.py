from __future__ import annotations

import json

from components.iam import ClusterIam, ClusterIamArgs
from tests.conftest import run_component


def plan(partition: str = "aws"):
    return run_component(lambda: ClusterIam("iam", ClusterIamArgs(cluster_name="demo", partition=partition)))


def trust(role: dict) -> dict:
    return json.loads(role["inputs"]["assumeRolePolicy"])


def attached(query, role_name: str) -> set[str]:
    return {
        a["inputs"]["policyArn"].rsplit("/", 1)[-1]
        for a in query.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a["inputs"].get("role") == role_name
    }


def test_cluster_role_trusts_only_eks_and_has_cluster_policy() -> None:
    query = plan()
    role = query.one("aws:iam/role:Role", "iam-cluster")
    (statement,) = trust(role)["Statement"]
    assert statement["Principal"] == {"Service": "eks.amazonaws.com"}
    assert attached(query, "iam-cluster") == {"AmazonEKSClusterPolicy"}


def test_node_role_trusts_ec2_and_has_exactly_the_node_policies() -> None:
    query = plan()
    role = query.one("aws:iam/role:Role", "iam-node")
    (statement,) = trust(role)["Statement"]
    assert statement["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert statement["Action"] == ["sts:AssumeRole"]
    assert attached(query, "iam-node") == {
        "AmazonEKSWorkerNodePolicy",
        "AmazonEKS_CNI_Policy",
        "AmazonEC2ContainerRegistryPullOnly",
        "AmazonSSMManagedInstanceCore",
    }


def test_attachments_depend_on_their_role_and_children_are_parented() -> None:
    query = plan()
    component = query.one("eks-platform:iam:ClusterIam", "iam")
    role = query.one("aws:iam/role:Role", "iam-node")
    for attachment in query.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        assert attachment["parent"] == component["urn"]
        assert attachment["name"].startswith("iam-")
        if attachment["inputs"]["role"] == "iam-node":
            assert role["urn"] in attachment["dependencies"]


def test_managed_policy_arns_follow_the_partition() -> None:
    arns = [a["inputs"]["policyArn"] for a in plan("aws-us-gov").of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")]
    assert arns and all(arn.startswith("arn:aws-us-gov:iam::aws:policy/") for arn in arns)
