"""Entry point the Pulumi CLI runs (`pulumi preview --policy-pack policies`): construct the pack, nothing else.

Constructing PolicyPack starts the analyzer's gRPC server and blocks, so the rules live in eks_policies.
"""

from eks_policies import ALL_POLICIES, PACK_ENFORCEMENT_LEVEL, PACK_NAME
from pulumi_policy import PolicyPack

PolicyPack(name=PACK_NAME, policies=[*ALL_POLICIES], enforcement_level=PACK_ENFORCEMENT_LEVEL)
