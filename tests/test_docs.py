"""README is the entry: every docs page is linked from it, and every link to docs/ leads to a page that exists."""

from __future__ import annotations

import re

from tests.conftest import ROOT

LINK = re.compile(r"\]\((docs/[^)#]+)")


def test_every_docs_page_is_linked_from_readme_and_every_link_resolves() -> None:
    """Catches: a page moved to docs/ that nobody can find, or a README link to a page that was renamed."""
    linked = set(LINK.findall((ROOT / "README.md").read_text()))
    pages = {f"docs/{path.name}" for path in (ROOT / "docs").glob("*.md")}
    assert pages - linked == set(), "not linked from README"
    assert {link for link in linked if not (ROOT / link).exists()} == set()


def test_links_between_docs_pages_resolve() -> None:
    for page in (ROOT / "docs").glob("*.md"):
        for target in re.findall(r"\]\(([a-z-]+\.(?:md|svg))", page.read_text()):
            assert (ROOT / "docs" / target).exists(), f"{page.name} links {target}"
