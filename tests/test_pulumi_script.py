"""scripts/pulumi.sh (behind make up/preview/destroy) stops before touching anything when it cannot work."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "pulumi.sh"


def run(tmp_path: Path, *args: str, aws_exit: int | None) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if aws_exit is not None:
        fake_aws = bin_dir / "aws"
        fake_aws.write_text(f"#!/bin/sh\nexit {aws_exit}\n")
        fake_aws.chmod(0o755)
    # A `pulumi` that records being called: the script must stop before it.
    fake_pulumi = bin_dir / "pulumi"
    fake_pulumi.write_text(f"#!/bin/sh\ntouch {tmp_path}/pulumi-was-called\n")
    fake_pulumi.chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    return subprocess.run(
        ["bash", str(SCRIPT), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30, check=False
    )


def test_no_credentials_stops_early_with_one_clear_line(tmp_path: Path) -> None:
    result = run(tmp_path, "up", "dev", aws_exit=255)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "make up: no usable AWS credentials (aws sts get-caller-identity failed); set AWS_PROFILE or "
        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run 'aws sso login'"
    ]
    assert not (tmp_path / "pulumi-was-called").exists()


def test_missing_aws_cli_is_named(tmp_path: Path) -> None:
    result = run(tmp_path, "preview", "dev", aws_exit=None)
    assert result.returncode == 1
    assert "the AWS CLI v2 is required" in result.stderr
    assert not (tmp_path / "pulumi-was-called").exists()


@pytest.mark.parametrize(
    ("args", "words"), [(("up", "qa"), "no stack file Pulumi.qa.yaml"), (("apply", "dev"), "unknown action")]
)
def test_bad_stack_or_action_is_refused(tmp_path: Path, args: tuple[str, str], words: str) -> None:
    result = run(tmp_path, *args, aws_exit=0)
    assert result.returncode == 1
    assert words in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert os.path.exists(tmp_path / "pulumi-was-called") is False


def fake_cli(tmp_path: Path, deployed: str) -> dict[str, str]:
    """aws that succeeds, curl that has no network, and a pulumi that reports `deployed` as the stack's
    kubernetesVersion output and records whether a preview or update ran."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scripts = {
        "aws": "exit 0",
        "curl": "exit 1",
        "pulumi": (
            'case "$1 $2 $3" in\n'
            f'  "stack output kubernetesVersion") [ -n "{deployed}" ] && echo "{deployed}" || exit 255 ;;\n'
            f"  preview*|up*) touch {tmp_path}/pulumi-was-called ;;\n"
            "esac\n"
        ),
    }
    for name, body in scripts.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "PULUMI_CONFIG_PASSPHRASE": "x"}


@pytest.mark.parametrize(("deployed", "words"), [("1.33", "would jump from 1.33 to 1.35"), ("1.36", "would go down")])
def test_a_kubernetes_skip_or_downgrade_stops_before_pulumi_runs(tmp_path: Path, deployed: str, words: str) -> None:
    """The dev stack is configured for 1.35 (Pulumi.yaml default): from a deployed 1.33 that skips 1.34."""
    env = fake_cli(tmp_path, deployed)
    result = subprocess.run(
        ["bash", str(SCRIPT), "preview", "dev"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("upgrade-guard: refused:") and words in result.stderr
    assert not (tmp_path / "pulumi-was-called").exists()


@pytest.mark.parametrize("deployed", ["", "1.34"])
def test_a_first_deployment_or_one_minor_up_goes_ahead(tmp_path: Path, deployed: str) -> None:
    env = fake_cli(tmp_path, deployed)
    result = subprocess.run(["bash", str(SCRIPT), "up", "dev"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "pulumi-was-called").exists()
