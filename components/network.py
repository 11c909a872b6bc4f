"""The VPC (the seed's CloudFormation VPC sample): public and private subnets per zone, IGW, NAT, routes."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws


def subnet_blocks(vpc_cidr: str, prefix_length: int, zones: tuple[str, ...], layout: str) -> dict[str, tuple[str, str]]:
    """Zone -> (public CIDR, private CIDR). zone-order numbers them by the zones' order (public ones first), so a
    zone added or removed moves the private subnets; zone-slots gives zone letter k the blocks 2k and 2k+1, so the
    other zones' subnets stay where they are (make diff refuses the moves zone-order would need)."""
    blocks = [str(block) for block in ipaddress.IPv4Network(vpc_cidr).subnets(new_prefix=prefix_length)]
    if layout == "zone-slots":
        return {zone: (blocks[2 * (ord(zone[-1]) - ord("a"))], blocks[2 * (ord(zone[-1]) - ord("a")) + 1]) for zone in zones}
    return {zone: (blocks[index], blocks[len(zones) + index]) for index, zone in enumerate(zones)}


@dataclass(frozen=True)
class NetworkArgs:
    cluster_name: str
    vpc_cidr: str
    availability_zones: tuple[str, ...]
    subnet_prefix_length: int
    # "single": one NAT gateway for all zones; "per-zone": one per zone, so a zone outage cuts off only that zone.
    nat_strategy: str
    # "zone-order" (the first stacks' layout) or "zone-slots": see subnet_blocks.
    subnet_layout: str = "zone-order"
    # Extra tags of the private subnets (where nodes run), such as the tag Karpenter finds its subnets by.
    private_subnet_tags: dict[str, str] = field(default_factory=dict)


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    public_subnet_ids: pulumi.Output[list[str]]
    private_subnet_ids: pulumi.Output[list[str]]
    # (zone, private subnet id) in zone order, for node groups placed per zone.
    private_subnets: tuple[tuple[str, pulumi.Output[str]], ...]
    # What gives the public subnets their internet route: an internet-facing load balancer holds public
    # addresses there, so its owner must depend on these and be deleted before the gateway is detached.
    public_routing: tuple[pulumi.Resource, ...]
    # What gives the private subnets egress (NAT gateways, routes, associations): everything running on
    # nodes must depend on these, so destroy removes it while it can still reach AWS APIs.
    private_egress: tuple[pulumi.Resource, ...]
    # The private subnets themselves: instances outside Pulumi's state (Karpenter's) must be gone before them.
    private_subnet_resources: tuple[pulumi.Resource, ...]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-platform:network:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        blocks = subnet_blocks(args.vpc_cidr, args.subnet_prefix_length, args.availability_zones, args.subnet_layout)
        cluster_tag = {f"kubernetes.io/cluster/{args.cluster_name}": "shared"}

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.vpc_cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={"Name": f"{args.cluster_name}-vpc"},
            opts=child,
        )
        # Adopt the VPC's default security group with no rules, so nothing can use it by accident.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg", vpc_id=vpc.id, tags={"Name": f"{args.cluster_name}-default"}, opts=child
        )
        gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={"Name": f"{args.cluster_name}-igw"}, opts=child)

        public_routes = aws.ec2.RouteTable(
            f"{name}-public-rt",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=gateway.id)],
            tags={"Name": f"{args.cluster_name}-public"},
            opts=child,
        )

        public_subnets: list[aws.ec2.Subnet] = []
        public_associations: list[aws.ec2.RouteTableAssociation] = []
        private_subnets: list[aws.ec2.Subnet] = []
        private_egress: list[pulumi.Resource] = []
        for zone in args.availability_zones:
            public = aws.ec2.Subnet(
                f"{name}-public-{zone}",
                vpc_id=vpc.id,
                cidr_block=blocks[zone][0],
                availability_zone=zone,
                # Only load balancers and NAT gateways live here; neither needs auto-assigned public IPs.
                map_public_ip_on_launch=False,
                tags={"Name": f"{args.cluster_name}-public-{zone}", "kubernetes.io/role/elb": "1", **cluster_tag},
                opts=child,
            )
            public_associations.append(
                aws.ec2.RouteTableAssociation(
                    f"{name}-public-{zone}", subnet_id=public.id, route_table_id=public_routes.id, opts=child
                )
            )
            public_subnets.append(public)

            private = aws.ec2.Subnet(
                f"{name}-private-{zone}",
                vpc_id=vpc.id,
                cidr_block=blocks[zone][1],
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={
                    "Name": f"{args.cluster_name}-private-{zone}",
                    "kubernetes.io/role/internal-elb": "1",
                    **cluster_tag,
                    **args.private_subnet_tags,
                },
                opts=child,
            )
            private_subnets.append(private)

        nat_zones = args.availability_zones if args.nat_strategy == "per-zone" else args.availability_zones[:1]
        nat_gateways: list[aws.ec2.NatGateway] = []
        for index, zone in enumerate(nat_zones):
            address = aws.ec2.Eip(
                f"{name}-nat-{zone}", domain="vpc", tags={"Name": f"{args.cluster_name}-nat-{zone}"}, opts=child
            )
            nat_gateways.append(
                aws.ec2.NatGateway(
                    f"{name}-nat-{zone}",
                    allocation_id=address.id,
                    subnet_id=public_subnets[index].id,
                    tags={"Name": f"{args.cluster_name}-nat-{zone}"},
                    # A NAT gateway forwards through its subnet's route to the internet gateway.
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway, public_associations[index]]),
                )
            )

        for index, (zone, private) in enumerate(zip(args.availability_zones, private_subnets, strict=True)):
            nat = nat_gateways[index % len(nat_gateways)]
            routes = aws.ec2.RouteTable(
                f"{name}-private-rt-{zone}",
                vpc_id=vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
                tags={"Name": f"{args.cluster_name}-private-{zone}"},
                opts=child,
            )
            association = aws.ec2.RouteTableAssociation(
                f"{name}-private-{zone}", subnet_id=private.id, route_table_id=routes.id, opts=child
            )
            private_egress += [routes, association]

        self.vpc_id = vpc.id
        self.private_subnets = tuple(
            (zone, subnet.id) for zone, subnet in zip(args.availability_zones, private_subnets, strict=True)
        )
        self.private_subnet_resources = tuple(private_subnets)
        self.public_routing = (gateway, public_routes, *public_associations)
        self.private_egress = (*nat_gateways, *private_egress)
        self.public_subnet_ids = pulumi.Output.all(*[subnet.id for subnet in public_subnets])
        self.private_subnet_ids = pulumi.Output.all(*[subnet.id for subnet in private_subnets])
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "publicSubnetIds": self.public_subnet_ids,
                "privateSubnetIds": self.private_subnet_ids,
            }
        )
