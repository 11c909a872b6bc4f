"""Upgrade rules: the control plane moves up one minor at a time and never down; nodes and add-ons move with it.

Sources: one minor at a time, https://docs.aws.amazon.com/eks/latest/eksctl/cluster-upgrade.html; no downgrade,
https://docs.aws.amazon.com/eks/latest/userguide/update-cluster.html; node groups must match the control plane
before its next upgrade, https://docs.aws.amazon.com/eks/latest/APIReference/API_UpdateClusterVersion.html; EKS does
not update an add-on when the cluster moves, https://docs.aws.amazon.com/eks/latest/userguide/updating-an-add-on.html.

The plans here are the shipped dev plan with version inputs written in (tests/offline/edits.py), standing in for the
program's own version inputs; test_diff.py checks the same rules on real git history.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from offline.plan_diff import diff_plans
from offline.upgrade_guard import check_plans, main
from tests.offline.edits import one, plan_copy, resources, version_paths, with_versions

ROOT = Path(__file__).resolve().parents[2]
NODE_GROUP_TYPES = ("eks:index:ManagedNodeGroup", "aws:eks/nodeGroup:NodeGroup")


def node_groups(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [resource for kind in NODE_GROUP_TYPES for resource in resources(plan, kind)]


def test_a_one_minor_bump_moves_control_plane_nodes_and_every_add_on_together() -> None:
    base = with_versions(plan_copy(), "1.34", "eksbuild.134")
    head = with_versions(plan_copy(), "1.35", "eksbuild.135")
    assert check_plans(base, head) == []
    changed = {(resource.name, change.path) for resource in diff_plans(base, head).resources for change in resource.changes}
    carried = version_paths(head)
    assert changed == carried
    # Control plane, node group, vpc-cni and kube-proxy (cluster options), and the three EKS add-ons.
    assert {path for _, path in carried} >= {
        "version",
        "vpcCniOptions.addonVersion",
        "kubeProxyAddonOptions.version",
        "addonVersion",
    }
    assert len([name for name, path in carried if path == "addonVersion"]) == len(resources(head, "aws:eks/addon:Addon"))


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("1.33", "1.35", "would jump from 1.33 to 1.35"),
        ("1.35", "1.34", "would go down from 1.35 to 1.34"),
        ("1.35", "2.0", "jump"),
    ],
)
def test_skips_and_downgrades_are_refused(old: str, new: str, words: str) -> None:
    problems = check_plans(with_versions(plan_copy(), old, "a"), with_versions(plan_copy(), new, "b"))
    assert len(problems) == 1 and words in problems[0] and problems[0].startswith("cluster cluster-eks")


def test_nodes_left_behind_are_refused() -> None:
    """Catches: bumping kubernetesVersion while the node group keeps its old version."""
    problems = check_plans(with_versions(plan_copy(), "1.34", "a"), with_versions(plan_copy(), "1.35", "b", nodes="1.34"))
    assert len(problems) == len(node_groups(plan_copy())) and "is on 1.34 while the control plane moves to 1.35" in problems[0]


def test_an_add_on_left_at_its_version_is_refused() -> None:
    """Catches: the per-minor add-on table not updated with the Kubernetes version."""
    base = with_versions(plan_copy(), "1.34", "same")
    head = with_versions(plan_copy(), "1.35", "same")
    problems = check_plans(base, head)
    assert any("add-on coredns (addons-coredns) stays at v1.0.0-same" in problem for problem in problems)
    assert any("add-on vpc-cni" in problem for problem in problems)


def test_unpinned_add_ons_and_launch_template_nodes_do_not_follow_the_control_plane() -> None:
    """A bump of the cluster's version alone: EKS leaves unpinned add-ons as they are; pulumi-eks sets a node group's
    version from the cluster only without a launch template (nodejs/eks/nodes/nodegroup.ts), and Terraform keeps an
    unset aws_eks_node_group version. Catches: this very program before it pinned versions."""
    base, head = plan_copy(), plan_copy()
    for plan, version in ((base, "1.34"), (head, "1.35")):
        one(plan, "eks:index:Cluster")["inputs"]["version"] = version
    for plan in (base, head):
        for group in node_groups(plan):
            group["inputs"].pop("version", None)
        for addon in resources(plan, "aws:eks/addon:Addon"):
            addon["inputs"].pop("addonVersion", None)
    problems = check_plans(base, head)
    assert any(problem.startswith("add-on coredns (addons-coredns) sets no version") for problem in problems)
    assert any(problem.startswith("node group") and "sets no version" in problem for problem in problems)
    # Cluster add-on options without a version follow the cluster (pulumi-eks resolves one per Kubernetes version).
    assert not any("vpc-cni" in problem or "kube-proxy" in problem for problem in problems)


def test_a_node_group_without_launch_template_or_version_follows_the_cluster() -> None:
    """pulumi-eks nodegroup.ts: "default the version to the cluster version if not provided" (no launch template)."""
    base = with_versions(plan_copy(), "1.34", "a")
    head = with_versions(plan_copy(), "1.35", "b")
    groups = resources(head, "eks:index:ManagedNodeGroup")
    if not groups:
        pytest.skip("the program builds aws.eks.NodeGroup: Terraform keeps an unset version where it is")
    groups[0]["inputs"].pop("version")
    groups[0]["inputs"].pop("launchTemplate")
    assert check_plans(base, head) == []


def test_nodes_newer_than_their_control_plane_are_refused() -> None:
    """Kubernetes version skew policy: a kubelet may not be newer than kube-apiserver."""
    plan = with_versions(plan_copy(), "1.34", "a")
    head = with_versions(plan_copy(), "1.34", "a", nodes="1.35")
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
