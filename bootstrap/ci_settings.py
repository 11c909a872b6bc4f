"""The bootstrap's config, read once and checked: one line naming the key for every mistake.

Pure Python on top of `pulumi.RunError`: no resources, no AWS calls, so the tests (and the offline check) call
`parse_settings` directly with the strings the CLI would hand the program.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import pulumi

PROJECT: Final = "eks-platform-bootstrap"
KEYS: Final = (
    "githubOwner",
    "githubRepository",
    "deployEnvironments",
    "stateBucketName",
    "region",
    "stateObjectLockDays",
    "stateObjectLockMode",
    "stateVersionRetentionDays",
    "kmsKeyArn",
    "oidcProviderArn",
    "roleNamePrefix",
)

# GitHub's own rules: an owner (user or organization) is 1-39 letters, digits or single hyphens, not at either end;
# a repository name is 1-100 letters, digits, '.', '_' or '-'. Neither can hold '*', '?', '/' or ':', so a name
# that matches names exactly one owner or repository and cannot widen the token subject compared with it.
_OWNER: Final = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
_REPOSITORY: Final = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
# A GitHub environment name as it appears in the subject `repo:<owner>/<repo>:environment:<name>`. GitHub allows
# more characters; this refuses the ones that would make the subject a pattern or ambiguous (`*`, `?`, `:`, spaces).
_ENVIRONMENT: Final = re.compile(r"^[A-Za-z0-9._-]{1,255}$")
# S3 general purpose bucket names (S3 User Guide, "Bucket naming rules"), without dots: a dotted name breaks the
# virtual-hosted TLS certificate, and the bucket policy refuses every request without TLS.
_BUCKET: Final = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_BUCKET_RESERVED: Final = (("xn--", "sthree-", "amzn-s3-demo-"), ("-s3alias", "--ol-s3", "--x-s3", "--table-s3"))
_REGION: Final = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$")
_KMS_KEY: Final = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):kms:[a-z]{2}(-gov)?-[a-z]+-[0-9]:[0-9]{12}:key/[A-Za-z0-9-]{1,128}$")
_OIDC_PROVIDER: Final = re.compile(
    r"^arn:(aws|aws-cn|aws-us-gov):iam::[0-9]{12}:oidc-provider/token\.actions\.githubusercontent\.com$"
)
# IAM role names are at most 64 characters of [\w+=,.@-]; the longest suffix added here is "-preview".
_ROLE_PREFIX: Final = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,56}$")
_WILDCARDS: Final = ("*", "?")
LOCK_MODES: Final = ("GOVERNANCE", "COMPLIANCE")
PARTITIONS: Final = (("cn-", "aws-cn"), ("us-gov-", "aws-us-gov"))


class BootstrapConfigError(pulumi.RunError):
    """A user mistake in the bootstrap stack's config: reported as one line, without a traceback."""

    def __init__(self, key: str, value: object, reason: str) -> None:
        self.key = key
        super().__init__(f"invalid config {PROJECT}:{key} = {value!r}: {reason}")


@dataclass(frozen=True)
class BootstrapSettings:
    github_owner: str
    github_repository: str
    # GitHub environments whose jobs may assume the deploy role (deploy.yml's jobs: dev and prod).
    deploy_environments: tuple[str, ...]
    state_bucket_name: str
    region: str
    # 0: no S3 Object Lock. N: every state object version is kept at least N days (mode below).
    state_object_lock_days: int
    state_object_lock_mode: str
    # Days S3 keeps a state object's replaced (noncurrent) versions; 0 keeps them forever.
    state_version_retention_days: int
    # "" or the KMS key of an awskms:// secrets provider: the preview role may Decrypt with it, the deploy role also
    # Encrypt (a new stack's data key).
    kms_key_arn: str
    # "" creates GitHub's OIDC provider; an account has at most one per URL, so an existing one is named here.
    oidc_provider_arn: str
    role_name_prefix: str

    @property
    def repository(self) -> str:
        return f"{self.github_owner}/{self.github_repository}"

    @property
    def partition(self) -> str:
        return partition_of(self.region)

    @property
    def preview_role_name(self) -> str:
        return f"{self.role_name_prefix}-preview"

    @property
    def deploy_role_name(self) -> str:
        return f"{self.role_name_prefix}-deploy"


def partition_of(region: str) -> str:
    """The ARN partition of a region: aws, aws-cn or aws-us-gov."""
    return next((partition for prefix, partition in PARTITIONS if region.startswith(prefix)), "aws")


def _name(key: str, raw: str | None, pattern: re.Pattern[str], what: str) -> str:
    value = raw or ""
    if not value:
        raise BootstrapConfigError(key, value, f"required: {what}")
    if any(wildcard in value for wildcard in _WILDCARDS):
        raise BootstrapConfigError(key, value, f"no wildcards: {what}, spelled exactly")
    if not pattern.match(value):
        raise BootstrapConfigError(key, value, f"expected {what}")
    return value


