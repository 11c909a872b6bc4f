"""Who may assume the two CI roles: the trust policies the bootstrap declares, and the check that refuses a wider one."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from ci_policies import (
    AUD_KEY,
    SUB_KEY,
    environment_subject,
    oidc_provider_arn,
    pull_request_subject,
    trust_policy,
    trust_problems,
)

from tests.bootstrap.plans import EXISTING_PROVIDER, OWNER, REPOSITORY, VARIANTS, bootstrap_plan, inputs, role_document

REPO = f"{OWNER}/{REPOSITORY}"
PROVIDER = oidc_provider_arn("aws", "123456789012")


def test_the_preview_role_trusts_this_repositorys_pull_requests_and_nothing_else() -> None:
    """Catches: a preview role assumable from a branch push, an environment (the deploy jobs) or another repository."""
    settings, plan = bootstrap_plan()
    trust = role_document(plan, settings.preview_role_name, "trust")
    assert trust["Statement"][0]["Condition"] == {
        "StringEquals": {AUD_KEY: "sts.amazonaws.com", SUB_KEY: f"repo:{REPO}:pull_request"}
    }
    assert trust_problems(trust, [pull_request_subject(REPO)]) == []


def test_the_deploy_role_trusts_the_deploy_environments_only() -> None:
    """Catches: a deploy role that a pull request (subject `pull_request`) or any branch could assume."""
    settings, plan = bootstrap_plan()
    trust = role_document(plan, settings.deploy_role_name, "trust")
    subjects = trust["Statement"][0]["Condition"]["StringEquals"][SUB_KEY]
    assert subjects == [f"repo:{REPO}:environment:dev", f"repo:{REPO}:environment:prod"]
    assert pull_request_subject(REPO) not in subjects
    assert trust_problems(trust, [environment_subject(REPO, "dev"), environment_subject(REPO, "prod")]) == []


def test_other_environments_change_only_the_deploy_subjects() -> None:
    settings, plan = bootstrap_plan(**VARIANTS["other environments, versions kept forever"])
    assert settings.deploy_role_name == "acme-ci-deploy"
    deploy = role_document(plan, "acme-ci-deploy", "trust")["Statement"][0]["Condition"]["StringEquals"][SUB_KEY]
    assert deploy == [f"repo:{REPO}:environment:staging", f"repo:{REPO}:environment:production"]
    preview = role_document(plan, "acme-ci-preview", "trust")["Statement"][0]["Condition"]["StringEquals"][SUB_KEY]
    assert preview == f"repo:{REPO}:pull_request"


def test_the_principal_is_githubs_oidc_provider_created_before_the_roles() -> None:
    """Catches: a trust policy naming a provider that does not exist yet, or another identity provider."""
    _, plan = bootstrap_plan()
    provider = inputs(plan, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider["url"] == "https://token.actions.githubusercontent.com"
    assert provider["clientIdLists"] == ["sts.amazonaws.com"]
    # IAM verifies GitHub's certificate against its trusted root CAs: a pinned thumbprint would only go stale.
    assert "thumbprintLists" not in provider
    (github,) = [r["urn"] for r in plan["resources"] if r["type"].endswith("OpenIdConnectProvider")]
    for role in (r for r in plan["resources"] if r["type"] == "aws:iam/role:Role"):
        assert github in role["dependencies"], role["name"]
        assert json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Federated": PROVIDER}


def test_an_existing_provider_is_used_not_created() -> None:
    _, plan = bootstrap_plan(oidcProviderArn=EXISTING_PROVIDER)
    assert not [r for r in plan["resources"] if r["type"].endswith("OpenIdConnectProvider")]
    for role in (r for r in plan["resources"] if r["type"] == "aws:iam/role:Role"):
        assert json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Federated": EXISTING_PROVIDER}


def with_condition(operator: str, key: str, value: Any) -> dict[str, Any]:
    """The right preview trust, written out here (not by trust_policy), with one condition changed."""
    exact = {AUD_KEY: "sts.amazonaws.com", SUB_KEY: f"repo:{REPO}:pull_request"}
    conditions: dict[str, dict[str, Any]] = {"StringEquals": exact}
    conditions.setdefault(operator, {})[key] = value
    if operator != "StringEquals":
        del exact[key]
    statement = {
        "Effect": "Allow",
        "Principal": {"Federated": PROVIDER},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": conditions,
    }
    return {"Version": "2012-10-17", "Statement": [statement]}


def test_the_written_out_trust_is_the_right_one() -> None:
    assert (
        trust_problems(with_condition("StringEquals", SUB_KEY, f"repo:{REPO}:pull_request"), [pull_request_subject(REPO)]) == []
    )


# Each a trust policy wider than one repository's pull requests or environments.
NEAR_MISSES = {
    "any event of the repository": with_condition("StringEquals", SUB_KEY, f"repo:{REPO}:*"),
    "any repository of the owner": with_condition("StringEquals", SUB_KEY, f"repo:{OWNER}/*"),
    "any branch": with_condition("StringEquals", SUB_KEY, f"repo:{REPO}:ref:refs/heads/*"),
    "one branch, not a pull request or environment": with_condition("StringEquals", SUB_KEY, f"repo:{REPO}:ref:refs/heads/main"),
    "a pattern through StringLike": with_condition("StringLike", SUB_KEY, f"repo:{REPO}:*"),
    "StringLike on an exact value": with_condition("StringLike", SUB_KEY, f"repo:{REPO}:pull_request"),
    "a ForAnyValue pattern": with_condition("ForAnyValue:StringLike", SUB_KEY, [f"repo:{REPO}:*"]),
    "another audience": with_condition("StringEquals", AUD_KEY, "sigstore"),
}


@pytest.mark.parametrize("case", sorted(NEAR_MISSES))
def test_a_near_miss_is_refused(case: str) -> None:
    """Catches: a trust check that lets a pattern, a branch subject or StringLike through."""
    assert trust_problems(NEAR_MISSES[case]) != []


def test_a_trust_without_subject_or_audience_is_refused() -> None:
    """Catches: the classic mistake, an OIDC trust with no `sub` condition, which any GitHub repository can use."""
    for key in (SUB_KEY, AUD_KEY):
        document = trust_policy(PROVIDER, [pull_request_subject(REPO)])
        del document["Statement"][0]["Condition"]["StringEquals"][key]
        assert any(key in problem for problem in trust_problems(document)), key


def test_other_principals_actions_and_statements_are_refused() -> None:
    base = trust_policy(PROVIDER, [pull_request_subject(REPO)])
    anyone = copy.deepcopy(base)
    anyone["Statement"][0]["Principal"] = {"AWS": "*"}
    assumable = copy.deepcopy(base)
    assumable["Statement"][0]["Action"] = ["sts:AssumeRoleWithWebIdentity", "sts:AssumeRole"]
    doubled = copy.deepcopy(base)
    doubled["Statement"].append(copy.deepcopy(base["Statement"][0]))
    for document in (anyone, assumable, doubled):
        assert trust_problems(document) != []


def test_the_expected_subjects_must_match_exactly() -> None:
    """Catches: a preview role that also trusts an environment, or a deploy role missing or adding one."""
    preview = trust_policy(PROVIDER, [pull_request_subject(REPO), environment_subject(REPO, "dev")])
    assert trust_problems(preview) == []  # each subject is exact on its own...
    assert trust_problems(preview, [pull_request_subject(REPO)]) != []  # ...but not the preview role's set
    other_repository = trust_policy(PROVIDER, [pull_request_subject(f"{OWNER}/other")])
    assert trust_problems(other_repository, [pull_request_subject(REPO)]) != []
