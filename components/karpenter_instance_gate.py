"""A graph node that, on destroy, waits until no instance Karpenter launched for the cluster is left.

Karpenter's instances are not in Pulumi's state (aws/karpenter-provider-aws#1268, #5727): deleting a NodePool
makes Karpenter drain and terminate them; the NodePool keeps a finalizer until its NodeClaims are gone, but an
instance may still be shutting down after that, and whatever Karpenter could not terminate (its controller gone,
an API error) is found only here. NodePools and EC2NodeClasses
depend on this gate, and the gate on Karpenter (controller, role, interruption queue), its node role, the
cluster and the network, so `pulumi destroy` deletes the NodePools, then waits here until EC2 lists none of the
cluster's Karpenter instances, and only then removes what Karpenter and its nodes still need. A timeout fails
the destroy loudly, naming the instances, instead of leaving paid instances (and a VPC that cannot be deleted)
behind.

Never move or rename this module: Pulumi pickles dynamic providers by reference to it, and `destroy` of a stack
created before the move would fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic

from components.shared.aws_cli import list_ids, wait_until_none_left

POLL_SECONDS = 15.0
# The states Karpenter itself counts as an existing instance when it lists its instances
# (aws/karpenter-provider-aws pkg/providers/instance/instance.go, instanceStateFilter): all but terminated.
LIVE_STATES = "pending,running,stopping,stopped,shutting-down"


def instances_of_cluster(region: str, cluster_name: str) -> list[str]:
    """IDs of the instances Karpenter launched for this cluster that are not terminated yet.

    The filter is the one Karpenter's own List uses (pkg/providers/instance/instance.go): tag keys
    karpenter.sh/nodepool and karpenter.k8s.aws/ec2nodeclass, tag eks:eks-cluster-name=<cluster>; Karpenter sets
    all three on every instance it launches (pkg/utils/utils.go GetTags).
    """
    return list_ids(
        [
            "ec2",
            "describe-instances",
            "--region",
            region,
            "--filters",
            "Name=tag-key,Values=karpenter.sh/nodepool",
            "Name=tag-key,Values=karpenter.k8s.aws/ec2nodeclass",
            f"Name=tag:eks:eks-cluster-name,Values={cluster_name}",
            f"Name=instance-state-name,Values={LIVE_STATES}",
            "--query",
            "Reservations[].Instances[].InstanceId",
        ],
        f"the Karpenter instances of cluster {cluster_name}",
    )


class KarpenterInstanceGateProvider(pulumi.dynamic.ResourceProvider):
    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        return pulumi.dynamic.CreateResult(id_=f"{props['clusterName']}/karpenter-instances", outs=props)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        # Never replaced: a replacement would delete the old gate, and wait, while the NodePools still exist.
        return pulumi.dynamic.UpdateResult(outs=news)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        wait_until_none_left(
            lambda: instances_of_cluster(props["region"], props["clusterName"]),
            float(props["timeoutSeconds"]),
            float(props.get("pollSeconds", POLL_SECONDS)),
            lambda remaining: (
                f"Karpenter instance(s) {', '.join(remaining)} of cluster {props['clusterName']} still run "
                f"{props['timeoutSeconds']} s after its NodePools were deleted; check Karpenter's logs (kube-system, "
                "app.kubernetes.io/name=karpenter) and the NodeClaims, terminate the instances if Karpenter cannot, "
                "then run `pulumi destroy` again"
            ),
        )


@dataclass(frozen=True)
class KarpenterInstanceGateArgs:
    region: str
    cluster_name: str
    # Karpenter drains each node first (PodDisruptionBudgets, terminationGracePeriod), then terminates it.
    timeout_seconds: int = 1200


class KarpenterInstanceGate(pulumi.dynamic.Resource, module="karpenter", name="InstanceGate"):
    def __init__(self, name: str, args: KarpenterInstanceGateArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(
            KarpenterInstanceGateProvider(),
            name,
            {"region": args.region, "clusterName": args.cluster_name, "timeoutSeconds": args.timeout_seconds},
            opts,
        )
