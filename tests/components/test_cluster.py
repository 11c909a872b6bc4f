from __future__ import annotations

import json

import pulumi_aws as aws
import pytest

from components.cluster import Cluster, ClusterArgs, principal_key
from components.shared.versions import KUBERNETES_RELEASES
from offline.plan.engine import MOCK_DEPLOYER_ROLE
from tests.conftest import run_component

ADDONS = KUBERNETES_RELEASES["1.35"].addons


def plan(
    production: bool,
    admins: tuple[str, ...] = (),
    public: bool = True,
    partition: str = "aws",
    deployer: str = MOCK_DEPLOYER_ROLE,
    creator: str = "",
    viewers: tuple[str, ...] = (),
):
    def program() -> None:
        role = aws.iam.Role("cluster-role", assume_role_policy="{}")
        attachment = aws.iam.RolePolicyAttachment("cluster-role-policy", role=role.name, policy_arn="arn:aws:iam::aws:policy/X")
        Cluster(
            "cl",
            ClusterArgs(
                cluster_name="demo",
                region="eu-central-1",
                kubernetes_version="1.35",
                support_type="STANDARD",
                partition=partition,
                log_retention_days=30,
                addon_versions=ADDONS,
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
                creator_arn=creator,
                viewer_arns=viewers,
            ),
        )

    return run_component(program, deployer)


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


def test_the_deployers_own_arn_gets_no_access_entry_of_ours() -> None:
    """pulumi-eks creates clusters with bootstrapClusterCreatorAdminPermissions: true, not overridable
    (pulumi/pulumi-eks#2373, nodejs/eks/cluster/cluster.ts accessConfig): EKS then holds an access entry for the
    creator, and CreateAccessEntry for the same principal fails with ResourceInUseException. The mistake this
    catches: listing the CI deploy role in clusterAdminArns (as README asks) breaks the first `pulumi up`."""
    other = "arn:aws:iam::123456789012:role/platform-admin"
    # The deployer listed with a path: still the same principal as the session's issuer.
    deployer_with_path = "arn:aws:iam::123456789012:role/ci/offline-preview"
    query = plan(False, admins=(deployer_with_path, other))
    entries = query.one("eks:index:Cluster", "cl-eks")["inputs"]["accessEntries"]
    principals = sorted(entry["principalArn"] for entry in entries.values())
    assert principals == ["arn:aws:iam::123456789012:role/nodes", other]
    assert any(deployer_with_path in message and "no access entry" in message for message in query.plan["diagnostics"])


def test_an_admin_that_is_not_the_deployer_keeps_its_access_entry() -> None:
    admin = "arn:aws:iam::123456789012:role/offline-preview"
    query = plan(False, admins=(admin,), deployer="arn:aws:iam::123456789012:user/someone-else")
    entries = query.one("eks:index:Cluster", "cl-eks")["inputs"]["accessEntries"]
    assert admin in [entry["principalArn"] for entry in entries.values()]
    assert query.plan["diagnostics"] == []


LAPTOP = "arn:aws:iam::123456789012:user/alice"
CI_ROLE = "arn:aws:iam::123456789012:role/ci/deploy"


def declared(query) -> list[str]:  # type: ignore[no-untyped-def]
    entries = query.one("eks:index:Cluster", "cl-eks")["inputs"]["accessEntries"]
    return sorted(entry["principalArn"] for entry in entries.values())


@pytest.mark.parametrize(
    ("creator", "admins"),
    [
        (LAPTOP, (CI_ROLE,)),  # a laptop created the cluster (make up), CI deploys later as a listed role
        (CI_ROLE, (LAPTOP,)),  # CI created it, a listed person runs `up` from a laptop later
        (LAPTOP, (LAPTOP, CI_ROLE)),  # both listed
    ],
)
def test_the_declared_entries_are_the_same_whoever_runs_up(creator: str, admins: tuple[str, ...]) -> None:
    """EKS gives only the identity that created the cluster an entry of its own (bootstrapClusterCreatorAdminPermissions,
    pulumi/pulumi-eks nodejs/eks/cluster/cluster.ts). With the creator recorded (clusterCreatorArn), every run
    declares the same entries: no listed identity's entry is dropped (and deleted) because it happens to run
    `up`, and the creator never gets a second one. Catches: README's path (laptop first, CI later as a listed role)
    deleting CI's entry on CI's first run, so the next run is Unauthorized."""
    runs = [plan(False, admins=admins, creator=creator, deployer=who) for who in (LAPTOP, CI_ROLE)]
    assert declared(runs[0]) == declared(runs[1])
    listed_others = [arn for arn in admins if principal_key(arn) != principal_key(creator)]
    assert declared(runs[0]) == sorted(["arn:aws:iam::123456789012:role/nodes", *listed_others])


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("arn:aws:iam::1:role/a/b/Name", "arn:aws:iam::1:role/Name", True),
        ("arn:aws:iam::1:role/Name", "arn:aws:iam::2:role/Name", False),
        ("arn:aws:iam::1:role/Name", "arn:aws:iam::1:user/Name", False),
        ("arn:aws:iam::1:role/Name", "arn:aws-cn:iam::1:role/Name", False),
    ],
)
def test_principal_key_ignores_only_the_path(first: str, second: str, same: bool) -> None:
    assert (principal_key(first) == principal_key(second)) is same


