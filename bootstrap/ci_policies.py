"""The IAM and bucket policy documents of the bootstrap, and the checks a trust policy must pass.

Pure functions of plain strings: `__main__.py` applies them to the resources' outputs, the tests and the offline
check (preview_offline.py) call them on what the program declared.

Who may do what:
- the preview role: assumed only by this repository's `pull_request` jobs (subject `repo:<owner>/<repo>:pull_request`);
  reads what `pulumi preview` of the platform reads (the provider invokes and describe calls, the state objects)
  and writes nothing;
- the deploy role: assumed only by jobs running in one of the repository's deploy environments (subject
  `repo:<owner>/<repo>:environment:<name>`); manages the platform's services and writes the state objects, but may not
  change the two CI roles, the GitHub OIDC provider, the state bucket's settings or the secrets key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

GITHUB_OIDC_HOST: Final = "token.actions.githubusercontent.com"
GITHUB_OIDC_URL: Final = f"https://{GITHUB_OIDC_HOST}"
# What aws-actions/configure-aws-credentials asks GitHub to put in the token's `aud` claim.
AUDIENCE: Final = "sts.amazonaws.com"
AUD_KEY: Final = f"{GITHUB_OIDC_HOST}:aud"
SUB_KEY: Final = f"{GITHUB_OIDC_HOST}:sub"
# The objects of the Pulumi DIY backend, under the bucket's root: stacks, history, backups, locks and meta.yaml.
STATE_PREFIX: Final = ".pulumi/"
VERSION: Final = "2012-10-17"

# IAM service prefixes of the platform program's AWS resources, by the pulumi_aws module of their type where the two
# differ (aws:cloudwatch/eventRule:EventRule is an EventBridge rule). tests/bootstrap checks the platform's plans
# against PLATFORM_SERVICES: a resource of a new service fails that test, not a deploy.
MODULE_PREFIXES: Final[Mapping[str, str]] = {
    "cloudwatch/eventRule": "events",
    "cloudwatch/eventTarget": "events",
    "cloudwatch/logGroup": "logs",
}
PLATFORM_SERVICES: Final = ("ec2", "eks", "events", "iam", "kms", "logs", "sqs")

# What `pulumi preview` of the platform reads. Without --refresh the engine reads no resource back, so the calls are
# the program's invokes (aws.get_availability_zones: ec2:DescribeAvailabilityZones; aws.get_caller_identity: no
# permission; aws.iam.get_session_context: iam:GetRole), what pulumi-eks's component looks up while it builds its
# children (subnets, add-on versions), and the provider's checks. Describe/List/Get only, and none of the reads that
# return data rather than settings: no logs:GetLogEvents, no sqs:ReceiveMessage, no kms:Decrypt beyond the secrets
# key, no secretsmanager, no ssm parameter of the account, no S3 object outside the state.
# Actions IAM authorizes on "*" only (or, for ec2:Describe*, almost only: see preview_offline.JUSTIFIED).
PREVIEW_ACCOUNT_READS: Final = (
    "ec2:Describe*",
    "eks:ListClusters",
    "eks:DescribeAddonVersions",
    "eks:ListAccessPolicies",
    "kms:ListAliases",
    "logs:DescribeLogGroups",
)
# Reads of one resource, allowed on this account's resources of the platform's services only.
PREVIEW_RESOURCE_READS: Final = (
    "eks:DescribeCluster",
    "eks:DescribeNodegroup",
    "eks:DescribeAddon",
    "eks:DescribeAccessEntry",
    "eks:DescribePodIdentityAssociation",
    "eks:DescribeUpdate",
    "eks:ListNodegroups",
    "eks:ListAddons",
    "eks:ListAccessEntries",
    "eks:ListAssociatedAccessPolicies",
    "eks:ListPodIdentityAssociations",
    "eks:ListUpdates",
    "eks:ListTagsForResource",
    "events:DescribeRule",
    "events:ListTargetsByRule",
    "events:ListTagsForResource",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListRolePolicies",
    "iam:ListAttachedRolePolicies",
    "iam:ListRoleTags",
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListResourceTags",
    "logs:ListTagsForResource",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ListQueueTags",
)
# Role and policy management the platform needs (its cluster, node, add-on and controller roles, all auto-named).
DEPLOY_ROLE_ACTIONS: Final = (
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:GetRole",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
    "iam:UpdateAssumeRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:ListRoleTags",
    "iam:PutRolePolicy",
    "iam:GetRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:ListRolePolicies",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
    "iam:PassRole",
)
# What the deploy role may never do to the CI roles themselves: rewrite their trust or permissions (which would
# widen who can assume them), delete them or tag them.
CI_ROLE_WRITES: Final = tuple(
    action for action in DEPLOY_ROLE_ACTIONS if not action.startswith(("iam:Get", "iam:List")) and action != "iam:PassRole"
)
# The service-linked roles EKS and EC2 create on first use in an account.
SERVICE_LINKED_ROLES: Final = (
    "eks.amazonaws.com",
    "eks-nodegroup.amazonaws.com",
    "autoscaling.amazonaws.com",
    "spot.amazonaws.com",
)
SECRETS_KEY_ADMIN: Final = (
    "kms:ScheduleKeyDeletion",
    "kms:DisableKey",
    "kms:PutKeyPolicy",
    "kms:CreateGrant",
    "kms:RevokeGrant",
    "kms:UpdateKeyDescription",
)

# A subject a trust policy may name: one repository's pull requests or one of its environments, spelled out.
_SUBJECT = re.compile(r"^repo:[A-Za-z0-9-]+/[A-Za-z0-9._-]+:(pull_request|environment:[A-Za-z0-9._-]+)$")


def pull_request_subject(repository: str) -> str:
    """The `sub` claim of a job run by a `pull_request` event of `repository` (owner/name), with no environment."""
    return f"repo:{repository}:pull_request"


def environment_subject(repository: str, environment: str) -> str:
    """The `sub` claim of a job that runs in GitHub environment `environment` of `repository`."""
    return f"repo:{repository}:environment:{environment}"


def oidc_provider_arn(partition: str, account: str) -> str:
    return f"arn:{partition}:iam::{account}:oidc-provider/{GITHUB_OIDC_HOST}"


def trust_policy(provider_arn: str, subjects: Sequence[str]) -> dict[str, Any]:
    """Who may assume a role: a GitHub Actions token for `sts.amazonaws.com` whose subject is one of `subjects`."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "GitHubActionsOidc",
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        AUD_KEY: AUDIENCE,
                        SUB_KEY: subjects[0] if len(subjects) == 1 else list(subjects),
                    }
                },
            }
        ],
    }


