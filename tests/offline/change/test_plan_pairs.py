"""The diff of two plans the program really builds from the test-owned stack, before and after one stack edit: the
four changes a team makes most (instance type, disk size, a replica count, a new pool) say what Pulumi would do.

Pulumi replaces a dependent only through an input that takes a replaced resource's outputs and is one of its
replace keys (pulumi/pulumi pkg/resource/deploy/step_generator.go, calculateDependentReplacements); a dependsOn
edge orders the steps and changes nothing. A node group on a launch template follows the template's latest version,
so a template update replaces every node of the group (EKS managed node update behaviour).
"""

from __future__ import annotations

import copy
from typing import Any

from offline.change.plan_diff import CREATE, MAY_REPLACE, REPLACE, UPDATE, StackDiff, diff_plans, render_text
from tests.conftest import FixturePlans

SYSTEM = {"instanceTypes": ["t3.medium", "t3a.medium"], "capacityType": "SPOT", "minSize": 1, "desiredSize": 2, "maxSize": 3}
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
SUBNET = "aws:ec2/subnet:Subnet"


def _diff(plans: FixturePlans, **after: Any) -> StackDiff:
    return diff_plans(plans(nodeGroups={"system": SYSTEM}).plan, plans(**after).plan)


def _steps(diff: StackDiff) -> dict[tuple[str, str], str]:
    return {(resource.type, resource.name): resource.step for resource in diff.resources}


def test_an_instance_type_change_replaces_the_node_group_and_raises_no_alarm_for_its_waiters(
    fixture_plans: FixturePlans,
) -> None:
    """The regression of the most common change: the claim, the namespace and the workloads wait for the nodes
    (dependsOn) but take none of their outputs. Catches: ordering-only dependents shown as "may replace" with
    DANGER lines about the claim's data."""
    diff = _diff(fixture_plans, nodeGroups={"system": {**SYSTEM, "instanceTypes": ["m6i.large"]}})
    assert _steps(diff) == {(NODE_GROUP, "nodes-system-group"): REPLACE}
    assert [danger.type for danger in diff.dangers] == [NODE_GROUP]
    baseline = fixture_plans(nodeGroups={"system": SYSTEM})
    group = baseline.one(NODE_GROUP, "nodes-system-group")
    waiters = [r for r in baseline.resources if group["urn"] in r["dependencies"]]
    # The near miss the rule is about: there are dependents, by ordering only.
    assert any(r["type"] == "kubernetes:core/v1:PersistentVolumeClaim" for r in waiters)
    assert all(group["urn"] not in urns for r in waiters for urns in r["propertyDependencies"].values())


def test_a_disk_size_change_rolls_every_node_of_the_pool(fixture_plans: FixturePlans) -> None:
    """diskSizeGiB writes a new launch template version; the group uses latestVersion, so EKS replaces each node,
    maxUnavailable at a time. Catches: "1 to update" on the template with the node roll not shown."""
    diff = _diff(fixture_plans, nodeGroups={"system": {**SYSTEM, "diskSizeGiB": 30}})
    assert _steps(diff) == {(LAUNCH_TEMPLATE, "nodes-system-lt"): UPDATE, (NODE_GROUP, "nodes-system-group"): UPDATE}
    group = next(resource for resource in diff.resources if resource.type == NODE_GROUP)
    assert group.note.startswith("rolls its 1 to 3 node(s)") and "1 at a time (updateConfig.maxUnavailable)" in group.note
    assert diff.dangers == ()


def test_the_roll_names_the_pool_batch(fixture_plans: FixturePlans) -> None:
    """The batch is the pool's own maxUnavailable, not a constant."""
    pool = {**SYSTEM, "minSize": 4, "desiredSize": 4, "maxSize": 4, "maxUnavailable": 2}
    before = fixture_plans(nodeGroups={"system": pool}).plan
    after = fixture_plans(nodeGroups={"system": {**pool, "diskSizeGiB": 30}}).plan
    group = next(resource for resource in diff_plans(before, after).resources if resource.type == NODE_GROUP)
    assert group.note.startswith("rolls its 4 node(s)") and "2 at a time" in group.note


def test_a_replica_count_updates_the_ingress_release_only(fixture_plans: FixturePlans) -> None:
    diff = _diff(fixture_plans, ingressReplicas=3)
    assert _steps(diff) == {("kubernetes:helm.sh/v3:Release", "ingress-release"): UPDATE}


def test_a_new_pool_creates_its_resources_and_changes_nothing_else(fixture_plans: FixturePlans) -> None:
    pool = {"instanceTypes": ["m6i.large"], "minSize": 0, "desiredSize": 0, "maxSize": 2}
    diff = _diff(fixture_plans, nodeGroups={"system": SYSTEM, "batch": pool})
    steps = _steps(diff)
    created = {name for (_, name), step in steps.items() if step == CREATE}
    assert {"nodes-batch-lt", "nodes-batch-group"} <= created
    # The program puts workloads on the first untainted non-system pool: the demo Deployments move there, in place.
    updated = {key for key, step in steps.items() if step != CREATE}
    assert updated and all(kind == "kubernetes:apps/v1:Deployment" and steps[kind, name] == UPDATE for kind, name in updated)
    assert diff.dangers == ()


