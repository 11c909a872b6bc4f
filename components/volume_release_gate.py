"""A graph node that, on destroy, waits until the EBS volumes of the cluster's StorageClass are really gone.

Deleting a PersistentVolumeClaim returns once the claim object is gone; the CSI driver deletes the EBS
volume afterwards (after the detach, with retries). Claims depend on this gate and the gate on the CSI
driver, the nodes and the cluster, so `pulumi destroy` deletes the claim, then waits here until AWS
reports no volume of the class left, and only then removes the driver. A timeout fails the destroy loudly,
naming the volumes, instead of leaving a paid-for orphan behind silently. It asks AWS with the AWS provider's
region, profile and role (components/shared/aws_sdk.py), never the shell's defaults.

Never move or rename this module: Pulumi pickles dynamic providers by reference to it, and `destroy` of a stack
created before the move would fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic

from components.shared.aws_sdk import SYSTEM_CLOCK, AwsTarget, Clock, client, reported, seconds, wait_until_none_left

POLL_SECONDS = 10.0
# Set on every volume of our StorageClass (tagSpecification_1), in the CreateVolume call itself. A key of our
# own: the EBS CSI driver refuses the prefixes `kubernetes.io` and `ebs.csi.aws.com/` and the keys CSIVolumeName,
# CSIVolumeSnapshotName and ebs.csi.aws.com/cluster-name (kubernetes-sigs/aws-ebs-csi-driver,
# pkg/driver/validation.go validateExtraTags), and EC2 refuses `aws:`; volume creation then fails.
CLUSTER_TAG = "eks-platform/cluster"
# Set by the claim's own StorageClass (components/storage.py), whose only claim is the gate's: `<namespace>/<claim>`.
# Not the per-claim tags kubernetes.io/created-for/pvc/*: they exist only when the provisioner runs with
# --extra-create-metadata, which the EKS add-on's configuration schema does not expose (controller takes
# extraVolumeTags only: aws/amazon-vpc-cni-k8s#2272 quotes `describe-addon-configuration`), and a filter that
# matches nothing would let destroy go on with a paid volume left behind.
CLAIM_TAG = "eks-platform/claim"


def claim_tag_value(namespace: str, claim: str) -> str:
    return f"{namespace}/{claim}"


def volumes_of_claim(ec2: Any, cluster_name: str, namespace: str, claim: str) -> list[str]:
    """IDs of the EBS volumes of this cluster's claim `namespace/claim` that still exist: a tenant's own claims,
    on the default StorageClass, never hold the gate."""
    filters = [
        {"Name": f"tag:{CLUSTER_TAG}", "Values": [cluster_name]},
        {"Name": f"tag:{CLAIM_TAG}", "Values": [claim_tag_value(namespace, claim)]},
    ]
    pages = ec2.get_paginator("describe_volumes").paginate(Filters=filters)
    return [volume["VolumeId"] for page in pages for volume in page["Volumes"]]


class VolumeReleaseGateProvider(pulumi.dynamic.ResourceProvider):
    # The host unpickles a bare instance (state holds only module.Class), so a destroy waits on this class
    # attribute; a test gives its instance a clock of its own.
    clock: Clock = SYSTEM_CLOCK

    def __init__(self, clock: Clock | None = None) -> None:
        if clock is not None:
            self.clock = clock

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        return pulumi.dynamic.CreateResult(id_=f"{props['namespace']}/{props['claim']}", outs=props)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        # Never replaced: a replacement would delete the old gate, and wait, while the claim still exists.
        return pulumi.dynamic.UpdateResult(outs=news)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        target, cluster = AwsTarget.from_inputs(props), props["clusterName"]
        namespace, claim = props["namespace"], props["claim"]
        what = f"list the EBS volumes of claim {namespace}/{claim} of cluster {cluster}"
        ec2 = client(target, "ec2", what)

        def remaining() -> list[str]:
            with reported(what, target):
                return volumes_of_claim(ec2, cluster, namespace, claim)

        wait_until_none_left(
            remaining,
            float(props["timeoutSeconds"]),
            POLL_SECONDS,
            lambda ids: (
                f"EBS volume(s) {', '.join(ids)} of cluster {cluster} still exist "
                f"{seconds(props['timeoutSeconds'])} after claim {props['namespace']}/{props['claim']} was deleted; "
                "check the EBS CSI driver, then run `pulumi destroy` again"
            ),
            self.clock,
        )


@dataclass(frozen=True)
class VolumeReleaseGateArgs:
    # The AWS provider's settings (profile and role empty while it has none): tests/components pin the parity.
    region: str
    cluster_name: str
    namespace: str
    claim: str
    timeout_seconds: int = 600
    profile: str = ""
    role_arn: str = ""


class VolumeReleaseGate(pulumi.dynamic.Resource, module="storage", name="VolumeReleaseGate"):
    def __init__(self, name: str, args: VolumeReleaseGateArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(
            VolumeReleaseGateProvider(),
            name,
            {
                **AwsTarget(args.region, args.profile, args.role_arn).as_inputs(),
                "clusterName": args.cluster_name,
                "namespace": args.namespace,
                "claim": args.claim,
                "timeoutSeconds": args.timeout_seconds,
            },
            opts,
        )
