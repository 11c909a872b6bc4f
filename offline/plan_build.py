"""Build the offline plans of one project tree with that tree's own offline toolkit (run by offline.diff).

    python <tree>/offline/plan_build.py --project-dir <tree> --out <dir> --stack dev --stack prod

Writes <dir>/<stack>.json (plan.json's content) per stack. `make diff` runs each tree's own copy of this file, by
path, not with -m: it puts the tree first on sys.path, in place of this file's directory, and only then imports the
tree's plan builder. So the program, its settings and components, and the engine and mock answers that run them all
come from that tree, as `make offline-preview` there would. Two trees cannot share a process: the first one's modules
would stay in sys.modules. This file's path, arguments and exit codes are what every tree's `make diff` relies on:
they never change.
Exit codes: 0 written, 2 bad input in that tree (one line on stderr), 3 the program fails offline there.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="plan-build", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project-dir", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--stack", required=True, action="append", dest="stacks")
    args = parser.parse_args(argv)
    project_dir = args.project_dir.resolve()
    sys.path[0] = str(project_dir)

    from offline.plan.build import BadInput, build_plan
    from offline.plan.engine import ProgramError

    args.out.mkdir(parents=True, exist_ok=True)
    for stack in args.stacks:
        try:
            plan = build_plan(stack, project_dir)
        except BadInput as error:
            print(f"stack {stack}: {error}", file=sys.stderr)
            return 2
        except ProgramError as error:
            print(f"stack {stack}: the program fails offline: {error}", file=sys.stderr)
            return 3
        (args.out / f"{stack}.json").write_text(json.dumps(plan.to_json()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
