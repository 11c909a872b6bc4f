"""Apply Pulumi.yaml defaults and Pulumi.<stack>.yaml the way the Pulumi CLI does (the SDK never reads them)."""

from __future__ import annotations

import json
from collections.abc import Hashable
from pathlib import Path
from typing import Any, Final

from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode

# The folder holding Pulumi.yaml: where the CLI runs the program, and every command's default project.
PROJECT_DIR: Final = Path(__file__).resolve().parents[2]


class StackFileError(Exception):
    """A project or stack file the CLI would refuse; the message is one line naming what is wrong."""


class _DuplicateKey(YAMLError):
    def __init__(self, key: object, first_line: int, second_line: int) -> None:
        super().__init__(f"key {key!r} is written twice (lines {first_line} and {second_line})")


class _UniqueKeyConstructor(SafeConstructor):
    """Two equal keys in one mapping: the CLI's YAML library (gopkg.in/yaml.v3) refuses the file; say where."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> Any:
        first_seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                continue  # the base class reports unhashable keys
            line = key_node.start_mark.line + 1
            if key in first_seen:
                raise _DuplicateKey(key, first_seen[key], line)
            first_seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _yaml_1_2() -> YAML:
    """YAML 1.2 as the Pulumi CLI reads its files (gopkg.in/yaml.v3): `yes`, `no`, `on` and `off` are strings, only
    true and false are booleans (yaml.v3 README, "YAML 1.1 bools ... behave as a string")."""
    reader = YAML(typ="safe", pure=True)
    reader.version = (1, 2)
    reader.Constructor = _UniqueKeyConstructor
    return reader


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as error:
        raise StackFileError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        document = _yaml_1_2().load(text)
    except _DuplicateKey as error:
        raise StackFileError(f"{path.name}: {error}; the Pulumi CLI refuses a key written twice") from None
    except YAMLError as error:
        mark = error.problem_mark if isinstance(error, MarkedYAMLError) else None
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise StackFileError(f"{path.name}: not valid YAML{where}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise StackFileError(f"{path.name}: expected a mapping at the top level")
    return document


def _as_config_string(value: Any) -> str:
    # The CLI hands the program strings; structured values (lists, maps) arrive as JSON.
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def available_stacks(project_dir: Path) -> list[str]:
    return sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in project_dir.glob("Pulumi.*.yaml"))


def project_name(project_dir: Path) -> str:
    name = _read_yaml(project_dir / "Pulumi.yaml").get("name")
    if not isinstance(name, str) or not name:
        raise StackFileError("Pulumi.yaml: 'name' must be a non-empty string")
    return name


def config_schema(project_dir: Path) -> dict[str, Any]:
    """Pulumi.yaml's `config`: each key with its type, default and description, in the file's order."""
    schema = _read_yaml(project_dir / "Pulumi.yaml").get("config") or {}
    if not isinstance(schema, dict):
        raise StackFileError("Pulumi.yaml: 'config' must be a mapping of key to {type, default, description}")
    return dict(schema)


def _defaults(project_dir: Path, project: str) -> dict[str, str]:
    schema = config_schema(project_dir)
    config: dict[str, str] = {}
    for key, spec in schema.items():
        if isinstance(spec, dict) and "default" in spec:
            full_key = key if ":" in key else f"{project}:{key}"
            config[full_key] = _as_config_string(spec["default"])
    return config


def _stack_values(project_dir: Path, stack: str, project: str) -> dict[str, Any]:
    """The stack file's config as written (secure values still as {secure: ...}), keys checked."""
    stack_file = project_dir / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        stacks = ", ".join(available_stacks(project_dir)) or "none"
        raise StackFileError(f"no stack file {stack_file.name}; stacks with a file here: {stacks}")
    values = _read_yaml(stack_file).get("config") or {}
    if not isinstance(values, dict):
        raise StackFileError(f"{stack_file.name}: 'config' must be a mapping of key to value")
    for key in values:
        if not isinstance(key, str) or ":" not in key:
            raise StackFileError(f"{stack_file.name}: config key {key!r} must be namespaced, such as {project}:{key}")
    return values


def _plain_value(stack: str, key: str, value: Any) -> str:
    if isinstance(value, dict) and "secure" in value:
        raise StackFileError(f"Pulumi.{stack}.yaml: {key} is a secret; the offline preview cannot decrypt secrets")
    return _as_config_string(value)


def stack_config(project_dir: Path, stack: str) -> dict[str, str]:
    """Full config keys (`project:key`, `aws:region`) to string values, defaults first, stack file on top."""
    project = project_name(project_dir)
    config = _defaults(project_dir, project)
    for key, value in _stack_values(project_dir, stack, project).items():
        config[key] = _plain_value(stack, key, value)
    return config


def config_value(project_dir: Path, stack: str, key: str) -> str | None:
    """One project key as the CLI resolves it (stack file over Pulumi.yaml default); secrets in other keys are fine."""
    project = project_name(project_dir)
    full_key = f"{project}:{key}"
    values = _stack_values(project_dir, stack, project)
    if full_key in values:
        return _plain_value(stack, full_key, values[full_key])
    return _defaults(project_dir, project).get(full_key)
