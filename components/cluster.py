"""The EKS control plane (the seed's create_cluster + aws-auth), with access entries instead of aws-auth."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks

from components.log_group_sweeper import LogGroupSweeper, LogGroupSweeperArgs
from components.shared.versions import AddonVersions

CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")


def cluster_admin_policy_arn(partition: str) -> str:
    return f"arn:{partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


def cluster_viewer_policy_arn(partition: str) -> str:
    # Read of every object, Secrets included (EKS User Guide, access-policy-permissions: AmazonEKSAdminViewPolicy):
    # pulumi-kubernetes reads a Helm release's state from its Secrets to preview it.
    return f"arn:{partition}:eks::aws:cluster-access-policy/AmazonEKSAdminViewPolicy"


def control_plane_log_group_name(cluster_name: str) -> str:
    # The name EKS writes control plane logs to (and creates, without retention, if it does not exist).
    return f"/aws/eks/{cluster_name}/cluster"


def principal_key(arn: str) -> tuple[str, ...]:
    """An IAM role or user ARN without its path: `role/a/b/Name` and `role/Name` are the same principal."""
    prefix, _, resource = arn.partition(":iam::")
    account, _, path = resource.partition(":")
    kind, _, name = path.partition("/")
    return (prefix, account, kind, name.rsplit("/", 1)[-1])


def issuer_of_caller(opts: pulumi.InvokeOptions) -> str:
    """The IAM role (or user) behind the credentials running Pulumi: the identity EKS makes the cluster's creator."""
    caller = aws.get_caller_identity(opts=opts)
    return aws.iam.get_session_context(arn=caller.arn, opts=opts).issuer_arn


@dataclass(frozen=True)
class ClusterArgs:
    cluster_name: str
    region: str
    kubernetes_version: str
    # STANDARD or EXTENDED (EKS upgradePolicy); pulumi-eks would default to EXTENDED, billed per cluster-hour.
    support_type: str
    partition: str
    log_retention_days: int
    # vpc-cni and kube-proxy are installed by pulumi-eks with the control plane; pinned from here.
    addon_versions: AddonVersions
    vpc_id: pulumi.Input[str]
    public_subnet_ids: pulumi.Input[list[str]]
    private_subnet_ids: pulumi.Input[list[str]]
    cluster_role: aws.iam.Role
    cluster_role_name: pulumi.Input[str]
    node_role_arn: pulumi.Input[str]
    # The roles' policy attachments: the control plane needs them until it is gone (it deletes load
    # balancers with the cluster role), so the cluster depends on them and destroy detaches them last.
    role_dependencies: tuple[pulumi.Resource, ...]
    admin_arns: tuple[str, ...]
    endpoint_public_access: bool
    public_access_cidrs: tuple[str, ...]
    # The EKS API refuses to delete the cluster, and Pulumi to delete or replace it (and, by inheritance,
    # everything inside the pulumi-eks component).
    deletion_protection: bool
    # The identity that created the cluster (clusterCreatorArn); "" takes the one running Pulumi.
    creator_arn: str = ""
    # Read-only principals (clusterViewerArns), e.g. CI's preview role.
    viewer_arns: tuple[str, ...] = ()


