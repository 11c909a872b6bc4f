"""The gate's delete waits until EC2 lists none of the cluster's Karpenter instances, and fails loudly on a timeout."""

from __future__ import annotations

import pytest

from components.karpenter_instance_gate import KarpenterInstanceGate, KarpenterInstanceGateArgs, KarpenterInstanceGateProvider
from components.karpenter_node_pool import TERMINATION_GRACE_PERIOD
from tests.conftest import run_component

PROPS = {"region": "eu-west-1", "clusterName": "demo", "timeoutSeconds": 5, "pollSeconds": 0.01}


def test_delete_returns_once_the_instances_are_terminated(fake_aws) -> None:
    log = fake_aws('["i-0abc", "i-0def"]', '["i-0def"]', "[]")
    KarpenterInstanceGateProvider().delete("demo/karpenter-instances", PROPS)
    calls = log.read_text().splitlines()
    assert len(calls) == 3
    call = calls[0]
    assert call.startswith("ec2 describe-instances --region eu-west-1 ")
    # Karpenter's own filter for its instances (aws/karpenter-provider-aws pkg/providers/instance/instance.go, List).
    assert "Name=tag-key,Values=karpenter.sh/nodepool" in call
    assert "Name=tag-key,Values=karpenter.k8s.aws/ec2nodeclass" in call
    assert "Name=tag:eks:eks-cluster-name,Values=demo" in call
    # Every state but terminated: a stopped or shutting-down instance still holds its network interface.
    assert "Name=instance-state-name,Values=pending,running,stopping,stopped,shutting-down" in call
    assert "Reservations[].Instances[].InstanceId" in call


def test_delete_fails_loudly_naming_the_instances_after_the_timeout(fake_aws) -> None:
    fake_aws(*['["i-0abc", "i-0def"]'] * 1000)
    with pytest.raises(RuntimeError, match=r"instance\(s\) i-0abc, i-0def of cluster demo still run .* NodePools were deleted"):
        KarpenterInstanceGateProvider().delete("demo/karpenter-instances", {**PROPS, "timeoutSeconds": 0.05})


def test_an_aws_error_is_not_taken_for_no_instances(failing_aws: None) -> None:
    with pytest.raises(RuntimeError, match="UnauthorizedOperation"):
        KarpenterInstanceGateProvider().delete("demo/karpenter-instances", PROPS)


def test_create_and_update_never_touch_aws() -> None:
    provider = KarpenterInstanceGateProvider()
    assert provider.create(PROPS).id == "demo/karpenter-instances"
    assert provider.update("demo/karpenter-instances", PROPS, {**PROPS, "timeoutSeconds": 900}).outs == {
        **PROPS,
        "timeoutSeconds": 900,
    }


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
