from __future__ import annotations

from collections.abc import Callable

import pytest

from offline.engine import MOCK_DEPLOYER_ROLE, run
from offline.plan_query import PlanQuery
from offline.preview import build_plan


def run_component(program: Callable[[], object], deployer_arn: str = MOCK_DEPLOYER_ROLE) -> PlanQuery:
    """Declare one component (and whatever it needs) on the mock engine, run by `deployer_arn`, and return its plan."""
    return PlanQuery(run(program, "eks-platform", "test", {}, "eu-central-1", deployer_arn).to_json())


_plans: dict[tuple[str, str], PlanQuery] = {}


def stack_plan(stack: str, ingress_controller: str = "") -> PlanQuery:
    """The stack's plan, optionally with the other ingress controller selected."""
    key = (stack, ingress_controller)
    if key not in _plans:
        overrides = {"eks-platform:ingressController": ingress_controller} if ingress_controller else {}
        _plans[key] = PlanQuery(build_plan(stack, overrides=overrides).to_json())
    return _plans[key]


@pytest.fixture(scope="session")
def dev() -> PlanQuery:
    return stack_plan("dev")


@pytest.fixture(scope="session")
def prod() -> PlanQuery:
    return stack_plan("prod")
