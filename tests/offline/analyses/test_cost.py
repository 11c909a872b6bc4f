"""The monthly cost estimate: recomputed by hand, moved by exactly the priced amount, never a guessed number."""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.shared.versions import SUPPORT_CALENDAR
from offline.analyses.cost import CostInputError, estimate, stack_assumptions
from offline.analyses.prices import PRICE_FILE, PriceBook, load_prices
from offline.cost import STALE_README, main, readme_block
from offline.plan.build import build_plan
from offline.plan.query import PlanQuery
from offline.preview import estimate_lines
from offline.reports import estimates
from settings import CostAssumptions
from tests.conftest import FIXTURE_STACK, FROZEN_PROJECT, FROZEN_STACKS, karpenter_workload_plan, link_program

ROOT = Path(__file__).resolve().parents[3]
DEFAULTS = CostAssumptions(nat_data_gb_per_month=100, log_ingest_gb_per_month=5, nlb_capacity_units=1, spot_discount_percent=0)
# The regions the price file covers, as the message lists them (ap-south-1 is not among them).
PRICED_REGIONS = ", ".join(sorted(json.loads(PRICE_FILE.read_text())["regions"]))


@cache
def plan(stack: str, **overrides: str) -> dict[str, Any]:
    config = {f"eks-platform:{k}": v for k, v in overrides.items()}
    result: dict[str, Any] = build_plan(stack, FROZEN_PROJECT, overrides=config).to_json()
    return result


def dev_pools(**system: Any) -> str:
    """Dev's nodeGroups with the system pool's fields replaced, as the JSON the CLI hands the program."""
    pools = yaml.safe_load((FROZEN_STACKS / "Pulumi.dev.yaml").read_text())["config"]["eks-platform:nodeGroups"]
    pools["system"].update(system)
    return json.dumps(pools)


def figures() -> dict[str, Decimal]:
    document = json.loads(PRICE_FILE.read_text(), parse_float=Decimal)
    return {key: Decimal(entry["usd"]) for key, entry in document["regions"]["eu-central-1"]["prices"].items()}


def book_with(tmp_path: Path, extra: dict[str, tuple[float, str]]) -> PriceBook:
    """The shipped price file plus test-only figures (not AWS prices) for what it cannot source."""
    document = json.loads(PRICE_FILE.read_text())
    region = document["regions"]["eu-central-1"]
    for price_id, (usd, unit) in extra.items():
        region["notSourced"].pop(price_id, None)
        region["prices"][price_id] = {
            "usd": usd,
            "unit": unit,
            "source": "https://example.com/test-fixture",
            "date": "2026-01-01",
        }
    path = tmp_path / "aws.json"
    path.write_text(json.dumps(document))
    return load_prices(path)


def line(report: Any, resource: str, item_start: str) -> Any:
    matches = [ln for ln in report.lines if ln.resource == resource and ln.item.startswith(item_start)]
    assert len(matches) == 1, [ln.item for ln in report.lines if ln.resource == resource]
    return matches[0]


def test_dev_total_recomputed_by_hand_from_the_price_file(dev: PlanQuery) -> None:
    """Control plane 730 h, one KMS key, control plane logs (5 GB ingested, kept 7 days), the NLB (730 h, 1 NLCU)
    with its 3 addresses (one per public subnet,
    https://docs.aws.amazon.com/elasticloadbalancing/latest/network/availability-zones.html), one NAT gateway
    (730 h, 100 GB) with its Elastic IP, 2 SPOT t3.medium priced as On-Demand (0% discount assumed), 2 x 20 GiB
    node roots and the 4Gi claim on gp3."""
    p = figures()
    by_hand = (
        p["eks.cluster.standard"] * 730
        + p["kms.key"] * 1
        + p["logs.ingestion"] * 5
        + p["logs.storage"] * (Decimal(5) * 7 * 12 / 365)
        + p["elb.nlb.hour"] * 730
        + p["elb.nlb.nlcu"] * 730
        + p["vpc.public-ipv4"] * 730 * (1 + 3)
        + p["vpc.nat-gateway.hour"] * 730
        + p["vpc.nat-gateway.data"] * 100
        + p["ec2.t3.medium"] * 2 * 730
        + p["ebs.gp3.storage"] * (2 * 20 + 4)
    )
    report = estimate(dev, load_prices(), DEFAULTS)
    assert report.unpriced == ()
    assert report.total_usd == by_hand
    assert round(by_hand, 2) == Decimal("233.31")


