"""The bootstrap previews offline and its policies pass parliament: what `make bootstrap-preview` runs."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from bootstrap.preview_offline import JUSTIFIED, Document, bucket_problems, check, documents, main, parliament_findings
from tests.bootstrap.plans import BUCKET, STACK, VARIANTS, bootstrap_plan, inputs, make_project
from tests.bootstrap.plans import STACK_FILE as TEST_STACK_FILE


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_check_passes(variant: str) -> None:
    """Catches: a policy document with an unjustified parliament finding, a trust wider than its subjects, a preview
    role that may write, or a bucket setting lost, in any combination of the options."""
    settings, plan = bootstrap_plan(**VARIANTS[variant])
    assert check(settings, plan) == []


def test_five_documents_are_linted() -> None:
    _, plan = bootstrap_plan()
    assert sorted(d.name for d in documents(plan)) == [
        "deploy trust",
        "deploy-manage permissions",
        "preview trust",
        "preview-read permissions",
        "state bucket policy",
    ]


def test_every_justification_is_still_needed() -> None:
    """Catches: a justification left behind after the finding it excused went away (it would excuse a new one)."""
    used = set()
    for variant in VARIANTS.values():
        _, plan = bootstrap_plan(**variant)
        for document in documents(plan):
            used.update((sid, issue) for sid, issue, _ in parliament_findings(document))
    assert sorted(set(JUSTIFIED) - used) == []


def test_parliament_finds_what_it_should() -> None:
    """The lint is live: a misspelt action, a mismatched resource and an unknown condition are each a finding."""
    cases = {
        "UNKNOWN_ACTION": {"Effect": "Allow", "Action": "s3:GetObjekt", "Resource": "*"},
        "RESOURCE_MISMATCH": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}"},
        "UNKNOWN_CONDITION_FOR_ACTION": {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
            "Condition": {"StringEquals": {"ec2:Region": "eu-central-1"}},
        },
    }
    for issue, statement in cases.items():
        found = parliament_findings(
            Document("x", "permissions", {"Version": "2012-10-17", "Statement": [{"Sid": "S", **statement}]})
        )
        assert issue in {finding for _, finding, _ in found}, issue


def test_an_unjustified_finding_fails_the_check() -> None:
    settings, plan = bootstrap_plan()
    broken = copy.deepcopy(plan)
    for resource in broken["resources"]:
        if resource["type"] == "aws:iam/rolePolicy:RolePolicy" and resource["inputs"]["role"] == settings.preview_role_name:
            policy = json.loads(resource["inputs"]["policy"])
            policy["Statement"][0]["Action"].append("ec2:DescribeInstancez")
            resource["inputs"]["policy"] = json.dumps(policy)
    problems = check(settings, broken)
    assert len(problems) == 1 and "preview-read permissions: parliament UNKNOWN_ACTION" in problems[0]


def mutated(plan: dict[str, Any], resource_type: str, change: dict[str, Any]) -> dict[str, Any]:
    broken = copy.deepcopy(plan)
    for resource in broken["resources"]:
        if resource["type"] == resource_type:
            resource["inputs"].update(change)
    return broken


def test_the_state_bucket() -> None:
    """Catches: the state bucket unversioned, unencrypted, public, reachable without TLS, or deletable by `destroy`."""
    settings, plan = bootstrap_plan()
    assert inputs(plan, "aws:s3/bucketVersioning:BucketVersioning")["versioningConfiguration"] == {"status": "Enabled"}
    (rule,) = inputs(plan, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    (bucket,) = [r for r in plan["resources"] if r["type"] == "aws:s3/bucket:Bucket"]
    assert bucket["protect"] and bucket["inputs"]["bucket"] == BUCKET and not bucket["inputs"].get("forceDestroy")
    assert bucket_problems(settings, plan) == []
    breakages = {
        "versioning is not Enabled": (
            "aws:s3/bucketVersioning:BucketVersioning",
            {"versioningConfiguration": {"status": "Suspended"}},
        ),
        "restrictPublicBuckets": ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", {"restrictPublicBuckets": False}),
        "without TLS": ("aws:s3/bucketPolicy:BucketPolicy", {"policy": json.dumps({"Version": "2012-10-17", "Statement": []})}),
        "ACLs": ("aws:s3/bucketOwnershipControls:BucketOwnershipControls", {"rule": {"objectOwnership": "ObjectWriter"}}),
        "objectLockEnabled": ("aws:s3/bucket:Bucket", {"objectLockEnabled": True}),
    }
    for expected, (resource_type, change) in breakages.items():
        assert any(expected in problem for problem in bucket_problems(settings, mutated(plan, resource_type, change))), expected


def test_object_lock_and_version_retention_as_configured() -> None:
    settings, plan = bootstrap_plan(**VARIANTS["locked, KMS secrets, existing provider"])
    assert inputs(plan, "aws:s3/bucket:Bucket")["objectLockEnabled"] is True
    lock = inputs(plan, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")
    assert lock["objectLockEnabled"] == "Enabled"
    assert lock["rule"]["defaultRetention"] == {"mode": "COMPLIANCE", "days": 30}
    (rule,) = inputs(plan, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")["rules"]
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 90}
    assert rule["expiration"] == {"expiredObjectDeleteMarker": True}
    _, unlocked = bootstrap_plan(stateVersionRetentionDays="0")
    assert not [r for r in unlocked["resources"] if r["type"].endswith("BucketObjectLockConfiguration")]
    (rule,) = inputs(unlocked, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")["rules"]
    assert "noncurrentVersionExpiration" not in rule
    assert settings.state_object_lock_days == 30


def test_pulumis_backend_metadata_is_in_place_for_a_read_only_login() -> None:
    """Catches: a fresh bucket where the preview role's `pulumi login` would have to write .pulumi/meta.yaml."""
    _, plan = bootstrap_plan()
    meta = inputs(plan, "aws:s3/bucketObjectv2:BucketObjectv2")
    assert (meta["key"], meta["content"]) == (".pulumi/meta.yaml", "version: 1\n")


def test_the_outputs_are_what_to_set_in_github() -> None:
    settings, plan = bootstrap_plan()
    variables = plan["outputs"]["repositoryVariables"]
    assert variables == {
        "AWS_PREVIEW_ROLE_ARN": f"arn:aws:iam::123456789012:role/{settings.preview_role_name}",
        "AWS_ROLE_ARN": f"arn:aws:iam::123456789012:role/{settings.deploy_role_name}",
        "AWS_REGION": "eu-central-1",
        "PULUMI_BACKEND_URL": f"s3://{BUCKET}?region=eu-central-1",
    }
    commands = plan["outputs"]["githubCommands"]
    assert commands[-1] == "gh secret set PULUMI_CONFIG_PASSPHRASE --repo acme/platform"
    assert all(f"gh variable set {name} " in " ".join(commands) for name in variables)


def test_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = make_project(tmp_path / "bootstrap", {STACK: TEST_STACK_FILE})
    assert main(["--stack", STACK, "--project-dir", str(project), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "parliament-clean" in out
    assert json.loads((tmp_path / "out" / "plan.json").read_text())["project"] == "eks-platform-bootstrap"
