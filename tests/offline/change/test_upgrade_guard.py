"""Upgrade rules: the control plane moves up one minor at a time and never down; nodes and add-ons move with it.

Sources: one minor at a time, https://docs.aws.amazon.com/eks/latest/eksctl/cluster-upgrade.html; no downgrade,
https://docs.aws.amazon.com/eks/latest/userguide/update-cluster.html; node groups must match the control plane
before its next upgrade, https://docs.aws.amazon.com/eks/latest/APIReference/API_UpdateClusterVersion.html; EKS does
not update an add-on when the cluster moves, https://docs.aws.amazon.com/eks/latest/userguide/updating-an-add-on.html.

The plans here are the shipped dev plan with version inputs written in (tests/offline/change/edits.py), standing in for the
program's own version inputs; test_diff.py checks the same rules on real git history.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from offline.change.plan_diff import diff_plans
from offline.change.upgrade_rules import (
    ADDON,
    CONTROL_PLANE,
    NODES,
    BadVersion,
    carriers,
    check_plans,
    check_step,
    table_addon_version,
)
from offline.plan.plan_file import UNKNOWN
from offline.upgrade_guard import main
from tests.offline.change.edits import one, plan_copy, resources, with_versions

ROOT = Path(__file__).resolve().parents[3]
NODE_GROUP_TYPES = ("eks:index:ManagedNodeGroup", "aws:eks/nodeGroup:NodeGroup")


def node_groups(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [resource for kind in NODE_GROUP_TYPES for resource in resources(plan, kind)]


def test_a_one_minor_bump_moves_control_plane_nodes_and_every_add_on_together() -> None:
    """Every version input set as components/shared/versions.py pins it for each minor: the bump passes, and the diff shows
    the control plane, every node group and every add-on whose build differs between the two minors (the table
    rightly keeps one vpc-cni build for several minors)."""
    base, head = with_versions(plan_copy(), "1.34"), with_versions(plan_copy(), "1.35")
    assert check_plans(base, head) == []
    changed = {(resource.urn, change.path) for resource in diff_plans(base, head).resources for change in resource.changes}
    for carrier in carriers(head):
        moves = carrier.role != ADDON or table_addon_version(carrier.addon, "1.34") != table_addon_version(carrier.addon, "1.35")
        assert ((carrier.urn, carrier.path) in changed) == moves, carrier.label
    assert {c.role for c in carriers(head) if (c.urn, c.path) in changed} == {CONTROL_PLANE, NODES, ADDON}


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("1.33", "1.35", "would jump from 1.33 to 1.35"),
        ("1.35", "1.34", "would go down from 1.35 to 1.34"),
        ("1.35", "2.0", "jump"),
    ],
)
def test_skips_and_downgrades_are_refused(old: str, new: str, words: str) -> None:
    problems = check_plans(with_versions(plan_copy(), old), with_versions(plan_copy(), new))
    assert len(problems) == 1 and words in problems[0] and problems[0].startswith("cluster cluster-eks")


def test_nodes_left_behind_are_refused() -> None:
    """Catches: bumping kubernetesVersion while the node group keeps its old version."""
    problems = check_plans(with_versions(plan_copy(), "1.34"), with_versions(plan_copy(), "1.35", nodes="1.34"))
    assert len(problems) == len(node_groups(plan_copy())) and "is on 1.34 while the control plane moves to 1.35" in problems[0]


def test_add_ons_must_take_the_build_the_table_gives_for_the_new_minor() -> None:
    """Catches: the control plane moved but kube-proxy and CoreDNS kept the old minor's builds. vpc-cni keeps its
    build rightly: components/shared/versions.py pins the same one for both minors (EKS vpc-cni page)."""
    problems = check_plans(with_versions(plan_copy(), "1.34"), with_versions(plan_copy(), "1.35", addons="1.34"))
    assert any(
        p.startswith("add-on coredns (addons-coredns) is at v1.13.2-eksbuild.11, but components/shared/versions.py gives")
        for p in problems
    )
    assert any(p.startswith("add-on kube-proxy (cluster-eks)") for p in problems)
    assert not any("vpc-cni" in p or "aws-ebs-csi-driver" in p for p in problems)


def test_an_add_on_the_table_does_not_know_must_change_its_version() -> None:
    """No table row says its build suits the new minor: keeping it is refused rather than assumed fine."""
    base, head = with_versions(plan_copy(), "1.34"), with_versions(plan_copy(), "1.35")
    for plan in (base, head):
        one(plan, "aws:eks/addon:Addon", "addons-coredns")["inputs"].update(addonName="adot", addonVersion="v0.9.0")
    problems = check_plans(base, head)
    assert len(problems) == 1 and problems[0].startswith("add-on adot (addons-coredns) stays at v0.9.0")


def test_unpinned_add_ons_and_nodes_do_not_follow_the_control_plane() -> None:
    """A bump of the cluster's version alone: EKS leaves unpinned add-ons as they are, Terraform keeps an unset
    aws_eks_node_group version, and pulumi-eks sets a managed node group's version from the cluster only without a
    launch template (nodejs/eks/nodes/nodegroup.ts). Catches: this program before it pinned versions."""
    base, head = plan_copy(), plan_copy()
    for plan, version in ((base, "1.34"), (head, "1.35")):
        cluster = one(plan, "eks:index:Cluster")["inputs"]
        cluster["version"] = version
        # pulumi-eks resolves these for the cluster's version when unset (cluster.ts, cni-addon.ts): they follow.
        cluster.get("vpcCniOptions", {}).pop("addonVersion", None)
        cluster.get("kubeProxyAddonOptions", {}).pop("version", None)
        for group in node_groups(plan):
            group["inputs"].pop("version", None)
        for addon in resources(plan, "aws:eks/addon:Addon"):
            addon["inputs"].pop("addonVersion", None)
    problems = check_plans(base, head)
    assert any(problem.startswith("add-on coredns (addons-coredns) sets no version") for problem in problems)
    assert any(problem.startswith("node group") and "sets no version" in problem for problem in problems)
    assert not any("vpc-cni" in problem or "kube-proxy" in problem for problem in problems)


def test_a_managed_node_group_without_launch_template_or_version_follows_the_cluster() -> None:
    """pulumi-eks nodegroup.ts: "default the version to the cluster version if not provided" (no launch template)."""
    base, head = with_versions(plan_copy(), "1.34"), with_versions(plan_copy(), "1.35")
    group = one(head, node_groups(head)[0]["type"], node_groups(head)[0]["name"])
    group["inputs"].pop("version")
    group["inputs"].pop("launchTemplate")
    problems = check_plans(base, head)
    if group["type"] == "eks:index:ManagedNodeGroup":
        assert problems == []
    else:
        # aws.eks.NodeGroup: Terraform keeps an unset version where it is (internal/service/eks/node_group.go).
        assert len(problems) == 1 and "sets no version" in problems[0]


def test_nodes_newer_than_their_control_plane_are_refused() -> None:
    """Kubernetes version skew policy: a kubelet may not be newer than kube-apiserver."""
    plan = with_versions(plan_copy(), "1.34")
    head = with_versions(plan_copy(), "1.34", nodes="1.35")
    assert any("newer than cluster cluster-eks on 1.34" in problem for problem in check_plans(plan, head))


# ---------------------------------------------------------------------------------------------------------------
# Against the deployed stack (scripts/pulumi.sh)


def guard(deployed: str, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    code = main(["--stack", "dev", "--deployed", deployed, *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_first_deployment_passes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = guard("", capsys)
    assert (code, err) == (0, "") and "first deployment" in out


@pytest.mark.parametrize("deployed", ["1.35", "1.34"])
def test_same_version_or_one_minor_up_passes(deployed: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = guard(deployed, capsys)
    assert code == 0 and "1.35" in out


@pytest.mark.parametrize(("deployed", "words"), [("1.33", "would jump from 1.33 to 1.35"), ("1.36", "would go down from 1.36")])
def test_a_skip_or_downgrade_against_the_deployed_stack_is_refused_in_one_line(
    deployed: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = guard(deployed, capsys)
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and words in err and err.startswith("upgrade-guard: refused:")


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--stack", "dev", "--deployed", "v1.34"], "--deployed 'v1.34' is not a Kubernetes version"),
        (["--stack", "qa", "--deployed", "1.35"], "no stack file Pulumi.qa.yaml"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and words in err


def test_secrets_of_other_keys_do_not_stop_the_guard(tmp_path: Path) -> None:
    """A deployed stack file carries secure values; only kubernetesVersion is read, so that is no reason to fail."""
    (tmp_path / "Pulumi.yaml").symlink_to(ROOT / "Pulumi.yaml")
    (tmp_path / "Pulumi.ci.yaml").write_text(
        "config:\n  eks-platform:kubernetesVersion: '1.34'\n  eks-platform:vpcCidr:\n    secure: AAAA\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "offline.upgrade_guard", "--stack", "ci", "--deployed", "1.33", "--project-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "moves from 1.33 to 1.34" in result.stdout


def test_the_running_clusters_version_is_the_one_to_step_from(fake_aws, capsys: pytest.CaptureFixture[str]) -> None:
    """With STANDARD support EKS upgrades a control plane itself when standard support ends (EKS User Guide,
    "Cluster upgrade policy"): the stack output then lags, and stepping from it would let a skip through."""
    log = fake_aws("1.33")
    assert main(["--stack", "dev", "--outputs-json", '{"kubernetesVersion": "1.34"}', "--ask-aws"]) == 1
    assert "would jump from 1.33 to 1.35" in capsys.readouterr().err
    (call,) = log.read_text().splitlines()
    assert call.startswith("eks describe-cluster --name eks-platform-dev --region eu-central-1")


def test_an_aws_error_other_than_no_cluster_is_bad_input_not_a_first_deployment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "aws"
    script.write_text("#!/bin/sh\necho 'An error occurred (AccessDeniedException)' >&2\nexit 254\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    assert main(["--stack", "dev", "--outputs-json", "{}", "--ask-aws"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "AccessDeniedException" in err


@pytest.mark.parametrize("outputs", ["not json", "[]"])
def test_outputs_that_are_not_pulumis_json_are_bad_input(outputs: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stack", "dev", "--outputs-json", outputs]) == 2
    assert "pulumi stack output --json" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------------------
# What counts as following the control plane


def with_managed_node_group(
    plan: dict[str, Any], *, version: str | None, launch_template: bool, cluster_name: str | None = None
) -> dict[str, Any]:
    """The plan plus a pulumi-eks ManagedNodeGroup of its cluster (the one named, where the plan has several; the
    program makes aws.eks.NodeGroup itself, so the shipped plans have none)."""
    cluster = one(plan, "eks:index:Cluster", cluster_name)
    inputs: dict[str, Any] = {"cluster": cluster["urn"], "nodeGroupName": "extra"}
    if version is not None:
        inputs["version"] = version
    if launch_template:
        inputs["launchTemplate"] = {"id": "lt-0123456789abcdef0", "version": "1"}
    group = {
        "urn": cluster["urn"].rsplit("::", 1)[0] + "$eks:index:ManagedNodeGroup::extra",
        "type": "eks:index:ManagedNodeGroup",
    }
    plan["resources"].append({**group, "name": "extra", "inputs": inputs})
    return plan


@pytest.mark.parametrize(("launch_template", "refused"), [(True, True), (False, False)])
def test_a_managed_node_group_follows_the_cluster_only_without_a_launch_template(launch_template: bool, refused: bool) -> None:
    """pulumi-eks nodejs/eks/nodes/nodegroup.ts defaults a ManagedNodeGroup's version to the cluster's only when no
    launch template is given; with one, EKS keeps the group where it is. Catches: a group with a launch template
    and no version taken to follow the control plane, so the bump passes and the group stays behind."""
    base = with_managed_node_group(with_versions(plan_copy(), "1.34"), version="1.34", launch_template=launch_template)
    head = with_managed_node_group(with_versions(plan_copy(), "1.35"), version=None, launch_template=launch_template)
    problems = [problem for problem in check_plans(base, head) if "node group extra" in problem]
    expected = ["node group extra sets no version, so it stays as it is while the control plane moves to 1.35"]
    assert [problem.split(" (")[0] for problem in problems] == (expected if refused else [])


@pytest.mark.parametrize(("enabled", "refused"), [(None, True), (True, True), (False, False)])
def test_kube_proxy_options_without_enabled_are_an_installed_add_on(enabled: bool | None, refused: bool) -> None:
    """pulumi-eks installs kube-proxy unless kubeProxyAddonOptions.enabled is false (nodejs/eks/cluster/cluster.ts:
    enabled defaults to true). Catches: options without an explicit `enabled` skipped, so a bump that leaves
    kube-proxy on the old minor's build passes. Near miss: enabled false (no add-on) has nothing to move."""
    base, head = with_versions(plan_copy(), "1.34"), with_versions(plan_copy(), "1.35")
    options = one(head, "eks:index:Cluster")["inputs"]["kubeProxyAddonOptions"]
    options["version"] = table_addon_version("kube-proxy", "1.34")
    options.pop("enabled", None)
    if enabled is not None:
        options["enabled"] = enabled
    problems = [problem for problem in check_plans(base, head) if "kube-proxy" in problem]
    assert len(problems) == (1 if refused else 0)
    if refused:
        assert problems[0].startswith(f"add-on kube-proxy (cluster-eks) is at {table_addon_version('kube-proxy', '1.34')}")