def test_per_zone_nat_adds_exactly_two_gateways_their_addresses_and_nothing_else() -> None:
    p = figures()
    single = estimate(PlanQuery(plan("dev")), load_prices(), DEFAULTS)
    per_zone = estimate(PlanQuery(plan("dev", natStrategy="per-zone")), load_prices(), DEFAULTS)
    # The traffic assumption is split over the gateways, so only the hours and addresses add up.
    assert per_zone.total_usd - single.total_usd == 2 * 730 * (p["vpc.nat-gateway.hour"] + p["vpc.public-ipv4"])
    processed = [ln.quantity for ln in per_zone.lines if ln.item == "NAT data processed"]
    assert sorted(processed) == [33, 33, 34] and sum(processed) == DEFAULTS.nat_data_gb_per_month


def test_one_more_node_adds_exactly_its_hours_and_its_root_volume() -> None:
    p = figures()
    two = estimate(PlanQuery(plan("dev")), load_prices(), DEFAULTS)
    three = estimate(PlanQuery(plan("dev", nodeGroups=dev_pools(desiredSize=3))), load_prices(), DEFAULTS)
    assert three.total_usd - two.total_usd == 730 * p["ec2.t3.medium"] + 20 * p["ebs.gp3.storage"]
    assert (
        line(three, "nodes-system-group", "3 x t3.medium").quantity - line(two, "nodes-system-group", "2 x t3.medium").quantity
        == 730
    )


def test_instance_type_change_moves_the_total_by_the_price_difference() -> None:
    p = figures()
    before = estimate(PlanQuery(plan("dev")), load_prices(), DEFAULTS)
    after = estimate(PlanQuery(plan("dev", nodeGroups=dev_pools(instanceTypes=["m6i.large"]))), load_prices(), DEFAULTS)
    assert after.total_usd - before.total_usd == 2 * 730 * (p["ec2.m6i.large"] - p["ec2.t3.medium"])


def test_an_instance_type_without_a_price_says_no_price_and_stays_out_of_the_total() -> None:
    report = estimate(PlanQuery(plan("dev", nodeGroups=dev_pools(instanceTypes=["x2iedn.32xlarge"]))), load_prices(), DEFAULTS)
    nodes = line(report, "nodes-system-group", "2 x x2iedn.32xlarge")
    assert nodes.monthly_usd is None and "no price" in nodes.note
    assert nodes in report.unpriced


def test_several_instance_types_price_the_first_and_say_so(tmp_path: Path, dev: PlanQuery) -> None:
    fake = book_with(tmp_path, {"ec2.t3.medium": (0.5, "instance-hour")})
    nodes = line(estimate(dev, fake, DEFAULTS), "nodes-system-group", "2 x t3.medium SPOT")
    assert nodes.monthly_usd == 2 * 730 * Decimal("0.5")
    assert "priced as t3.medium, the first of t3.medium, t3a.medium" in nodes.note


def test_spot_is_a_stated_discount_on_on_demand(tmp_path: Path, dev: PlanQuery) -> None:
    fake = book_with(tmp_path, {"ec2.t3.medium": (0.5, "instance-hour")})
    discounted = CostAssumptions(100, 5, 1, spot_discount_percent=60)
    nodes = line(estimate(dev, fake, discounted), "nodes-system-group", "2 x t3.medium SPOT")
    assert nodes.unit_usd == Decimal("0.2")
    assert "SPOT: On-Demand minus 60% (assumption: costSpotDiscountPercent)" in nodes.note


def with_cluster(plan_json: dict[str, Any], **inputs: Any) -> dict[str, Any]:
    changed = copy.deepcopy(plan_json)
    cluster = next(r for r in changed["resources"] if r["type"] == "eks:index:Cluster")
    cluster["inputs"].update(inputs)
    return changed


