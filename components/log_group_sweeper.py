"""A graph node that keeps the control plane's log group the stack's own, before the first `up` and after `destroy`.

EKS writes control plane logs to /aws/eks/<cluster>/cluster and creates that group itself when it is missing,
also from logs that arrive after the cluster is deleted (terraform-aws-modules/terraform-aws-eks#2763, #920):
after `pulumi destroy` the group can come back without retention, billed for storage, and the next `pulumi up`
of the stack then fails creating it (ResourceAlreadyExistsException).

The stack's LogGroup depends on this sweeper, so on create the sweeper runs first and refuses, in one line with
the command to fix it, when the group already exists; on destroy it runs after the LogGroup is deleted and, for
`settleSeconds`, deletes the group whenever EKS has created it again.

Never move or rename this module: Pulumi pickles dynamic providers by reference to it, and `destroy` of a stack
created before the move would fail.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic

from components.shared.aws_cli import list_ids

POLL_SECONDS = 15.0


def existing(region: str, name: str) -> bool:
    query = f"logGroups[?logGroupName=='{name}'].logGroupName"
    arguments = ["logs", "describe-log-groups", "--region", region, "--log-group-name-prefix", name, "--query", query]
    return bool(list_ids(arguments, f"the log group {name}"))


def delete(region: str, name: str) -> None:
    command = ["aws", "logs", "delete-log-group", "--region", region, "--log-group-name", name]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    # Gone in between (EKS or a person deleted it first) is what we want.
    if result.returncode != 0 and "ResourceNotFoundException" not in result.stderr:
        raise RuntimeError(f"cannot delete the log group {name}: {result.stderr.strip()}")


class LogGroupSweeperProvider(pulumi.dynamic.ResourceProvider):
    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        region, name = props["region"], props["logGroupName"]
        if existing(region, name):
            raise RuntimeError(
                f"the log group {name} already exists, left by an earlier cluster of this stack (EKS re-creates it from "
                f"late logs); delete it with `aws logs delete-log-group --region {region} --log-group-name {name}` "
                "(or import it into the stack), then run `pulumi up` again"
            )
        return pulumi.dynamic.CreateResult(id_=name, outs=props)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        # Never replaced: a replacement would run the existence check against the stack's own group.
        return pulumi.dynamic.UpdateResult(outs=news)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        region, name = props["region"], props["logGroupName"]
        deadline = time.monotonic() + float(props["settleSeconds"])
        while True:
            if existing(region, name):
                delete(region, name)
            if time.monotonic() >= deadline:
                return
            time.sleep(float(props.get("pollSeconds", POLL_SECONDS)))


@dataclass(frozen=True)
class LogGroupSweeperArgs:
    region: str
    log_group_name: str
    # How long after the cluster and its log group are gone EKS may still re-create the group.
    settle_seconds: int = 120


class LogGroupSweeper(pulumi.dynamic.Resource, module="cluster", name="LogGroupSweeper"):
    def __init__(self, name: str, args: LogGroupSweeperArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(
            LogGroupSweeperProvider(),
            name,
            {"region": args.region, "logGroupName": args.log_group_name, "settleSeconds": args.settle_seconds},
            opts,
        )
