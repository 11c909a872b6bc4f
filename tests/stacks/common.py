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

    # What the provider tags by default, the templates must tag by hand: default tags never reach a launch
    # template's tag specifications (hashicorp/terraform-provider-aws#19387), so instances and volumes need them.
    # Provider inputs reach the engine as JSON text.
    default_tags = json.loads(provider["inputs"]["defaultTags"])["tags"]
    for template in query.of_type("aws:ec2/launchTemplate:LaunchTemplate"):
        for spec in template["inputs"]["tagSpecifications"]:
            assert default_tags.items() <= spec["tags"].items(), f"{template['name']} {spec['resourceType']} lacks stack tags"

    assert query.plan["outputs"]["kubeconfig"] == "[secret]"
    assert query.plan["outputs"]["clusterName"] == f"eks-platform-{stack}"
    for key in ("vpcId", "publicSubnetIds", "privateSubnetIds", "nodeGroupNames", "kubernetesVersion", "region"):
        assert key in query.plan["outputs"]
