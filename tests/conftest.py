from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from offline.engine import run
from offline.plan_query import PlanQuery
from offline.preview import build_plan
from offline.stack_config import available_stacks

ROOT = Path(__file__).resolve().parent.parent
# Every stack file: a new Pulumi.<stack>.yaml is tested like the shipped ones, with nothing else to edit.
STACKS = tuple(available_stacks(ROOT))


def run_component(program: Callable[[], object]) -> PlanQuery:
    """Declare one component (and whatever it needs) on the mock engine and return its plan."""
    return PlanQuery(run(program, "eks-platform", "test", {}, "eu-central-1").to_json())


_plans: dict[tuple[str, str, bool | None], PlanQuery] = {}


def stack_plan(stack: str, ingress_controller: str = "", demo_workloads: bool | None = None) -> PlanQuery:
    """The stack's plan, optionally with another ingress controller or the demo workloads switched on or off."""
    key = (stack, ingress_controller, demo_workloads)
    if key not in _plans:
        overrides = {"eks-platform:ingressController": ingress_controller} if ingress_controller else {}
        if demo_workloads is not None:
            overrides["eks-platform:demoWorkloads"] = "true" if demo_workloads else "false"
        _plans[key] = PlanQuery(build_plan(stack, overrides=overrides).to_json())
    return _plans[key]


@pytest.fixture(scope="session")
def dev() -> PlanQuery:
    return stack_plan("dev")


@pytest.fixture(scope="session")
def prod() -> PlanQuery:
    return stack_plan("prod")
