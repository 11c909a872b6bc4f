"""Monthly cost estimate of a plan.

Prices come from data/prices/aws.json (offline/analyses/prices.py), usage the plan cannot show (NAT traffic, log
volume, NLB capacity units, Spot discount) from the stack's `cost*` config keys. A month is the price file's
`hoursPerMonth` (730). Anything billed without a sourced figure is listed with "no price", never guessed,
and stays out of the total.

Input: the plan object, the price book and the stack's usage assumptions; output: a `CostReport` (`make cost`,
`make offline-preview` and the pull-request report print it; the plan diff compares two).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from components.shared.versions import SUPPORT_CALENDAR
from offline.analyses.prices import PriceBook, RegionPrices
from offline.plan.query import PlanQuery, Resource, load_balancer_services
from offline.plan.stack_files import PROJECT_DIR, StackFileError, project_name, stack_config

if TYPE_CHECKING:
    # Imported lazily elsewhere: importing the program's settings early would pin it before a preview runs.
    from settings import CostAssumptions


EBS_PROVISIONERS = ("ebs.csi.aws.com", "kubernetes.io/aws-ebs")
TYPE_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-type"
INTERNAL_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-internal"
SCHEME_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-scheme"
# The AWS Load Balancer Controller makes the NLB of a Service of these types, or of its load balancer class
# (kubernetes-sigs/aws-load-balancer-controller docs/guide/service/nlb.md); EKS's in-tree controller makes it for "nlb".
CONTROLLER_NLB_TYPES = ("external", "nlb-ip")
CONTROLLER_NLB_CLASS = "service.k8s.aws/nlb"
NLB_TYPES = ("nlb", *CONTROLLER_NLB_TYPES)
SCHEME_SOURCES = (
    "aws-load-balancer-controller docs/guide/service/annotations.md (scheme: default internal since v2.2.0); "
    "kubernetes/cloud-provider-aws pkg/providers/v1/aws.go EnsureLoadBalancer (internal unless the annotation is "
    'empty or "false"; no scheme annotation)'
)
NLB_PUBLIC_IPS_SOURCE = "https://docs.aws.amazon.com/elasticloadbalancing/latest/network/availability-zones.html"
HELM_TYPES = ("kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart")
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
# Usage-billed services the price file has no figure for: listed under "no price", never guessed.
PER_REQUEST = {
    "aws:sqs/queue:Queue": ("SQS queue requests", "requests", "https://aws.amazon.com/sqs/pricing/"),
    "aws:cloudwatch/eventRule:EventRule": ("EventBridge rule events", "events", "https://aws.amazon.com/eventbridge/pricing/"),
}


class CostInputError(Exception):
    """A plan or stack the estimate cannot read, reported as one line."""


@dataclass(frozen=True)
class CostLine:
    resource: str
    urn: str
    item: str
    quantity: Decimal
    unit: str
    price_id: str
    unit_usd: Decimal | None
    monthly_usd: Decimal | None
    note: str = ""
    # Demand-driven capacity (an autoscaled pool, a Karpenter pool): the monthly cost at its smallest and at its
    # configured limit; the high end is None when the limit or a price is missing. monthly_usd is the plan's size.
    range_usd: tuple[Decimal, Decimal | None] | None = None


@dataclass(frozen=True)
class CostReport:
    stack: str
    region: str
    on: date
    prices_as_of: date
    hours_per_month: int
    lines: tuple[CostLine, ...]
    assumptions: tuple[str, ...]

    @property
    def total_usd(self) -> Decimal:
        """Monthly total of every line with a price; `unpriced` lists the rest."""
        return sum((line.monthly_usd for line in self.lines if line.monthly_usd is not None), Decimal(0))

    @property
    def unpriced(self) -> tuple[CostLine, ...]:
        return tuple(line for line in self.lines if line.monthly_usd is None)

    @property
    def demand_range(self) -> tuple[Decimal, Decimal | None] | None:
        """The monthly total with demand-driven capacity at its smallest and at its limits (None as the high end when
        a limit or a price is missing); None when nothing in the stack scales with demand."""
        if not any(line.range_usd for line in self.lines):
            return None
        low, high = Decimal(0), Decimal(0)
        bounded = True
        for line in self.lines:
            if line.range_usd is not None:
                low += line.range_usd[0]
                bounded = bounded and line.range_usd[1] is not None
                high += line.range_usd[1] or Decimal(0)
            elif line.monthly_usd is not None:
                low, high = low + line.monthly_usd, high + line.monthly_usd
            else:
                bounded = False  # an item without a price has no known top either
        return low, (high if bounded else None)

    def figure(self, with_range: bool = True) -> str:
        """The monthly figure as it may be read: exact when every item is priced, else only a lower bound; with
        the range demand-driven capacity can move it through (unless `with_range` is off)."""
        point = _money(self.total_usd) if not self.unpriced else f"at least {_money(self.total_usd)}"
        spread = self.demand_range
        if spread is None or not with_range:
            return point
        low, high = spread
        top = _money(high) if high is not None else "no upper bound known"
        return f"{point} ({_money(low)} to {top} as demand-driven capacity moves)"

    def to_json(self) -> dict[str, Any]:
        def number(value: Decimal | None) -> float | None:
            return None if value is None else float(value)

        return {
            "stack": self.stack,
            "region": self.region,
            "on": self.on.isoformat(),
            "pricesAsOf": self.prices_as_of.isoformat(),
            "currency": "USD",
            "hoursPerMonth": self.hours_per_month,
            "totalUsd": float(self.total_usd),
            "demandRangeUsd": None if self.demand_range is None else [float(self.demand_range[0]), number(self.demand_range[1])],
            "unpricedItems": len(self.unpriced),
            "assumptions": list(self.assumptions),
            "lines": [
                {
                    "resource": line.resource,
                    "urn": line.urn,
                    "item": line.item,
                    "quantity": float(line.quantity),
                    "unit": line.unit,
                    "priceId": line.price_id,
                    "unitUsd": number(line.unit_usd),
                    "monthlyUsd": number(line.monthly_usd),
                    "rangeUsd": None if line.range_usd is None else [float(line.range_usd[0]), number(line.range_usd[1])],
                    "note": line.note,
                }
                for line in self.lines
            ],
        }


class _Pricer:
    """Turns quantities into lines, saying why when the price file has no figure."""

    def __init__(self, region: RegionPrices, assumptions: CostAssumptions) -> None:
        self.region = region
        self.assumptions = assumptions

    def line(
        self,
        resource: Resource,
        item: str,
        quantity: Decimal,
        unit: str,
        price_id: str,
        note: str = "",
        factor: Decimal = Decimal(1),
        between: tuple[Decimal, Decimal] | None = None,
    ) -> CostLine:
        """`between`: the quantity at the smallest and at the largest size demand can take it to."""
        price = self.region.get(price_id)
        if price is None:
            missing = f"no price: {self.region.why_missing(price_id)}"
            return CostLine(resource["name"], resource["urn"], item, quantity, unit, price_id, None, None, _join(note, missing))
        unit_usd = price.usd * factor
        spread = None if between is None else (between[0] * unit_usd, between[1] * unit_usd)
        return CostLine(
            resource["name"], resource["urn"], item, quantity, unit, price_id, unit_usd, quantity * unit_usd, note, spread
        )

    def unpriced(self, resource: Resource, item: str, quantity: Decimal, unit: str, price_id: str, note: str) -> CostLine:
        return CostLine(resource["name"], resource["urn"], item, quantity, unit, price_id, None, None, note)


def _join(*parts: str) -> str:
    return "; ".join(part for part in parts if part)


def _count(value: Any) -> Decimal:
    return Decimal(int(value)) if isinstance(value, int | float) and not isinstance(value, bool) else Decimal(0)


def plan_region(query: PlanQuery) -> str:
    regions = sorted({str(r["inputs"].get("region")) for r in query.of_type("pulumi:providers:aws") if r["inputs"].get("region")})
    if len(regions) != 1:
        found = ", ".join(regions) or "none"
        raise CostInputError(f"the plan must have AWS providers for exactly one region to price it, found: {found}")
    return regions[0]


def _gib(quantity: str) -> Decimal | None:
    """A Kubernetes storage quantity in whole GiB, rounded up (EBS sizes volumes in GiB); None if unreadable."""
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?", quantity.strip())
    if not match:
        return None
    factors = {
        "Ki": 2**10,
        "Mi": 2**20,
        "Gi": 2**30,
        "Ti": 2**40,
        "Pi": 2**50,
        "k": 10**3,
        "M": 10**6,
        "G": 10**9,
        "T": 10**12,
        "P": 10**15,
    }
    size = Decimal(match.group(1)) * factors.get(match.group(2) or "", 1)
    return (size / 2**30).to_integral_value(rounding=ROUND_CEILING)


def _control_plane(query: PlanQuery, cluster: Resource, pricer: _Pricer, book: PriceBook, on: date) -> Iterator[CostLine]:
    inputs = cluster["inputs"]
    version = str(inputs.get("version", ""))
    policy = inputs.get("upgradePolicy") or {}
    # pulumi-eks (and the EKS API) default the upgrade policy to EXTENDED support.
    support = str(policy.get("supportType", "EXTENDED")) if isinstance(policy, dict) else "EXTENDED"
    hours = Decimal(book.hours_per_month)
    window = SUPPORT_CALENDAR.get(version)
    ends = None if window is None else window.standard_ends
    if ends is None:
        yield pricer.unpriced(
            cluster,
            f"EKS control plane ({version or 'no version'})",
            hours,
            "h",
            "eks.cluster.standard",
            f"no price: no EKS support calendar for Kubernetes {version!r} (components/shared/versions.py)",
        )
    elif on <= ends:
        later = (
            f"in standard support until {ends}; with supportType EXTENDED it then pays the extended rate until upgraded"
            if support == "EXTENDED"
            else f"in standard support until {ends}; supportType STANDARD: EKS upgrades it then"
        )
        yield pricer.line(cluster, "EKS control plane, standard support", hours, "h", "eks.cluster.standard", later)
    elif support == "EXTENDED":
        yield pricer.line(
            cluster, "EKS control plane, extended support", hours, "h", "eks.cluster.extended", f"standard support ended {ends}"
        )
    else:
        yield pricer.line(
            cluster,
            "EKS control plane, standard support",
            hours,
            "h",
            "eks.cluster.standard",
            f"standard support ended {ends}; supportType STANDARD: EKS upgrades it to a supported version",
        )
    yield from _control_plane_logs(query, cluster, pricer)


def _control_plane_logs(query: PlanQuery, cluster: Resource, pricer: _Pricer) -> Iterator[CostLine]:
    log_types = cluster["inputs"].get("enabledClusterLogTypes") or []
    if not log_types:
        return
    ingest = Decimal(pricer.assumptions.log_ingest_gb_per_month)
    yield pricer.line(
        cluster,
        f"control-plane logs ingested ({len(log_types)} log types)",
        ingest,
        "GB",
        "logs.ingestion",
        "assumption: costLogIngestGBPerMonth",
    )
    group_name = f"/aws/eks/{cluster['inputs'].get('name')}/cluster"
    groups = [g for g in query.of_type("aws:cloudwatch/logGroup:LogGroup") if g["inputs"].get("name") == group_name]
    retention = groups[0]["inputs"].get("retentionInDays") if groups else None
    if not isinstance(retention, int | float) or isinstance(retention, bool) or retention <= 0:
        yield pricer.unpriced(
            cluster,
            "control-plane logs stored",
            ingest,
            "GB added per month",
            "logs.storage",
            f"no price: {group_name} keeps logs forever (EKS creates it without retention), so storage grows every month",
        )
        return
    # Steady state: the group holds the last `retention` days of logs.
    stored = ingest * Decimal(int(retention)) * 12 / 365
    yield pricer.line(
        groups[0],
        f"control-plane logs stored ({int(retention)}-day retention)",
        stored,
        "GB-month",
        "logs.storage",
        "steady state: monthly ingest x retention days x 12 / 365",
    )


def _launch_template(query: PlanQuery, node_group: Resource) -> Resource | None:
    templates = [
        query.find(urn)
        for urn in node_group["dependencies"]
        if (query.find(urn) or {}).get("type") == "aws:ec2/launchTemplate:LaunchTemplate"
    ]
    return templates[0] if templates else None


@dataclass(frozen=True)
class _Resizer:
    autoscaled: bool
    note: str


def _resizer(query: PlanQuery) -> _Resizer:
    """Who moves a managed node group's size, from the plan: only the Cluster Autoscaler does; Karpenter launches
    its own nodes and leaves the group (the system pool under `autoscaler: karpenter`) at its desired size."""
    charts = [r for kind in HELM_TYPES for r in query.of_type(kind)]
    autoscalers = [r for r in charts if str(r["inputs"].get("chart", "")).rsplit("/", 1)[-1] == "cluster-autoscaler"]
    if autoscalers:
        return _Resizer(True, f"the Cluster Autoscaler of {autoscalers[0]['name']} moves it")
    return _Resizer(False, "no Cluster Autoscaler in the plan, so nothing resizes it")


def _node_group(
    query: PlanQuery, node_group: Resource, pricer: _Pricer, book: PriceBook, assumptions: CostAssumptions, resizer: _Resizer
) -> Iterator[CostLine]:
    inputs = node_group["inputs"]
    scaling = inputs.get("scalingConfig") or {}
    count = _count(scaling.get("desiredSize"))
    types = [str(kind) for kind in inputs.get("instanceTypes") or []]
    capacity = str(inputs.get("capacityType") or "ON_DEMAND")
    low, high = _count(scaling.get("minSize")), _count(scaling.get("maxSize"))
    range_note = f"desired size {count} (min {low}, max {high}; {resizer.note})"
    hours = count * book.hours_per_month
    # Only a pool something resizes moves with demand; the range is from minSize to maxSize nodes.
    nodes = (low, high) if resizer.autoscaled and low != high else None
    if types:
        notes = [range_note]
        if len(types) > 1:
            notes.append(f"priced as {types[0]}, the first of {', '.join(types)}")
        factor = Decimal(1)
        if capacity == "SPOT":
            factor = Decimal(100 - assumptions.spot_discount_percent) / 100
            notes.append(f"SPOT: On-Demand minus {assumptions.spot_discount_percent}% (assumption: costSpotDiscountPercent)")
        between = None if nodes is None else (nodes[0] * book.hours_per_month, nodes[1] * book.hours_per_month)
        item = f"{count} x {types[0]} {capacity}"
        yield pricer.line(node_group, item, hours, "h", f"ec2.{types[0]}", _join(*notes), factor, between)
    else:
        yield pricer.unpriced(node_group, f"{count} nodes", hours, "h", "ec2", "no price: the node group names no instance type")
    template = _launch_template(query, node_group)
    mappings = (template or {}).get("inputs", {}).get("blockDeviceMappings") or []
    if not mappings:
        yield pricer.unpriced(
            node_group, "node root volumes", count, "volumes", "ebs", "no price: no launch template with a block device"
        )
    for mapping in mappings:
        ebs = mapping.get("ebs") or {}
        size = _count(ebs.get("volumeSize"))
        kind = str(ebs.get("volumeType") or "gp2")
        assert template is not None
        yield pricer.line(
            template,
            f"{count} x {size} GiB {kind} node root volumes",
            count * size,
            "GB-month",
            f"ebs.{kind}.storage",
            f"one per node ({mapping.get('deviceName', 'root')})",
            between=None if nodes is None else (nodes[0] * size, nodes[1] * size),
        )


def _requirement(requirements: Any, key: str) -> list[str]:
    if not isinstance(requirements, list):
        return []
    return [
        str(value)
        for requirement in requirements
        if isinstance(requirement, dict) and requirement.get("key") == key and requirement.get("operator") == "In"
        for value in requirement.get("values") or []
    ]


def _node_pool(pool: Resource, pricer: _Pricer, hours: Decimal) -> CostLine:
    """A Karpenter NodePool: no node until pods are pending for it, at most its node limit. Priced as a range from
    none to the limit of its most expensive listed type; without a limit, or a price for a type, no upper bound."""
    spec = pool["inputs"].get("spec") or {}
    requirements = ((spec.get("template") or {}).get("spec") or {}).get("requirements")
    types = _requirement(requirements, "node.kubernetes.io/instance-type")
    capacity = _requirement(requirements, "karpenter.sh/capacity-type")
    limit = str((spec.get("limits") or {}).get("nodes", ""))
    nodes = Decimal(int(limit)) if limit.isdigit() else None
    priced = {kind: price.usd for kind in types if (price := pricer.region.get(f"ec2.{kind}")) is not None}
    dearest = max(priced, key=lambda kind: priced[kind], default=None)
    missing = [kind for kind in types if kind not in priced]
    details = [f"capacity type {', '.join(capacity)}"] if capacity else []
    if "spot" in capacity:
        details.append("the upper bound at On-Demand prices")
    if nodes is None:
        details.append("no node limit (spec.limits.nodes), so no upper bound")
    elif not types:
        details.append("no instance types listed, so no upper bound")
    elif missing:
        details.append(f"no price for {', '.join(missing)}, so no upper bound")
    high: Decimal | None = None
    if nodes is not None and types and not missing and dearest is not None:
        high = nodes * hours * priced[dearest]
        details.append(f"the upper bound {limit} x {dearest}, the dearest of {', '.join(types)}")
    item = f"0 to {limit} nodes Karpenter launches on demand" if nodes is not None else "nodes Karpenter launches on demand"
    return CostLine(
        pool["name"],
        pool["urn"],
        item,
        Decimal(0),
        "h at rest",
        f"ec2.{dearest or (types[0] if types else '')}".rstrip("."),
        None,
        Decimal(0),
        _join(
            "no node runs until pods are pending for this pool",
            *details,
            "their root volumes are not in the range",
        ),
        (Decimal(0), high),
    )


def _per_request(resource: Resource, pricer: _Pricer) -> CostLine:
    item, unit, source = PER_REQUEST[resource["type"]]
    return pricer.unpriced(
        resource,
        item,
        Decimal(0),
        f"{unit} (not estimated)",
        resource["type"],
        f"not estimated: billed per use ({source}); neither its free tier nor its per-use price is in the price file",
    )


def _storage_class(query: PlanQuery, claim: Resource) -> Resource | None:
    classes = query.of_type("kubernetes:storage.k8s.io/v1:StorageClass")
    wanted = (claim["inputs"].get("spec") or {}).get("storageClassName")
    for storage_class in classes:
        metadata = storage_class["inputs"].get("metadata") or {}
        if wanted is None and (metadata.get("annotations") or {}).get("storageclass.kubernetes.io/is-default-class") == "true":
            return storage_class
        if wanted is not None and metadata.get("name") == wanted:
            return storage_class
    return None


def _claim(query: PlanQuery, claim: Resource, pricer: _Pricer) -> Iterator[CostLine]:
    spec = claim["inputs"].get("spec") or {}
    requested = str(((spec.get("resources") or {}).get("requests") or {}).get("storage", ""))
    size = _gib(requested)
    storage_class = _storage_class(query, claim)
    name = (claim["inputs"].get("metadata") or {}).get("name", claim["name"])
    if size is None:
        yield pricer.unpriced(
            claim, f"volume for claim {name}", Decimal(0), "GB-month", "ebs", f"no price: size {requested!r} unreadable"
        )
        return
    if storage_class is None:
        missing = "its StorageClass is" if spec.get("storageClassName") is not None else "no default StorageClass is"
        yield pricer.unpriced(claim, f"volume for claim {name}", size, "GB-month", "ebs", f"no price: {missing} in the plan")
        return
    provisioner = storage_class["inputs"].get("provisioner")
    if provisioner not in EBS_PROVISIONERS:
        yield pricer.unpriced(
            claim, f"volume for claim {name}", size, "GB-month", "ebs", f"no price: provisioner {provisioner} is not EBS"
        )
        return
    kind = (storage_class["inputs"].get("parameters") or {}).get("type")
    if not kind:
        # Which type a provisioner picks by default is not something this file has a source for.
        yield pricer.unpriced(
            claim, f"volume for claim {name}", size, "GB-month", "ebs", "no price: its StorageClass sets no type"
        )
        return
    yield pricer.line(
        claim,
        f"{size} GiB {kind} volume for claim {name}",
        size,
        "GB-month",
        f"ebs.{kind}.storage",
        "size rounded up to whole GiB",
    )


def internet_facing(service: Mapping[str, Any]) -> bool:
    """Whether the NLB of a LoadBalancer Service (its spec with its annotations) gets public addresses. The AWS
    Load Balancer Controller makes an internal NLB unless the scheme says internet-facing; EKS's in-tree controller
    makes an internet-facing one unless aws-load-balancer-internal is set (to anything but "false")."""
    annotations = service.get("annotations") or {}
    controller = (
        annotations.get(TYPE_ANNOTATION) in CONTROLLER_NLB_TYPES or service.get("loadBalancerClass") == CONTROLLER_NLB_CLASS
    )
    if controller:
        return annotations.get(SCHEME_ANNOTATION) == "internet-facing"
    return annotations.get(INTERNAL_ANNOTATION, "") in ("", "false")


def _load_balancers(
    query: PlanQuery, resource: Resource, pricer: _Pricer, book: PriceBook, assumptions: CostAssumptions
) -> Iterator[CostLine]:
    if resource["type"] == "kubernetes:core/v1:Service":
        spec = resource["inputs"].get("spec") or {}
        services = [{**spec, "annotations": (resource["inputs"].get("metadata") or {}).get("annotations") or {}}]
        services = [service for service in services if service.get("type") == "LoadBalancer"]
    else:
        services = list(load_balancer_services(resource["inputs"].get("values")))
    hours = Decimal(book.hours_per_month)
    for service in services:
        annotations = service.get("annotations") or {}
        is_nlb = annotations.get(TYPE_ANNOTATION) in NLB_TYPES or service.get("loadBalancerClass") == CONTROLLER_NLB_CLASS
        if not is_nlb:
            yield pricer.unpriced(
                resource,
                "Classic Load Balancer",
                hours,
                "h",
                "elb.classic",
                "no price: Classic Load Balancers are not in the price file",
            )
            continue
        yield pricer.line(resource, "Network Load Balancer", hours, "h", "elb.nlb.hour")
        units = Decimal(assumptions.nlb_capacity_units)
        yield pricer.line(
            resource,
            f"NLB capacity units ({units} NLCU on average)",
            units * hours,
            "NLCU-h",
            "elb.nlb.nlcu",
            "assumption: costNlbCapacityUnits",
        )
        if not internet_facing(service):
            continue
        zones = [
            s
            for s in query.of_type("aws:ec2/subnet:Subnet")
            if (s["inputs"].get("tags") or {}).get("kubernetes.io/role/elb") == "1"
        ]
        yield pricer.line(
            resource,
            f"{len(zones)} public IPv4 addresses of the NLB",
            len(zones) * hours,
            "address-h",
            "vpc.public-ipv4",
            f"internet-facing ({SCHEME_SOURCES}): one address per public subnet tagged kubernetes.io/role/elb "
            f"({NLB_PUBLIC_IPS_SOURCE})",
        )


def estimate(query: PlanQuery, prices: PriceBook, assumptions: CostAssumptions, on: date | None = None) -> CostReport:
    """The plan's monthly cost on day `on` (default: the price file's `asOf`, so the figure is reproducible)."""
    region_name = plan_region(query)
    pricer = _Pricer(prices.region(region_name), assumptions)
    day = on or prices.as_of
    hours = Decimal(prices.hours_per_month)
    lines: list[CostLine] = []
    gateways = query.of_type("aws:ec2/natGateway:NatGateway")
    resizer = _resizer(query)
    for resource in query.resources:
        kind = resource["type"]
        if kind == "eks:index:Cluster":
            lines.extend(_control_plane(query, resource, pricer, prices, day))
        elif kind == "aws:eks/nodeGroup:NodeGroup":
            lines.extend(_node_group(query, resource, pricer, prices, assumptions, resizer))
        elif kind == NODE_POOL:
            lines.append(_node_pool(resource, pricer, hours))
        elif kind in PER_REQUEST:
            lines.append(_per_request(resource, pricer))
        elif kind == "aws:ec2/natGateway:NatGateway":
            lines.append(pricer.line(resource, "NAT gateway", hours, "h", "vpc.nat-gateway.hour"))
            # Split the stack's traffic evenly, in whole GB, so the total does not depend on the gateway count.
            share, extra = divmod(assumptions.nat_data_gb_per_month, len(gateways))
            processed = Decimal(share + (1 if gateways.index(resource) < extra else 0))
            lines.append(
                pricer.line(
                    resource,
                    "NAT data processed",
                    processed,
                    "GB",
                    "vpc.nat-gateway.data",
                    f"assumption: costNatDataGBPerMonth split over {len(gateways)}",
                )
            )
        elif kind == "aws:ec2/eip:Eip":
            lines.append(pricer.line(resource, "public IPv4 address (Elastic IP)", hours, "address-h", "vpc.public-ipv4"))
        elif kind == "aws:kms/key:Key":
            rotation = (
                "automatic rotation adds $1/month per rotated key after a year"
                if resource["inputs"].get("enableKeyRotation")
                else ""
            )
            lines.append(pricer.line(resource, "KMS key", Decimal(1), "key-month", "kms.key", rotation))
        elif kind == "kubernetes:core/v1:PersistentVolumeClaim":
            lines.extend(_claim(query, resource, pricer))
        elif kind in (*HELM_TYPES, "kubernetes:core/v1:Service"):
            lines.extend(_load_balancers(query, resource, pricer, prices, assumptions))
    stated = (
        f"{prices.hours_per_month} hours per month",
        f"list prices as of {prices.as_of} (data/prices/aws.json); EKS support tier as on {day}",
        f"NAT gateways process {assumptions.nat_data_gb_per_month} GB per month in total (costNatDataGBPerMonth)",
        f"control-plane logs: {assumptions.log_ingest_gb_per_month} GB ingested per month (costLogIngestGBPerMonth)",
        f"Network Load Balancer: {assumptions.nlb_capacity_units} NLCU per hour on average (costNlbCapacityUnits)",
        f"SPOT nodes: {assumptions.spot_discount_percent}% below On-Demand (costSpotDiscountPercent)",
        "not estimated: data transfer out to the internet and between zones, EBS snapshots, CloudWatch metrics",
    )
    return CostReport(query.stack, region_name, day, prices.as_of, prices.hours_per_month, tuple(lines), stated)


def stack_assumptions(stack: str, project_dir: Path = PROJECT_DIR) -> CostAssumptions:
    """The stack's `cost*` keys as the CLI would apply them (Pulumi.yaml defaults, then the stack file)."""
    from settings import COST_KEYS, ConfigError, parse_cost_assumptions

    try:
        project = project_name(project_dir)
        config = stack_config(project_dir, stack)
        return parse_cost_assumptions({key: config[f"{project}:{key}"] for key in COST_KEYS if f"{project}:{key}" in config})
    except (StackFileError, ConfigError) as error:
        raise CostInputError(str(error)) from None


