"""offline.change.plan_diff on edited copies of the shipped dev plan: what each kind of change is reported as.

Every replacement verdict below comes from a source named in offline/change/replacements.py; each test names the one
it relies on, and the realistic mistake it would catch.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from offline.change.plan_diff import (
    CLUSTER_KEY_SWAP,
    CREATE,
    DELETE,
    IGNORED,
    SAME,
    BadPlan,
    ResourceDiff,
    StackDiff,
    contains,
    diff_plans,
    format_path,
    parse_property_path,
    render_text,
    show,
)
from offline.change.pr_report import StackReport, render_markdown
from offline.change.replacements import MAY_REPLACE, REPLACE, UPDATE
from tests.offline.change.edits import edit, one, plan_copy, resources

NODE_GROUP_TYPES = ("eks:index:ManagedNodeGroup", "aws:eks/nodeGroup:NodeGroup")


def only(diff: StackDiff) -> ResourceDiff:
    assert len(diff.resources) == 1, [(r.type, r.name, r.step) for r in diff.resources]
    return diff.resources[0]


def entry(diff: StackDiff, resource_type: str) -> ResourceDiff:
    found = [resource for resource in diff.resources if resource.type == resource_type]
    assert len(found) == 1, [(r.type, r.name, r.step) for r in diff.resources]
    return found[0]


def node_group(plan: dict[str, Any]) -> dict[str, Any]:
    return next(resource for resource in plan["resources"] if resource["type"] in NODE_GROUP_TYPES)


def test_identical_plans_have_no_changes() -> None:
    diff = diff_plans(plan_copy(), plan_copy())
    assert not diff.has_changes and diff.resources == () and diff.upgrade_problems == ()
    assert diff.unchanged == len(plan_copy()["resources"])
    assert "no changes" in render_text(diff, "a -> b")


def test_node_sizes_show_exactly_those_paths_as_an_in_place_update() -> None:
    """scaling_config is updated in place (terraform-provider-aws internal/service/eks/node_group.go).

    Catches: a diff that reports the whole scalingConfig object, or calls the nodes replaced.
    """
    base, head = plan_copy(), plan_copy()
    node_group(head)["inputs"]["scalingConfig"]["maxSize"] = 5
    changed = only(diff_plans(base, head))
    assert (changed.step, changed.danger) == (UPDATE, "")
    assert [(c.path, c.old, c.new) for c in changed.changes] == [("scalingConfig.maxSize", 3, 5)]


def test_a_subnet_cidr_change_replaces_it_and_flags_what_depends_on_it() -> None:
    """cidr_block is ForceNew on aws_subnet (terraform-provider-aws internal/service/ec2/vpc_subnet.go).

    Catches: a subnet swap shown as a harmless update; its route table association and the node group in it
    (which take its new ID) not being called out.
    """
    base, head = plan_copy(), plan_copy()
    edit(head, "aws:ec2/subnet:Subnet", lambda inputs: inputs.update(cidrBlock="10.0.200.0/24"), "network-private-eu-central-1a")
    diff = diff_plans(base, head)
    subnet = next(r for r in diff.resources if r.type == "aws:ec2/subnet:Subnet")
    assert subnet.step == REPLACE and "vpc_subnet.go" in subnet.changes[0].why
    assert "nodes" in subnet.danger
    dependents = {r.type: r for r in diff.resources if r is not subnet}
    association = dependents["aws:ec2/routeTableAssociation:RouteTableAssociation"]
    assert association.step == MAY_REPLACE and "network-private-eu-central-1a, which is replaced" in association.note
    assert any(dependents[kind].danger for kind in NODE_GROUP_TYPES if kind in dependents)
    assert "DANGER: aws:ec2/subnet:Subnet network-private-eu-central-1a is replaced" in render_text(diff, "a -> b")


def test_a_subnet_attribute_outside_the_force_new_list_updates_in_place() -> None:
    """map_public_ip_on_launch has no ForceNew (vpc_subnet.go): an update, not a danger. Catches: over-flagging."""
    base, head = plan_copy(), plan_copy()
    edit(head, "aws:ec2/subnet:Subnet", lambda inputs: inputs.update(mapPublicIpOnLaunch=True), "network-private-eu-central-1a")
    changed = only(diff_plans(base, head))
    assert (changed.step, changed.danger) == (UPDATE, "")


def test_claim_storage_class_replaces_the_claim_and_its_volume_but_growing_it_does_not() -> None:
    """pulumi-kubernetes provider/pkg/provider/diff.go: .spec.storageClassName is a forceNew field of a
    PersistentVolumeClaim, .spec.resources is not (volume expansion patches the claim).

    Catches: a storage class rename passing as an update while it deletes the EBS volume with the data.
    """
    base, renamed, grown = plan_copy(), plan_copy(), plan_copy()
    edit(renamed, "kubernetes:core/v1:PersistentVolumeClaim", lambda inputs: inputs["spec"].update(storageClassName="gp2"))
    edit(
        grown,
        "kubernetes:core/v1:PersistentVolumeClaim",
        lambda inputs: inputs["spec"]["resources"]["requests"].update(storage="8Gi"),
    )
    diff = diff_plans(base, renamed)
    replaced = entry(diff, "kubernetes:core/v1:PersistentVolumeClaim")
    assert replaced.step == REPLACE and "diff.go" in replaced.changes[0].why and "EBS volume" in replaced.danger
    # The Deployment names the claim by a literal and waits for it (dependsOn): no input of it changes, so Pulumi
    # leaves it as it is, and the diff shows only the claim.
    assert only(diff).type == "kubernetes:core/v1:PersistentVolumeClaim"
    assert only(diff_plans(base, grown)).step == UPDATE


def test_the_ingress_release_is_dangerous_to_rename_but_not_to_reconfigure() -> None:
    """Helm release name and namespace replace it (pulumi-kubernetes provider/pkg/provider/helm_release.go).

    Catches: a renamed ingress release (new NLB, new hostname) not called out; every release flagged alike.
    """
    base = plan_copy()
    renamed, scaled, other = plan_copy(), plan_copy(), plan_copy()
    edit(renamed, "kubernetes:helm.sh/v3:Release", lambda inputs: inputs.update(name="edge"), "ingress-release")
    edit(
        scaled,
        "kubernetes:helm.sh/v3:Release",
        lambda inputs: inputs["values"]["controller"].update(replicaCount=4),
        "ingress-release",
    )
    edit(other, "kubernetes:helm.sh/v3:Release", lambda inputs: inputs.update(name="metrics"), "metrics-release")
    ingress = entry(diff_plans(base, renamed), "kubernetes:helm.sh/v3:Release")
    assert ingress.step == REPLACE and "load balancer" in ingress.danger
    assert (only(diff_plans(base, scaled)).step, only(diff_plans(base, scaled)).danger) == (UPDATE, "")
    metrics = only(diff_plans(base, other))
    assert (metrics.step, metrics.danger) == (REPLACE, "")


def test_a_bigger_node_disk_writes_a_new_launch_template_version() -> None:
    """block_device_mappings is among the launch template's update keys (ec2_launch_template.go); the template
    holds no state. Catches: the template (or the nodes) reported as replaced for a disk size change."""
    base, head = plan_copy(), plan_copy()
    edit(
        head,
        "aws:ec2/launchTemplate:LaunchTemplate",
        lambda inputs: inputs["blockDeviceMappings"][0]["ebs"].update(volumeSize=40),
    )
    diff = diff_plans(base, head)
    template = entry(diff, "aws:ec2/launchTemplate:LaunchTemplate")
    assert (template.step, template.danger) == (UPDATE, "")
    assert template.changes[0].path == "blockDeviceMappings[0].ebs.volumeSize"
    # The group follows the template's latestVersion: every one of its nodes is replaced, maxUnavailable at a time.
    group = entry(diff, "aws:eks/nodeGroup:NodeGroup")
    scaling = one(head, "aws:eks/nodeGroup:NodeGroup")["inputs"]
    low, high = scaling["scalingConfig"]["minSize"], scaling["scalingConfig"]["maxSize"]
    batch = scaling["updateConfig"]["maxUnavailable"]
    assert (group.step, group.changes, group.danger) == (UPDATE, (), "")
    assert f"rolls its {low} to {high} node(s)" in group.note and f"{batch} at a time" in group.note
    assert template.name in group.note


def test_kms_key_usage_replaces_the_key_a_description_does_not() -> None:
    """key_usage is ForceNew on aws_kms_key (internal/service/kms/key.go), description is updated in place."""
    base, usage, described = plan_copy(), plan_copy(), plan_copy()
    edit(usage, "aws:kms/key:Key", lambda inputs: inputs.update(keyUsage="SIGN_VERIFY"))
    edit(described, "aws:kms/key:Key", lambda inputs: inputs.update(description="other"))
    diff = diff_plans(base, usage)
    key = entry(diff, "aws:kms/key:Key")
    assert key.step == REPLACE and "secrets" in key.danger
    # The cluster takes the key's ARN in encryptionConfigKeyArn, which updates in place, and EKS cannot swap the key
    # of an encrypted cluster: an update with a warning to keep the old key, not a false "may replace".
    cluster = entry(diff, "eks:index:Cluster")
    assert (cluster.step, cluster.danger) == (UPDATE, "")
    assert "encryptionConfigKeyArn takes outputs of aws:kms/key:Key cluster-secrets" in cluster.note
    assert cluster.warnings == (CLUSTER_KEY_SWAP,)
    assert only(diff_plans(base, described)).step == UPDATE


def test_cluster_inputs_replace_update_or_may_replace_as_the_sources_say() -> None:
    """pulumi-eks passes name and serviceRole to aws_eks_cluster (ForceNew name, role_arn in cluster.go),
    publicAccessCidrs to vpc_config and deletionProtection (both updated in place); vpcId reaches the cluster only
    through a security group that no source traced here, so it "may replace". Removing encryptionConfigKeyArn
    replaces the cluster (ForceNewIfChange on encryption_config); changing it does not.
    """
    cases = {
        "name": ("other", REPLACE),
        "serviceRole": ("other-role", REPLACE),
        "publicAccessCidrs": (["198.51.100.0/24"], UPDATE),
        # Turning protection off is step one of decommissioning prod: an update, not a replacement.
        "deletionProtection": (True, UPDATE),
        "vpcId": ("vpc-other", MAY_REPLACE),
        "encryptionConfigKeyArn": ("arn:aws:kms:eu-central-1:123456789012:key/other", UPDATE),
    }
    for key, (value, expected) in cases.items():
        head = plan_copy()
        edit(head, "eks:index:Cluster", lambda inputs, key=key, value=value: inputs.update({key: value}))
        cluster = entry(diff_plans(plan_copy(), head), "eks:index:Cluster")
        assert cluster.step == expected, key
        assert bool(cluster.danger) == (expected != UPDATE), key
    head = plan_copy()
    edit(head, "eks:index:Cluster", lambda inputs: inputs.pop("encryptionConfigKeyArn"))
    assert entry(diff_plans(plan_copy(), head), "eks:index:Cluster").step == REPLACE


def test_a_type_without_a_source_may_replace_but_is_no_danger_when_stateless() -> None:
    """No source was read for IAM roles: the diff says "may replace" rather than guessing either way."""
    base, head = plan_copy(), plan_copy()
    edit(head, "aws:iam/role:Role", lambda inputs: inputs.update(description="x"), "iam-node")
    role = only(diff_plans(base, head))
    assert role.step == MAY_REPLACE and "no source read" in role.changes[0].why and role.danger == ""


def test_deleting_the_claim_is_a_danger_and_adding_a_resource_is_a_create() -> None:
    base, head = plan_copy(), plan_copy()
    claim = one(head, "kubernetes:core/v1:PersistentVolumeClaim")
    head["resources"].remove(claim)
    deleted = only(diff_plans(base, head))
    assert deleted.step == DELETE and "EBS volume" in deleted.danger
    added = only(diff_plans(head, base))
    assert (added.step, added.danger) == (CREATE, "")


def test_an_added_admin_arn_is_one_added_access_entry() -> None:
    """pulumi-eks creates one aws.eks.AccessEntry named <cluster>-<key> per accessEntries key
    (nodejs/eks/cluster/authenticationMode.ts). Offline the component is opaque, so the diff shows that entry.

    Catches: an added admin shown only as a changed cluster (which reads like a cluster update).
    """
    base, head = plan_copy(), plan_copy()
    entry = {"principalArn": "arn:aws:iam::123456789012:role/platform-admin", "type": "STANDARD"}
    edit(head, "eks:index:Cluster", lambda inputs: inputs["accessEntries"].update({"admin-1234": entry}))
    added = only(diff_plans(base, head))
    assert (added.type, added.name, added.step) == ("aws:eks/accessEntry:AccessEntry", "cluster-eks-admin-1234", CREATE)
    assert added.urn.endswith("$eks:index:Cluster$aws:eks/accessEntry:AccessEntry::cluster-eks-admin-1234")


def test_kubernetes_selectors_replace_workloads_but_images_roll_them() -> None:
    """diff.go lists .spec.selector for apps/v1 Deployment; container fields replace only a bare Pod."""
    base, selector, image = plan_copy(), plan_copy(), plan_copy()
    edit(selector, "kubernetes:apps/v1:Deployment", lambda i: i["spec"]["selector"]["matchLabels"].update(tier="x"), "demo-httpd")
    edit(
        image,
        "kubernetes:apps/v1:Deployment",
        lambda i: i["spec"]["template"]["spec"]["containers"][0].update(image="x:1"),
        "demo-httpd",
    )
    assert entry(diff_plans(base, selector), "kubernetes:apps/v1:Deployment").step == REPLACE
    assert only(diff_plans(base, image)).step == UPDATE


def test_paths_quote_keys_that_are_not_identifiers_and_types_count() -> None:
    """Catches: label keys with dots printed ambiguously; True -> 1 (equal in Python) missed."""
    base, head = plan_copy(), plan_copy()
    edit(
        head,
        "kubernetes:apps/v1:Deployment",
        lambda i: i["metadata"]["labels"].update({"app.kubernetes.io/version": "2"}),
        "demo-httpd",
    )
    edit(head, "aws:kms/key:Key", lambda inputs: inputs.update(enableKeyRotation=1))
    paths = {change.path for resource in diff_plans(base, head).resources for change in resource.changes}
    assert paths == {'metadata.labels["app.kubernetes.io/version"]', "enableKeyRotation"}
    assert format_path(("spec", "containers", 0, "image")) == "spec.containers[0].image"


def test_secrets_stay_masked_and_outputs_are_compared() -> None:
    """The plan holds "[secret]" markers only: shown as such, never a value (a changed secret is invisible)."""
    base, head = plan_copy(), plan_copy()
    head["outputs"]["clusterName"] = "renamed"
    diff = diff_plans(base, head)
    assert [(o.name, o.new) for o in diff.outputs] == [("clusterName", "renamed")]
    assert show("[secret]") == "[secret]" and show("[unknown]") == "[unknown]"
    assert all(resource.changes == () for resource in diff.resources)


def test_the_shipped_prod_plan_diffs_cleanly_against_dev() -> None:
    """Every resource type in both shipped plans goes through the rules without an error."""
    diff = diff_plans(plan_copy("dev"), plan_copy("prod"))
    assert diff.has_changes
    assert all(resource.step in (CREATE, DELETE, UPDATE, REPLACE, MAY_REPLACE) for resource in diff.resources)
    assert resources(plan_copy("prod"), "aws:ec2/natGateway:NatGateway")


# ---------------------------------------------------------------------------------------------------------------
# ignoreChanges (the plan records the option as Pulumi property paths)

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"


def scaling(plan: dict[str, Any]) -> dict[str, Any]:
    inputs: dict[str, Any] = one(plan, NODE_GROUP)["inputs"]["scalingConfig"]
    return inputs


def test_the_shipped_node_group_ignores_its_desired_size() -> None:
    """The premise of the tests below: the program sets ignoreChanges on the node group's desired size."""
    assert one(plan_copy(), NODE_GROUP)["ignoreChanges"] == ["scalingConfig.desiredSize"]
    assert scaling(plan_copy()) == {"minSize": 1, "maxSize": 3, "desiredSize": 2}


