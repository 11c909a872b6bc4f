"""The lifecycle rehearsal: what `pulumi up` creates when, what `pulumi destroy` deletes when, and whether every
runtime need still holds at the moment it is used.

Pulumi creates a resource once everything it depends on exists, and deletes it before anything it depends on.
Some resources need others at run time in ways no input shows: nodes need their NAT route to join the cluster
and, on destroy, the EBS CSI controller on them needs it to delete volumes; an internet-facing load balancer
holds public addresses, so the internet gateway cannot be detached before it is gone. Each such need is a row
of NEEDS, with its source, and holds only if the consumer depends (directly or not) on every provider: then the
provider exists before the consumer is created, and outlives it on destroy.

Input: the plan object (its create edges); output: the report `offline.preview` writes as lifecycle.json.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Set
from dataclasses import dataclass
from typing import Any, Final

from offline.plan.query import PlanQuery, Resource

VOLUME_GATE: Final = "pulumi-python:dynamic/storage:VolumeReleaseGate"
INSTANCE_GATE: Final = "pulumi-python:dynamic/karpenter:InstanceGate"
NODE_POOL: Final = "kubernetes:karpenter.sh/v1:NodePool"
NODE_CLASS: Final = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
POOL_LABEL: Final = "platform.eks/pool"
WORKLOAD_TYPES: Final = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:DaemonSet")
HELM_RELEASE: Final = "kubernetes:helm.sh/v3:Release"
NODE_GROUP: Final = "aws:eks/nodeGroup:NodeGroup"
ASSOCIATION: Final = "aws:ec2/routeTableAssociation:RouteTableAssociation"


def waves(edges: Mapping[str, Set[str]]) -> list[list[str]]:
    """Groups that can start together: wave n holds what waits only for waves before n (longest path)."""
    level: dict[str, int] = {}

    def depth(urn: str, path: tuple[str, ...] = ()) -> int:
        if urn in path:
            raise ValueError(f"dependency cycle through {urn}")
        if urn not in level:
            level[urn] = 1 + max((depth(dep, (*path, urn)) for dep in edges[urn]), default=-1)
        return level[urn]

    for urn in edges:
        depth(urn)
    grouped: list[list[str]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for urn, index in level.items():
        grouped[index].append(urn)
    return [sorted(group) for group in grouped]


def reversed_edges(edges: Mapping[str, Set[str]]) -> dict[str, set[str]]:
    """Destroy order: a resource waits until everything that depends on it is deleted."""
    dependents: dict[str, set[str]] = {urn: set() for urn in edges}
    for urn, targets in edges.items():
        for target in targets:
            dependents[target].add(urn)
    return dependents


def _reaches(edges: Mapping[str, Set[str]], start: str, target: str) -> bool:
    seen: set[str] = set()
    stack = [start]
    while stack:
        current = stack.pop()
        if current == target and current != start:
            return True
        if current in seen:
            continue
        seen.add(current)
        stack.extend(edges.get(current, ()))
    return False


# ---------------------------------------------------------------------------------------------------------------
# Runtime needs


def _types(*resource_types: str) -> Callable[[PlanQuery], list[Resource]]:
    return lambda query: [r for t in resource_types for r in query.of_type(t)]


def _addon(name: str) -> Callable[[PlanQuery], list[Resource]]:
    return lambda query: [a for a in query.of_type("aws:eks/addon:Addon") if a["inputs"].get("addonName") == name]


def _named_prefix(resource_type: str, fragment: str) -> Callable[[PlanQuery], list[Resource]]:
    return lambda query: [r for r in query.of_type(resource_type) if fragment in r["name"]]


def _public_subnet_ids(query: PlanQuery) -> set[str]:
    return {
        f"{s['name']}-id"
        for s in query.of_type("aws:ec2/subnet:Subnet")
        if "kubernetes.io/role/elb" in s["inputs"].get("tags", {})
    }


def _public_routing(query: PlanQuery) -> list[Resource]:
    public = _public_subnet_ids(query)
    gateway_tables = [
        t for t in query.of_type("aws:ec2/routeTable:RouteTable") if any("gatewayId" in r for r in t["inputs"].get("routes", []))
    ]
    associations = [a for a in query.of_type(ASSOCIATION) if a["inputs"].get("subnetId") in public]
    return [*query.of_type("aws:ec2/internetGateway:InternetGateway"), *gateway_tables, *associations]


def _private_egress(query: PlanQuery) -> list[Resource]:
    public = _public_subnet_ids(query)
    nat_tables = [
        t
        for t in query.of_type("aws:ec2/routeTable:RouteTable")
        if any("natGatewayId" in r for r in t["inputs"].get("routes", []))
    ]
    associations = [a for a in query.of_type(ASSOCIATION) if a["inputs"].get("subnetId") not in public]
    return [*query.of_type("aws:ec2/natGateway:NatGateway"), *nat_tables, *associations]


def _load_balancer_owners(query: PlanQuery) -> list[Resource]:
    services = [
        s for s in query.of_type("kubernetes:core/v1:Service") if s["inputs"].get("spec", {}).get("type") == "LoadBalancer"
    ]
    releases = [
        r
        for r in query.of_type(HELM_RELEASE)
        if r["inputs"].get("values", {}).get("controller", {}).get("service", {}).get("type") == "LoadBalancer"
    ]
    return [*services, *releases]


def _runs_on_nodes(query: PlanQuery) -> list[Resource]:
    # Pods of these call AWS APIs or must be evicted before their nodes go.
    addons = [a for a in query.of_type("aws:eks/addon:Addon")]
    return [*query.of_type(HELM_RELEASE), *addons, *query.of_type(VOLUME_GATE)]


def _role_permissions(prefix: str) -> Callable[[PlanQuery], list[Resource]]:
    return lambda query: [
        r
        for t in ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/rolePolicy:RolePolicy")
        for r in query.of_type(t)
        if r["name"].startswith(prefix)
    ]


Providers = Callable[[PlanQuery, Resource], list[Resource]]


def _all(select: Callable[[PlanQuery], list[Resource]]) -> Providers:
    """Providers that serve every consumer alike."""
    return lambda query, _consumer: select(query)


def _nat_route(query: PlanQuery, nat: Resource) -> list[Resource]:
    """The gateway, its route table, and the association of the NAT gateway's own subnet."""
    own = [
        r
        for r in _public_routing(query)
        if r["type"] != ASSOCIATION or r["inputs"].get("subnetId") == nat["inputs"].get("subnetId")
    ]
    return own


