"""AWS rules. Each understands the pulumi-eks component inputs (all an offline run sees) and the AWS resources
those components create (what a real `pulumi preview --policy-pack` also sees)."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator
from typing import Any, Final

from pulumi_policy import ResourceValidationPolicy, Severity

from .common import (
    UNKNOWN,
    JsonDict,
    Resource,
    allows,
    as_list,
    get,
    is_false,
    is_true,
    parse_json_document,
    policy_statements,
    resource_policy,
)

EKS_CLUSTER_COMPONENT: Final = "eks:index:Cluster"
EKS_CLUSTER: Final = "aws:eks/cluster:Cluster"
EKS_MANAGED_NODE_GROUP_COMPONENT: Final = "eks:index:ManagedNodeGroup"
EKS_NODE_GROUP: Final = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE: Final = "aws:ec2/launchTemplate:LaunchTemplate"
SUBNET: Final = "aws:ec2/subnet:Subnet"
EBS_VOLUME: Final = "aws:ebs/volume:Volume"
KMS_KEY: Final = "aws:kms/key:Key"
IAM_ROLE: Final = "aws:iam/role:Role"
# Karpenter's v1 objects: how its instances look (EC2NodeClass) and how many it may launch (NodePool).
KARPENTER_NODE_CLASS: Final = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
KARPENTER_NODE_POOL: Final = "kubernetes:karpenter.sh/v1:NodePool"

WORLD_CIDRS: Final = frozenset({"0.0.0.0/0", "::/0"})


def _is_world(cidr: Any) -> bool:
    if not isinstance(cidr, str):
        return False
    try:
        return ipaddress.ip_network(cidr, strict=False).prefixlen == 0
    except ValueError:
        return cidr in WORLD_CIDRS


# ---------------------------------------------------------------------------------------------------------------
# Cluster: endpoint, secrets encryption, logging, deletion protection


def _cluster_endpoint(resource: Resource) -> tuple[Any, Any] | None:
    """(endpointPublicAccess, publicAccessCidrs) of either cluster shape; None for other resources."""
    if resource.type == EKS_CLUSTER_COMPONENT:
        return resource.props.get("endpointPublicAccess"), resource.props.get("publicAccessCidrs")
    if resource.type == EKS_CLUSTER:
        return get(resource.props, "vpcConfig", "endpointPublicAccess"), get(resource.props, "vpcConfig", "publicAccessCidrs")
    return None


_IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_WORLD_BY_VERSION: Final = {4: "0.0.0.0/0", 6: "::/0"}


def _networks(cidrs: list[Any]) -> list[tuple[str, _IpNetwork]]:
    """(as written, network) for each CIDR that parses; unknown or malformed entries (AWS refuses those) are skipped."""
    parsed = []
    for cidr in cidrs:
        if isinstance(cidr, str):
            try:
                parsed.append((cidr, ipaddress.ip_network(cidr, strict=False)))
            except ValueError:
                continue
    return parsed


def _covers_family(networks: list[_IpNetwork], version: int) -> bool:
    """Whether the union of `networks` (all of one IP version) is that version's whole address space."""
    # collapse_addresses merges adjacent and overlapping networks: [0.0.0.0/1, 128.0.0.0/1] becomes [0.0.0.0/0].
    collapsed: list[_IpNetwork] = list(ipaddress.collapse_addresses(networks))  # type: ignore[type-var]
    total: int = sum(network.num_addresses for network in collapsed)
    return total == 1 << (32 if version == 4 else 128)


def _check_public_endpoint(resource: Resource) -> Iterator[str]:
    endpoint = _cluster_endpoint(resource)
    if endpoint is None:
        return
    public, cidrs = endpoint
    # EKS defaults: the public endpoint is on, and open to 0.0.0.0/0 when no allow-list is given.
    if is_false(public) or public is UNKNOWN or cidrs is UNKNOWN:
        return
    cidr_list = as_list(cidrs)
    if not cidr_list:
        yield "has a public API endpoint without a CIDR allow-list (EKS then allows 0.0.0.0/0)"
    open_cidrs = [cidr for cidr in cidr_list if _is_world(cidr)]
    if open_cidrs:
        yield f"has a public API endpoint open to {', '.join(open_cidrs)}"
    # An allow-list of halves ([0.0.0.0/1, 128.0.0.0/1]) is the world by another name; so, nearly, is any CIDR broader
    # than the largest block IANA ever assigned in one piece (a /8): it spans many unrelated organisations.
    minimum = int(resource.config["minPrefixLength"])
    for version, world in _WORLD_BY_VERSION.items():
        written = [(cidr, network) for cidr, network in _networks(cidr_list) if network.version == version]
        if any(network.prefixlen == 0 for _, network in written):
            continue  # reported above
        if written and _covers_family([network for _, network in written], version):
            listed = ", ".join(cidr for cidr, _ in written)
            yield f"has a public API endpoint whose allow-list {listed} together covers all of {world}"
            continue
        broad = [cidr for cidr, network in written if network.prefixlen < minimum]
        if broad:
            yield f"has a public API endpoint open to {', '.join(broad)}, broader than a /{minimum}"


