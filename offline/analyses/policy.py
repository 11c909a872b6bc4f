"""The policy pack over a plan, as `pulumi preview --policy-pack policies --policy-pack-config <file>` runs it.

The pack config is the stack's: its environment's levels (policies/config/environments/<environment>.json), then
the stack's own overrides (policies/config/<stack>.json), checked against the pack's policies and schemas
(`load_pack_config`). `evaluate` calls the same policy objects the CLI loads, directly: each gets the resource's
inputs behind the SDK's unknown-checking proxy, its provider's inputs, and its config (schema defaults, then the
pack config), at the enforcement level the pack config sets. It never constructs the PolicyPack (that starts a
server and blocks).

Input: the plan object and a pack config; output: the violations (`offline.policy_run` and `offline.preview`
print them and write policy-report.json).
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypedDict

from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from offline.plan.plan_file import UNKNOWN as PLAN_UNKNOWN
from offline.plan.query import PlanQuery
from offline.plan.stack_files import PROJECT_DIR, StackFileError, config_value
from policies.eks_policies import ALL_POLICIES, PACK_ENFORCEMENT_LEVEL

# Inside a project directory: levels per environment, and optional per-stack overrides next to them.
CONFIG_DIR: Final = Path("policies") / "config"
ENVIRONMENTS_DIR: Final = CONFIG_DIR / "environments"
ALL_POLICIES_KEY: Final = "all"  # the config file's key for every policy's enforcement level


class Violation(TypedDict):
    policy: str
    enforcement: str
    severity: str
    urn: str
    message: str


class PolicyInputError(Exception):
    """A bad plan, config file or stack name; the message is one line naming what is wrong."""


@dataclass(frozen=True)
class PolicySettings:
    level: EnforcementLevel
    config: dict[str, Any]


# ---------------------------------------------------------------------------------------------------------------
# Pack config: the file `pulumi preview --policy-pack-config` reads


def _read_pack_file(path: Path) -> dict[str, Any]:
    try:
        pack_config = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise PolicyInputError(f"cannot read {path}: {error}") from None
    if not isinstance(pack_config, dict):
        raise PolicyInputError(f"{path}: expected a JSON object of policy name to settings")
    return pack_config


def stack_environment(stack: str, project_dir: Path = PROJECT_DIR) -> str:
    """The stack's `environment` config value, from its stack file or the project default, as the CLI applies them."""
    # Only this key: a secret (`pulumi config set --secret`) elsewhere in the stack file is fine, as it is for the CLI.
    try:
        environment = config_value(project_dir, stack, "environment")
    except StackFileError as error:
        raise PolicyInputError(str(error)) from None
    if environment is None:
        raise PolicyInputError(f"stack {stack!r} has no environment (no default in Pulumi.yaml either)")
    return environment


