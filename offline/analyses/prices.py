"""The price file (data/prices/aws.json), read strictly: every figure with its source and date, or none at all.

A malformed file stops with one `PriceFileError` line naming the field; a region the file has no prices for
raises `UnknownRegion`. Figures are `Decimal`, so an estimate is exact arithmetic on what the file says.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from offline.analyses.sourced_data import FieldReader

PRICE_FILE = Path(__file__).resolve().parents[2] / "data" / "prices" / "aws.json"

# Price ids the estimate uses, with the unit their figure is per.
FIXED_UNITS = {
    "eks.cluster.standard": "cluster-hour",
    "eks.cluster.extended": "cluster-hour",
    "vpc.nat-gateway.hour": "gateway-hour",
    "vpc.nat-gateway.data": "GB",
    "vpc.public-ipv4": "address-hour",
    "elb.nlb.hour": "lb-hour",
    "elb.nlb.nlcu": "NLCU-hour",
    "kms.key": "key-month",
    "logs.ingestion": "GB",
    "logs.storage": "GB-month",
}
_EC2 = re.compile(r"^ec2\.[a-z][a-z0-9-]*\.[a-z0-9-]+$")
_EBS = re.compile(r"^ebs\.(gp2|gp3|io1|io2|st1|sc1|standard)\.storage$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$")
_VERSION = re.compile(r"^1\.[0-9]{2}$")


class PriceError(Exception):
    """A problem with prices, reported as one line."""


class PriceFileError(PriceError):
    """The price file is unreadable or malformed."""


class UnknownRegion(PriceError):
    """The price file has no prices for the region."""


@dataclass(frozen=True)
class Price:
    id: str
    usd: Decimal
    unit: str
    source: str
    date: date
    note: str


@dataclass(frozen=True)
class RegionPrices:
    name: str
    prices: Mapping[str, Price]
    not_sourced: Mapping[str, str]

    def get(self, price_id: str) -> Price | None:
        return self.prices.get(price_id)

    def why_missing(self, price_id: str) -> str:
        reason = self.not_sourced.get(price_id)
        return f"not sourced for {self.name}: {reason}" if reason else f"not in the price file for {self.name}"


@dataclass(frozen=True)
class PriceBook:
    path: Path
    currency: str
    hours_per_month: int
    as_of: date
    regions: Mapping[str, RegionPrices]

    def region(self, name: str) -> RegionPrices:
        if name not in self.regions:
            known = ", ".join(sorted(self.regions))
            raise UnknownRegion(f"no prices for region {name!r} in {self.path.name} (regions with prices: {known})")
        return self.regions[name]


def unit_of(price_id: str) -> str | None:
    """The unit a price id's figure is per, or None for an id the estimate does not know."""
    if price_id in FIXED_UNITS:
        return FIXED_UNITS[price_id]
    if _EC2.match(price_id):
        return "instance-hour"
    if _EBS.match(price_id):
        return "GB-month"
    return None


def _price(reader: FieldReader, price_id: str, entry: Any, where: str) -> Price:
    expected_unit = unit_of(price_id)
    if expected_unit is None:
        raise reader.fail(
            where, "is not a price id the estimate knows (ec2.<type>, ebs.<type>.storage, or " + ", ".join(FIXED_UNITS) + ")"
        )
    fields = reader.fields(entry, where, {"usd", "unit", "source", "date"}, {"note"})
    usd = Decimal(fields["usd"]) if type(fields["usd"]) is int else fields["usd"]
    if not isinstance(usd, Decimal) or not usd.is_finite() or usd < 0:
        raise reader.fail(f"{where}.usd", f"must be a number >= 0, got {usd!r}")
    if fields["unit"] != expected_unit:
        raise reader.fail(f"{where}.unit", f"must be {expected_unit!r}, got {fields['unit']!r}")
    note = reader.text(fields["note"], f"{where}.note") if "note" in fields else ""
    return Price(
        price_id,
        usd,
        expected_unit,
        reader.url(fields["source"], f"{where}.source"),
        reader.day(fields["date"], f"{where}.date"),
        note,
    )


def _region(reader: FieldReader, name: str, entry: Any) -> RegionPrices:
    where = f"regions.{name}"
    if not _REGION.match(name):
        raise reader.fail(where, "is not an AWS region name such as eu-central-1")
    fields = reader.fields(entry, where, {"prices", "notSourced"})
    prices_field = reader.mapping(fields["prices"], f"{where}.prices")
    prices = {price_id: _price(reader, price_id, value, f"{where}.prices.{price_id}") for price_id, value in prices_field.items()}
    not_sourced: dict[str, str] = {}
    for price_id, reason in reader.mapping(fields["notSourced"], f"{where}.notSourced").items():
        if unit_of(price_id) is None:
            raise reader.fail(f"{where}.notSourced.{price_id}", "is not a price id the estimate knows")
        if price_id in prices:
            raise reader.fail(f"{where}.notSourced.{price_id}", "also has a price; a figure is either sourced or not")
        not_sourced[price_id] = reader.text(reason, f"{where}.notSourced.{price_id}")
    return RegionPrices(name, prices, not_sourced)


def load_prices(path: Path = PRICE_FILE) -> PriceBook:
    reader = FieldReader(path, PriceFileError)
    top = reader.fields(
        reader.load(),
        "the top level",
        {"schema", "currency", "hoursPerMonth", "asOf", "regions"},
        {"about"},
    )
    if top["schema"] != 1:
        raise reader.fail("schema", f"must be 1, got {top['schema']!r}")
    if top["currency"] != "USD":
        raise reader.fail("currency", f"must be 'USD', got {top['currency']!r}")
    hours = top["hoursPerMonth"]
    if not isinstance(hours, int) or isinstance(hours, bool) or not 672 <= hours <= 744:
        raise reader.fail("hoursPerMonth", f"must be a whole number of hours in a month (672 to 744), got {hours!r}")
    region_entries = reader.mapping(top["regions"], "regions", "a non-empty object of region name to prices")
    regions = {name: _region(reader, name, entry) for name, entry in region_entries.items()}
    return PriceBook(path, "USD", hours, reader.day(top["asOf"], "asOf"), regions)
