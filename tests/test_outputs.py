"""`make outputs`: the stack's outputs from the backend `make up` used, read by the pinned CLI; failures in one line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURE_STACK, ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import outputs
from pulumi_cli import pinned_version

KUBECONFIG = json.dumps({"apiVersion": "v1", "clusters": [{"cluster": {"server": "https://" + "x" * 200}}]})
STACK_OUTPUTS = {
    "clusterName": "eks-platform-fixture",
    "httpdUrl": "http://nlb.example/httpd",
    "kubeconfig": KUBECONFIG,
    "nodePools": ["system", "apps"],
    "ebsCsiRoleArn": "[secret]",
}


def stand_in_pulumi(directory: Path, reply: str, *, exit_code: int = 0) -> Path:
    """A `pulumi` that logs its arguments, working directory and backend, and answers `reply` (stderr on failure)."""
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "calls"
    script = directory / "pulumi"
    stream = ">&2" if exit_code else ""
    script.write_text(
        f'#!/bin/sh\necho "$* | $PWD | $PULUMI_BACKEND_URL" >> {log}\n'
        f"cat <<'REPLY' {stream}\n{reply}\nREPLY\nexit {exit_code}\n"
    )
    script.chmod(0o755)
    return log


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PATH", f"{tmp_path / 'path-bin'}:/usr/bin:/bin")
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    return tmp_path / "home"


def run(argv: list[str], project: Path, home: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = outputs.main(argv, project, home)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_outputs_come_from_the_local_state_of_the_checkout_by_default(
    fixture_project: Path, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Catches: another stack's outputs (no --stack), a backend other than the one `make up` wrote (its default is
    this checkout's .pulumi-state), a kubeconfig dumped on the terminal, or a secret shown. The stand-in answers as
    the CLI does: without --show-secrets a secret output is "[secret]" (pulumi.com/docs/iac/cli/commands/
    pulumi_stack_output, "--show-secrets: Display outputs which are marked as secret in plaintext")."""
    log = stand_in_pulumi(tmp_path / "path-bin", json.dumps(STACK_OUTPUTS))
    code, out, err = run(["--stack", FIXTURE_STACK], fixture_project, home, capsys)
    assert (code, err) == (0, "")
    assert log.read_text().splitlines() == [
        f"stack output --json --stack {FIXTURE_STACK} | {fixture_project} | file://{fixture_project}/.pulumi-state"
    ]
    assert out.splitlines() == [
        "clusterName: eks-platform-fixture",
        "ebsCsiRoleArn: [secret]",
        "httpdUrl: http://nlb.example/httpd",
        f"kubeconfig: ({len(KUBECONFIG)} characters; pulumi stack output <name> prints it)",
        'nodePools: ["system", "apps"]',
        f"Connect kubectl: make kubeconfig STACK={FIXTURE_STACK}",
    ]


def test_the_callers_backend_is_used_as_is(
    fixture_project: Path, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Catches: the local default forced over PULUMI_BACKEND_URL=s3://... (CI's and a team's shared state)."""
    monkeypatch.setenv("PULUMI_BACKEND_URL", "s3://team-state")
    log = stand_in_pulumi(tmp_path / "path-bin", "{}")
    code, out, _ = run(["--stack", FIXTURE_STACK], fixture_project, home, capsys)
    assert code == 0
    assert log.read_text().rstrip().endswith("| s3://team-state")
    assert out == f"Stack {FIXTURE_STACK} has no outputs: it has not been deployed (make up STACK={FIXTURE_STACK}).\n"


def test_urls_only_prints_the_url_outputs(
    fixture_project: Path, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What `make up` shows at its end. Catches: ids and the kubeconfig printed there, or a non-text *Url."""
    stand_in_pulumi(tmp_path / "path-bin", json.dumps({**STACK_OUTPUTS, "brokenUrl": ["not", "text"]}))
    assert run(["--stack", FIXTURE_STACK, "--urls"], fixture_project, home, capsys)[1] == "httpdUrl: http://nlb.example/httpd\n"


def test_the_pinned_cli_is_preferred_to_another_version_on_path(
    fixture_project: Path, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """scripts/pulumi.sh installs the pinned CLI into ~/.pulumi/versions/<version> when PATH has another version.
    Catches: reading new state with an older CLI from PATH."""
    on_path = stand_in_pulumi(tmp_path / "path-bin", "{}")
    pinned = stand_in_pulumi(home / ".pulumi" / "versions" / pinned_version() / "bin", "{}")
    assert run(["--stack", FIXTURE_STACK], fixture_project, home, capsys)[0] == 0
    assert pinned.exists()
    assert not on_path.exists()


def test_the_cli_make_up_installed_without_path_is_found(
    fixture_project: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`make up` on a machine without pulumi installs it into ~/.pulumi/bin and leaves PATH alone."""
    log = stand_in_pulumi(home / ".pulumi" / "bin", "{}")
    assert run(["--stack", FIXTURE_STACK], fixture_project, home, capsys)[0] == 0
    assert log.exists()


def test_no_cli_is_one_line_and_exit_1(fixture_project: Path, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["--stack", FIXTURE_STACK], fixture_project, home, capsys)
    assert (code, out) == (1, "")
    assert err == "make outputs: no Pulumi CLI found (PATH, ~/.pulumi/bin); make up installs the pinned one\n"


def test_a_stack_the_backend_lacks_is_one_line_and_exit_1(
    fixture_project: Path, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Catches: Pulumi's multi-line error (or a traceback from parsing it as JSON) instead of one line naming the
    backend it looked in."""
    stand_in_pulumi(tmp_path / "path-bin", f"\nerror: no stack named '{FIXTURE_STACK}' found\n", exit_code=255)
    code, out, err = run(["--stack", FIXTURE_STACK], fixture_project, home, capsys)
    assert (code, out) == (1, "")
    assert err == (
        f"make outputs: pulumi stack output failed for stack {FIXTURE_STACK} in file://{fixture_project}/.pulumi-state: "
        f"error: no stack named '{FIXTURE_STACK}' found (deployed with make up STACK={FIXTURE_STACK}? "
        "another backend: set PULUMI_BACKEND_URL)\n"
    )


def test_an_unknown_stack_is_refused_before_pulumi_runs(
    fixture_project: Path, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = stand_in_pulumi(tmp_path / "path-bin", "{}")
    code, out, err = run(["--stack", "staging"], fixture_project, home, capsys)
    assert (code, out) == (2, "")
    assert err.startswith("make outputs: no stack file Pulumi.staging.yaml; stacks: ")
    assert not log.exists()
