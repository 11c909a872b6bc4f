"""The pull-request report: marker, verdicts per stack, and nothing from the plans outside code blocks."""

from __future__ import annotations

from offline.plan_diff import diff_plans
from offline.pr_comment import MARKER, StackReport, cost_delta, render_markdown
from tests.offline.edits import edit, plan_copy


def markdown_for(head: dict[str, object], *, with_policies: bool = True) -> str:
    base = plan_copy()
    report = StackReport.build(diff_plans(base, head), base, head, with_policies=with_policies)
    return render_markdown("main (1234567)", "working tree", [report])


def test_the_report_starts_with_the_marker_and_sums_up_each_stack() -> None:
    head = plan_copy()
    edit(head, "kubernetes:core/v1:PersistentVolumeClaim", lambda inputs: inputs["spec"].update(storageClassName="gp2"))
    markdown = markdown_for(head)
    assert markdown.startswith(MARKER + "\n")
    assert "| dev | +- 1 to replace, ? 1 may replace, 73 unchanged | 1 | ok | passed: 0 mandatory, 1 advisory |" in markdown
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
    markdown = markdown_for(head, with_policies=False)
    fences = {line for line in markdown.splitlines() if line.startswith("```")}
    assert fences == {"````"}
    assert "\n![x]" not in markdown


def test_no_cost_figure_until_the_estimate_exists() -> None:
    assert cost_delta(plan_copy(), plan_copy()) is None
    assert "Cost" not in markdown_for(plan_copy(), with_policies=False)
