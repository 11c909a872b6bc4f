"""Upstream contracts the mock engine cannot see, checked over every shipped stack's plan.

Each test names, in its docstring, the external rule (with the source it was read from) and the realistic
mistake it catches. The mock accepts anything: these rules are what a first `pulumi up`, an upgrade or a
`pulumi destroy` against AWS would enforce.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from components.shared.versions import KUBERNETES_RELEASES
from components.volume_release_gate import CLUSTER_TAG
from offline.analyses.lifecycle import check_needs
from offline.plan.build import build_plan
from offline.plan.engine import MOCK_DEPLOYER_ROLE
from offline.plan.query import PlanQuery
from offline.plan.stack_files import PROJECT_DIR, stack_config
from settings import PROJECT, partition_of
from tests.conftest import STACKS, stack_plan

# Every stack file, with each ingress controller: a new stack is held to the same contracts.
VARIANTS = [(stack, controller) for stack in STACKS for controller in ("", "ingress-nginx")]
# kubernetes-sigs/aws-ebs-csi-driver pkg/driver/validation.go (validateExtraTags) refuses these keys and prefixes;
# EC2 refuses `aws:` itself (Amazon EC2 User Guide, "Tag restrictions").
RESERVED_TAG_KEYS = ("CSIVolumeName", "CSIVolumeSnapshotName", "ebs.csi.aws.com/cluster-name")
RESERVED_TAG_PREFIXES = ("kubernetes.io", "ebs.csi.aws.com/", "aws:")


def config(stack: str, key: str) -> str:
    return stack_config(PROJECT_DIR, stack)[f"{PROJECT}:{key}"]


def needs_hold(query: PlanQuery, need: str) -> list[str]:
    checks = [c for c in check_needs(query) if c.need == need]
    assert checks, f"nothing to check for {need}"
    return [f"{c.consumer} does not wait for {c.provider}" for c in checks if not c.holds]


@pytest.mark.parametrize(("stack", "controller"), VARIANTS)
def test_1_storage_class_tags_use_no_key_the_ebs_csi_driver_refuses(stack: str, controller: str) -> None:
    """The driver refuses tagSpecification keys with the prefixes `kubernetes.io` and `ebs.csi.aws.com/` and the
    keys CSIVolumeName, CSIVolumeSnapshotName, ebs.csi.aws.com/cluster-name (kubernetes-sigs/aws-ebs-csi-driver,
    pkg/driver/validation.go); EC2 refuses `aws:`. Mistake: tagging volumes `kubernetes.io/cluster/<name>=owned`,
    so ebs-pvc stays Pending and pv-demo's await times out. The release gate must filter on the same tag (it exists
    with the demo claim, so the demos are on here)."""
    query = stack_plan(stack, controller, demo_workloads=True)
    for storage_class in query.of_type("kubernetes:storage.k8s.io/v1:StorageClass"):
        tags = [v for k, v in storage_class["inputs"]["parameters"].items() if k.startswith("tagSpecification")]
        assert tags, "the release gate finds volumes by this class's tag"
        for tag in tags:
            key, _, value = tag.partition("=")
            assert value and key not in RESERVED_TAG_KEYS and not key.startswith(RESERVED_TAG_PREFIXES), tag
    (gate,) = query.of_type("pulumi-python:dynamic/storage:VolumeReleaseGate")
    assert f"{CLUSTER_TAG}={gate['inputs']['clusterName']}" in tags


@pytest.mark.parametrize("stack", STACKS)
def test_2_what_runs_on_nodes_outlives_the_routes_that_give_it_egress(stack: str) -> None:
    """Nodes in private subnets reach EKS, ECR and EC2 only through their NAT route (EKS User Guide, "View Amazon
    EKS networking requirements for VPC and subnets"); on destroy the EBS CSI controller on them deletes volumes
    through it. Mistake: node groups depending on the subnets only, so destroy removes the route associations
    first, the volume gate times out and a paid volume stays."""
    query = stack_plan(stack)
    assert needs_hold(query, "node-egress") == []
    assert needs_hold(query, "workloads-egress") == []
    assert needs_hold(query, "nat-internet-route") == []


@pytest.mark.parametrize("listed", [True, False], ids=["deployer-listed", "deployer-not-listed"])
def test_3_the_identity_running_pulumi_gets_no_second_access_entry(listed: bool) -> None:
    """pulumi-eks creates the cluster with bootstrapClusterCreatorAdminPermissions: true, not overridable
    (pulumi/pulumi-eks#2373; nodejs/eks/cluster/cluster.ts), so EKS already holds an access entry for the
    creator and CreateAccessEntry for it fails with ResourceInUseException. Mistake: listing the CI deploy role
    in clusterAdminArns, as README asks, breaks the first `up`. Both cases: listed (left out, said so) and not."""
    admins = [MOCK_DEPLOYER_ROLE] if listed else []
    admins.append("arn:aws:iam::123456789012:role/platform-admin")
    plan = build_plan("dev", overrides={f"{PROJECT}:clusterAdminArns": json.dumps(admins)}).to_json()
    entries = PlanQuery(plan).one("eks:index:Cluster", "cluster-eks")["inputs"]["accessEntries"]
    principals = {entry["principalArn"] for entry in entries.values()}
    assert MOCK_DEPLOYER_ROLE not in principals
    assert "arn:aws:iam::123456789012:role/platform-admin" in principals
    said = [message for message in plan["diagnostics"] if MOCK_DEPLOYER_ROLE in message]
    assert bool(said) is listed


@pytest.mark.parametrize("stack", STACKS)
def test_4_the_stack_owns_the_control_plane_log_group(stack: str) -> None:
    """With control plane logs on, EKS writes to /aws/eks/<cluster>/cluster and creates it itself, without
    retention, when missing; it is not deleted with the cluster (EKS User Guide, "Send control plane logs to
    CloudWatch Logs"). Mistake: no log group of ours, or one the cluster does not wait for (EKS wins the race,
    `up` fails on AlreadyExists, and the group outlives `destroy`)."""
    query = stack_plan(stack)
    cluster = query.one("eks:index:Cluster", "cluster-eks")
    (group,) = query.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert cluster["inputs"]["enabledClusterLogTypes"]
    assert group["inputs"]["name"] == f"/aws/eks/{cluster['inputs']['name']}/cluster"
    assert group["inputs"]["retentionInDays"] == int(config(stack, "controlPlaneLogRetentionDays"))
    assert needs_hold(query, "control-plane-log-group") == []


@pytest.mark.parametrize(("stack", "controller"), VARIANTS)
def test_5_the_owner_of_an_internet_facing_load_balancer_goes_before_the_internet_gateway(stack: str, controller: str) -> None:
    """An internet-facing NLB holds public addresses; DetachInternetGateway fails with DependencyViolation while
    any are mapped (Amazon EC2 API Reference, DetachInternetGateway). Mistake: the gateway and public routes
    depending on the VPC only, so destroy may detach them while the ingress release still holds the NLB."""
    assert needs_hold(stack_plan(stack, controller), "public-addresses") == []


@pytest.mark.parametrize("stack", STACKS)
def test_6_node_groups_follow_the_control_plane_version(stack: str) -> None:
    """With a launch template of our own, pulumi-eks sets no node group version (it defaults it only without a
    launch template: pulumi/pulumi-eks nodejs/eks/nodegroup.ts), and EKS' aws_eks_node_group `version` defaults
    to the cluster's only on create (Terraform AWS provider docs, eks_node_group). Mistake: a kubernetesVersion
    bump upgrades the control plane and leaves the nodes behind. The template must carry no AMI (a custom AMI
    and `version` cannot go together)."""
    query = stack_plan(stack)
    version = query.one("eks:index:Cluster", "cluster-eks")["inputs"]["version"]
    groups = query.of_type("aws:eks/nodeGroup:NodeGroup")
    assert groups and all(g["inputs"]["version"] == version for g in groups)
    for template in query.of_type("aws:ec2/launchTemplate:LaunchTemplate"):
        assert "imageId" not in template["inputs"]


@pytest.mark.parametrize("stack", STACKS)
def test_7_every_addon_is_pinned_to_its_minors_row(stack: str) -> None:
    """aws.eks.Addon without addon_version stays at its install-day default; pulumi-eks resolves vpc-cni,
    kube-proxy and CoreDNS to the most recent build on every `up` unless a version is given (pulumi/pulumi-eks
    nodejs/eks/addons/cni-addon.ts, nodejs/eks/cluster/cluster.ts: getAddonVersionOutput(mostRecent: true)).
    Mistake: any add-on left to drift, or a row of another minor."""
    query = stack_plan(stack)
    cluster = query.one("eks:index:Cluster", "cluster-eks")["inputs"]
    addons = KUBERNETES_RELEASES[cluster["version"]].addons
    assert cluster["vpcCniOptions"]["addonVersion"] == addons.vpc_cni
    assert cluster["kubeProxyAddonOptions"]["version"] == addons.kube_proxy
    pinned = {a["inputs"]["addonName"]: a["inputs"].get("addonVersion") for a in query.of_type("aws:eks/addon:Addon")}
    assert pinned == {
        "coredns": addons.coredns,
        "aws-ebs-csi-driver": addons.ebs_csi_driver,
        "eks-pod-identity-agent": addons.pod_identity_agent,
    }


@pytest.mark.parametrize("stack", STACKS)
def test_8_the_support_type_is_chosen_not_defaulted(stack: str) -> None:
    """pulumi-eks defaults upgradePolicy.supportType to EXTENDED (pulumi_eks.Cluster docstring), billed per
    cluster-hour once standard support ends (Amazon EKS pricing). Mistake: leaving it unset."""
    cluster = stack_plan(stack).one("eks:index:Cluster", "cluster-eks")["inputs"]
    assert cluster["upgradePolicy"] == {"supportType": config(stack, "kubernetesSupportType")}


def pod_specs(query: PlanQuery) -> list[dict[str, Any]]:
    return [d["inputs"]["spec"]["template"]["spec"] for d in query.of_type("kubernetes:apps/v1:Deployment")]


def release_values(query: PlanQuery, name: str) -> dict[str, Any] | None:
    """A Helm release's values, or None when the stack has no such release (the cluster autoscaler with Karpenter)."""
    found = [r for r in query.of_type("kubernetes:helm.sh/v3:Release") if r["name"] == name]
    return found[0]["inputs"]["values"] if found else None


@pytest.mark.parametrize("stack", STACKS)
def test_9_nodes_running_emptydir_pods_can_scale_down(stack: str) -> None:
    """The cluster autoscaler keeps nodes whose pods use local storage (emptyDir) unless
    --skip-nodes-with-local-storage=false (kubernetes/autoscaler cluster-autoscaler/FAQ.md, "What types of pods
    can prevent CA from removing a node?"). Mistake: the default, with emptyDir in every demo pod."""
    query = stack_plan(stack, demo_workloads=True)
    assert any("emptyDir" in volume for spec in pod_specs(query) for volume in spec.get("volumes", []))
    values = release_values(query, "autoscaler-release")
    if config(stack, "autoscaler") == "karpenter":
        assert values is None  # Karpenter decides what to remove; the flag is the cluster autoscaler's
        return
    assert values is not None and values["extraArgs"]["skip-nodes-with-local-storage"] is False


@pytest.mark.parametrize("stack", STACKS)
def test_10_a_hard_zone_spread_is_served_by_one_node_group_per_zone(stack: str) -> None:
    """One node group spanning several zones cannot be scaled into a chosen zone, so a pod held Pending by a
    DoNotSchedule zone spread (or a zonal EBS volume) may never get a node; the AWS guidance is one node group
    per zone with --balance-similar-node-groups (kubernetes/autoscaler cluster-autoscaler/cloudprovider/aws/
    README.md, "Common Notes and Gotchas"; FAQ.md on balancing). Mistake: prod's spread over one multi-zone group."""
    query = stack_plan(stack)
    release = query.one("kubernetes:helm.sh/v3:Release", "ingress-release")["inputs"]["values"]["controller"]
    hard_spread = any(c["whenUnsatisfiable"] == "DoNotSchedule" for c in release.get("topologySpreadConstraints", []))
    groups = [g for g in query.of_type("aws:eks/nodeGroup:NodeGroup") if g["name"].startswith("nodes-system")]
    zonal = all(len(g["inputs"]["subnetIds"]) == 1 for g in groups)
    assert zonal or not hard_spread, "a DoNotSchedule zone spread needs one node group per zone"
    # Guards the branch below: prod spreads its ingress hard over zones, so the branch runs for it.
    assert hard_spread == (config(stack, "environment") == "prod")
    if hard_spread:
        private = {
            f"{s['name']}-id" for s in query.of_type("aws:ec2/subnet:Subnet") if "internal-elb" in str(s["inputs"]["tags"])
        }
        assert {g["inputs"]["subnetIds"][0] for g in groups} == private
        assert all(g["inputs"]["scalingConfig"]["minSize"] >= 1 for g in groups), "every zone keeps a node for the spread"
        values = release_values(query, "autoscaler-release")
        assert values is None or values["extraArgs"]["balance-similar-node-groups"] is True
        assert len({json.dumps(g["inputs"]["labels"], sort_keys=True) for g in groups}) == 1


ARN = re.compile(r"arn:([a-z-]+):")


@pytest.mark.parametrize("region", ["eu-central-1", "cn-north-1", "us-gov-west-1"])
def test_11_every_arn_carries_the_regions_partition(region: str) -> None:
    """ARNs are partition-scoped: arn:aws-cn:... in China, arn:aws-us-gov:... in GovCloud (AWS General Reference,
    "Amazon Resource Names"); an arn:aws: policy or access-policy ARN there fails with an invalid-ARN error.
    Mistake: hard-coded `arn:aws:` in policy documents, managed policy attachments or access policies."""
    zones = json.dumps([f"{region}a", f"{region}b", f"{region}c"])
    plan = build_plan("dev", overrides={f"{PROJECT}:region": region, f"{PROJECT}:availabilityZones": zones}).to_json()
    partitions = {match for resource in plan["resources"] for match in ARN.findall(json.dumps(resource["inputs"]))}
    assert partitions == {partition_of(region)}


@pytest.mark.parametrize("stack", STACKS)
def test_12_pods_that_call_aws_get_credentials_and_region_without_the_node(stack: str) -> None:
    """With an IMDS hop limit of 1 (AWS EKS Best Practices, "Restrict access to the instance profile assigned to
    the worker node"; terraform-aws-eks v21 default), only host-network pods reach IMDS. The EBS CSI controller
    and the cluster autoscaler then need Pod Identity for credentials and an explicit region (the autoscaler never
    reads it from IMDS: kubernetes/autoscaler cloudprovider/aws/README.md). Mistake: hop limit 1 with a pod left
    on the node role."""
    query = stack_plan(stack)
    for template in query.of_type("aws:ec2/launchTemplate:LaunchTemplate"):
        assert template["inputs"]["metadataOptions"] == {**template["inputs"]["metadataOptions"], "httpPutResponseHopLimit": 1}
    assert needs_hold(query, "pod-identity-credentials") == []
    (driver,) = [a for a in query.of_type("aws:eks/addon:Addon") if a["inputs"]["addonName"] == "aws-ebs-csi-driver"]
    assert driver["inputs"]["podIdentityAssociations"]
    autoscaler = release_values(query, "autoscaler-release")
    karpenter = release_values(query, "karpenter-release")
    if autoscaler is not None:
        assert autoscaler["awsRegion"] == config(stack, "region")
    else:
        # Karpenter exits without a region it cannot read from IMDS (aws/karpenter-provider-aws pkg/operator/operator.go).
        assert karpenter is not None
        assert {"name": "AWS_REGION", "value": config(stack, "region")} in karpenter["controller"]["env"]
