"""The workflows users run: stacks come from the stack files, and the real CLI gets each stack's resolved pack config."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from offline.plan.stack_files import available_stacks

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"


def workflow(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text())  # type: ignore[no-any-return]


def listed_stacks(project: Path) -> list[str]:
    """What the pull-request workflow's `stacks` job outputs when run in `project`."""
    (step,) = [step for step in workflow("pull-request.yml")["jobs"]["stacks"]["steps"] if step.get("id") == "list"]
    output = project / "github-output"
    output.unlink(missing_ok=True)
    subprocess.run(
        ["bash", "-e", "-c", step["run"]], cwd=project, env={"GITHUB_OUTPUT": str(output), "PATH": os.environ["PATH"]}, check=True
    )
    key, _, value = output.read_text().strip().partition("=")
    assert key == "stacks"
    return json.loads(value)  # type: ignore[no-any-return]


def test_the_stack_list_is_every_stack_file(tmp_path: Path) -> None:
    for stack_file in ROOT.glob("Pulumi*.yaml"):
        shutil.copy(stack_file, tmp_path)
    assert listed_stacks(tmp_path) == available_stacks(ROOT)
    (tmp_path / "Pulumi.added.yaml").write_text((ROOT / "Pulumi.dev.yaml").read_text())
    assert listed_stacks(tmp_path) == sorted({*available_stacks(ROOT), "added"})


def test_per_stack_jobs_take_their_matrix_from_the_stack_list() -> None:
    jobs = workflow("pull-request.yml")["jobs"]
    for name in ("offline-preview", "pulumi-preview"):
        assert jobs[name]["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.stacks.outputs.stacks) }}", name
        assert "stacks" in jobs[name]["needs"], name


def pulumi_steps(job: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(stack, `with`) of each pulumi/actions step, with the stack the job's policy config step resolved."""
    steps = job["steps"]
    resolved = [step["run"] for step in steps if "offline.policy_config" in str(step.get("run", ""))]
    found = []
    for step in steps:
        if str(step.get("uses", "")).startswith("pulumi/actions@"):
            assert len(resolved) == 1, "resolve the policy pack config once, before the pulumi step"
            found.append((resolved[0], step["with"]))
    return found


def test_the_real_cli_gets_the_resolved_pack_config_of_its_stack() -> None:
    jobs = [*workflow("pull-request.yml")["jobs"].values(), *workflow("deploy.yml")["jobs"].values()]
    checked = 0
    for job in jobs:
        for resolve_command, action in pulumi_steps(job):
            stack = action["stack-name"]
            assert resolve_command == f".venv/bin/python -m offline.policy_config --stack {stack} --out out/{stack}"
            assert action["policyPacks"] == "policies"
            assert action["policyPackConfigs"] == f"out/{stack}/policy-pack-config.json"
            checked += 1
    assert checked == 3  # pull-request preview, deploy dev, deploy prod


def test_every_deploy_checks_the_kubernetes_step_before_pulumi_up() -> None:
    """The deploy path runs the same upgrade guard as `make up`, against the running cluster, before the update."""
    for name, job in workflow("deploy.yml")["jobs"].items():
        steps = job["steps"]
        (up,) = [i for i, step in enumerate(steps) if str(step.get("uses", "")).startswith("pulumi/actions@")]
        stack = steps[up]["with"]["stack-name"]
        guards = [i for i, step in enumerate(steps) if "offline.upgrade_guard" in str(step.get("run", ""))]
        assert guards and max(guards) < up, name
        assert f"--stack {stack}" in steps[guards[0]]["run"] and "--ask-aws" in steps[guards[0]]["run"]
