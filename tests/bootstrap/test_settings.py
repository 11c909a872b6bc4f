"""The bootstrap's config: every mistake is one line naming the key, before anything is declared."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ci_settings import PROJECT, BootstrapConfigError, parse_settings

from bootstrap.preview_offline import main
from tests.bootstrap.plans import BUCKET, OWNER, REPOSITORY, STACK_FILE, bootstrap_plan, make_project

BASE = {"githubOwner": OWNER, "githubRepository": REPOSITORY, "stateBucketName": BUCKET}

REFUSED = [
    ("githubOwner", ""),
    ("githubOwner", "*"),
    ("githubOwner", "acme*"),
    ("githubOwner", "ac?me"),
    ("githubOwner", "acme/platform"),
    ("githubOwner", "-acme"),
    ("githubOwner", "acme:x"),
    ("githubRepository", ""),
    ("githubRepository", "*"),
    ("githubRepository", "plat*"),
    ("githubRepository", "acme/platform"),
    ("githubRepository", "platform:pull_request"),
    ("githubRepository", ".."),
    ("deployEnvironments", "[]"),
    ("deployEnvironments", '["*"]'),
    ("deployEnvironments", '["dev", "dev"]'),
    ("deployEnvironments", '["prod:x"]'),
    ("deployEnvironments", '["p r o d"]'),
    ("deployEnvironments", "dev"),
    ("stateBucketName", ""),
    ("stateBucketName", "Acme-State"),
    ("stateBucketName", "acme.state"),
    ("stateBucketName", "xn--acme"),
    ("stateBucketName", "ab"),
    ("region", "Europe"),
    ("stateObjectLockDays", "-1"),
    ("stateObjectLockDays", "ten"),
    ("stateObjectLockMode", "LEGAL_HOLD"),
    ("kmsKeyArn", "arn:aws:kms:eu-central-1:123456789012:alias/pulumi"),
    ("kmsKeyArn", "arn:aws-cn:kms:eu-central-1:123456789012:key/abc"),
    ("oidcProviderArn", "arn:aws:iam::123456789012:oidc-provider/example.com"),
    ("roleNamePrefix", "a" * 57),
    ("notAKey", "x"),
]


@pytest.mark.parametrize(("key", "value"), REFUSED)
def test_a_bad_value_is_one_line_naming_its_key(key: str, value: str) -> None:
    """Catches: a wildcard or empty owner/repository reaching the trust policy, or an error that names no key."""
    with pytest.raises(BootstrapConfigError) as raised:
        parse_settings(BASE | {key: value})
    message = str(raised.value)
    assert raised.value.key == key
    assert message.startswith(f"invalid config {PROJECT}:{key} = ") and "\n" not in message


def test_the_defaults() -> None:
    settings = parse_settings(BASE)
    assert settings.repository == "acme/platform"
    assert settings.deploy_environments == ("dev", "prod")
    assert (settings.region, settings.partition) == ("eu-central-1", "aws")
    assert (settings.state_object_lock_days, settings.state_version_retention_days) == (0, 90)
    assert (settings.preview_role_name, settings.deploy_role_name) == ("eks-platform-ci-preview", "eks-platform-ci-deploy")
    assert parse_settings(BASE | {"region": "cn-north-1"}).partition == "aws-cn"


def test_locked_versions_cannot_expire_before_their_lock() -> None:
    with pytest.raises(BootstrapConfigError, match="stateVersionRetentionDays"):
        parse_settings(BASE | {"stateObjectLockDays": "120", "stateVersionRetentionDays": "90"})
    assert parse_settings(BASE | {"stateObjectLockDays": "120", "stateVersionRetentionDays": "0"}).state_object_lock_days == 120


def test_the_program_refuses_a_wildcard_owner_before_declaring_anything() -> None:
    """Catches: the program reading its config somewhere else than through parse_settings."""
    with pytest.raises(BootstrapConfigError, match=r"githubOwner = '\*': no wildcards"):
        bootstrap_plan(githubOwner="*")


def test_the_offline_check_says_a_bad_value_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = make_project(tmp_path / "bootstrap", {"bad": STACK_FILE.replace(f"Repository: {REPOSITORY}", "Repository: '*'")})
    assert main(["--stack", "bad", "--project-dir", str(project), "--out", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "githubRepository = '*': no wildcards" in captured.err


def test_the_shipped_example_stack_is_valid() -> None:
    """The example users copy must itself pass (it is what `make bootstrap-preview` checks by default)."""
    from bootstrap.preview_offline import BOOTSTRAP_DIR
    from offline.plan.stack_files import stack_config

    config = stack_config(BOOTSTRAP_DIR, "example")
    prefix = f"{PROJECT}:"
    settings = parse_settings({key[len(prefix) :]: value for key, value in config.items() if key.startswith(prefix)})
    assert json.dumps(settings.deploy_environments) == '["dev", "prod"]'