def _subnet_replaced(plan: dict[str, Any]) -> tuple[dict[str, Any], str]:
    after = copy.deepcopy(plan)
    subnet = next(r for r in after["resources"] if r["type"] == SUBNET and r["name"] == "network-private-eu-central-1a")
    subnet["inputs"]["cidrBlock"] = "10.0.250.0/24"  # ForceNew on aws_subnet
    return after, subnet["urn"]


def test_a_dependent_through_a_replace_key_may_be_replaced_through_an_in_place_key_is_updated(
    fixture_plans: FixturePlans,
) -> None:
    """A replaced subnet: the node group takes its id in subnetIds (ForceNew on aws_eks_node_group), the cluster in
    privateSubnetIds (vpc_config subnet_ids, updated in place). Catches: propagation switched off, or every
    property dependency taken for a replacement."""
    before = fixture_plans(nodeGroups={"system": SYSTEM}).plan
    after, subnet = _subnet_replaced(before)
    diff = diff_plans(before, after)
    assert next(r for r in diff.resources if r.urn == subnet).step == REPLACE
    resources = {resource.name: resource for resource in diff.resources if resource.urn != subnet}
    group = resources["nodes-system-group"]
    assert group.step == MAY_REPLACE and group.note.startswith("subnetIds takes outputs of aws:ec2/subnet:Subnet")
    assert group.danger  # the nodes every pod runs on
    cluster = resources["cluster-eks"]
    assert cluster.step == UPDATE and cluster.danger == "" and "privateSubnetIds" in cluster.note
    # The route table association takes subnetId (ForceNew) too; nothing takes the group's outputs, so the
    # workloads waiting for the nodes are not flagged.
    flagged = {r.type for r in resources.values() if r.step == MAY_REPLACE}
    assert flagged == {NODE_GROUP, "aws:ec2/routeTableAssociation:RouteTableAssociation"}


def test_a_plan_without_property_dependencies_falls_back_to_every_edge(fixture_plans: FixturePlans) -> None:
    """A plan written by an older checkout (make diff builds the base with its own tree) has no
    propertyDependencies: every dependent of a replacement may be replaced, and the note says why."""
    before = copy.deepcopy(fixture_plans(nodeGroups={"system": SYSTEM}).plan)
    for resource in before["resources"]:
        resource.pop("propertyDependencies")
    after, _ = _subnet_replaced(before)
    group = next(r for r in diff_plans(before, after).resources if r.type == NODE_GROUP)
    assert group.step == MAY_REPLACE and "records no property dependencies" in group.note


def test_a_replaced_cluster_reaches_the_workloads_through_the_kubernetes_provider(fixture_plans: FixturePlans) -> None:
    """A new cluster name replaces the cluster; the Kubernetes provider takes its kubeconfig (a new API server), so
    every Kubernetes object behind that provider may be recreated. Catches: propagation stopping one step away."""
    before = fixture_plans(nodeGroups={"system": SYSTEM}).plan
    after = copy.deepcopy(before)
    next(r for r in after["resources"] if r["type"] == "eks:index:Cluster")["inputs"]["name"] = "renamed"
    resources = {(r.type, r.name): r for r in diff_plans(before, after).resources}
    provider = resources["pulumi:providers:kubernetes", "k8s"]
    assert provider.step == MAY_REPLACE and provider.note.startswith("kubeconfig takes outputs of eks:index:Cluster")
    workload = resources["kubernetes:apps/v1:Deployment", "demo-httpd"]
    assert (workload.step, workload.note) == (MAY_REPLACE, "its provider k8s may be replaced")


def test_only_a_change_that_writes_a_template_version_rolls_the_nodes(fixture_plans: FixturePlans) -> None:
    """resourceLaunchTemplateUpdate writes a new version for its updateKeys (description among them), not for
    tags. Catches: a tag change announced as replacing every node, or a new version that rolls silently."""
    before = fixture_plans(nodeGroups={"system": SYSTEM}).plan
    for key, value, rolls in (("tags", {"team": "web"}, False), ("description", "nodes", True)):
        after = copy.deepcopy(before)
        next(r for r in after["resources"] if r["type"] == LAUNCH_TEMPLATE)["inputs"][key] = value
        steps = _steps(diff_plans(before, after))
        assert steps[LAUNCH_TEMPLATE, "nodes-system-lt"] == UPDATE, key
        assert ((NODE_GROUP, "nodes-system-group") in steps) == rolls, key


def test_a_replaced_group_stays_replaced_when_its_template_also_changes(fixture_plans: FixturePlans) -> None:
    """Instance type and disk size in one edit: the group is replaced (new nodes anyway), not downgraded to a roll."""
    diff = _diff(fixture_plans, nodeGroups={"system": {**SYSTEM, "instanceTypes": ["m6i.large"], "diskSizeGiB": 30}})
    assert _steps(diff)[NODE_GROUP, "nodes-system-group"] == REPLACE


