"""`make diff` on real git history: a temporary repository with the project's files, committed, changed, committed.

Each diff builds the plans of two trees (base in a temporary work tree, head the repository's working tree) in two
processes, so these tests are the slow ones; most compare only the dev stack.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.change.upgrade_rules import table_addon_version
from offline.diff import resolve_base
from tests.conftest import FROZEN_STACKS, frozen_plan

ROOT = Path(__file__).resolve().parents[2]
PROJECT_FILES = ("Pulumi.yaml", "__main__.py", "settings.py", ".gitignore")
# The tests' own stacks (frozen copies of the shipped ones), not the user's.
STACK_FILES = ("Pulumi.dev.yaml", "Pulumi.prod.yaml")
PROJECT_DIRS = ("components", "offline", "policies")
ADMIN_ARN = "arn:aws:iam::123456789012:role/platform-admin"
BARE_RESOURCE = {"urn": "u", "type": "t", "name": "n", "inputs": {}, "provider": None}


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def set_config(repo: Path, stack: str, **values: Any) -> None:
    """Add or replace `eks-platform:<key>` values in Pulumi.<stack>.yaml, as `pulumi config set --path` would."""
    path = repo / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(path.read_text())
    document["config"].update({f"eks-platform:{key}": value for key, value in values.items()})
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def dev_pools(**system: Any) -> dict[str, Any]:
    pools: dict[str, Any] = yaml.safe_load((FROZEN_STACKS / "Pulumi.dev.yaml").read_text())["config"]["eks-platform:nodeGroups"]
    pools["system"].update(system)
    return pools


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The project's program, stack files and offline toolkit in a fresh repository, one commit on main."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in PROJECT_FILES:
        shutil.copy2(ROOT / name, repo / name)
    for name in STACK_FILES:
        shutil.copy2(FROZEN_STACKS / name, repo / name)
    for name in PROJECT_DIRS:
        shutil.copytree(ROOT / name, repo / name, ignore=shutil.ignore_patterns("__pycache__", "venv"))
    git(repo, "init", "-q", "-b", "main")
    commit(repo, "base")
    return repo


def diff(repo: Path, *args: str, out: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "offline.diff", "--project-dir", str(repo), *args]
    if out is not None:
        command += ["--out", str(out)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=110, check=False)


def report(out: Path, stack: str = "dev") -> dict[str, Any]:
    document = json.loads((out / "diff.json").read_text())
    return next(entry for entry in document["stacks"] if entry["stack"] == stack)


def changed_paths(stack: dict[str, Any]) -> set[tuple[str, str]]:
    return {(resource["name"], change["path"]) for resource in stack["resources"] for change in resource["changes"]}


def test_identical_trees_print_no_changes_and_leave_no_trace(repo: Path, tmp_path: Path) -> None:
    status = git(repo, "status", "--porcelain")
    result = diff(repo, "--base", "main", out=tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert "dev: no changes" in result.stdout and "prod: no changes" in result.stdout
    # The base work tree is gone again, and the working tree is as it was.
    assert len(git(repo, "worktree", "list").splitlines()) == 1
    assert git(repo, "status", "--porcelain") == status
    assert "No changes." in (tmp_path / "out" / "diff.md").read_text()


def test_node_sizes_show_exactly_those_paths_and_an_admin_arn_one_added_resource(repo: Path, tmp_path: Path) -> None:
    """Node sizes committed, the admin ARN left uncommitted: the working tree is compared as it is."""
    set_config(repo, "dev", nodeGroups=dev_pools(minSize=2, maxSize=4))
    commit(repo, "bigger dev node group")
    set_config(repo, "dev", clusterAdminArns=[ADMIN_ARN])
    result = diff(repo, "--base", "HEAD~1", "--stack", "dev", out=tmp_path / "out")
    assert result.returncode == 0, result.stderr
    dev = report(tmp_path / "out")
    updated = [r for r in dev["resources"] if r["step"] == "update"]
    assert {change["path"] for r in updated for change in r["changes"]} == {"scalingConfig.minSize", "scalingConfig.maxSize"}
    assert all(r["type"] in ("eks:index:ManagedNodeGroup", "aws:eks/nodeGroup:NodeGroup") and not r["danger"] for r in updated)
    assert "~ scalingConfig.maxSize: 3 => 4" in result.stdout
    created = [(r["type"], r["step"]) for r in dev["resources"] if r not in updated]
    assert created == [("aws:eks/accessEntry:AccessEntry", "create")]
    assert dev["summary"]["create"] == 1


# Where each add-on's version lives in the plan (resource name, input path).
ADDON_INPUTS = {
    "vpc-cni": ("cluster-eks", "vpcCniOptions.addonVersion"),
    "kube-proxy": ("cluster-eks", "kubeProxyAddonOptions.version"),
    "coredns": ("addons-coredns", "addonVersion"),
    "aws-ebs-csi-driver": ("addons-ebs-csi-driver", "addonVersion"),
    "eks-pod-identity-agent": ("addons-pod-identity-agent", "addonVersion"),
}


def test_a_one_minor_bump_moves_control_plane_nodes_and_every_add_on_together(repo: Path, tmp_path: Path) -> None:
    """Every add-on whose build differs between the minors in components/shared/versions.py moves (the table keeps one
    vpc-cni and one EBS CSI build for several minors: those rightly stay)."""
    set_config(repo, "dev", kubernetesVersion="1.34")
    commit(repo, "dev on 1.34")
    set_config(repo, "dev", kubernetesVersion="1.35")
    commit(repo, "dev to 1.35")
    result = diff(repo, "--base", "HEAD~1", "--stack", "dev", out=tmp_path / "out")
    assert result.returncode == 0, result.stderr
    dev = report(tmp_path / "out")
    paths = changed_paths(dev)
    assert ("cluster-eks", "version") in paths
    node_groups = [
        r["name"] for r in dev["resources"] if r["type"] in ("eks:index:ManagedNodeGroup", "aws:eks/nodeGroup:NodeGroup")
    ]
    assert node_groups and all((name, "version") in paths for name in node_groups)
    for addon, place in ADDON_INPUTS.items():
        assert (place in paths) == (table_addon_version(addon, "1.34") != table_addon_version(addon, "1.35")), addon
    assert ("cluster-eks", "kubeProxyAddonOptions.version") in paths and ("addons-coredns", "addonVersion") in paths


@pytest.mark.parametrize(
    ("old", "new", "words"), [("1.33", "1.35", "would jump from 1.33 to 1.35"), ("1.35", "1.34", "would go down")]
)
def test_a_two_minor_bump_or_a_downgrade_is_refused_in_one_line(repo: Path, old: str, new: str, words: str) -> None:
    set_config(repo, "dev", kubernetesVersion=old)
    commit(repo, f"dev on {old}")
    set_config(repo, "dev", kubernetesVersion=new)
    commit(repo, f"dev to {new}")
    result = diff(repo, "--base", "HEAD~1", "--stack", "dev")
    assert result.returncode == 1
    assert (
        result.stderr.count("\n") == 1 and result.stderr.startswith("diff: upgrade refused for dev:") and words in result.stderr
    )
    assert "UPGRADE REFUSED" in result.stdout


def test_an_unknown_ref_is_one_line_exit_2_and_writes_nothing(repo: Path, tmp_path: Path) -> None:
    result = diff(repo, "--base", "no-such-branch", out=tmp_path / "out")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"diff: unknown git ref 'no-such-branch' (BASE): not a branch, tag or commit of {repo}\n"
    assert not (tmp_path / "out").exists()


def test_a_stack_missing_on_one_side_is_one_line_exit_2(repo: Path, tmp_path: Path) -> None:
    (repo / "Pulumi.prod.yaml").unlink()
    result = diff(repo, "--base", "main", out=tmp_path / "out")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.count("\n") == 1 and "stack prod has no Pulumi.prod.yaml in working tree" in result.stderr
    assert not (tmp_path / "out").exists()
    assert len(git(repo, "worktree", "list").splitlines()) == 1


def test_a_base_that_fails_offline_is_one_line_exit_2(repo: Path) -> None:
    set_config(repo, "dev", nodeGroups=dev_pools(maxSize=0))
    commit(repo, "broken")
    (repo / "Pulumi.dev.yaml").write_text((ROOT / "Pulumi.dev.yaml").read_text())
    result = diff(repo, "--base", "HEAD", "--stack", "dev")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("diff: HEAD (") and "eks-platform:nodeGroups.system" in result.stderr


def test_each_tree_is_built_by_its_own_plan_builder(repo: Path) -> None:
    """A base from before a layout change only builds with its own offline/plan_build.py (it imports that tree's
    modules); this checkout's builder would import modules the base does not have."""
    builder = repo / "offline" / "plan_build.py"
    builder.write_text('import sys\nsys.exit("built by the base tree\'s own builder")\n')
    commit(repo, "a base with a builder of its own")
    git(repo, "checkout", "-q", "HEAD~1", "--", "offline/plan_build.py")
    result = diff(repo, "--base", "HEAD", "--stack", "dev")
    assert result.returncode == 2, result.stderr
    assert (
        result.stderr
        == "diff: HEAD (" + git(repo, "rev-parse", "--short=7", "HEAD").strip() + "): built by the base tree's own builder\n"
    )