def test_a_version_known_only_after_deployment_follows_the_control_plane() -> None:
    """A node group whose version is the cluster's output ("[unknown]" in the plan) moves with the cluster.
    Catches: such a version counted as unset, which refuses a valid upgrade. Near miss: no version at all on an
    aws.eks.NodeGroup stays where it is (terraform-provider-aws eks/node_group.go: optional and computed)."""
    base, head = with_versions(plan_copy(), "1.34"), with_versions(plan_copy(), "1.35")
    group = node_groups(head)[0]
    group["inputs"]["version"] = UNKNOWN
    assert [problem for problem in check_plans(base, head) if "node group" in problem] == []
    group["inputs"].pop("version")
    assert [problem for problem in check_plans(base, head) if "node group" in problem] != []


def two_clusters(first: str, second: str) -> dict[str, Any]:
    """Two copies of the dev stack's cluster, node group and add-ons in one plan, each tied to its cluster by name
    (clusterName) or URN: the first at `first`, the second at `second` (every version input of each)."""
    plan = with_versions(plan_copy(), first)
    other = with_versions(plan_copy(), second)
    for resource in other["resources"]:
        resource["urn"] += "-b"
        resource["name"] += "-b"
        inputs = resource["inputs"]
        for key in ("name", "clusterName"):
            if inputs.get(key) == "eks-platform-dev":
                inputs[key] = "eks-platform-dev-b"
    plan["resources"] += other["resources"]
    return plan