def test_a_zone_added_or_a_new_prefix_length_is_refused_a_new_vpc_is_not(fixture_plans: FixturePlans) -> None:
    """Pulumi creates replacements before it deletes, and CreateSubnet refuses a CIDR overlapping an existing
    subnet (InvalidSubnet.Conflict): moving subnets inside the same VPC fails halfway through `up`. Catches: the
    diff calling it a plain replacement; a false refusal when the VPC itself is new or nothing moves."""
    two = {"availabilityZones": ["eu-central-1a", "eu-central-1b"]}
    base = fixture_plans(**two).plan
    added = diff_plans(base, fixture_plans(availabilityZones=["eu-central-1a", "eu-central-1b", "eu-central-1c"]).plan)
    assert added.refusals and "would be created while" in added.refusals[0]
    assert "InvalidSubnet.Conflict" in added.refusals[0] and "subnetLayout zone-slots" in added.refusals[0]
    # A replacement overlaps even its own old self, which is deleted only after it is created.
    halved = diff_plans(base, fixture_plans(**two, subnetPrefixLength=20).plan).refusals
    own = "network-public-eu-central-1a (10.0.0.0/20) would be created while network-public-eu-central-1a (10.0.0.0/19)"
    assert any(refusal.startswith(own) for refusal in halved)
    # A new VPC CIDR replaces the VPC: every subnet goes into the new VPC, where nothing overlaps, even a subnet
    # keeping its old block (10.0.0.0/19 for zone a in both).
    smaller = diff_plans(base, fixture_plans(**two, vpcCidr="10.0.0.0/17").plan)
    assert any(r.type == "aws:ec2/vpc:Vpc" and r.step == REPLACE for r in smaller.resources) and smaller.refusals == ()
    three = ["eu-central-1a", "eu-central-1b", "eu-central-1c"]
    moved = diff_plans(base, fixture_plans(availabilityZones=three, vpcCidr="10.0.0.0/17", subnetPrefixLength=20).plan)
    assert any(r.type == SUBNET and r.step == REPLACE for r in moved.resources) and moved.refusals == ()
    assert diff_plans(base, fixture_plans(**two, ingressReplicas=3).plan).refusals == ()
    # The refusal makes `make diff` exit 1 and reads as one line in the text.
    assert any(line.startswith("  REFUSED: ") for line in render_text(added, "t").splitlines())


def test_a_new_subnet_over_an_existing_ones_block_is_refused(fixture_plans: FixturePlans) -> None:
    """A created subnet (no replacement involved) whose CIDR overlaps a subnet that stays: refused alike."""
    before = fixture_plans(nodeGroups={"system": SYSTEM}).plan
    after = copy.deepcopy(before)
    subnet = next(r for r in after["resources"] if r["type"] == SUBNET)
    twin = {**copy.deepcopy(subnet), "urn": subnet["urn"] + "-twin", "name": subnet["name"] + "-twin"}
    after["resources"].append(twin)
    diff = diff_plans(before, after)
    assert [r.step for r in diff.resources if r.name == twin["name"]] == [CREATE]
    assert len(diff.refusals) == 1 and diff.refusals[0].startswith(f"{twin['name']} ({subnet['inputs']['cidrBlock']})")


def test_a_new_node_ami_release_rolls_the_pool(fixture_plans: FixturePlans) -> None:
    """A new releaseVersion (the pinned AMI release moved in components/shared/versions.py) is an in-place
    UpdateNodegroupVersion that replaces every node, maxUnavailable at a time. Catches: an AMI bump shown as a
    one-line update with the node roll hidden."""
    before = fixture_plans(nodeGroups={"system": SYSTEM}).plan
    after = copy.deepcopy(before)
    group = next(r for r in after["resources"] if r["type"] == NODE_GROUP)
    old = group["inputs"]["releaseVersion"]
    group["inputs"]["releaseVersion"] = old.rsplit("-", 1)[0] + "-20990101"
    (changed,) = diff_plans(before, after).resources
    assert changed.step == UPDATE and changed.danger == ""
    assert changed.note.startswith("rolls its 1 to 3 node(s)") and f'a new AMI (releaseVersion "{old}" => ' in changed.note


def test_with_zone_slots_a_zone_comes_and_goes_without_moving_the_others(fixture_plans: FixturePlans) -> None:
    """subnetLayout zone-slots gives each zone letter fixed blocks (components/network.py subnet_blocks): adding
    zone c creates its subnets and leaves a's and b's as they are, so nothing is refused; removing it again only
    deletes. Catches: a stable layout that still shifts a zone's block when another zone is added."""
    slots = {"subnetLayout": "zone-slots"}
    two = fixture_plans(**slots, availabilityZones=["eu-central-1a", "eu-central-1b"]).plan
    three = fixture_plans(**slots, availabilityZones=["eu-central-1a", "eu-central-1b", "eu-central-1c"]).plan
    for before, after, step in ((two, three, CREATE), (three, two, "delete")):
        diff = diff_plans(before, after)
        subnets = {r.name: r.step for r in diff.resources if r.type == SUBNET}
        assert subnets == {"network-public-eu-central-1c": step, "network-private-eu-central-1c": step}
        assert diff.refusals == ()