def test_extended_rate_only_after_standard_support_ends(dev: PlanQuery) -> None:
    """Clusters merely set to EXTENDED pay standard costs while their version is in standard support
    (https://docs.aws.amazon.com/eks/latest/userguide/enable-extended-support.html); pulumi-eks defaults the
    upgrade policy to EXTENDED, so an absent supportType counts as EXTENDED."""
    prices = load_prices()
    ends = SUPPORT_CALENDAR["1.35"].standard_ends
    unset = copy.deepcopy(dev.plan)
    del next(r for r in unset["resources"] if r["type"] == "eks:index:Cluster")["inputs"]["upgradePolicy"]
    for extended in (with_cluster(dev.plan, upgradePolicy={"supportType": "EXTENDED"}), unset):
        during = line(estimate(PlanQuery(extended), prices, DEFAULTS, on=ends), "cluster-eks", "EKS control plane")
        after = line(
            estimate(PlanQuery(extended), prices, DEFAULTS, on=ends + timedelta(days=1)), "cluster-eks", "EKS control plane"
        )
        assert (during.price_id, during.monthly_usd) == ("eks.cluster.standard", Decimal("73.000"))
        assert (after.price_id, after.monthly_usd) == ("eks.cluster.extended", Decimal("438.000"))
        assert "supportType EXTENDED" in during.note
    # The shipped stacks choose STANDARD (kubernetesSupportType): EKS upgrades the cluster instead of billing more.
    auto_upgraded = line(estimate(dev, prices, DEFAULTS, on=ends + timedelta(days=1)), "cluster-eks", "EKS control plane")
    assert auto_upgraded.price_id == "eks.cluster.standard" and "EKS upgrades it" in auto_upgraded.note


def test_version_without_support_calendar_has_no_price(dev: PlanQuery) -> None:
    report = estimate(PlanQuery(with_cluster(dev.plan, version="1.99")), load_prices(), DEFAULTS)
    control_plane = line(report, "cluster-eks", "EKS control plane")
    assert control_plane.monthly_usd is None and "no EKS support calendar for Kubernetes '1.99'" in control_plane.note


def test_default_day_is_the_price_files_as_of_so_the_figure_is_reproducible(dev: PlanQuery) -> None:
    prices = load_prices()
    assert estimate(dev, prices, DEFAULTS).on == prices.as_of