def _pod_identity(query: PlanQuery, consumer: Resource) -> list[Resource]:
    """The agent, and for a Helm release the association of its service account (an add-on binds its own)."""
    agent = _addon("eks-pod-identity-agent")(query)
    if consumer["type"] != HELM_RELEASE:
        return agent
    values = consumer["inputs"].get("values", {})
    # The cluster autoscaler's chart names it under rbac, Karpenter's at the top level.
    account = (values.get("rbac", {}).get("serviceAccount") or values.get("serviceAccount", {})).get("name")
    namespace = consumer["inputs"].get("namespace")
    associations = [
        a
        for a in query.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
        if (a["inputs"].get("namespace"), a["inputs"].get("serviceAccount")) == (namespace, account)
    ]
    return [*agent, *associations] if associations else [*agent, _MISSING_ASSOCIATION]


def _private_subnets(query: PlanQuery) -> list[Resource]:
    return [s for s in query.of_type("aws:ec2/subnet:Subnet") if "kubernetes.io/role/internal-elb" in s["inputs"].get("tags", {})]


def _karpenter(query: PlanQuery) -> list[Resource]:
    """What Karpenter needs to terminate its instances, and what its instances need until they are gone: the
    controller (releases, Pod Identity role), the interruption queue and its rules, the node role's permissions and
    access entry, the managed nodes it runs on, the cluster, and the private subnets with their egress."""
    interruption_types = (
        "aws:sqs/queue:Queue",
        "aws:sqs/queuePolicy:QueuePolicy",
        "aws:cloudwatch/eventRule:EventRule",
        "aws:cloudwatch/eventTarget:EventTarget",
    )
    interruption = [r for t in interruption_types for r in query.of_type(t) if r["name"].startswith("karpenter-")]
    return [
        *_named_prefix(HELM_RELEASE, "karpenter-")(query),
        *_role_permissions("karpenter-")(query),
        *[
            a
            for a in query.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
            if a["name"].startswith("karpenter-")
        ],
        *[e for e in query.of_type("aws:eks/accessEntry:AccessEntry") if e["name"].startswith("karpenter-")],
        *interruption,
        *query.of_type("eks:index:Cluster"),
        *query.of_type(NODE_GROUP),
        *_private_egress(query),
        *_private_subnets(query),
    ]