def _bucket_arn(partition: str, bucket: str) -> str:
    return f"arn:{partition}:s3:::{bucket}"


def _public_parameters(partition: str) -> str:
    # AWS's public parameters (EKS-optimized AMI ids, ...), in any region; never the account's own parameters, which
    # cannot be under /aws/. Their ARNs have an empty account field, which `*` matches.
    return f"arn:{partition}:ssm:*:*:parameter/aws/service/*"


def platform_resources(partition: str, account: str) -> list[str]:
    """This account's resources of the platform's services, in any region (the platform's region is the stacks')."""
    return [
        f"arn:{partition}:eks:*:{account}:*",
        f"arn:{partition}:events:*:{account}:rule/*",
        f"arn:{partition}:iam::{account}:role/*",
        f"arn:{partition}:kms:*:{account}:key/*",
        f"arn:{partition}:logs:*:{account}:log-group:*",
        f"arn:{partition}:sqs:*:{account}:*",
    ]


def preview_policy(partition: str, account: str, bucket: str, kms_key_arn: str = "") -> dict[str, Any]:
    """The preview role's permissions: read-only, and of the state only its objects."""
    statements: list[dict[str, Any]] = [
        {"Sid": "ReadAccountSettings", "Effect": "Allow", "Action": list(PREVIEW_ACCOUNT_READS), "Resource": "*"},
        {
            "Sid": "ReadPlatformResources",
            "Effect": "Allow",
            "Action": list(PREVIEW_RESOURCE_READS),
            "Resource": platform_resources(partition, account),
        },
        {
            "Sid": "ReadPublicParameters",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter", "ssm:GetParameters"],
            "Resource": _public_parameters(partition),
        },
        {
            "Sid": "ListState",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": _bucket_arn(partition, bucket),
        },
        {
            # Preview takes no lock and saves nothing (Pulumi's DIY backend locks and writes only for update,
            # refresh, destroy and import); login writes .pulumi/meta.yaml only when it is missing, and the bootstrap
            # creates it.
            "Sid": "ReadState",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"{_bucket_arn(partition, bucket)}/{STATE_PREFIX}*",
        },
    ]
    if kms_key_arn:
        statements.append({"Sid": "DecryptStackSecrets", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": kms_key_arn})
    return {"Version": VERSION, "Statement": statements}


def deploy_policy(
    partition: str, account: str, bucket: str, ci_role_names: Iterable[str], kms_key_arn: str = ""
) -> dict[str, Any]:
    """The deploy role's permissions: the platform's services, its roles, and the state objects."""
    roles = f"arn:{partition}:iam::{account}:role/*"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ManagePlatformServices",
            "Effect": "Allow",
            "Action": [f"{service}:*" for service in PLATFORM_SERVICES if service != "iam"],
            "Resource": "*",
        },
        {"Sid": "ManagePlatformRoles", "Effect": "Allow", "Action": list(DEPLOY_ROLE_ACTIONS), "Resource": roles},
        {
            "Sid": "CreateServiceLinkedRoles",
            "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": f"arn:{partition}:iam::{account}:role/aws-service-role/*",
            "Condition": {"StringEquals": {"iam:AWSServiceName": list(SERVICE_LINKED_ROLES)}},
        },
        {
            "Sid": "ReadManagedPolicies",
            "Effect": "Allow",
            "Action": ["iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions"],
            "Resource": f"arn:{partition}:iam::aws:policy/*",
        },
        {
            "Sid": "ReadPublicParameters",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter", "ssm:GetParameters"],
            "Resource": _public_parameters(partition),
        },
        {"Sid": "ListState", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": _bucket_arn(partition, bucket)},
        {
            # Objects only: no s3:DeleteObjectVersion (a delete leaves the versions behind) and no bucket settings.
            "Sid": "WriteState",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": f"{_bucket_arn(partition, bucket)}/{STATE_PREFIX}*",
        },
        {
            "Sid": "KeepCiRolesAsBootstrapped",
            "Effect": "Deny",
            "Action": list(CI_ROLE_WRITES),
            "Resource": [f"arn:{partition}:iam::{account}:role/{name}" for name in ci_role_names],
        },
    ]
    if kms_key_arn:
        statements.append({"Sid": "KeepSecretsKey", "Effect": "Deny", "Action": list(SECRETS_KEY_ADMIN), "Resource": kms_key_arn})
    return {"Version": VERSION, "Statement": statements}


def bucket_policy(partition: str, bucket: str) -> dict[str, Any]:
    """The state bucket's own policy: every request without TLS is refused, whoever makes it.

    No s3:TlsVersion condition on top: every AWS API endpoint, S3's included, refuses TLS below 1.2 already.
    """
    arn = _bucket_arn(partition, bucket)
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [arn, f"{arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }


def iam_prefix(resource_type: str) -> str | None:
    """The IAM service prefix of an `aws:<module>/<name>:<Type>` resource type; None for other packages."""
    package, _, rest = resource_type.partition(":")
    if package != "aws" or "/" not in rest:
        return None
    module = rest.split(":", 1)[0]
    return MODULE_PREFIXES.get(module, module.split("/", 1)[0])


# ---------------------------------------------------------------------------------------------------------------
# Checks of a trust policy and of a permission policy, as the offline check and the tests apply them


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def trust_problems(document: Mapping[str, Any], expected_subjects: Iterable[str] | None = None) -> list[str]:
    """What is wrong with a GitHub OIDC trust policy: empty when it trusts exactly the expected subjects.

    Refused: a subject that is a pattern (`repo:o/*`, `repo:o/r:*`, any branch or tag), matched with StringLike, or
    missing (then every repository on GitHub may assume the role); a missing or other audience; another principal,
    action or effect; more than one statement. With `expected_subjects`, the subjects must be exactly those.
    """
    problems: list[str] = []
    statements = _as_list(document.get("Statement", []))
    if len(statements) != 1:
        return [f"expected one statement, found {len(statements)}"]
    (statement,) = statements
    if statement.get("Effect") != "Allow" or _as_list(statement.get("Action")) != ["sts:AssumeRoleWithWebIdentity"]:
        problems.append("expected Allow of sts:AssumeRoleWithWebIdentity only")
    federated = _as_list(statement.get("Principal", {}).get("Federated")) if isinstance(statement.get("Principal"), dict) else []
    if len(federated) != 1 or not str(federated[0]).endswith(f":oidc-provider/{GITHUB_OIDC_HOST}"):
        problems.append(f"expected the principal to be the {GITHUB_OIDC_HOST} OIDC provider alone")
    if "NotPrincipal" in statement or "NotAction" in statement:
        problems.append("NotPrincipal/NotAction widen a trust policy")
    conditions = statement.get("Condition", {})
    for operator, block in conditions.items():
        keys = set(block) & {AUD_KEY, SUB_KEY}
        if keys and operator != "StringEquals":
            problems.append(f"{operator} on {', '.join(sorted(keys))}: only StringEquals names exact values")
    exact = conditions.get("StringEquals", {})
    audiences = _as_list(exact.get(AUD_KEY, []))
    if audiences != [AUDIENCE]:
        problems.append(f"expected {AUD_KEY} to be exactly {AUDIENCE}, found {audiences or 'none'}")
    subjects = [str(subject) for subject in _as_list(exact.get(SUB_KEY, []))]
    if not subjects:
        problems.append(f"no StringEquals on {SUB_KEY}: any repository on GitHub could assume the role")
    for subject in subjects:
        if "*" in subject or "?" in subject or not _SUBJECT.match(subject):
            problems.append(f"subject {subject!r} is not one repository's pull_request or environment:<name>, spelled out")
    if expected_subjects is not None and sorted(subjects) != sorted(expected_subjects):
        problems.append(f"expected subjects {sorted(expected_subjects)}, found {sorted(subjects)}")
    return problems


WRITE_VERBS: Final = (
    "Create",
    "Delete",
    "Put",
    "Update",
    "Attach",
    "Detach",
    "Tag",
    "Untag",
    "Modify",
    "Run",
    "Start",
    "Stop",
    "Terminate",
    "Associate",
    "Disassociate",
    "Add",
    "Remove",
    "Set",
    "Pass",
    "Send",
    "Encrypt",
    "Enable",
    "Disable",
    "Schedule",
    "Revoke",
    "Authorize",
    "Replace",
    "Register",
    "Deregister",
    "Restore",
    "Copy",
    "Import",
    "Upload",
    "Change",
    "Reset",
)


def write_actions(document: Mapping[str, Any]) -> list[str]:
    """The allowed actions of a policy that are not reads: a write verb, a service-wide `*`, or NotAction."""
    found = []
    for statement in _as_list(document.get("Statement", [])):
        if statement.get("Effect") != "Allow":
            continue
        if "NotAction" in statement:
            found.append(f"NotAction {statement['NotAction']}")
        for action in _as_list(statement.get("Action", [])):
            name = str(action).split(":", 1)[-1]
            if name in ("*", "") or str(action) == "*" or name.startswith(WRITE_VERBS) or name.startswith("*"):
                found.append(str(action))
    return found