_NOT_A_CLUSTER: Final = object()


def _cluster_setting(resource: Resource, component_key: str, *cluster_path: str) -> Any:
    """A setting of an EKS cluster, from the pulumi-eks component's input or the aws.eks.Cluster's nested one;
    _NOT_A_CLUSTER for any other resource."""
    if resource.type == EKS_CLUSTER_COMPONENT:
        return resource.props.get(component_key)
    if resource.type == EKS_CLUSTER:
        return get(resource.props, *cluster_path)
    return _NOT_A_CLUSTER


def _check_private_endpoint(resource: Resource) -> Iterator[str]:
    private = _cluster_setting(resource, "endpointPrivateAccess", "vpcConfig", "endpointPrivateAccess")
    if private is _NOT_A_CLUSTER:
        return
    # Unset, EKS creates no private endpoint: nodes then reach the API server through its public addresses.
    if private is not UNKNOWN and not is_true(private):
        yield "has no private API endpoint (endpointPrivateAccess is not true), so nodes reach the API server over the internet"


AUTHENTICATION_MODES: Final = ("API", "API_AND_CONFIG_MAP", "CONFIG_MAP")


def _check_authentication_mode(resource: Resource) -> Iterator[str]:
    mode = _cluster_setting(resource, "authenticationMode", "accessConfig", "authenticationMode")
    if mode is _NOT_A_CLUSTER or mode is UNKNOWN:
        return
    # Clusters created through the EKS API (Pulumi included) without an access config use the aws-auth ConfigMap.
    effective = mode or "CONFIG_MAP"
    allowed = list(resource.config["allowedAuthenticationModes"])
    if effective not in allowed:
        shown = f"authenticationMode {mode!r}" if mode else "no authenticationMode (EKS then uses CONFIG_MAP)"
        yield f"has {shown}, so the aws-auth ConfigMap grants cluster access; allowed: {', '.join(allowed)}"


EKS_VPC_CNI_ADDON_COMPONENT: Final = "eks:index:VpcCniAddon"
EKS_ADDON: Final = "aws:eks/addon:Addon"


def _vpc_cni_network_policy(options: Any) -> Any:
    """enableNetworkPolicy as pulumi-eks hands it to the vpc-cni add-on: configurationValues' own key wins."""
    if options is UNKNOWN:
        return UNKNOWN
    if not isinstance(options, dict):
        return None
    values = parse_json_document(options.get("configurationValues"))
    if values is UNKNOWN:
        return UNKNOWN
    if isinstance(values, dict) and "enableNetworkPolicy" in values:
        return values["enableNetworkPolicy"]
    return options.get("enableNetworkPolicy")


def _check_network_policy(resource: Resource) -> Iterator[str]:
    if resource.type == EKS_CLUSTER_COMPONENT:
        if is_true(resource.props.get("useDefaultVpcCni")):
            yield "keeps the VPC CNI EKS installs by default (useDefaultVpcCni), which does not enforce NetworkPolicies"
            return
        enabled, where = _vpc_cni_network_policy(resource.props.get("vpcCniOptions")), "vpcCniOptions.enableNetworkPolicy"
    elif resource.type == EKS_VPC_CNI_ADDON_COMPONENT:
        enabled, where = _vpc_cni_network_policy(resource.props), "enableNetworkPolicy"
    elif resource.type == EKS_ADDON and resource.props.get("addonName") == "vpc-cni":
        values = parse_json_document(resource.props.get("configurationValues"))
        enabled = get(values, "enableNetworkPolicy") if values is not None else None
        where = "configurationValues.enableNetworkPolicy"
    else:
        return
    # The add-on's default is off: NetworkPolicy objects are then accepted by the API server and silently not enforced.
    if enabled is not UNKNOWN and not is_true(enabled):
        shown = "unset" if enabled is None else json.dumps(enabled)
        yield f"does not let the VPC CNI enforce NetworkPolicies ({where} is {shown}, not true)"


def _check_secrets_encryption(resource: Resource) -> Iterator[str]:
    if resource.type == EKS_CLUSTER_COMPONENT:
        key_arn = resource.props.get("encryptionConfigKeyArn")
    elif resource.type == EKS_CLUSTER:
        configs = [config for config in as_list(resource.props.get("encryptionConfig")) if isinstance(config, dict)]
        secrets = [config for config in configs if "secrets" in as_list(config.get("resources"))]
        key_arn = get(secrets[0], "provider", "keyArn") if secrets else None
    else:
        return
    # An unknown ARN is a key created in the same update: encryption is configured.
    if key_arn is not UNKNOWN and not key_arn:
        yield "does not encrypt Kubernetes secrets with a KMS key"


