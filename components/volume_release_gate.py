"""A graph node that, on destroy, waits until the EBS volumes of the cluster's StorageClass are really gone.

Deleting a PersistentVolumeClaim returns once the claim object is gone; the CSI driver deletes the EBS
volume afterwards (after the detach, with retries). Claims depend on this gate and the gate on the CSI
driver, the nodes and the cluster, so `pulumi destroy` deletes the claim, then waits here until AWS
reports no volume of the class left, and only then removes the driver. A timeout fails the destroy loudly,
naming the volumes, instead of leaving a paid-for orphan behind silently.

Never move or rename this module: Pulumi pickles dynamic providers by reference to it, and `destroy` of a stack
created before the move would fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic

from components.shared.aws_cli import list_ids, wait_until_none_left

POLL_SECONDS = 10.0
# Set on every volume of our StorageClass (tagSpecification_1), in the CreateVolume call itself. A key of our
# own: the EBS CSI driver refuses the prefixes `kubernetes.io` and `ebs.csi.aws.com/` and the keys CSIVolumeName,
# CSIVolumeSnapshotName and ebs.csi.aws.com/cluster-name (kubernetes-sigs/aws-ebs-csi-driver,
# pkg/driver/validation.go validateExtraTags), and EC2 refuses `aws:`; volume creation then fails.
CLUSTER_TAG = "eks-platform/cluster"


def volumes_of_cluster(region: str, cluster_name: str) -> list[str]:
    """IDs of the EBS volumes of this cluster's StorageClass that still exist.

    Filtered on our own tag only: the per-claim tags (kubernetes.io/created-for/pvc/*) exist only when the
    provisioner runs with --extra-create-metadata, which no source confirms for the EKS add-on, and a filter
    that matches nothing would let destroy go on with a paid volume left behind.
    """
    return list_ids(
        [
            "ec2",
            "describe-volumes",
            "--region",
            region,
            "--filters",
            f"Name=tag:{CLUSTER_TAG},Values={cluster_name}",
            "--query",
            "Volumes[].VolumeId",
        ],
        f"the EBS volumes of cluster {cluster_name}",
    )


class VolumeReleaseGateProvider(pulumi.dynamic.ResourceProvider):
    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        return pulumi.dynamic.CreateResult(id_=f"{props['namespace']}/{props['claim']}", outs=props)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        # Never replaced: a replacement would delete the old gate, and wait, while the claim still exists.
        return pulumi.dynamic.UpdateResult(outs=news)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        wait_until_none_left(
            lambda: volumes_of_cluster(props["region"], props["clusterName"]),
            float(props["timeoutSeconds"]),
            float(props.get("pollSeconds", POLL_SECONDS)),
            lambda remaining: (
                f"EBS volume(s) {', '.join(remaining)} of cluster {props['clusterName']} still exist "
                f"{props['timeoutSeconds']} s after claim {props['namespace']}/{props['claim']} was deleted; "
                "check the EBS CSI driver, then run `pulumi destroy` again"
            ),
        )


@dataclass(frozen=True)
class VolumeReleaseGateArgs:
    region: str
    cluster_name: str
    namespace: str
    claim: str
    timeout_seconds: int = 600


class VolumeReleaseGate(pulumi.dynamic.Resource, module="storage", name="VolumeReleaseGate"):
    def __init__(self, name: str, args: VolumeReleaseGateArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(
            VolumeReleaseGateProvider(),
            name,
            {
                "region": args.region,
                "clusterName": args.cluster_name,
                "namespace": args.namespace,
                "claim": args.claim,
                "timeoutSeconds": args.timeout_seconds,
            },
            opts,
        )
