"""The JSON reports the commands write next to plan.json: their names, and the one way they are written.

A command builds or reads the plan (offline/plan/), hands the plan object to the analyses (offline/analyses/) and
writes what they return through here; no analysis writes a report of its own.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any, Final

from offline.analyses.cost import CostReport, estimate, render_table, stack_assumptions
from offline.analyses.deploy_time import DeployEstimate, critical_path, load_durations
from offline.analyses.policy import Violation, verdict, violation_line
from offline.analyses.prices import PriceBook
from offline.plan.query import PlanQuery
from offline.plan.stack_files import PROJECT_DIR

COST: Final = "cost.json"
LIFECYCLE: Final = "lifecycle.json"
CAPACITY: Final = "capacity.json"
POLICY: Final = "policy-report.json"
PACK_CONFIG: Final = "policy-pack-config.json"


class ReportWriteError(Exception):
    """A report that could not be written; the message is one line naming the file."""


def write_json(out_dir: Path, name: str, payload: Any, *, sort_keys: bool = False) -> Path:
    path = out_dir / name
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload, indent=2, sort_keys=sort_keys) + "\n")
    except OSError as error:
        raise ReportWriteError(f"cannot write {path}: {error.strerror or error}") from None
    return path


def cost_document(report: CostReport, deploy: DeployEstimate) -> dict[str, Any]:
    """cost.json: the monthly estimate and, under deployTime, the first `pulumi up`'s critical path."""
    return {**report.to_json(), "deployTime": deploy.to_json()}


def cost_text(report: CostReport, deploy: DeployEstimate) -> str:
    return f"{render_table(report)}\n\n{deploy.render()}"


def policy_text(violations: list[Violation], stack: str, resource_count: int, report: Path | None) -> str:
    """Each violation, then the verdict of `stack`'s policies over the plan (and where the report went)."""
    written = f"; report {report}" if report is not None else ""
    summary = f"policy-check {stack}: {verdict(violations)} violation(s) over {resource_count} resources{written}"
    return "\n".join([*(violation_line(violation) for violation in violations), summary])


def estimates(
    plan: PlanQuery, stack: str, prices: PriceBook, project_dir: Path = PROJECT_DIR, on: date | None = None
) -> tuple[CostReport, DeployEstimate]:
    """What cost.json holds: the cost with `stack`'s usage assumptions, and the first `pulumi up`'s critical path."""
    return estimate(plan, prices, stack_assumptions(stack, project_dir), on), critical_path(plan, load_durations())
