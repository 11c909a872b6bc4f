"""`make help`, the default target: every command the Makefile offers, on one screen."""

from __future__ import annotations

import re
import subprocess

from tests.conftest import ROOT

# A terminal's first screen: 24 lines of 120 columns.
SCREEN_LINES, SCREEN_COLUMNS = 24, 120


def phony_targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    declared = re.search(r"^\.PHONY:(.*)$", makefile, re.MULTILINE)
    assert declared is not None
    return set(declared.group(1).split()) - {"help"}


def help_text(*arguments: str) -> str:
    return subprocess.run(
        ["make", "--no-print-directory", "-s", *arguments], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def test_make_alone_prints_the_help() -> None:
    """Catches: a default goal that runs something (the first target in the file) instead of listing commands."""
    assert help_text() == help_text("help")


def test_the_help_names_every_command_and_fits_one_screen() -> None:
    """Catches: a target added to the Makefile that `make help` never mentions, or a help that scrolls away."""
    text = help_text("help")
    lines = text.splitlines()
    named = {word for line in lines for word in re.findall(r"(?:make\s+|\|\s*)([a-z][a-z-]*)", line)}
    assert phony_targets() - named == set()
    assert len(lines) <= SCREEN_LINES
    assert max(len(line) for line in lines) <= SCREEN_COLUMNS
