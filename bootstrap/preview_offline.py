"""The bootstrap's dry run without AWS: its plan on the mock engine, then its policies checked.

    .venv/bin/python -m bootstrap.preview_offline [--stack example] [--out out/bootstrap] [--project-dir bootstrap]

Runs bootstrap/__main__.py as `pulumi preview` would (the platform's offline engine, offline/plan/engine.py, with
this project's Pulumi.yaml defaults and stack file), writes the plan to <out>/plan.json, and checks what it
declared:
- every IAM policy document (both trust policies, both permission policies, the bucket policy) through parliament
  (duo-labs), with its community auditors: a finding fails unless JUSTIFIED below says why it stands;
- each trust policy with ci_policies.trust_problems: exactly this repository's pull_request subject for the preview
  role and its environments for the deploy role, StringEquals on the audience and subject, no pattern;
- the preview role's policy allows no write (ci_policies.write_actions);
- the bucket: versioned, encrypted, public access blocked on all four counts, TLS-only policy, Object Lock as
  configured.

Exit 0: clean (one line saying what was checked); 1: a finding or a failed check (one line each); 2: bad config.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

BOOTSTRAP_DIR: Final = Path(__file__).resolve().parent
# The program imports its modules as top-level ones (the CLI runs it from this folder); so does this check, so that
# both see the same classes.
if str(BOOTSTRAP_DIR) not in sys.path:
    sys.path.insert(0, str(BOOTSTRAP_DIR))

from ci_policies import (  # noqa: E402
    environment_subject,
    pull_request_subject,
    trust_problems,
    write_actions,
)
from ci_settings import PROJECT, BootstrapConfigError, BootstrapSettings, parse_settings  # noqa: E402

from offline.plan.engine import ProgramRun, run_program  # noqa: E402
from offline.plan.stack_files import StackFileError, project_name, stack_config  # noqa: E402

DEFAULT_STACK: Final = "example"

# Parliament findings that stand, by (statement Sid, finding issue), with the reason. Anything else fails.
JUSTIFIED: Final[Mapping[tuple[str, str], str]] = {
    ("GitHubActionsOidc", "MALFORMED"): (
        "a trust policy has no Resource element: the role it belongs to is the resource (parliament reads every "
        "document as an identity policy)"
    ),
    ("GitHubActionsOidc", "UNKNOWN_FEDERATION_SOURCE"): (
        "parliament knows SAML provider ARNs and four built-in web identity domains only; "
        "arn:<partition>:iam::<account>:oidc-provider/token.actions.githubusercontent.com is the ARN of an IAM OIDC "
        "provider, the principal AWS documents for GitHub Actions"
    ),
    ("ReadAccountSettings", "RESOURCE_STAR"): (
        "ec2:Describe* on *: a few of EC2's Describe actions (client VPN, fleets, capacity blocks) accept resource "
        "ARNs, none of which the platform has; every other action of the statement authorizes on * only"
    ),
    ("ManagePlatformServices", "RESOURCE_STAR"): (
        "the deploy role creates the platform's VPC, subnets, cluster, keys, log groups, queues and rules: their "
        "auto-named ids do not exist before the first deployment, so no ARN could name them"
    ),
    **{
        (sid, "PERMISSIONS_MANAGEMENT_ACTIONS"): (
            "the deploy role writes the platform's own IAM roles, key policies and queue policies: that is its job; who "
            "may assume it is the boundary (its environments' trust), and it may not change the CI roles themselves"
        )
        for sid in ("ManagePlatformServices", "ManagePlatformRoles", "CreateServiceLinkedRoles")
    },
    ("ReadManagedPolicies", "INVALID_ARN"): (
        "AWS managed policies have the account field `aws` (arn:aws:iam::aws:policy/...); parliament expects 12 digits"
    ),
}


@dataclass(frozen=True)
class Document:
    """One policy document the bootstrap declares, named for messages: `<resource name> <what>`."""

    name: str
    role: str  # "trust", "permissions" or "bucket"
    body: dict[str, Any]


def build_bootstrap_plan(
    stack: str = DEFAULT_STACK, project_dir: Path = BOOTSTRAP_DIR, overrides: Mapping[str, str] | None = None
) -> tuple[BootstrapSettings, ProgramRun]:
    """The stack's settings and plan; `overrides` are config keys without the project (values as the CLI's strings).

    Raises BootstrapConfigError for a bad value and StackFileError for an unreadable stack file.
    """
    project = project_name(project_dir)
    config = stack_config(project_dir, stack) | {f"{project}:{key}": value for key, value in (overrides or {}).items()}
    prefix = f"{project}:"
    settings = parse_settings({key[len(prefix) :]: value for key, value in config.items() if key.startswith(prefix)})
    return settings, run_program(project_dir, project, stack, config, settings.region)


def resources_of(plan: Mapping[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [resource for resource in plan["resources"] if resource["type"] == resource_type]


def documents(plan: Mapping[str, Any]) -> Iterator[Document]:
    for role in resources_of(plan, "aws:iam/role:Role"):
        yield Document(f"{role['name']} trust", "trust", json.loads(role["inputs"]["assumeRolePolicy"]))
    for policy in resources_of(plan, "aws:iam/rolePolicy:RolePolicy"):
        yield Document(f"{policy['name']} permissions", "permissions", json.loads(policy["inputs"]["policy"]))
    for policy in resources_of(plan, "aws:s3/bucketPolicy:BucketPolicy"):
        yield Document(f"{policy['name']} bucket policy", "bucket", json.loads(policy["inputs"]["policy"]))


def parliament_findings(document: Document) -> list[tuple[str, str, str]]:
    """(Sid, issue, detail) of each finding parliament has, statement by statement (so each names its Sid)."""
    from parliament import analyze_policy_string  # type: ignore[import-untyped]  # a developer tool: only here

    found: list[tuple[str, str, str]] = []
    for statement in document.body["Statement"]:
        single = {"Version": document.body["Version"], "Statement": [statement]}
        policy = analyze_policy_string(json.dumps(single), include_community_auditors=True)
        found.extend((statement.get("Sid", ""), finding.issue, str(finding.detail)) for finding in policy.findings)
    return found


def role_inputs(plan: Mapping[str, Any], name: str) -> dict[str, Any]:
    (role,) = [role for role in resources_of(plan, "aws:iam/role:Role") if role["name"] == name]
    return role["inputs"]  # type: ignore[no-any-return]


def only(plan: Mapping[str, Any], resource_type: str) -> dict[str, Any]:
    found = resources_of(plan, resource_type)
    if len(found) != 1:
        raise AssertionError(f"expected one {resource_type}, found {len(found)}")
    return found[0]["inputs"]  # type: ignore[no-any-return]


def bucket_problems(settings: BootstrapSettings, plan: Mapping[str, Any]) -> list[str]:
    """What the state bucket lacks of: versioned, encrypted, public access blocked, TLS only, locked as configured."""
    problems = []
    bucket = only(plan, "aws:s3/bucket:Bucket")
    if bucket.get("bucket") != settings.state_bucket_name:
        problems.append(f"bucket named {bucket.get('bucket')!r}, not {settings.state_bucket_name!r}")
    if bool(bucket.get("objectLockEnabled")) != (settings.state_object_lock_days > 0):
        problems.append("objectLockEnabled does not match stateObjectLockDays")
    if only(plan, "aws:s3/bucketVersioning:BucketVersioning")["versioningConfiguration"].get("status") != "Enabled":
        problems.append("versioning is not Enabled")
    rules = only(plan, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")["rules"]
    algorithms = {rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] for rule in rules}
    if not algorithms or not algorithms <= {"AES256", "aws:kms", "aws:kms:dsse"}:
        problems.append(f"no default encryption ({sorted(algorithms)})")
    block = only(plan, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        if block.get(flag) is not True:
            problems.append(f"public access block: {flag} is not true")
    if (
        only(plan, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")["rule"].get("objectOwnership")
        != "BucketOwnerEnforced"
    ):
        problems.append("ACLs are not disabled (objectOwnership BucketOwnerEnforced)")
    policy = json.loads(only(plan, "aws:s3/bucketPolicy:BucketPolicy")["policy"])
    tls_only = [
        statement
        for statement in policy["Statement"]
        if statement.get("Effect") == "Deny"
        and statement.get("Principal") == "*"
        and statement.get("Action") == "s3:*"
        and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    if not tls_only:
        problems.append("no bucket policy statement denies requests without TLS")
    locks = resources_of(plan, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")
    if settings.state_object_lock_days:
        retention = locks[0]["inputs"]["rule"]["defaultRetention"] if locks else {}
        expected = {"mode": settings.state_object_lock_mode, "days": settings.state_object_lock_days}
        if retention != expected:
            problems.append(f"object lock default retention {retention}, expected {expected}")
    elif locks:
        problems.append("an object lock configuration although stateObjectLockDays is 0")
    return problems


def check(settings: BootstrapSettings, plan: Mapping[str, Any]) -> list[str]:
    """Every problem of the plan, one line each: empty when the bootstrap is as docs/ci.md says."""
    problems = []
    for document in documents(plan):
        for sid, issue, detail in parliament_findings(document):
            if (sid, issue) not in JUSTIFIED:
                problems.append(f"{document.name}: parliament {issue} in statement {sid!r}: {detail[:300]}")
    expected = {
        settings.preview_role_name: [pull_request_subject(settings.repository)],
        settings.deploy_role_name: [environment_subject(settings.repository, name) for name in settings.deploy_environments],
    }
    roles = {role["inputs"].get("name"): role["inputs"] for role in resources_of(plan, "aws:iam/role:Role")}
    if sorted(roles) != sorted(expected):
        problems.append(f"roles {sorted(roles)}, expected {sorted(expected)}")
    for name, subjects in expected.items():
        if name in roles:
            trust = json.loads(roles[name]["assumeRolePolicy"])
            problems.extend(f"{name} trust: {problem}" for problem in trust_problems(trust, subjects))
    for policy in resources_of(plan, "aws:iam/rolePolicy:RolePolicy"):
        if policy["inputs"].get("role") == settings.preview_role_name:
            writes = write_actions(json.loads(policy["inputs"]["policy"]))
            if writes:
                problems.append(f"the preview role may write: {', '.join(writes)}")
    problems.extend(f"state bucket: {problem}" for problem in bucket_problems(settings, plan))
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stack", default=DEFAULT_STACK, help=f"stack file bootstrap/Pulumi.<stack>.yaml ({DEFAULT_STACK})")
    parser.add_argument("--out", type=Path, default=Path("out") / "bootstrap", help="where plan.json goes")
    parser.add_argument("--project-dir", type=Path, default=BOOTSTRAP_DIR, help="the bootstrap project (bootstrap/)")
    args = parser.parse_args(argv)
    try:
        settings, run = build_bootstrap_plan(args.stack, args.project_dir)
    except (BootstrapConfigError, StackFileError) as error:
        print(f"{PROJECT}: {error}", file=sys.stderr)
        return 2
    plan = run.to_json()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "plan.json").write_text(json.dumps(plan, indent=2, sort_keys=True) + "\n")
    problems = check(settings, plan)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{PROJECT} ({args.stack}): {len(problems)} problem(s)", file=sys.stderr)
        return 1
    checked = sum(1 for _ in documents(plan))
    print(
        f"{PROJECT} ({args.stack}): {len(plan['resources'])} resources previewed offline, {checked} policy documents "
        f"parliament-clean ({len(JUSTIFIED)} justified finding kinds), trust and bucket checks passed; plan in {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
