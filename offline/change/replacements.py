"""Which input changes replace a resource, and which resources hold state or serve traffic: data with sources.

Every entry names where upstream says so. The Pulumi AWS provider is bridged from the Terraform AWS provider, so
its input names are the camelCase of the Terraform attributes, and an attribute marked ForceNew in the Terraform
schema replaces the resource. The pulumi-eks components pass their inputs on to those resources (read in
pulumi/pulumi-eks), and pulumi-kubernetes lists the fields it replaces on in its own source. A change that no
entry covers is reported as "may replace": a guess either way would be worse than saying we do not know.

Sources read (repository path at the commit read, or documentation URL):
- TF_*: hashicorp/terraform-provider-aws, the resource's schema (ForceNew) and its Update function.
- PULUMI_EKS_*: pulumi/pulumi-eks 7bf0c1b1 (after v4.3.0), nodejs/eks.
- K8S_DIFF, HELM_RELEASE: pulumi/pulumi-kubernetes 94977969d, provider/pkg/provider.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

# A path into a resource's inputs: map keys and list indices, as in the plan.
InputPath = tuple[str | int, ...]

REPLACE: Final = "replace"
MAY_REPLACE: Final = "may replace"
UPDATE: Final = "update"

TF_EKS_CLUSTER: Final = "hashicorp/terraform-provider-aws internal/service/eks/cluster.go (2026, with deletion_protection)"
TF_EKS_NODE_GROUP: Final = "hashicorp/terraform-provider-aws@012e0a32 internal/service/eks/node_group.go"
TF_EKS_ADDON: Final = "hashicorp/terraform-provider-aws@00a35305 internal/service/eks/addon.go"
TF_VPC: Final = "hashicorp/terraform-provider-aws@00081ce4 internal/service/ec2/vpc_.go"
TF_SUBNET: Final = "hashicorp/terraform-provider-aws@00cda125 internal/service/ec2/vpc_subnet.go"
TF_EIP: Final = "hashicorp/terraform-provider-aws@01606926 internal/service/ec2/ec2_eip.go"
TF_NAT_GATEWAY: Final = "hashicorp/terraform-provider-aws@04088eaa internal/service/ec2/vpc_nat_gateway.go"
TF_KMS_KEY: Final = "hashicorp/terraform-provider-aws@00a35305 internal/service/kms/key.go"
TF_LOG_GROUP: Final = "hashicorp/terraform-provider-aws@0073593e internal/service/logs/group.go"
TF_LAUNCH_TEMPLATE: Final = (
    "hashicorp/terraform-provider-aws internal/service/ec2/ec2_launch_template.go (resourceLaunchTemplateUpdate)"
)
PULUMI_EKS_CLUSTER: Final = "pulumi/pulumi-eks nodejs/eks/cluster/cluster.ts (createCore: inputs to aws.eks.Cluster)"
PULUMI_EKS_ADDONS: Final = (
    "pulumi/pulumi-eks nodejs/eks/cluster/cluster.ts, nodejs/eks/addons/cni-addon.ts (separate aws.eks.Addon)"
)
PULUMI_EKS_NODE_GROUP: Final = (
    "pulumi/pulumi-eks nodejs/eks/nodes/nodegroup.ts (createManagedNodeGroup: inputs to aws.eks.NodeGroup)"
)
PULUMI_EKS_ACCESS_ENTRIES: Final = "pulumi/pulumi-eks nodejs/eks/cluster/authenticationMode.ts (createAccessEntries)"
K8S_DIFF: Final = "pulumi/pulumi-kubernetes provider/pkg/provider/diff.go (forceNewProperties)"
HELM_RELEASE: Final = "pulumi/pulumi-kubernetes provider/pkg/provider/helm_release.go (Diff: forceNewFields)"


# The launch template inputs whose change writes a new template version (updateKeys in resourceLaunchTemplateUpdate;
# a node group on the latest version then replaces its nodes). Tags and the default version change no version.
LAUNCH_TEMPLATE_VERSIONED: Final = (
    "blockDeviceMappings",
    "capacityReservationSpecification",
    "cpuOptions",
    "creditSpecification",
    "description",
    "disableApiStop",
    "disableApiTermination",
    "ebsOptimized",
    "enclaveOptions",
    "hibernationOptions",
    "iamInstanceProfile",
    "imageId",
    "instanceInitiatedShutdownBehavior",
    "instanceMarketOptions",
    "instanceRequirements",
    "instanceType",
    "kernelId",
    "keyName",
    "metadataOptions",
    "monitoring",
    "networkInterfaces",
    "placement",
    "privateDnsNameOptions",
    "ramDiskId",
    "securityGroupNames",
    "tagSpecifications",
    "userData",
    "vpcSecurityGroupIds",
)


@dataclass(frozen=True)
class Rule:
    """A change at `path` (or below it, or of a whole subtree holding it) that replaces the resource.

    `path` is dotted camelCase; `[*]` stands for any list index and `*` for any map key.
    `effect` is REPLACE, or MAY_REPLACE where the source replaces only in some cases (`note` says which).
    `removed_only`: replaces only when the value is removed (Terraform's ForceNewIfChange on removal).
    """

    path: str
    source: str
    effect: str = REPLACE
    removed_only: bool = False
    note: str = ""


@dataclass(frozen=True)
class TypeRules:
    """What replaces a resource type; `in_place` names what updates it in place.

    `others_in_place`: the source lists every replacing input (a Terraform schema, pulumi-kubernetes' table),
    so any other input updates in place. Otherwise an input in neither list "may replace".
    """

    replaces: tuple[Rule, ...]
    in_place_source: str
    in_place: tuple[str, ...] = ()
    others_in_place: bool = False


@dataclass(frozen=True)
class Effect:
    effect: str  # UPDATE, REPLACE or MAY_REPLACE
    why: str  # the source that says so (for an update too: diff.json carries it), or what is not known


def _rules(source: str, *paths: str) -> tuple[Rule, ...]:
    return tuple(Rule(path, source) for path in paths)


def _complete(source: str, *force_new: str, conditional: tuple[Rule, ...] = ()) -> TypeRules:
    """Rules from a source that lists every replacing input: anything else updates in place."""
    return TypeRules(replaces=(*_rules(source, *force_new), *conditional), in_place_source=source, others_in_place=True)


# ---------------------------------------------------------------------------------------------------------------
# AWS resources (Terraform schemas) and the pulumi-eks components built on them

_AWS: Final[Mapping[str, TypeRules]] = {
    "aws:ec2/vpc:Vpc": _complete(
        TF_VPC,
        "cidrBlock",
        "ipv4IpamPoolId",
        "ipv4NetmaskLength",
        conditional=(Rule("instanceTenancy", TF_VPC, MAY_REPLACE, note="replaced unless it goes from dedicated to default"),),
    ),
    "aws:ec2/subnet:Subnet": _complete(
        TF_SUBNET,
        "availabilityZone",
        "availabilityZoneId",
        "cidrBlock",
        "ipv4IpamPoolId",
        "ipv4NetmaskLength",
        "ipv6IpamPoolId",
        "ipv6Native",
        "ipv6NetmaskLength",
        "outpostArn",
        "vpcId",
        conditional=(Rule("ipv6CidrBlock", TF_SUBNET, MAY_REPLACE, note="replaced when assignIpv6AddressOnCreation was on"),),
    ),
    "aws:ec2/eip:Eip": _complete(TF_EIP, "address", "domain", "ipamPoolId", "networkBorderGroup", "publicIpv4Pool"),
    "aws:ec2/natGateway:NatGateway": _complete(
        TF_NAT_GATEWAY, "allocationId", "connectivityType", "privateIp", "secondaryPrivateIpAddressCount", "subnetId"
    ),
    "aws:kms/key:Key": _complete(TF_KMS_KEY, "customKeyStoreId", "customerMasterKeySpec", "keyUsage", "multiRegion", "xksKeyId"),
    "aws:cloudwatch/logGroup:LogGroup": _complete(TF_LOG_GROUP, "logGroupClass", "name", "namePrefix"),
    "aws:eks/addon:Addon": _complete(TF_EKS_ADDON, "addonName", "clusterName"),
    "aws:eks/nodeGroup:NodeGroup": _complete(
        TF_EKS_NODE_GROUP,
        "amiType",
        "capacityType",
        "clusterName",
        "diskSize",
        "instanceTypes",
        "launchTemplate.id",
        "launchTemplate.name",
        "nodeGroupName",
        "nodeGroupNamePrefix",
        "nodeRoleArn",
        "remoteAccess",
        "subnetIds",
    ),
    "aws:ec2/launchTemplate:LaunchTemplate": TypeRules(
        replaces=(),
        in_place_source=TF_LAUNCH_TEMPLATE,
        in_place=(*LAUNCH_TEMPLATE_VERSIONED, "tags", "tagsAll", "defaultVersion", "updateDefaultVersion"),
    ),
    # The component's verdict is about the EKS cluster it wraps: that is what holds the state.
    "eks:index:Cluster": TypeRules(
        replaces=(
            *_rules(
                f"{TF_EKS_CLUSTER} via {PULUMI_EKS_CLUSTER}",
                "name",
                "serviceRole",
                "kubernetesServiceIpAddressRange",
                "ipFamily",
            ),
            Rule(
                "encryptionConfigKeyArn",
                f"{TF_EKS_CLUSTER} via {PULUMI_EKS_CLUSTER}",
                removed_only=True,
                note="envelope encryption cannot be turned off",
            ),
        ),
        in_place_source=f"{TF_EKS_CLUSTER} (resourceClusterUpdate) via {PULUMI_EKS_CLUSTER}; add-ons: {PULUMI_EKS_ADDONS}",
        in_place=(
            "version",
            "enabledClusterLogTypes",
            "endpointPrivateAccess",
            "endpointPublicAccess",
            "publicAccessCidrs",
            "authenticationMode",
            "upgradePolicy",
            "deletionProtection",
            "subnetIds",
            "privateSubnetIds",
            "publicSubnetIds",
            "encryptionConfigKeyArn",
            "tags",
            "clusterTags",
            # pulumi-eks ignores changes to it after creation.
            "bootstrapSelfManagedAddons",
            # Separate add-on resources: a version or configuration change updates the add-on, not the cluster.
            "vpcCniOptions.addonVersion",
            "vpcCniOptions.configurationValues",
            "vpcCniOptions.resolveConflictsOnUpdate",
            "kubeProxyAddonOptions.version",
            "kubeProxyAddonOptions.configurationValues",
            "kubeProxyAddonOptions.resolveConflictsOnUpdate",
            "corednsAddonOptions.version",
            "corednsAddonOptions.configurationValues",
            "corednsAddonOptions.resolveConflictsOnUpdate",
        ),
    ),
    "eks:index:ManagedNodeGroup": TypeRules(
        replaces=(
            *_rules(
                f"{TF_EKS_NODE_GROUP} via {PULUMI_EKS_NODE_GROUP}",
                "cluster",
                "clusterName",
                "nodeGroupName",
                "nodeGroupNamePrefix",
                "nodeRole",
                "nodeRoleArn",
                "subnetIds",
                "instanceTypes",
                "capacityType",
                "amiType",
                "diskSize",
                "remoteAccess",
                "launchTemplate.id",
                "launchTemplate.name",
            ),
            # pulumi-eks derives amiType (ForceNew) from these.
            *_rules(f"{TF_EKS_NODE_GROUP} (ami_type) via {PULUMI_EKS_NODE_GROUP}", "operatingSystem", "gpu"),
        ),
        in_place_source=f"{TF_EKS_NODE_GROUP} (resourceNodeGroupUpdate) via {PULUMI_EKS_NODE_GROUP}",
        in_place=(
            "scalingConfig",
            "labels",
            "taints",
            "version",
            "releaseVersion",
            "launchTemplate.version",
            "updateConfig",
            "nodeRepairConfig",
            "forceUpdateVersion",
            "tags",
            # A resource option inside pulumi-eks (ignoreChanges), not an input of the node group.
            "ignoreScalingChanges",
        ),
    ),
}

# ---------------------------------------------------------------------------------------------------------------
# Kubernetes objects: metadata.name and metadata.namespace, plus the provider's table per group/version/kind
# (with its defaults enableSecretMutable and enableConfigMapMutable off). Everything else is patched in place.

_LABEL_SELECTOR = ("matchExpressions", "matchLabels")
_CONTAINER_FIELDS = (
    "args",
    "command",
    "env",
    "image",
    "imagePullPolicy",
    "lifecycle",
    "livenessProbe",
    "ports",
    "readinessProbe",
    "resources",
    "securityContext",
    "stdin",
    "stdinOnce",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "tty",
    "volumeDevices",
    "volumeMounts",
    "workingDir",
)
_SELECTOR = ("spec.selector", *(f"spec.selector.{name}" for name in _LABEL_SELECTOR))
_STATEFUL_SET = (
    "spec.podManagementPolicy",
    "spec.revisionHistoryLimit",
    "spec.serviceName",
    "spec.volumeClaimTemplates",
    *_SELECTOR,
)
_JOB = ("spec.completions", "spec.parallelism", "spec.template", *_SELECTOR)
_POD = (
    *(
        f"spec.{name}"
        for name in (
            "affinity",
            "automountServiceAccountToken",
            "dnsConfig",
            "dnsPolicy",
            "enableServiceLinks",
            "hostAliases",
            "hostIPC",
            "hostNetwork",
            "hostPID",
            "hostname",
            "imagePullSecrets",
            "nodeName",
            "nodeSelector",
            "overhead",
            "preemptionPolicy",
            "priority",
            "priorityClassName",
            "readinessGates",
            "restartPolicy",
            "runtimeClassName",
            "schedulerName",
            "securityContext",
            "serviceAccount",
            "serviceAccountName",
            "shareProcessNamespace",
            "subdomain",
            "terminationGracePeriodSeconds",
            "volumes",
        )
    ),
    *(f"spec.{kind}[*].{name}" for kind in ("containers", "initContainers") for name in _CONTAINER_FIELDS),
)
_PERSISTENT_VOLUME_SOURCES = (
    "awsElasticBlockStore",
    "azureDisk",
    "azureFile",
    "cephfs",
    "cinder",
    "csi",
    "fc",
    "flexVolume",
    "flocker",
    "gcePersistentDisk",
    "glusterfs",
    "hostPath",
    "iscsi",
    "local",
    "nfs",
    "photonPersistentDisk",
    "portworxVolume",
    "quobyte",
    "rbd",
    "scaleIO",
    "storageos",
    "vsphereVolume",
)
_CORE_V1 = {
    "PersistentVolume": tuple(f"spec.{name}" for name in _PERSISTENT_VOLUME_SOURCES),
    "PersistentVolumeClaim": ("spec.accessModes", "spec.storageClassName", "spec.volumeName", *_SELECTOR),
    "Pod": _POD,
    "ResourceQuota": ("spec.scopes",),
    "Secret": ("type", "stringData", "data"),
    "ConfigMap": ("binaryData", "data"),
    "Service": ("spec.clusterIP",),
}
_APPS = {"DaemonSet": _SELECTOR, "Deployment": _SELECTOR, "StatefulSet": _STATEFUL_SET}
_ROLE_BINDINGS = {"ClusterRoleBinding": ("roleRef",), "RoleBinding": ("roleRef",)}
_KUBERNETES: Final[Mapping[tuple[str, str], Mapping[str, tuple[str, ...]]]] = {
    ("apps", "v1beta1"): {"StatefulSet": _STATEFUL_SET},
    ("apps", "v1beta2"): _APPS,
    ("apps", "v1"): _APPS,
    ("core", "v1"): _CORE_V1,
    ("policy", "v1beta1"): {"PodDisruptionBudget": ("spec",)},
    ("rbac.authorization.k8s.io", "v1alpha1"): _ROLE_BINDINGS,
    ("rbac.authorization.k8s.io", "v1beta1"): _ROLE_BINDINGS,
    ("rbac.authorization.k8s.io", "v1"): _ROLE_BINDINGS,
    ("storage.k8s.io", "v1"): {"StorageClass": ("parameters", "provisioner")},
    ("batch", "v1beta1"): {"Job": _JOB},
    ("batch", "v1"): {"Job": _JOB},
    ("batch", "v2alpha1"): {"Job": _JOB},
}
_KUBERNETES_TYPE = re.compile(r"^kubernetes:(?P<group>[^/]+)/(?P<version>[^:]+):(?P<kind>\w+)$")
_HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


def type_rules(resource_type: str) -> TypeRules | None:
    """The replacement rules for a resource type, or None when no source was read for it."""
    if resource_type in _AWS:
        return _AWS[resource_type]
    if resource_type == _HELM_RELEASE:
        return _complete(HELM_RELEASE, "name", "namespace")
    match = _KUBERNETES_TYPE.match(resource_type)
    if match is None or match["group"] == "helm.sh":
        return None
    kinds = _KUBERNETES.get((match["group"], match["version"]), {})
    return _complete(K8S_DIFF, "metadata.name", "metadata.namespace", *kinds.get(match["kind"], ()))


# ---------------------------------------------------------------------------------------------------------------
# Matching paths

_ANY_INDEX: Final = "[*]"
_ANY_KEY: Final = "*"


def parse_pattern(pattern: str) -> tuple[str, ...]:
    """'spec.containers[*].image' -> ('spec', 'containers', '[*]', 'image')."""
    segments: list[str] = []
    for part in pattern.split("."):
        name, _, rest = part.partition("[")
        segments.append(name)
        if rest:
            segments.append(_ANY_INDEX)
    return tuple(segments)


def _segment_matches(segment: str, actual: str | int) -> bool:
    if segment == _ANY_INDEX:
        return isinstance(actual, int)
    if segment == _ANY_KEY:
        return isinstance(actual, str)
    return segment == actual


def overlaps(pattern: str, path: InputPath) -> bool:
    """True when a change at `path` touches `pattern`: the same place, below it, or a whole subtree holding it."""
    segments = parse_pattern(pattern)
    return all(_segment_matches(segment, actual) for segment, actual in zip(segments, path, strict=False))


def change_effect(resource_type: str, path: InputPath, removed: bool) -> Effect:
    """What a change of one input does to a resource of this type, with the source that says so."""
    rules = type_rules(resource_type)
    if rules is None:
        return Effect(MAY_REPLACE, f"no source read for {resource_type}")
    for rule in rules.replaces:
        if overlaps(rule.path, path) and (removed or not rule.removed_only):
            why = f"{rule.source}: {rule.note}" if rule.note else rule.source
            return Effect(rule.effect, why)
    if rules.others_in_place or any(overlaps(known, path) and len(parse_pattern(known)) <= len(path) for known in rules.in_place):
        return Effect(UPDATE, rules.in_place_source)
    return Effect(MAY_REPLACE, f"no source read for this input of {resource_type}")


def overall(effects: Iterable[str]) -> str:
    """The resource's step from its changes' effects: any replace wins, then any may-replace, else update."""
    found = set(effects)
    for effect in (REPLACE, MAY_REPLACE):
        if effect in found:
            return effect
    return UPDATE


# ---------------------------------------------------------------------------------------------------------------
# Resources a replacement or deletion of which loses state or interrupts traffic


@dataclass(frozen=True)
class Danger:
    resource_type: str
    reason: str
    # Only inside this component type (its URN carries the parent's type), e.g. the ingress controller's release.
    within: str = ""


DANGERS: Final = (
    Danger("eks:index:Cluster", "the EKS control plane: etcd, every Kubernetes object and the API endpoint"),
    Danger("eks:index:ManagedNodeGroup", "the nodes every pod runs on"),
    Danger("aws:eks/nodeGroup:NodeGroup", "the nodes every pod runs on"),
    Danger("aws:ec2/vpc:Vpc", "the network the cluster, the nodes and the load balancers live in"),
    Danger("aws:ec2/subnet:Subnet", "nodes, the control plane's network interfaces and load balancers sit in it"),
    Danger("aws:ec2/natGateway:NatGateway", "the private subnets' way out to the internet"),
    Danger("aws:ec2/eip:Eip", "the NAT gateway's public address, which others may allow-list"),
    Danger("aws:kms/key:Key", "the key the cluster's Kubernetes secrets are encrypted with"),
    Danger("aws:cloudwatch/logGroup:LogGroup", "the control plane's logs"),
    Danger("aws:ebs/volume:Volume", "a volume's data"),
    Danger("kubernetes:core/v1:PersistentVolume", "a volume's data"),
    Danger("kubernetes:core/v1:PersistentVolumeClaim", "owns its EBS volume (reclaim policy Delete): the data goes with it"),
    Danger("kubernetes:core/v1:Namespace", "deleting a namespace deletes everything in it, claims and their volumes too"),
    Danger(
        _HELM_RELEASE,
        "its LoadBalancer Service owns the NLB: a new release means a new load balancer and hostname",
        within="eks-platform:ingress:IngressController",
    ),
)


def danger_reason(resource_type: str, urn: str) -> str:
    """Why losing this resource hurts, or "" when it holds no state and serves no traffic."""
    # urn:pulumi:<stack>::<project>::<parent types $ ... $ own type>::<name>
    parent_types = urn.split("::")[2].split("$")[:-1] if urn.count("::") >= 3 else []
    for danger in DANGERS:
        if danger.resource_type == resource_type and (not danger.within or danger.within in parent_types):
            return danger.reason
    return ""
