from __future__ import annotations

import json

import pulumi_aws as aws

from components.cluster_addons import ClusterAddons, ClusterAddonsArgs
from components.shared.versions import KUBERNETES_RELEASES
from tests.conftest import run_component

ADDONS = KUBERNETES_RELEASES["1.34"].addons


def plan():
    def program() -> None:
        nodes = aws.ec2.LaunchTemplate("stand-in-for-nodes")
        ClusterAddons(
            "addons",
            ClusterAddonsArgs(
                cluster_name="demo", partition="aws", addon_versions=ADDONS, system_pool="system", node_dependencies=(nodes,)
            ),
        )

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
    policy = query.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "addons-ebs-csi-AmazonEBSCSIDriverPolicyV2")
    assert policy["inputs"]["policyArn"].endswith("service-role/AmazonEBSCSIDriverPolicyV2")


def test_every_addon_is_pinned_to_the_row_of_its_kubernetes_minor() -> None:
    """An aws.eks.Addon without addon_version gets the default build of the day it was created and stays there
    (EKS User Guide, "Update an Amazon EKS add-on"); the version must come from the per-minor table."""
    versions = {a["inputs"]["addonName"]: a["inputs"]["addonVersion"] for a in plan().of_type("aws:eks/addon:Addon")}
    assert versions == {
        "eks-pod-identity-agent": ADDONS.pod_identity_agent,
        "coredns": ADDONS.coredns,
        "aws-ebs-csi-driver": ADDONS.ebs_csi_driver,
    }


def test_coredns_runs_on_the_system_pool_only() -> None:
    """DNS on nodes Karpenter may consolidate or Spot may take back would drop name resolution for a while; the
    add-on's affinity keeps it on the managed system pool (AWS Containers blog, "Amazon EKS add-ons: advanced
    configuration"). The mistake: CoreDNS scheduled anywhere once workload pools exist."""
    coredns = plan().one("aws:eks/addon:Addon", "addons-coredns")
    affinity = json.loads(coredns["inputs"]["configurationValues"])["affinity"]
    (term,) = affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert term == {"matchExpressions": [{"key": "platform.eks/pool", "operator": "In", "values": ["system"]}]}


def test_coredns_replicas_keep_an_anti_affinity_to_each_other() -> None:
    """The add-on's `affinity` setting replaces the Deployment's whole affinity, so setting the node affinity alone
    drops the default anti-affinity (kubernetes/kubernetes cluster/addons/dns/coredns/coredns.yaml.base: preferred,
    weight 100, k8s-app=kube-dns per hostname) and both replicas may land on one node, which then takes DNS down
    with it. Catches: the anti-affinity left out, made required (a one-node pool would leave a replica Pending),
    or aimed at labels the CoreDNS pods do not carry."""
    coredns = plan().one("aws:eks/addon:Addon", "addons-coredns")
    anti = json.loads(coredns["inputs"]["configurationValues"])["affinity"]["podAntiAffinity"]
    assert set(anti) == {"preferredDuringSchedulingIgnoredDuringExecution"}
    (preference,) = anti["preferredDuringSchedulingIgnoredDuringExecution"]
    term = preference["podAffinityTerm"]
    assert term["topologyKey"] == "kubernetes.io/hostname" and preference["weight"] == 100
    assert term["labelSelector"] == {"matchExpressions": [{"key": "k8s-app", "operator": "In", "values": ["kube-dns"]}]}
