"""`python -m offline.policy_config`: the pack config file `make up` / `make preview` hand to the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from offline.analyses.policy import environment_pack_config, merge_pack_configs
from offline.policy_config import main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(("stack", "environment"), [("dev", "dev"), ("prod", "prod")])
def test_writes_the_stacks_environment_levels(
    stack: str, environment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["--stack", stack, "--out", str(tmp_path)], capsys)
    assert (code, err) == (0, "")
    path = tmp_path / "policy-pack-config.json"
    assert out.strip() == str(path)
    assert json.loads(path.read_text()) == environment_pack_config(environment)


def test_unknown_stack_exits_2_with_one_line_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["--stack", "no-such-stack", "--out", str(tmp_path / "out")], capsys)
    assert (code, out) == (2, "")
    assert err.startswith("policy-config: no stack file Pulumi.no-such-stack.yaml") and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_unwritable_output_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("")
    code, _, err = run(["--stack", "dev", "--out", str(blocker / "out")], capsys)
    assert code == 2 and err.startswith("policy-config: cannot write into") and err.count("\n") == 1


def test_merge_adjusts_each_policy_entry() -> None:
    base = {"all": "advisory", "a": "mandatory", "b": {"enforcementLevel": "mandatory", "limit": 5}, "c": "disabled"}
    override = {"a": {"limit": 1}, "b": "advisory", "d": "mandatory", "all": "mandatory"}
    assert merge_pack_configs(base, override) == {
        "all": {"enforcementLevel": "mandatory"},
        "a": {"enforcementLevel": "mandatory", "limit": 1},
        "b": {"enforcementLevel": "advisory", "limit": 5},
        "c": "disabled",
        "d": "mandatory",
    }


def test_merge_leaves_a_malformed_entry_for_validation_to_refuse() -> None:
    assert merge_pack_configs({"a": "mandatory"}, {"a": 1}) == {"a": 1}


def test_print_environment_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run(["--stack", "prod", "--print-environment"], capsys) == (0, "prod\n", "")
    assert list(tmp_path.iterdir()) == []


def test_print_environment_of_a_broken_stack_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "Pulumi.yaml").symlink_to(Path(__file__).resolve().parents[2] / "Pulumi.yaml")
    (tmp_path / "Pulumi.qa.yaml").write_text("config:\n  eks-platform:environment: prod\n  eks-platform:environment: dev\n")
    code, out, err = run(["--stack", "qa", "--print-environment", "--project-dir", str(tmp_path)], capsys)
    assert (code, out) == (2, "")
    assert (
        err == "policy-config: Pulumi.qa.yaml: key 'eks-platform:environment' is written twice (lines 2 and 3); "
        "the Pulumi CLI refuses a key written twice\n"
    )
