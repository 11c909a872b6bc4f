"""The Karpenter gate against moto: its delete waits while EC2 lists a live instance Karpenter launched for the cluster
(in the AWS provider's account and region), and fails loudly, in one line, on a timeout or an AWS error."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.ec2.models import ec2_backends
from moto.ec2.models.instances import InstanceState

from components.karpenter_instance_gate import (
    LIVE_STATES,
    POLL_SECONDS,
    KarpenterInstanceGate,
    KarpenterInstanceGateArgs,
    KarpenterInstanceGateProvider,
)
from components.karpenter_node_pool import TERMINATION_GRACE_PERIOD
from components.shared.aws_sdk import AwsTarget, target_of_provider
from tests.components.aws_emulation import (
    DEPLOY_ROLE,
    REGION,
    SHELL_ACCOUNT,
    SHELL_REGION,
    SteppingClock,
    add_profile,
    emulated_aws,
    failures_are_one_line,
    in_deploy_account,
    provider_and_gates,
)
from tests.conftest import run_component

CLUSTER = "demo"
PROPS: dict[str, Any] = {"region": REGION, "profile": "", "roleArn": "", "clusterName": CLUSTER, "timeoutSeconds": 1200.0}
# What Karpenter tags every instance it launches with (aws/karpenter-provider-aws pkg/utils/utils.go GetTags).
KARPENTER_TAGS = {
    "karpenter.sh/nodepool": "general",
    "karpenter.k8s.aws/ec2nodeclass": "general",
    "eks:eks-cluster-name": CLUSTER,
}
# Code of each state (EC2 API reference, InstanceState).
STATE_CODES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}


@pytest.fixture(autouse=True)
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    yield from emulated_aws(monkeypatch, tmp_path)


def instance(tags: dict[str, str], state: str = "running", account: boto3.Session | None = None, region: str = REGION) -> str:
    """An instance with `tags` in `state`. moto's instances are running at once, and stopped or terminated at once;
    the states in between (pending, stopping, shutting-down) are set on its EC2 model."""
    ec2 = account.client("ec2", region_name=region) if account else boto3.client("ec2", region_name=region)
    specification = [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
    (launched,) = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, TagSpecifications=specification)["Instances"]
    instance_id = str(launched["InstanceId"])
    if state == "stopped":
        ec2.stop_instances(InstanceIds=[instance_id])
    elif state == "terminated":
        ec2.terminate_instances(InstanceIds=[instance_id])
    elif state != "running":
        account_id = SHELL_ACCOUNT if account is None else account.client("sts").get_caller_identity()["Account"]
        ec2_backends[account_id][region].get_instance(instance_id)._state = InstanceState(state, STATE_CODES[state])
    assert ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["State"]["Name"] == state
    return instance_id


def terminate(instance_id: str, account: boto3.Session | None = None) -> Callable[[], object]:
    ec2 = account.client("ec2") if account else boto3.client("ec2", region_name=REGION)
    return lambda: ec2.terminate_instances(InstanceIds=[instance_id])


@pytest.mark.parametrize("state", LIVE_STATES)
def test_delete_waits_while_an_instance_is_live_and_returns_once_it_is_terminated(state: str) -> None:
    """Mistake: a state filter narrower than Karpenter's (running only): a pending, stopping, stopped or shutting-down
    instance still holds its network interface, and the VPC's deletion after the gate fails."""
    instance_id = instance(KARPENTER_TAGS, state)
    clock = SteppingClock()
    clock.at(40, terminate(instance_id))
    KarpenterInstanceGateProvider(clock).delete("demo/karpenter-instances", PROPS)
    # Polled at 0, 15, 30 (live) and 45 s (terminated).
    assert clock.slept == [POLL_SECONDS] * 3


def test_a_terminated_instance_does_not_hold_the_destroy() -> None:
    """Mistake: no state filter: terminated instances stay listed for an hour, and every destroy times out."""
    instance(KARPENTER_TAGS, "terminated")
    clock = SteppingClock()
    KarpenterInstanceGateProvider(clock).delete("demo/karpenter-instances", PROPS)
    assert clock.slept == []


@pytest.mark.parametrize(
    "missing", ["karpenter.sh/nodepool", "karpenter.k8s.aws/ec2nodeclass", "eks:eks-cluster-name", "another cluster"]
)
def test_only_karpenters_instances_of_this_cluster_hold_the_destroy(missing: str) -> None:
    """Mistake: a filter short of Karpenter's own (one tag key dropped, or a filter name given twice of which an API
    keeps one): the managed node groups' instances, deleted only after the gate, or another cluster's, would hold the
    destroy until it fails."""
    tags = {k: v for k, v in KARPENTER_TAGS.items() if k != missing}
    tags = {**tags, "eks:eks-cluster-name": "other"} if missing == "another cluster" else tags
    instance(tags)
    clock = SteppingClock()
    KarpenterInstanceGateProvider(clock).delete("demo/karpenter-instances", PROPS)
    assert clock.slept == []


def test_the_gate_asks_the_providers_region_not_the_shells() -> None:
    """Mistake: a client on the ambient region: it finds none of the cluster's instances and waves the destroy on."""
    instance(KARPENTER_TAGS, region=SHELL_REGION)
    clock = SteppingClock()
    KarpenterInstanceGateProvider(clock).delete("demo/karpenter-instances", PROPS)
    assert clock.slept == [], "an instance in the shell's region is not the cluster's"
    clock.at(10, terminate(instance(KARPENTER_TAGS)))
    KarpenterInstanceGateProvider(clock).delete("demo/karpenter-instances", PROPS)
    assert clock.slept == [POLL_SECONDS]


