"""Every Kubernetes object the program declares is a complete manifest the API server would accept: built-in kinds
against the upstream schemas of the configured Kubernetes version (kubernetes-validate, strict), Karpenter's
NodePool and EC2NodeClass against the CRDs of the pinned Karpenter release (tests/offline/karpenter_crds/)."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from components.shared.versions import KARPENTER, KARPENTER_CRD
from offline.analyses.manifests import kubernetes_objects, write_manifests
from offline.plan.query import PlanQuery
from tests.conftest import STACKS, frozen_plan, karpenter_workload_plan, stack_plan

# Demo workloads on everywhere: each stack's version must accept every object the program can declare.
CASES = [(stack, controller) for stack in STACKS for controller in ("f5-nginx", "ingress-nginx")]
CRD_DIR = Path(__file__).parent / "karpenter_crds"
NAMESPACED = {"Deployment", "Service", "PersistentVolumeClaim", "Ingress", "PodDisruptionBudget", "HorizontalPodAutoscaler"}


def kubernetes_version(stack: str) -> str:
    (cluster,) = stack_plan(stack).of_type("eks:index:Cluster")
    return f"{cluster['inputs']['version']}.0"


def strict(schema: Any) -> Any:
    """A CRD's structural schema as JSON Schema that, like strict field validation, refuses unknown fields."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: strict(value) for key, value in schema.items()}
    if "properties" in schema and "additionalProperties" not in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
        converted["additionalProperties"] = False
    return converted


@functools.cache
def crd_validators() -> dict[tuple[str, str], jsonschema.Draft7Validator]:
    """(apiVersion, kind) -> validator of the served version, from the pinned release's CRDs."""
    validators = {}
    for path in sorted((CRD_DIR / KARPENTER_CRD.version).glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        for version in crd["spec"]["versions"]:
            if version["served"]:
                schema = strict(version["schema"]["openAPIV3Schema"])
                validators[(f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"])] = (
                    jsonschema.Draft7Validator(schema)
                )
    return validators


def validate(manifest: dict[str, Any], version: str) -> None:
    validator = crd_validators().get((manifest["apiVersion"], manifest["kind"]))
    if validator is not None:
        validator.validate(manifest)
    else:
        kubernetes_validate.validate(manifest, version, strict=True)


@pytest.mark.parametrize(("stack", "controller"), CASES)
def test_manifests_are_schema_valid_for_the_configured_version(stack: str, controller: str, tmp_path: Path) -> None:
    plan = stack_plan(stack, controller, demo_workloads=True).plan
    paths = write_manifests(PlanQuery(plan), tmp_path)
    assert len(paths) == len(kubernetes_objects(PlanQuery(plan))) >= 14
    for path in paths:
        manifest = yaml.safe_load(path.read_text())
        assert manifest["apiVersion"] and manifest["kind"] and manifest["metadata"]["name"], path.name
        if manifest["kind"] in NAMESPACED:
            assert manifest["metadata"]["namespace"], path.name
        text = json.dumps(manifest)
        assert "[unknown]" not in text and "[secret]" not in text, path.name
        validate(manifest, kubernetes_version(stack))


def test_the_seed_objects_are_all_there(tmp_path: Path) -> None:
    names = {p.name for p in write_manifests(frozen_plan("dev"), tmp_path)}
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
    kinds = {yaml.safe_load(p.read_text())["kind"] for p in write_manifests(frozen_plan("dev"), tmp_path)}
    assert "Release" not in kinds


def test_a_manifest_from_an_earlier_run_is_removed(tmp_path: Path) -> None:
    """Switching the ingress controller renames its namespace: the old namespace's file must not stay behind."""
    write_manifests(frozen_plan("dev", "ingress-nginx"), tmp_path)
    names = {p.name for p in write_manifests(frozen_plan("dev", "f5-nginx"), tmp_path)}
    assert {p.name for p in (tmp_path / "manifests").iterdir()} == names
    assert "cluster-namespace-ingress-nginx.yaml" not in names


def test_the_schema_check_rejects_an_unknown_field() -> None:
    deployment = copy.deepcopy(next(m for m in kubernetes_objects(frozen_plan("dev")) if m["kind"] == "Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, "1.35.0", strict=True)


def test_the_karpenter_objects_are_checked_against_the_pinned_releases_crds(tmp_path: Path) -> None:
    assert KARPENTER_CRD.version == KARPENTER.version, "CRDs and controller come from one release"
    assert {("karpenter.sh/v1", "NodePool"), ("karpenter.k8s.aws/v1", "EC2NodeClass")} <= set(crd_validators())
    plan = karpenter_workload_plan().plan
    kinds = []
    for path in write_manifests(PlanQuery(plan), tmp_path):
        manifest = yaml.safe_load(path.read_text())
        validate(manifest, "1.35.0")
        kinds.append(manifest["kind"])
    assert kinds.count("NodePool") == kinds.count("EC2NodeClass") == 2


@pytest.mark.parametrize(
    ("kind", "change", "complaint"),
    [
        # What the CRD refuses: an EC2 spelling of an enum, a quantity without unit, an unknown field.
        ("EC2NodeClass", lambda m: m["spec"]["metadataOptions"].update(httpTokens="REQUIRED"), "is not one of"),
        ("EC2NodeClass", lambda m: m["spec"]["blockDeviceMappings"][0]["ebs"].update(volumeSize="40"), "does not match"),
        ("NodePool", lambda m: m["spec"]["template"]["spec"]["taints"][0].update(effect="NO_SCHEDULE"), "is not one of"),
        ("NodePool", lambda m: m["spec"]["disruption"]["budgets"][0].update(nodes="one"), "does not match"),
        ("NodePool", lambda m: m["spec"]["template"]["spec"].update(nodeClass="graviton-spot"), "Additional properties"),
    ],
)
def test_the_crd_check_rejects_a_bad_field(kind: str, change, complaint: str) -> None:
    manifest = copy.deepcopy(next(m for m in kubernetes_objects(frozen_plan("karpenter-example")) if m["kind"] == kind))
    validate(manifest, "1.35.0")
    change(manifest)
    with pytest.raises(jsonschema.ValidationError, match=complaint):
        validate(manifest, "1.35.0")
