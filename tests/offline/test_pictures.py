"""`make docs-pictures` and its check (make check-generated): README's pictures follow the dev stack's plan."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from offline.pictures import PICTURES, STALE, main
from tests.conftest import FROZEN_STACKS, link_program


def project(tmp_path: Path) -> Path:
    copy = link_program(tmp_path / "project")
    (copy / "docs").mkdir()
    (copy / "Pulumi.dev.yaml").write_text((FROZEN_STACKS / "Pulumi.dev.yaml").read_text())
    return copy


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot draws the pictures")
def test_drawn_pictures_pass_the_check_until_a_stack_edit_adds_a_component(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Catches: a picture that lacks a component (the log-group sweeper once) passing, or a fresh one refused."""
    copy = project(tmp_path)
    argv = ["--project-dir", str(copy)]
    assert run(argv, capsys)[0] == 0
    assert all((copy / path).exists() for path in PICTURES.values())
    assert run([*argv, "--check"], capsys) == (0, "docs pictures show the dev stack as it is\n", "")
    stack_file = copy / "Pulumi.dev.yaml"
    pool = "    batch: {instanceTypes: [m6i.large], minSize: 0, desiredSize: 0, maxSize: 2}\n"
    stack_file.write_text(stack_file.read_text().replace("  eks-platform:demoWorkloads", pool + "  eks-platform:demoWorkloads"))
    code, out, err = run([*argv, "--check"], capsys)
    assert (code, out) == (1, "")
    assert err == f"docs-pictures: {STALE} (first missing: docs/overview-dev.svg: nodes-batch)\n"


def test_missing_pictures_are_stale_and_a_bad_stack_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = project(tmp_path)
    code, _, err = run(["--project-dir", str(copy), "--check"], capsys)
    assert code == 1 and err.startswith(f"docs-pictures: {STALE} (first missing: docs/overview-dev.svg: ")
    (copy / "Pulumi.dev.yaml").write_text("config:\n  eks-platform:region: mars-1\n")
    code, _, err = run(["--project-dir", str(copy), "--check"], capsys)
    assert code == 2 and err.count("\n") == 1 and "eks-platform:region" in err