def _check_control_plane_logging(resource: Resource) -> Iterator[str]:
    if resource.type not in (EKS_CLUSTER_COMPONENT, EKS_CLUSTER):
        return
    enabled = resource.props.get("enabledClusterLogTypes")
    if enabled is UNKNOWN:
        return
    missing = [log_type for log_type in resource.config["requiredLogTypes"] if log_type not in as_list(enabled)]
    if missing:
        yield f"does not send control-plane logs {', '.join(missing)} to CloudWatch"


def _check_deletion_protection(resource: Resource) -> Iterator[str]:
    if resource.type not in (EKS_CLUSTER_COMPONENT, EKS_CLUSTER) or not resource.config["requireDeletionProtection"]:
        return
    protection = resource.props.get("deletionProtection")
    if protection is not UNKNOWN and not is_true(protection):
        yield "has no deletion protection"


# ---------------------------------------------------------------------------------------------------------------
# KMS


def _check_key_rotation(resource: Resource) -> Iterator[str]:
    if resource.type != KMS_KEY:
        return
    # AWS rotates only symmetric encryption keys; asymmetric and HMAC keys cannot enable rotation.
    spec = resource.props.get("customerMasterKeySpec") or resource.props.get("keySpec") or "SYMMETRIC_DEFAULT"
    if spec != "SYMMETRIC_DEFAULT":
        return
    rotation = resource.props.get("enableKeyRotation")
    if rotation is not UNKNOWN and not is_true(rotation):
        yield "does not rotate its key material (enableKeyRotation is not true)"


# ---------------------------------------------------------------------------------------------------------------
# Nodes: IMDSv2, public IPs, volume encryption, scaling


def _hop_limit(value: Any) -> int | None:
    """httpPutResponseHopLimit as a number (it may arrive as text); None when unset, unknown or unreadable."""
    if isinstance(value, bool) or value is None or value is UNKNOWN:
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


def _check_imdsv2(resource: Resource) -> Iterator[str]:
    # One hop keeps IMDS to the node's own processes: a pod's request crosses a second hop (its network namespace),
    # so its token response is dropped and it cannot borrow the node role (EKS Best Practices Guide, Security >
    # Identity and Access Management, "Restrict access to the instance profile assigned to the worker node").
    max_hops = int(resource.config["maxHopLimit"])
    if resource.type == EKS_MANAGED_NODE_GROUP_COMPONENT:
        # pulumi-eks enforces IMDSv2 itself (enableIMDSv2) or leaves it to our own launch template,
        # which this rule checks as a resource of its own.
        if not is_true(resource.props.get("enableIMDSv2")) and not resource.props.get("launchTemplate"):
            yield "neither sets enableIMDSv2 nor uses a launch template, so nodes accept IMDSv1"
        elif is_true(resource.props.get("enableIMDSv2")) and not resource.props.get("launchTemplate") and max_hops < 2:
            # pulumi-eks' own launch template for enableIMDSv2 sets httpPutResponseHopLimit 2 (nodes/nodegroup.ts).
            yield f"relies on enableIMDSv2, whose launch template sets a metadata hop limit of 2 (allowed: {max_hops})"
    elif resource.type == EKS_NODE_GROUP:
        if not resource.props.get("launchTemplate"):
            yield "uses no launch template, so nodes get the EKS default metadata options (IMDSv1 allowed)"
    elif resource.type == LAUNCH_TEMPLATE:
        tokens = get(resource.props, "metadataOptions", "httpTokens")
        if tokens is not UNKNOWN and tokens != "required":
            yield f"allows IMDSv1 (metadataOptions.httpTokens is {tokens!r}, not 'required')"
        raw = get(resource.props, "metadataOptions", "httpPutResponseHopLimit")
        hops = _hop_limit(raw)
        if raw is None:
            # Unset, the AMI decides: EKS' AL2023 and Bottlerocket AMIs (ImdsSupport v2.0) give instances 2 hops.
            yield (
                f"sets no metadataOptions.httpPutResponseHopLimit, leaving it to the AMI (2 on IMDSv2 AMIs; allowed: {max_hops})"
            )
        elif hops is not None and hops > max_hops:
            yield f"lets pods reach IMDS (metadataOptions.httpPutResponseHopLimit is {hops}, allowed: {max_hops})"
    elif resource.type == KARPENTER_NODE_CLASS:
        # Unset, the API server fills in "required" (the EC2NodeClass CRD's default); only "optional" allows IMDSv1.
        tokens = get(resource.props, "spec", "metadataOptions", "httpTokens")
        if tokens not in (None, UNKNOWN, "required"):
            yield f"lets Karpenter's instances accept IMDSv1 (spec.metadataOptions.httpTokens is {tokens!r})"
        # The CRD's default hop limit is 1, so only an explicit larger value is a problem.
        hops = _hop_limit(get(resource.props, "spec", "metadataOptions", "httpPutResponseHopLimit"))
        if hops is not None and hops > max_hops:
            yield (
                "lets pods on Karpenter's instances reach IMDS "
                f"(spec.metadataOptions.httpPutResponseHopLimit is {hops}, allowed: {max_hops})"
            )


