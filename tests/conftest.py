from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from offline.plan.build import build_plan
from offline.plan.engine import MOCK_DEPLOYER_ROLE, run
from offline.plan.query import PlanQuery
from offline.plan.stack_files import available_stacks

ROOT = Path(__file__).resolve().parent.parent
# Every stack file: a new Pulumi.<stack>.yaml is tested like the shipped ones, with nothing else to edit. Tests over
# these check only what must hold for any valid stack; a team edits them.
STACKS = tuple(available_stacks(ROOT))
_PROGRAM = ("Pulumi.yaml", "__main__.py", "settings.py", "components", "policies")
# Frozen copies of the shipped stacks, owned by the tests: behaviour is tested on these (names, sizes, figures), so
# that a team's edit of Pulumi.dev.yaml or Pulumi.prod.yaml leaves those tests as they are.
FROZEN_STACKS = ROOT / "tests" / "fixtures" / "stacks"


def link_program(project: Path) -> Path:
    """`project` made a copy of this checkout's program and policy levels (symlinks), with no stack file."""
    project.mkdir(parents=True, exist_ok=True)
    for name in _PROGRAM:
        (project / name).symlink_to(ROOT / name)
    return project


def _frozen_project() -> Path:
    project = link_program(Path(tempfile.mkdtemp(prefix="frozen-stacks-")) / "project")
    atexit.register(shutil.rmtree, project.parent, True)
    for stack_file in FROZEN_STACKS.glob("Pulumi.*.yaml"):
        (project / stack_file.name).symlink_to(stack_file)
    return project


# The program with the frozen stacks dev, prod and karpenter-example, for commands given --project-dir.
FROZEN_PROJECT = _frozen_project()


def run_component(program: Callable[[], object], deployer_arn: str = MOCK_DEPLOYER_ROLE) -> PlanQuery:
    """Declare one component (and whatever it needs) on the mock engine, run by `deployer_arn`, and return its plan."""
    return PlanQuery(run(program, "eks-platform", "test", {}, "eu-central-1", deployer_arn).to_json())


_plans: dict[tuple[Path, str, str, bool | None], PlanQuery] = {}


def _plan(project: Path, stack: str, ingress_controller: str, demo_workloads: bool | None) -> PlanQuery:
    key = (project, stack, ingress_controller, demo_workloads)
    if key not in _plans:
        overrides = {"eks-platform:ingressController": ingress_controller} if ingress_controller else {}
        if demo_workloads is not None:
            overrides["eks-platform:demoWorkloads"] = "true" if demo_workloads else "false"
        _plans[key] = PlanQuery(build_plan(stack, project, overrides=overrides).to_json())
    return _plans[key]


def stack_plan(stack: str, ingress_controller: str = "", demo_workloads: bool | None = None) -> PlanQuery:
    """The plan of the user's stack file, optionally with another ingress controller or the demo workloads on/off."""
    return _plan(ROOT, stack, ingress_controller, demo_workloads)


def frozen_plan(stack: str, ingress_controller: str = "", demo_workloads: bool | None = None) -> PlanQuery:
    """The same for a frozen copy of a shipped stack (dev, prod, karpenter-example)."""
    return _plan(FROZEN_PROJECT, stack, ingress_controller, demo_workloads)


# The Karpenter example with a third, untainted pool: the demo workloads then run on Karpenter's nodes.
KARPENTER_WORKLOAD_POOLS = {
    "system": {"instanceTypes": ["m6i.large"], "minSize": 2, "desiredSize": 2, "maxSize": 3},
    "general": {"instanceTypes": ["m6i.large", "m7i.large"], "maxSize": 4},
    "graviton-spot": {
        "instanceTypes": ["m7g.large"],
        "capacityType": "SPOT",
        "maxSize": 4,
        "taints": [{"key": "workload-class", "value": "batch", "effect": "NoSchedule"}],
    },
}
# Three managed pools under the cluster autoscaler: the demo runs on `general` (one group per zone, from zero).
MANAGED_POOLS = {
    "system": {"instanceTypes": ["t3.medium"], "minSize": 1, "desiredSize": 2, "maxSize": 3},
    "general": {
        "instanceTypes": ["m6i.large"],
        "minSize": 0,
        "desiredSize": 0,
        "maxSize": 6,
        "perZone": True,
        "labels": {"example.com/team": "web"},
    },
    "graviton-spot": {
        "instanceTypes": ["m7g.large", "c7g.large"],
        "capacityType": "SPOT",
        "minSize": 0,
        "desiredSize": 0,
        "maxSize": 3,
        "taints": [{"key": "workload-class", "value": "batch", "effect": "NoSchedule"}],
    },
}
_pool_plans: dict[str, PlanQuery] = {}