def without_log_group(plan_json: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(plan_json)
    changed["resources"] = [r for r in changed["resources"] if r["type"] != "aws:cloudwatch/logGroup:LogGroup"]
    return changed


def test_log_storage_is_the_steady_state_of_the_retention(tmp_path: Path, dev: PlanQuery) -> None:
    """Without a log group EKS creates /aws/eks/<cluster>/cluster without retention: storage grows, no price."""
    fake = book_with(tmp_path, {"logs.ingestion": (0.5, "GB"), "logs.storage": (0.03, "GB-month")})
    unbounded = line(estimate(PlanQuery(without_log_group(dev.plan)), fake, DEFAULTS), "cluster-eks", "control-plane logs stored")
    assert unbounded.monthly_usd is None and "keeps logs forever" in unbounded.note
    report = estimate(dev, fake, DEFAULTS)
    stored = line(report, "cluster-control-plane-logs", "control-plane logs stored (7-day retention)")
    assert stored.quantity == Decimal(5) * 7 * 12 / 365
    assert line(report, "cluster-eks", "control-plane logs ingested").monthly_usd == Decimal("2.5")


def with_ingress_annotations(plan_json: dict[str, Any], annotations: dict[str, str]) -> dict[str, Any]:
    changed = copy.deepcopy(plan_json)
    release = next(r for r in changed["resources"] if r["name"] == "ingress-release")
    release["inputs"]["values"]["controller"]["service"]["annotations"] = annotations
    return changed


def test_internal_nlb_has_no_public_addresses(dev: PlanQuery) -> None:
    internal = with_ingress_annotations(
        dev.plan,
        {
            "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
            "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
        },
    )
    items = [ln.item for ln in estimate(PlanQuery(internal), load_prices(), DEFAULTS).lines if ln.resource == "ingress-release"]
    assert items == ["Network Load Balancer", "NLB capacity units (1 NLCU on average)"]


def test_load_balancer_without_nlb_annotation_is_a_classic_one_without_price(dev: PlanQuery) -> None:
    classic = with_ingress_annotations(dev.plan, {})
    lines = [ln for ln in estimate(PlanQuery(classic), load_prices(), DEFAULTS).lines if ln.resource == "ingress-release"]
    assert [(ln.item, ln.monthly_usd) for ln in lines] == [("Classic Load Balancer", None)]


@pytest.mark.parametrize(("size", "gib"), [("4Gi", 4), ("5G", 5), ("1Ti", 1024), ("1500Mi", 2)])
def test_claims_are_priced_in_whole_gib(dev: PlanQuery, size: str, gib: int) -> None:
    changed = copy.deepcopy(dev.plan)
    claim = next(r for r in changed["resources"] if r["type"] == "kubernetes:core/v1:PersistentVolumeClaim")
    claim["inputs"]["spec"]["resources"]["requests"]["storage"] = size
    volume = line(estimate(PlanQuery(changed), load_prices(), DEFAULTS), "storage-ebs-pvc", f"{gib} GiB gp3")
    assert volume.quantity == gib


def test_prod_prices_three_gateways_three_zonal_node_groups_and_larger_roots(prod: PlanQuery) -> None:
    """Prod: three NAT gateways with their addresses, one m6i.large per zone (desired 3 in total), 3 x 50 GiB roots,
    logs kept 90 days; the same NLB, key and control plane as dev, and no demo claim (demoWorkloads is off in prod)."""
    p = figures()
    report = estimate(prod, load_prices(), stack_assumptions("prod", FROZEN_PROJECT))
    assert report.unpriced == ()
    assert report.total_usd == (
        p["eks.cluster.standard"] * 730
        + p["kms.key"]
        + p["logs.ingestion"] * 5
        + p["logs.storage"] * (Decimal(5) * 90 * 12 / 365)
        + (p["elb.nlb.hour"] + p["elb.nlb.nlcu"]) * 730
        + p["vpc.public-ipv4"] * 730 * (3 + 3)
        + p["vpc.nat-gateway.hour"] * 730 * 3
        + p["vpc.nat-gateway.data"] * 100
        + p["ec2.m6i.large"] * 3 * 730
        + p["ebs.gp3.storage"] * (3 * 50)
    )


def _readme_project(tmp_path: Path) -> Path:
    project = link_program(tmp_path / "project")
    (project / "data").symlink_to(ROOT / "data")
    (project / "README.md").write_text((ROOT / "README.md").read_text())
    for stack_file in FROZEN_STACKS.glob("Pulumi.*.yaml"):
        (project / stack_file.name).write_text(stack_file.read_text())
    return project


def test_the_readme_block_is_checked_against_the_stacks_and_stale_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dev: PlanQuery, prod: PlanQuery
) -> None:
    """`make check-generated` (CI) fails with one line naming `make readme-estimates` once a stack edit makes the
    block stale, and passes after regenerating; the block holds the dev and prod estimates of the stacks as they are.
    Catches: a stale block passing, or `make test` failing on a valid stack edit (this runs on the frozen stacks)."""
    project = _readme_project(tmp_path)
    argv = ["--project-dir", str(project)]
    assert run([*argv, "--update-readme"], capsys)[0] == 0
    assert run([*argv, "--check-readme"], capsys) == (0, "README.md's estimate block is current\n", "")
    prices = load_prices()
    analysed = [estimates(query, stack, prices) for stack, query in (("dev", dev), ("prod", prod))]
    expected = readme_block([report for report, _ in analysed], [deploy.summary() for _, deploy in analysed])
    assert expected in (project / "README.md").read_text()
    dev_file = project / "Pulumi.dev.yaml"
    dev_file.write_text(dev_file.read_text().replace("[t3.medium, t3a.medium]", "[m6i.large]"))
    assert run([*argv, "--check-readme"], capsys) == (1, "", f"offline-cost: {STALE_README}\n")


def with_region(plan_json: dict[str, Any], region: str) -> dict[str, Any]:
    changed = copy.deepcopy(plan_json)
    for resource in changed["resources"]:
        if resource["type"] == "pulumi:providers:aws":
            resource["inputs"]["region"] = region
    return changed


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """offline.cost's main on the frozen stacks (their cost* assumptions) unless the test names a project."""
    code = main(argv if "--project-dir" in argv else [*argv, "--project-dir", str(FROZEN_PROJECT)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_prints_both_estimates_and_writes_cost_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dev: PlanQuery
) -> None:
    (tmp_path / "plan.json").write_text(json.dumps(dev.plan))
    code, out, err = run(["--plan", str(tmp_path / "plan.json"), "--stack", "dev", "--out", str(tmp_path)], capsys)
    assert (code, err) == (0, "")
    assert "Total: $233.31 per month (every item priced)" in out and "critical path" in out
    written = json.loads((tmp_path / "cost.json").read_text())
    assert written["totalUsd"] == pytest.approx(233.31, abs=0.01) and written["deployTime"]["criticalPathSeconds"] > 0


def test_cli_unknown_region_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], dev: PlanQuery) -> None:
    (tmp_path / "plan.json").write_text(json.dumps(with_region(dev.plan, "ap-south-1")))
    code, out, err = run(["--plan", str(tmp_path / "plan.json"), "--stack", "dev", "--out", str(tmp_path)], capsys)
    assert (code, out) == (2, "")
    assert err == f"offline-cost: no prices for region 'ap-south-1' in aws.json (regions with prices: {PRICED_REGIONS})\n"
    assert not (tmp_path / "cost.json").exists()