def _check_no_public_ip(resource: Resource) -> Iterator[str]:
    if resource.type == EKS_CLUSTER_COMPONENT:
        # pulumi-eks gives self-managed nodes public IPs unless told otherwise.
        if not is_false(resource.props.get("nodeAssociatePublicIpAddress")):
            yield "does not set nodeAssociatePublicIpAddress to false"
    elif resource.type == SUBNET:
        tags = resource.props.get("tags")
        is_private = isinstance(tags, dict) and "kubernetes.io/role/internal-elb" in tags
        if is_private and is_true(resource.props.get("mapPublicIpOnLaunch")):
            yield "is a private (internal-elb) subnet that gives instances public IPs (mapPublicIpOnLaunch)"
    elif resource.type == LAUNCH_TEMPLATE:
        for interface in as_list(resource.props.get("networkInterfaces")):
            if isinstance(interface, dict) and is_true(interface.get("associatePublicIpAddress")):
                yield "gives instances a public IP (networkInterfaces[].associatePublicIpAddress)"


def _check_volumes_encrypted(resource: Resource) -> Iterator[str]:
    if resource.type == LAUNCH_TEMPLATE:
        for mapping in as_list(resource.props.get("blockDeviceMappings")):
            ebs = mapping.get("ebs") if isinstance(mapping, dict) else None
            if isinstance(ebs, dict) and ebs.get("encrypted") is not UNKNOWN and not is_true(ebs.get("encrypted")):
                yield f"has an unencrypted EBS volume {mapping.get('deviceName', '?')}"
    elif resource.type == EBS_VOLUME:
        if resource.props.get("encrypted") is not UNKNOWN and not is_true(resource.props.get("encrypted")):
            yield "is not encrypted"
    elif resource.type == KARPENTER_NODE_CLASS:
        mappings = get(resource.props, "spec", "blockDeviceMappings")
        if mappings is UNKNOWN:
            return
        if not as_list(mappings):
            yield "declares no blockDeviceMappings, leaving the root volume's encryption to the AMI family's default"
        for mapping in as_list(mappings):
            ebs = mapping.get("ebs") if isinstance(mapping, dict) else None
            encrypted = ebs.get("encrypted") if isinstance(ebs, dict) else None
            if encrypted is not UNKNOWN and not is_true(encrypted):
                yield f"has an unencrypted EBS volume {mapping.get('deviceName', '?') if isinstance(mapping, dict) else '?'}"
    elif resource.type == EKS_CLUSTER_COMPONENT:
        has_default_node_group = not is_true(resource.props.get("skipDefaultNodeGroup"))
        if has_default_node_group and not is_true(resource.props.get("nodeRootVolumeEncrypted")):
            yield "creates a default node group whose root volumes are not encrypted (nodeRootVolumeEncrypted)"


def _scaling(resource: Resource) -> tuple[Any, Any, Any] | None:
    """(min, desired, max) of a node group shape; None when not a node group or nothing is set."""
    if resource.type in (EKS_MANAGED_NODE_GROUP_COMPONENT, EKS_NODE_GROUP):
        config = resource.props.get("scalingConfig")
        if not isinstance(config, dict):
            return None
        return config.get("minSize"), config.get("desiredSize"), config.get("maxSize")
    if resource.type == EKS_CLUSTER_COMPONENT and not is_true(resource.props.get("skipDefaultNodeGroup")):
        props = resource.props
        return props.get("minSize"), props.get("desiredCapacity"), props.get("maxSize")
    return None


def _check_node_group_scaling(resource: Resource) -> Iterator[str]:
    sizes = _scaling(resource)
    if sizes is None:
        return
    minimum, desired, maximum = (size if isinstance(size, int | float) and not isinstance(size, bool) else None for size in sizes)
    known = [size for size in (minimum, desired, maximum) if size is not None]
    if known != sorted(known):
        yield f"has inconsistent sizes (min {minimum}, desired {desired}, max {maximum}; need min <= desired <= max)"
    limit = resource.config["maxNodes"]
    if maximum is not None and maximum > limit:
        yield f"may grow to {maximum:g} nodes, above the allowed maximum of {limit}"


