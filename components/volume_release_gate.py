"""A graph node that, on destroy, waits until the EBS volumes of a claim are really gone.

Deleting a PersistentVolumeClaim returns once the claim object is gone; the CSI driver deletes the EBS
volume afterwards (after the detach, with retries). Claims depend on this gate and the gate on the CSI
driver, the nodes and the cluster, so `pulumi destroy` deletes the claim, then waits here until AWS
reports no volume for it, and only then removes the driver. A timeout fails the destroy loudly instead
of leaving a paid-for orphan behind silently.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic

POLL_SECONDS = 10.0


def volumes_of_claim(region: str, cluster_name: str, namespace: str, claim: str) -> list[str]:
    """IDs of the EBS volumes the CSI driver created for namespace/claim in this cluster (tags it sets)."""
    command = [
        "aws",
        "ec2",
        "describe-volumes",
        "--region",
        region,
        "--filters",
        f"Name=tag:kubernetes.io/cluster/{cluster_name},Values=owned",
        f"Name=tag:kubernetes.io/created-for/pvc/namespace,Values={namespace}",
        f"Name=tag:kubernetes.io/created-for/pvc/name,Values={claim}",
        "--query",
        "Volumes[].VolumeId",
        "--output",
        "json",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"cannot list the EBS volumes of {namespace}/{claim}: {result.stderr.strip()}")
    volume_ids: list[str] = json.loads(result.stdout or "[]") or []
    return volume_ids


class VolumeReleaseGateProvider(pulumi.dynamic.ResourceProvider):
    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        return pulumi.dynamic.CreateResult(id_=f"{props['namespace']}/{props['claim']}", outs=props)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        # Never replaced: a replacement would delete the old gate, and wait, while the claim still exists.
        return pulumi.dynamic.UpdateResult(outs=news)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        deadline = time.monotonic() + float(props["timeoutSeconds"])
        while True:
            remaining = volumes_of_claim(props["region"], props["clusterName"], props["namespace"], props["claim"])
            if not remaining:
                return
            if time.monotonic() >= deadline:
                raise RuntimeError(
                    f"EBS volume(s) {', '.join(remaining)} of claim {props['namespace']}/{props['claim']} still exist "
                    f"after {props['timeoutSeconds']} s; check the EBS CSI driver, then run `pulumi destroy` again"
                )
            time.sleep(float(props.get("pollSeconds", POLL_SECONDS)))


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