def test_an_ignored_desired_size_change_is_shown_but_is_no_update() -> None:
    """https://www.pulumi.com/docs/iac/concepts/options/ignorechanges/: on updates Pulumi uses the value in its
    state for an ignored property, so a new desiredSize in the program changes nothing in AWS.

    Catches: `desiredSize: 2 => 3` reported as a node group update that Pulumi never makes (and, the other way,
    the change silently dropped so nobody learns why the nodes did not scale).
    """
    base, head = plan_copy(), plan_copy()
    scaling(head)["desiredSize"] = 3
    diff = diff_plans(base, head)
    ignored = only(diff)
    assert (ignored.step, ignored.danger, ignored.warnings) == (SAME, "", ())
    assert [(c.path, c.old, c.new, c.effect) for c in ignored.changes] == [("scalingConfig.desiredSize", 2, 3, IGNORED)]
    assert set(diff.counts().values()) == {0} and diff.unchanged == len(head["resources"])
    text = render_text(diff, "a -> b")
    assert "=  aws:eks/nodeGroup:NodeGroup nodes-system-group (unchanged: only ignored changes)" in text
    assert "= scalingConfig.desiredSize: 2 => 3   (ignored: Pulumi keeps the value in its state)" in text
    assert text.endswith(f"Resources: {len(head['resources'])} unchanged (1 with ignored changes only)")
    document = diff.to_json()
    assert document["summary"]["update"] == 0 and document["summary"]["ignoredOnly"] == 1
    assert document["resources"][0]["changes"][0]["effect"] == IGNORED


