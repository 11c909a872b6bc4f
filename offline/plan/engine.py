"""Run the Pulumi program in-process on the SDK's mock engine and record what it declares.

This is the program's dry run without credentials or the CLI: every registration is recorded
whole (type, name, parent, provider, dependencies, inputs, protect) as `pulumi preview` would
send it to the engine, and the stack outputs are resolved at the end. The record's `to_json()`
is the plan document (offline/plan/plan_file.py) that everything downstream reads.
"""

from __future__ import annotations

import hashlib
import json
import logging
import runpy
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks, rpc
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from offline.plan.plan_file import SECRET, UNKNOWN
from settings import partition_of

MOCK_ACCOUNT = "123456789012"
# The identity the offline engine pretends runs Pulumi (an assumed role, as in CI).
MOCK_DEPLOYER_ROLE = f"arn:aws:iam::{MOCK_ACCOUNT}:role/offline-preview"

_SIG = rpc._special_sig_key
_SECRET_SIG = rpc._special_secret_sig
_RESOURCE_SIG = rpc._special_resource_sig


class ProgramError(Exception):
    """The program failed for a reason other than bad config (a bug, not a user mistake)."""


@dataclass(frozen=True)
class ProgramRun:
    """What one run of the program declared."""

    project: str
    stack: str
    resources: list[dict[str, Any]]
    outputs: dict[str, Any]
    # What each component passed to register_outputs (not part of plan.json; tests check it is never empty).
    component_outputs: dict[str, list[str]]
    # Info and warning messages the program logged, as `pulumi preview` shows them under "Diagnostics".
    diagnostics: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "stack": self.stack,
            "resources": self.resources,
            "outputs": self.outputs,
            "diagnostics": self.diagnostics,
        }


def plain(value: Any) -> Any:
    """Wire values to plan JSON: secrets and unknowns become markers, references their URN, 2.0 becomes 2."""
    if isinstance(value, dict):
        signature = value.get(_SIG)
        if signature == _SECRET_SIG:
            return SECRET
        if signature == _RESOURCE_SIG:
            return value.get("urn")
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if value == rpc.UNKNOWN:
        return UNKNOWN
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _provider_urn(reference: str) -> str | None:
    # Provider references arrive as "<urn>::<id>"; the plan keeps the URN.
    return reference.rsplit("::", 1)[0] if reference else None


class RecordingMonitor(mocks.MockMonitor):
    """A mock monitor that records every registration and does not advertise resource references.

    Without resource references the SDK sends a resource input as its URN or id instead of
    re-hydrating it through `pulumi:pulumi:getResource` on another thread's event loop, which
    made runs with remote components (pulumi-eks) flaky or hang.
    """

    def __init__(self, mock: mocks.Mocks) -> None:
        super().__init__(mock)
        self.records: list[dict[str, Any]] = []
        self.component_outputs: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def RegisterResourceOutputs(self, request: Any) -> Any:
        with self._lock:
            self.component_outputs[request.urn] = sorted(json_format.MessageToDict(request.outputs))
        return super().RegisterResourceOutputs(request)

    def SupportsFeature(self, request: Any) -> Any:
        supported = request.id not in ("outputValues", "resourceReferences")
        return type("SupportsFeatureResponse", (object,), {"hasSupport": supported})

    def GetDeploymentInfo(self, request: Any) -> Any:
        info = super().GetDeploymentInfo(request)
        features = [f for f in info.supportedFeatures if f != resource_pb2.RESOURCE_MONITOR_FEATURE_RESOURCE_REFERENCES]
        return resource_pb2.DeploymentInfo(supportedFeatures=features)

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        dependencies = set(request.dependencies)
        for property_dependencies in request.propertyDependencies.values():
            dependencies.update(property_dependencies.urns)
        record = {
            "urn": response.urn,
            "type": request.type,
            "name": request.name,
            "custom": bool(request.custom),
            "parent": request.parent or None,
            "provider": _provider_urn(request.provider),
            # Components name their providers per package instead (remote ones pass them on to their children).
            "providers": {package: _provider_urn(ref) for package, ref in sorted(request.providers.items())},
            "dependencies": sorted(dependencies),
            # Which input takes which resource's outputs: Pulumi replaces a dependent only through these.
            "propertyDependencies": {
                key: sorted(refs.urns) for key, refs in sorted(request.propertyDependencies.items()) if refs.urns
            },
            "inputs": plain(json_format.MessageToDict(request.object)),
            "protect": bool(request.protect),
            "ignoreChanges": sorted(request.ignoreChanges),
            # Only the ones set, e.g. {"delete": "20m"}.
            "customTimeouts": {
                kind: value for kind in ("create", "update", "delete") if (value := getattr(request.customTimeouts, kind))
            },
            "retainOnDelete": bool(request.retainOnDelete),
        }
        with self._lock:
            self.records.append(record)
        return response


def _arn(resource_type: str, name: str, region: str) -> str:
    service = resource_type.split(":")[1].split("/")[0]
    partition = partition_of(region)
    if service == "iam":
        return f"arn:{partition}:iam::{MOCK_ACCOUNT}:{resource_type.rsplit(':', 1)[-1].lower()}/{name}"
    return f"arn:{partition}:{service}:{region}:{MOCK_ACCOUNT}:{resource_type.rsplit(':', 1)[-1].lower()}/{name}"


