"""What CI needs once per AWS account, before the platform's first deployment from GitHub Actions.

- the S3 bucket of the platform's Pulumi state: versioned, encrypted, public access blocked, TLS only, optionally
  under Object Lock, with Pulumi's `.pulumi/meta.yaml` in place so that a read-only login never has to write it;
- GitHub's OIDC provider (token.actions.githubusercontent.com), unless the account has one already;
- the preview role (pull requests of this repository; read-only) and the deploy role (the repository's deploy
  environments; manages the platform), with the trust and permission policies of ci_policies.py.

Its own project and stack, with local state (Pulumi.yaml `backend`): the bucket it creates cannot hold the state
that creates it. docs/ci.md says how to run it and what to do with what it prints.
"""

import json

import pulumi
import pulumi_aws as aws
from ci_policies import (
    AUDIENCE,
    GITHUB_OIDC_URL,
    bucket_policy,
    deploy_policy,
    environment_subject,
    oidc_provider_arn,
    preview_policy,
    pull_request_subject,
    trust_policy,
)
from ci_settings import PROJECT, load_settings

settings = load_settings()
tags = {"project": PROJECT, "stack": pulumi.get_stack(), "managed-by": "pulumi", "repository": settings.repository}
provider = aws.Provider("aws", region=settings.region, default_tags=aws.ProviderDefaultTagsArgs(tags=tags))
on_aws = pulumi.ResourceOptions(provider=provider)
account = aws.get_caller_identity(opts=pulumi.InvokeOptions(provider=provider)).account_id
partition = settings.partition
bucket_name = settings.state_bucket_name
locked = settings.state_object_lock_days > 0

# --- The state bucket -------------------------------------------------------------------------------------------
# protect: a `pulumi destroy` (or a replacement, e.g. of object_lock_enabled) must not take every stack's state.
bucket = aws.s3.Bucket(
    "state",
    bucket=bucket_name,
    object_lock_enabled=locked,
    force_destroy=False,
    opts=pulumi.ResourceOptions(provider=provider, protect=True),
)
aws.s3.BucketOwnershipControls(
    "state",
    bucket=bucket.id,
    rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
    opts=on_aws,
)
public_access = aws.s3.BucketPublicAccessBlock(
    "state",
    bucket=bucket.id,
    block_public_acls=True,
    block_public_policy=True,
    ignore_public_acls=True,
    restrict_public_buckets=True,
    opts=on_aws,
)
versioning = aws.s3.BucketVersioning(
    "state",
    bucket=bucket.id,
    versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
    opts=on_aws,
)
aws.s3.BucketServerSideEncryptionConfiguration(
    "state",
    bucket=bucket.id,
    rules=[
        aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="AES256"
            )
        )
    ],
    opts=on_aws,
)
aws.s3.BucketPolicy(
    "state",
    bucket=bucket.id,
    policy=json.dumps(bucket_policy(partition, bucket_name)),
    # Applied after the public access block, so that S3 judges the policy with the block in place.
    opts=pulumi.ResourceOptions(provider=provider, depends_on=[public_access]),
)
if locked:
    aws.s3.BucketObjectLockConfiguration(
        "state",
        bucket=bucket.id,
        object_lock_enabled="Enabled",
        rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
            default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                mode=settings.state_object_lock_mode, days=settings.state_object_lock_days
            )
        ),
        opts=pulumi.ResourceOptions(provider=provider, depends_on=[versioning]),
    )
# Every update replaces the stack's checkpoint and deletes its lock file: old versions and delete markers pile up.
aws.s3.BucketLifecycleConfiguration(
    "state",
    bucket=bucket.id,
    rules=[
        aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="state-versions",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
            abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                days_after_initiation=7
            ),
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(expired_object_delete_marker=True),
            noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                noncurrent_days=settings.state_version_retention_days
            )
            if settings.state_version_retention_days
            else None,
        )
    ],
    opts=pulumi.ResourceOptions(provider=provider, depends_on=[versioning]),
)
# Pulumi's DIY backend writes .pulumi/meta.yaml at login when the bucket has none (pkg/backend/diy/meta.go,
# ensurePulumiMeta): present from the start, the read-only preview role can log in before the first deployment.
aws.s3.BucketObjectv2(
    "pulumi-meta",
    bucket=bucket.id,
    key=".pulumi/meta.yaml",
    content="version: 1\n",
    content_type="application/yaml",
    # S3 wants a checksum with every upload to a bucket under Object Lock.
    checksum_algorithm="SHA256",
    opts=pulumi.ResourceOptions(provider=provider, depends_on=[versioning]),
)

