"""Whether a stack's zones exist, as far as can be known offline: the zones moto records per region.

The program asks AWS (getAvailabilityZones) at `pulumi preview` and refuses a zone AWS does not offer; the offline
engine cannot answer for AWS, so the offline preview compares the zones with moto's table instead and warns, since
that table may lag AWS (a zone opened since) and a refusal would then be a false alarm.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
from pathlib import Path

MOTO_ZONES = "moto/ec2/models/availability_zones_and_regions.py"


@functools.cache
def recorded_zones() -> dict[str, list[str]]:
    """The availability zones moto (a dev dependency, pinned) records per region in its EC2 model, read from its
    source without importing it (importing moto takes over a second per process). Regions moto only fills in with
    a, b and c by rule are left out: their zones are not known offline. Empty without moto."""
    spec = importlib.util.find_spec("moto")
    if spec is None or spec.origin is None:
        return {}
    source = Path(spec.origin).parent.parent / MOTO_ZONES
    zones: dict[str, list[str]] = {}
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Zone":
            fields = {keyword.arg: keyword.value for keyword in node.keywords}
            values = {key: value.value for key, value in fields.items() if isinstance(value, ast.Constant)}
            if {"region_name", "name"} <= set(values) and values.get("zone_type", "availability-zone") == "availability-zone":
                zones.setdefault(str(values["region_name"]), []).append(str(values["name"]))
    return zones


def zone_notes(region: str, zones: list[str]) -> list[str]:
    """Diagnostics for the offline preview: zones moto does not record for the region, or that it cannot tell."""
    known = recorded_zones().get(region)
    if not known:
        return [f"info: availabilityZones not checked offline: no recorded list of {region}'s zones; `pulumi preview` asks AWS"]
    return [
        f"warning: availabilityZones: {zone} is not among the zones moto records for {region} ({', '.join(known)}); "
        "`pulumi preview` refuses it if AWS offers no such zone"
        for zone in zones
        if zone not in known
    ]