def test_a_base_without_a_plan_builder_is_one_line_exit_2(repo: Path) -> None:
    git(repo, "rm", "-q", "offline/plan_build.py")
    commit(repo, "before make diff existed")
    git(repo, "checkout", "-q", "HEAD~1", "--", "offline/plan_build.py")
    result = diff(repo, "--base", "HEAD", "--stack", "dev")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "has no offline/plan_build.py" in result.stderr


def test_the_report_uses_the_compared_trees_policy_levels(repo: Path, tmp_path: Path) -> None:
    """The verdicts come from the working tree's stack files and policy config, not this checkout's (--project-dir)."""
    (repo / "policies" / "config" / "dev.json").write_text('{"eks-public-endpoint-restricted": "disabled"}')
    set_config(repo, "dev", publicAccessCidrs=["0.0.0.0/0"])
    result = diff(repo, "--base", "main", "--stack", "dev", out=tmp_path / "out")
    assert result.returncode == 0, result.stderr
    policy = report(tmp_path / "out")["policy"]
    assert policy["mandatory"] == 0 and "eks-public-endpoint-restricted" not in {v["policy"] for v in policy["violations"]}


def test_not_a_repository_points_to_plan_files(tmp_path: Path) -> None:
    result = diff(tmp_path, "--base", "main")
    assert result.returncode == 2 and "--plans OLD NEW" in result.stderr