def _selected_pools(workload: Resource) -> set[str]:
    """Pools a workload's pods require through node affinity or a node selector on the pool label."""
    spec = workload["inputs"].get("spec", {}).get("template", {}).get("spec", {})
    pools = {spec["nodeSelector"][POOL_LABEL]} if POOL_LABEL in spec.get("nodeSelector", {}) else set()
    terms = (
        spec.get("affinity", {})
        .get("nodeAffinity", {})
        .get("requiredDuringSchedulingIgnoredDuringExecution", {})
        .get("nodeSelectorTerms", [])
    )
    for term in terms:
        for expression in term.get("matchExpressions", []):
            if expression.get("key") == POOL_LABEL and expression.get("operator") == "In":
                pools.update(expression.get("values", []))
    return pools


def _karpenter_pool_name(resource: Resource) -> str:
    return str(resource["inputs"].get("metadata", {}).get("name", ""))


def _on_karpenter_pools(query: PlanQuery) -> list[Resource]:
    launched = {_karpenter_pool_name(pool) for pool in query.of_type(NODE_POOL)}
    return [w for t in WORKLOAD_TYPES for w in query.of_type(t) if _selected_pools(w) & launched]


def _node_pools_of(query: PlanQuery, workload: Resource) -> list[Resource]:
    return [pool for pool in query.of_type(NODE_POOL) if _karpenter_pool_name(pool) in _selected_pools(workload)]


# Stands for an association a consumer needs but the plan lacks: never reachable, so the need is reported broken.
_MISSING_ASSOCIATION: Final[Resource] = {"urn": "(no PodIdentityAssociation for its service account)", "type": "", "name": ""}


@dataclass(frozen=True)
class Need:
    name: str
    why: str
    source: str
    consumers: Callable[[PlanQuery], list[Resource]]
    providers: Providers


