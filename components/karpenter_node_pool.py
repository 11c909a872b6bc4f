"""One node pool launched by Karpenter: an EC2NodeClass (how instances look) and a NodePool (what may run there)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.karpenter import DISCOVERY_TAG
from components.shared.node_pools import POOL_LABEL, ROOT_DEVICE, Taint
from components.shared.versions import KARPENTER_AMI_ALIAS

NODE_CLASS_API = "karpenter.k8s.aws/v1"
NODE_POOL_API = "karpenter.sh/v1"
# Kubernetes' architecture names for the AMI families' x86_64 and arm64.
KUBERNETES_ARCHITECTURES = {"x86_64": "amd64", "arm64": "arm64"}
CAPACITY_TYPES = {"ON_DEMAND": "on-demand", "SPOT": "spot"}
# How long a node may take to drain before Karpenter terminates it anyway (PodDisruptionBudgets included): bounds
# every disruption, and the wait of `pulumi destroy` for the instances (the gate allows twice as long).
TERMINATION_GRACE_PERIOD = "10m"
# Both objects keep a finalizer until their nodes are drained and terminated: a NodePool until its NodeClaims are
# gone (kubernetes-sigs/karpenter pkg/controllers/nodepool/termination), an EC2NodeClass until no NodeClaim uses it.
# pulumi-kubernetes waits 10 minutes for a deletion by default (provider/pkg/await/await.go), less than a drain may
# take; both get twice the termination grace period.
DELETE_TIMEOUT = "20m"


@dataclass(frozen=True)
class KarpenterNodePoolArgs:
    cluster_name: str
    pool: str
    # The node role Karpenter builds its instance profile from (a name, not an ARN).
    node_role_name: pulumi.Input[str]
    instance_types: tuple[str, ...]
    cpu_architecture: str
    capacity_type: str
    # The node limit (NodePool spec.limits.nodes).
    max_size: int
    disk_size_gib: int
    # Nodes a disruption (consolidation, drift, expiry) may take at once.
    max_unavailable: int
    zones: tuple[str, ...]
    # Karpenter's instances carry these (the provider's default tags do not reach them).
    tags: dict[str, str]
    # The Karpenter instance gate (and through it the controller and its CRDs): on destroy the pool goes first.
    dependencies: tuple[pulumi.Resource, ...]
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()


def node_class_spec(args: KarpenterNodePoolArgs) -> dict[str, Any]:
    return {
        "role": args.node_role_name,
        # A pinned AMI release: a new one is a reviewed change (Karpenter replaces drifted nodes).
        "amiSelectorTerms": [{"alias": KARPENTER_AMI_ALIAS}],
        "subnetSelectorTerms": [{"tags": {DISCOVERY_TAG: args.cluster_name}}],
        "securityGroupSelectorTerms": [{"tags": {DISCOVERY_TAG: args.cluster_name}}],
        # As on the managed nodes: IMDSv2 only, one hop, so pods cannot borrow the node role.
        "metadataOptions": {
            "httpEndpoint": "enabled",
            "httpProtocolIPv6": "disabled",
            "httpPutResponseHopLimit": 1,
            "httpTokens": "required",
        },
        "blockDeviceMappings": [
            {
                "deviceName": ROOT_DEVICE,
                "rootVolume": True,
                "ebs": {
                    "volumeSize": f"{args.disk_size_gib}Gi",
                    "volumeType": "gp3",
                    "encrypted": True,
                    "deleteOnTermination": True,
                },
            }
        ],
        "tags": args.tags,
    }


def node_pool_spec(args: KarpenterNodePoolArgs) -> dict[str, Any]:
    requirements = [
        ("node.kubernetes.io/instance-type", list(args.instance_types)),
        ("karpenter.sh/capacity-type", [CAPACITY_TYPES[args.capacity_type]]),
        ("kubernetes.io/arch", [KUBERNETES_ARCHITECTURES[args.cpu_architecture]]),
        ("kubernetes.io/os", ["linux"]),
        ("topology.kubernetes.io/zone", list(args.zones)),
    ]
    taints = [{"key": t.key, "effect": t.effect, **({"value": t.value} if t.value else {})} for t in args.taints]
    return {
        "template": {
            "metadata": {"labels": {POOL_LABEL: args.pool, **args.labels}},
            "spec": {
                "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": args.pool},
                "requirements": [{"key": key, "operator": "In", "values": values} for key, values in requirements],
                **({"taints": taints} if taints else {}),
                "expireAfter": "720h",
                "terminationGracePeriod": TERMINATION_GRACE_PERIOD,
            },
        },
        # Strings: the API server turns quantities into strings, so integers would show as a diff on every update.
        "limits": {"nodes": str(args.max_size)},
        "disruption": {
            "consolidationPolicy": "WhenEmptyOrUnderutilized",
            "consolidateAfter": "1m",
            "budgets": [{"nodes": str(args.max_unavailable)}],
        },
    }


class KarpenterNodePool(pulumi.ComponentResource):
    """Both objects are custom resources whose CRDs the karpenter-crd Helm release installs in the same update; a real
    preview resolves them from the release since pulumi-kubernetes 4.32.0 (pulumi/pulumi-kubernetes CHANGELOG, #3176)."""

    node_pool: k8s.apiextensions.CustomResource

    def __init__(self, name: str, args: KarpenterNodePoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-platform:autoscaling:KarpenterNodePool", name, None, opts)
        node_class = k8s.apiextensions.CustomResource(
            f"{name}-class",
            api_version=NODE_CLASS_API,
            kind="EC2NodeClass",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.pool),
            spec=node_class_spec(args),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=list(args.dependencies),
                custom_timeouts=pulumi.CustomTimeouts(delete=DELETE_TIMEOUT),
            ),
        )
        self.node_pool = k8s.apiextensions.CustomResource(
            f"{name}-nodepool",
            api_version=NODE_POOL_API,
            kind="NodePool",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.pool),
            spec=node_pool_spec(args),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[node_class, *args.dependencies],
                custom_timeouts=pulumi.CustomTimeouts(delete=DELETE_TIMEOUT),
            ),
        )
        self.register_outputs({"nodePool": args.pool, "nodeClass": args.pool})
