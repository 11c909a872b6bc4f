"""`make offline-preview STACK=<stack> OUT=<dir>`: run the program for a stack offline, write the plan, run every
analysis over it.

The pipeline, one way: the stack's files -> the program on the mock engine (offline/plan/build.py) -> plan.json
and the plan object, built once (offline/plan/query.py) -> the analyses (offline/analyses/: manifests, graph,
lifecycle rehearsal, capacity rehearsal, cost and deploy time, policy pack) -> their reports, written here
(offline/reports.py).

Writes plan.json, manifests/, graph.dot (and graph.svg), lifecycle.json, capacity.json, cost.json (cost and
deploy-time estimate), policy-pack-config.json, policy-report.json.
Exit codes: 0 success, 1 a mandatory policy violation, a broken runtime need (lifecycle) or a pool that cannot hold
its pods (capacity), 2 bad input (stack file, config, policy config, price file, instance capacity file).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from offline import reports
from offline.analyses import capacity, lifecycle
from offline.analyses.cost import CostInputError
from offline.analyses.graph import write_graph
from offline.analyses.manifests import write_manifests
from offline.analyses.policy import PolicyInputError, evaluate, load_pack_config, mandatory
from offline.analyses.prices import PriceBook, PriceError, PriceFileError, load_prices
from offline.plan.build import BadInput, build_plan
from offline.plan.engine import ProgramRun
from offline.plan.plan_file import write_plan
from offline.plan.query import PlanQuery
from offline.plan.stack_files import PROJECT_DIR


def render_tree(run: ProgramRun) -> str:
    children: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for resource in run.resources:
        children[resource["parent"]].append(resource)
    width = max(len(r["type"]) for r in run.resources) + 6
    lines = [f"     {'Type':<{width}} Name", f"Previewing update ({run.stack}), offline:"]

    def walk(parent: str | None, prefix: str) -> None:
        siblings = children.get(parent, [])
        for index, resource in enumerate(siblings):
            last = index == len(siblings) - 1
            branch = "" if parent is None else ("└─ " if last else "├─ ")
            flags = " [protect]" if resource["protect"] else ""
            lines.append(f" +   {prefix + branch + resource['type']:<{width}} {resource['name']}{flags}")
            walk(resource["urn"], prefix + ("" if parent is None else ("   " if last else "│  ")))

    walk(None, "")
    counts = Counter(resource["type"] for resource in run.resources)
    lines.append("")
    lines.append(f"Resources:\n    + {len(run.resources)} to create")
    lines.extend(f"      {count:>3} {kind}" for kind, count in sorted(counts.items()))
    lines.append("")
    lines.append("Outputs:")
    lines.extend(f"    {name}: {json.dumps(value)}" for name, value in run.outputs.items())
    if run.diagnostics:
        lines.append("")
        lines.append("Diagnostics:")
        lines.extend(f"    {message}" for message in run.diagnostics)
    return "\n".join(lines)


def estimate_lines(plan: PlanQuery, stack: str, prices: PriceBook, out: Path, project_dir: Path = PROJECT_DIR) -> list[str]:
    """The cost and deploy-time tables, and cost.json; a stack the estimate cannot price gets one line instead."""
    try:
        report, deploy = reports.estimates(plan, stack, prices, project_dir)
    except (PriceError, CostInputError) as error:
        return [f"cost estimate skipped: {error}"]
    path = reports.write_json(out, reports.COST, reports.cost_document(report, deploy))
    return [reports.cost_text(report, deploy), "", f"Wrote {path}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="offline-preview", description=__doc__)
    parser.add_argument("--stack", required=True, help="stack name; Pulumi.<stack>.yaml must exist")
    parser.add_argument("--out", required=True, type=Path, help="directory for plan.json and friends")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    project_dir = args.project_dir.resolve()
    try:
        run = build_plan(args.stack, project_dir)
        # Checked before anything is written, so a bad policy config leaves no half-written output.
        pack_config = load_pack_config(args.stack, project_dir)
        prices = load_prices()
        capacity_data = capacity.load_capacity()
    except (BadInput, PolicyInputError, PriceFileError, capacity.CapacityFileError) as error:
        print(f"offline-preview: {error}", file=sys.stderr)
        return 2
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"offline-preview: cannot use {args.out} as the output directory: {error.strerror}", file=sys.stderr)
        return 2
    print(render_tree(run))
    document = run.to_json()
    plan = PlanQuery(document)
    try:
        path = write_plan(document, args.out)
        manifests = write_manifests(plan, args.out)
        print(f"\nWrote {path} and {len(manifests)} manifests in {args.out / 'manifests'}")
        for drawing in write_graph(plan, args.out):
            print(f"Wrote {drawing}")
        print(f"Wrote {reports.write_json(args.out, reports.PACK_CONFIG, pack_config, sort_keys=True)}")
        rehearsal = lifecycle.rehearse(plan)
        print(f"Wrote {reports.write_json(args.out, reports.LIFECYCLE, rehearsal)}")
        fitting = capacity.rehearse(plan, capacity_data)
        print(f"Wrote {reports.write_json(args.out, reports.CAPACITY, fitting)}")
        print()
        print("\n".join(estimate_lines(plan, args.stack, prices, args.out, project_dir)))
        print()
        for line in lifecycle.summary(rehearsal, args.stack):
            print(line)
        for line in capacity.summary(fitting, args.stack):
            print(line)
        violations = evaluate(plan, pack_config)
        report = reports.write_json(args.out, reports.POLICY, violations)
    except reports.ReportWriteError as error:
        print(f"offline-preview: {error}", file=sys.stderr)
        return 2
    print(reports.policy_text(violations, args.stack, len(plan.resources), report))
    # A broken runtime need fails like a mandatory policy: `pulumi up` or `destroy` would fail with it. So does a pool
    # that cannot hold its pods: `pulumi up` would wait out the Helm or await timeout on a Pending pod.
    return 1 if mandatory(violations) or rehearsal["broken"] or fitting["broken"] else 0


if __name__ == "__main__":
    sys.exit(main())
