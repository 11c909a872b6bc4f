"""offline.change.replacements: how input paths meet the upstream rules, and what counts as state or traffic."""

from __future__ import annotations

import pytest

from offline.change.replacements import DANGERS, MAY_REPLACE, REPLACE, UPDATE, change_effect, danger_reason, overlaps, type_rules


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("spec.containers[*].image", ("spec", "containers", 2, "image"), True),
        ("spec.containers[*].image", ("spec", "containers", "x", "image"), False),
        ("spec.selector", ("spec", "selector", "matchLabels", "app"), True),  # below the rule
        ("spec.selector", ("spec",), True),  # the whole subtree holding it
        ("spec.selector", ("spec", "replicas"), False),  # a sibling
        ("launchTemplate.id", ("launchTemplate", "version"), False),
    ],
)
def test_overlaps(pattern: str, path: tuple[str | int, ...], expected: bool) -> None:
    """Catches: a prefix test on strings (spec.selector would match spec.selectorX) or a missed subtree."""
    assert overlaps(pattern, path) is expected


def test_a_pod_container_image_replaces_the_pod() -> None:
    """pulumi-kubernetes diff.go: containerForceNewProperties(".spec.containers[*]") for core/v1 Pod."""
    assert change_effect("kubernetes:core/v1:Pod", ("spec", "containers", 0, "image"), removed=False).effect == REPLACE
    assert change_effect("kubernetes:core/v1:Pod", ("metadata", "labels", "a"), removed=False).effect == UPDATE


def test_storage_class_parameters_replace_it() -> None:
    """diff.go: storage.k8s.io/v1 StorageClass .parameters and .provisioner are forceNew."""
    assert change_effect("kubernetes:storage.k8s.io/v1:StorageClass", ("parameters", "type"), removed=False).effect == REPLACE


def test_only_some_node_group_launch_template_fields_replace() -> None:
    """node_group.go: launch_template.id is ForceNew, launch_template.version is updated (a rolling update)."""
    node_group = "aws:eks/nodeGroup:NodeGroup"
    assert change_effect(node_group, ("launchTemplate", "id"), removed=False).effect == REPLACE
    assert change_effect(node_group, ("launchTemplate", "version"), removed=False).effect == UPDATE
    assert change_effect("eks:index:ManagedNodeGroup", ("launchTemplate", "version"), removed=False).effect == UPDATE


def test_a_conditional_rule_says_may_replace_with_its_condition() -> None:
    """vpc_.go CustomizeDiff: instance_tenancy forces a new VPC unless it goes from dedicated to default."""
    effect = change_effect("aws:ec2/vpc:Vpc", ("instanceTenancy",), removed=False)
    assert effect.effect == MAY_REPLACE and "dedicated to default" in effect.why


def test_component_inputs_outside_the_traced_ones_may_replace() -> None:
    """For pulumi-eks components only the inputs traced to a child resource have a verdict."""
    effect = change_effect("eks:index:Cluster", ("kubeProxyAddonOptions", "enabled"), removed=False)
    assert effect.effect == MAY_REPLACE
    assert change_effect("eks:index:Cluster", ("kubeProxyAddonOptions", "version"), removed=False).effect == UPDATE


def test_types_without_a_source() -> None:
    assert type_rules("kubernetes:helm.sh/v4:Chart") is None  # a component: its objects decide
    assert type_rules("pulumi:providers:aws") is None
    assert type_rules("kubernetes:helm.sh/v3:Release") is not None


def test_only_the_ingress_controllers_release_serves_traffic() -> None:
    ingress = (
        "urn:pulumi:dev::eks-platform::eks-platform:ingress:IngressController$kubernetes:helm.sh/v3:Release::ingress-release"
    )
    metrics = (
        "urn:pulumi:dev::eks-platform::eks-platform:autoscaling:MetricsServer$kubernetes:helm.sh/v3:Release::metrics-release"
    )
    assert danger_reason("kubernetes:helm.sh/v3:Release", ingress)
    assert danger_reason("kubernetes:helm.sh/v3:Release", metrics) == ""
    assert (
        danger_reason("aws:ec2/launchTemplate:LaunchTemplate", "urn:pulumi:dev::p::aws:ec2/launchTemplate:LaunchTemplate::lt")
        == ""
    )


def test_every_stateful_type_has_replacement_rules_or_says_so() -> None:
    """A danger type without rules would always print "may replace": only those with no source read may lack them."""
    without_rules = {danger.resource_type for danger in DANGERS if type_rules(danger.resource_type) is None}
    assert without_rules == {"aws:ebs/volume:Volume"}