def test_each_node_group_and_add_on_moves_with_its_own_cluster() -> None:
    """A plan with two clusters (a blue/green migration in one stack): node groups and add-ons belong to the cluster
    whose name they carry. Catches: every member judged against the first cluster (or against each cluster), so
    moving one cluster flags the other's groups, or the second cluster's rules are never checked."""
    base, head = two_clusters("1.34", "1.34"), two_clusters("1.35", "1.34")
    assert check_plans(base, head) == []
    behind = two_clusters("1.35", "1.34")
    one(behind, "aws:eks/nodeGroup:NodeGroup", "nodes-system-group")["inputs"]["version"] = "1.34"
    assert [p.split(":")[0] for p in check_plans(base, behind)] == [
        "node group nodes-system-group is on 1.34 while the control plane moves to 1.35"
    ]
    second_moves = two_clusters("1.34", "1.35")
    one(second_moves, "aws:eks/nodeGroup:NodeGroup", "nodes-system-group-b")["inputs"]["version"] = "1.34"
    problems = check_plans(base, second_moves)
    assert [p.split(":")[0] for p in problems] == [
        "node group nodes-system-group-b is on 1.34 while the control plane moves to 1.35"
    ]


def test_a_member_without_a_version_is_told_which_rule_it_breaks() -> None:
    """The line cites the rule for its kind: nodes must match the control plane before its next upgrade
    (UpdateClusterVersion), an add-on is not updated with the cluster (updating-an-add-on). Catches: one source
    for both, or none."""
    base, head = with_versions(plan_copy(), "1.34"), with_versions(plan_copy(), "1.35")
    node_groups(head)[0]["inputs"].pop("version")
    one(head, "aws:eks/addon:Addon", "addons-coredns")["inputs"].pop("addonVersion")
    problems = sorted(check_plans(base, head))
    assert problems == [
        "add-on coredns (addons-coredns) sets no version, so it stays as it is while the control plane moves to 1.35 "
        "(https://docs.aws.amazon.com/eks/latest/userguide/updating-an-add-on.html)",
        "node group nodes-system-group sets no version, so it stays as it is while the control plane moves to 1.35 "
        "(https://docs.aws.amazon.com/eks/latest/APIReference/API_UpdateClusterVersion.html)",
    ]


