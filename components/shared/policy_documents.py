"""IAM policy documents shared by the components (plain JSON, so plans and policies can read them)."""

from __future__ import annotations

import json


def aws_managed_policy_arn(partition: str, policy: str) -> str:
    """`AmazonEKSClusterPolicy` or `service-role/AmazonEBSCSIDriverPolicy` as an ARN of the region's partition."""
    return f"arn:{partition}:iam::aws:policy/{policy}"


def service_trust_policy(service: str, actions: tuple[str, ...] = ("sts:AssumeRole",)) -> str:
    """A trust policy that lets exactly one AWS service principal assume the role."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": list(actions),
                }
            ],
        }
    )


def pod_identity_trust_policy() -> str:
    # EKS Pod Identity needs sts:TagSession besides sts:AssumeRole to attach the session tags it scopes on.
    return service_trust_policy("pods.eks.amazonaws.com", ("sts:AssumeRole", "sts:TagSession"))