# --- GitHub's OIDC provider ---------------------------------------------------------------------------------------
# No thumbprint: IAM verifies token.actions.githubusercontent.com against its library of trusted root CAs and uses
# thumbprints only for an IdP whose certificate no such CA signed (IAM API reference, CreateOpenIDConnectProvider).
# The roles name it by its ARN, which IAM makes of the account and the host alone: known before it exists, so the
# trust policies are whole in a first preview too; `depends_on` orders the roles after it.
if settings.oidc_provider_arn:
    provider_arn = settings.oidc_provider_arn
    role_options = on_aws
else:
    oidc = aws.iam.OpenIdConnectProvider("github", url=GITHUB_OIDC_URL, client_id_lists=[AUDIENCE], opts=on_aws)
    provider_arn = oidc_provider_arn(partition, account)
    role_options = pulumi.ResourceOptions(provider=provider, depends_on=[oidc])

# --- The two roles ------------------------------------------------------------------------------------------------
preview_subjects = [pull_request_subject(settings.repository)]
deploy_subjects = [environment_subject(settings.repository, name) for name in settings.deploy_environments]

preview_role = aws.iam.Role(
    "preview",
    name=settings.preview_role_name,
    description=f"pulumi preview from pull requests of {settings.repository} (read-only)",
    assume_role_policy=json.dumps(trust_policy(provider_arn, preview_subjects)),
    max_session_duration=3600,
    opts=role_options,
)
aws.iam.RolePolicy(
    "preview-read",
    role=preview_role.name,
    policy=json.dumps(preview_policy(partition, account, bucket_name, settings.kms_key_arn)),
    opts=on_aws,
)
deploy_role = aws.iam.Role(
    "deploy",
    name=settings.deploy_role_name,
    description=f"pulumi up from the {', '.join(settings.deploy_environments)} environments of {settings.repository}",
    assume_role_policy=json.dumps(trust_policy(provider_arn, deploy_subjects)),
    # A first deployment of the platform takes about an hour (cluster, node groups, add-ons).
    max_session_duration=2 * 3600,
    opts=role_options,
)
aws.iam.RolePolicy(
    "deploy-manage",
    role=deploy_role.name,
    policy=json.dumps(
        deploy_policy(
            partition,
            account,
            bucket_name,
            [settings.preview_role_name, settings.deploy_role_name],
            settings.kms_key_arn,
        )
    ),
    opts=on_aws,
)

# --- What to set in GitHub ----------------------------------------------------------------------------------------
backend_url = f"s3://{bucket_name}?region={settings.region}"
variables = {
    "AWS_PREVIEW_ROLE_ARN": preview_role.arn,
    "AWS_ROLE_ARN": deploy_role.arn,
    "AWS_REGION": settings.region,
    "PULUMI_BACKEND_URL": backend_url,
}
pulumi.export("awsAccountId", account)
pulumi.export("stateBucket", bucket.bucket)
pulumi.export("oidcProviderArn", provider_arn)
pulumi.export("previewRoleArn", preview_role.arn)
pulumi.export("deployRoleArn", deploy_role.arn)
pulumi.export("repositoryVariables", variables)
pulumi.export(
    "githubCommands",
    pulumi.Output.all(*variables.values()).apply(
        lambda values: [
            *(
                f"gh variable set {name} --repo {settings.repository} --body '{value}'"
                for name, value in zip(variables, values, strict=True)
            ),
            f"gh secret set PULUMI_CONFIG_PASSPHRASE --repo {settings.repository}"
            + ("  # not needed if every stack uses the awskms:// secrets provider" if settings.kms_key_arn else ""),
        ]
    ),
)
pulumi.export(
    "githubEnvironments",
    [
        f"{name}: Deployment branches and tags = Selected, main only"
        + ("; Required reviewers" if name == "prod" else "")
        + f" (the deploy role trusts {environment_subject(settings.repository, name)})"
        for name in settings.deploy_environments
    ],
)
if settings.kms_key_arn:
    # `pulumi stack init --secrets-provider` (or `pulumi stack change-secrets-provider`) of each platform stack.
    pulumi.export("secretsProvider", f"awskms:///{settings.kms_key_arn}")