def test_an_ignored_change_next_to_a_real_one_leaves_the_resource_an_update() -> None:
    """Catches: one ignored path hiding the whole resource, or the ignored path counted into its step."""
    base, head = plan_copy(), plan_copy()
    scaling(head).update(desiredSize=3, maxSize=5)
    changed = only(diff_plans(base, head))
    assert changed.step == UPDATE
    assert {c.path: c.effect for c in changed.changes} == {"scalingConfig.desiredSize": IGNORED, "scalingConfig.maxSize": UPDATE}


def test_an_ignored_replica_count_of_a_deployment_is_no_update() -> None:
    """The demo Deployment ignores spec.replicas (a HorizontalPodAutoscaler owns it); other fields still update."""
    base, replicas, image = plan_copy(), plan_copy(), plan_copy()
    assert one(base, "kubernetes:apps/v1:Deployment", "demo-httpd")["ignoreChanges"] == ["spec.replicas"]
    edit(replicas, "kubernetes:apps/v1:Deployment", lambda i: i["spec"].update(replicas=7), "demo-httpd")
    edit(
        image,
        "kubernetes:apps/v1:Deployment",
        lambda i: i["spec"]["template"]["spec"]["containers"][0].update(image="x:1"),
        "demo-httpd",
    )
    assert only(diff_plans(base, replicas)).step == SAME
    assert only(diff_plans(base, image)).step == UPDATE