def test_cli_malformed_price_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dev: PlanQuery
) -> None:
    (tmp_path / "plan.json").write_text(json.dumps(dev.plan))
    (tmp_path / "prices.json").write_text('{"schema": 1,')
    code, out, err = run(
        ["--plan", str(tmp_path / "plan.json"), "--stack", "dev", "--prices", str(tmp_path / "prices.json")], capsys
    )
    assert (code, out) == (2, "")
    assert err.startswith("offline-cost: prices.json: not valid JSON") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--stack", "dev"], "--plan and --stack are required"),
        (["--plan", "missing.json", "--stack", "dev"], "cannot read plan"),
        (["--plan", "{plan}", "--stack", "qa"], "no stack file Pulumi.qa.yaml"),
    ],
)
def test_cli_bad_arguments_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dev: PlanQuery, argv: list[str], words: str
) -> None:
    (tmp_path / "plan.json").write_text(json.dumps(dev.plan))
    code, _, err = run([arg.replace("{plan}", str(tmp_path / "plan.json")) for arg in argv], capsys)
    assert code == 2 and words in err and err.count("\n") == 1


def test_preview_skips_the_estimate_for_a_region_without_prices_and_writes_no_cost_json(tmp_path: Path, dev: PlanQuery) -> None:
    lines = estimate_lines(PlanQuery(with_region(dev.plan, "ap-south-1")), "dev", load_prices(), tmp_path)
    skipped = f"no prices for region 'ap-south-1' in aws.json (regions with prices: {PRICED_REGIONS})"
    assert lines == [f"cost estimate skipped: {skipped}"]
    assert not (tmp_path / "cost.json").exists()


