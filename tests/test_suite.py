"""The suite itself: a skipped test says why (pytest prints it, `-rs` in pyproject.toml), so a reader of
`make test`'s summary knows what was not checked and what would check it."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT


def skips_without_reason(source: str) -> list[int]:
    """Lines of `pytest.skip(...)` without a message and `pytest.mark.skipif(...)`/`skip(...)` without `reason=`."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        called, owner = node.func.attr, ast.unparse(node.func.value)
        if owner == "pytest" and called == "skip" and not (node.args or node.keywords):
            lines.append(node.lineno)
        if owner == "pytest.mark" and called in {"skip", "skipif"} and "reason" not in {k.arg for k in node.keywords}:
            lines.append(node.lineno)
    return lines


def test_the_check_finds_a_skip_without_reason() -> None:
    source = "import pytest\nA = pytest.mark.skipif(True)\nB = pytest.mark.skipif(True, reason='x')\npytest.skip()\n"
    assert skips_without_reason(source) == [2, 4]


def test_every_skip_in_the_suite_says_why() -> None:
    """Catches: a test skipped silently (`pytest.skip()`, a skipif without reason) that reads as passed."""
    found = {
        str(path.relative_to(ROOT)): lines
        for path in sorted(Path(ROOT / "tests").rglob("*.py"))
        if (lines := skips_without_reason(path.read_text()))
    }
    assert found == {}
