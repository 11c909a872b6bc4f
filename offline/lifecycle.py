"""`python -m offline.lifecycle --plan out/<stack>/plan.json`: the lifecycle rehearsal of a plan file
(offline/analyses/lifecycle.py); `make offline-preview` runs it too and writes lifecycle.json.

Exit codes: 0 every runtime need holds, 1 a need is broken (one line each), 2 a plan it cannot read (one line).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from offline.analyses.lifecycle import rehearse, summary
from offline.plan.plan_file import PlanFileError, read_plan
from offline.plan.query import PlanQuery


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lifecycle", description=__doc__)
    parser.add_argument("--plan", required=True, type=Path, help="plan.json written by `make offline-preview`")
    args = parser.parse_args(argv)
    try:
        plan = PlanQuery(read_plan(args.plan))
        report = rehearse(plan)
    except (PlanFileError, ValueError, KeyError, TypeError) as error:
        print(f"lifecycle: cannot rehearse {args.plan}: {error}", file=sys.stderr)
        return 2
    for line in summary(report, plan.stack or "?"):
        print(line)
    return 1 if report["broken"] else 0


if __name__ == "__main__":
    sys.exit(main())