def _kubeconfig(cluster_name: str, region: str) -> dict[str, Any]:
    server = f"https://{hashlib.sha1(cluster_name.encode()).hexdigest()[:32].upper()}.gr7.{region}.eks.amazonaws.com"
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": {"server": server, "certificate-authority-data": "TU9DSw=="}}],
        "contexts": [{"name": "aws", "context": {"cluster": cluster_name, "user": "aws"}}],
        "current-context": "aws",
        "users": [
            {
                "name": "aws",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "aws",
                        "args": ["eks", "get-token", "--cluster-name", cluster_name, "--output", "json"],
                    }
                },
            }
        ],
    }


class PlausibleOutputs(mocks.Mocks):
    """Answers registrations with the inputs plus the computed outputs real providers return.

    Computed values (ARNs, names, ids) must be present: an input built from a missing output
    would otherwise be dropped from the plan together with its dependency edge.
    """

    def __init__(self, region: str, deployer_arn: str = MOCK_DEPLOYER_ROLE) -> None:
        self.region = region
        self.deployer_arn = deployer_arn

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        outputs = dict(args.inputs)
        resource_id = f"{args.name}-id"
        if args.typ.startswith("aws:"):
            name = outputs.get("name") or args.name
            outputs.setdefault("name", name)
            outputs.setdefault("arn", _arn(args.typ, name, self.region))
        if args.typ == "aws:kms/key:Key":
            outputs["keyId"] = resource_id
        if args.typ == "aws:ec2/launchTemplate:LaunchTemplate":
            outputs["latestVersion"] = 1
        if args.typ == "aws:eks/nodeGroup:NodeGroup":
            # Pulumi auto-names it: the resource name plus a random suffix.
            outputs.setdefault("nodeGroupName", f"{args.name}-{hashlib.sha1(args.name.encode()).hexdigest()[:7]}")
        if args.typ == "eks:index:Cluster":
            cluster_name = str(outputs.get("name") or args.name)
            outputs["kubeconfigJson"] = json.dumps(_kubeconfig(cluster_name, self.region))
        return resource_id, outputs

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        # Answered as AWS would for `deployer_arn` (an IAM role is seen through an STS session); a new
        # invoke needs a plausible answer here first.
        partition, account = self.deployer_arn.split(":")[1], self.deployer_arn.split(":")[4]
        kind, _, path = self.deployer_arn.split(":", 5)[5].partition("/")
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            session = f"arn:{partition}:sts::{account}:assumed-role/{path.rsplit('/', 1)[-1]}/offline"
            arn = session if kind == "role" else self.deployer_arn
            return {"accountId": account, "arn": arn, "id": account, "userId": "AIDOFFLINE"}, []
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            # Only AWS knows the zones it offers an account; offline the check is offline.plan.zones' instead.
            return {"id": self.region, "names": [], "state": args.args.get("state")}, []
        if args.token == "aws:iam/getSessionContext:getSessionContext":
            return {"arn": args.args["arn"], "issuerArn": self.deployer_arn, "id": args.args["arn"]}, []
        raise ProgramError(f"the offline engine has no answer for invoke {args.token}")


class _ProgramLog(logging.Handler):
    """What the program logs through `pulumi.log`: errors fail the run, info and warnings are diagnostics."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.errors: list[str] = []
        self.diagnostics: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.errors.append(record.getMessage())
        else:
            self.diagnostics.append(f"{record.levelname.lower()}: {record.getMessage()}")


def _resolve(value: Any) -> Any:
    output = pulumi.Output.from_input(value)
    if not _sync_await(output.is_known()):
        return UNKNOWN
    if _sync_await(output.is_secret()):
        return SECRET
    return plain(_sync_await(output.future()))


def run_program(
    project_dir: Path,
    project: str,
    stack: str,
    config: Mapping[str, str],
    region: str,
    deployer_arn: str = MOCK_DEPLOYER_ROLE,
) -> ProgramRun:
    """Run `<project_dir>/__main__.py` as stack `stack` with `config` (full keys, string values)."""
    sys.path.insert(0, str(project_dir))
    try:

        def program() -> object:
            return runpy.run_path(str(project_dir / "__main__.py"), run_name="__main__")

        return run(program, project, stack, config, region, deployer_arn)
    finally:
        sys.path.remove(str(project_dir))


def run(
    program: Callable[[], object],
    project: str,
    stack: str,
    config: Mapping[str, str],
    region: str,
    deployer_arn: str = MOCK_DEPLOYER_ROLE,
) -> ProgramRun:
    """Run `program` on the mock engine as stack `stack`, as `deployer_arn`, and return what it declared."""
    program_log = _ProgramLog()
    logger = logging.getLogger(f"offline.{project}.{stack}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(program_log)

    runtime_settings.reset_options()
    pulumi.runtime.set_all_config(dict(config))
    monitor = RecordingMonitor(PlausibleOutputs(region, deployer_arn))
    mocks.set_mocks(monitor.mocks, project=project, stack=stack, preview=True, logger=logger, monitor=monitor)
    root = runtime_settings.get_root_resource()

    try:
        # run_pulumi_func wants a callable returning None; the program's own return value means nothing.
        def run_and_discard() -> None:
            program()

        _sync_await(run_pulumi_func(run_and_discard))
    finally:
        logger.removeHandler(program_log)
    if program_log.errors:
        raise ProgramError(program_log.errors[0])

    stack_outputs = getattr(root, "outputs", {})
    outputs = {name: _resolve(value) for name, value in sorted(stack_outputs.items())}
    # Registrations arrive from several threads; sort so that the same program gives the same plan.
    resources = sorted(monitor.records, key=lambda record: (record["parent"] is not None, record["urn"]))
    return ProgramRun(
        project=project,
        stack=stack,
        resources=resources,
        outputs=outputs,
        component_outputs=monitor.component_outputs,
        diagnostics=sorted(program_log.diagnostics),
    )