@pytest.mark.parametrize(
    ("option", "path", "ignored"),
    [
        ("scalingConfig.desiredSize", ("scalingConfig", "desiredSize"), True),
        ("scalingConfig", ("scalingConfig", "maxSize"), True),  # below an ignored path
        ("scalingConfig.desired", ("scalingConfig", "desiredSize"), False),  # a string prefix is no path prefix
        ("scalingConfig.desiredSize", ("scalingConfig",), False),  # a whole subtree holding it is a real change
        ('labels["platform.eks/pool"]', ("labels", "platform.eks/pool"), True),
        ("labels.platform", ("labels", "platform.eks/pool"), False),
        ("instanceTypes[1]", ("instanceTypes", 1), True),
        ("instanceTypes[1]", ("instanceTypes", 0), False),
        ("blockDeviceMappings[*].ebs", ("blockDeviceMappings", 3, "ebs", "volumeSize"), True),
        ("*", ("anything", "at", "all"), True),
        ("items[0]", ("items", False), False),  # 0 == False in Python, not in a path
    ],
)
def test_ignore_changes_paths_match_as_pulumi_matches_them(option: str, path: tuple[str | int, ...], ignored: bool) -> None:
    """pulumi/pulumi sdk/go/common/resource/properties_path.go: parsePropertyPath (dots, [N], ["key"], * and [*])
    and PropertyPath.Contains (the path or below it, * for any key or index)."""
    assert contains(parse_property_path(option), path) is ignored


