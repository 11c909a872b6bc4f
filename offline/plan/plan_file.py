"""plan.json: the one file every offline tool reads, its markers, and its shape.

`offline.plan.engine` writes it (through `ProgramRun.to_json`); the commands read it back here, and the shape is
checked once, on reading, so that every analysis can trust the fields it uses.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

# How the engine records values it cannot show: a secret stays masked, an output only known after deployment.
SECRET: Final = "[secret]"
UNKNOWN: Final = "[unknown]"
FILE_NAME: Final = "plan.json"


class PlanFileError(Exception):
    """A plan file that cannot be read or is not what the offline preview writes; the message is one line."""


# Required fields of each plan resource and their JSON types (None allowed where the engine records no value).
_RESOURCE_FIELDS: Final[Mapping[str, tuple[type, ...]]] = {
    "urn": (str,),
    "type": (str,),
    "name": (str,),
    "inputs": (dict,),
    "provider": (str, type(None)),
}


def check_plan_shape(plan: Any) -> None:
    """Raise PlanFileError naming the first thing that does not match the plan.json the offline preview writes."""
    if not isinstance(plan, dict):
        raise PlanFileError(f"plan must be a JSON object with 'resources', got {type(plan).__name__}")
    resources = plan.get("resources")
    if not isinstance(resources, list):
        raise PlanFileError("plan has no 'resources' list")
    for index, resource in enumerate(resources):
        if not isinstance(resource, dict):
            raise PlanFileError(f"plan resources[{index}] is not an object")
        for field, types in _RESOURCE_FIELDS.items():
            if field not in resource:
                raise PlanFileError(f"plan resources[{index}] has no '{field}'")
            if not isinstance(resource[field], types):
                raise PlanFileError(f"plan resources[{index}].{field} has the wrong type ({type(resource[field]).__name__})")
        if not isinstance(resource.get("providers", {}), dict):
            raise PlanFileError(f"plan resources[{index}].providers is not an object")


def read_plan(path: Path) -> dict[str, Any]:
    """The plan document in `path`, its shape checked."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        folder = path.parent.name or "."
        raise PlanFileError(
            f"cannot read plan {path}: No such file or directory; the offline preview writes it "
            f"(make offline-preview STACK={folder} OUT={path.parent})"
        ) from None
    except OSError as error:
        raise PlanFileError(f"cannot read plan {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise PlanFileError(f"plan {path} is not JSON (not UTF-8 text)") from None
    try:
        plan = json.loads(text)
    except ValueError as error:
        raise PlanFileError(f"plan {path} is not JSON: {error}") from None
    check_plan_shape(plan)
    return plan  # type: ignore[no-any-return]


def write_plan(plan: Mapping[str, Any], out: Path) -> Path:
    path = out / FILE_NAME
    path.write_text(json.dumps(plan, indent=2) + "\n")
    return path


def report_name_for(
    plan: Mapping[str, Any], plan_path: Path, stack: str, report: str, tool: str, applied: str, writes: bool
) -> str:
    """`report` (e.g. cost.json), unless the plan is another stack's: then one warning line (`applied` says what of
    `stack` was used), and a name with the stack in it (cost.prod.json), so the plan's own stack keeps its report."""
    plan_stack = plan.get("stack")
    if not isinstance(plan_stack, str) or plan_stack == stack:
        return report
    stem, _, suffix = report.rpartition(".")
    name = f"{stem}.{stack}.{suffix}"
    kept = f"; writing {name}, so {plan_stack}'s own {report} stays as it is" if writes else ""
    print(
        f"{tool}: warning: {plan_path} is a plan of stack {plan_stack!r}, {applied}{kept}",
        file=sys.stderr,
    )
    return name