def test_a_skip_names_the_minor_to_go_to_first() -> None:
    """Catches: a refusal pointing at the wrong next step (1.35 after 1.33, or 33.34)."""
    assert check_step("1.33", "1.35", "cluster c") == (
        "cluster c would jump from 1.33 to 1.35: EKS upgrades one minor version at a time, so go to 1.34 first "
        "(https://docs.aws.amazon.com/eks/latest/eksctl/cluster-upgrade.html)"
    )


@pytest.mark.parametrize(("old", "new"), [("1.3x", "1.35"), ("1.34", "v1.35")])
def test_a_malformed_version_names_where_it_is(old: str, new: str) -> None:
    """Catches: a message that does not say which version (deployed or configured) is malformed."""
    with pytest.raises(BadVersion) as caught:
        check_step(old, new, "cluster c")
    bad = old if old == "1.3x" else new
    assert str(caught.value) == f"cluster c version {bad!r} is not a Kubernetes version such as 1.35"


def test_a_malformed_node_version_names_the_node_group() -> None:
    plan = with_versions(plan_copy(), "1.34")
    head = with_versions(plan_copy(), "1.34")
    node_groups(head)[0]["inputs"]["version"] = "latest"
    with pytest.raises(BadVersion) as caught:
        check_plans(plan, head)
    assert str(caught.value) == "node group nodes-system-group 'latest' is not a Kubernetes version such as 1.35"


