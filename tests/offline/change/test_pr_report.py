"""The pull-request report: marker, verdicts per stack, and nothing from the plans outside code blocks."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

from offline.change.plan_diff import diff_plans
from offline.change.pr_report import MARKER, render_markdown
from offline.diff import cost_change, stack_report
from offline.plan.build import build_plan
from offline.plan.query import PlanQuery
from tests.conftest import FIXTURE_STACK
from tests.offline.change.edits import edit, plan_copy, resources


def markdown_for(head: dict[str, Any], *, with_checks: bool = True) -> str:
    base = plan_copy()
    report = stack_report(diff_plans(base, head), base, head, with_checks=with_checks)
    return render_markdown("main (1234567)", "working tree", [report])


def test_the_report_starts_with_the_marker_and_sums_up_each_stack() -> None:
    head = plan_copy()
    edit(head, "kubernetes:core/v1:PersistentVolumeClaim", lambda inputs: inputs["spec"].update(storageClassName="gp2"))
    markdown = markdown_for(head)
    assert markdown.startswith(MARKER + "\n")
    unchanged = len(head["resources"]) - 1
    assert f"| dev | +- 1 to replace, {unchanged} unchanged | 1 | ok | passed: 0 mandatory, 1 advisory |" in markdown
    assert "replace: kubernetes:core/v1:PersistentVolumeClaim storage-ebs-pvc: owns its EBS volume" in markdown


def test_policy_violations_of_the_new_plan_are_listed() -> None:
    head = plan_copy()
    edit(head, "eks:index:Cluster", lambda inputs: inputs.update(publicAccessCidrs=["0.0.0.0/0"]))
    markdown = markdown_for(head)
    assert "FAILED: 1 mandatory" in markdown and "eks-public-endpoint-restricted" in markdown


def test_plan_values_cannot_break_out_of_their_code_block() -> None:
    """Plans come from the pull request's code: a value with a code fence must not end the block and inject
    markdown (an image that calls home, a fake approval) into the comment."""
    head = plan_copy()
    edit(head, "aws:kms/key:Key", lambda inputs: inputs.update(description="```\n![x](https://attacker.example/p.png)\n```"))
    markdown = markdown_for(head, with_checks=False)
    fences = {line for line in markdown.splitlines() if line.startswith("```")}
    assert fences == {"````"}
    assert "\n![x]" not in markdown


def test_the_cost_change_prices_both_plans_alike() -> None:
    """offline/analyses/cost.py prices node groups from their scaling config: one more node costs more, no change costs
    nothing extra, and a stack without config has no estimate rather than an invented one."""
    bigger = plan_copy()
    for group in resources(bigger, "aws:eks/nodeGroup:NodeGroup"):
        group["inputs"]["scalingConfig"]["desiredSize"] += 1
    change = cost_change(PlanQuery(plan_copy()), PlanQuery(bigger))
    assert change is not None and "(+$" in change and "(+$0.00)" not in change
    assert "(+$0.00)" in str(cost_change(PlanQuery(plan_copy()), PlanQuery(plan_copy())))
    nowhere = {**plan_copy(), "stack": "nowhere"}
    assert cost_change(PlanQuery(nowhere), PlanQuery(nowhere)) is None
    assert "not estimated" in markdown_for(plan_copy(), with_checks=False)


def test_an_item_without_a_price_never_reads_as_a_saving(fixture_project: Path) -> None:
    """A bigger instance type the price file has no figure for: it used to read as "-$70.08" (a missing price counted
    as zero). Catches: a total or a change that treats an unpriced item as free."""
    base = build_plan(FIXTURE_STACK, fixture_project).to_json()
    bigger = copy.deepcopy(base)
    for group in resources(bigger, "aws:eks/nodeGroup:NodeGroup"):
        group["inputs"]["instanceTypes"] = ["x2iedn.32xlarge"]
    change = cost_change(PlanQuery(base), PlanQuery(bigger), fixture_project)
    assert change is not None and "-$" not in change and "(+$" not in change
    assert re.fullmatch(
        r"\$[\d,.]+ -> at least \$[\d,.]+ a month, change unknown: 1 item\(s\) not priced: nodes-system-group \(.*\)", change
    )
    # The same unpriced item on both sides leaves the rest of the change exact (here: none).
    same = str(cost_change(PlanQuery(bigger), PlanQuery(bigger), fixture_project))
    assert re.fullmatch(
        r"(at least \$[\d,.]+) -> \1 a month \(\+\$0\.00\), .*; the same 1 item\(s\) not priced on both sides", same
    )


def test_a_change_aws_cannot_make_is_refused_in_the_report() -> None:
    """A subnet moved onto a block another subnet still holds (plan_diff refusals): the report's table says REFUSED and
    a block says why. Catches: a refusal the pull request never shows."""
    head = plan_copy()
    subnets = [r for r in head["resources"] if r["type"] == "aws:ec2/subnet:Subnet"]
    subnets[1]["inputs"]["cidrBlock"] = subnets[0]["inputs"]["cidrBlock"]
    markdown = markdown_for(head)
    assert "**Refused** (AWS cannot make this change the way Pulumi orders it):" in markdown
    assert "InvalidSubnet.Conflict" in markdown
    assert "| REFUSED |" in markdown
