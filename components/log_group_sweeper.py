"""A graph node that keeps the control plane's log group the stack's own, before the first `up` and after `destroy`.

EKS writes control plane logs to /aws/eks/<cluster>/cluster and creates that group itself when it is missing,
also from logs that arrive after the cluster is deleted (terraform-aws-modules/terraform-aws-eks#2763, #920):
after `pulumi destroy` the group can come back without retention, billed for storage, and the next `pulumi up`
of the stack then fails creating it (ResourceAlreadyExistsException).

The stack's LogGroup depends on this sweeper, so on create the sweeper runs first and refuses, in one line with
the command to fix it, when the group already exists; on destroy it runs after the LogGroup is deleted and, for
`settleSeconds`, deletes the group whenever EKS has created it again. It asks CloudWatch Logs with the AWS
provider's region, profile and role (components/shared/aws_sdk.py), never the shell's defaults.

Never move or rename this module: Pulumi pickles dynamic providers by reference to it, and `destroy` of a stack
created before the move would fail.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic

from components.shared.aws_sdk import SYSTEM_CLOCK, AwsTarget, Clock, client, reported

POLL_SECONDS = 15.0


def existing(logs: Any, name: str) -> bool:
    """Whether the group itself exists; the prefix also matches longer names (/aws/eks/<cluster>/cluster-old)."""
    pages = logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=name)
    return any(group["logGroupName"] == name for page in pages for group in page["logGroups"])


def delete(logs: Any, name: str) -> None:
    # Gone in between (EKS or a person deleted it first) is what we want.
    with suppress(logs.exceptions.ResourceNotFoundException):
        logs.delete_log_group(logGroupName=name)


class LogGroupSweeperProvider(pulumi.dynamic.ResourceProvider):
    # The host unpickles a bare instance (state holds only module.Class), so a destroy waits on this class
    # attribute; a test gives its instance a clock of its own.
    clock: Clock = SYSTEM_CLOCK

    def __init__(self, clock: Clock | None = None) -> None:
        if clock is not None:
            self.clock = clock

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        target, name = AwsTarget.from_inputs(props), props["logGroupName"]
        what = f"look for the log group {name}"
        logs = client(target, "logs", what)
        with reported(what, target):
            found = existing(logs, name)
        if found:
            raise RuntimeError(
                f"the log group {name} already exists, left by an earlier cluster of this stack (EKS re-creates it from "
                f"late logs); delete it with `{delete_command(target, name)}` (or import it into the stack), then run "
                "`pulumi up` again"
            )
        return pulumi.dynamic.CreateResult(id_=name, outs=props)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        # Never replaced: a replacement would run the existence check against the stack's own group.
        return pulumi.dynamic.UpdateResult(outs=news)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        target, name = AwsTarget.from_inputs(props), props["logGroupName"]
        what = f"sweep the log group {name}"
        logs = client(target, "logs", what)
        deadline = self.clock.monotonic() + float(props["settleSeconds"])
        while True:
            with reported(what, target):
                if existing(logs, name):
                    delete(logs, name)
            if self.clock.monotonic() >= deadline:
                return
            self.clock.sleep(POLL_SECONDS)


def delete_command(target: AwsTarget, name: str) -> str:
    """The CLI command that deletes the group in the provider's account and region."""
    command = f"aws logs delete-log-group --region {target.region} --log-group-name {name}"
    if target.profile:
        command += f" --profile {target.profile}"
    return command + (f" (as role {target.role_arn})" if target.role_arn else "")


@dataclass(frozen=True)
class LogGroupSweeperArgs:
    # The AWS provider's settings (profile and role empty while it has none): tests/components pin the parity.
    region: str
    log_group_name: str
    # How long after the cluster and its log group are gone EKS may still re-create the group.
    settle_seconds: int = 120
    profile: str = ""
    role_arn: str = ""


class LogGroupSweeper(pulumi.dynamic.Resource, module="cluster", name="LogGroupSweeper"):
    def __init__(self, name: str, args: LogGroupSweeperArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(
            LogGroupSweeperProvider(),
            name,
            {
                **AwsTarget(args.region, args.profile, args.role_arn).as_inputs(),
                "logGroupName": args.log_group_name,
                "settleSeconds": args.settle_seconds,
            },
            opts,
        )
