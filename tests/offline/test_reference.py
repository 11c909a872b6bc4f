"""`make docs-reference`: docs/configuration.md and docs/policies.md follow their one source, and drift is one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from offline.plan.stack_files import config_schema
from offline.reference import PAGES, STALE, configuration_page, main, policies_page
from policies.eks_policies import ALL_POLICIES
from tests.conftest import ROOT


def project(tmp_path: Path) -> Path:
    """Pulumi.yaml and the pack's environment levels as copies (the tests edit them), the pack itself linked."""
    copy = tmp_path / "project"
    (copy / "policies" / "config").mkdir(parents=True)
    shutil.copy(ROOT / "Pulumi.yaml", copy / "Pulumi.yaml")
    shutil.copytree(ROOT / "policies" / "config" / "environments", copy / "policies" / "config" / "environments")
    return copy


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_every_key_and_every_rule_has_its_row() -> None:
    """Catches: a key added to Pulumi.yaml or a rule added to the pack that the reference leaves out."""
    configuration, policies = configuration_page(ROOT), policies_page(ROOT)
    assert all(f"| `{key}` |" in configuration for key in config_schema(ROOT))
    assert all(f"| `{policy.name}` |" in policies for policy in ALL_POLICIES)


def test_the_pages_pass_the_check_until_their_source_changes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A description edited in Pulumi.yaml, or a rule's level in an environment's config, makes the check fail in one
    line naming the command. Catches: hand-edited reference pages drifting from the program or the pack."""
    copy = project(tmp_path)
    argv = ["--project-dir", str(copy)]
    assert run(argv, capsys)[0] == 0
    assert run([*argv, "--check"], capsys) == (0, "docs reference pages are current\n", "")
    schema = copy / "Pulumi.yaml"
    schema.write_text(schema.read_text().replace("AWS region of every resource", "The AWS region"))
    assert run([*argv, "--check"], capsys) == (1, "", f"docs-reference: {PAGES[0]} {STALE}\n")
    assert run(argv, capsys)[0] == 0
    staging = copy / "policies" / "config" / "environments" / "staging.json"
    staging.write_text(staging.read_text().replace('"mandatory"', '"advisory"', 1))
    assert run([*argv, "--check"], capsys) == (1, "", f"docs-reference: {PAGES[1]} {STALE}\n")


def test_the_shipped_pages_are_current() -> None:
    """Pulumi.yaml and the pack are the project's own (not a user's stack): their pages must match in every checkout."""
    for name, text in {PAGES[0]: configuration_page(ROOT), PAGES[1]: policies_page(ROOT)}.items():
        assert (ROOT / name).read_text() == text, f"{name} {STALE}"
