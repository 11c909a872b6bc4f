"""An IAM role for one Kubernetes service account, bound through EKS Pod Identity (no OIDC provider needed)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.iam import create_service_role
from components.shared.policy_documents import pod_identity_trust_policy


@dataclass(frozen=True)
class PodIdentityRoleArgs:
    cluster_name: pulumi.Input[str]
    namespace: str
    service_account: str
    partition: str
    managed_policies: tuple[str, ...] = ()
    inline_policy: pulumi.Input[str] | None = None
    # An EKS addon can bind its own role (aws.eks.Addon pod_identity_associations); everything else gets an association here.
    create_association: bool = True


class PodIdentityRole(pulumi.ComponentResource):
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: PodIdentityRoleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-platform:iam:PodIdentityRole", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        role, _ = create_service_role(
            name,
            f"Pod Identity role of {args.namespace}/{args.service_account}",
            pod_identity_trust_policy(),
            args.partition,
            args.managed_policies,
            child,
        )
        if args.inline_policy is not None:
            aws.iam.RolePolicy(f"{name}-inline", role=role.name, policy=args.inline_policy, opts=child)
        if args.create_association:
            aws.eks.PodIdentityAssociation(
                f"{name}-association",
                cluster_name=args.cluster_name,
                namespace=args.namespace,
                service_account=args.service_account,
                role_arn=role.arn,
                opts=child,
            )

        self.role_arn = role.arn
        self.register_outputs({"roleArn": self.role_arn})