def test_an_unknown_add_on_kept_names_both_minors() -> None:
    base, head = with_versions(plan_copy(), "1.34"), with_versions(plan_copy(), "1.35")
    for plan in (base, head):
        one(plan, "aws:eks/addon:Addon", "addons-coredns")["inputs"].update(addonName="adot", addonVersion="v0.9.0")
    (problem,) = check_plans(base, head)
    assert "stays at v0.9.0 while the control plane moves from 1.34 to 1.35" in problem


def test_the_second_clusters_own_add_on_options_are_checked() -> None:
    """kube-proxy's options live on the cluster component itself: they belong to that cluster, whichever it is.
    Catches: options tied to clusters by a name they do not carry, so the second cluster's kube-proxy goes unchecked."""
    base, head = two_clusters("1.34", "1.34"), two_clusters("1.34", "1.35")
    options = one(head, "eks:index:Cluster", "cluster-eks-b")["inputs"]["kubeProxyAddonOptions"]
    options["version"] = table_addon_version("kube-proxy", "1.34")
    assert [p.split(" is at ")[0] for p in check_plans(base, head)] == ["add-on kube-proxy (cluster-eks-b)"]


def test_a_member_whose_cluster_is_not_known_is_not_pinned_on_another_cluster() -> None:
    """A node group whose clusterName is only known after deployment belongs to the stack's cluster when there is
    one; with two, it is not guessed. Catches: it taken for the first cluster's, refused for that cluster's move."""
    base, head = two_clusters("1.34", "1.34"), two_clusters("1.35", "1.34")
    for plan in (base, head):
        one(plan, "aws:eks/nodeGroup:NodeGroup", "nodes-system-group-b")["inputs"]["clusterName"] = UNKNOWN
    assert check_plans(base, head) == []


