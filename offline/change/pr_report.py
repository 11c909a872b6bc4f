"""The pull-request report of `make diff --out`: per stack its diff, dangers, upgrade verdict, policy verdicts and
monthly cost change, as markdown for the job summary and the PR comment.

It renders what it is given: the diff (offline/change/plan_diff.py), and the new plan's violations and both plans'
cost reports, which `offline.diff` computes with the analyses.

Everything in the plans comes from the pull request's code, so it is shown only inside code blocks whose fence is
longer than any backtick run in it: a value cannot close the block and turn into markdown of its own. (A pull request
that changes this file can still write any report: the comment workflow treats it as untrusted text.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from offline.analyses.cost import CostReport
from offline.analyses.policy import Violation, verdict
from offline.change.plan_diff import StackDiff, render_text, summary_line

# Finds the comment to update in place; the trusted comment workflow looks for it (and adds it if missing).
MARKER: Final = "<!-- eks-platform:offline-diff -->"


def _unpriced_items(report: CostReport) -> list[tuple[str, str, Any, str]]:
    return sorted((line.resource, line.item, line.quantity, line.unit) for line in report.unpriced)


def cost_delta(before: CostReport, after: CostReport) -> str:
    """The monthly cost change between two estimates, as markdown.

    Both sides are priced with this checkout's price file and the stack's usage assumptions (its cost* keys), so
    the change is the resources' alone. An item without a sourced price never counts as free: unless the same items
    go unpriced on both sides, the change is unknown, and it says which items leave it so.
    """
    figures = f"{before.figure(with_range=False)} -> {after.figure(with_range=False)} a month"
    if _unpriced_items(before) != _unpriced_items(after):
        missing = sorted({f"{line.resource} ({line.item})" for line in (*before.unpriced, *after.unpriced)})
        return f"{figures}, change unknown: {len(missing)} item(s) not priced: {', '.join(missing)}"
    change = after.total_usd - before.total_usd
    same = f"; the same {len(after.unpriced)} item(s) not priced on both sides" if after.unpriced else ""
    return f"{figures} ({'+' if change >= 0 else '-'}${abs(change):,.2f}), list prices as of {after.prices_as_of}{same}"


@dataclass(frozen=True)
class StackReport:
    diff: StackDiff
    violations: tuple[Violation, ...] | None  # None: policies not evaluated
    cost: str | None

    def to_json(self) -> dict[str, Any]:
        document = self.diff.to_json()
        if self.violations is not None:
            document["policy"] = {
                "mandatory": self._count("mandatory"),
                "advisory": self._count("advisory"),
                "violations": list(self.violations),
            }
        if self.cost is not None:
            document["cost"] = self.cost
        return document

    def _count(self, level: str) -> int:
        return sum(1 for violation in self.violations or () if violation["enforcement"] == level)

    def policy_verdict(self) -> str:
        return "not checked" if self.violations is None else verdict(list(self.violations))


def _plain(text: str) -> str:
    """Text from the pull request outside code blocks: only characters that carry no markdown."""
    return re.sub(r"[^A-Za-z0-9 ._/()>-]", "_", text)


def _code_block(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text}\n{fence}"


def _stack_section(report: StackReport, title: str) -> list[str]:
    diff = report.diff
    lines = [f"### {_plain(diff.stack)}", ""]
    if diff.dangers:
        lines.append("**Dangers** (state or traffic at stake):")
        lines.append(_code_block("\n".join(f"{r.step}: {r.type} {r.name}: {r.danger}" for r in diff.dangers)))
    warnings = [f"{r.type} {r.name}: {warning}" for r in diff.resources for warning in r.warnings]
    if warnings:
        lines.append("**Warnings** (the update may fail in AWS; do this first):")
        lines.append(_code_block("\n".join(warnings)))
    if diff.upgrade_problems:
        lines.append("**Upgrade refused:**")
        lines.append(_code_block("\n".join(diff.upgrade_problems)))
    if diff.refusals:
        lines.append("**Refused** (AWS cannot make this change the way Pulumi orders it):")
        lines.append(_code_block("\n".join(diff.refusals)))
    if report.violations:
        lines.append(f"<details><summary>Policy violations ({report.policy_verdict()})</summary>\n")
        lines.append(
            _code_block("\n".join(f"{v['enforcement']}  {v['policy']}  {v['urn']}  {v['message']}" for v in report.violations))
        )
        lines.append("</details>\n")
    if diff.has_changes:
        lines.append(f"<details><summary>Diff: {summary_line(diff)}</summary>\n")
        lines.append(_code_block(render_text(diff, title)))
        lines.append("</details>")
    else:
        lines.append("No changes.")
    lines.append("")
    return lines


def render_markdown(base_label: str, head_label: str, reports: list[StackReport]) -> str:
    title = f"{base_label} -> {head_label}"
    lines = [
        MARKER,
        "## Offline diff",
        "",
        f"Compared: {_plain(title)} (offline plans: what `pulumi preview --diff` would show, without the cloud).",
        "",
        "| stack | changes | dangers | upgrade | policies | monthly cost |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for report in reports:
        diff = report.diff
        changes = summary_line(diff).removeprefix("Resources: ") if diff.has_changes else "none"
        upgrade = "REFUSED" if diff.upgrade_problems or diff.refusals else "ok"
        lines.append(
            f"| {_plain(diff.stack)} | {changes} | {len(diff.dangers) or 'none'} | {upgrade} | {report.policy_verdict()} "
            f"| {report.cost or 'not estimated'} |"
        )
    lines.append("")
    for report in reports:
        lines.extend(_stack_section(report, title))
    return "\n".join(lines) + "\n"
