"""EKS managed add-ons that need worker nodes: Pod Identity agent, CoreDNS and the EBS CSI driver."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.pod_identity import PodIdentityRole, PodIdentityRoleArgs
from components.shared.node_pools import POOL_LABEL
from components.shared.versions import AddonVersions

EBS_CSI_SERVICE_ACCOUNT = "ebs-csi-controller-sa"


def on_pool(pool: str) -> dict[str, Any]:
    """Required node affinity to one pool, in the shape the CoreDNS add-on's `affinity` setting takes (AWS
    Containers blog, "Amazon EKS add-ons: advanced configuration": CoreDNS accepts affinity, nodeSelector and
    tolerations)."""
    term = {"matchExpressions": [{"key": POOL_LABEL, "operator": "In", "values": [pool]}]}
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}}


# The add-on's `affinity` setting replaces the Deployment's whole affinity, its default anti-affinity included: set
# again here, as Kubernetes' own CoreDNS manifest has it (kubernetes/kubernetes cluster/addons/dns/coredns/
# coredns.yaml.base: preferred, weight 100, k8s-app=kube-dns per hostname), so the two replicas avoid sharing a node.
# Preferred, not required: a one-node system pool (dev's minimum) still runs both.
COREDNS_ANTI_AFFINITY: dict[str, Any] = {
    "preferredDuringSchedulingIgnoredDuringExecution": [
        {
            "weight": 100,
            "podAffinityTerm": {
                "labelSelector": {"matchExpressions": [{"key": "k8s-app", "operator": "In", "values": ["kube-dns"]}]},
                "topologyKey": "kubernetes.io/hostname",
            },
        }
    ]
}


def coredns_configuration(pool: str) -> str:
    """The CoreDNS add-on's configuration values: on the pool, replicas spread over nodes."""
    return json.dumps({"affinity": {**on_pool(pool), "podAntiAffinity": COREDNS_ANTI_AFFINITY}})


@dataclass(frozen=True)
class ClusterAddonsArgs:
    cluster_name: pulumi.Input[str]
    partition: str
    addon_versions: AddonVersions
    # The managed pool that carries add-ons and controllers: DNS must not run on nodes Karpenter may consolidate.
    system_pool: str
    # Add-ons whose pods run on nodes report healthy only once nodes exist; they wait for these.
    node_dependencies: tuple[pulumi.Resource, ...]


class ClusterAddons(pulumi.ComponentResource):
    pod_identity_agent: aws.eks.Addon
    coredns: aws.eks.Addon
    ebs_csi_driver: aws.eks.Addon
    ebs_csi_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ClusterAddonsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-platform:cluster:ClusterAddons", name, None, opts)
        after_nodes = pulumi.ResourceOptions(parent=self, depends_on=list(args.node_dependencies))

        self.pod_identity_agent = self._addon(
            f"{name}-pod-identity-agent",
            args.cluster_name,
            "eks-pod-identity-agent",
            args.addon_versions.pod_identity_agent,
            after_nodes,
        )
        self.coredns = self._addon(
            f"{name}-coredns",
            args.cluster_name,
            "coredns",
            args.addon_versions.coredns,
            after_nodes,
            configuration_values=coredns_configuration(args.system_pool),
        )

        ebs_csi_role = PodIdentityRole(
            f"{name}-ebs-csi",
            PodIdentityRoleArgs(
                cluster_name=args.cluster_name,
                namespace="kube-system",
                service_account=EBS_CSI_SERVICE_ACCOUNT,
                partition=args.partition,
                # kubernetes-sigs/aws-ebs-csi-driver v1.63.1 docs/install.md: V2 scopes the driver to volumes and
                # snapshots tagged ebs.csi.aws.com/cluster=true, which the driver puts on every volume it provisions.
                managed_policies=("service-role/AmazonEBSCSIDriverPolicyV2",),
                create_association=False,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.ebs_csi_driver = self._addon(
            f"{name}-ebs-csi-driver",
            args.cluster_name,
            "aws-ebs-csi-driver",
            args.addon_versions.ebs_csi_driver,
            # The driver keeps its role (and the role its policy) until it is gone: it deletes volumes with it.
            pulumi.ResourceOptions(parent=self, depends_on=[*args.node_dependencies, self.pod_identity_agent, ebs_csi_role]),
            pod_identity_associations=[
                aws.eks.AddonPodIdentityAssociationArgs(role_arn=ebs_csi_role.role_arn, service_account=EBS_CSI_SERVICE_ACCOUNT)
            ],
        )

        self.ebs_csi_role_arn = ebs_csi_role.role_arn
        self.register_outputs(
            {
                "addons": [self.pod_identity_agent.addon_name, self.coredns.addon_name, self.ebs_csi_driver.addon_name],
                "ebsCsiRoleArn": self.ebs_csi_role_arn,
            }
        )

    @staticmethod
    def _addon(
        resource_name: str,
        cluster_name: pulumi.Input[str],
        addon_name: str,
        addon_version: str,
        opts: pulumi.ResourceOptions,
        pod_identity_associations: list[aws.eks.AddonPodIdentityAssociationArgs] | None = None,
        configuration_values: str | None = None,
    ) -> aws.eks.Addon:
        return aws.eks.Addon(
            resource_name,
            cluster_name=cluster_name,
            addon_name=addon_name,
            addon_version=addon_version,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            pod_identity_associations=pod_identity_associations,
            configuration_values=configuration_values,
            opts=opts,
        )
