"""The pack as the CLI loads it: entry point, metadata, config files and the seed's known-bad inputs (the rule table
is generated: tests/offline/test_reference.py)."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResourceOptions,
    ResourceValidationArgs,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from offline.analyses.policy import PolicyInputError, resolve_settings
from offline.analyses.policy import environment_pack_config as load
from policies.eks_policies import ALL_POLICIES
from tests.policies.plans import check

POLICIES_DIR = Path(__file__).resolve().parents[2] / "policies"
POLICY_NAMES = [policy.name for policy in ALL_POLICIES]


def test_entry_point_only_constructs_the_pack() -> None:
    tree = ast.parse((POLICIES_DIR / "__main__.py").read_text())
    calls = [node.func for node in ast.walk(tree) if isinstance(node, ast.Call)]
    assert [call.id for call in calls if isinstance(call, ast.Name)] == ["PolicyPack"]
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported == {"eks_policies", "pulumi_policy"}


def test_pack_requirements_are_pinned() -> None:
    lines = (POLICIES_DIR / "requirements.txt").read_text().split()
    assert sorted(lines) == ["pulumi-policy==1.21.0", "pulumi==3.272.0"]


@pytest.mark.parametrize("policy", ALL_POLICIES, ids=POLICY_NAMES)
def test_policy_metadata(policy: Any) -> None:
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", policy.name)
    assert policy.description.endswith(".") and policy.remediation_steps and policy.severity is not None
    # No level of its own: the config file's "all" and per-policy entries decide.
    assert policy.enforcement_level is None
    for key, schema in (policy.config_schema.properties if policy.config_schema else {}).items():
        assert {"type", "default", "description"} <= set(schema), key


def says_fix_twice(remediation: str) -> bool:
    """Messages read "<resource> <problem>. Fix: <remediation>": a remediation starting with "fix" reads "Fix: fix"."""
    return re.match(r"fix\b", remediation, re.IGNORECASE) is not None


def test_no_message_reads_fix_fix() -> None:
    assert [policy.name for policy in ALL_POLICIES if says_fix_twice(policy.remediation_steps or "")] == []


def test_the_fix_fix_check_itself() -> None:
    assert says_fix_twice("fix nodeMinSize in the stack config.")
    assert not says_fix_twice("Fixate the chart version.") and not says_fix_twice("Set it; fix later.")


def test_policy_names_are_unique() -> None:
    assert len(set(POLICY_NAMES)) == len(POLICY_NAMES)


def test_staging_has_prod_levels_without_requiring_deletion_protection() -> None:
    # As README (Policy as code) says: a staging stack is gated like prod, but may be deleted.
    staging, prod = resolve_settings(load("staging")), resolve_settings(load("prod"))
    assert staging["eks-deletion-protection"].level == EnforcementLevel.DISABLED
    assert {name: s.level for name, s in staging.items() if name != "eks-deletion-protection"} == {
        name: s.level for name, s in prod.items() if name != "eks-deletion-protection"
    }
    assert staging["node-group-scaling"].config == prod["node-group-scaling"].config


def test_prod_blocks_on_every_rule() -> None:
    assert {settings.level for settings in resolve_settings(load("prod")).values()} == {EnforcementLevel.MANDATORY}


def test_prod_requires_deletion_protection_and_dev_does_not_check_it() -> None:
    assert resolve_settings(load("prod"))["eks-deletion-protection"].config["requireDeletionProtection"] is True
    assert resolve_settings(load("dev"))["eks-deletion-protection"].level == EnforcementLevel.DISABLED


def test_config_defaults_apply_under_file_values() -> None:
    settings = resolve_settings({"node-group-scaling": {"maxNodes": 4}})
    assert settings["node-group-scaling"].config == {"maxNodes": 4}
    assert settings["aws-required-tags"].config == {"requiredTags": ["project", "stack", "environment", "managed-by"]}
    assert settings["aws-required-tags"].level == EnforcementLevel.MANDATORY  # the pack's default without "all"


@pytest.mark.parametrize(
    ("pack_config", "complaint"),
    [
        ({"no-such-rule": "mandatory"}, "unknown policies: no-such-rule"),
        ({"all": "blocking"}, "enforcement level 'blocking'"),
        ({"node-group-scaling": {"maxNodes": "ten"}}, "node-group-scaling.maxNodes"),
        ({"node-group-scaling": {"maxnodes": 4}}, "unknown setting 'maxnodes'"),
        ({"aws-required-tags": {"requiredTags": [1]}}, "aws-required-tags.requiredTags"),
        ({"eks-deletion-protection": 1}, "expected an enforcement level or an object"),
    ],
)
def test_bad_pack_config_is_refused(pack_config: dict[str, Any], complaint: str) -> None:
    with pytest.raises(PolicyInputError, match=re.escape(complaint)):
        resolve_settings(pack_config)


def test_policies_read_the_cli_proxies_directly() -> None:
    # What `pulumi preview --policy-pack` hands a policy: props behind the SDK proxy, unknowns as its sentinel.
    policy = next(policy for policy in ALL_POLICIES if policy.name == "eks-public-endpoint-restricted")
    messages: list[str] = []
    options = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])

    def validate(props: dict[str, Any]) -> list[str]:
        messages.clear()
        args = ResourceValidationArgs("aws:eks/cluster:Cluster", unknown_checking_proxy(props), "urn:c", "c", options, None, {})
        policy.validate(args, report_violation)
        return list(messages)

    def report_violation(message: str, urn: str | None = None) -> None:
        messages.append(message)

    assert validate({"vpcConfig": {"publicAccessCidrs": UNKNOWN_STRING_VALUE}}) == []
    assert (
        "open to 0.0.0.0/0" in validate({"vpcConfig": {"publicAccessCidrs": ["0.0.0.0/0"], "subnetIds": UNKNOWN_STRING_VALUE}})[0]
    )


# ---------------------------------------------------------------------------------------------------------------
# Known-bad inputs from the seed and the issue, under the prod config: each is a mandatory violation.


def seed_pod(container_changes: dict[str, Any], volumes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    container = {"name": "web", "image": "httpd:alpine", "volumeMounts": [{"name": "host-etc", "mountPath": "/data"}]}
    container.update(container_changes)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "ebs-demo"},
        "spec": {"containers": [container], "volumes": volumes or []},
    }


PROD = load("prod")
KNOWN_BAD: dict[str, tuple[str, str, dict[str, Any], str]] = {
    "seed pod mounting hostPath /etc": (
        "k8s-no-host-access",
        "kubernetes:core/v1:Pod",
        seed_pod({}, [{"name": "host-etc", "hostPath": {"path": "/etc"}}]),
        "hostPath /etc",
    ),
    "privileged container": (
        "k8s-not-privileged",
        "kubernetes:core/v1:Pod",
        seed_pod({"securityContext": {"privileged": True}}),
        "is privileged",
    ),
    "latest image": ("k8s-image-tag-pinned", "kubernetes:core/v1:Pod", seed_pod({"image": "httpd:latest"}), "latest"),
    "security group open on port 22": (
        "security-group-no-world-ingress",
        "aws:ec2/securityGroup:SecurityGroup",
        {"ingress": [{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}]},
        "port 22",
    ),
    "cluster endpoint open to the world": (
        "eks-public-endpoint-restricted",
        "eks:index:Cluster",
        {"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]},
        "0.0.0.0/0",
    ),
}


@pytest.mark.parametrize("case", KNOWN_BAD.values(), ids=KNOWN_BAD.keys())
def test_known_bad_input_is_a_mandatory_violation_in_prod(case: tuple[str, str, dict[str, Any], str]) -> None:
    policy, resource_type, inputs, fragment = case
    violations = check(resource_type, inputs, policy, pack_config=PROD, component=resource_type.startswith("eks:"))
    assert violations and all(violation["enforcement"] == "mandatory" for violation in violations)
    assert any(fragment in violation["message"] and "'subject'" in violation["message"] for violation in violations)


# What no environment may have, dev included: admin or world access, and a way out of the container.
BLOCKED_EVERYWHERE = (
    "eks-public-endpoint-restricted",
    "security-group-no-world-ingress",
    "iam-no-admin-wildcard",
    "iam-trust-names-principal",
    "k8s-not-privileged",
    "k8s-no-host-access",
    "k8s-rbac-no-anonymous-binding",
    "k8s-no-external-ips",
    "k8s-no-added-capabilities",
)


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_admin_or_world_access_is_refused_in_every_environment(environment: str) -> None:
    """dev is advisory for the rest (a team tries things there), not for these: an anonymous cluster binding, a
    Service hijacking external IPs (CVE-2020-8554) or SYS_ADMIN in a pod is as dangerous in dev's account as in
    prod's. Catches: one of them left to dev's `all: advisory`."""
    settings = resolve_settings(load(environment))
    levels = {name: str(settings[name].level.value) for name in BLOCKED_EVERYWHERE}
    assert levels == dict.fromkeys(BLOCKED_EVERYWHERE, "mandatory")
