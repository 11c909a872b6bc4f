"""`python -m offline.policy_run`: exit 0 on the shipped plans, 1 on a mandatory violation, 2 with one line on bad input."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

from offline.analyses import policy
from offline.analyses.policy import evaluate, load_pack_config, verdict
from offline.plan.query import PlanQuery
from offline.policy_run import main
from tests.conftest import STACKS, frozen_plan, stack_plan

ROOT = Path(__file__).resolve().parents[2]


def write_plan(tmp_path: Path, plan: Any, name: str = "plan.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(plan))
    return path


def open_endpoint(stack: str) -> dict[str, Any]:
    plan = copy.deepcopy(stack_plan(stack).plan)
    cluster = next(resource for resource in plan["resources"] if resource["type"] == "eks:index:Cluster")
    cluster["inputs"]["publicAccessCidrs"] = ["0.0.0.0/0"]
    return plan


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("stack", STACKS)
def test_clean_plan_exits_0_and_writes_the_report(stack: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = write_plan(tmp_path, stack_plan(stack).plan)
    code, out, err = run(["--plan", str(plan), "--stack", stack, "--out", str(tmp_path / "report")], capsys)
    assert (code, err) == (0, "")
    report = json.loads((tmp_path / "report" / "policy-report.json").read_text())
    assert isinstance(report, list) and all(violation["enforcement"] != "mandatory" for violation in report)
    assert f"policy-check {stack}: passed: 0 mandatory" in out


def test_mandatory_violation_exits_1_and_names_the_resource(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = write_plan(tmp_path, open_endpoint("prod"))
    code, out, _ = run(["--plan", str(plan), "--stack", "prod", "--out", str(tmp_path)], capsys)
    assert code == 1
    line = next(line for line in out.splitlines() if "eks-public-endpoint-restricted" in line)
    assert line.startswith("mandatory") and "eks:index:Cluster::cluster-eks" in line and "'cluster-eks'" in line
    report = json.loads((tmp_path / "policy-report.json").read_text())
    assert [violation["policy"] for violation in report if violation["enforcement"] == "mandatory"] == [
        "eks-public-endpoint-restricted"
    ]
    assert set(report[0]) == {"policy", "enforcement", "severity", "urn", "message"}
    assert "FAILED: 1 mandatory" in out


def test_advisory_violation_alone_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = copy.deepcopy(frozen_plan("dev").plan)
    key = next(resource for resource in plan["resources"] if resource["type"] == "aws:kms/key:Key")
    key["inputs"]["enableKeyRotation"] = False
    code, out, _ = run(["--plan", str(write_plan(tmp_path, plan)), "--stack", "dev"], capsys)
    assert code == 0
    assert "advisory   kms-key-rotation" in out and "1 advisory" in out


BAD_PLANS: dict[str, tuple[str, str]] = {
    "not JSON": ("{not json", "is not JSON"),
    "a list": ("[]", "plan must be a JSON object with 'resources', got list"),
    "no resources": ('{"project": "p"}', "plan has no 'resources' list"),
    "resource without urn": (
        '{"resources": [{"type": "t", "name": "n", "inputs": {}, "provider": null}]}',
        "resources[0] has no 'urn'",
    ),
    "inputs not an object": (
        '{"resources": [{"urn": "u", "type": "t", "name": "n", "inputs": [], "provider": null}]}',
        "resources[0].inputs has the wrong type (list)",
    ),
}


@pytest.mark.parametrize("case", BAD_PLANS.values(), ids=BAD_PLANS.keys())
def test_malformed_plan_exits_2_with_one_line(case: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text, complaint = case
    path = tmp_path / "plan.json"
    path.write_text(text)
    code, out, err = run(["--plan", str(path), "--stack", "dev"], capsys)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and complaint in err and err.startswith("policy-check: ")


def test_missing_plan_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["--plan", str(tmp_path / "nope.json"), "--stack", "dev"], capsys)
    assert code == 2 and err.count("\n") == 1 and "cannot read plan" in err and "nope.json" in err


def test_unknown_stack_exits_2_naming_the_known_ones(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = write_plan(tmp_path, frozen_plan("dev").plan)
    code, _, err = run(["--plan", str(plan), "--stack", "no-such-stack"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "no stack file Pulumi.no-such-stack.yaml" in err and f"stacks with a file here: {', '.join(STACKS)}" in err


def test_a_mandatory_violation_is_exit_1_and_in_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run(
        ["--plan", str(write_plan(tmp_path, open_endpoint("dev"))), "--stack", "dev", "--out", str(tmp_path)], capsys
    )
    assert code == 1
    assert json.loads((tmp_path / "policy-report.json").read_text())[0]["policy"] == "eks-public-endpoint-restricted"
    clean = write_plan(tmp_path, copy.deepcopy(frozen_plan("dev").plan))
    code, out, _ = run(["--plan", str(clean), "--stack", "dev", "--out", str(tmp_path)], capsys)
    assert code == 0 and "policy-check dev: passed" in out


def test_module_entry_point(tmp_path: Path) -> None:
    plan = write_plan(tmp_path, open_endpoint("prod"))
    result = subprocess.run(
        [sys.executable, "-m", "offline.policy_run", "--plan", str(plan), "--stack", "prod"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "eks-public-endpoint-restricted" in result.stdout


def test_a_stack_of_another_project_brings_its_own_levels(tmp_path: Path) -> None:
    # A project elsewhere (the preview's --project-dir) brings its own stack files and policy levels.
    project = tmp_path / "project"
    (project / "policies" / "config" / "environments").mkdir(parents=True)
    (project / "Pulumi.yaml").symlink_to(ROOT / "Pulumi.yaml")
    (project / "Pulumi.qa.yaml").write_text("config:\n  eks-platform:environment: staging\n")
    (project / "policies" / "config" / "environments" / "staging.json").write_text('{"all": "advisory"}')
    violations = evaluate(PlanQuery(open_endpoint("dev")), load_pack_config("qa", project))
    assert verdict(violations) == "passed: 0 mandatory, 1 advisory"


def test_another_stacks_plan_is_checked_with_a_warning_and_keeps_its_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `make policy-check STACK=prod PLAN=out/dev/plan.json` writes next to the plan: dev's report must survive.
    plan = write_plan(tmp_path, frozen_plan("dev").plan)
    dev_report = tmp_path / "policy-report.json"
    dev_report.write_text("[]\n")
    code, out, err = run(["--plan", str(plan), "--stack", "prod", "--out", str(tmp_path)], capsys)
    assert code in (0, 1)
    assert err.count("\n") == 1
    assert err.startswith(f"policy-check: warning: {plan} is a plan of stack 'dev', checked with stack 'prod''s policies")
    assert "writing policy-report.prod.json" in err
    assert dev_report.read_text() == "[]\n"
    assert isinstance(json.loads((tmp_path / "policy-report.prod.json").read_text()), list)
    assert "policy-check prod:" in out


def test_a_plan_of_the_same_stack_gets_no_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = write_plan(tmp_path, frozen_plan("dev").plan)
    code, _, err = run(["--plan", str(plan), "--stack", "dev", "--out", str(tmp_path)], capsys)
    assert (code, err) == (0, "")
    assert (tmp_path / "policy-report.json").exists() and not list(tmp_path.glob("policy-report.*.json"))


def test_a_policy_reading_an_unknown_value_is_only_advisory(monkeypatch: pytest.MonkeyPatch) -> None:
    # Like the CLI: a policy tripping over an unknown input during preview cannot block, whatever its level.
    def reads_unknown(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.props["arn"] == "":
            report_violation("empty arn", None)

    naive = ResourceValidationPolicy(name="naive-arn", description="Reads arn directly.", validate=reads_unknown)
    monkeypatch.setattr(policy, "ALL_POLICIES", [naive])
    resource = {"urn": "urn:r", "type": "aws:x/y:Z", "name": "z", "inputs": {"arn": "[unknown]"}, "provider": None}
    [violation] = policy.evaluate(PlanQuery({"resources": [resource]}), {"all": "mandatory"})
    assert violation["enforcement"] == "advisory" and "can't run policy during preview" in violation["message"]
    assert "'z'" in violation["message"]


def test_unwritable_report_directory_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = write_plan(tmp_path, frozen_plan("dev").plan)
    blocker = tmp_path / "taken"
    blocker.write_text("")
    code, _, err = run(["--plan", str(plan), "--stack", "dev", "--out", str(blocker / "report")], capsys)
    assert code == 2
    assert err.startswith("policy-check: cannot write") and err.count("\n") == 1
