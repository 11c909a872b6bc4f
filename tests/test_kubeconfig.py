"""`make kubeconfig`: the stack's own region and cluster name reach `aws eks update-kubeconfig`; failures are one line."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import FIXTURE_STACK, ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import kubeconfig


def run(argv: list[str], project: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = kubeconfig.main(argv, project)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_stacks_region_and_cluster_name_go_to_the_aws_cli(
    fixture_project: Path, fake_aws: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Catches: a command hard-coded to dev and eu-central-1 (README's old line), or a context named after the ARN."""
    (fixture_project / "Pulumi.fixture.yaml").write_text(
        (fixture_project / "Pulumi.fixture.yaml").read_text().replace("eu-central-1", "us-west-2")
    )
    log = fake_aws("Added new context fixture")
    code, out, err = run(["--stack", FIXTURE_STACK], fixture_project, capsys)
    assert (code, err) == (0, "")
    path = fixture_project / "out" / FIXTURE_STACK / "kubeconfig"
    assert log.read_text().split() == [
        *["eks", "update-kubeconfig", "--region", "us-west-2", "--name", "eks-platform-fixture", "--kubeconfig"],
        str(path),
        "--alias",
        FIXTURE_STACK,
    ]
    assert f"Use it: export KUBECONFIG={path}; kubectl get nodes" in out


def test_an_aws_failure_is_one_line_and_exit_1(
    fixture_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "bin" / "aws"
    script.parent.mkdir()
    script.write_text(
        "#!/bin/sh\necho >&2\necho 'An error occurred (ResourceNotFoundException): No cluster found' >&2\nexit 254\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{script.parent}:/usr/bin:/bin")
    code, out, err = run(["--stack", FIXTURE_STACK], fixture_project, capsys)
    assert (code, out) == (1, "")
    assert err == (
        "make kubeconfig: aws eks update-kubeconfig failed for stack fixture: "
        "An error occurred (ResourceNotFoundException): No cluster found\n"
    )


def test_an_unknown_stack_or_no_aws_cli_is_one_line(
    fixture_project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["--stack", "nope"], fixture_project, capsys) == (
        2,
        "",
        f"make kubeconfig: no stack file Pulumi.nope.yaml; stacks: {FIXTURE_STACK}\n",
    )
    monkeypatch.setenv("PATH", "/nonexistent")
    code, _, err = run(["--stack", FIXTURE_STACK], fixture_project, capsys)
    assert code == 1 and err.startswith("make kubeconfig: the AWS CLI is required") and err.count("\n") == 1
