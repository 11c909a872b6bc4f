"""The cost* config keys: usage assumptions of the offline cost estimate, validated like every other key."""

from __future__ import annotations

import pytest

from settings import COST_KEYS, KEYS, ConfigError, parse_cost_assumptions
from tests.test_settings import raw


def test_cost_keys_are_known_keys_with_defaults() -> None:
    assert set(COST_KEYS) <= set(KEYS)
    assumptions = parse_cost_assumptions(raw("dev"))
    assert (assumptions.nat_data_gb_per_month, assumptions.log_ingest_gb_per_month) == (100, 5)
    assert (assumptions.nlb_capacity_units, assumptions.spot_discount_percent) == (1, 0)


BAD = [
    ("costNatDataGBPerMonth", "-1", "from 0 to 10000000"),
    ("costNatDataGBPerMonth", "lots", "whole number"),
    ("costLogIngestGBPerMonth", "1.5", "whole number"),
    ("costNlbCapacityUnits", "100001", "from 0 to 100000"),
    ("costSpotDiscountPercent", "91", "from 0 to 90"),
]


@pytest.mark.parametrize(("key", "value", "words"), BAD)
def test_bad_assumption_is_one_line_naming_the_key(key: str, value: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_cost_assumptions(raw("dev", **{key: value}))
    assert f"eks-platform:{key}" in str(caught.value) and words in str(caught.value)


def test_boundaries_are_allowed() -> None:
    assumptions = parse_cost_assumptions(raw("dev", costSpotDiscountPercent="90", costNatDataGBPerMonth="0"))
    assert (assumptions.spot_discount_percent, assumptions.nat_data_gb_per_month) == (90, 0)


def test_missing_assumption_is_one_line() -> None:
    values = raw("dev")
    del values["costNlbCapacityUnits"]
    with pytest.raises(ConfigError, match="costNlbCapacityUnits"):
        parse_cost_assumptions(values)
