"""The workflows users run: stacks come from the stack files, and the real CLI gets each stack's resolved pack config."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.plan.stack_files import available_stacks

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
WORKFLOW_FILES = sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])


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
        # A pulumi/actions step without a command only installs the CLI.
        if str(step.get("uses", "")).startswith("pulumi/actions@") and "command" in step.get("with", {}):
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
        (up,) = [
            i
            for i, step in enumerate(steps)
            if str(step.get("uses", "")).startswith("pulumi/actions@") and "command" in step["with"]
        ]
        stack = steps[up]["with"]["stack-name"]
        guards = [i for i, step in enumerate(steps) if "offline.upgrade_guard" in str(step.get("run", ""))]
        assert guards and max(guards) < up, name
        assert f"--stack {stack}" in steps[guards[0]]["run"] and "--ask-aws" in steps[guards[0]]["run"]


# ---------------------------------------------------------------------------------------------------------------
# Pinned actions: a tag can be moved to other code (tj-actions/changed-files, CVE-2025-30066); a commit cannot.

# `uses: owner/repo[/path]@<40 hex> # vX.Y.Z`: the version comment is what Dependabot reads and rewrites with the SHA.
PINNED = re.compile(
    r"^\s*(?:-\s+)?uses:\s+(?P<action>[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+)@(?P<sha>[0-9a-f]{40}) # (?P<version>v\d+\.\d+\.\d+)$"
)
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<reference>\S+)")


def unpinned(text: str) -> list[str]:
    """The `uses:` lines of a workflow that are not a full commit SHA with its version (local ./actions are fine)."""
    return [
        line.strip()
        for line in text.splitlines()
        if (match := USES.match(line)) and not match["reference"].startswith("./") and not PINNED.match(line)
    ]


def uses_values(node: Any) -> Iterator[str]:
    """Every `uses` value of a parsed workflow, wherever YAML put it (steps, reusable-workflow jobs, flow style)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "uses":
                yield str(value)
            yield from uses_values(value)
    elif isinstance(node, list):
        for item in node:
            yield from uses_values(item)


def test_the_pin_check_refuses_tags_branches_and_bare_shas() -> None:
    sha = "3d3c42e5aac5ba805825da76410c181273ba90b1"
    refused = [
        "- uses: actions/checkout@v4",
        "- uses: actions/checkout@v4.4.0",
        "- uses: actions/checkout@main",
        f"- uses: actions/checkout@{sha[:7]} # v7.0.1",
        f"- uses: actions/checkout@{sha}",
        f"- uses: actions/checkout@{sha} # v7",
        f"- uses: actions/checkout@{sha.upper()} # v7.0.1",
        "  uses: docker://alpine:3",
    ]
    for line in refused:
        assert unpinned(f"steps:\n  {line}\n") == [line.strip()], line
    assert unpinned(f"steps:\n  - uses: actions/checkout@{sha} # v7.0.1\n  - uses: ./local-action\n") == []


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda path: path.name)
def test_every_action_is_pinned_to_a_commit(path: Path) -> None:
    """Catches: a `uses:` by tag or branch, which runs whatever the tag points at later, with the job's credentials."""
    text = path.read_text()
    assert unpinned(text) == []
    pinned_lines = [line.strip() for line in text.splitlines() if PINNED.match(line)]
    # Nothing hides from the line check (a flow-style `{uses: ...}` would): YAML sees the same references.
    assert sorted(uses_values(yaml.safe_load(text))) == sorted(
        match["reference"] for line in pinned_lines if (match := USES.match(line))
    )


def test_each_action_has_one_pin_across_the_workflows() -> None:
    """Catches: a half-done update, one workflow on a new commit and another on the old one."""
    pins: dict[str, set[tuple[str, str]]] = {}
    for path in WORKFLOW_FILES:
        for line in path.read_text().splitlines():
            if match := PINNED.match(line):
                pins.setdefault(match["action"], set()).add((match["sha"], match["version"]))
    assert pins and {action: sorted(found) for action, found in pins.items() if len(found) > 1} == {}


def test_dependabot_keeps_the_actions_and_the_python_pins_moving() -> None:
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    assert config["version"] == 2
    ecosystems = {update["package-ecosystem"]: update for update in config["updates"]}
    assert ecosystems["github-actions"]["directory"] == "/"
    directories = ecosystems["pip"].get("directories") or [ecosystems["pip"]["directory"]]
    # Every tracked folder with its own pinned requirements (bootstrap/ reads the platform's through -r); untracked
    # copies (make mutation's mutants/) are not the repository's.
    tracked = subprocess.run(["git", "ls-files", "*requirements.txt"], cwd=ROOT, capture_output=True, text=True, check=True)
    folders = {f"/{Path(path).parent}".replace("/.", "/") for path in tracked.stdout.split()}
    assert folders - {"/bootstrap"} <= set(directories)
    assert "/" in directories and "-r ../requirements.txt" in (ROOT / "bootstrap" / "requirements.txt").read_text()


# ---------------------------------------------------------------------------------------------------------------
# Two roles: pull requests preview with a read-only role; only the deploy environments get the deploy role.

