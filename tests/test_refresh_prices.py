"""scripts/refresh_prices.py against a fake `pricing` client answering like the AWS Price List Query API.

The response shape follows boto3's documented GetProducts result ({"FormatVersion", "PriceList": [JSON
string, ...], "NextToken"}, https://boto3.amazonaws.com/v1/documentation/api/latest/reference/services/pricing/client/get_products.html)
and each PriceList item the price list file layout (product.sku/attributes, terms.OnDemand.<term>.priceDimensions.
<rate>.pricePerUnit.USD, https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/bulk-api-reading-price-list-files.html).
All figures below are test inputs, not AWS prices.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from offline.analyses.cost import estimate
from offline.analyses.prices import PRICE_FILE, load_prices
from settings import CostAssumptions
from tests.conftest import FROZEN_PROJECT

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("refresh_prices", ROOT / "scripts" / "refresh_prices.py")
assert spec is not None and spec.loader is not None
refresh_prices = importlib.util.module_from_spec(spec)
sys.modules["refresh_prices"] = refresh_prices
spec.loader.exec_module(refresh_prices)


def product(sku: str, usd: str, unit: str, description: str, **attributes: str) -> str:
    return json.dumps(
        {
            "product": {"productFamily": attributes.pop("family", "x"), "sku": sku, "attributes": attributes},
            "serviceCode": "x",
            "terms": {
                "OnDemand": {
                    f"{sku}.JRTCKXETXF": {
                        "effectiveDate": "2026-11-01T00:00:00Z",
                        "priceDimensions": {
                            f"{sku}.JRTCKXETXF.6YS6EN2CT7": {
                                "unit": unit,
                                "pricePerUnit": {"USD": usd},
                                "description": description,
                                "beginRange": "0",
                                "endRange": "Inf",
                            }
                        },
                    }
                }
            },
            "version": "20261101000000",
            "publicationDate": "2026-11-01T00:00:00Z",
        }
    )


CATALOG: dict[str, list[str]] = {
    "AmazonEC2": [
        product("EC2MED", "0.0500000000", "Hrs", "$0.05 per On Demand Linux t3.medium Instance Hour", instanceType="t3.medium"),
        product("EC2A", "0.0450000000", "Hrs", "$0.045 per On Demand Linux t3a.medium Instance Hour", instanceType="t3a.medium"),
        product("GP3", "0.0900000000", "GB-Mo", "$0.09 per GB-month of gp3", volumeApiName="gp3"),
        product("NATH", "0.0500000000", "Hrs", "$0.05 per NAT Gateway Hour", usagetype="EUC1-NatGateway-Hours"),
        product("NATB", "0.0500000000", "GB", "$0.05 per GB Data Processed by NAT Gateways", usagetype="EUC1-NatGateway-Bytes"),
        product("RNAT", "0.0500000000", "Hrs", "regional NAT", usagetype="EUC1-RegionalNatGateway-Hours"),
    ],
    "AmazonEKS": [
        product("EKS", "0.1000000000", "Hrs", "per cluster hour", usagetype="EUC1-AmazonEKS-Hours:perCluster"),
        product("EKSX", "0.6000000000", "Hrs", "extended support", usagetype="EUC1-AmazonEKS-Hours:extendedSupport"),
    ],
    "AmazonVPC": [product("IP", "0.0050000000", "Hrs", "in-use public IPv4", usagetype="EUC1-PublicIPv4:InUseAddress")],
    "AWSELB": [
        product("NLB", "0.0300000000", "Hrs", "per NLB hour", usagetype="EUC1-LoadBalancerUsage"),
        product("NLCU", "0.0070000000", "LCU-Hrs", "per NLCU hour", usagetype="EUC1-LCUUsage"),
    ],
    "awskms": [product("KMS", "1.0000000000", "Keys", "per key", usagetype="eu-central-1-KMS-Keys")],
    # Two ingestion products: ambiguous on purpose, so the script must leave the figure out.
    "AmazonCloudWatch": [
        product("LOGS1", "0.6000000000", "GB", "ingestion a", usagetype="EUC1-DataProcessing-Bytes"),
        product("LOGS2", "0.3000000000", "GB", "ingestion b", usagetype="EUC1-DataProcessing-Bytes"),
        product("STORE", "0.0300000000", "GB-Mo", "storage", usagetype="EUC1-TimedStorage-ByteHrs"),
    ],
}


class FakePricing:
    """Answers GetProducts from CATALOG, filtering on the attributes the request names, one product per page."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_on = fail_on

    def get_products(self, **request: Any) -> Mapping[str, Any]:
        self.requests.append(request)
        if request["ServiceCode"] == self.fail_on:
            raise RuntimeError("An error occurred (AccessDeniedException) when calling the GetProducts operation")
        assert all(f["Type"] == "TERM_MATCH" for f in request["Filters"])
        wanted = {f["Field"]: f["Value"] for f in request["Filters"] if f["Field"] in ("instanceType", "volumeApiName")}
        matches = [
            item
            for item in CATALOG.get(request["ServiceCode"], [])
            if all(json.loads(item)["product"]["attributes"].get(k) == v for k, v in wanted.items())
        ]
        start = int(request.get("NextToken", "0"))
        page: dict[str, Any] = {"FormatVersion": "aws_v1", "PriceList": matches[start : start + 1]}
        if start + 1 < len(matches):
            page["NextToken"] = str(start + 1)
        return page