def test_preview_with_a_malformed_price_file_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from offline import preview

    broken = tmp_path / "aws.json"
    broken.write_text("[]")
    monkeypatch.setattr(preview, "load_prices", lambda: load_prices(broken))
    code = preview.main(["--stack", "dev", "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert (code, captured.out) == (2, "")
    assert captured.err == "offline-preview: aws.json: the top level must be an object\n"
    assert not (tmp_path / "out").exists()


def test_cost_report_json_is_plain_numbers(dev: PlanQuery) -> None:
    payload = estimate(dev, load_prices(), DEFAULTS).to_json()
    json.dumps(payload)
    assert payload["on"] == date.fromisoformat(payload["pricesAsOf"]).isoformat()


def test_estimate_reads_the_stack_file_over_the_defaults(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").symlink_to(ROOT / "Pulumi.yaml")
    (tmp_path / "Pulumi.qa.yaml").write_text("config:\n  eks-platform:costSpotDiscountPercent: 40\n")
    assert stack_assumptions("qa", tmp_path).spot_discount_percent == 40
    assert stack_assumptions("qa", tmp_path).nat_data_gb_per_month == 100
    (tmp_path / "Pulumi.qa.yaml").write_text("config:\n  eks-platform:costSpotDiscountPercent: 95\n")
    with pytest.raises(CostInputError) as caught:
        stack_assumptions("qa", tmp_path)
    assert str(caught.value) == "invalid config eks-platform:costSpotDiscountPercent = 95: expected a whole number from 0 to 90"


def test_claim_whose_class_sets_no_volume_type_has_no_price(dev: PlanQuery) -> None:
    changed = copy.deepcopy(dev.plan)
    storage_class = next(r for r in changed["resources"] if r["type"] == "kubernetes:storage.k8s.io/v1:StorageClass")
    del storage_class["inputs"]["parameters"]["type"]
    volume = line(estimate(PlanQuery(changed), load_prices(), DEFAULTS), "storage-ebs-pvc", "volume for claim ebs-pvc")
    assert volume.monthly_usd is None and "sets no type" in volume.note


def test_karpenter_pools_are_a_range_from_none_to_their_node_limit() -> None:
    """Karpenter launches a NodePool's nodes for pending pods, up to spec.limits.nodes
    (https://karpenter.sh/docs/concepts/nodepools/#speclimits): no node at rest, at most the limit. Each pool is a
    range from $0 to the limit of its dearest listed type (Spot at On-Demand prices, an upper bound), never left
    out. Catches: the pool dropped from the estimate, or its top priced with the cheapest type."""
    query = karpenter_workload_plan()
    p = figures()
    report = estimate(query, load_prices(), DEFAULTS)
    general = line(report, "pool-general-nodepool", "0 to 4 nodes Karpenter")
    dearest = max(("m6i.large", "m7i.large"), key=lambda kind: p[f"ec2.{kind}"])
    assert general.range_usd == (0, 4 * 730 * p[f"ec2.{dearest}"]) and general.monthly_usd == 0
    assert f"the upper bound 4 x {dearest}, the dearest of m6i.large, m7i.large" in general.note
    spot = line(report, "pool-graviton-spot-nodepool", "0 to 4 nodes Karpenter")
    assert spot.range_usd == (0, 4 * 730 * p["ec2.m7g.large"]) and "at On-Demand prices" in spot.note
    assert general not in report.unpriced and spot not in report.unpriced
    spread = report.demand_range
    assert spread is not None and spread[0] == report.total_usd
    # The interruption queue is billed per use and has no price, so the top of the range is not known either.
    assert report.unpriced and spread[1] is None
    assert report.figure().startswith(f"at least ${report.total_usd:,.2f} (${spread[0]:,.2f} to no upper bound known")


def test_a_node_pool_without_limit_or_with_an_unpriced_type_has_no_upper_bound() -> None:
    query = karpenter_workload_plan()
    unlimited, unpriced = copy.deepcopy(query.plan), copy.deepcopy(query.plan)
    pool = next(r for r in unlimited["resources"] if r["name"] == "pool-general-nodepool")
    del pool["inputs"]["spec"]["limits"]
    general = line(estimate(PlanQuery(unlimited), load_prices(), DEFAULTS), "pool-general-nodepool", "nodes Karpenter")
    assert general.range_usd == (0, None) and "no node limit (spec.limits.nodes), so no upper bound" in general.note
    pool = next(r for r in unpriced["resources"] if r["name"] == "pool-general-nodepool")
    for requirement in pool["inputs"]["spec"]["template"]["spec"]["requirements"]:
        if requirement["key"] == "node.kubernetes.io/instance-type":
            requirement["values"] = ["m6i.large", "x2iedn.32xlarge"]
    general = line(estimate(PlanQuery(unpriced), load_prices(), DEFAULTS), "pool-general-nodepool", "0 to 4 nodes")
    assert general.range_usd == (0, None) and "no price for x2iedn.32xlarge, so no upper bound" in general.note


def test_an_autoscaled_pool_ranges_from_min_to_max_a_fixed_one_does_not(dev: PlanQuery) -> None:
    """The Cluster Autoscaler moves a managed group between minSize and maxSize: its nodes and their root volumes
    are a range around the desired size; under Karpenter nothing resizes the system group, so it has none."""
    p = figures()
    report = estimate(dev, load_prices(), DEFAULTS)
    nodes = line(report, "nodes-system-group", "2 x t3.medium")
    scaling = dev.one("aws:eks/nodeGroup:NodeGroup", "nodes-system-group")["inputs"]["scalingConfig"]
    low, high = scaling["minSize"], scaling["maxSize"]
    assert nodes.range_usd == (low * 730 * p["ec2.t3.medium"], high * 730 * p["ec2.t3.medium"])
    roots = line(report, "nodes-system-lt", "2 x 20 GiB gp3")
    assert roots.range_usd == (low * 20 * p["ebs.gp3.storage"], high * 20 * p["ebs.gp3.storage"])
    spread = report.demand_range
    assert spread == (
        report.total_usd - nodes.monthly_usd - roots.monthly_usd + nodes.range_usd[0] + roots.range_usd[0],
        report.total_usd - nodes.monthly_usd - roots.monthly_usd + nodes.range_usd[1] + roots.range_usd[1],
    )
    assert report.figure() == f"${report.total_usd:,.2f} (${spread[0]:,.2f} to ${spread[1]:,.2f} as demand-driven capacity moves)"
    karpenter = estimate(karpenter_workload_plan(), load_prices(), DEFAULTS)
    assert line(karpenter, "nodes-system-group", "2 x m6i.large").range_usd is None


def test_karpenter_interruption_queue_and_rules_are_listed_as_not_estimated() -> None:
    """Karpenter's interruption handling adds an SQS queue and EventBridge rules, both billed per use
    (https://aws.amazon.com/sqs/pricing/, https://aws.amazon.com/eventbridge/pricing/); the price file has no figure."""
    query = karpenter_workload_plan()
    report = estimate(query, load_prices(), DEFAULTS)
    usage = {
        ln.resource: ln for ln in report.unpriced if ln.price_id in ("aws:sqs/queue:Queue", "aws:cloudwatch/eventRule:EventRule")
    }
    assert set(usage) == {r["name"] for r in query.of_type("aws:sqs/queue:Queue")} | {
        r["name"] for r in query.of_type("aws:cloudwatch/eventRule:EventRule")
    }
    assert len(usage) >= 2 and all(
        ln.note.startswith("not estimated: billed per use (https://aws.amazon.com/") for ln in usage.values()
    )


def test_who_resizes_a_managed_node_group_comes_from_the_plan(dev: PlanQuery) -> None:
    """Under `autoscaler: karpenter` nothing resizes the system group (Pulumi.yaml, autoscaler); the Cluster
    Autoscaler's release is what moves a group between its min and max."""
    karpenter = estimate(karpenter_workload_plan(), load_prices(), DEFAULTS)
    system = line(karpenter, "nodes-system-group", "2 x m6i.large")
    assert "no Cluster Autoscaler in the plan, so nothing resizes it" in system.note and "moves it" not in system.note
    managed = line(estimate(dev, load_prices(), DEFAULTS), "nodes-system-group", "2 x t3.medium")
    assert "the Cluster Autoscaler of autoscaler-release moves it" in managed.note


def test_cli_prices_another_stacks_plan_after_a_warning_into_its_own_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dev: PlanQuery
) -> None:
    """Like policy-check: dev's plan priced with prod's assumptions keeps dev's cost.json as it is."""
    (tmp_path / "plan.json").write_text(json.dumps(dev.plan))
    (tmp_path / "cost.json").write_text("dev's own\n")
    code, out, err = run(["--plan", str(tmp_path / "plan.json"), "--stack", "prod", "--out", str(tmp_path)], capsys)
    assert code == 0
    assert err == (
        f"offline-cost: warning: {tmp_path / 'plan.json'} is a plan of stack 'dev', priced with stack 'prod''s cost "
        "assumptions; writing cost.prod.json, so dev's own cost.json stays as it is\n"
    )
    assert (tmp_path / "cost.json").read_text() == "dev's own\n"
    assert json.loads((tmp_path / "cost.prod.json").read_text())["stack"] == "dev"
    assert f"Wrote {tmp_path / 'cost.prod.json'}" in out


def test_cli_warns_about_another_stacks_plan_without_out_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dev: PlanQuery
) -> None:
    (tmp_path / "plan.json").write_text(json.dumps(dev.plan))
    code, _, err = run(["--plan", str(tmp_path / "plan.json"), "--stack", "prod"], capsys)
    assert code == 0 and err.count("\n") == 1 and "is a plan of stack 'dev', priced with stack 'prod'" in err
    assert list(tmp_path.iterdir()) == [tmp_path / "plan.json"]


def test_cli_malformed_durations_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fixture_project: Path
) -> None:
    """The deploy-time half of cost.json has a data file of its own: a broken one is bad input, not a traceback."""
    from offline import reports
    from offline.analyses.deploy_time import load_durations

    broken = tmp_path / "deploy-durations.json"
    broken.write_text('{"schema": 1, "default": {}, "durations": {}}')
    monkeypatch.setattr(reports, "load_durations", lambda: load_durations(broken))
    (tmp_path / "plan.json").write_text(json.dumps(build_plan(FIXTURE_STACK, fixture_project).to_json()))
    argv = ["--plan", str(tmp_path / "plan.json"), "--stack", FIXTURE_STACK, "--out", str(tmp_path)]
    code, out, err = run([*argv, "--project-dir", str(fixture_project)], capsys)
    assert (code, out) == (2, "")
    assert err.startswith("offline-cost: deploy-durations.json: ") and err.count("\n") == 1
    assert not (tmp_path / "cost.json").exists()


