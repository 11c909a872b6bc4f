"""The volume gate against moto (an in-process AWS emulator): its delete waits while EC2 lists a volume of the cluster's
StorageClass, asks the AWS provider's account and region, and fails loudly, in one line, on a timeout or an AWS error.

The emulated AWS and its helpers are tests/components/aws_emulation.py's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from components.shared.aws_sdk import AwsTarget, session, target_of_provider
from components.volume_release_gate import (
    CLAIM_TAG,
    CLUSTER_TAG,
    POLL_SECONDS,
    VolumeReleaseGate,
    VolumeReleaseGateArgs,
    VolumeReleaseGateProvider,
)
from tests.components.aws_emulation import (
    DEPLOY_ROLE,
    REGION,
    SHELL_REGION,
    SteppingClock,
    add_profile,
    emulated_aws,
    failures_are_one_line,
    in_deploy_account,
    provider_and_gates,
)
from tests.conftest import run_component


@pytest.fixture(autouse=True)
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    yield from emulated_aws(monkeypatch, tmp_path)


CLUSTER = "demo"
PROPS: dict[str, Any] = {
    "region": REGION,
    "profile": "",
    "roleArn": "",
    "clusterName": CLUSTER,
    "namespace": "demo",
    "claim": "ebs-pvc",
    # As state gives numbers back: floats.
    "timeoutSeconds": 600.0,
}


# What the claim's own StorageClass gives its volume (components/storage.py).
CLAIM_TAGS = {CLUSTER_TAG: CLUSTER, CLAIM_TAG: "demo/ebs-pvc"}


def volume(tags: dict[str, str], ec2: Any = None, zone: str = f"{REGION}a") -> str:
    ec2 = ec2 or boto3.client("ec2", region_name=zone[:-1])
    tag_list = [{"Key": key, "Value": value} for key, value in tags.items()]
    specifications = [{"ResourceType": "volume", "Tags": tag_list}] if tag_list else []
    created = ec2.create_volume(AvailabilityZone=zone, Size=8, VolumeType="gp3", TagSpecifications=specifications)
    return str(created["VolumeId"])


def delete_volume(volume_id: str, ec2: Any = None) -> Callable[[], object]:
    return lambda: (ec2 or boto3.client("ec2", region_name=REGION)).delete_volume(VolumeId=volume_id)


def test_delete_waits_while_a_volume_of_the_class_exists_and_returns_once_it_is_gone() -> None:
    """Mistake: a filter on the per-claim tags (kubernetes.io/created-for/pvc/*), which the EKS add-on may not set;
    this volume carries our tags only, as the claim's StorageClass gives them. Destroy would go on with the volume
    still there."""
    volume_id = volume(CLAIM_TAGS)
    clock = SteppingClock()
    clock.at(25, delete_volume(volume_id))
    VolumeReleaseGateProvider(clock).delete("demo/ebs-pvc", PROPS)
    # Polled at 0, 10, 20 (still there) and 30 s (gone): three waits of the poll interval, no wall time.
    assert clock.slept == [POLL_SECONDS] * 3


def test_a_tenants_volume_on_the_default_class_does_not_hold_the_gate() -> None:
    """Mistake (issue 16, item 6): the gate waiting for every volume of the cluster's default StorageClass, so a
    tenant's own claim holds a `demoWorkloads: false` update for the whole timeout and then fails with a
    misleading hint. A volume of another claim of the cluster (cluster tag, another claim tag or none) is not ours."""
    volume({CLUSTER_TAG: CLUSTER})
    volume({CLUSTER_TAG: CLUSTER, CLAIM_TAG: "team/data"})
    clock = SteppingClock()
    VolumeReleaseGateProvider(clock).delete("demo/ebs-pvc", PROPS)
    assert clock.slept == []


def test_volumes_of_other_clusters_and_untagged_ones_do_not_hold_the_destroy() -> None:
    """Mistake: a filter on the tag key alone (or none): another stack's claims, or a volume of no cluster, would keep
    this destroy waiting until it fails."""
    volume({CLUSTER_TAG: "another-cluster", CLAIM_TAG: "demo/ebs-pvc"})
    volume({})
    volume({"kubernetes.io/created-for/pvc/name": "ebs-pvc"})
    clock = SteppingClock()
    VolumeReleaseGateProvider(clock).delete("demo/ebs-pvc", PROPS)
    assert clock.slept == []


def test_the_gate_asks_the_providers_region_not_the_shells() -> None:
    """Mistake: a client built from the ambient region (AWS_DEFAULT_REGION, ~/.aws/config): it lists the shell's
    region, finds none of the cluster's volumes and waves the destroy through with the volume left behind."""
    volume(CLAIM_TAGS, zone=f"{SHELL_REGION}a")
    clock = SteppingClock()
    VolumeReleaseGateProvider(clock).delete("demo/ebs-pvc", PROPS)
    assert clock.slept == [], "a volume in the shell's region is not the cluster's"
    volume_id = volume(CLAIM_TAGS)
    clock.at(5, delete_volume(volume_id))
    VolumeReleaseGateProvider(clock).delete("demo/ebs-pvc", PROPS)
    assert clock.slept == [POLL_SECONDS]


def test_the_gate_assumes_the_providers_role_and_sees_that_accounts_volumes() -> None:
    """Mistake: the shell's credentials when the provider assumes a role: the gate lists another account, sees none
    of the cluster's volumes and waves the orphan through."""
    deploy_ec2 = in_deploy_account().client("ec2")
    volume_id = volume(CLAIM_TAGS, deploy_ec2)
    clock = SteppingClock()
    VolumeReleaseGateProvider(clock).delete("demo/ebs-pvc", PROPS)
    assert clock.slept == [], "the shell's account has no volume: without the role the gate would wave it through"
    clock.at(15, delete_volume(volume_id, deploy_ec2))
    VolumeReleaseGateProvider(clock).delete("demo/ebs-pvc", {**PROPS, "roleArn": DEPLOY_ROLE})
    assert clock.slept == [POLL_SECONDS] * 2


def test_the_gate_uses_the_providers_profile(aws: Path) -> None:
    """Mistake: the profile left out of the session (only the region passed): the shell's default credentials ask
    another account."""
    deploy = in_deploy_account()
    add_profile(aws, "deploy", deploy)
    volume_id = volume(CLAIM_TAGS, deploy.client("ec2"))
    clock = SteppingClock()
    clock.at(5, delete_volume(volume_id, deploy.client("ec2")))
    VolumeReleaseGateProvider(clock).delete("demo/ebs-pvc", {**PROPS, "profile": "deploy"})
    assert clock.slept == [POLL_SECONDS]


def test_delete_fails_loudly_in_one_line_when_the_volume_outlives_the_timeout() -> None:
    """Mistake: returning after the timeout as if the volume were gone, leaving a paid volume; or a wait on wall
    time (this test would take ten minutes)."""
    volume_id = volume(CLAIM_TAGS)
    clock = SteppingClock()
    with pytest.raises(RuntimeError) as error:
        VolumeReleaseGateProvider(clock).delete("demo/ebs-pvc", PROPS)
    message = str(error.value)
    assert f"{volume_id} of cluster demo still exist 600 s after claim demo/ebs-pvc was deleted" in message
    assert "\n" not in message and "pulumi destroy" in message
    assert 600 <= clock.now < 600 + POLL_SECONDS


def test_aws_errors_and_missing_credentials_are_one_line_never_none_left(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mistake: AccessDenied read as an empty list, or NoCredentialsError swallowed (or left as botocore's traceback):
    destroy goes on past a volume that is still there, or the shell sees botocore's internals instead of what to do."""
    volume(CLAIM_TAGS)
    failures_are_one_line(
        lambda: VolumeReleaseGateProvider(SteppingClock()).delete("demo/ebs-pvc", PROPS),
        "cannot list the EBS volumes of claim demo/ebs-pvc of cluster demo (region eu-west-1): ",
        "ec2:DescribeVolumes",
        monkeypatch,
    )


def test_a_profile_the_shell_lacks_is_one_line() -> None:
    """Mistake: a session built outside the error handling: ProfileNotFound surfaces as a traceback."""
    with pytest.raises(RuntimeError) as error:
        VolumeReleaseGateProvider(SteppingClock()).delete("demo/ebs-pvc", {**PROPS, "profile": "deploy"})
    message = str(error.value)
    assert "(region eu-west-1, profile deploy)" in message and "ProfileNotFound" in message and "\n" not in message


def test_state_from_before_the_profile_and_role_inputs_still_destroys() -> None:
    """Mistake: reading props['profile'] in delete: a stack deployed before the gates carried one fails to destroy."""
    old_state = {k: v for k, v in PROPS.items() if k not in ("profile", "roleArn")}
    VolumeReleaseGateProvider(SteppingClock()).delete("demo/ebs-pvc", old_state)


def test_create_and_update_never_touch_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mistake: a lookup on create or update: `pulumi up` would then need the gate's permissions, or fail on them."""

    def no_session(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("create and update must not call AWS")

    monkeypatch.setattr(boto3, "Session", no_session)
    provider = VolumeReleaseGateProvider()
    assert provider.create(PROPS).id == "demo/ebs-pvc"
    assert provider.update("demo/ebs-pvc", PROPS, {**PROPS, "timeoutSeconds": 900}).outs == {**PROPS, "timeoutSeconds": 900}


def test_the_provider_pickled_into_state_carries_no_test_hook() -> None:
    """Mistake: a clock stored on every instance: state would pickle it, and refer to its module (never to be moved)."""
    assert vars(VolumeReleaseGateProvider()) == {}


def test_the_gate_carries_the_providers_settings_as_inputs() -> None:
    """Mistake: profile and role left out of the inputs: state then has no record of them and a destroy cannot follow."""

    def program() -> None:
        VolumeReleaseGate(
            "gate",
            VolumeReleaseGateArgs(
                region=REGION, cluster_name=CLUSTER, namespace="demo", claim="ebs-pvc", profile="p", role_arn=DEPLOY_ROLE
            ),
        )

    (gate,) = run_component(program).of_type("pulumi-python:dynamic/storage:VolumeReleaseGate")
    assert AwsTarget.from_inputs(gate["inputs"]) == AwsTarget(REGION, "p", DEPLOY_ROLE)


@pytest.mark.parametrize("stack", ["dev", "karpenter-example"])
def test_the_gate_asks_what_the_aws_provider_asks(stack: str) -> None:
    """Mistake: the program gives the aws.Provider a region, profile or role (or another credential setting) and the
    gate not: a destroy would look at the wrong account or region and wave orphans through."""
    provider, gates = provider_and_gates(stack, "pulumi-python:dynamic/storage:VolumeReleaseGate")
    for gate in gates:
        assert AwsTarget.from_inputs(gate) == target_of_provider(provider)
        assert session(AwsTarget.from_inputs(gate)).region_name == provider["region"]


# What the parity test compares: every aws.Provider setting that moves a call to another account or region.
@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        ({"region": REGION}, AwsTarget(REGION)),
        ({"region": REGION, "profile": "ops", "skipRegionValidation": "true"}, AwsTarget(REGION, "ops")),
        ({"region": REGION, "assumeRoles": f'[{{"roleArn": "{DEPLOY_ROLE}"}}]'}, AwsTarget(REGION, "", DEPLOY_ROLE)),
    ],
)
def test_the_parity_check_reads_the_providers_region_profile_and_role(provider: dict[str, Any], expected: AwsTarget) -> None:
    """Mistake: a parity check that ignores the profile or the role: the test above would pass with the gates behind."""
    assert target_of_provider(provider) == expected


@pytest.mark.parametrize(
    "provider",
    [
        {"region": REGION, "accessKey": "AKIA", "secretKey": "s"},
        {"region": REGION, "sharedConfigFiles": '["/etc/aws"]'},
        {"region": REGION, "endpoints": '[{"ec2": "http://localhost"}]'},
        {"region": REGION, "assumeRoles": f'[{{"roleArn": "{DEPLOY_ROLE}", "externalId": "x"}}]'},
        {"region": REGION, "assumeRoles": f'[{{"roleArn": "{DEPLOY_ROLE}"}}, {{"roleArn": "{DEPLOY_ROLE}2"}}]'},
    ],
)
def test_a_provider_setting_the_gates_cannot_follow_fails_the_parity_check(provider: dict[str, Any]) -> None:
    """Mistake: a parity check that passes any setting it does not know: keys, other files, endpoints or a role chain
    on the provider, the gates on the shell's defaults."""
    with pytest.raises(ValueError, match="destroy-time gates"):
        target_of_provider(provider)