@pytest.fixture
def price_file(tmp_path: Path) -> Path:
    path = tmp_path / "aws.json"
    shutil.copy(PRICE_FILE, path)
    return path


def without(price_file: Path, *price_ids: str) -> Path:
    document = json.loads(price_file.read_text())
    for price_id in price_ids:
        del document["regions"]["eu-central-1"]["prices"][price_id]
    price_file.write_text(json.dumps(document))
    return price_file


def test_refresh_writes_figures_the_estimate_accepts(price_file: Path) -> None:
    without(price_file, "logs.ingestion", "ec2.m6i.large")
    client = FakePricing()
    left_out = refresh_prices.refresh(
        client, "eu-central-1", ["t3.medium", "t3a.medium", "m6i.large"], price_file, today=date(2026, 12, 1)
    )
    book = load_prices(price_file)
    region = book.region("eu-central-1")
    assert book.as_of == date(2026, 12, 1)
    assert region.prices["ec2.t3.medium"].usd == Decimal("0.05")
    assert region.prices["vpc.nat-gateway.hour"].usd == Decimal("0.05")  # the regional NAT product is not picked
    assert region.prices["eks.cluster.extended"].usd == Decimal("0.6")
    assert region.prices["elb.nlb.nlcu"].usd == Decimal("0.007")
    assert "SKU EC2MED" in region.prices["ec2.t3.medium"].note and region.prices["ec2.t3.medium"].date == date(2026, 11, 1)
    # Ambiguous or absent products are left out with the reason, never picked.
    assert "logs.ingestion" in region.not_sourced and "returned 2 matching products" in region.not_sourced["logs.ingestion"]
    assert "ec2.m6i.large" in region.not_sourced
    assert any(line.startswith("logs.ingestion:") for line in left_out)


def test_a_figure_the_api_no_longer_matches_uniquely_keeps_the_sourced_one_the_file_had(price_file: Path) -> None:
    previous = load_prices(price_file).region("eu-central-1").prices["logs.ingestion"]
    refresh_prices.refresh(FakePricing(), "eu-central-1", ["t3.medium"], price_file)
    assert load_prices(price_file).region("eu-central-1").prices["logs.ingestion"] == previous


def test_requests_filter_by_region_and_follow_next_token(price_file: Path) -> None:
    client = FakePricing()
    refresh_prices.refresh(client, "eu-central-1", ["t3.medium"], price_file)
    ec2 = [r for r in client.requests if r["ServiceCode"] == "AmazonEC2"]
    assert all({"Type": "TERM_MATCH", "Field": "regionCode", "Value": "eu-central-1"} in r["Filters"] for r in client.requests)
    assert any(r.get("NextToken") for r in client.requests), "NAT products come one per page"
    instance = next(r for r in ec2 if any(f["Field"] == "instanceType" for f in r["Filters"]))
    assert {f["Field"]: f["Value"] for f in instance["Filters"]}.items() >= {
        "operatingSystem": "Linux",
        "tenancy": "Shared",
        "capacitystatus": "Used",
    }.items()


