"""Regenerate a region's figures in data/prices/aws.json from the AWS Price List Query API.

    .venv/bin/python scripts/refresh_prices.py --region eu-central-1 [--instance-types m7i.large ...]

Needs AWS credentials allowed `pricing:GetProducts` and boto3 (pinned in requirements-dev.txt: `make venv`).
The API answers from us-east-1 whatever region is priced.
Each figure comes from exactly one On-Demand price dimension; a query that matches no product, or more
than one, leaves the figure out (listed under notSourced with the reason) rather than picking one.
The file is rewritten only after the result passes the same strict loader the estimate uses.
Exit codes: 0 written, 2 bad input or an API failure (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from offline.analyses.prices import PRICE_FILE, PriceFileError, load_prices, unit_of  # noqa: E402
from offline.analyses.sourced_data import FieldReader  # noqa: E402
from offline.plan.stack_files import StackFileError, available_stacks, project_name, stack_config  # noqa: E402

API_DOC = "https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_pricing_GetProducts.html"
PRICING_ENDPOINT_REGION = "us-east-1"


class RefreshError(Exception):
    """A failure reported as one line, exit code 2."""


class PricingClient(Protocol):
    def get_products(self, **kwargs: Any) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class Query:
    price_id: str
    service: str
    filters: tuple[tuple[str, str], ...]
    # Picks the product among those the filters return, from its attributes.
    select: Callable[[Mapping[str, str]], bool]


def _usage_is(suffix: str) -> Callable[[Mapping[str, str]], bool]:
    # Usage types carry a region prefix ("EUC1-NatGateway-Hours"); the rest names the charge.
    return lambda attributes: attributes.get("usagetype", "").split("-", 1)[-1] == suffix


def _usage_mentions(word: str) -> Callable[[Mapping[str, str]], bool]:
    return lambda attributes: word in attributes.get("usagetype", "").lower()


def _any(attributes: Mapping[str, str]) -> bool:
    return True


def queries(region: str, instance_types: list[str]) -> list[Query]:
    here = (("regionCode", region),)
    ec2 = [
        Query(
            f"ec2.{kind}",
            "AmazonEC2",
            (
                *here,
                ("instanceType", kind),
                ("operatingSystem", "Linux"),
                ("tenancy", "Shared"),
                ("preInstalledSw", "NA"),
                ("capacitystatus", "Used"),
                ("licenseModel", "No License required"),
            ),
            _any,
        )
        for kind in instance_types
    ]
    return [
        *ec2,
        Query("eks.cluster.standard", "AmazonEKS", here, _usage_is("AmazonEKS-Hours:perCluster")),
        Query("eks.cluster.extended", "AmazonEKS", here, _usage_mentions("extended")),
        Query("ebs.gp3.storage", "AmazonEC2", (*here, ("productFamily", "Storage"), ("volumeApiName", "gp3")), _any),
        Query("vpc.nat-gateway.hour", "AmazonEC2", (*here, ("productFamily", "NAT Gateway")), _usage_is("NatGateway-Hours")),
        Query("vpc.nat-gateway.data", "AmazonEC2", (*here, ("productFamily", "NAT Gateway")), _usage_is("NatGateway-Bytes")),
        Query("vpc.public-ipv4", "AmazonVPC", here, _usage_is("PublicIPv4:InUseAddress")),
        Query("elb.nlb.hour", "AWSELB", (*here, ("productFamily", "Load Balancer-Network")), _usage_is("LoadBalancerUsage")),
        Query("elb.nlb.nlcu", "AWSELB", (*here, ("productFamily", "Load Balancer-Network")), _usage_is("LCUUsage")),
        Query("kms.key", "awskms", here, _usage_is("KMS-Keys")),
        Query("logs.ingestion", "AmazonCloudWatch", here, _usage_is("DataProcessing-Bytes")),
        Query("logs.storage", "AmazonCloudWatch", here, _usage_is("TimedStorage-ByteHrs")),
    ]


def products(client: PricingClient, query: Query) -> Iterator[dict[str, Any]]:
    """Every product the filters match, following NextToken; PriceList items are JSON strings."""
    request: dict[str, Any] = {
        "ServiceCode": query.service,
        "Filters": [{"Type": "TERM_MATCH", "Field": field, "Value": value} for field, value in query.filters],
        "FormatVersion": "aws_v1",
        "MaxResults": 100,
    }
    while True:
        page = client.get_products(**request)
        for item in page.get("PriceList", []):
            yield json.loads(item) if isinstance(item, str) else item
        token = page.get("NextToken")
        if not token:
            return
        request["NextToken"] = token


def price_entry(query: Query, found: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, str]:
    """The price file entry for a query's products, or None and why not."""
    chosen = [p for p in found if query.select(p.get("product", {}).get("attributes", {}))]
    if len(chosen) != 1:
        return None, f"the Price List API returned {len(chosen)} matching products for {query.service} {dict(query.filters)}"
    product = chosen[0]
    terms = list((product.get("terms", {}).get("OnDemand") or {}).values())
    dimensions = [d for term in terms for d in (term.get("priceDimensions") or {}).values()]
    if len(terms) != 1 or len(dimensions) != 1 or "USD" not in dimensions[0].get("pricePerUnit", {}):
        sku = product.get("product", {}).get("sku")
        return None, f"product {sku} has {len(dimensions)} On-Demand price dimensions, expected one in USD"
    dimension, term = dimensions[0], terms[0]
    sku = product.get("product", {}).get("sku", "?")
    entry = {
        "usd": Decimal(dimension["pricePerUnit"]["USD"]).normalize(),
        "unit": unit_of(query.price_id),
        "source": API_DOC,
        "date": str(term.get("effectiveDate", ""))[:10],
        "note": f"AWS Price List Query API, {query.service} SKU {sku}: {dimension.get('description', '').strip()}",
    }
    return entry, ""


