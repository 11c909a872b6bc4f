from __future__ import annotations

import json

import pulumi_aws as aws

from components.cluster import Cluster, ClusterArgs
from tests.conftest import run_component


def plan(production: bool, admins: tuple[str, ...] = (), public: bool = True):
    def program() -> None:
        role = aws.iam.Role("cluster-role", assume_role_policy="{}")
        attachment = aws.iam.RolePolicyAttachment("cluster-role-policy", role=role.name, policy_arn="arn:aws:iam::aws:policy/X")
        Cluster(
            "cl",
            ClusterArgs(
                cluster_name="demo",
                kubernetes_version="1.35",
                vpc_id="vpc-1",
                public_subnet_ids=["subnet-a", "subnet-b"],
                private_subnet_ids=["subnet-c", "subnet-d"],
                cluster_role=role,
                cluster_role_name=role.name,
                node_role_arn="arn:aws:iam::123456789012:role/nodes",
                role_dependencies=(attachment,),
                admin_arns=admins,
                endpoint_public_access=public,
                public_access_cidrs=("198.51.100.0/24",) if public else (),
                deletion_protection=production,
            ),
        )

    return run_component(program)


def test_cluster_uses_access_entries_private_endpoint_logging_and_kms() -> None:
    query = plan(production=False, admins=("arn:aws:iam::123456789012:role/platform-admin",))
    cluster = query.one("eks:index:Cluster", "cl-eks")["inputs"]
    assert cluster["name"] == "demo"
    assert cluster["version"] == "1.35"
    assert cluster["authenticationMode"] == "API"
    assert cluster["skipDefaultNodeGroup"] is True
    assert cluster["endpointPrivateAccess"] is True
    assert cluster["endpointPublicAccess"] is True
    assert cluster["publicAccessCidrs"] == ["198.51.100.0/24"]
    assert {"api", "audit", "authenticator"} <= set(cluster["enabledClusterLogTypes"])
    assert cluster["encryptionConfigKeyArn"] == "arn:aws:kms:eu-central-1:123456789012:key/cl-secrets"
    assert cluster["nodeAssociatePublicIpAddress"] is False
    assert cluster["deletionProtection"] is False
    entries = cluster["accessEntries"]
    assert entries["nodes"] == {"principalArn": "arn:aws:iam::123456789012:role/nodes", "type": "EC2_LINUX"}
    (admin,) = [entry for key, entry in entries.items() if key.startswith("admin-")]
    assert admin["type"] == "STANDARD"
    assert admin["accessPolicies"]["cluster-admin"]["policyArn"].endswith("AmazonEKSClusterAdminPolicy")
    assert admin["accessPolicies"]["cluster-admin"]["accessScope"] == {"type": "cluster"}
    assert cluster["corednsAddonOptions"]["enabled"] is False
    assert cluster["kubeProxyAddonOptions"]["enabled"] is True


def test_secrets_key_rotates_and_cluster_role_may_use_it() -> None:
    query = plan(production=False)
    key = query.one("aws:kms/key:Key", "cl-secrets")
    assert key["inputs"]["enableKeyRotation"] is True
    grant = query.one("aws:iam/rolePolicy:RolePolicy", "cl-secrets-key-use")
    statement = json.loads(grant["inputs"]["policy"])["Statement"][0]
    assert statement["Resource"] == "arn:aws:kms:eu-central-1:123456789012:key/cl-secrets"
    assert "kms:Encrypt" in statement["Action"]
    assert grant["inputs"]["role"] == "cluster-role"
    cluster = query.one("eks:index:Cluster", "cl-eks")
    assert grant["urn"] in cluster["dependencies"]


def test_production_turns_on_deletion_protection_and_protect() -> None:
    query = plan(production=True)
    cluster = query.one("eks:index:Cluster", "cl-eks")
    assert cluster["inputs"]["deletionProtection"] is True
    assert cluster["protect"] is True
    assert query.one("aws:kms/key:Key", "cl-secrets")["inputs"]["deletionWindowInDays"] == 30


def test_private_only_endpoint_sends_no_allow_list() -> None:
    cluster = plan(production=False, public=False).one("eks:index:Cluster", "cl-eks")["inputs"]
    assert cluster["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in cluster


def test_cluster_waits_for_its_role_policies_so_destroy_detaches_them_last() -> None:
    query = plan(production=False)
    attachment = query.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "cluster-role-policy")
    assert attachment["urn"] in query.one("eks:index:Cluster", "cl-eks")["dependencies"]


def test_admin_access_entries_do_not_move_when_the_list_is_reordered() -> None:
    first, second = "arn:aws:iam::123456789012:role/a", "arn:aws:iam::123456789012:role/b"
    keys = [
        {
            k: v["principalArn"]
            for k, v in plan(False, admins).one("eks:index:Cluster", "cl-eks")["inputs"]["accessEntries"].items()
        }
        for admins in ((first, second), (second, first))
    ]
    assert keys[0] == keys[1]
    assert sorted(keys[0].values()) == sorted([first, second, "arn:aws:iam::123456789012:role/nodes"])
