"""The gate's delete waits until AWS lists no EBS volume for the claim, and fails loudly on a timeout."""

from __future__ import annotations

import pytest

from components.volume_release_gate import VolumeReleaseGateProvider

PROPS = {
    "region": "eu-west-1",
    "clusterName": "demo",
    "namespace": "demo",
    "claim": "ebs-pvc",
    "timeoutSeconds": 5,
    "pollSeconds": 0.01,
}


def test_delete_returns_once_the_volume_is_gone(fake_aws) -> None:
    log = fake_aws('["vol-0abc"]', '["vol-0abc"]', "[]")
    VolumeReleaseGateProvider().delete("demo/ebs-pvc", PROPS)
    calls = log.read_text().splitlines()
    assert len(calls) == 3
    # Only our own tag: per-claim tags need the provisioner's --extra-create-metadata, which may be off.
    assert "Name=tag:eks-platform/cluster,Values=demo" in calls[0]
    assert "created-for" not in calls[0]
    assert "--region eu-west-1" in calls[0]


def test_delete_fails_loudly_when_the_volume_outlives_the_timeout(fake_aws) -> None:
    fake_aws(*['["vol-0abc"]'] * 1000)
    with pytest.raises(RuntimeError, match=r"vol-0abc of cluster demo still exist .* after claim demo/ebs-pvc"):
        VolumeReleaseGateProvider().delete("demo/ebs-pvc", {**PROPS, "timeoutSeconds": 0.05})


def test_an_aws_error_is_not_taken_for_no_volumes(failing_aws: None) -> None:
    with pytest.raises(RuntimeError, match="UnauthorizedOperation"):
        VolumeReleaseGateProvider().delete("demo/ebs-pvc", PROPS)


def test_create_and_update_never_touch_aws() -> None:
    provider = VolumeReleaseGateProvider()
    created = provider.create(PROPS)
    assert created.id == "demo/ebs-pvc"
    assert provider.update("demo/ebs-pvc", PROPS, {**PROPS, "timeoutSeconds": 900}).outs == {**PROPS, "timeoutSeconds": 900}