NEEDS: Final = (
    Need(
        "node-egress",
        "Nodes in private subnets join the cluster, pull images and call AWS APIs through their NAT route; on destroy "
        "the EBS CSI controller on them still deletes volumes through it.",
        "EKS User Guide, 'View Amazon EKS networking requirements for VPC and subnets' (private subnets need a NAT "
        "gateway or VPC endpoints for outbound access)",
        _types(NODE_GROUP),
        _all(_private_egress),
    ),
    Need(
        "workloads-egress",
        "Add-ons and releases on the nodes reach AWS APIs (EC2 for volumes, Auto Scaling) through the NAT route.",
        "EKS User Guide, 'View Amazon EKS networking requirements for VPC and subnets'",
        _runs_on_nodes,
        _all(_private_egress),
    ),
    Need(
        "workloads-nodes",
        "Pods (add-on controllers, Helm releases, the volume gate's driver) run on nodes; destroy must remove them "
        "while nodes still exist, or uninstall waits on pods that can never be evicted.",
        "Kubernetes documentation, 'Pod Lifecycle' (pods are bound to nodes); EKS managed node group deletion drains nodes",
        _runs_on_nodes,
        _all(_types(NODE_GROUP)),
    ),
    Need(
        "nat-internet-route",
        "A NAT gateway forwards through its public subnet's route to the internet gateway.",
        "Amazon VPC User Guide, 'NAT gateways' (a public NAT gateway needs its subnet routed to an internet gateway)",
        _types("aws:ec2/natGateway:NatGateway"),
        _nat_route,
    ),
    Need(
        "volume-deletion",
        "Deleting a claim's EBS volume is done by the CSI controller (on the nodes, with its role); claims and the "
        "gate waiting for their volumes must go while the driver, its role and the nodes still exist.",
        "kubernetes-sigs/aws-ebs-csi-driver docs/README.md (the controller calls DeleteVolume); Kubernetes "
        "documentation, 'Persistent Volumes' (reclaim policy Delete)",
        _types("kubernetes:core/v1:PersistentVolumeClaim", VOLUME_GATE),
        _all(
            lambda query: [
                *_addon("aws-ebs-csi-driver")(query),
                *query.of_type(NODE_GROUP),
                *_role_permissions("addons-ebs-csi")(query),
            ]
        ),
    ),
    Need(
        "csi-driver-permissions",
        "The EBS CSI controller creates, attaches and deletes volumes with its Pod Identity role until the add-on is "
        "gone: the role's policy must be detached after the add-on, or the last volume deletions are denied.",
        "kubernetes-sigs/aws-ebs-csi-driver docs/install.md (the driver's IAM permissions, AmazonEBSCSIDriverPolicyV2)",
        _addon("aws-ebs-csi-driver"),
        _all(_role_permissions("addons-ebs-csi")),
    ),
    Need(
        "load-balancer-deletion",
        "A LoadBalancer Service keeps its finalizer until the cloud controller (control plane, cluster role) has "
        "deleted the NLB; the cluster and the role's policies must outlive it.",
        "kubernetes/kubernetes staging/src/k8s.io/cloud-provider/controllers/service/controller.go "
        "(finalizer service.kubernetes.io/load-balancer-cleanup)",
        _load_balancer_owners,
        _all(lambda query: [*query.of_type("eks:index:Cluster"), *_role_permissions("iam-cluster")(query)]),
    ),
    Need(
        "public-addresses",
        "An internet-facing NLB holds public addresses in the public subnets; the internet gateway cannot be "
        "detached while they are mapped (DetachInternetGateway: DependencyViolation).",
        "Amazon EC2 API Reference, DetachInternetGateway ('the VPC must not contain any running instances with "
        "Elastic IP addresses or public IPv4 addresses')",
        _load_balancer_owners,
        _all(_public_routing),
    ),
    Need(
        "nodes-cluster",
        "A managed node group is created in an existing, ACTIVE cluster and its nodes join it; the name alone (known "
        "from config) carries no dependency.",
        "Amazon EKS API Reference, CreateNodegroup (ResourceNotFoundException for a cluster that does not exist)",
        _types(NODE_GROUP),
        _all(_types("eks:index:Cluster")),
    ),
    Need(
        "node-permissions",
        "Nodes act with the node role (join, CNI, image pulls) until they are terminated.",
        "EKS User Guide, 'Amazon EKS node IAM role'",
        _types(NODE_GROUP),
        _all(_role_permissions("iam-node")),
    ),
    Need(
        "control-plane-permissions",
        "The control plane acts with the cluster role (and the KMS key grant) until it is deleted.",
        "EKS User Guide, 'Amazon EKS cluster IAM role'",
        _types("eks:index:Cluster"),
        _all(lambda query: [*_role_permissions("iam-cluster")(query), *_role_permissions("cluster-secrets-key-use")(query)]),
    ),
    Need(
        "control-plane-log-group",
        "EKS writes control plane logs to /aws/eks/<name>/cluster and creates it itself, without retention, when "
        "it does not exist yet.",
        "EKS User Guide, 'Send control plane logs to CloudWatch Logs'",
        _types("eks:index:Cluster"),
        _all(_types("aws:cloudwatch/logGroup:LogGroup")),
    ),
    Need(
        "control-plane-log-group-swept",
        "After the cluster and its log group are deleted, EKS can re-create /aws/eks/<name>/cluster from late logs; "
        "the sweeper must outlive the LogGroup so that it deletes what comes back (and check for a leftover first).",
        "terraform-aws-modules/terraform-aws-eks#2763 and #920 (the group re-created after deletion)",
        _types("aws:cloudwatch/logGroup:LogGroup"),
        _all(_types("pulumi-python:dynamic/cluster:LogGroupSweeper")),
    ),
    Need(
        "pod-identity-credentials",
        "Pods get their role's credentials from the Pod Identity agent, and only if the association exists when "
        "the pod starts (the webhook injects the credentials at admission).",
        "EKS User Guide, 'Learn how EKS Pod Identity grants pods access to AWS services'",
        lambda query: [
            *_addon("aws-ebs-csi-driver")(query),
            *[r for r in query.of_type(HELM_RELEASE) if r["name"] in ("autoscaler-release", "karpenter-release")],
        ],
        _pod_identity,
    ),
    Need(
        "karpenter-instances-terminated",
        "Instances Karpenter launched are not in Pulumi's state; deleting a NodePool (and its EC2NodeClass) makes "
        "Karpenter drain and terminate them (the objects' finalizers hold until their NodeClaims are gone). Both must "
        "be deleted before the gate that waits until EC2 lists none of the instances.",
        "aws/karpenter-provider-aws#1268 and #5727 (instances outlive an uninstall); pkg/providers/instance/instance.go "
        "(List: the tags and states the gate filters on)",
        _types(NODE_POOL, NODE_CLASS),
        _all(_types(INSTANCE_GATE)),
    ),
    Need(
        "karpenter-outlives-its-instances",
        "Until its instances are terminated, Karpenter's controller (on the managed nodes, with its Pod Identity role, "
        "through the NAT route) must run to drain and terminate them and delete their instance profiles, and the "
        "instances still use the node role, the cluster and the private subnets; the gate waits while all of these exist.",
        "aws/karpenter-provider-aws website/content/en/docs/getting-started/getting-started-with-karpenter/"
        "cloudformation.yaml (controller and node permissions, interruption queue); EC2 API Reference, DeleteSubnet "
        "(DependencyViolation while network interfaces remain)",
        _types(INSTANCE_GATE),
        _all(_karpenter),
    ),
    Need(
        "workloads-before-their-karpenter-pool",
        "Pods required to run on a Karpenter pool must be deleted before its NodePool, or Karpenter drains the nodes "
        "under workloads that still hold them (PodDisruptionBudgets block the drain until its grace period ends).",
        "aws/karpenter-provider-aws website/content/en/docs/concepts/disruption.md (termination drains pods, respecting "
        "PodDisruptionBudgets, until terminationGracePeriod)",
        _on_karpenter_pools,
        _node_pools_of,
    ),
)


