"""`make docs-pictures`: README's pictures of the dev stack (docs/overview-dev.svg, docs/graph-dev.svg), drawn from
its plan by the offline preview's graph; `--check` (make check-generated, run by CI) says in one line when they no
longer show the dev stack as it is (a component or resource added, renamed or removed).

The check compares the names the pictures show with the plan's, not bytes: Graphviz versions lay out differently.
Exit codes: 0 done or current, 1 stale pictures (--check), 2 bad input (the stack, no Graphviz for --update).
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from pathlib import Path

from offline.analyses.graph import STACK_TYPE, write_graph
from offline.plan.build import BadInput, build_plan
from offline.plan.query import PlanQuery
from offline.plan.stack_files import PROJECT_DIR

STACK = "dev"
PICTURES = {"overview": "docs/overview-dev.svg", "graph": "docs/graph-dev.svg"}
STALE = "docs/overview-dev.svg or docs/graph-dev.svg no longer shows the dev stack as it is; run `make docs-pictures`"


def shown_names(svg: str) -> set[str]:
    """The text labels of an SVG Graphviz drew, with its escapes undone."""
    return {label.replace("&#45;", "-").replace("&amp;", "&") for label in re.findall(r">([^<>]+)</text>", svg)}


def missing_from_pictures(plan: PlanQuery, project_dir: Path) -> list[str]:
    """Names the plan has and the pictures lack: the top-level components in the overview, every resource in the graph."""
    stack = next(r["urn"] for r in plan.resources if r["type"] == STACK_TYPE)
    wanted = {
        "overview": {r["name"] for r in plan.resources if r["parent"] == stack},
        "graph": {r["name"] for r in plan.resources if r["custom"]},
    }
    missing: list[str] = []
    for kind, path in PICTURES.items():
        picture = project_dir / path
        shown = shown_names(picture.read_text(encoding="utf-8")) if picture.exists() else set()
        missing.extend(f"{path}: {name}" for name in sorted(wanted[kind] - shown))
    return missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="docs-pictures", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="exit 1 with one line when the pictures are stale")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        plan = PlanQuery(build_plan(STACK, args.project_dir).to_json())
    except BadInput as error:
        print(f"docs-pictures: {error}", file=sys.stderr)
        return 2
    if args.check:
        missing = missing_from_pictures(plan, args.project_dir)
        if missing:
            print(f"docs-pictures: {STALE} (first missing: {missing[0]})", file=sys.stderr)
            return 1
        print("docs pictures show the dev stack as it is")
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        written = write_graph(plan, Path(scratch))
        drawn = {path.stem: path for path in written if path.suffix == ".svg"}
        if set(drawn) != set(PICTURES):
            print("docs-pictures: Graphviz's `dot` is needed to draw the pictures (apt-get install graphviz)", file=sys.stderr)
            return 2
        for kind, path in PICTURES.items():
            shutil.copyfile(drawn[kind], args.project_dir / path)
            print(f"Wrote {args.project_dir / path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