def stack_instance_types(project_dir: Path = ROOT) -> list[str]:
    """Every instance type any pool of any stack file names (the Pulumi.yaml default when a stack sets no nodeGroups)."""
    project = project_name(project_dir)
    kinds: set[str] = set()
    for stack in available_stacks(project_dir):
        pools = json.loads(stack_config(project_dir, stack).get(f"{project}:nodeGroups", "{}"))
        if not isinstance(pools, dict):
            raise RefreshError(f"Pulumi.{stack}.yaml: {project}:nodeGroups must be an object of pools")
        for name, pool in pools.items():
            types = pool.get("instanceTypes") if isinstance(pool, dict) else None
            if not isinstance(types, list) or not all(isinstance(kind, str) for kind in types):
                raise RefreshError(f"Pulumi.{stack}.yaml: pool {name!r} must list instanceTypes as strings")
            kinds.update(types)
    return sorted(kinds)


def _dump(document: Any) -> str:
    # Prices have few digits, so a float's shortest repr is the same decimal and reads back exactly.
    return json.dumps(document, indent=2, default=lambda value: float(value) if isinstance(value, Decimal) else str(value)) + "\n"


def refresh(
    client: PricingClient, region: str, instance_types: list[str], path: Path = PRICE_FILE, today: date | None = None
) -> list[str]:
    """Rewrite `region` in the price file from the API; returns what was left out, one line each."""
    document = FieldReader(path, PriceFileError).load()
    load_prices(path)  # refuse to start from a malformed file
    previous = document["regions"].get(region, {"prices": {}, "notSourced": {}})
    prices: dict[str, Any] = {}
    not_sourced: dict[str, str] = {}
    for query in queries(region, instance_types):
        try:
            entry, reason = price_entry(query, list(products(client, query)))
        except Exception as error:  # the API client raises its own exception types
            raise RefreshError(f"GetProducts for {query.price_id} failed: {error}") from None
        if entry is not None:
            prices[query.price_id] = entry
        elif query.price_id in previous["prices"]:
            prices[query.price_id] = previous["prices"][query.price_id]
        else:
            not_sourced[query.price_id] = reason
    document["regions"][region] = {"prices": dict(sorted(prices.items())), "notSourced": dict(sorted(not_sourced.items()))}
    document["asOf"] = (today or date.today()).isoformat()
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".json", delete=False) as handle:
        handle.write(_dump(document))
        candidate = Path(handle.name)
    try:
        load_prices(candidate)
    except PriceFileError as error:
        candidate.unlink()
        raise RefreshError(f"refusing to write a price file the estimate would reject: {error}") from None
    os.replace(candidate, path)
    return [f"{price_id}: {reason}" for price_id, reason in not_sourced.items()]


def pricing_client() -> PricingClient:
    try:
        import boto3
    except ImportError:
        raise RefreshError("boto3 is not installed; run `make venv` (requirements-dev.txt pins it)") from None
    client: PricingClient = boto3.client("pricing", region_name=PRICING_ENDPOINT_REGION)
    return client


def main(argv: list[str] | None = None, client: PricingClient | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="refresh-prices", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--region", required=True, help="AWS region to price, such as eu-central-1")
    parser.add_argument("--instance-types", nargs="*", default=[], help="instance types to price besides those the stacks use")
    parser.add_argument("--prices", type=Path, default=PRICE_FILE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        document = FieldReader(args.prices, PriceFileError).load()
        known = {
            p.split(".", 1)[1] for r in document.get("regions", {}).values() for p in r.get("prices", {}) if p.startswith("ec2.")
        }
        kinds = sorted({*stack_instance_types(), *known, *args.instance_types})
        left_out = refresh(client or pricing_client(), args.region, kinds, args.prices)
    except (RefreshError, PriceFileError, StackFileError) as error:
        print(f"refresh-prices: {error}", file=sys.stderr)
        return 2
    print(f"Wrote {args.prices} for {args.region}")
    for line in left_out:
        print(f"  no price: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
