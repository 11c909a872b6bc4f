"""The price file is read strictly: every figure has a source and a date, and any mistake is one line."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from offline.analyses.prices import PRICE_FILE, PriceFileError, UnknownRegion, load_prices, unit_of

# The regions the price file covers, as the message lists them (ap-south-1 is not among them).
PRICED_REGIONS = ", ".join(sorted(json.loads(PRICE_FILE.read_text())["regions"]))


def shipped() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(PRICE_FILE.read_text())
    return document


def write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "aws.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def test_shipped_file_loads_and_every_figure_names_a_source_and_date() -> None:
    book = load_prices()
    region = book.region("eu-central-1")
    assert region.prices, "eu-central-1 is the shipped stacks' region"
    for price in region.prices.values():
        assert price.source.startswith("https://")
        assert price.date <= book.as_of
        assert unit_of(price.id) == price.unit


def test_every_price_the_estimate_uses_is_either_sourced_or_explained() -> None:
    """A figure without a source must be listed under notSourced with a reason, so 'no price' can say why."""
    region = load_prices().region("eu-central-1")
    wanted = {"eks.cluster.standard", "eks.cluster.extended", "ebs.gp3.storage", "vpc.public-ipv4", "kms.key"}
    wanted |= {"vpc.nat-gateway.hour", "vpc.nat-gateway.data", "elb.nlb.hour", "elb.nlb.nlcu", "logs.ingestion", "logs.storage"}
    wanted |= {"ec2.t3.medium", "ec2.t3a.medium", "ec2.m6i.large"}
    assert wanted <= set(region.prices) | set(region.not_sourced)


def test_prices_are_exact_decimals() -> None:
    assert load_prices().region("eu-central-1").prices["ebs.gp3.storage"].usd == Decimal("0.0952")


def test_unknown_region_names_the_regions_that_have_prices() -> None:
    with pytest.raises(UnknownRegion) as caught:
        load_prices().region("ap-south-1")
    assert str(caught.value) == f"no prices for region 'ap-south-1' in aws.json (regions with prices: {PRICED_REGIONS})"


def with_price(**fields: Any) -> dict[str, Any]:
    document = shipped()
    entry = document["regions"]["eu-central-1"]["prices"]["kms.key"]
    entry.update(fields)
    for key in [key for key, value in fields.items() if value is None]:
        del entry[key]
    return document


def mutated(change: Any) -> dict[str, Any]:
    document = shipped()
    change(document)
    return document


BAD: list[tuple[str, Any, str]] = [
    ("not JSON", "{", "not valid JSON"),
    ("duplicate key", '{"schema": 1, "schema": 1}', "appears twice"),
    ("not an object", "[]", "the top level must be an object"),
    ("negative price", with_price(usd=-1), "usd must be a number >= 0"),
    ("text price", with_price(usd="1.00"), "usd must be a number >= 0"),
    ("no source", with_price(source=None), "lacks 'source'"),
    ("plain http source", with_price(source="http://aws.amazon.com/kms/pricing/"), "must be an https:// URL"),
    ("no date", with_price(date=None), "lacks 'date'"),
    ("bad date", with_price(date="2026-02-30"), "must be a date YYYY-MM-DD"),
    ("wrong unit", with_price(unit="key-hour"), "must be 'key-month'"),
    ("unknown field", with_price(region="eu"), "unknown field 'region'"),
    ("unknown price id", mutated(lambda d: d["regions"]["eu-central-1"]["prices"].update(lambda_=1)), "not a price id"),
    (
        "priced and not sourced",
        mutated(lambda d: d["regions"]["eu-central-1"]["notSourced"].update({"kms.key": "unknown"})),
        "either sourced or not",
    ),
    ("bad region name", mutated(lambda d: d["regions"].update(frankfurt=d["regions"]["eu-central-1"])), "not an AWS region name"),
    ("no regions", mutated(lambda d: d.update(regions={})), "regions must be a non-empty object"),
    ("short month", mutated(lambda d: d.update(hoursPerMonth=671)), "hoursPerMonth must be a whole number"),
    ("long month", mutated(lambda d: d.update(hoursPerMonth=745)), "hoursPerMonth must be a whole number"),
    ("other currency", mutated(lambda d: d.update(currency="EUR")), "currency must be 'USD'"),
]


@pytest.mark.parametrize(("case", "document", "words"), BAD, ids=[case for case, _, _ in BAD])
def test_malformed_file_is_one_line_naming_the_field(tmp_path: Path, case: str, document: Any, words: str) -> None:
    with pytest.raises(PriceFileError) as caught:
        load_prices(write(tmp_path, document))
    message = str(caught.value)
    assert words in message and "\n" not in message


@pytest.mark.parametrize("hours", [672, 744])
def test_the_shortest_and_the_longest_month_are_allowed(tmp_path: Path, hours: int) -> None:
    """28 days (672 h) and 31 days (744 h): a price file for a February or a July bill. Catches: a bound off by
    one either way (744 refused, so a 31-day month could not be priced)."""
    assert load_prices(write(tmp_path, mutated(lambda d: d.update(hoursPerMonth=hours)))).hours_per_month == hours


def test_boundaries_that_are_allowed(tmp_path: Path) -> None:
    """A free figure, a whole-number price and the shortest month are valid."""
    document = with_price(usd=0)
    document["hoursPerMonth"] = 672
    document["regions"]["eu-central-1"]["prices"]["vpc.public-ipv4"]["usd"] = 1
    book = load_prices(write(tmp_path, document))
    region = book.region("eu-central-1")
    assert region.prices["kms.key"].usd == 0
    assert region.prices["vpc.public-ipv4"].usd == Decimal(1)
    assert book.hours_per_month == 672


def test_unreadable_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(PriceFileError) as caught:
        load_prices(tmp_path / "missing.json")
    assert "cannot read" in str(caught.value)


def test_not_sourced_reason_is_what_no_price_says(tmp_path: Path) -> None:
    document = copy.deepcopy(shipped())
    region = document["regions"]["eu-central-1"]
    del region["prices"]["ec2.t3.medium"]
    region["notSourced"]["ec2.t3.medium"] = "no source found that states the eu-central-1 On-Demand rate"
    prices = load_prices(write(tmp_path, document)).region("eu-central-1")
    assert prices.why_missing("ec2.t3.medium").startswith("not sourced for eu-central-1: no source found")
    assert prices.why_missing("ec2.x9.large") == "not in the price file for eu-central-1"


def test_copy_of_shipped_file_round_trips(tmp_path: Path) -> None:
    assert load_prices(write(tmp_path, copy.deepcopy(shipped()))).as_of == load_prices().as_of