def test_a_quoted_key_with_an_escaped_quote_parses() -> None:
    assert parse_property_path('tags["a \\"b\\" c"].x') == ("tags", 'a "b" c', "x")


@pytest.mark.parametrize("option", ["", ".a", "a.", "a[x]", 'a["b', "a[1"])
def test_a_malformed_ignore_changes_path_is_bad_plan_input(option: str) -> None:
    """Catches: a typo in a hand-written plan silently ignoring nothing (or everything)."""
    head = plan_copy()
    one(head, NODE_GROUP)["ignoreChanges"] = [option]
    with pytest.raises(BadPlan, match=r"ignoreChanges of .*nodes-system-group"):
        diff_plans(plan_copy(), head)


def test_ignore_changes_must_be_a_list_of_strings() -> None:
    head = plan_copy()
    one(head, NODE_GROUP)["ignoreChanges"] = "scalingConfig.desiredSize"
    with pytest.raises(BadPlan, match="must be a list of property paths"):
        diff_plans(plan_copy(), head)


# ---------------------------------------------------------------------------------------------------------------
# A minimum raised above the live desired size


def warnings_of(base: dict[str, Any], head: dict[str, Any]) -> tuple[str, ...]:
    return entry(diff_plans(base, head), NODE_GROUP).warnings


