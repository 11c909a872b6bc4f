"""One YAML file per Kubernetes object the plan declares (Helm releases stay in plan.json), for checkov and schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from offline.plan.query import PlanQuery


def kubernetes_objects(plan: PlanQuery) -> list[dict[str, Any]]:
    """The manifests of every declared Kubernetes object, as the provider would apply them."""
    return [
        resource["inputs"]
        for resource in plan.resources
        if resource["custom"]
        and resource["type"].startswith("kubernetes:")
        and not resource["type"].startswith("kubernetes:helm.sh/")
    ]


def manifest_filename(manifest: dict[str, Any]) -> str:
    metadata = manifest.get("metadata", {})
    scope = metadata.get("namespace", "cluster")
    return f"{scope}-{manifest['kind']}-{metadata['name']}.yaml".lower()


def write_manifests(plan: PlanQuery, out_dir: Path) -> list[Path]:
    directory = out_dir / "manifests"
    directory.mkdir(parents=True, exist_ok=True)
    # A manifest left by an earlier run (a renamed object, another ingress controller) would be scanned as current.
    for stale in directory.glob("*.yaml"):
        stale.unlink()
    written = []
    for manifest in kubernetes_objects(plan):
        path = directory / manifest_filename(manifest)
        path.write_text(yaml.safe_dump(manifest, sort_keys=True))
        written.append(path)
    return written