def environment_pack_config(environment: str, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """policies/config/environments/<environment>.json: the levels every stack of that environment starts from."""
    directory = project_dir / ENVIRONMENTS_DIR
    path = directory / f"{environment}.json"
    if not path.is_file():
        known = ", ".join(sorted(candidate.stem for candidate in directory.glob("*.json"))) or "none"
        raise PolicyInputError(f"no policy levels for environment {environment!r} ({path}); environments with levels: {known}")
    return _checked(_read_pack_file(path), path)


def merge_pack_configs(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` on top of `base`, per policy: a level or settings replace just those of the base entry."""

    def as_object(entry: Any) -> Any:
        return {"enforcementLevel": entry} if isinstance(entry, str) else entry

    merged = dict(base)
    for name, entry in override.items():
        previous = merged.get(name)
        if isinstance(entry, str | dict) and isinstance(previous, str | dict):
            merged[name] = as_object(previous) | as_object(entry)
        else:
            merged[name] = entry
    return merged


def load_pack_config(stack: str, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """The stack's pack config: its environment's levels, then policies/config/<stack>.json when the stack has one.

    Checked against the pack's policies and schemas, so that a typo fails before a run, not half-way through it.
    """
    pack_config = environment_pack_config(stack_environment(stack, project_dir), project_dir)
    stack_file = project_dir / CONFIG_DIR / f"{stack}.json"
    if stack_file.is_file():
        pack_config = merge_pack_configs(pack_config, _checked(_read_pack_file(stack_file), stack_file))
    resolve_settings(pack_config)
    return pack_config


def _checked(pack_config: dict[str, Any], path: Path) -> dict[str, Any]:
    try:
        resolve_settings(pack_config)
    except PolicyInputError as error:
        raise PolicyInputError(f"{path}: {error}") from None
    return pack_config


def _level(value: Any, where: str) -> EnforcementLevel:
    try:
        return EnforcementLevel(value)
    except ValueError:
        levels = ", ".join(level.value for level in EnforcementLevel)
        raise PolicyInputError(f"pack config {where}: enforcement level {value!r} is not one of {levels}") from None


_JSON_TYPES: Final[Mapping[str, tuple[type, ...]]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def _matches_schema(value: Any, schema: Mapping[str, Any]) -> bool:
    """The part of JSON Schema the pack's config schemas use: type, items, enum."""
    expected = _JSON_TYPES.get(schema.get("type", ""), (object,))
    if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
        return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    return not isinstance(value, list) or all(_matches_schema(item, schema.get("items", {})) for item in value)


def _policy_settings(policy: ResourceValidationPolicy, entry: Any, all_level: EnforcementLevel | None) -> PolicySettings:
    schema = policy.config_schema.properties if policy.config_schema is not None else {}
    config = {key: property_schema["default"] for key, property_schema in schema.items() if "default" in property_schema}
    # Precedence as in the CLI: the policy's own entry, then "all", then the policy's and the pack's defaults.
    level = all_level or policy.enforcement_level or PACK_ENFORCEMENT_LEVEL
    if isinstance(entry, str):
        level = _level(entry, policy.name)
    elif isinstance(entry, dict):
        for key, value in entry.items():
            if key == "enforcementLevel":
                level = _level(value, policy.name)
            elif key not in schema:
                known = ", ".join(schema) or "none"
                raise PolicyInputError(f"pack config {policy.name}: unknown setting {key!r} (settings: {known})")
            elif not _matches_schema(value, schema[key]):
                raise PolicyInputError(f"pack config {policy.name}.{key}: {value!r} does not match {json.dumps(schema[key])}")
            else:
                config[key] = value
    elif entry is not None:
        raise PolicyInputError(f"pack config {policy.name}: expected an enforcement level or an object")
    return PolicySettings(level, config)


def resolve_settings(pack_config: Mapping[str, Any]) -> dict[str, PolicySettings]:
    """Each policy's enforcement level and config, the way the CLI reconciles a --policy-pack-config file."""
    names = {policy.name for policy in ALL_POLICIES}
    unknown = sorted(set(pack_config) - names - {ALL_POLICIES_KEY})
    if unknown:
        raise PolicyInputError(f"pack config names unknown policies: {', '.join(unknown)}")
    all_entry = pack_config.get(ALL_POLICIES_KEY)
    if isinstance(all_entry, dict):
        all_entry = all_entry.get("enforcementLevel")
    all_level = _level(all_entry, ALL_POLICIES_KEY) if all_entry is not None else None
    return {policy.name: _policy_settings(policy, pack_config.get(policy.name), all_level) for policy in ALL_POLICIES}


# ---------------------------------------------------------------------------------------------------------------
# Evaluation


def _as_engine_value(value: Any) -> Any:
    """Plan markers back into what the CLI gives policies: unknowns as the SDK's sentinel (secrets stay opaque)."""
    if value == PLAN_UNKNOWN:
        return UNKNOWN_STRING_VALUE
    if isinstance(value, dict):
        return {key: _as_engine_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_engine_value(item) for item in value]
    return value


def _provider_urn(resource: Mapping[str, Any]) -> str | None:
    if resource.get("provider"):
        return str(resource["provider"])
    # A component has a providers map instead; pulumi-eks components create their AWS resources through "aws".
    providers: Mapping[str, str] = resource.get("providers") or {}
    package = str(resource["type"]).split(":", 1)[0]
    return providers.get(package) or providers.get("aws")


def _as_policy_provider(provider_resource: Mapping[str, Any] | None) -> PolicyProviderResource | None:
    if provider_resource is None:
        return None
    props = unknown_checking_proxy(_as_engine_value(provider_resource["inputs"]))
    return PolicyProviderResource(provider_resource["type"], props, provider_resource["urn"], provider_resource["name"])


def _options(resource: Mapping[str, Any]) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=bool(resource.get("protect", False)),
        ignore_changes=list(resource.get("ignoreChanges", [])),
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=resource.get("parent"),
    )


async def _wait(awaitable: Awaitable[Any]) -> None:
    await awaitable


def _validate(policy: ResourceValidationPolicy, args: ResourceValidationArgs) -> tuple[list[str], str | None]:
    """(violation messages, why the policy could not run) for one resource."""
    messages: list[str] = []

    def report_violation(message: str, urn: str | None = None) -> None:
        messages.append(message)

    try:
        result = policy.validate(args, report_violation)
        if inspect.isawaitable(result):
            asyncio.run(_wait(result))
    except UnknownValueError as error:
        return messages, f"{args.resource_type} '{args.name}': can't run policy during preview: {error.message}"
    return messages, None


def evaluate(plan: PlanQuery, pack_config: Mapping[str, Any]) -> list[Violation]:
    """Every violation of every enabled policy over the plan's resources, in plan order then pack order."""
    settings = resolve_settings(pack_config)
    violations: list[Violation] = []
    for resource in plan.resources:
        # What the CLI sends for this resource, built once and shared by every policy (only the config differs).
        props = unknown_checking_proxy(_as_engine_value(resource["inputs"]))
        provider = _as_policy_provider(plan.find(_provider_urn(resource) or ""))
        options = _options(resource)
        for policy in ALL_POLICIES:
            policy_settings = settings[policy.name]
            if policy_settings.level == EnforcementLevel.DISABLED:
                continue
            # A policy without remediation that still fires at level remediate blocks like mandatory (as the CLI does).
            enforcement = (
                EnforcementLevel.ADVISORY if policy_settings.level == EnforcementLevel.ADVISORY else EnforcementLevel.MANDATORY
            )
            args = ResourceValidationArgs(
                resource["type"], props, resource["urn"], resource["name"], options, provider, dict(policy_settings.config)
            )
            messages, not_run = _validate(policy, args)
            findings = [(enforcement, message) for message in messages]
            if not_run is not None:
                # As the CLI does: a policy that reads an unknown value is reported as advisory, never a block.
                findings.append((EnforcementLevel.ADVISORY, not_run))
            for level, message in findings:
                violations.append(
                    Violation(
                        policy=policy.name,
                        enforcement=level.value,
                        severity=policy.severity.value if policy.severity is not None else "",
                        urn=resource["urn"],
                        message=message,
                    )
                )
    return violations


def mandatory(violations: list[Violation]) -> list[Violation]:
    return [violation for violation in violations if violation["enforcement"] == EnforcementLevel.MANDATORY.value]


def verdict(violations: list[Violation]) -> str:
    """`passed: 0 mandatory, 2 advisory` (FAILED when one is mandatory), as the policy check and the PR report say it."""
    blocking = len(mandatory(violations))
    return f"{'FAILED' if blocking else 'passed'}: {blocking} mandatory, {len(violations) - blocking} advisory"


def violation_line(violation: Violation) -> str:
    return f"{violation['enforcement']:<9}  {violation['policy']:<31}  {violation['urn']}  {violation['message']}"
