"""checkov's Kubernetes checks over the manifests the program declares: no failure but the open findings of issue 7.

checkov (PyPI, pinned with all its dependencies in requirements-checkov.txt) runs from its own venv,
.venv-checkov, built by `make checkov-venv`. Each case is one checkov process over one directory: checkov's
graph checks join every object of a run, whatever its directory or namespace (a NetworkPolicy anywhere
satisfies CKV2_K8S_6 for every pod: bridgecrewio/checkov, checkov/kubernetes/graph_builder/graph_components/
edge_builders/NetworkPolicyEdgeBuilder.py), and a second run in the same Python process keeps the first one's graph.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.analyses.manifests import kubernetes_objects, write_manifests
from tests.conftest import STACKS, frozen_plan, stack_plan

PROJECT_DIR = Path(__file__).resolve().parents[2]
CHECKOV = PROJECT_DIR / ".venv-checkov" / "bin" / "checkov"
CASES = [(stack, controller) for stack in STACKS for controller in ("f5-nginx", "ingress-nginx")]

# Failed checks still open: none. An accepted finding is a skip annotation with its reason on the object itself
# (components/shared/pod_security.py ACCEPTED_CHECKOV_FINDINGS), never an entry here.
OPEN_FINDINGS: set[tuple[str, str]] = set()
# What checkov records as the reason of a skip annotation that gives none (`checkov.io/skip1: CKV_K8S_43`).
NO_REASON = "No comment provided"


@pytest.fixture(scope="module")
def checkov() -> Path:
    if not CHECKOV.exists():
        message = "checkov is not installed: `make checkov-venv` builds .venv-checkov"
        # CI builds the venv (.ci/run, the pull-request workflow): there, a missing checkov is a broken CI, not a skip.
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return CHECKOV


def run_checkov(checkov: Path, directory: Path) -> dict[str, Any]:
    """checkov's JSON report for one directory; offline: no Prisma Cloud download, no PyPI update check."""
    result = subprocess.run(
        [str(checkov), "--framework", "kubernetes", "--directory", str(directory), "--skip-download", "--output", "json"],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ | {"CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"},
    )
    # 0: nothing failed, 1: some check failed; anything else (2) is checkov crashing, e.g. on a malformed annotation.
    assert result.returncode in (0, 1), result.stderr[-3000:]
    report: dict[str, Any] = json.loads(result.stdout)
    # An empty or unreadable directory gives a bare summary and exit code 0: never take that for a pass.
    assert "results" in report, f"checkov scanned nothing in {directory}: {report}"
    assert report["summary"]["parsing_errors"] == 0, report["results"]["parsing_errors"]
    return report


def findings(report: dict[str, Any], outcome: str) -> set[tuple[str, str]]:
    return {(check["check_id"], Path(check["file_path"]).name) for check in report["results"][outcome]}


@pytest.mark.parametrize(("stack", "controller"), CASES)
def test_checkov_finds_nothing_but_the_open_findings(stack: str, controller: str, checkov: Path, tmp_path: Path) -> None:
    # Demos on: every Kubernetes object the program can declare in this stack.
    paths = write_manifests(stack_plan(stack, controller, demo_workloads=True), tmp_path)
    report = run_checkov(checkov, tmp_path / "manifests")
    # Each manifest is one resource (a workload also yields its pod): fewer means checkov skipped a file.
    assert report["summary"]["resource_count"] >= len(paths)
    assert findings(report, "failed_checks") == OPEN_FINDINGS
    for skipped in report["results"]["skipped_checks"]:
        reason = skipped["check_result"].get("suppress_comment", "")
        assert reason.strip() and reason != NO_REASON, f"{skipped['check_id']} skipped without a reason in {skipped['file_path']}"


def test_checkov_fails_a_privileged_container_and_honours_a_skip_annotation_with_its_reason(
    checkov: Path, tmp_path: Path
) -> None:
    """What the test above relies on, with the pinned checkov: a bad workload fails; an accepted finding is skipped
    with its reason, and a skip without one is recognisable.

    The annotation is read from the workload's own metadata, not its pod template, and also skips the graph
    check on the pod checkov derives from it (bridgecrewio/checkov, checkov/kubernetes/kubernetes_utils.py:
    get_skipped_checks). Its value is split on every "=": a reason containing "=" crashes checkov 3.3.30 (exit code 2).
    """
    httpd = next(
        m for m in kubernetes_objects(frozen_plan("dev")) if m["kind"] == "Deployment" and m["metadata"]["name"] == "httpd"
    )
    directory = tmp_path / "manifests"
    directory.mkdir()
    for name, skips in (
        ("privileged", {}),
        ("accepted", {"checkov.io/skip1": "CKV_K8S_16=a reason", "checkov.io/skip2": "CKV2_K8S_6=another reason"}),
        ("unexplained", {"checkov.io/skip1": "CKV_K8S_16"}),
    ):
        deployment = copy.deepcopy(httpd)
        deployment["metadata"] |= {"name": name, "annotations": skips}
        deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privileged"] = True
        (directory / f"{name}.yaml").write_text(yaml.safe_dump(deployment))

    report = run_checkov(checkov, directory)

    assert {("CKV_K8S_16", "privileged.yaml"), ("CKV2_K8S_6", "privileged.yaml")} <= findings(report, "failed_checks")
    reasons = {
        (Path(check["file_path"]).name, check["check_id"], check["check_result"]["suppress_comment"])
        for check in report["results"]["skipped_checks"]
    }
    assert reasons == {
        ("accepted.yaml", "CKV_K8S_16", "a reason"),
        ("accepted.yaml", "CKV2_K8S_6", "another reason"),
        ("unexplained.yaml", "CKV_K8S_16", NO_REASON),
    }
