"""A graph node that, on destroy, waits until no instance Karpenter launched for the cluster is left.

Karpenter's instances are not in Pulumi's state (aws/karpenter-provider-aws#1268, #5727): deleting a NodePool
makes Karpenter drain and terminate them; the NodePool keeps a finalizer until its NodeClaims are gone, but an
instance may still be shutting down after that, and whatever Karpenter could not terminate (its controller gone,
an API error) is found only here. NodePools and EC2NodeClasses
depend on this gate, and the gate on Karpenter (controller, role, interruption queue), its node role, the
cluster and the network, so `pulumi destroy` deletes the NodePools, then waits here until EC2 lists none of the
cluster's Karpenter instances, and only then removes what Karpenter and its nodes still need. A timeout fails
the destroy loudly, naming the instances, instead of leaving paid instances (and a VPC that cannot be deleted)
behind. It asks EC2 with the AWS provider's region, profile and role (components/shared/aws_sdk.py), never the
shell's defaults.

Never move or rename this module: Pulumi pickles dynamic providers by reference to it, and `destroy` of a stack
created before the move would fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic

from components.shared.aws_sdk import SYSTEM_CLOCK, AwsTarget, Clock, client, reported, seconds, wait_until_none_left

POLL_SECONDS = 15.0
# The states Karpenter itself counts as an existing instance when it lists its instances
# (aws/karpenter-provider-aws pkg/providers/instance/instance.go, instanceStateFilter): all but terminated.
LIVE_STATES = ("pending", "running", "stopping", "stopped", "shutting-down")


def karpenter_filters(cluster_name: str) -> list[dict[str, Any]]:
    """Karpenter's own filter for its instances (pkg/providers/instance/instance.go, List): tag keys
    karpenter.sh/nodepool and karpenter.k8s.aws/ec2nodeclass, tag eks:eks-cluster-name=<cluster>, a live state;
    Karpenter sets all three tags on every instance it launches (pkg/utils/utils.go GetTags).

    Each key as `tag:<key>` with the wildcard `*` rather than two `tag-key` filters: the same match, and no filter name
    twice (an API or emulator that keys filters by name keeps only the last one).
    """
    return [
        {"Name": "tag:karpenter.sh/nodepool", "Values": ["*"]},
        {"Name": "tag:karpenter.k8s.aws/ec2nodeclass", "Values": ["*"]},
        {"Name": "tag:eks:eks-cluster-name", "Values": [cluster_name]},
        {"Name": "instance-state-name", "Values": list(LIVE_STATES)},
    ]


def instances_of_cluster(ec2: Any, cluster_name: str) -> list[str]:
    """IDs of the instances Karpenter launched for this cluster that are not terminated yet."""
    pages = ec2.get_paginator("describe_instances").paginate(Filters=karpenter_filters(cluster_name))
    return [
        instance["InstanceId"] for page in pages for reservation in page["Reservations"] for instance in reservation["Instances"]
    ]


class KarpenterInstanceGateProvider(pulumi.dynamic.ResourceProvider):
    # The host unpickles a bare instance (state holds only module.Class), so a destroy waits on this class
    # attribute; a test gives its instance a clock of its own.
    clock: Clock = SYSTEM_CLOCK

    def __init__(self, clock: Clock | None = None) -> None:
        if clock is not None:
            self.clock = clock

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        return pulumi.dynamic.CreateResult(id_=f"{props['clusterName']}/karpenter-instances", outs=props)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        # Never replaced: a replacement would delete the old gate, and wait, while the NodePools still exist.
        return pulumi.dynamic.UpdateResult(outs=news)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        target, cluster = AwsTarget.from_inputs(props), props["clusterName"]
        what = f"list the Karpenter instances of cluster {cluster}"
        ec2 = client(target, "ec2", what)

        def remaining() -> list[str]:
            with reported(what, target):
                return instances_of_cluster(ec2, cluster)

        wait_until_none_left(
            remaining,
            float(props["timeoutSeconds"]),
            POLL_SECONDS,
            lambda ids: (
                f"Karpenter instance(s) {', '.join(ids)} of cluster {cluster} still run "
                f"{seconds(props['timeoutSeconds'])} after its NodePools were deleted; check Karpenter's logs (kube-system, "
                "app.kubernetes.io/name=karpenter) and the NodeClaims, terminate the instances if Karpenter cannot, "
                "then run `pulumi destroy` again"
            ),
            self.clock,
        )


@dataclass(frozen=True)
class KarpenterInstanceGateArgs:
    # The AWS provider's settings (profile and role empty while it has none): tests/components pin the parity.
    region: str
    cluster_name: str
    # Karpenter drains each node first (PodDisruptionBudgets, terminationGracePeriod), then terminates it.
    timeout_seconds: int = 1200
    profile: str = ""
    role_arn: str = ""


class KarpenterInstanceGate(pulumi.dynamic.Resource, module="karpenter", name="InstanceGate"):
    def __init__(self, name: str, args: KarpenterInstanceGateArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(
            KarpenterInstanceGateProvider(),
            name,
            {
                **AwsTarget(args.region, args.profile, args.role_arn).as_inputs(),
                "clusterName": args.cluster_name,
                "timeoutSeconds": args.timeout_seconds,
            },
            opts,
        )
