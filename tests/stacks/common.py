"""Checks every stack must pass, whatever its settings."""

from __future__ import annotations

import json

from offline.plan.query import PlanQuery

AWS_PROVIDER = "pulumi:providers:aws"


def check_common(query: PlanQuery, stack: str) -> None:
    (provider,) = query.of_type(AWS_PROVIDER)
    for resource in query.resources:
        if resource["custom"] and resource["type"].startswith("aws:"):
            assert resource["provider"] == provider["urn"], f"{resource['urn']} does not use the explicit AWS provider"

    for component in query.resources:
        if component["type"].startswith("eks-platform:"):
            for child in query.children(component["urn"]):
                assert child["name"].startswith(component["name"]), f"{child['urn']} is not named after {component['name']}"

    # Formatting an Output into an f-string writes Pulumi's warning text instead of the value (a launch template
    # description of more than EC2's 255 characters, a tag value of more than 256: `up` fails).
    assert "Calling __str__ on an Output" not in json.dumps(query.plan["resources"])

    assert query.plan["outputs"]["kubeconfig"] == "[secret]"
    assert query.plan["outputs"]["clusterName"] == f"eks-platform-{stack}"
    for key in ("vpcId", "publicSubnetIds", "privateSubnetIds", "nodeGroupNames", "kubernetesVersion", "region"):
        assert key in query.plan["outputs"]