def test_with_one_cluster_a_member_whose_cluster_name_is_unknown_is_still_judged() -> None:
    """The stack's only cluster is the one its node group belongs to, even when the group's clusterName is known only
    after deployment. Catches: such a group never judged, so it may stay behind unnoticed."""
    base, head = with_versions(plan_copy(), "1.34"), with_versions(plan_copy(), "1.35", nodes="1.34")
    for plan in (base, head):
        node_groups(plan)[0]["inputs"]["clusterName"] = UNKNOWN
    assert [p.split(":")[0] for p in check_plans(base, head)] == [
        "node group nodes-system-group is on 1.34 while the control plane moves to 1.35"
    ]


def test_a_managed_node_group_belongs_to_the_cluster_its_cluster_input_names() -> None:
    """pulumi-eks' ManagedNodeGroup takes the cluster itself (`cluster`), not its name. Catches: that input ignored,
    so in a two-cluster plan the group is judged against no cluster."""
    base = with_managed_node_group(
        two_clusters("1.34", "1.34"), version="1.34", launch_template=True, cluster_name="cluster-eks-b"
    )
    head = with_managed_node_group(
        two_clusters("1.34", "1.35"), version="1.34", launch_template=True, cluster_name="cluster-eks-b"
    )
    assert [p.split(":")[0] for p in check_plans(base, head)] == [
        "node group extra is on 1.34 while the control plane moves to 1.35"
    ]


@pytest.mark.parametrize("first", ["refused", "unknown"])
def test_every_cluster_is_checked_whatever_the_first_one_does(first: str) -> None:
    """Catches: the check stopping at the first cluster that is refused, or whose version is known only after
    deployment, so the second cluster's members go unchecked."""
    base, head = two_clusters("1.33", "1.34"), two_clusters("1.35" if first == "refused" else "1.33", "1.35")
    if first == "unknown":
        one(head, "eks:index:Cluster", "cluster-eks")["inputs"]["version"] = UNKNOWN
    one(head, "aws:eks/nodeGroup:NodeGroup", "nodes-system-group-b")["inputs"]["version"] = "1.34"
    problems = check_plans(base, head)
    assert any(p.startswith("node group nodes-system-group-b is on 1.34") for p in problems), problems


def test_a_malformed_control_plane_version_names_the_cluster() -> None:
    plan = with_versions(plan_copy(), "1.34")
    one(plan, "eks:index:Cluster")["inputs"]["version"] = "latest"
    with pytest.raises(BadVersion) as caught:
        check_plans(plan, plan)
    assert str(caught.value) == "cluster cluster-eks 'latest' is not a Kubernetes version such as 1.35"
