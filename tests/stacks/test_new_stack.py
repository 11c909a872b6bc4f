"""A new stack is one file: Pulumi.<stack>.yaml alone previews, gets policy levels and is tested (README: Adding a stack)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from offline.analyses.policy import environment_pack_config
from offline.plan.stack_files import available_stacks
from offline.preview import main
from tests.conftest import FROZEN_STACKS

ROOT = Path(__file__).resolve().parents[2]
DEV_FILE = (FROZEN_STACKS / "Pulumi.dev.yaml").read_text()


def project_with(tmp_path: Path, files: dict[str, str]) -> Path:
    """This project's program (linked, never edited) with the frozen dev and prod stacks, plus `files` next to it."""
    project = tmp_path / "project"
    project.mkdir()
    for entry in ("__main__.py", "settings.py", "components", "Pulumi.yaml"):
        (project / entry).symlink_to(ROOT / entry)
    for entry in ("Pulumi.dev.yaml", "Pulumi.prod.yaml"):
        (project / entry).symlink_to(FROZEN_STACKS / entry)
    (project / "policies" / "config").mkdir(parents=True)
    (project / "policies" / "config" / "environments").symlink_to(ROOT / "policies" / "config" / "environments")
    for name, text in files.items():
        (project / name).write_text(text)
    return project


def preview(project: Path, stack: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, Path, str]:
    out = tmp_path / "out"
    code = main(["--stack", stack, "--out", str(out), "--project-dir", str(project)])
    return code, out, capsys.readouterr().err


def pack_config_used(out: Path) -> dict[str, Any]:
    return json.loads((out / "policy-pack-config.json").read_text())  # type: ignore[no-any-return]


def test_a_copy_of_the_dev_file_is_a_working_stack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = project_with(tmp_path, {"Pulumi.staging.yaml": DEV_FILE})
    assert available_stacks(project) == ["dev", "prod", "staging"]
    code, out, err = preview(project, "staging", tmp_path, capsys)
    assert (code, err) == (0, "")
    plan = json.loads((out / "plan.json").read_text())
    assert plan["stack"] == "staging" and plan["outputs"]["clusterName"] == "eks-platform-staging"
    # No environment in the copy: Pulumi.yaml's default (dev), so dev's levels.
    assert pack_config_used(out) == environment_pack_config("dev")


def test_the_environment_chooses_the_policy_levels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = project_with(tmp_path, {"Pulumi.staging.yaml": DEV_FILE + "  eks-platform:environment: staging\n"})
    code, out, _ = preview(project, "staging", tmp_path, capsys)
    assert code == 0
    assert pack_config_used(out) == environment_pack_config("staging")
    assert json.loads((out / "policy-report.json").read_text()) == []


def test_a_stack_file_in_policies_config_adjusts_its_levels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    override = {
        "kms-key-rotation": "mandatory",
        "node-group-scaling": {"maxNodes": 2},
        "eks-deletion-protection": {"requireDeletionProtection": True},
    }
    project = project_with(tmp_path, {"Pulumi.staging.yaml": DEV_FILE, "policies/config/staging.json": json.dumps(override)})
    code, out, _ = preview(project, "staging", tmp_path, capsys)
    used = pack_config_used(out)
    assert used["kms-key-rotation"] == "mandatory"
    assert used["node-group-scaling"] == {"maxNodes": 2}
    # Per policy, the stack's entry adjusts the environment's: dev's "disabled" stays, the setting is added.
    assert used["eks-deletion-protection"] == {"enforcementLevel": "disabled", "requireDeletionProtection": True}
    assert used["eks-public-endpoint-restricted"] == "mandatory"  # untouched levels of the environment stay
    # dev levels: the lowered limit (nodeMaxSize 3 > 2) is reported, as advisory.
    fired = [v for v in json.loads((out / "policy-report.json").read_text()) if v["policy"] == "node-group-scaling"]
    assert code == 0 and fired and {v["enforcement"] for v in fired} == {"advisory"}


def test_a_bad_stack_policy_file_is_refused_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = project_with(
        tmp_path, {"Pulumi.staging.yaml": DEV_FILE, "policies/config/staging.json": '{"kms-key-rotaton": "mandatory"}'}
    )
    code, out, err = preview(project, "staging", tmp_path, capsys)
    assert code == 2 and err.count("\n") == 1
    assert "policies/config/staging.json: pack config names unknown policies: kms-key-rotaton" in err
    assert not out.exists()