def _check_node_pool_limits(resource: Resource) -> Iterator[str]:
    if resource.type != KARPENTER_NODE_POOL:
        return
    limits = get(resource.props, "spec", "limits")
    if limits is UNKNOWN:
        return
    bounded = {
        key: value for key, value in (limits if isinstance(limits, dict) else {}).items() if key in ("cpu", "memory", "nodes")
    }
    if not bounded:
        yield "sets no spec.limits (cpu, memory or nodes), so pending pods can make Karpenter launch instances without bound"
        return
    nodes = bounded.get("nodes")
    try:
        count = int(str(nodes)) if nodes is not None and nodes is not UNKNOWN else None
    except ValueError:
        count = None
    limit = resource.config["maxNodes"]
    if count is not None and count > limit:
        yield f"may grow to {count} nodes (spec.limits.nodes), above the allowed maximum of {limit}"


# ---------------------------------------------------------------------------------------------------------------
# Security groups


def _normalised_rule(source: JsonDict, protocol_key: str, cidr_keys: tuple[str, str]) -> JsonDict:
    cidrs = [cidr for key in cidr_keys for cidr in as_list(source.get(key))]
    return {
        "fromPort": source.get("fromPort"),
        "toPort": source.get("toPort"),
        "protocol": source.get(protocol_key),
        "cidrs": cidrs,
    }


def _ingress_rules(resource: Resource) -> Iterator[JsonDict]:
    """Ingress rules of every security-group shape, normalised to fromPort, toPort, protocol and cidrs."""
    props = resource.props
    if resource.type in ("aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"):
        for rule in as_list(props.get("ingress")):
            if isinstance(rule, dict):
                yield _normalised_rule(rule, "protocol", ("cidrBlocks", "ipv6CidrBlocks"))
    elif resource.type == "aws:ec2/securityGroupRule:SecurityGroupRule" and props.get("type") == "ingress":
        yield _normalised_rule(props, "protocol", ("cidrBlocks", "ipv6CidrBlocks"))
    elif resource.type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
        yield _normalised_rule(props, "ipProtocol", ("cidrIpv4", "cidrIpv6"))


def _ports_text(rule: JsonDict) -> str:
    if str(rule["protocol"]) in ("-1", "all"):
        return "all ports"
    if rule["fromPort"] == rule["toPort"]:
        return f"port {rule['fromPort']}"
    return f"ports {rule['fromPort']}-{rule['toPort']}"


def _only_listener_ports(rule: JsonDict, listener_ports: list[int]) -> bool:
    if str(rule["protocol"]) in ("-1", "all"):
        return False
    low, high = rule["fromPort"], rule["toPort"]
    if not isinstance(low, int | float) or not isinstance(high, int | float):
        return False
    return all(port in listener_ports for port in range(int(low), int(high) + 1))


def _check_world_ingress(resource: Resource) -> Iterator[str]:
    listener_ports = [int(port) for port in resource.config["allowedPublicPorts"]]
    for rule in _ingress_rules(resource):
        open_cidrs = [cidr for cidr in rule["cidrs"] if _is_world(cidr)]
        if open_cidrs and not _only_listener_ports(rule, listener_ports):
            yield f"allows ingress from {', '.join(open_cidrs)} on {_ports_text(rule)}"


# ---------------------------------------------------------------------------------------------------------------
# IAM

# Resource types that carry a permissions policy document, and where.
_PERMISSION_DOCUMENT_TYPES: Final = frozenset(
    {"aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy", "aws:iam/userPolicy:UserPolicy", "aws:iam/groupPolicy:GroupPolicy"}
)


def _permission_documents(resource: Resource) -> Iterator[tuple[str, Any]]:
    """(where, document) for each permissions policy a resource declares."""
    if resource.type in _PERMISSION_DOCUMENT_TYPES:
        yield "policy", resource.props.get("policy")
    elif resource.type == IAM_ROLE:
        for inline in as_list(resource.props.get("inlinePolicies")):
            if isinstance(inline, dict):
                yield f"inline policy '{inline.get('name', '?')}'", inline.get("policy")


def _is_service_wildcard(action: Any) -> bool:
    """'iam:*' and the like: every action of one service (IAM action names are case-insensitive)."""
    if not isinstance(action, str) or ":" not in action:
        return False
    service, name = action.split(":", 1)
    return bool(service) and service != "*" and set(name) == {"*"}


# AWS managed policies that are administrator access, or the means to grant it oneself (IAMFullAccess is iam:* on *).
ADMIN_MANAGED_POLICIES: Final = ("AdministratorAccess", "IAMFullAccess")
_POLICY_ATTACHMENT_TYPES: Final = frozenset(
    {
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:iam/userPolicyAttachment:UserPolicyAttachment",
        "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
        "aws:iam/policyAttachment:PolicyAttachment",
    }
)
_EXCLUSIVE_ATTACHMENT_TYPES: Final = frozenset(
    {
        "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
        "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive",
        "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive",
    }
)


