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


def test_an_update_names_the_source_that_says_it_is_in_place() -> None:
    """diff.json carries each verdict's reason, an update's too: the schema or provider code read for it. Catches:
    an in-place verdict with no source behind it (an empty reason reads as a guess)."""
    scaling = change_effect("aws:eks/nodeGroup:NodeGroup", ("scalingConfig", "maxSize"), removed=False)
    assert (scaling.effect, scaling.why) == (
        UPDATE,
        "hashicorp/terraform-provider-aws@012e0a32 internal/service/eks/node_group.go",
    )
    image = change_effect("kubernetes:apps/v1:Deployment", ("spec", "template"), removed=False)
    assert (image.effect, image.why) == (UPDATE, "pulumi/pulumi-kubernetes provider/pkg/provider/diff.go (forceNewProperties)")


def test_a_rule_without_a_note_gives_its_source_alone() -> None:
    """The reason shown after "forces replacement:" is the source, with the rule's note only where it has one."""
    assert change_effect("aws:ec2/subnet:Subnet", ("cidrBlock",), removed=False).why == (
        "hashicorp/terraform-provider-aws@00cda125 internal/service/ec2/vpc_subnet.go"
    )


@pytest.mark.parametrize(
    ("resource_type", "path", "expected"),
    [
        # pulumi-kubernetes diff.go: metadata.name and metadata.namespace replace every object, whatever its kind...
        ("kubernetes:apps/v1:Deployment", ("metadata", "namespace"), REPLACE),
        ("kubernetes:apps/v1:Deployment", ("metadata", "name"), REPLACE),
        # ...a custom resource's too (Karpenter's NodePool: a group with no table of its own)...
        ("kubernetes:karpenter.sh/v1:NodePool", ("metadata", "name"), REPLACE),
        ("kubernetes:karpenter.sh/v1:NodePool", ("metadata", "namespace"), REPLACE),
        # ...and nothing else of it: its spec is patched in place.
        ("kubernetes:karpenter.sh/v1:NodePool", ("spec", "limits", "cpu"), UPDATE),
        ("kubernetes:apps/v1:Deployment", ("metadata", "labels", "team"), UPDATE),
    ],
)
def test_every_kubernetes_object_is_replaced_by_a_new_name_or_namespace(
    resource_type: str, path: tuple[str, ...], expected: str
) -> None:
    """Catches: a Deployment moved to another namespace shown as an update (Pulumi deletes and recreates it), or a
    custom resource's kind unknown to the table breaking the verdict."""
    assert change_effect(resource_type, path, removed=False).effect == expected


def test_a_danger_inside_a_component_holds_at_any_depth() -> None:
    """The ingress release is a danger inside IngressController wherever that component sits: wrapped in another
    component, its URN's type chain has two parents. Catches: only the outermost parent looked at."""
    nested = (
        "urn:pulumi:dev::eks-platform::eks-platform:edge:Edge$eks-platform:ingress:IngressController"
        "$kubernetes:helm.sh/v3:Release::ingress-release"
    )
    assert "NLB" in danger_reason("kubernetes:helm.sh/v3:Release", nested)


def test_a_urn_without_a_type_chain_has_no_parents_and_no_error() -> None:
    """A hand-written or truncated URN in a plan is no traceback: it simply has no parent component."""
    assert danger_reason("kubernetes:helm.sh/v3:Release", "ingress-release") == ""
    assert danger_reason("aws:ec2/vpc:Vpc", "vpc") != ""
