"""A stack's plan from its files: the config as the CLI would apply it, run on the mock engine."""

from __future__ import annotations

import json
from pathlib import Path

from offline.plan.engine import MOCK_DEPLOYER_ROLE, ProgramRun, run_program
from offline.plan.stack_files import PROJECT_DIR, StackFileError, project_name, stack_config
from offline.plan.zones import zone_notes
from settings import ConfigError


class BadInput(Exception):
    """A user mistake in the stack's files or config: printed as one line, exit code 2."""


def build_plan(
    stack: str,
    project_dir: Path = PROJECT_DIR,
    overrides: dict[str, str] | None = None,
    deployer_arn: str = MOCK_DEPLOYER_ROLE,
) -> ProgramRun:
    """The stack's plan as `deployer_arn` runs it; `overrides` (full config keys) replace stack file values."""
    try:
        project = project_name(project_dir)
        config = stack_config(project_dir, stack) | (overrides or {})
        region = config.get(f"{project}:region", "")
        run = run_program(project_dir, project, stack, config, region, deployer_arn)
    except (StackFileError, ConfigError) as error:
        raise BadInput(str(error)) from None
    # The program has validated the zones' form and region; whether they exist is for AWS, or moto's table offline.
    run.diagnostics.extend(zone_notes(region, json.loads(config[f"{project}:availabilityZones"])))
    return run
