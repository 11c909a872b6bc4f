"""`make diff`: what a change would do to each stack, from the offline plans of two states.

    python -m offline.diff [--base REF] [--stack S ...] [--out DIR]
    python -m offline.diff --plans OLD.json NEW.json [--out DIR]

By default the base is `origin/main` when the repository has it, else `main`. The base commit is checked out into a
temporary work tree (`git worktree add --detach` in a temporary directory, removed afterwards; the checkout you work
in is never touched) and compared with the working tree as it is, uncommitted changes included. Each tree's plans
are built in a process of their own by that tree's own offline toolkit (offline/plan_build.py), both trees at once.
Stacks: every Pulumi.<stack>.yaml, or those given; each must exist on both sides. With --plans, two plan.json files
of the same stack are compared instead.

Prints the diff per stack; --out DIR also writes DIR/diff.json and DIR/diff.md (with the policy verdicts of the new
plans and the monthly cost change, for a pull request), only once everything succeeded.
Exit codes: 0 diffed (changes and dangers are reported, not failures), 1 an upgrade rule is broken (one line per
stack on stderr), 2 bad input: unknown ref, malformed plan, stack missing on one side (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from offline.analyses.cost import CostInputError, estimate, stack_assumptions
from offline.analyses.policy import PolicyInputError, evaluate, load_pack_config
from offline.analyses.prices import PriceError, load_prices
from offline.change.plan_diff import BadPlan, StackDiff, diff_plans, render_text
from offline.change.pr_report import StackReport, cost_delta, render_markdown
from offline.change.upgrade_rules import BadVersion
from offline.plan.plan_file import PlanFileError, read_plan
from offline.plan.query import PlanQuery
from offline.plan.stack_files import PROJECT_DIR, available_stacks

# Inside each tree: its own plan builder, whichever layout its toolkit has (this path and its arguments never move).
PLAN_BUILD: Final = Path("offline") / "plan_build.py"
DEFAULT_BASES: Final = ("origin/main", "main")
WORKING_TREE: Final = "working tree"


class DiffInputError(Exception):
    """Bad input: the message is one line naming what is wrong."""


@dataclass(frozen=True)
class Sides:
    """The two states compared: labels for people, each stack's plan on both sides, and the project whose stack files
    and policy config the new plans are checked with."""

    base_label: str
    head_label: str
    base_commit: str
    plans: dict[str, tuple[dict[str, Any], dict[str, Any]]]
    head_dir: Path


# ---------------------------------------------------------------------------------------------------------------
# git


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # No hooks: checking out the base must not run anything the repository's hooks would.
    return subprocess.run(
        ["git", "-c", "core.hooksPath=/dev/null", "-C", str(repo), *args], capture_output=True, text=True, check=False
    )


def _repository(project_dir: Path) -> tuple[Path, str]:
    """The repository's top directory, and the project's path inside it."""
    top = _git(project_dir, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise DiffInputError(f"{project_dir} is not in a git repository; compare two plans with --plans OLD NEW instead")
    prefix = _git(project_dir, "rev-parse", "--show-prefix").stdout.strip()
    return Path(top.stdout.strip()), prefix


def resolve_base(repo: Path, ref: str | None) -> tuple[str, str]:
    """(ref as given or defaulted, commit) for the base."""
    candidates = (ref,) if ref else DEFAULT_BASES
    for candidate in candidates:
        found = _git(repo, "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}")
        if found.returncode == 0:
            return candidate, found.stdout.strip()
    if ref:
        raise DiffInputError(f"unknown git ref {ref!r} (BASE): not a branch, tag or commit of {repo}")
    raise DiffInputError(f"no base to compare with: neither {' nor '.join(DEFAULT_BASES)} exists in {repo}; set BASE=<git ref>")


@contextmanager
def base_tree(repo: Path, commit: str) -> Iterator[Path]:
    """The commit checked out in a temporary work tree, removed again whatever happens."""
    scratch = Path(tempfile.mkdtemp(prefix="offline-diff-"))
    tree = scratch / "base"
    try:
        added = _git(repo, "worktree", "add", "--detach", "--quiet", str(tree), commit)
        if added.returncode != 0:
            raise DiffInputError(f"cannot check out {commit[:12]} into a temporary work tree: {_last_line(added.stderr)}")
        yield tree
    finally:
        removed = _git(repo, "worktree", "remove", "--force", str(tree)).returncode == 0
        shutil.rmtree(scratch, ignore_errors=True)
        if not removed:
            # Forget a work tree that could not be removed cleanly (its directory is gone now).
            _git(repo, "worktree", "prune")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


# ---------------------------------------------------------------------------------------------------------------
# Building the plans of both trees at once


def _start_build(project_dir: Path, stacks: list[str], out: Path) -> subprocess.Popen[str]:
    # Each tree is built by its own offline toolkit: a base older or newer than this checkout runs as it would there.
    command = [sys.executable, str(project_dir / PLAN_BUILD), "--project-dir", str(project_dir), "--out", str(out)]
    for stack in stacks:
        command += ["--stack", stack]
    return subprocess.Popen(command, cwd=project_dir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def build_both(trees: Mapping[str, Path], stacks: list[str], scratch: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """{label: {stack: plan}} for each labelled tree, the trees built in parallel processes."""
    for label, tree in trees.items():
        if not (tree / PLAN_BUILD).is_file():
            raise DiffInputError(f"{label}: has no {PLAN_BUILD}, so its plans cannot be built (older than `make diff`)")
    started = {
        label: (_start_build(tree, stacks, scratch / str(index)), scratch / str(index))
        for index, (label, tree) in enumerate(trees.items())
    }
    try:
        for label, (process, _) in started.items():
            _, stderr = process.communicate()
            if process.returncode != 0:
                raise DiffInputError(f"{label}: {_last_line(stderr)}")
    finally:
        # After a failure (or an interruption) there is no use in the other tree's plans.
        for process, _ in started.values():
            if process.returncode is None:
                process.kill()
                process.communicate()
    return {
        label: {stack: json.loads((out / f"{stack}.json").read_text()) for stack in stacks} for label, (_, out) in started.items()
    }


def _stacks(requested: list[str] | None, base_dir: Path, head_dir: Path, base_label: str) -> list[str]:
    base_stacks, head_stacks = set(available_stacks(base_dir)), set(available_stacks(head_dir))
    stacks = requested or sorted(base_stacks | head_stacks)
    for stack in stacks:
        for stacks_there, where in ((base_stacks, base_label), (head_stacks, WORKING_TREE)):
            if stack not in stacks_there:
                known = ", ".join(sorted(stacks_there)) or "none"
                raise DiffInputError(
                    f"stack {stack} has no Pulumi.{stack}.yaml in {where} (stacks there: {known}); "
                    "choose stacks present on both sides"
                )
    return stacks


def from_git(project_dir: Path, ref: str | None, requested: list[str] | None) -> Sides:
    repo, prefix = _repository(project_dir)
    ref, commit = resolve_base(repo, ref)
    base_label = f"{ref} ({commit[:7]})"
    with base_tree(repo, commit) as tree, tempfile.TemporaryDirectory(prefix="offline-diff-plans-") as scratch:
        base_dir = tree / prefix
        stacks = _stacks(requested, base_dir, project_dir, base_label)
        built = build_both({base_label: base_dir, WORKING_TREE: project_dir}, stacks, Path(scratch))
    plans = {stack: (built[base_label][stack], built[WORKING_TREE][stack]) for stack in stacks}
    return Sides(base_label, WORKING_TREE, commit, plans, project_dir)


def from_files(old_path: Path, new_path: Path) -> Sides:
    try:
        old, new = read_plan(old_path), read_plan(new_path)
    except PlanFileError as error:
        raise DiffInputError(str(error)) from None
    old_stack, new_stack = old.get("stack"), new.get("stack")
    if old_stack != new_stack or not isinstance(new_stack, str):
        raise DiffInputError(f"the plans are of different stacks: {old_stack!r} in {old_path}, {new_stack!r} in {new_path}")
    # Plan files name no tree: their stack is checked with this checkout's files.
    return Sides(str(old_path), str(new_path), "", {new_stack: (old, new)}, PROJECT_DIR)


# ---------------------------------------------------------------------------------------------------------------
# The pull-request report: the new plan's policy verdicts and the cost change, from the analyses


def cost_change(old: PlanQuery, new: PlanQuery, project_dir: Path = PROJECT_DIR) -> str | None:
    """Both plans priced with this checkout's price file and the stack's usage assumptions (its file in
    `project_dir`); None when the stack cannot be estimated (no prices for its region, no config)."""
    try:
        prices = load_prices()
        assumptions = stack_assumptions(new.stack, project_dir)
        return cost_delta(estimate(old, prices, assumptions), estimate(new, prices, assumptions))
    except (CostInputError, PriceError):
        return None


def stack_report(
    diff: StackDiff, old_plan: dict[str, Any], new_plan: dict[str, Any], *, with_checks: bool, project_dir: Path = PROJECT_DIR
) -> StackReport:
    """With checks: the new plan's policy verdicts and the cost change, with the stack's levels and usage assumptions
    from its files in `project_dir` (the working tree's). Raises PolicyInputError when the stack has no valid policy
    config."""
    if not with_checks:
        return StackReport(diff, None, None)
    old, new = PlanQuery(old_plan), PlanQuery(new_plan)
    violations = tuple(evaluate(new, load_pack_config(diff.stack, project_dir)))
    return StackReport(diff, violations, cost_change(old, new, project_dir))


# ---------------------------------------------------------------------------------------------------------------
# Output


def write_outputs(out: Path, sides: Sides, reports: list[StackReport]) -> None:
    """diff.json and diff.md, both or neither: each is written aside first, then both are moved into place."""
    document = {
        "base": {"label": sides.base_label, "commit": sides.base_commit},
        "head": {"label": sides.head_label},
        "stacks": [report.to_json() for report in reports],
    }
    files = {
        out / "diff.json": json.dumps(document, indent=2, default=str) + "\n",
        out / "diff.md": render_markdown(sides.base_label, sides.head_label, reports),
    }
    try:
        out.mkdir(parents=True, exist_ok=True)
        for path, text in files.items():
            path.with_name(f".{path.name}.tmp").write_text(text)
        for path in files:
            os.replace(path.with_name(f".{path.name}.tmp"), path)
    except OSError as error:
        raise DiffInputError(f"cannot write the diff into {out}: {error.strerror or error}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="diff", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", help=f"git ref to compare the working tree with (default: {' or '.join(DEFAULT_BASES)})")
    parser.add_argument("--stack", action="append", dest="stacks", help="a stack to compare (repeatable; default: all)")
    parser.add_argument("--plans", nargs=2, type=Path, metavar=("OLD", "NEW"), help="compare two plan.json files instead")
    parser.add_argument("--out", type=Path, help="directory for diff.json and diff.md")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    # Terminated (a cancelled CI job): unwind, so that the temporary work tree is removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        if args.plans and (args.base or args.stacks):
            raise DiffInputError("--plans compares two plan files: it takes no --base or --stack")
        sides = from_files(*args.plans) if args.plans else from_git(args.project_dir.resolve(), args.base, args.stacks)
        diffs: list[StackDiff] = [diff_plans(old, new) for old, new in sides.plans.values()]
        with_checks = args.out is not None
        reports = [
            stack_report(diff, *sides.plans[diff.stack], with_checks=with_checks, project_dir=sides.head_dir) for diff in diffs
        ]
        if args.out is not None:
            write_outputs(args.out, sides, reports)
    except (DiffInputError, BadPlan, BadVersion, PolicyInputError) as error:
        print(f"diff: {error}", file=sys.stderr)
        return 2
    title = f"{sides.base_label} -> {sides.head_label}"
    print("\n\n".join(render_text(diff, title) for diff in diffs))
    refused = [diff for diff in diffs if diff.upgrade_problems or diff.refusals]
    for diff in refused:
        reason = (
            f"upgrade refused for {diff.stack}: {diff.upgrade_problems[0]}"
            if diff.upgrade_problems
            else (f"change refused for {diff.stack}: {diff.refusals[0]}")
        )
        print(f"diff: {reason}", file=sys.stderr)
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
