"""Relations between resources of each shipped stack: what sits where, what routes where, what selects what.

A field can be right on its own and wrong in relation to another: a NAT gateway in a private subnet, a
Service whose selector matches no pod, an Ingress naming a port no Service has. Run over every stack and
both ingress controllers.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from offline.plan.build import build_plan
from offline.plan.query import PlanQuery
from tests.conftest import FROZEN_PROJECT, STACKS, stack_plan

# Every stack file, with each ingress controller.
VARIANTS = [(stack, controller) for stack in STACKS for controller in ("", "ingress-nginx")]
WORKLOAD_TYPES = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:DaemonSet")


def subnets(query: PlanQuery, role: str) -> dict[str, dict[str, Any]]:
    """Subnet id (as the engine answers it) -> subnet, for `elb` (public) or `internal-elb` (private)."""
    return {
        f"{s['name']}-id": s
        for s in query.of_type("aws:ec2/subnet:Subnet")
        if f"kubernetes.io/role/{role}" in s["inputs"]["tags"]
    }


def route_table_of(query: PlanQuery, subnet_id: str) -> dict[str, Any]:
    (association,) = [
        a for a in query.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation") if a["inputs"]["subnetId"] == subnet_id
    ]
    (table,) = [
        t for t in query.of_type("aws:ec2/routeTable:RouteTable") if f"{t['name']}-id" == association["inputs"]["routeTableId"]
    ]
    return table


def default_route(table: dict[str, Any]) -> dict[str, Any]:
    (route,) = [r for r in table["inputs"]["routes"] if r["cidrBlock"] == "0.0.0.0/0"]
    return route


def check_nat_gateways_sit_in_public_subnets(query: PlanQuery) -> None:
    public = subnets(query, "elb")
    for nat in query.of_type("aws:ec2/natGateway:NatGateway"):
        subnet = public[nat["inputs"]["subnetId"]]
        assert nat["name"].endswith(subnet["inputs"]["availabilityZone"]), f"{nat['name']} is not in its zone's subnet"


def check_private_subnets_route_through_their_zones_nat(query: PlanQuery) -> None:
    public = subnets(query, "elb")
    nat_zone = {
        f"{n['name']}-id": public[n["inputs"]["subnetId"]]["inputs"]["availabilityZone"]
        for n in query.of_type("aws:ec2/natGateway:NatGateway")
    }
    for subnet_id, subnet in subnets(query, "internal-elb").items():
        route = default_route(route_table_of(query, subnet_id))
        assert route["natGatewayId"] in nat_zone, f"{subnet['name']} has no NAT route"
        zone = subnet["inputs"]["availabilityZone"]
        if zone in nat_zone.values():
            assert nat_zone[route["natGatewayId"]] == zone, f"{subnet['name']} crosses zones for egress"


def check_public_subnets_route_through_the_internet_gateway(query: PlanQuery) -> None:
    (gateway,) = query.of_type("aws:ec2/internetGateway:InternetGateway")
    for subnet_id in subnets(query, "elb"):
        assert default_route(route_table_of(query, subnet_id)) == {"cidrBlock": "0.0.0.0/0", "gatewayId": f"{gateway['name']}-id"}


def check_nodes_run_only_in_private_subnets(query: PlanQuery) -> None:
    private = subnets(query, "internal-elb")
    used = [subnet for group in query.of_type("aws:eks/nodeGroup:NodeGroup") for subnet in group["inputs"]["subnetIds"]]
    assert set(used) == set(private)


def pod_templates(query: PlanQuery, namespace: str) -> list[dict[str, Any]]:
    return [
        w["inputs"]["spec"]["template"]
        for t in WORKLOAD_TYPES
        for w in query.of_type(t)
        if w["inputs"]["metadata"].get("namespace") == namespace
    ]


def selected(query: PlanQuery, namespace: str, selector: dict[str, str]) -> list[dict[str, Any]]:
    return [t for t in pod_templates(query, namespace) if selector.items() <= t["metadata"]["labels"].items()]


def check_services_select_pods_and_declared_ports(query: PlanQuery) -> None:
    services = query.of_type("kubernetes:core/v1:Service")
    assert services
    for service in services:
        namespace = service["inputs"]["metadata"]["namespace"]
        pods = selected(query, namespace, service["inputs"]["spec"]["selector"])
        assert pods, f"{service['name']} selects no pod"
        ports = {p["containerPort"] for pod in pods for c in pod["spec"]["containers"] for p in c.get("ports", [])}
        names = {p["name"] for pod in pods for c in pod["spec"]["containers"] for p in c.get("ports", []) if "name" in p}
        for port in service["inputs"]["spec"]["ports"]:
            assert port["targetPort"] in ports | names, f"{service['name']} targets {port['targetPort']}, pods declare {ports}"


def check_ingress_backends_name_service_ports(query: PlanQuery) -> None:
    service_ports = {
        (s["inputs"]["metadata"]["namespace"], s["inputs"]["metadata"]["name"]): {p["port"] for p in s["inputs"]["spec"]["ports"]}
        for s in query.of_type("kubernetes:core/v1:Service")
    }
    for ingress in query.of_type("kubernetes:networking.k8s.io/v1:Ingress"):
        namespace = ingress["inputs"]["metadata"]["namespace"]
        for rule in ingress["inputs"]["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["port"]["number"] in service_ports[(namespace, backend["name"])], path


def check_network_policies_select_pods_and_their_ports(query: PlanQuery) -> None:
    controller_namespace = query.one("kubernetes:helm.sh/v3:Release", "ingress-release")["inputs"]["namespace"]
    for policy in query.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy"):
        spec, namespace = policy["inputs"]["spec"], policy["inputs"]["metadata"]["namespace"]
        pods = selected(query, namespace, spec["podSelector"].get("matchLabels", {}))
        assert pods, f"{policy['name']} selects no pod"
        ports = {p["containerPort"] for pod in pods for c in pod["spec"]["containers"] for p in c.get("ports", [])}
        for rule in spec.get("ingress", []):
            assert {p["port"] for p in rule["ports"]} <= ports, policy["name"]
            for peer in rule["from"]:
                assert peer["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": controller_namespace}


@pytest.mark.parametrize(
    "overrides",
    [
        # A fixed-size pool: min = desired = max.
        {
            "eks-platform:nodeGroups": json.dumps(
                {"system": {"instanceTypes": ["m6i.large"], "minSize": 3, "desiredSize": 3, "maxSize": 3, "perZone": True}}
            )
        },
        # An address plan that fits exactly: four /23 subnets (two zones) fill a /21.
        {
            "eks-platform:availabilityZones": '["eu-central-1a", "eu-central-1b"]',
            "eks-platform:vpcCidr": "10.0.0.0/21",
            "eks-platform:subnetPrefixLength": "23",
        },
    ],
    ids=["fixed-size-3-3-3", "address-plan-fits-exactly"],
)
def test_boundary_configs_preview_with_every_relation_intact(overrides: dict[str, str]) -> None:
    query = PlanQuery(build_plan("prod", FROZEN_PROJECT, overrides=overrides).to_json())
    groups = query.of_type("aws:eks/nodeGroup:NodeGroup")
    system = json.loads(overrides.get("eks-platform:nodeGroups", '{"system": {"maxSize": 9}}'))["system"]
    assert sum(g["inputs"]["scalingConfig"]["maxSize"] for g in groups) == system["maxSize"]
    blocks = sorted(s["inputs"]["cidrBlock"] for s in query.of_type("aws:ec2/subnet:Subnet"))
    assert len(blocks) == len(set(blocks))
    for subnet_id in subnets(query, "internal-elb"):
        assert "natGatewayId" in default_route(route_table_of(query, subnet_id))


@pytest.mark.parametrize("stack", STACKS)
def test_every_nat_gateway_sits_in_a_public_subnet(stack: str) -> None:
    check_nat_gateways_sit_in_public_subnets(stack_plan(stack))


@pytest.mark.parametrize("stack", STACKS)
def test_private_subnets_route_through_a_nat_gateway_of_their_zone_when_there_is_one(stack: str) -> None:
    check_private_subnets_route_through_their_zones_nat(stack_plan(stack))


@pytest.mark.parametrize("stack", STACKS)
def test_public_subnets_route_through_the_internet_gateway(stack: str) -> None:
    check_public_subnets_route_through_the_internet_gateway(stack_plan(stack))


@pytest.mark.parametrize("stack", STACKS)
def test_nodes_run_only_in_private_subnets_and_cover_every_zone(stack: str) -> None:
    check_nodes_run_only_in_private_subnets(stack_plan(stack))


@pytest.mark.parametrize(("stack", "controller"), VARIANTS)
def test_every_service_selects_pods_and_targets_a_declared_container_port(stack: str, controller: str) -> None:
    check_services_select_pods_and_declared_ports(stack_plan(stack, controller, demo_workloads=True))


@pytest.mark.parametrize(("stack", "controller"), VARIANTS)
def test_every_ingress_backend_names_an_existing_service_port(stack: str, controller: str) -> None:
    check_ingress_backends_name_service_ports(stack_plan(stack, controller, demo_workloads=True))


@pytest.mark.parametrize(("stack", "controller"), VARIANTS)
def test_network_policies_select_existing_pods_and_open_only_their_container_ports(stack: str, controller: str) -> None:
    check_network_policies_select_pods_and_their_ports(stack_plan(stack, controller, demo_workloads=True))


# Every relation check, for a plan with the demo workloads on (tests/stacks/test_forked_stacks.py runs them all).
RELATION_CHECKS = (
    check_nat_gateways_sit_in_public_subnets,
    check_private_subnets_route_through_their_zones_nat,
    check_public_subnets_route_through_the_internet_gateway,
    check_nodes_run_only_in_private_subnets,
    check_services_select_pods_and_declared_ports,
    check_ingress_backends_name_service_ports,
    check_network_policies_select_pods_and_their_ports,
)
