"""Small plans for rule tests: one resource (plus the aws provider whose defaultTags it inherits), evaluated strictly."""

from __future__ import annotations

import copy
import json
from typing import Any

from offline.analyses.policy import Violation, evaluate
from offline.plan.query import PlanQuery

STACK_URN = "urn:pulumi:test::eks-platform::pulumi:pulumi:Stack::eks-platform-test"
AWS_PROVIDER_URN = "urn:pulumi:test::eks-platform::pulumi:providers:aws::aws"
REQUIRED_TAGS = {"project": "eks-platform", "stack": "test", "environment": "test", "managed-by": "pulumi"}

# Every rule on and blocking, with prod's deletion-protection requirement: each test shows what a rule can see.
STRICT: dict[str, Any] = {"all": "mandatory", "eks-deletion-protection": {"requireDeletionProtection": True}}


def aws_provider(default_tags: dict[str, str] | None = None) -> dict[str, Any]:
    tags = REQUIRED_TAGS if default_tags is None else default_tags
    return plan_resource("pulumi:providers:aws", "aws", {"region": "eu-central-1", "defaultTags": json.dumps({"tags": tags})})


def plan_resource(
    resource_type: str,
    name: str,
    inputs: dict[str, Any],
    *,
    custom: bool = True,
    provider: str | None = None,
    providers: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "urn": f"urn:pulumi:test::eks-platform::{resource_type}::{name}",
        "type": resource_type,
        "name": name,
        "custom": custom,
        "parent": STACK_URN,
        "provider": provider,
        "providers": providers or {},
        "dependencies": [],
        "inputs": copy.deepcopy(inputs),
        "protect": False,
        "retainOnDelete": False,
    }


def single_resource_plan(resource: dict[str, Any], provider: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"project": "eks-platform", "stack": "test", "resources": [provider or aws_provider(), resource], "outputs": {}}


def check(
    resource_type: str,
    inputs: dict[str, Any],
    policy: str,
    *,
    pack_config: dict[str, Any] | None = None,
    component: bool = False,
    provider: dict[str, Any] | None = None,
) -> list[Violation]:
    """Violations of `policy` on one resource. AWS resources use the aws provider; components its providers map."""
    provider_resource = provider or aws_provider()
    attachment: dict[str, Any] = (
        {"custom": False, "providers": {"aws": provider_resource["urn"]}}
        if component
        else {"provider": provider_resource["urn"] if resource_type.startswith("aws:") else None}
    )
    resource = plan_resource(resource_type, "subject", inputs, **attachment)
    violations = evaluate(PlanQuery(single_resource_plan(resource, provider_resource)), pack_config or STRICT)
    return [violation for violation in violations if violation["policy"] == policy]


def assert_fires(violations: list[Violation], *fragments: str) -> None:
    """At least one violation, naming the resource and saying each fragment."""
    assert violations, "expected a violation"
    messages = " | ".join(violation["message"] for violation in violations)
    assert "'subject'" in messages, messages
    for fragment in fragments:
        assert fragment in messages, messages
