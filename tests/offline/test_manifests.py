"""Every Kubernetes object the program declares is a complete manifest the API server would accept."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from offline.manifests import kubernetes_objects, write_manifests
from tests.conftest import STACKS, stack_plan

# Demo workloads on everywhere: each stack's version must accept every object the program can declare.
CASES = [(stack, controller) for stack in STACKS for controller in ("f5-nginx", "ingress-nginx")]
NAMESPACED = {"Deployment", "Service", "PersistentVolumeClaim", "Ingress", "PodDisruptionBudget", "HorizontalPodAutoscaler"}


def kubernetes_version(stack: str) -> str:
    (cluster,) = stack_plan(stack).of_type("eks:index:Cluster")
    return f"{cluster['inputs']['version']}.0"


@pytest.mark.parametrize(("stack", "controller"), CASES)
def test_manifests_are_schema_valid_for_the_configured_version(stack: str, controller: str, tmp_path: Path) -> None:
    plan = stack_plan(stack, controller, demo_workloads=True).plan
    paths = write_manifests(plan, tmp_path)
    assert len(paths) == len(kubernetes_objects(plan)) >= 14
    for path in paths:
        manifest = yaml.safe_load(path.read_text())
        assert manifest["apiVersion"] and manifest["kind"] and manifest["metadata"]["name"], path.name
        if manifest["kind"] in NAMESPACED:
            assert manifest["metadata"]["namespace"], path.name
        text = json.dumps(manifest)
        assert "[unknown]" not in text and "[secret]" not in text, path.name
        kubernetes_validate.validate(manifest, kubernetes_version(stack), strict=True)


def test_the_seed_objects_are_all_there(tmp_path: Path) -> None:
    names = {p.name for p in write_manifests(stack_plan("dev").plan, tmp_path)}
    for expected in (
        "demo-deployment-httpd.yaml",
        "demo-service-httpd-service.yaml",
        "demo-deployment-tomcat.yaml",
        "demo-service-tomcat-service.yaml",
        "demo-ingress-test-ingress.yaml",
        "demo-persistentvolumeclaim-ebs-pvc.yaml",
        "demo-deployment-pv-demo.yaml",
        "cluster-storageclass-gp3-encrypted.yaml",
    ):
        assert expected in names


def test_helm_releases_are_not_written_as_manifests(tmp_path: Path) -> None:
    kinds = {yaml.safe_load(p.read_text())["kind"] for p in write_manifests(stack_plan("dev").plan, tmp_path)}
    assert "Release" not in kinds


def test_the_schema_check_rejects_an_unknown_field() -> None:
    deployment = copy.deepcopy(next(m for m in kubernetes_objects(stack_plan("dev").plan) if m["kind"] == "Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, "1.35.0", strict=True)
