"""An emulated AWS for the destroy gates' tests: moto (in-process) with none of the developer's ambient AWS settings,
a clock that moves only when a gate sleeps, sessions in another account, and the gates' inputs next to the AWS
provider's from the frozen plans. Used by the volume gate's, the log group sweeper's and the Karpenter gate's tests.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest
from moto import mock_aws
from moto.core import enable_iam_authentication

from tests.conftest import frozen_plan

REGION = "eu-west-1"
# The shell's own region, never the provider's: a gate that asks the ambient region looks in the wrong place.
SHELL_REGION = "us-east-1"
# moto's account for credentials it does not know; the deploying role lives in another one.
SHELL_ACCOUNT = "123456789012"
DEPLOY_ACCOUNT = "111111111111"
DEPLOY_ROLE = f"arn:aws:iam::{DEPLOY_ACCOUNT}:role/deployer"
_AMBIENT = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_SESSION_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
)


# One loader of botocore's service models for every session of the tests: each session the gates build would read
# and parse the EC2 model again (a tenth of a second each); sessions stay separate in all else (credentials, region).
_MODELS = botocore.loaders.create_loader()


def _shared_models(session: botocore.session.Session) -> None:
    session._components.lazy_register_component("data_loader", lambda: _MODELS)


def emulated_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """moto, with a shell of known settings: its own keys and region, no profile, no instance metadata, and config and
    credential files of the test's own (yields the config file's path, for tests that add a profile)."""
    for name in _AMBIENT:
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "aws-config"
    config.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(config))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", SHELL_REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "shell-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "shell-secret")
    # moto's catalogue of public AMIs (tens of thousands, each with a snapshot) is not what the gates ask about.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    monkeypatch.setattr(botocore.session.Session, "_register_data_loader", _shared_models)
    # moto's own fake keys off: the test's environment is what the gate's credential chain sees.
    with mock_aws(config={"core": {"mock_credentials": False}}):
        yield config


class SteppingClock:
    """Time that passes only when the code under test sleeps; `at` schedules what AWS does meanwhile."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []
        self._due: list[tuple[float, Callable[[], object]]] = []

    def at(self, when: float, action: Callable[[], object]) -> None:
        self._due = sorted([*self._due, (when, action)], key=lambda due: due[0])

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        while self._due and self._due[0][0] <= self.now:
            self._due.pop(0)[1]()


def in_deploy_account(region: str = REGION) -> boto3.Session:
    """A session in the deploying role's account, as the AWS provider with that role has."""
    credentials = boto3.client("sts", region_name=region).assume_role(RoleArn=DEPLOY_ROLE, RoleSessionName="test-setup")
    keys = credentials["Credentials"]
    return boto3.Session(
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
        region_name=region,
    )


def as_user_without_permissions(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shell's credentials become an IAM user's with no policy; call under `enable_iam_authentication()`."""
    iam = boto3.client("iam", region_name=SHELL_REGION)
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_user(UserName="nobody")
    key = iam.create_access_key(UserName="nobody")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])


def add_profile(config: Path, profile: str, account_session: boto3.Session) -> None:
    """A named profile whose keys are an IAM user's in `account_session`'s account."""
    iam = account_session.client("iam")
    iam.create_user(UserName=f"{profile}-user")
    key = iam.create_access_key(UserName=f"{profile}-user")["AccessKey"]
    config.write_text(
        f"[profile {profile}]\naws_access_key_id = {key['AccessKeyId']}\naws_secret_access_key = {key['SecretAccessKey']}\n"
    )


def provider_and_gates(stack: str, gate_type: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The inputs of the stack's one AWS provider and of its gates of `gate_type`, from the offline plan."""
    plan = frozen_plan(stack)
    (provider,) = plan.of_type("pulumi:providers:aws")
    gates = [gate["inputs"] for gate in plan.of_type(gate_type)]
    assert gates, f"no {gate_type} in the {stack} plan"
    return provider["inputs"], gates


def failures_are_one_line(call: Callable[[], object], prefix: str, permission: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A gate's call fails in one RuntimeError line starting with `prefix`, never taken for "none left": when AWS
    refuses it (AccessDenied naming `permission`) and when the shell has no credentials (NoCredentialsError)."""
    with monkeypatch.context() as denied:
        as_user_without_permissions(denied)
        with enable_iam_authentication(), pytest.raises(RuntimeError) as refused:
            call()
    message = str(refused.value)
    assert message.startswith(prefix) and "AccessDenied" in message and permission in message, message
    assert "\n" not in message
    with monkeypatch.context() as bare:
        bare.delenv("AWS_ACCESS_KEY_ID")
        bare.delenv("AWS_SECRET_ACCESS_KEY")
        with pytest.raises(RuntimeError) as missing:
            call()
    message = str(missing.value)
    assert message.startswith(prefix) and "NoCredentialsError" in message and "\n" not in message, message
    assert "credentials" in message.split(": ", 2)[-1]
