"""What every rule shares: a plain view of the resource, config with defaults, and walkers over nested shapes.

Under `pulumi preview` the SDK hands policies proxies that raise when a value is unknown during preview
(an ARN that does not exist yet). Rules here never touch the proxies: `Resource.from_args` copies the inputs
into plain dicts and lists once, turning each unknown into the `UNKNOWN` marker, and every rule decides
explicitly what an unknown means for it (usually: cannot judge, so no violation).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pulumi_policy import (
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
)

JsonDict = dict[str, Any]


class _Unknown:
    """A value only known after deployment (e.g. the ARN of a key created in the same update)."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = _Unknown()

_UNKNOWN_SENTINELS = frozenset(
    {
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_STRING_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_OBJECT_VALUE,
    }
)


def plain(value: Any) -> Any:
    """Copy SDK proxies (or plain JSON) into dicts and lists, with unknowns as `UNKNOWN`."""
    if type(value).__module__ == "pulumi_policy.proxy":
        # The proxies raise on reading an unknown item; "__target" is the SDK's own unchecked view.
        value = value["__target"]
    if isinstance(value, str):
        return UNKNOWN if value in _UNKNOWN_SENTINELS else value
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, Sequence):
        return [plain(item) for item in value]
    return value


def get(value: Any, *path: str) -> Any:
    """`value[path[0]][path[1]]...`, or None where a key is missing; UNKNOWN when a step is unknown."""
    for key in path:
        if value is UNKNOWN:
            return UNKNOWN
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def as_list(value: Any) -> list[Any]:
    """IAM and friends accept a single item or a list; None means none."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def is_true(value: Any) -> bool:
    # Some AWS inputs are strings ("true") where one would expect booleans (launch template EBS flags).
    return value is True or (isinstance(value, str) and value.lower() == "true")


def is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.lower() == "false")


def parse_json_document(value: Any) -> Any:
    """Policy documents and provider settings arrive as JSON strings or as objects; UNKNOWN stays UNKNOWN."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


@dataclass(frozen=True)
class Resource:
    """One resource as a rule sees it: plain inputs, its provider's inputs, and the rule's config."""

    type: str
    name: str
    urn: str
    props: JsonDict
    provider_props: JsonDict | None
    config: Mapping[str, Any]

    @property
    def label(self) -> str:
        return f"{self.type} '{self.name}'"

    @property
    def kind(self) -> str:
        # "kubernetes:apps/v1:Deployment" -> "Deployment"
        return self.type.rsplit(":", 1)[-1]

    @staticmethod
    def from_args(args: ResourceValidationArgs, config_defaults: Mapping[str, Any]) -> Resource:
        props = plain(args.props)
        provider_props = plain(args.provider.props) if args.provider is not None else None
        # The CLI fills schema defaults into the config it sends; merging again keeps rules right without it.
        config = {**config_defaults, **dict(args.get_config())}
        return Resource(
            type=args.resource_type,
            name=args.name,
            urn=args.urn,
            props=props if isinstance(props, dict) else {},
            provider_props=provider_props if isinstance(provider_props, dict) else None,
            config=config,
        )


Check = Callable[[Resource], Iterator[str]]
"""Yields one sentence per problem found on the resource ("has no X"); the rule adds name and remediation."""


def resource_policy(
    name: str,
    description: str,
    severity: Severity,
    remediation: str,
    check: Check,
    config_properties: Mapping[str, JsonDict] | None = None,
) -> ResourceValidationPolicy:
    """A ResourceValidationPolicy whose messages name the resource and say how to fix it.

    Each config property must carry a "default" so that the pack works without a config file.
    """
    properties = dict(config_properties or {})
    defaults = {key: schema["default"] for key, schema in properties.items()}

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        resource = Resource.from_args(args, defaults)
        for problem in check(resource):
            report_violation(f"{resource.label} {problem}. Fix: {remediation}", None)

    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        config_schema=PolicyConfigSchema(properties=properties) if properties else None,
        severity=severity,
        remediation_steps=remediation,
    )


# ---------------------------------------------------------------------------------------------------------------
# IAM documents


def policy_statements(document: Any) -> Iterator[JsonDict]:
    """The statements of an IAM policy document given as JSON text or an object; nothing if unknown."""
    parsed = parse_json_document(document)
    if not isinstance(parsed, dict):
        return
    for statement in as_list(parsed.get("Statement")):
        if isinstance(statement, dict):
            yield statement


def allows(statement: JsonDict) -> bool:
    return statement.get("Effect") == "Allow"


# ---------------------------------------------------------------------------------------------------------------
# Kubernetes workloads

# Where each workload kind keeps its pod spec.
POD_SPEC_PATHS: Final[Mapping[str, tuple[str, ...]]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
BATCH_KINDS: Final = frozenset({"Job", "CronJob"})


def is_kubernetes(resource: Resource) -> bool:
    return resource.type.startswith("kubernetes:")


def pod_spec(resource: Resource) -> JsonDict | None:
    """The pod spec of a Kubernetes workload (Pod, Deployment, ..., CronJob), or None for anything else."""
    path = POD_SPEC_PATHS.get(resource.kind)
    if not is_kubernetes(resource) or path is None:
        return None
    spec = get(resource.props, *path)
    return spec if isinstance(spec, dict) else None


@dataclass(frozen=True)
class Container:
    spec: JsonDict
    is_init: bool

    @property
    def label(self) -> str:
        return f"{'init container' if self.is_init else 'container'} '{self.spec.get('name', '?')}'"


def containers(spec: JsonDict) -> Iterator[Container]:
    """Init containers, then containers, of a pod spec."""
    for key, is_init in (("initContainers", True), ("containers", False)):
        for container in as_list(spec.get(key)):
            if isinstance(container, dict):
                yield Container(container, is_init)


def workload_containers(resource: Resource) -> Iterator[tuple[JsonDict, Container]]:
    """(pod spec, container) for every container of a workload; nothing for other resources."""
    spec = pod_spec(resource)
    if spec is not None:
        for container in containers(spec):
            yield spec, container


def labels(resource: Resource) -> JsonDict:
    found = get(resource.props, "metadata", "labels")
    return found if isinstance(found, dict) else {}
