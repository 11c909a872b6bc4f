"""Pulumi.yaml and the stack files as the Pulumi CLI (3.272.0) validates them before it runs anything.

The offline preview reads these files itself and would accept anything YAML can hold; the CLI checks Pulumi.yaml
against its project schema and every stack value against the declared type (pulumi/pulumi sdk/go/common/workspace/
project.json and project.go: ValidateProject, Project.Validate, ValidateConfigValue). `type: object` is allowed since
pulumi/pulumi#20129 (v3.187.0); before it, and for any other attribute, the CLI refuses the project.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.plan.stack_files import available_stacks

ROOT = Path(__file__).resolve().parent.parent.parent
# configTypeDeclaration in project.json: additionalProperties false.
ALLOWED_ATTRIBUTES = {"type", "items", "description", "secret", "default", "value"}
SIMPLE_TYPES = {"string", "integer", "boolean", "array", "object"}


def project() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    return loaded


def matches(type_name: str, items: dict[str, Any] | None, value: Any) -> bool:
    """ValidateConfigValue of project.go: YAML integers may arrive as whole floats; booleans also as "true"/"false"."""
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, float) and value.is_integer())
    if type_name == "boolean":
        return isinstance(value, bool) or value in ("true", "false")
    if type_name == "object":
        return isinstance(value, dict)
    return isinstance(value, list) and items is not None and all(matches(items["type"], items.get("items"), v) for v in value)


def test_every_config_declaration_is_one_the_cli_accepts() -> None:
    for key, declaration in project()["config"].items():
        assert isinstance(declaration, dict), key
        assert set(declaration) <= ALLOWED_ATTRIBUTES, (key, set(declaration) - ALLOWED_ATTRIBUTES)
        assert declaration["type"] in SIMPLE_TYPES, key
        if declaration["type"] == "array":
            assert declaration.get("items", {}).get("type") in SIMPLE_TYPES, key
        assert not ("default" in declaration and "value" in declaration), key
        assert matches(declaration["type"], declaration.get("items"), declaration["default"]), key


@pytest.mark.parametrize("stack", available_stacks(ROOT))
def test_every_stack_value_has_its_declared_type(stack: str) -> None:
    declarations = project()["config"]
    values = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    for full_key, value in values.items():
        namespace, _, key = full_key.partition(":")
        if namespace != "eks-platform":
            continue
        declaration = declarations[key]
        assert matches(declaration["type"], declaration.get("items"), value), full_key


def test_the_check_refuses_what_the_cli_refuses() -> None:
    # The shapes #16056 and #11321 of pulumi/pulumi report: a structured default without type, a made-up attribute.
    assert not matches("string", None, {"system": {}})
    assert not matches("array", None, ["a"])  # an array needs items
    assert not {"type", "properties"} <= ALLOWED_ATTRIBUTES
