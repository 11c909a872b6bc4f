"""The price file covers the node types and regions people run EKS in: every figure priced, or explained."""

from __future__ import annotations

from decimal import Decimal

import pytest

from offline.analyses.prices import FIXED_UNITS, load_prices

REGIONS = ("eu-central-1", "eu-west-1", "us-east-1", "us-west-2")
BURSTABLE = ("t3", "t3a", "t4g")
FAMILIES = (
    *BURSTABLE,
    "m5", "m6i", "m6a", "m7i", "m7a", "m6g", "m7g",
    "c6i", "c7i", "c6g", "c7g",
    "r6i", "r7i", "r6g", "r7g",
)  # fmt: skip
SIZES = ("large", "xlarge", "2xlarge", "4xlarge")
# Each size up is twice the vCPUs and memory, and AWS prices it at twice the hourly rate.
STEPS = (("medium", "large"), ("large", "xlarge"), ("xlarge", "2xlarge"), ("2xlarge", "4xlarge"))


def sizes(family: str) -> tuple[str, ...]:
    return ("medium", *SIZES) if family in BURSTABLE else SIZES


def required(family: str, size: str) -> str:
    return f"ec2.{family}.{size}"


@pytest.mark.parametrize("region_name", REGIONS)
def test_every_required_item_is_priced_or_explained(region_name: str) -> None:
    book = load_prices()
    region = book.region(region_name)
    wanted = set(FIXED_UNITS) | {"ebs.gp3.storage"} | {required(f, s) for f in FAMILIES for s in sizes(f)}
    missing = sorted(wanted - set(region.prices) - {k for k, reason in region.not_sourced.items() if reason.strip()})
    assert not missing, f"{region_name}: neither priced nor explained under notSourced: {missing}"
    for price in region.prices.values():
        assert price.source.startswith("https://"), price.id
        assert price.date <= book.as_of, price.id


@pytest.mark.parametrize("region_name", REGIONS)
def test_every_instance_type_aws_sells_is_priced(region_name: str) -> None:
    """The EC2 figures come from AWS Price List data; only sizes AWS does not make may be left unpriced."""
    region = load_prices().region(region_name)
    unpriced = [required(f, s) for f in FAMILIES for s in sizes(f) if required(f, s) not in region.prices]
    assert unpriced == [required(f, "4xlarge") for f in BURSTABLE]
    for price_id in unpriced:
        assert "no " in region.not_sourced[price_id]


@pytest.mark.parametrize("region_name", REGIONS)
def test_each_size_up_costs_twice_the_size_below(region_name: str) -> None:
    """A cheap guard against a figure copied into the wrong size or region."""
    prices = load_prices().region(region_name).prices
    for family in FAMILIES:
        for smaller, larger in STEPS:
            low, high = prices.get(required(family, smaller)), prices.get(required(family, larger))
            if low is None or high is None:
                continue
            assert abs(high.usd / low.usd - 2) <= Decimal("0.01"), (family, smaller, larger, low.usd, high.usd)