def write(path: Path, content: Any) -> Path:
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_two_plan_files(tmp_path: Path) -> None:
    plan = frozen_plan("dev").plan
    old, new = write(tmp_path / "old.json", plan), write(tmp_path / "new.json", plan)
    result = diff(tmp_path, "--plans", str(old), str(new), out=tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert "dev: no changes" in result.stdout and (tmp_path / "out" / "diff.json").exists()


def test_a_change_aws_cannot_make_exits_1_naming_it(tmp_path: Path) -> None:
    """A subnet moved onto a block another one still holds: refused like an upgrade, exit 1 with one line on stderr.
    Catches: a refusal printed in the diff while CI goes green."""
    plan = frozen_plan("dev").plan
    moved = json.loads(json.dumps(plan))
    subnets = [r for r in moved["resources"] if r["type"] == "aws:ec2/subnet:Subnet"]
    subnets[1]["inputs"]["cidrBlock"] = subnets[0]["inputs"]["cidrBlock"]
    result = diff(tmp_path, "--plans", str(write(tmp_path / "old.json", plan)), str(write(tmp_path / "new.json", moved)))
    assert result.returncode == 1
    assert result.stderr.startswith("diff: change refused for dev: ") and result.stderr.count("\n") == 1
    assert "InvalidSubnet.Conflict" in result.stderr


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "is not JSON"),
        ({"resources": [{"urn": "x"}]}, "has no 'type'"),
        ({"stack": "prod", "resources": []}, "different stacks"),
        (
            {"stack": "dev", "resources": [{**BARE_RESOURCE, "ignoreChanges": ["a."]}]},
            "ignoreChanges of u: 'a.' is no property path",
        ),
    ],
)
def test_a_malformed_plan_file_is_one_line_exit_2_and_writes_nothing(tmp_path: Path, content: Any, words: str) -> None:
    good = write(tmp_path / "good.json", {"stack": "dev", "resources": []})
    bad = write(tmp_path / "bad.json", content)
    result = diff(tmp_path, "--plans", str(good), str(bad), out=tmp_path / "out")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.count("\n") == 1 and words in result.stderr
    assert not (tmp_path / "out").exists()