PREVIEW_ROLE = "${{ vars.AWS_PREVIEW_ROLE_ARN }}"
DEPLOY_ROLE = "${{ vars.AWS_ROLE_ARN }}"


def assumed_roles(job: dict[str, Any]) -> list[str]:
    return [
        step["with"]["role-to-assume"]
        for step in job.get("steps", [])
        if str(step.get("uses", "")).startswith("aws-actions/configure-aws-credentials@")
    ]


def test_the_pull_request_preview_assumes_the_preview_role_only() -> None:
    """Catches: the preview job (the pull request's code) getting the deploy role, or an environment, which would
    change its token's subject to one the deploy role trusts."""
    job = workflow("pull-request.yml")["jobs"]["pulumi-preview"]
    assert assumed_roles(job) == [PREVIEW_ROLE]
    assert "environment" not in job
    assert not re.search(r"\b(vars|secrets|env)\.AWS_ROLE_ARN\b", json.dumps(job))
    assert job["if"] == "vars.AWS_PREVIEW_ROLE_ARN != '' && github.event.pull_request.head.repo.full_name == github.repository"
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    # The read-only role cannot create a stack in the backend: no upsert.
    assert all(step.get("with", {}).get("upsert") in (None, False, "false") for step in job["steps"])


def test_no_pull_request_workflow_names_the_deploy_role() -> None:
    for path in WORKFLOW_FILES:
        text = path.read_text()
        triggers = yaml.safe_load(text).get(True) or yaml.safe_load(text).get("on")  # PyYAML reads `on` as True
        if any(event in triggers for event in ("pull_request", "pull_request_target", "workflow_run")):
            assert not re.search(r"\b(vars|secrets|env)\.AWS_ROLE_ARN\b", text), path.name


def test_only_deploy_environment_jobs_assume_the_deploy_role() -> None:
    """Catches: a deploy job without `environment:` (its subject would be a branch's, which the deploy role refuses,
    or, if someone widened the trust to make it work, every branch's)."""
    deploy_jobs = {}
    for path in WORKFLOW_FILES:
        for name, job in workflow(path.name)["jobs"].items():
            roles = assumed_roles(job)
            assert set(roles) <= {PREVIEW_ROLE, DEPLOY_ROLE}, (path.name, name)
            if DEPLOY_ROLE in roles:
                deploy_jobs[(path.name, name)] = job
    assert sorted(deploy_jobs) == [("deploy.yml", "dev"), ("deploy.yml", "prod")]
    for (_, name), job in deploy_jobs.items():
        assert job["environment"] == name
        (up,) = [step for step in job["steps"] if "command" in step.get("with", {})]
        assert up["with"]["stack-name"] == name
    assert "github.ref == 'refs/heads/main'" in workflow("deploy.yml")["jobs"]["dev"]["if"]
    assert workflow("deploy.yml")["jobs"]["prod"]["needs"] == "dev"


def test_the_bootstrap_trusts_the_environments_deploy_yml_runs_in() -> None:
    """Catches: a deploy job in an environment the deploy role does not trust (AccessDenied at deploy time)."""
    environments = sorted(job["environment"] for job in workflow("deploy.yml")["jobs"].values())
    schema = yaml.safe_load((ROOT / "bootstrap" / "Pulumi.yaml").read_text())["config"]["deployEnvironments"]
    assert sorted(schema["default"]) == environments


def stack_check(project: Path, listed: list[dict[str, str]], stack: str) -> str:
    """What the preview job's `Is the stack in the backend?` step outputs, with `pulumi stack ls` answering `listed`."""
    (step,) = [s for s in workflow("pull-request.yml")["jobs"]["pulumi-preview"]["steps"] if s.get("id") == "stack"]
    bin_dir = project / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "pulumi"
    fake.write_text(f"#!/bin/sh\necho '{json.dumps(listed)}'\n")
    fake.chmod(0o755)
    output = project / "github-output"
    output.unlink(missing_ok=True)
    environment = {
        "GITHUB_OUTPUT": str(output),
        "RUNNER_TEMP": str(project),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "STACK": stack,
        "PULUMI_BACKEND_URL": "s3://state",
    }
    subprocess.run(["bash", "-e", "-c", step["run"]], cwd=project, env=environment, check=True, capture_output=True)
    return output.read_text()


def test_a_stack_not_deployed_yet_is_skipped_not_failed(tmp_path: Path) -> None:
    """Catches: a preview that fails for every stack before its first deployment (the preview role cannot create it)."""
    listed = [{"name": "dev", "current": False}, {"name": "organization/eks-platform/prod", "current": False}]
    assert stack_check(tmp_path, listed, "dev") == "exists=true\n"
    assert stack_check(tmp_path, listed, "prod") == "exists=true\n"
    assert stack_check(tmp_path, listed, "karpenter-example") == "exists=false\n"
    preview = [s for s in workflow("pull-request.yml")["jobs"]["pulumi-preview"]["steps"] if s.get("with", {}).get("command")]
    assert [s["if"] for s in preview] == ["steps.stack.outputs.exists == 'true'"]
