"""The log group sweeper against moto: refuses a leftover group before the first `up`, deletes what EKS re-creates after
`destroy`, in the AWS provider's account and region, and says in one line when AWS cannot be asked.

EKS creates /aws/eks/<cluster>/cluster from logs that arrive after the cluster is deleted
(terraform-aws-modules/terraform-aws-eks#2763, #920): without the sweep, a paid group stays and the next `up`
fails with ResourceAlreadyExistsException.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from components.log_group_sweeper import POLL_SECONDS, LogGroupSweeperProvider, delete
from components.shared.aws_sdk import AwsTarget, target_of_provider
from tests.components.aws_emulation import (
    DEPLOY_ROLE,
    REGION,
    SHELL_REGION,
    SteppingClock,
    add_profile,
    emulated_aws,
    failures_are_one_line,
    in_deploy_account,
    provider_and_gates,
)

NAME = "/aws/eks/demo/cluster"
PROPS: dict[str, Any] = {"region": REGION, "profile": "", "roleArn": "", "logGroupName": NAME, "settleSeconds": 120.0}


@pytest.fixture(autouse=True)
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    yield from emulated_aws(monkeypatch, tmp_path)


def logs(region: str = REGION, account: boto3.Session | None = None) -> Any:
    return account.client("logs", region_name=region) if account else boto3.client("logs", region_name=region)


def exists(client: Any, name: str = NAME) -> bool:
    return any(group["logGroupName"] == name for group in client.describe_log_groups(logGroupNamePrefix=name)["logGroups"])


def test_create_refuses_a_leftover_group_in_one_line_with_the_command_to_fix_it() -> None:
    """Mistake: going on past a leftover group: the stack's LogGroup then fails with ResourceAlreadyExistsException,
    with no hint that a destroyed cluster left it."""
    logs().create_log_group(logGroupName=NAME)
    with pytest.raises(RuntimeError) as error:
        LogGroupSweeperProvider().create(PROPS)
    message = str(error.value)
    assert "\n" not in message and "already exists" in message
    assert f"aws logs delete-log-group --region eu-west-1 --log-group-name {NAME}`" in message


def test_the_command_to_fix_it_names_the_providers_profile(aws: Path) -> None:
    """Mistake: a command without the profile: pasted into the shell, it deletes nothing in the stack's account."""
    deploy = in_deploy_account()
    add_profile(aws, "deploy", deploy)
    logs(account=deploy).create_log_group(logGroupName=NAME)
    with pytest.raises(RuntimeError, match=f"--log-group-name {NAME} --profile deploy`"):
        LogGroupSweeperProvider().create({**PROPS, "profile": "deploy"})


def test_create_passes_when_the_group_itself_is_missing() -> None:
    """Mistake: a prefix match taken for the group (/aws/eks/demo/cluster-old), or the shell's region asked: a first
    `up` refused for a group that is not in its way."""
    logs().create_log_group(logGroupName=f"{NAME}-old")
    logs(SHELL_REGION).create_log_group(logGroupName=NAME)
    assert LogGroupSweeperProvider().create(PROPS).id == NAME


def test_delete_deletes_the_group_each_time_eks_creates_it_again() -> None:
    """Mistake: one deletion and done, or a sweep that stops before the settle time: EKS re-creates the group from late
    logs and a paid group stays. Time is the sweeper's clock: nothing here waits on the wall clock."""
    client = logs()
    client.create_log_group(logGroupName=NAME)
    clock = SteppingClock()
    gone_when_eks_wrote: list[float] = []

    def eks_writes_late_logs(when: float) -> Callable[[], None]:
        def write() -> None:
            if not exists(client):
                gone_when_eks_wrote.append(when)
            client.create_log_group(logGroupName=NAME)

        return write

    # Polls at 0, 15, ..., 120 s; EKS re-creates the group at 20, 70 and 119 s, the last just before the settle time.
    for when in (20, 70, 119):
        clock.at(when, eks_writes_late_logs(when))
    LogGroupSweeperProvider(clock).delete(NAME, PROPS)
    assert gone_when_eks_wrote == [20, 70, 119], "the group found at the start and each re-creation deleted by a poll"
    assert not exists(client), "the last re-creation, just before the settle time, deleted too"
    assert clock.now == 120 and clock.slept == [POLL_SECONDS] * 8


def test_delete_sweeps_the_providers_account_not_the_shells() -> None:
    """Mistake: the shell's credentials when the provider assumes a role: the sweep deletes nothing (or another
    account's group) and the stack's account keeps a paid group."""
    deploy_logs = logs(account=in_deploy_account())
    deploy_logs.create_log_group(logGroupName=NAME)
    logs().create_log_group(logGroupName=NAME)
    LogGroupSweeperProvider(SteppingClock()).delete(NAME, {**PROPS, "roleArn": DEPLOY_ROLE})
    assert not exists(deploy_logs)
    assert exists(logs()), "the shell's account is not the stack's: left alone"


def test_a_group_gone_between_the_check_and_the_deletion_is_what_we_want() -> None:
    """Mistake: ResourceNotFoundException raised: a destroy fails because EKS or a person deleted the group first."""
    delete(logs(), NAME)


def sweep() -> None:
    LogGroupSweeperProvider(SteppingClock()).delete(NAME, PROPS)


def test_aws_errors_and_missing_credentials_are_one_line_never_taken_for_no_group(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mistake: AccessDenied read as 'no group', or NoCredentialsError swallowed: create lets `up` run into the
    leftover, delete leaves it billed, 'swept' without having asked."""
    logs().create_log_group(logGroupName=NAME)
    for call, what in ((lambda: LogGroupSweeperProvider().create(PROPS), "look for"), (sweep, "sweep")):
        failures_are_one_line(
            call, f"cannot {what} the log group {NAME} (region eu-west-1): ", "logs:DescribeLogGroups", monkeypatch
        )


def test_update_never_touches_aws() -> None:
    """Mistake: an existence check on update: it would find the stack's own group and refuse."""
    logs().create_log_group(logGroupName=NAME)
    assert LogGroupSweeperProvider().update(NAME, PROPS, {**PROPS, "settleSeconds": 300}).outs == {**PROPS, "settleSeconds": 300}


def test_the_provider_pickled_into_state_carries_no_test_hook() -> None:
    """Mistake: a clock stored on every instance: state would pickle it, and refer to its module."""
    assert vars(LogGroupSweeperProvider()) == {}


@pytest.mark.parametrize("stack", ["dev", "karpenter-example"])
def test_the_sweeper_asks_what_the_aws_provider_asks(stack: str) -> None:
    """Mistake: the program gives the aws.Provider a region, profile or role and the sweeper not: it would sweep
    another account or region and leave the stack's group billed."""
    provider, sweepers = provider_and_gates(stack, "pulumi-python:dynamic/cluster:LogGroupSweeper")
    assert all(AwsTarget.from_inputs(sweeper) == target_of_provider(provider) for sweeper in sweepers)
    assert all({"region", "profile", "roleArn"} <= set(sweeper) for sweeper in sweepers)