def test_stack_owns_the_control_plane_log_group_and_creates_it_before_the_cluster() -> None:
    """EKS writes control plane logs to /aws/eks/<name>/cluster and creates that group itself, with no retention,
    when it is missing; a group EKS created is not deleted with the cluster (EKS User Guide, "Send control plane
    logs to CloudWatch Logs"; terraform-aws-eks creates aws_cloudwatch_log_group before the cluster for this reason).
    The mistake: a log group declared without the cluster depending on it races EKS and loses."""
    query = plan(production=False)
    group = query.one("aws:cloudwatch/logGroup:LogGroup", "cl-control-plane-logs")
    assert group["inputs"]["name"] == "/aws/eks/demo/cluster"
    assert group["inputs"]["retentionInDays"] == 30
    assert group["urn"] in query.one("eks:index:Cluster", "cl-eks")["dependencies"]
    sweeper = query.one("pulumi-python:dynamic/cluster:LogGroupSweeper", "cl-control-plane-logs-sweeper")
    assert sweeper["inputs"]["logGroupName"] == group["inputs"]["name"]
    assert sweeper["urn"] in group["dependencies"]


def test_support_type_and_addon_versions_are_explicit() -> None:
    """pulumi-eks defaults upgradePolicy to EXTENDED (pulumi_eks Cluster docstring: 'Defaults to "EXTENDED"') and
    resolves vpc-cni and kube-proxy to the most recent build on every `up` unless a version is given
    (pulumi/pulumi-eks nodejs/eks/addons/cni-addon.ts, nodejs/eks/cluster/cluster.ts)."""
    cluster = plan(production=False).one("eks:index:Cluster", "cl-eks")["inputs"]
    assert cluster["upgradePolicy"] == {"supportType": "STANDARD"}
    assert cluster["vpcCniOptions"]["addonVersion"] == ADDONS.vpc_cni
    assert cluster["kubeProxyAddonOptions"]["version"] == ADDONS.kube_proxy


def test_access_policy_arn_follows_the_partition() -> None:
    admin = "arn:aws-cn:iam::123456789012:role/platform-admin"
    entries = plan(False, admins=(admin,), partition="aws-cn").one("eks:index:Cluster", "cl-eks")["inputs"]["accessEntries"]
    (entry,) = [e for e in entries.values() if e["principalArn"] == admin]
    assert entry["accessPolicies"]["cluster-admin"]["policyArn"].startswith("arn:aws-cn:eks::aws:cluster-access-policy/")


PREVIEW_ROLE = "arn:aws:iam::123456789012:role/ci-preview"


def test_a_viewer_gets_read_only_access_to_the_whole_cluster_and_nothing_more() -> None:
    """CI's preview role (clusterViewerArns): pulumi-kubernetes previews a Helm release by reading its release Secrets,
    so the policy is AmazonEKSAdminViewPolicy (read of everything, Secrets included; EKS User Guide,
    access-policy-permissions), cluster-wide. Catches: the preview role given cluster-admin (a pull request's code
    could then change the cluster), or AmazonEKSViewPolicy (no Secrets: Helm previews fail Unauthorized)."""
    admin = "arn:aws:iam::123456789012:role/platform-admin"
    entries = plan(False, admins=(admin,), viewers=(PREVIEW_ROLE,)).one("eks:index:Cluster", "cl-eks")["inputs"]["accessEntries"]
    (viewer,) = [entry for key, entry in entries.items() if key.startswith("viewer-")]
    assert viewer["principalArn"] == PREVIEW_ROLE and viewer["type"] == "STANDARD"
    assert viewer["accessPolicies"] == {
        "cluster-view": {
            "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminViewPolicy",
            "accessScope": {"type": "cluster"},
        }
    }
    (admin_entry,) = [entry for key, entry in entries.items() if key.startswith("admin-")]
    assert admin_entry["principalArn"] == admin


def test_the_creator_listed_as_a_viewer_gets_no_second_entry() -> None:
    """EKS made the creator's entry with admin access at creation; declaring another for it would be refused
    (ResourceInUseException) or, on the next run, take its admin access away. Near miss: another viewer keeps its."""
    other = "arn:aws:iam::123456789012:role/auditor"
    entries = plan(False, viewers=(PREVIEW_ROLE, other), creator=PREVIEW_ROLE).one("eks:index:Cluster", "cl-eks")["inputs"]
    viewers = [entry["principalArn"] for key, entry in entries["accessEntries"].items() if key.startswith("viewer-")]
    assert viewers == [other]
