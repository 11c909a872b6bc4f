"""The eks-platform policy pack's rules, importable without starting the pack (constructing PolicyPack blocks)."""

from __future__ import annotations

from typing import Final

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy

from .aws_rules import AWS_POLICIES
from .kubernetes_rules import KUBERNETES_POLICIES

PACK_NAME: Final = "eks-platform-policies"
# Without a config file every rule blocks: a stack must opt into leniency (policies/config/dev.json does).
PACK_ENFORCEMENT_LEVEL: Final = EnforcementLevel.MANDATORY

ALL_POLICIES: Final[list[ResourceValidationPolicy]] = [*AWS_POLICIES, *KUBERNETES_POLICIES]

__all__ = ["ALL_POLICIES", "PACK_ENFORCEMENT_LEVEL", "PACK_NAME"]