def test_an_unwritable_output_directory_is_one_line_exit_2(tmp_path: Path) -> None:
    plan = write(tmp_path / "plan.json", frozen_plan("dev").plan)
    blocker = write(tmp_path / "not-a-directory", "x")
    result = diff(tmp_path, "--plans", str(plan), str(plan), out=blocker)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith(f"diff: cannot write the diff into {blocker}") and result.stderr.count("\n") == 1


def test_a_warning_is_reported_but_does_not_fail_the_diff(tmp_path: Path) -> None:
    """A node group minimum raised while desiredSize is ignored may be refused by EKS (offline/change/plan_diff.py,
    terraform-aws-modules/terraform-aws-eks#2508): the warning reaches the terminal, diff.json and diff.md, and the
    exit code stays 0 (the change itself is valid). Catches: a warning lost on the way to the pull request."""
    plan = frozen_plan("dev").plan
    head = json.loads(json.dumps(plan))
    node_group = next(r for r in head["resources"] if r["type"] == "aws:eks/nodeGroup:NodeGroup")
    node_group["inputs"]["scalingConfig"]["minSize"] = 2
    old, new = write(tmp_path / "old.json", plan), write(tmp_path / "new.json", head)
    result = diff(tmp_path, "--plans", str(old), str(new), out=tmp_path / "out")
    assert (result.returncode, result.stderr) == (0, "")
    assert "WARNING: minSize rises to 2" in result.stdout
    (warning,) = next(r for r in report(tmp_path / "out")["resources"] if r["name"] == node_group["name"])["warnings"]
    assert "desiredSize=2" in warning and "**Warnings**" in (tmp_path / "out" / "diff.md").read_text()


def tiny_repo(path: Path) -> Path:
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "file").write_text("one\n")
    commit(path, "one")
    return path


def test_without_base_a_clone_compares_with_origin_main_not_a_local_main_that_lags(tmp_path: Path) -> None:
    """A clone whose local main was never pulled: origin/main is what is merged. Catches: the diff taken against the
    stale local main, showing as this change what others already merged. Near misses: no remote, then main; an
    explicit BASE wins over both."""
    upstream = tiny_repo(tmp_path / "upstream")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(upstream), str(clone))
    (upstream / "file").write_text("two\n")
    commit(upstream, "two, merged after the clone")
    git(clone, "fetch", "-q")
    merged = git(upstream, "rev-parse", "HEAD").strip()
    assert git(clone, "rev-parse", "main").strip() != merged
    assert resolve_base(clone, None) == ("origin/main", merged)
    assert resolve_base(upstream, None) == ("main", merged)
    first = git(clone, "rev-parse", "main").strip()
    assert resolve_base(clone, "main") == ("main", first)