def _attached_policy_arns(resource: Resource) -> list[Any]:
    if resource.type in _POLICY_ATTACHMENT_TYPES:
        return [resource.props.get("policyArn")]
    if resource.type in _EXCLUSIVE_ATTACHMENT_TYPES:
        return as_list(resource.props.get("policyArns"))
    if resource.type == IAM_ROLE:
        return as_list(resource.props.get("managedPolicyArns"))
    return []


def _check_no_admin_wildcard(resource: Resource) -> Iterator[str]:
    for where, document in _permission_documents(resource):
        for statement in policy_statements(document):
            if not allows(statement):
                continue
            actions = as_list(statement.get("Action"))
            if ("*" in actions or "*:*" in actions) and "*" in as_list(statement.get("Resource")):
                yield f"has a {where} statement allowing every action on every resource"
            if "NotAction" in statement:
                yield f"has a {where} statement with Allow and NotAction, which allows every action it does not list"
            services = [action for action in actions if _is_service_wildcard(action)]
            if services:
                yield f"has a {where} statement allowing every action of a service ({', '.join(services)})"
    for arn in _attached_policy_arns(resource):
        names = [name for name in ADMIN_MANAGED_POLICIES if isinstance(arn, str) and arn.endswith(f":policy/{name}")]
        if names:
            yield f"attaches the {names[0]} managed policy ({arn})"


def _principal_problem(principal: Any) -> str | None:
    if principal == "*":
        return "trusts any principal ('*')"
    if not isinstance(principal, dict):
        return "names no principal"
    named = {kind: as_list(principal.get(kind)) for kind in ("Service", "AWS", "Federated")}
    if any("*" in values for values in named.values()):
        return "trusts any principal ('*')"
    if not any(named.values()):
        return "names no service, account or identity-provider principal"
    return None


def _check_trust_policy(resource: Resource) -> Iterator[str]:
    if resource.type != IAM_ROLE or resource.props.get("assumeRolePolicy") is UNKNOWN:
        return
    for statement in policy_statements(resource.props.get("assumeRolePolicy")):
        problem = _principal_problem(statement.get("Principal")) if allows(statement) else None
        if problem:
            yield f"has a trust policy that {problem}"


# ---------------------------------------------------------------------------------------------------------------
# Tags

# AWS types of this platform (and their usual neighbours) that accept tags. Any other AWS resource whose inputs
# already carry `tags` is checked too.
TAGGABLE_TYPES: Final = frozenset(
    {
        EKS_CLUSTER_COMPONENT,
        EKS_MANAGED_NODE_GROUP_COMPONENT,
        EKS_CLUSTER,
        EKS_NODE_GROUP,
        "aws:eks/addon:Addon",
        "aws:eks/accessEntry:AccessEntry",
        "aws:eks/podIdentityAssociation:PodIdentityAssociation",
        "aws:ec2/vpc:Vpc",
        SUBNET,
        "aws:ec2/internetGateway:InternetGateway",
        "aws:ec2/natGateway:NatGateway",
        "aws:ec2/eip:Eip",
        "aws:ec2/routeTable:RouteTable",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        LAUNCH_TEMPLATE,
        "aws:ec2/instance:Instance",
        EBS_VOLUME,
        IAM_ROLE,
        "aws:iam/policy:Policy",
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        KMS_KEY,
        "aws:cloudwatch/logGroup:LogGroup",
    }
)
# Components create their AWS resources through the aws provider; under the real CLI a component has no provider
# of its own, and its children are checked instead.
_COMPONENT_TYPES: Final = frozenset({EKS_CLUSTER_COMPONENT, EKS_MANAGED_NODE_GROUP_COMPONENT})


def _provider_default_tags(resource: Resource) -> JsonDict:
    # The engine hands provider settings over as JSON text ('{"tags": {...}}'); accept an object too.
    default_tags = parse_json_document((resource.provider_props or {}).get("defaultTags"))
    tags = get(default_tags, "tags") if isinstance(default_tags, dict) else None
    return tags if isinstance(tags, dict) else {}


def _check_required_tags(resource: Resource) -> Iterator[str]:
    own_tags = resource.props.get("tags")
    taggable = resource.type in TAGGABLE_TYPES or (resource.type.startswith("aws:") and "tags" in resource.props)
    if not taggable or own_tags is UNKNOWN or (resource.type in _COMPONENT_TYPES and resource.provider_props is None):
        return
    tags = {**_provider_default_tags(resource), **(own_tags if isinstance(own_tags, dict) else {})}
    missing = [key for key in resource.config["requiredTags"] if key not in tags]
    if missing:
        yield f"lacks required tags {', '.join(missing)} (own tags plus the provider's defaultTags)"


# ---------------------------------------------------------------------------------------------------------------


