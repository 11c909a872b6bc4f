"""`make offline-preview STACK=<stack> OUT=<dir>`: run the program for a stack offline, write the plan, check policies.

Writes plan.json, manifests/, graph.dot (and graph.svg), lifecycle.json, cost.json (cost and deploy-time
estimate), policy-report.json.
Exit codes: 0 success, 1 a mandatory policy violation or a broken runtime need (lifecycle), 2 bad input (stack
file, config, policy config, price file).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from offline import lifecycle
from offline.analyses.graph import write_graph
from offline.analyses.manifests import write_manifests
from offline.analyses.prices import PriceFileError, load_prices
from offline.cost import preview_lines
from offline.plan.engine import MOCK_DEPLOYER_ROLE, Plan, run_program
from offline.plan.stack_files import StackFileError, project_name, stack_config
from offline.policy_config import write_pack_config
from offline.policy_run import PolicyInputError, check_plan, load_pack_config

PROJECT_DIR = Path(__file__).resolve().parent.parent


class BadInput(Exception):
    """A user mistake: printed as one line, exit code 2."""


def build_plan(
    stack: str,
    project_dir: Path = PROJECT_DIR,
    overrides: dict[str, str] | None = None,
    deployer_arn: str = MOCK_DEPLOYER_ROLE,
) -> Plan:
    """The stack's plan as `deployer_arn` runs it; `overrides` (full config keys) replace stack file values."""
    # Imported here so that importing this module does not import the program's settings.
    from settings import ConfigError

    try:
        project = project_name(project_dir)
        config = stack_config(project_dir, stack) | (overrides or {})
        return run_program(project_dir, project, stack, config, config.get(f"{project}:region", ""), deployer_arn)
    except (StackFileError, ConfigError) as error:
        raise BadInput(str(error)) from None


def render_tree(plan: Plan) -> str:
    children: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for resource in plan.resources:
        children[resource["parent"]].append(resource)
    width = max(len(r["type"]) for r in plan.resources) + 6
    lines = [f"     {'Type':<{width}} Name", f"Previewing update ({plan.stack}), offline:"]

    def walk(parent: str | None, prefix: str) -> None:
        siblings = children.get(parent, [])
        for index, resource in enumerate(siblings):
            last = index == len(siblings) - 1
            branch = "" if parent is None else ("└─ " if last else "├─ ")
            flags = " [protect]" if resource["protect"] else ""
            lines.append(f" +   {prefix + branch + resource['type']:<{width}} {resource['name']}{flags}")
            walk(resource["urn"], prefix + ("" if parent is None else ("   " if last else "│  ")))

    walk(None, "")
    counts = Counter(resource["type"] for resource in plan.resources)
    lines.append("")
    lines.append(f"Resources:\n    + {len(plan.resources)} to create")
    lines.extend(f"      {count:>3} {kind}" for kind, count in sorted(counts.items()))
    lines.append("")
    lines.append("Outputs:")
    lines.extend(f"    {name}: {json.dumps(value)}" for name, value in plan.outputs.items())
    if plan.diagnostics:
        lines.append("")
        lines.append("Diagnostics:")
        lines.extend(f"    {message}" for message in plan.diagnostics)
    return "\n".join(lines)


def write_plan(plan_json: dict[str, Any], out: Path) -> Path:
    path = out / "plan.json"
    path.write_text(json.dumps(plan_json, indent=2) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="offline-preview", description=__doc__)
    parser.add_argument("--stack", required=True, help="stack name; Pulumi.<stack>.yaml must exist")
    parser.add_argument("--out", required=True, type=Path, help="directory for plan.json and friends")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    project_dir = args.project_dir.resolve()
    try:
        plan = build_plan(args.stack, project_dir)
        # Checked before anything is written, so a bad policy config leaves no half-written output.
        pack_config = load_pack_config(args.stack, project_dir)
        prices = load_prices()
    except (BadInput, PolicyInputError, PriceFileError) as error:
        print(f"offline-preview: {error}", file=sys.stderr)
        return 2
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"offline-preview: cannot use {args.out} as the output directory: {error.strerror}", file=sys.stderr)
        return 2
    print(render_tree(plan))
    plan_json = plan.to_json()
    path = write_plan(plan_json, args.out)
    manifests = write_manifests(plan_json, args.out)
    print(f"\nWrote {path} and {len(manifests)} manifests in {args.out / 'manifests'}")
    for drawing in write_graph(plan_json, args.out):
        print(f"Wrote {drawing}")
    print(f"Wrote {write_pack_config(pack_config, args.out)}")
    rehearsal = lifecycle.rehearse(plan_json)
    print(f"Wrote {lifecycle.write_report(rehearsal, args.out)}")
    print()
    print("\n".join(preview_lines(plan_json, args.stack, prices, args.out, project_dir)))
    print()
    for line in lifecycle.summary(rehearsal, args.stack):
        print(line)
    policy_verdict = check_plan(plan_json, args.stack, args.out, project_dir=project_dir)
    # A broken runtime need fails like a mandatory policy: `pulumi up` or `destroy` would fail with it.
    return max(policy_verdict, 1 if rehearsal["broken"] else 0)


if __name__ == "__main__":
    sys.exit(main())