def _whole(key: str, raw: str | None, default: int, low: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BootstrapConfigError(key, raw, f"expected a whole number from {low} to {high}") from None
    if not low <= value <= high:
        raise BootstrapConfigError(key, value, f"expected a whole number from {low} to {high}")
    return value


def _environments(raw: str | None) -> tuple[str, ...]:
    key = "deployEnvironments"
    if raw is None or raw == "":
        return ("dev", "prod")
    try:
        value = json.loads(raw)
    except ValueError:
        raise BootstrapConfigError(key, raw, "expected a list of GitHub environment names, such as [dev, prod]") from None
    if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
        raise BootstrapConfigError(key, value, "expected a non-empty list of GitHub environment names, such as [dev, prod]")
    for item in value:
        _name(key, item, _ENVIRONMENT, "a GitHub environment name of letters, digits, '.', '_' or '-'")
    if len(set(value)) != len(value):
        raise BootstrapConfigError(key, value, "an environment is listed twice; expected each once")
    return tuple(value)


def _bucket(raw: str | None) -> str:
    key = "stateBucketName"
    value = _name(key, raw, _BUCKET, "an S3 bucket name of 3-63 lowercase letters, digits or '-' (no dots)")
    prefixes, suffixes = _BUCKET_RESERVED
    if value.startswith(prefixes) or value.endswith(suffixes):
        raise BootstrapConfigError(key, value, "S3 reserves that prefix or suffix; choose another name")
    return value


def _optional(key: str, raw: str | None, pattern: re.Pattern[str], what: str) -> str:
    value = raw or ""
    if value and not pattern.match(value):
        raise BootstrapConfigError(key, value, f"expected {what}, or nothing")
    return value


def parse_settings(raw: Mapping[str, str | None]) -> BootstrapSettings:
    """The settings from config values as the CLI hands them over (strings; lists as JSON); keys without project."""
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise BootstrapConfigError(unknown[0], raw[unknown[0]], f"not a key of this project (keys: {', '.join(KEYS)})")
    region = _name("region", raw.get("region") or "eu-central-1", _REGION, "an AWS region name such as eu-central-1")
    mode = (raw.get("stateObjectLockMode") or "GOVERNANCE").upper()
    if mode not in LOCK_MODES:
        raise BootstrapConfigError("stateObjectLockMode", raw.get("stateObjectLockMode"), f"expected {' or '.join(LOCK_MODES)}")
    kms_key_arn = _optional(
        "kmsKeyArn", raw.get("kmsKeyArn"), _KMS_KEY, "a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>; not an alias)"
    )
    oidc_provider_arn = _optional(
        "oidcProviderArn",
        raw.get("oidcProviderArn"),
        _OIDC_PROVIDER,
        "the ARN of this account's OIDC provider for token.actions.githubusercontent.com",
    )
    settings = BootstrapSettings(
        github_owner=_name("githubOwner", raw.get("githubOwner"), _OWNER, "one GitHub user or organization name"),
        github_repository=_name(
            "githubRepository",
            raw.get("githubRepository"),
            _REPOSITORY,
            "one repository name of letters, digits, '.', '_' or '-' (without the owner)",
        ),
        deploy_environments=_environments(raw.get("deployEnvironments")),
        state_bucket_name=_bucket(raw.get("stateBucketName")),
        region=region,
        state_object_lock_days=_whole("stateObjectLockDays", raw.get("stateObjectLockDays"), 0, 0, 36500),
        state_object_lock_mode=mode,
        state_version_retention_days=_whole("stateVersionRetentionDays", raw.get("stateVersionRetentionDays"), 90, 0, 36500),
        kms_key_arn=kms_key_arn,
        oidc_provider_arn=oidc_provider_arn,
        role_name_prefix=_name(
            "roleNamePrefix",
            raw.get("roleNamePrefix") or "eks-platform-ci",
            _ROLE_PREFIX,
            "at most 56 letters, digits or +=,.@_- (IAM role names are at most 64 characters)",
        ),
    )
    if settings.github_repository in (".", ".."):
        raise BootstrapConfigError("githubRepository", settings.github_repository, "not a repository name")
    for key, arn in (("kmsKeyArn", kms_key_arn), ("oidcProviderArn", oidc_provider_arn)):
        if arn and arn.split(":")[1] != settings.partition:
            raise BootstrapConfigError(key, arn, f"not in partition {settings.partition} of region {region}")
    if 0 < settings.state_version_retention_days < settings.state_object_lock_days:
        raise BootstrapConfigError(
            "stateVersionRetentionDays",
            settings.state_version_retention_days,
            f"shorter than stateObjectLockDays ({settings.state_object_lock_days}): S3 would keep locked versions anyway",
        )
    return settings


def load_settings() -> BootstrapSettings:
    """The stack's settings, read from its config once (what the program uses everywhere else)."""
    config = pulumi.Config()
    return parse_settings({key: config.get(key) for key in KEYS})
