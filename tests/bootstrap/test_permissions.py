"""What each CI role may do: the preview role reads and writes nothing; the deploy role manages the platform but not
the CI set-up itself; both cover every AWS service the platform's stacks declare."""

from __future__ import annotations

from typing import Any

import pytest
from ci_policies import (
    CI_ROLE_WRITES,
    PLATFORM_SERVICES,
    PREVIEW_ACCOUNT_READS,
    PREVIEW_RESOURCE_READS,
    STATE_PREFIX,
    iam_prefix,
    write_actions,
)

from tests.bootstrap.plans import BUCKET, KMS_KEY, VARIANTS, bootstrap_plan, role_document
from tests.conftest import STACKS, stack_plan

STATE_BUCKET = f"arn:aws:s3:::{BUCKET}"


def statements(document: dict[str, Any], effect: str = "Allow") -> list[dict[str, Any]]:
    return [statement for statement in document["Statement"] if statement["Effect"] == effect]


def actions(document: dict[str, Any], effect: str = "Allow") -> list[str]:
    found: list[str] = []
    for statement in statements(document, effect):
        found.extend([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    return found


def resources(statement: dict[str, Any]) -> list[str]:
    return [statement["Resource"]] if isinstance(statement["Resource"], str) else list(statement["Resource"])


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_preview_role_writes_nothing(variant: str) -> None:
    """Catches: a Create/Delete/Put/Update/Attach/... or a service-wide `*` slipping into the preview role."""
    settings, plan = bootstrap_plan(**VARIANTS[variant])
    preview = role_document(plan, settings.preview_role_name, "permissions")
    assert write_actions(preview) == []
    assert statements(preview, "Deny") == []
    assert all("NotAction" not in s and "NotResource" not in s for s in preview["Statement"])


def test_the_write_check_finds_writes() -> None:
    """The check above would catch each kind of write (it is not vacuous)."""
    for action in (
        "s3:PutObject",
        "s3:DeleteObject",
        "ec2:*",
        "*",
        "iam:AttachRolePolicy",
        "iam:PassRole",
        "eks:Update*",
        "kms:Encrypt",
    ):
        assert write_actions({"Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}) == [action]
    assert write_actions({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}) != []
    assert write_actions({"Statement": [{"Effect": "Allow", "Action": ["ec2:Describe*", "kms:Decrypt"], "Resource": "*"}]}) == []


def test_the_preview_role_reads_only_the_state_objects_of_the_bucket() -> None:
    """Catches: state read widened to every bucket, or a write to the state (preview takes no lock, saves nothing)."""
    settings, plan = bootstrap_plan()
    preview = role_document(plan, settings.preview_role_name, "permissions")
    s3 = [s for s in statements(preview) if any(str(a).startswith("s3:") for a in resources_and_actions(s))]
    assert {(tuple(sorted(actions({"Statement": [s]}))), tuple(resources(s))) for s in s3} == {
        (("s3:ListBucket",), (STATE_BUCKET,)),
        (("s3:GetObject",), (f"{STATE_BUCKET}/{STATE_PREFIX}*",)),
    }


def resources_and_actions(statement: dict[str, Any]) -> list[str]:
    return actions({"Statement": [statement]})


def test_the_preview_role_reads_settings_not_data() -> None:
    """Catches: reads that return the data behind the platform rather than its settings (logs, messages, secrets)."""
    settings, plan = bootstrap_plan()
    allowed = actions(role_document(plan, settings.preview_role_name, "permissions"))
    for data_read in (
        "logs:GetLogEvents",
        "logs:FilterLogEvents",
        "sqs:ReceiveMessage",
        "kms:Decrypt",
        "secretsmanager:GetSecretValue",
    ):
        assert data_read not in allowed
    assert not [a for a in allowed if a.startswith(("ssm:", "s3:")) and a.endswith("*")]
    # Its SSM reads are AWS's public parameters, never the account's own.
    (ssm,) = [
        s
        for s in statements(role_document(plan, settings.preview_role_name, "permissions"))
        if s["Sid"] == "ReadPublicParameters"
    ]
    assert resources(ssm) == ["arn:aws:ssm:*:*:parameter/aws/service/*"]


def test_the_preview_role_decrypts_with_the_secrets_key_only_when_there_is_one() -> None:
    settings, plan = bootstrap_plan(kmsKeyArn=KMS_KEY)
    decrypt = [
        s
        for s in statements(role_document(plan, settings.preview_role_name, "permissions"))
        if "kms:Decrypt" in resources_and_actions(s)
    ]
    assert [resources(s) for s in decrypt] == [[KMS_KEY]]
    settings, plan = bootstrap_plan()
    assert "kms:Decrypt" not in actions(role_document(plan, settings.preview_role_name, "permissions"))


def test_the_deploy_role_cannot_change_the_ci_roles_or_the_bucket() -> None:
    """Catches: a deploy role that could rewrite its own trust (or the preview role's), or purge the state's history."""
    settings, plan = bootstrap_plan(kmsKeyArn=KMS_KEY)
    deploy = role_document(plan, settings.deploy_role_name, "permissions")
    (keep_roles,) = [s for s in statements(deploy, "Deny") if s["Sid"] == "KeepCiRolesAsBootstrapped"]
    assert sorted(resources(keep_roles)) == sorted(
        f"arn:aws:iam::123456789012:role/{name}" for name in (settings.preview_role_name, settings.deploy_role_name)
    )
    assert {"iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:DeleteRole"} <= set(CI_ROLE_WRITES)
    assert set(CI_ROLE_WRITES) <= set(keep_roles["Action"])
    allowed = actions(deploy)
    assert not [
        a
        for a in allowed
        if a.startswith("s3:") and a not in ("s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject")
    ]
    assert "s3:*" not in allowed and not [a for a in allowed if "OpenIDConnectProvider" in a]
    (keep_key,) = [s for s in statements(deploy, "Deny") if s["Sid"] == "KeepSecretsKey"]
    assert resources(keep_key) == [KMS_KEY] and "kms:ScheduleKeyDeletion" in keep_key["Action"]


def test_the_deploy_role_writes_state_objects_only_under_the_backends_prefix() -> None:
    settings, plan = bootstrap_plan()
    (write,) = [s for s in statements(role_document(plan, settings.deploy_role_name, "permissions")) if s["Sid"] == "WriteState"]
    assert resources(write) == [f"{STATE_BUCKET}/{STATE_PREFIX}*"]


def test_both_roles_cover_every_aws_service_the_platform_declares() -> None:
    """Catches: a stack that starts using a new AWS service (say, a Route 53 zone) while CI's roles know nothing of
    it: the first deploy would fail half-way with AccessDenied; this fails first, naming the service."""
    used = {prefix for stack in STACKS for r in stack_plan(stack).resources if (prefix := iam_prefix(r["type"]))}
    assert used <= set(PLATFORM_SERVICES), (
        f"add to ci_policies.PLATFORM_SERVICES and both roles: {sorted(used - set(PLATFORM_SERVICES))}"
    )
    settings, plan = bootstrap_plan()
    deploy = {a.split(":")[0] for a in actions(role_document(plan, settings.deploy_role_name, "permissions"))}
    preview = {a.split(":")[0] for a in (*PREVIEW_ACCOUNT_READS, *PREVIEW_RESOURCE_READS)}
    assert set(PLATFORM_SERVICES) <= deploy and set(PLATFORM_SERVICES) - {"iam"} <= preview | {"iam"}
    assert "iam" in preview


def test_the_resource_type_to_service_mapping() -> None:
    assert iam_prefix("aws:ec2/vpc:Vpc") == "ec2"
    assert iam_prefix("aws:cloudwatch/eventRule:EventRule") == "events"
    assert iam_prefix("aws:cloudwatch/logGroup:LogGroup") == "logs"
    assert iam_prefix("kubernetes:core/v1:Service") is None
    assert iam_prefix("pulumi:providers:aws") is None