def _money(value: Decimal | None) -> str:
    return "no price" if value is None else f"${value.quantize(Decimal('0.01')):,}"


def _unit_price(line: CostLine) -> str:
    if line.unit_usd is None:
        return "no price"
    cents = line.unit_usd.quantize(Decimal("0.01"))
    figure = f"{cents:f}" if cents == line.unit_usd else f"{line.unit_usd.normalize():f}"
    return f"${figure}/{line.unit.split(' ')[0]}"


def _quantity(line: CostLine) -> str:
    return f"{line.quantity.quantize(Decimal('0.01')).normalize():f} {line.unit}"


def render_table(report: CostReport) -> str:
    rows = [(line.resource, line.item, _quantity(line), _unit_price(line), _money(line.monthly_usd)) for line in report.lines]
    header = ("resource", "item", "quantity", "unit price", "per month")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    out = [f"Monthly cost estimate for {report.stack} ({report.region}):"]
    out.extend("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in [header, *rows])
    if report.unpriced:
        out.append(f"  Total: {report.figure()} per month; {len(report.unpriced)} items not priced (not in the figure):")
    else:
        out.append(f"  Total: {_money(report.total_usd)} per month (every item priced)")
    out.extend(f"    {line.resource}: {line.item}: {line.note}" for line in report.unpriced)
    if report.demand_range is not None:
        low, high = report.demand_range
        top = _money(high) if high is not None else "no upper bound known"
        out.append(f"  With demand-driven capacity (autoscaled pools, Karpenter pools): {_money(low)} to {top} per month")
    out.append("  Assumptions: " + "; ".join(report.assumptions))
    return "\n".join(out)


def markdown_table(report: CostReport) -> str:
    out = [
        f"**{report.stack}** ({report.region}): **{report.figure()} per month**, "
        + (f"{len(report.unpriced)} items not priced." if report.unpriced else "every item priced."),
        "",
        "| resource | item | quantity | unit price | per month |",
        "|---|---|---|---|---|",
    ]
    out.extend(
        f"| {line.resource} | {line.item} | {_quantity(line)} | {_unit_price(line)} | {_money(line.monthly_usd)} |"
        for line in report.lines
    )
    return "\n".join(out)