def test_a_figure_the_api_does_not_return_keeps_its_sourced_value(price_file: Path) -> None:
    before = load_prices(price_file).region("eu-central-1").prices["kms.key"]
    del CATALOG["awskms"][0:1]
    try:
        refresh_prices.refresh(FakePricing(), "eu-central-1", [], price_file)
    finally:
        CATALOG["awskms"].append(product("KMS", "1.0000000000", "Keys", "per key", usagetype="eu-central-1-KMS-Keys"))
    assert load_prices(price_file).region("eu-central-1").prices["kms.key"] == before


def test_refreshed_prices_price_the_nodes(price_file: Path, dev: Any) -> None:
    refresh_prices.refresh(FakePricing(), "eu-central-1", ["t3.medium"], price_file)
    report = estimate(dev, load_prices(price_file), CostAssumptions(100, 5, 1, 0))
    nodes = next(line for line in report.lines if line.resource == "nodes-system-group")
    assert nodes.monthly_usd == 2 * 730 * Decimal("0.05")


def test_api_failure_is_one_line_and_leaves_the_file_alone(price_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    original = price_file.read_text()
    code = refresh_prices.main(["--region", "eu-central-1", "--prices", str(price_file)], client=FakePricing(fail_on="AmazonEKS"))
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(
        "refresh-prices: GetProducts for eks.cluster.standard failed: An error occurred (AccessDeniedException)"
    )
    assert price_file.read_text() == original


def test_missing_boto3_is_one_line(price_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)
    code = refresh_prices.main(["--region", "eu-central-1", "--prices", str(price_file)])
    err = capsys.readouterr().err
    assert code == 2 and "boto3 is not installed" in err and err.count("\n") == 1


def test_malformed_price_file_is_refused_before_any_request(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "aws.json"
    path.write_text('{"schema": 2}')
    client = FakePricing()
    code = refresh_prices.main(["--region", "eu-central-1", "--prices", str(path)], client=client)
    assert code == 2 and client.requests == []
    assert capsys.readouterr().err.count("\n") == 1


def test_instance_types_come_from_every_pool_of_every_stack_file() -> None:
    """Pools live under nodeGroups.<pool>.instanceTypes (Pulumi.yaml); the flat nodeInstanceTypes key is gone, so
    reading it refreshed no instance price at all. Karpenter pools count too: the estimate names their first type."""
    kinds = refresh_prices.stack_instance_types(FROZEN_PROJECT)
    assert kinds == sorted(set(kinds))
    assert {"t3.medium", "t3a.medium", "m6i.large", "m7g.large", "m7g.xlarge", "c7g.xlarge"} <= set(kinds)


def test_a_stack_without_node_groups_contributes_the_project_default(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").symlink_to(ROOT / "Pulumi.yaml")
    (tmp_path / "Pulumi.qa.yaml").write_text("config:\n  eks-platform:demoWorkloads: true\n")
    (tmp_path / "Pulumi.big.yaml").write_text(
        "config:\n  eks-platform:nodeGroups:\n    system: {instanceTypes: [m6i.large], minSize: 1, desiredSize: 1, maxSize: 2}\n"
        "    batch: {instanceTypes: [c7g.large, m6i.large], maxSize: 4}\n"
    )
    assert refresh_prices.stack_instance_types(tmp_path) == ["c7g.large", "m6i.large", "t3.medium"]


@pytest.mark.parametrize(
    ("node_groups", "words"),
    [
        ("[t3.medium]", "eks-platform:nodeGroups must be an object of pools"),
        ("{system: {instanceTypes: t3.medium, maxSize: 2}}", "pool 'system' must list instanceTypes as strings"),
    ],
)
def test_malformed_node_groups_are_one_line(tmp_path: Path, node_groups: str, words: str) -> None:
    (tmp_path / "Pulumi.yaml").symlink_to(ROOT / "Pulumi.yaml")
    (tmp_path / "Pulumi.qa.yaml").write_text(f"config:\n  eks-platform:nodeGroups: {node_groups}\n")
    with pytest.raises(refresh_prices.RefreshError) as caught:
        refresh_prices.stack_instance_types(tmp_path)
    assert str(caught.value) == f"Pulumi.qa.yaml: {words}"