def test_a_raised_minimum_while_desired_size_is_ignored_warns_with_the_cli_fix() -> None:
    """EKS validates UpdateNodegroupConfig against the group's live sizes and refuses a minimum above the live
    desired size: "Minimum capacity 2 can't be greater than desired size 1" (terraform-aws-modules/terraform-aws-eks
    issues #2508, #944 and #3521, all with desired size ignored by the module); the fix is
    `aws eks update-nodegroup-config --scaling-config desiredSize=N` first (wandb/terraform-aws-wandb#201).
    With desiredSize in ignoreChanges Pulumi sends the old desired size, and the cluster autoscaler may have
    lowered the live one: the plan cannot know, so the diff warns.

    Catches: `pulumi up` failing in prod on a change the offline diff called a harmless update.
    """
    base, head = plan_copy(), plan_copy()
    scaling(head)["minSize"] = 2
    diff = diff_plans(base, head)
    node_group = only(diff)
    assert node_group.step == UPDATE
    (warning,) = node_group.warnings
    assert warning.startswith("minSize rises to 2: EKS refuses it while the live desired size is below 2")
    assert (
        "`aws eks update-nodegroup-config --cluster-name eks-platform-dev --nodegroup-name <node group> "
        "--scaling-config desiredSize=2`" in warning
    )
    assert "terraform-aws-eks#2508" in warning
    assert f"       WARNING: {warning}" in render_text(diff, "a -> b")
    assert json.loads(json.dumps(diff.to_json()))["resources"][0]["warnings"] == [warning]
    markdown = render_markdown("a", "b", [StackReport(diff, None, None)])
    assert "**Warnings**" in markdown and f"aws:eks/nodeGroup:NodeGroup nodes-system-group: {warning}" in markdown