@dataclass(frozen=True)
class NeedCheck:
    need: str
    consumer: str
    provider: str
    holds: bool


def check_needs(query: PlanQuery) -> list[NeedCheck]:
    """Every (need, consumer, provider) pair of the plan and whether the consumer depends on the provider."""
    graph = query.create_edges
    checks = []
    for need in NEEDS:
        for consumer in need.consumers(query):
            for provider in need.providers(query, consumer):
                holds = _reaches(graph, consumer["urn"], provider["urn"])
                checks.append(NeedCheck(need.name, consumer["urn"], provider["urn"], holds))
    return checks


def rehearse(query: PlanQuery) -> dict[str, Any]:
    """The lifecycle report: create waves, destroy waves, every need checked, and the broken ones."""
    edges = query.create_edges
    checks = check_needs(query)
    return {
        "create": waves(edges),
        "destroy": waves(reversed_edges(edges)),
        "needs": [
            {"need": need.name, "why": need.why, "source": need.source, "pairs": sum(c.need == need.name for c in checks)}
            for need in NEEDS
        ],
        "broken": [
            {"need": check.need, "consumer": check.consumer, "provider": check.provider} for check in checks if not check.holds
        ],
    }


def _short(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def summary(report: Mapping[str, Any], stack: str) -> Iterable[str]:
    yield (
        f"lifecycle {stack}: create in {len(report['create'])} waves, destroy in {len(report['destroy'])} waves; "
        f"{sum(n['pairs'] for n in report['needs'])} runtime needs checked, {len(report['broken'])} broken"
    )
    for broken in report["broken"]:
        yield f"  broken  {broken['need']:<26} {_short(broken['consumer'])} does not wait for {_short(broken['provider'])}"
