"""Helm releases as this program installs them: pinned, awaited on install and on uninstall."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.shared.versions import Chart


def pinned_release(
    resource_name: str,
    chart: Chart,
    namespace: str,
    values: dict[str, Any],
    opts: pulumi.ResourceOptions,
    timeout_seconds: int = 600,
    skip_crds: bool = False,
) -> k8s.helm.v3.Release:
    # An OCI registry is addressed through the chart reference itself; a classic repository through its index.
    is_oci = chart.repository.startswith("oci://")
    return k8s.helm.v3.Release(
        resource_name,
        name=chart.name,
        chart=f"{chart.repository}/{chart.name}" if is_oci else chart.name,
        version=chart.version,
        repository_opts=None if is_oci else k8s.helm.v3.RepositoryOptsArgs(repo=chart.repository),
        namespace=namespace,
        values=values,
        # Waiting is what makes the graph's order real: install returns once the workloads are ready,
        # and uninstall once the objects (a LoadBalancer Service's NLB included) are gone.
        skip_await=False,
        # Only set when true: CRDs a separate release manages (karpenter-crd) must not be installed twice.
        skip_crds=skip_crds or None,
        timeout=timeout_seconds,
        cleanup_on_fail=True,
        opts=opts,
    )