AWS_POLICIES: Final[list[ResourceValidationPolicy]] = [
    # CIS Amazon EKS Benchmark 5.4.1 (kube-bench eks-1.8.0 managedservices.yaml); goes beyond Pulumi's
    # aws-eks-cluster-disallow-api-endpoint-public-access, which looks for the literal 0.0.0.0/0 and ::/0 only.
    resource_policy(
        "eks-public-endpoint-restricted",
        "A public EKS API endpoint must be limited to a CIDR allow-list that neither holds nor adds up to 0.0.0.0/0 "
        "(or ::/0) and has no CIDR broader than minPrefixLength (CIS EKS 5.4.1).",
        Severity.CRITICAL,
        "set endpointPublicAccess to false, or publicAccessCidrs (vpcConfig.publicAccessCidrs) to the office/VPN CIDRs.",
        _check_public_endpoint,
        {
            "minPrefixLength": {
                "type": "integer",
                "default": 8,
                "description": "Shortest prefix an allow-list CIDR may have (8: nothing broader than a /8).",
            }
        },
    ),
    # CIS Amazon EKS Benchmark 5.4.1 and 5.4.2 (kube-bench eks-1.8.0 managedservices.yaml): private access enabled.
    resource_policy(
        "eks-private-endpoint",
        "EKS clusters must enable the private API endpoint, so that node-to-API-server traffic stays in the VPC "
        "(CIS EKS 5.4.1, 5.4.2).",
        Severity.HIGH,
        "set endpointPrivateAccess true (vpcConfig.endpointPrivateAccess) on the cluster.",
        _check_private_endpoint,
    ),
    # CIS Amazon EKS Benchmark 4.1.7 (kube-bench eks-1.8.0 policies.yaml), "Cluster Access Manager API"; EKS Best
    # Practices Guide, Security > Identity and Access Management. API_AND_CONFIG_MAP is the migration mode: aws-auth
    # still grants access outside IAM and the access-entry API, so it is allowed only where the config lists it.
    resource_policy(
        "eks-authentication-mode",
        "EKS clusters must authenticate through access entries (authenticationMode API), not the aws-auth ConfigMap "
        "(CIS EKS 4.1.7).",
        Severity.HIGH,
        "set authenticationMode 'API' (accessConfig.authenticationMode) and grant access with access entries; "
        "a cluster on CONFIG_MAP moves through API_AND_CONFIG_MAP, one way only.",
        _check_authentication_mode,
        {
            "allowedAuthenticationModes": {
                "type": "array",
                "items": {"type": "string", "enum": list(AUTHENTICATION_MODES)},
                "default": ["API"],
                "description": "Authentication modes a cluster may use.",
            }
        },
    ),
    # CIS Amazon EKS Benchmark 5.4.4 and 4.3.1 (kube-bench eks-1.8.0): a network policy engine is enabled.
    resource_policy(
        "eks-network-policy-enforced",
        "The VPC CNI must enforce Kubernetes NetworkPolicies (enableNetworkPolicy) (CIS EKS 5.4.4, 4.3.1).",
        Severity.HIGH,
        "set vpcCniOptions.enableNetworkPolicy true (configurationValues enableNetworkPolicy 'true' on the vpc-cni "
        "add-on); disable this rule only where another engine (Calico, Cilium) enforces them.",
        _check_network_policy,
    ),
    resource_policy(
        "eks-secrets-encryption",
        "EKS clusters must envelope-encrypt Kubernetes secrets with a KMS key.",
        Severity.HIGH,
        "set encryptionConfigKeyArn (encryptionConfig with resources ['secrets'] and provider.keyArn) to a KMS key ARN.",
        _check_secrets_encryption,
    ),
    # CIS Amazon EKS Benchmark 2.1.1 (kube-bench eks-1.8.0 controlplane.yaml): all five log types enabled.
    resource_policy(
        "eks-control-plane-logging",
        "EKS clusters must send all control-plane logs (api, audit, authenticator, controllerManager, scheduler) "
        "to CloudWatch (CIS EKS 2.1.1).",
        Severity.MEDIUM,
        "add the missing types to enabledClusterLogTypes.",
        _check_control_plane_logging,
        {
            "requiredLogTypes": {
                "type": "array",
                "items": {"type": "string"},
                "default": ["api", "audit", "authenticator", "controllerManager", "scheduler"],
                "description": "Control-plane log types every cluster must enable.",
            }
        },
    ),
    resource_policy(
        "kms-key-rotation",
        "Symmetric KMS keys must rotate their key material yearly.",
        Severity.MEDIUM,
        "set enableKeyRotation to true on the key.",
        _check_key_rotation,
    ),
    resource_policy(
        "nodes-require-imdsv2",
        "Worker nodes must require IMDSv2 with a metadata hop limit of at most maxHopLimit, so pods cannot use the node "
        "role (EKS Best Practices Guide: restrict access to the instance profile assigned to the worker node).",
        Severity.HIGH,
        "give the node group a launch template with metadataOptions.httpTokens 'required' and httpPutResponseHopLimit 1; "
        "on EC2NodeClasses set spec.metadataOptions.httpTokens 'required' and leave httpPutResponseHopLimit at 1.",
        _check_imdsv2,
        {
            "maxHopLimit": {
                "type": "integer",
                "default": 1,
                "description": "Largest httpPutResponseHopLimit a node may have (2 lets pods reach IMDS).",
            }
        },
    ),
    resource_policy(
        "nodes-no-public-ip",
        "Worker nodes run in private subnets without public IP addresses.",
        Severity.HIGH,
        "set nodeAssociatePublicIpAddress false, mapPublicIpOnLaunch false on private subnets, "
        "and no associatePublicIpAddress on launch template interfaces.",
        _check_no_public_ip,
    ),
    resource_policy(
        "node-volumes-encrypted",
        "Node root volumes and EBS volumes must be encrypted.",
        Severity.HIGH,
        "set ebs.encrypted 'true' on every launch template block device (encrypted true on EBS volumes and on every "
        "EC2NodeClass blockDeviceMappings entry).",
        _check_volumes_encrypted,
    ),
    resource_policy(
        "security-group-no-world-ingress",
        "Security groups must not accept traffic from 0.0.0.0/0 or ::/0 except on the public listener ports.",
        Severity.CRITICAL,
        "restrict the rule's CIDRs (a VPN, a load balancer's security group) or add the port to allowedPublicPorts.",
        _check_world_ingress,
        {
            "allowedPublicPorts": {
                "type": "array",
                "items": {"type": "integer"},
                "default": [80, 443],
                "description": "Ports that may be open to the internet (the load balancer listeners).",
            }
        },
    ),
    # AWS Security Hub IAM.1 ('*' on '*') and IAM.21 ('service:*'); AWS Control Tower CT.IAM.PR.1-3 and PR.5, whose
    # guard rule also refuses Allow with NotAction.
    resource_policy(
        "iam-no-admin-wildcard",
        "IAM policies must not grant administrator power: '*' on '*', every action of a service ('iam:*'), Allow "
        "with NotAction, or an AdministratorAccess/IAMFullAccess attachment (Security Hub IAM.1, IAM.21).",
        Severity.CRITICAL,
        "list the actions and resource ARNs the principal needs (ec2:Describe* style prefixes are fine), or attach "
        "a narrower AWS managed policy.",
        _check_no_admin_wildcard,
    ),
    resource_policy(
        "iam-trust-names-principal",
        "IAM role trust policies must name a service, account or identity-provider principal, never '*'.",
        Severity.CRITICAL,
        "set Principal to {'Service': '<service>.amazonaws.com'} or {'AWS': '<account or role ARN>'}.",
        _check_trust_policy,
    ),
    resource_policy(
        "aws-required-tags",
        "Taggable AWS resources carry the required tags, counting the provider's defaultTags.",
        Severity.LOW,
        "add the tags to the aws provider's defaultTags (preferred) or to the resource's tags.",
        _check_required_tags,
        {
            "requiredTags": {
                "type": "array",
                "items": {"type": "string"},
                "default": ["project", "stack", "environment", "managed-by"],
                "description": "Tag keys every taggable AWS resource must carry.",
            }
        },
    ),
    resource_policy(
        "node-group-scaling",
        "Node group sizes must satisfy min <= desired <= max, with max at most the configured limit.",
        Severity.MEDIUM,
        "set the pool's minSize/desiredSize/maxSize under nodeGroups in the stack config, "
        "or raise maxNodes in the policy config.",
        _check_node_group_scaling,
        {
            "maxNodes": {
                "type": "integer",
                "default": 10,
                "description": "Largest maxSize a node group may declare.",
            }
        },
    ),
    resource_policy(
        "karpenter-nodepool-limits",
        "Karpenter NodePools must bound what they may launch (spec.limits), with a node limit at most the configured one.",
        Severity.MEDIUM,
        "set spec.limits.nodes (the pool's maxSize under nodeGroups) or cpu/memory limits; "
        "or raise maxNodes in the policy config.",
        _check_node_pool_limits,
        {
            "maxNodes": {
                "type": "integer",
                "default": 10,
                "description": "Largest spec.limits.nodes a NodePool may declare.",
            }
        },
    ),
    resource_policy(
        "eks-deletion-protection",
        "EKS clusters must have deletion protection where the stack's config requires it (prod).",
        Severity.MEDIUM,
        "set deletionProtection true on the cluster (the program does so for environment prod).",
        _check_deletion_protection,
        {
            "requireDeletionProtection": {
                "type": "boolean",
                "default": False,
                "description": "Whether clusters must set deletionProtection.",
            }
        },
    ),
]
