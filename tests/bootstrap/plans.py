"""The bootstrap's plans on the mock engine, built once per test process and configuration."""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from ci_settings import BootstrapSettings

from bootstrap.preview_offline import build_bootstrap_plan
from tests.bootstrap import BOOTSTRAP_DIR

# A stack the tests own (the shipped bootstrap/Pulumi.example.yaml is the user's to edit): owner, repository and
# bucket of a made-up repository, everything else from bootstrap/Pulumi.yaml's defaults.
OWNER, REPOSITORY, BUCKET = "acme", "platform", "acme-platform-state"
STACK = "test"
STACK_FILE = f"""config:
  eks-platform-bootstrap:githubOwner: {OWNER}
  eks-platform-bootstrap:githubRepository: {REPOSITORY}
  eks-platform-bootstrap:stateBucketName: {BUCKET}
"""
PROGRAM = ("Pulumi.yaml", "__main__.py", "ci_settings.py", "ci_policies.py")


def make_project(project: Path, stack_files: dict[str, str]) -> Path:
    """This checkout's bootstrap program (symlinks) in `project`, with the stack files given (stack: text)."""
    project.mkdir(parents=True)
    for name in PROGRAM:
        (project / name).symlink_to(BOOTSTRAP_DIR / name)
    for stack, text in stack_files.items():
        (project / f"Pulumi.{stack}.yaml").write_text(text)
    return project


def _project() -> Path:
    parent = Path(tempfile.mkdtemp(prefix="bootstrap-"))
    atexit.register(shutil.rmtree, parent, True)
    return make_project(parent / "bootstrap", {STACK: STACK_FILE})


PROJECT_DIR = _project()
KMS_KEY = "arn:aws:kms:eu-central-1:123456789012:key/0b8f2c4e-1d2a-4b8e-9c1f-2e3d4c5b6a79"
EXISTING_PROVIDER = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
# Configurations every check must pass on: the defaults, and every option turned the other way.
VARIANTS: dict[str, dict[str, str]] = {
    "defaults": {},
    "locked, KMS secrets, existing provider": {
        "stateObjectLockDays": "30",
        "stateObjectLockMode": "COMPLIANCE",
        "kmsKeyArn": KMS_KEY,
        "oidcProviderArn": EXISTING_PROVIDER,
    },
    "other environments, versions kept forever": {
        "deployEnvironments": json.dumps(["staging", "production"]),
        "stateVersionRetentionDays": "0",
        "roleNamePrefix": "acme-ci",
    },
}


@cache
def _plan(overrides: str) -> tuple[BootstrapSettings, dict[str, Any]]:
    settings, run = build_bootstrap_plan(STACK, PROJECT_DIR, overrides=json.loads(overrides))
    return settings, run.to_json()


def bootstrap_plan(**overrides: str) -> tuple[BootstrapSettings, dict[str, Any]]:
    """Settings and plan of the test stack with config `overrides` (keys without the project, CLI strings)."""
    return _plan(json.dumps(overrides, sort_keys=True))


def inputs(plan: dict[str, Any], resource_type: str, name: str | None = None) -> dict[str, Any]:
    """The inputs of the one resource of that type (and `name` input: the AWS name, such as a role's)."""
    found = [r for r in plan["resources"] if r["type"] == resource_type and (name is None or r["inputs"].get("name") == name)]
    assert len(found) == 1, f"{len(found)} {resource_type} {name or ''}"
    return found[0]["inputs"]  # type: ignore[no-any-return]


def role_document(plan: dict[str, Any], name: str, what: str) -> dict[str, Any]:
    """A role's trust policy (`what="trust"`) or its inline policy (`what="permissions"`), parsed."""
    if what == "trust":
        return json.loads(inputs(plan, "aws:iam/role:Role", name)["assumeRolePolicy"])  # type: ignore[no-any-return]
    (policy,) = [r for r in plan["resources"] if r["type"] == "aws:iam/rolePolicy:RolePolicy" and r["inputs"]["role"] == name]
    return json.loads(policy["inputs"]["policy"])  # type: ignore[no-any-return]
