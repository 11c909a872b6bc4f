from __future__ import annotations

import json

from components.pod_identity import PodIdentityRole, PodIdentityRoleArgs
from tests.conftest import run_component


def test_role_trusts_pod_identity_and_is_bound_to_the_service_account() -> None:
    query = run_component(
        lambda: PodIdentityRole(
            "ca",
            PodIdentityRoleArgs(
                cluster_name="demo",
                namespace="kube-system",
                service_account="cluster-autoscaler",
                partition="aws",
                inline_policy=json.dumps({"Version": "2012-10-17", "Statement": []}),
            ),
        )
    )
    role = query.one("aws:iam/role:Role", "ca")
    (statement,) = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert set(statement["Action"]) == {"sts:AssumeRole", "sts:TagSession"}
    association = query.one("aws:eks/podIdentityAssociation:PodIdentityAssociation", "ca-association")
    assert association["inputs"]["namespace"] == "kube-system"
    assert association["inputs"]["serviceAccount"] == "cluster-autoscaler"
    assert association["inputs"]["roleArn"] == "arn:aws:iam::123456789012:role/ca"
    assert role["urn"] in association["dependencies"]
    assert query.one("aws:iam/rolePolicy:RolePolicy", "ca-inline")["inputs"]["role"] == "ca"


def test_addon_bound_role_creates_no_association() -> None:
    query = run_component(
        lambda: PodIdentityRole(
            "ebs",
            PodIdentityRoleArgs(
                cluster_name="demo",
                namespace="kube-system",
                service_account="ebs-csi-controller-sa",
                partition="aws",
                managed_policies=("service-role/AmazonEBSCSIDriverPolicy",),
                create_association=False,
            ),
        )
    )
    assert not query.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    attachment = query.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "ebs-AmazonEBSCSIDriverPolicy")
    assert attachment["inputs"]["policyArn"] == "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
