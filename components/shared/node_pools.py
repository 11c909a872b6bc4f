"""What every node pool shares, whichever launches its nodes (managed node groups or Karpenter): the pool label,
taints and the root device."""

from __future__ import annotations

from dataclasses import dataclass

ROOT_DEVICE = "/dev/xvda"  # root volume of AL2023 EKS AMIs
# Every node of a pool carries this label with the pool's name, whichever group (or Karpenter) launched it: what
# controllers and workloads select. The same value on every group of a pool: the cluster autoscaler balances only
# groups whose labels match (zone and EKS' own node group labels aside).
POOL_LABEL = "platform.eks/pool"
# Taint effects as Kubernetes spells them (config, pod tolerations, Karpenter) and as the EKS API does.
EKS_TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: str  # NoSchedule, PreferNoSchedule or NoExecute
