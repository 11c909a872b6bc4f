"""What the destroy-time gates share: a boto3 session with the AWS provider's settings, AWS errors in one line, and
waits on an injected clock.

The gates run in Pulumi's dynamic provider host, which sees the ambient credentials of the shell that ran the CLI,
not the program's `aws.Provider`. So each gate carries the provider's region, profile and role as inputs (kept in
state with it: a destroy then asks the account and region the stack was deployed to, as the provider does) and
builds its session from those only. A credential itself (access key, token) is never an input: the dynamic
provider's inputs are stored in state in plain. `target_of_provider` says which provider settings the gates follow;
the parity tests compare it, over the program's plan, with what each gate carries.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import boto3
from botocore.exceptions import BotoCoreError, ClientError

# How the gates' STS sessions show in CloudTrail.
ROLE_SESSION_NAME = "eks-platform-destroy-gate"
# aws.Provider inputs that change neither the account, the region nor the credentials a call uses.
_NEUTRAL_PROVIDER_INPUTS = frozenset(
    {"defaultTags", "ignoreTags", "skipCredentialsValidation", "skipRegionValidation", "skipRequestingAccountId", "version"}
)


@dataclass(frozen=True)
class AwsTarget:
    """Where a gate's AWS calls go: the AWS provider's region, and its profile and role when it has them ("" if not)."""

    region: str
    profile: str = ""
    role_arn: str = ""

    def as_inputs(self) -> dict[str, str]:
        return {"region": self.region, "profile": self.profile, "roleArn": self.role_arn}

    @classmethod
    def from_inputs(cls, props: Mapping[str, Any]) -> AwsTarget:
        # State written before the gates carried a profile and a role has neither: the provider had neither then.
        return cls(str(props["region"]), str(props.get("profile") or ""), str(props.get("roleArn") or ""))

    def describe(self) -> str:
        parts = [f"region {self.region}"]
        parts += [f"profile {self.profile}"] if self.profile else []
        parts += [f"role {self.role_arn}"] if self.role_arn else []
        return ", ".join(parts)


def target_of_provider(inputs: Mapping[str, Any]) -> AwsTarget:
    """The target a gate must carry for an `aws.Provider` registered with `inputs` (as a plan records them).

    Raises ValueError for a setting the gates do not follow (static keys, other credential files, endpoints, a role
    chain or a role with an external id, ...): the gates would then ask another account than the provider's.
    """
    unfollowed = sorted(set(inputs) - _NEUTRAL_PROVIDER_INPUTS - {"region", "profile", "assumeRoles"})
    if unfollowed:
        raise ValueError(f"the AWS provider sets {', '.join(unfollowed)}, which the destroy-time gates do not follow")
    roles = inputs.get("assumeRoles") or []
    roles = json.loads(roles) if isinstance(roles, str) else roles
    if len(roles) > 1 or any(set(role) - {"roleArn"} for role in roles):
        raise ValueError(f"the AWS provider assumes {roles}; the destroy-time gates follow one role ARN only")
    return AwsTarget(str(inputs["region"]), str(inputs.get("profile") or ""), str(roles[0]["roleArn"]) if roles else "")


def session(target: AwsTarget) -> boto3.Session:
    """A session with exactly the target's region, profile and role; ambient settings only where the target has none."""
    base = boto3.Session(region_name=target.region, profile_name=target.profile or None)
    if not target.role_arn:
        return base
    # The gates wait at most 20 minutes, well within the role session's default hour.
    credentials = base.client("sts").assume_role(RoleArn=target.role_arn, RoleSessionName=ROLE_SESSION_NAME)["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=target.region,
    )


def client(target: AwsTarget, service: str, what: str) -> Any:
    """A client of `service` on the target's session; a missing profile or a refused role is reported as `what` failed."""
    with reported(what, target):
        return session(target).client(service)


def _one_line(error: Exception) -> str:
    text = " ".join(str(error).split())
    return text if isinstance(error, ClientError) else f"{type(error).__name__}: {text}"


@contextmanager
def reported(what: str, target: AwsTarget) -> Iterator[None]:
    """Turn an SDK error (no credentials, a missing profile, a denied or failed call) into one line naming `what`."""
    try:
        yield
    except (BotoCoreError, ClientError) as error:
        raise RuntimeError(
            f"cannot {what} ({target.describe()}): {_one_line(error)}; give the shell that runs pulumi the AWS "
            "provider's credentials and permissions, then run the command again"
        ) from None


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


SYSTEM_CLOCK: Clock = SystemClock()


def wait_until_none_left(
    remaining: Callable[[], list[str]],
    timeout_seconds: float,
    poll_seconds: float,
    failure: Callable[[list[str]], str],
    clock: Clock,
) -> None:
    """Poll `remaining` until it is empty; after `timeout_seconds` raise with `failure(ids still there)`."""
    deadline = clock.monotonic() + timeout_seconds
    while True:
        ids = remaining()
        if not ids:
            return
        if clock.monotonic() >= deadline:
            raise RuntimeError(failure(ids))
        clock.sleep(poll_seconds)


def seconds(value: Any) -> str:
    """A number of seconds as state gives it back (600 arrives as 600.0) and as it was written: `600 s`."""
    return f"{float(value):g} s"