def test_the_gate_assumes_the_providers_role_and_sees_that_accounts_instances() -> None:
    """Mistake: the shell's credentials when the provider assumes a role: another account has none of the instances,
    and the destroy goes on while they run (and block the VPC)."""
    deploy = in_deploy_account()
    instance_id = instance(KARPENTER_TAGS, account=deploy)
    clock = SteppingClock()
    KarpenterInstanceGateProvider(clock).delete("demo/karpenter-instances", PROPS)
    assert clock.slept == [], "the shell's account has none: without the role the gate would wave them through"
    clock.at(20, terminate(instance_id, deploy))
    KarpenterInstanceGateProvider(clock).delete("demo/karpenter-instances", {**PROPS, "roleArn": DEPLOY_ROLE})
    assert clock.slept == [POLL_SECONDS] * 2


def test_the_gate_uses_the_providers_profile(aws: Path) -> None:
    """Mistake: the profile left out of the session: the shell's default credentials ask another account."""
    deploy = in_deploy_account()
    add_profile(aws, "deploy", deploy)
    clock = SteppingClock()
    clock.at(10, terminate(instance(KARPENTER_TAGS, account=deploy), deploy))
    KarpenterInstanceGateProvider(clock).delete("demo/karpenter-instances", {**PROPS, "profile": "deploy"})
    assert clock.slept == [POLL_SECONDS]


def test_delete_fails_loudly_in_one_line_naming_the_instances_after_the_timeout() -> None:
    """Mistake: returning after the timeout as if they were gone, leaving paid instances and a VPC that cannot go; or
    a wait on wall time (two minutes here)."""
    ids = sorted([instance(KARPENTER_TAGS), instance(KARPENTER_TAGS, "stopped")])
    clock = SteppingClock()
    with pytest.raises(RuntimeError) as error:
        KarpenterInstanceGateProvider(clock).delete("demo/karpenter-instances", {**PROPS, "timeoutSeconds": 120.0})
    message = str(error.value)
    named = message.removeprefix("Karpenter instance(s) ").split(" of cluster ")[0].split(", ")
    assert sorted(named) == ids
    assert "of cluster demo still run 120 s after its NodePools were deleted" in message and "\n" not in message
    assert 120 <= clock.now < 120 + POLL_SECONDS


def test_aws_errors_and_missing_credentials_are_one_line_never_none_left(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mistake: AccessDenied read as an empty list, or NoCredentialsError swallowed: destroy goes on while Karpenter's
    instances run."""
    instance(KARPENTER_TAGS)
    failures_are_one_line(
        lambda: KarpenterInstanceGateProvider(SteppingClock()).delete("demo/karpenter-instances", PROPS),
        "cannot list the Karpenter instances of cluster demo (region eu-west-1): ",
        "ec2:DescribeInstances",
        monkeypatch,
    )


def test_create_and_update_never_touch_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mistake: a lookup on create or update: `pulumi up` would need the gate's permissions, or wait on instances."""

    def no_session(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("create and update must not call AWS")

    monkeypatch.setattr(boto3, "Session", no_session)
    provider = KarpenterInstanceGateProvider()
    assert provider.create(PROPS).id == "demo/karpenter-instances"
    assert provider.update("demo/karpenter-instances", PROPS, {**PROPS, "timeoutSeconds": 900}).outs == {
        **PROPS,
        "timeoutSeconds": 900,
    }


def test_the_provider_pickled_into_state_carries_no_test_hook() -> None:
    """Mistake: a clock stored on every instance: state would pickle it, and refer to its module."""
    assert vars(KarpenterInstanceGateProvider()) == {}


def test_the_gate_outwaits_the_drains_it_waits_for() -> None:
    """Karpenter terminates a node at the latest terminationGracePeriod after it starts draining it
    (aws/karpenter-provider-aws website/content/en/docs/concepts/nodepools.md); the gate must wait longer, or
    destroy fails while Karpenter is still doing its job."""

    def program() -> None:
        KarpenterInstanceGate("gate", KarpenterInstanceGateArgs(region="eu-west-1", cluster_name="demo"))

    (gate,) = run_component(program).of_type("pulumi-python:dynamic/karpenter:InstanceGate")
    assert TERMINATION_GRACE_PERIOD.endswith("m")
    assert gate["inputs"]["timeoutSeconds"] > int(TERMINATION_GRACE_PERIOD[:-1]) * 60
    assert (gate["inputs"]["region"], gate["inputs"]["clusterName"]) == ("eu-west-1", "demo")
    # Carried even when empty: state then says the gate follows a provider without profile or role.
    assert (gate["inputs"]["profile"], gate["inputs"]["roleArn"]) == ("", "")


def test_the_gate_asks_what_the_aws_provider_asks() -> None:
    """Mistake: the program gives the aws.Provider a region, profile or role and the gate not: a destroy would look at
    another account or region and go on while Karpenter's instances run."""
    provider, gates = provider_and_gates("karpenter-example", "pulumi-python:dynamic/karpenter:InstanceGate")
    assert [AwsTarget.from_inputs(gate) for gate in gates] == [target_of_provider(provider)]