def test_the_warning_names_the_node_group_and_raises_the_maximum_when_it_must() -> None:
    """desiredSize above the live maxSize is refused too (desiredSize can't be greater than maxSize): when the new
    minimum passes the old maximum, the command raises the maximum in the same call."""
    base, head = plan_copy(), plan_copy()
    one(head, NODE_GROUP)["inputs"]["nodeGroupName"] = "system"
    scaling(head).update(minSize=4, maxSize=6)
    (warning,) = warnings_of(base, head)
    assert "--nodegroup-name system --scaling-config desiredSize=4,maxSize=6`" in warning


def test_no_warning_without_a_raised_minimum_or_with_a_managed_desired_size() -> None:
    """Catches: warning on every node group change (people stop reading it) or where Pulumi sets desiredSize
    itself (then it sends a valid triple and EKS accepts it)."""
    base = plan_copy()
    lowered, bigger, managed = plan_copy(), plan_copy(), plan_copy()
    scaling(lowered)["minSize"] = 0
    scaling(bigger)["maxSize"] = 5
    scaling(managed).update(minSize=2, desiredSize=2)
    one(managed, NODE_GROUP)["ignoreChanges"] = []
    for head in (lowered, bigger, managed):
        assert warnings_of(base, head) == ()


# ---------------------------------------------------------------------------------------------------------------
# Decisions a reviewer acts on: each test gives the realistic input and asserts the verdict and the words shown.


def test_moving_the_ingress_release_to_another_namespace_is_a_replacement_and_a_danger() -> None:
    """pulumi-kubernetes provider/pkg/provider/helm_release.go (Diff: forceNewFields name and namespace): a release
    in a new namespace is uninstalled and installed again, and its LoadBalancer Service with it: a new NLB, a new
    hostname. Catches: the namespace change shown as an update with no danger."""
    base, moved = plan_copy(), plan_copy()
    edit(moved, "kubernetes:helm.sh/v3:Release", lambda inputs: inputs.update(namespace="edge"), "ingress-release")
    diff = diff_plans(base, moved)
    release = entry(diff, "kubernetes:helm.sh/v3:Release")
    assert (release.step, release.changes[0].path) == (REPLACE, "namespace")
    text = render_text(diff, "a -> b")
    assert '~ namespace: "nginx-ingress" => "edge"   [forces replacement: pulumi/pulumi-kubernetes' in text
    assert "DANGER: kubernetes:helm.sh/v3:Release ingress-release is replaced: its LoadBalancer Service owns the NLB" in text


@pytest.mark.parametrize("block", ["kubeProxyAddonOptions", "corednsAddonOptions"])
def test_an_add_on_options_block_added_or_removed_whole_is_not_called_an_update(block: str) -> None:
    """Only the fields read in pulumi-eks (version, configurationValues, resolveConflictsOnUpdate: separate add-on
    resources updated in place) are in place; a whole block removed or added resets or switches the add-on
    (`enabled`) in ways no source here covers. Catches: the removal matched against `<block>.version` below it and
    called an update. Near miss: the version inside the block stays an in-place update."""
    base, removed, bumped = plan_copy(), plan_copy(), plan_copy()
    edit(removed, "eks:index:Cluster", lambda inputs: inputs.pop(block))
    edit(bumped, "eks:index:Cluster", lambda inputs: inputs[block].update(version="v9.9.9-eksbuild.1"))
    for base_plan, head_plan, kind in ((base, removed, "delete"), (removed, base, "add")):
        cluster = entry(diff_plans(base_plan, head_plan), "eks:index:Cluster")
        change = next(c for c in cluster.changes if c.path == block)
        assert (cluster.step, change.kind, change.effect) == (MAY_REPLACE, kind, MAY_REPLACE)
        assert change.why == "no source read for this input of eks:index:Cluster"
    version = entry(diff_plans(base, bumped), "eks:index:Cluster")
    assert (version.step, [c.effect for c in version.changes]) == (UPDATE, [UPDATE])


