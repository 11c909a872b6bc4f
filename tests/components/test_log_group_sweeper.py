"""The log group sweeper: refuses a leftover group before the first `up`, deletes what EKS re-creates after `destroy`.

EKS creates /aws/eks/<cluster>/cluster from logs that arrive after the cluster is deleted
(terraform-aws-modules/terraform-aws-eks#2763, #920): without the sweep, a paid group stays and the next `up`
fails with ResourceAlreadyExistsException.
"""

from __future__ import annotations

import pytest

from components.log_group_sweeper import LogGroupSweeperProvider

NAME = "/aws/eks/demo/cluster"
PROPS = {"region": "eu-west-1", "logGroupName": NAME, "settleSeconds": 0.05, "pollSeconds": 0.01}


def test_create_refuses_a_leftover_group_in_one_line_with_the_command_to_fix_it(fake_aws) -> None:
    fake_aws(f'["{NAME}"]')
    with pytest.raises(RuntimeError) as error:
        LogGroupSweeperProvider().create(PROPS)
    message = str(error.value)
    assert "\n" not in message and "already exists" in message
    assert f"aws logs delete-log-group --region eu-west-1 --log-group-name {NAME}" in message


def test_create_passes_when_there_is_no_group(fake_aws) -> None:
    log = fake_aws("[]")
    assert LogGroupSweeperProvider().create(PROPS).id == NAME
    (call,) = log.read_text().splitlines()
    assert call.startswith("logs describe-log-groups --region eu-west-1 --log-group-name-prefix /aws/eks/demo/cluster")


def test_delete_deletes_the_group_each_time_eks_creates_it_again(fake_aws) -> None:
    # Present, deleted; present again later, deleted again; then gone until the settle time is over.
    log = fake_aws(f'["{NAME}"]', "", f'["{NAME}"]', "", *["[]"] * 200)
    LogGroupSweeperProvider().delete(NAME, PROPS)
    deletions = [call for call in log.read_text().splitlines() if call.startswith("logs delete-log-group")]
    assert deletions == [f"logs delete-log-group --region eu-west-1 --log-group-name {NAME}"] * 2


def test_an_aws_error_while_listing_is_never_taken_for_no_group(tmp_path, monkeypatch) -> None:
    script = tmp_path / "aws"
    script.write_text("#!/bin/sh\necho 'An error occurred (AccessDeniedException)' >&2\nexit 254\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    with pytest.raises(RuntimeError, match="AccessDeniedException"):
        LogGroupSweeperProvider().create(PROPS)


def test_update_never_touches_aws() -> None:
    assert LogGroupSweeperProvider().update(NAME, PROPS, {**PROPS, "settleSeconds": 300}).outs["settleSeconds"] == 300