def _pool_plan(stack: str, pools: dict[str, object]) -> PlanQuery:
    key = f"{stack}:{json.dumps(pools, sort_keys=True)}"
    if key not in _pool_plans:
        overrides = {"eks-platform:nodeGroups": json.dumps(pools)}
        _pool_plans[key] = PlanQuery(build_plan(stack, FROZEN_PROJECT, overrides=overrides).to_json())
    return _pool_plans[key]


def karpenter_workload_plan() -> PlanQuery:
    return _pool_plan("karpenter-example", KARPENTER_WORKLOAD_POOLS)


def managed_pools_plan() -> PlanQuery:
    return _pool_plan("dev", MANAGED_POOLS)


# A stack file the tests own, frozen from the shipped dev stack: tests of a tool's behaviour run on it, so that a team's
# edit of Pulumi.dev.yaml (another region, instance type or pool) leaves them as they are.
FIXTURE_STACK = "fixture"
FIXTURE_STACK_FILE = """config:
  eks-platform:environment: dev
  eks-platform:region: eu-central-1
  eks-platform:availabilityZones: [eu-central-1a, eu-central-1b, eu-central-1c]
  eks-platform:publicAccessCidrs: [203.0.113.0/24]
  eks-platform:nodeGroups:
    system: {instanceTypes: [t3.medium, t3a.medium], capacityType: SPOT, minSize: 1, desiredSize: 2, maxSize: 3}
  eks-platform:demoWorkloads: true
"""


def make_fixture_project(parent: Path, stack_file: str = FIXTURE_STACK_FILE) -> Path:
    """This checkout's program and policy levels in `parent`/project with only `Pulumi.fixture.yaml` (`stack_file`)."""
    project = link_program(parent / "project")
    (project / f"Pulumi.{FIXTURE_STACK}.yaml").write_text(stack_file)
    return project


@pytest.fixture
def fixture_project(tmp_path: Path) -> Path:
    return make_fixture_project(tmp_path)


FixturePlans = Callable[..., PlanQuery]


@pytest.fixture(scope="session")
def fixture_plans(tmp_path_factory: pytest.TempPathFactory) -> FixturePlans:
    """`plans(**config)`: the fixture stack's plan with config values (JSON-able, keys without the project) replaced;
    each plan is built once per session."""
    project = make_fixture_project(tmp_path_factory.mktemp("fixture-plans"))
    built: dict[str, PlanQuery] = {}

    def plans(**config: object) -> PlanQuery:
        key = json.dumps(config, sort_keys=True)
        if key not in built:
            overrides = {
                f"eks-platform:{name}": value if isinstance(value, str) else json.dumps(value) for name, value in config.items()
            }
            built[key] = PlanQuery(build_plan(FIXTURE_STACK, project, overrides=overrides).to_json())
        return built[key]

    return plans


@pytest.fixture(scope="session")
def dev() -> PlanQuery:
    return frozen_plan("dev")


@pytest.fixture(scope="session")
def prod() -> PlanQuery:
    return frozen_plan("prod")


@pytest.fixture
def fake_aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """An `aws` CLI on the PATH that answers from a queue of canned replies, one per call, and logs its arguments.

    Returns `queue(*replies)`, which sets the replies and returns the log file.
    """
    answers, log = tmp_path / "answers", tmp_path / "calls"
    script = tmp_path / "aws"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {log}\n'
        f"head -n 1 {answers}\n"
        f"tail -n +2 {answers} > {answers}.rest && mv {answers}.rest {answers}\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")

    def queue(*replies: str) -> Path:
        answers.write_text("".join(f"{reply}\n" for reply in replies))
        return log

    return queue


@pytest.fixture
def failing_aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An `aws` CLI on the PATH that fails as AWS does without permission."""
    script = tmp_path / "aws"
    script.write_text("#!/bin/sh\necho 'An error occurred (UnauthorizedOperation)' >&2\nexit 254\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