SCHEME = "service.beta.kubernetes.io/aws-load-balancer-scheme"
INTERNAL = "service.beta.kubernetes.io/aws-load-balancer-internal"
TYPE = "service.beta.kubernetes.io/aws-load-balancer-type"


@pytest.mark.parametrize(
    ("annotations", "load_balancer_class", "public"),
    [
        # EKS's in-tree controller (type nlb): internet-facing unless aws-load-balancer-internal is set to anything
        # but "false"; it reads no scheme annotation (kubernetes/cloud-provider-aws pkg/providers/v1/aws.go).
        ({TYPE: "nlb"}, None, True),
        ({TYPE: "nlb", INTERNAL: "true"}, None, False),
        ({TYPE: "nlb", INTERNAL: "0.0.0.0/0"}, None, False),
        ({TYPE: "nlb", INTERNAL: "false"}, None, True),
        ({TYPE: "nlb", SCHEME: "internal"}, None, True),
        # The AWS Load Balancer Controller: internal unless the scheme says internet-facing (annotations.md,
        # "aws-load-balancer-scheme: default internal"; nlb.md, "Secure by default" since v2.2.0).
        ({TYPE: "external"}, None, False),
        ({TYPE: "external", SCHEME: "internet-facing"}, None, True),
        ({TYPE: "external", SCHEME: "internal"}, None, False),
        ({TYPE: "nlb-ip", SCHEME: "internet-facing"}, None, True),
        ({SCHEME: "internet-facing"}, "service.k8s.aws/nlb", True),
        ({}, "service.k8s.aws/nlb", False),
    ],
)
def test_an_nlb_pays_for_public_addresses_only_where_its_controller_makes_it_internet_facing(
    dev: PlanQuery, annotations: dict[str, str], load_balancer_class: str | None, public: bool
) -> None:
    """Catches: an internal NLB priced with public IPv4 addresses it does not have (the Load Balancer Controller's
    default scheme is internal), an internet-facing one priced without them, or a controller-owned NLB
    (`aws-load-balancer-type: external`, or its load balancer class) taken for a Classic Load Balancer without a
    price, so that the NLB drops out of the total."""
    changed = with_ingress_annotations(dev.plan, annotations)
    if load_balancer_class:
        release = next(r for r in changed["resources"] if r["name"] == "ingress-release")
        release["inputs"]["values"]["controller"]["service"]["loadBalancerClass"] = load_balancer_class
    report = estimate(PlanQuery(changed), load_prices(), DEFAULTS)
    lines = [ln for ln in report.lines if ln.resource == "ingress-release"]
    assert lines[0].item == "Network Load Balancer" and lines[0].monthly_usd is not None
    addresses = [ln for ln in lines if "public IPv4 addresses" in ln.item]
    assert bool(addresses) is public
    if public:
        assert addresses[0].item == "3 public IPv4 addresses of the NLB" and addresses[0].monthly_usd is not None
    assert report.unpriced == () or all(ln.resource != "ingress-release" for ln in report.unpriced)