class Cluster(pulumi.ComponentResource):
    eks_cluster: eks.Cluster
    cluster_name: pulumi.Output[str]
    kubeconfig_json: pulumi.Output[str]
    secrets_key_arn: pulumi.Output[str]
    # The security group EKS creates and attaches to managed nodes without security groups in their launch template
    # (EKS User Guide, "Customize managed nodes with launch templates"). pulumi-eks' cluster_security_group_id is its
    # own additional group unless default security groups are skipped (pulumi/pulumi-eks nodejs/eks/cluster/cluster.ts:
    # `core.clusterSecurityGroup?.id ?? core.cluster.vpcConfig.clusterSecurityGroupId`), so not this one.
    cluster_security_group_id: pulumi.Output[str]
    # The cluster's creator when it is one of admin_arns: EKS gives it admin access itself, so no access entry is
    # declared for it (None when it is not listed).
    creator_admin_arn: str | None

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-platform:cluster:Cluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        secrets_key = aws.kms.Key(
            f"{name}-secrets",
            description=f"Envelope encryption of Kubernetes secrets in {args.cluster_name}",
            enable_key_rotation=True,
            deletion_window_in_days=30 if args.deletion_protection else 7,
            opts=child,
        )
        aws.kms.Alias(f"{name}-secrets", name=f"alias/{args.cluster_name}-secrets", target_key_id=secrets_key.key_id, opts=child)
        # The control plane encrypts secrets with the cluster role, so that role needs the key.
        key_grant = aws.iam.RolePolicy(
            f"{name}-secrets-key-use",
            role=args.cluster_role_name,
            policy=secrets_key.arn.apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
                                "Resource": arn,
                            }
                        ],
                    }
                )
            ),
            opts=child,
        )

        # EKS writes control plane logs here; owned by the stack (retention, deleted on destroy) and created
        # first, or EKS creates it itself with no retention and it outlives the cluster.
        # EKS re-creates the group from late logs after a destroy: the sweeper refuses a leftover before the first
        # `up` and deletes what comes back after the LogGroup is gone.
        sweeper = LogGroupSweeper(
            f"{name}-control-plane-logs-sweeper",
            LogGroupSweeperArgs(region=args.region, log_group_name=control_plane_log_group_name(args.cluster_name)),
            opts=child,
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=control_plane_log_group_name(args.cluster_name),
            retention_in_days=args.log_retention_days,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[sweeper]),
        )

        # pulumi-eks creates the cluster with bootstrapClusterCreatorAdminPermissions (pulumi/pulumi-eks#2373):
        # EKS then holds an access entry for the creator already, and declaring another fails with
        # ResourceInUseException. So the creator's ARN is left out of the declared entries: the recorded creator
        # (clusterCreatorArn), whoever runs `up` now, so that the entries are the same on every run; without a
        # record, the caller (right for the first deploy, which is when `make up` records it).
        if args.creator_arn:
            creator = principal_key(args.creator_arn)
            who = f"the cluster's recorded creator (clusterCreatorArn {args.creator_arn})"
        else:
            creator = principal_key(issuer_of_caller(pulumi.InvokeOptions(parent=self)))
            who = "the identity running Pulumi, taken for the cluster's creator (clusterCreatorArn is not set)"
        self.creator_admin_arn = next((arn for arn in args.admin_arns if principal_key(arn) == creator), None)
        if self.creator_admin_arn is not None:
            pulumi.log.info(
                f"clusterAdminArns: {self.creator_admin_arn} is {who}; EKS gives the creator admin access itself, so "
                "no access entry is declared for it",
                resource=self,
            )

        access_entries: dict[str, eks.AccessEntryArgs] = {
            "nodes": eks.AccessEntryArgs(principal_arn=args.node_role_arn, type=eks.AccessEntryType.EC2_LINUX),
        }
        grants = (
            ("admin", "cluster-admin", cluster_admin_policy_arn(args.partition), args.admin_arns),
            ("viewer", "cluster-view", cluster_viewer_policy_arn(args.partition), args.viewer_arns),
        )
        for prefix, association, policy_arn, arns in grants:
            for arn in arns:
                # The creator's own entry exists already (EKS made it); a second one for it would be refused.
                if principal_key(arn) == creator:
                    continue
                # Keyed by the ARN itself, so reordering the list changes nothing and removing one removes only it.
                access_entries[f"{prefix}-{hashlib.sha256(arn.encode()).hexdigest()[:12]}"] = eks.AccessEntryArgs(
                    principal_arn=arn,
                    type=eks.AccessEntryType.STANDARD,
                    access_policies={
                        association: eks.AccessPolicyAssociationArgs(
                            policy_arn=policy_arn,
                            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                        )
                    },
                )

        self.eks_cluster = eks.Cluster(
            f"{name}-eks",
            name=args.cluster_name,
            version=args.kubernetes_version,
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type=args.support_type),
            service_role=args.cluster_role,
            vpc_id=args.vpc_id,
            public_subnet_ids=args.public_subnet_ids,
            private_subnet_ids=args.private_subnet_ids,
            node_associate_public_ip_address=False,
            skip_default_node_group=True,
            authentication_mode=eks.AuthenticationMode.API,
            access_entries=access_entries,
            endpoint_private_access=True,
            endpoint_public_access=args.endpoint_public_access,
            public_access_cidrs=list(args.public_access_cidrs) if args.endpoint_public_access else None,
            enabled_cluster_log_types=list(CONTROL_PLANE_LOG_TYPES),
            encryption_config_key_arn=secrets_key.arn,
            deletion_protection=args.deletion_protection,
            # Pod Identity replaces IRSA, so no OIDC provider.
            create_oidc_provider=False,
            vpc_cni_options=eks.VpcCniOptionsArgs(enable_network_policy=True, addon_version=args.addon_versions.vpc_cni),
            kube_proxy_addon_options=eks.KubeProxyAddonOptionsArgs(enabled=True, version=args.addon_versions.kube_proxy),
            # CoreDNS needs nodes to become healthy: ClusterAddons installs it after the node group.
            coredns_addon_options=eks.CoreDnsAddonOptionsArgs(enabled=False),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[key_grant, log_group, *args.role_dependencies],
                protect=args.deletion_protection,
            ),
        )

        # The name is fixed by config; deriving it from the cluster's URN makes consumers wait for the cluster.
        self.cluster_name = self.eks_cluster.urn.apply(lambda _: args.cluster_name)
        self.kubeconfig_json = pulumi.Output.secret(self.eks_cluster.kubeconfig_json)
        self.secrets_key_arn = secrets_key.arn
        self.cluster_security_group_id = self.eks_cluster.eks_cluster.apply(
            lambda eks_cluster: eks_cluster.vpc_config.cluster_security_group_id
        )
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "secretsKeyArn": self.secrets_key_arn,
                "controlPlaneLogGroup": log_group.name,
            }
        )
