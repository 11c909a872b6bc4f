"""`make policy-check PLAN=<plan.json> STACK=<stack>`: run the policy pack over an offline plan, as the CLI would.

`pulumi preview --policy-pack policies --policy-pack-config <file>` is the real thing; it needs the CLI. The file
is the stack's pack config: its environment's levels, then the stack's own overrides. The evaluation is
offline/analyses/policy.py; this command reads the plan, evaluates it, prints the verdict and writes
policy-report.json (policy-report.<stack>.json for another stack's plan).

Exit codes: 0 no mandatory violation, 1 at least one mandatory violation, 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from offline import reports
from offline.analyses.policy import PolicyInputError, evaluate, load_pack_config, mandatory
from offline.plan.plan_file import PlanFileError, read_plan, report_name_for
from offline.plan.query import PlanQuery


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="policy-check", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--plan", required=True, type=Path, help="plan.json written by `make offline-preview`")
    parser.add_argument("--stack", required=True, help="stack whose pack config applies (its environment's, then its own)")
    parser.add_argument("--out", type=Path, help=f"directory for {reports.POLICY} (none written without it)")
    args = parser.parse_args(argv)
    try:
        document = read_plan(args.plan)
        pack_config = load_pack_config(args.stack)
        name = report_name_for(
            document,
            args.plan,
            args.stack,
            reports.POLICY,
            "policy-check",
            f"checked with stack {args.stack!r}'s policies",
            writes=args.out is not None,
        )
        plan = PlanQuery(document)
        violations = evaluate(plan, pack_config)
        report = reports.write_json(args.out, name, violations) if args.out is not None else None
        print(reports.policy_text(violations, args.stack, len(plan.resources), report))
    except (PlanFileError, PolicyInputError, reports.ReportWriteError) as error:
        print(f"policy-check: {error}", file=sys.stderr)
        return 2
    return 1 if mandatory(violations) else 0


if __name__ == "__main__":
    sys.exit(main())