def test_one_forcing_change_makes_a_replacement_whatever_else_is_unknown() -> None:
    """A renamed cluster (name is ForceNew: terraform-provider-aws eks/cluster.go via pulumi-eks) next to an input
    no source covers is a replacement, and what takes its outputs through a replace key (the add-ons' clusterName,
    ForceNew in eks/addon.go) may be replaced with it. Catches: the unknown change winning ("may replace" only),
    which also stops the replacement from reaching the add-ons."""
    base, head = plan_copy(), plan_copy()
    edit(head, "eks:index:Cluster", lambda inputs: inputs.update(name="eks-platform-dev-2", futureInput=True))
    diff = diff_plans(base, head)
    cluster = entry(diff, "eks:index:Cluster")
    assert cluster.step == REPLACE
    assert {c.path: c.effect for c in cluster.changes} == {"name": REPLACE, "futureInput": MAY_REPLACE}
    coredns = next(r for r in diff.resources if r.name == "addons-coredns")
    assert coredns.step == MAY_REPLACE
    assert coredns.note == "clusterName takes outputs of eks:index:Cluster cluster-eks, which is replaced"


def test_deleting_a_namespace_with_its_claim_is_a_danger_for_both() -> None:
    """Kubernetes deletes everything in a deleted namespace (kubernetes.io/docs/concepts/overview/working-with-
    objects/namespaces), and the claim's volume goes with the claim (reclaim policy Delete). Catches: removing the
    demo namespace and its claim passing with no DANGER."""
    base, head = plan_copy(), plan_copy()
    head["resources"] = [r for r in head["resources"] if r["name"] not in ("demo-namespace", "storage-ebs-pvc")]
    diff = diff_plans(base, head)
    text = render_text(diff, "a -> b")
    assert "DANGER: kubernetes:core/v1:Namespace demo-namespace is deleted: deleting a namespace deletes everything" in text
    assert "DANGER: kubernetes:core/v1:PersistentVolumeClaim storage-ebs-pvc is deleted: owns its EBS volume" in text


def test_renaming_a_namespace_replaces_it_and_is_a_danger() -> None:
    """metadata.name is forceNew for every Kubernetes object (pulumi-kubernetes diff.go forceNewProperties).
    Near miss: a label on the namespace is an update and no danger."""
    base, renamed, labelled = plan_copy(), plan_copy(), plan_copy()
    edit(renamed, "kubernetes:core/v1:Namespace", lambda inputs: inputs["metadata"].update(name="demo-2"), "demo-namespace")
    edit(
        labelled,
        "kubernetes:core/v1:Namespace",
        lambda inputs: inputs["metadata"].setdefault("labels", {}).update(team="web"),
        "demo-namespace",
    )
    namespace = next(r for r in diff_plans(base, renamed).resources if r.name == "demo-namespace")
    assert namespace.step == REPLACE and "deletes everything in it" in namespace.danger
    assert (only(diff_plans(base, labelled)).step, only(diff_plans(base, labelled)).danger) == (UPDATE, "")


def test_a_claims_access_modes_change_replaces_the_claim_and_its_volume() -> None:
    """spec.accessModes is a forceNew field of a PersistentVolumeClaim (pulumi-kubernetes diff.go): the claim is
    deleted and created again, and its EBS volume with the data is deleted with it. Catches: it shown as an update."""
    base, head = plan_copy(), plan_copy()
    edit(head, "kubernetes:core/v1:PersistentVolumeClaim", lambda inputs: inputs["spec"].update(accessModes=["ReadWriteOncePod"]))
    diff = diff_plans(base, head)
    claim = entry(diff, "kubernetes:core/v1:PersistentVolumeClaim")
    assert claim.step == REPLACE and claim.changes[0].path.startswith("spec.accessModes")
    assert "DANGER: kubernetes:core/v1:PersistentVolumeClaim storage-ebs-pvc is replaced: owns its EBS volume" in render_text(
        diff, "a -> b"
    )