def test_a_claim_without_a_storage_class_is_priced_on_the_default_class(dev: PlanQuery) -> None:
    """Kubernetes gives a claim without storageClassName the class annotated
    storageclass.kubernetes.io/is-default-class (kubernetes.io/docs/concepts/storage/persistent-volumes,
    "Class"). The claim's own class is made non-EBS here, so only the default class can price it.
    Catches: such a claim left unpriced, or priced on whichever class comes first."""
    changed = copy.deepcopy(dev.plan)
    # The default class first: a claim that names its own class must still be priced on that one (near miss).
    changed["resources"].sort(key=lambda r: r["name"] != "storage-gp3")
    own = next(r for r in changed["resources"] if r["name"] == "storage-ebs-pvc-gp3")
    own["inputs"]["provisioner"] = "efs.csi.aws.com"
    named = line(estimate(PlanQuery(changed), load_prices(), DEFAULTS), "storage-ebs-pvc", "volume for claim ebs-pvc")
    assert named.monthly_usd is None and "provisioner efs.csi.aws.com is not EBS" in named.note
    claim = next(r for r in changed["resources"] if r["type"] == "kubernetes:core/v1:PersistentVolumeClaim")
    del claim["inputs"]["spec"]["storageClassName"]
    volume = line(estimate(PlanQuery(changed), load_prices(), DEFAULTS), "storage-ebs-pvc", "4 GiB gp3")
    assert volume.monthly_usd is not None
    default = next(r for r in changed["resources"] if r["name"] == "storage-gp3")
    del default["inputs"]["metadata"]["annotations"]
    unpriced = line(estimate(PlanQuery(changed), load_prices(), DEFAULTS), "storage-ebs-pvc", "volume for claim ebs-pvc")
    assert unpriced.monthly_usd is None and "no default StorageClass is in the plan" in unpriced.note
