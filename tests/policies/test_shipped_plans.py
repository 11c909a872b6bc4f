"""The shipped plans (dev, prod, the Karpenter example) pass their pack configs, and one bad change to a real
resource is caught.

Plans come from the program itself (offline.preview.build_plan via the session fixtures). Kubernetes mutations
use the program's own objects once it declares them, and a fixture added to the real plan until then.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from offline.analyses.policy import Violation, evaluate, load_pack_config, resolve_settings
from offline.plan.query import PlanQuery
from tests.conftest import STACKS, frozen_plan, stack_plan

KARPENTER_EXAMPLE = "karpenter-example"
Resource = dict[str, Any]


def shipped_plan(stack: str) -> dict[str, Any]:
    return copy.deepcopy(stack_plan(stack).plan)


def mandatory(violations: list[Violation]) -> list[Violation]:
    return [violation for violation in violations if violation["enforcement"] == "mandatory"]


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_plan_has_no_mandatory_violation(stack: str) -> None:
    violations = evaluate(PlanQuery(shipped_plan(stack)), load_pack_config(stack))
    assert mandatory(violations) == [], json.dumps(violations, indent=2)


def test_shipped_plans_are_checked_at_all() -> None:
    # Guards the test above: the plans hold what the AWS rules look at.
    types = {resource["type"] for resource in frozen_plan("prod").resources}
    assert {
        "eks:index:Cluster",
        "aws:eks/nodeGroup:NodeGroup",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:kms/key:Key",
    } <= types
    karpenter_types = {resource["type"] for resource in stack_plan(KARPENTER_EXAMPLE).resources}
    assert {NODE_CLASS, NODE_POOL} <= karpenter_types


# ---------------------------------------------------------------------------------------------------------------
# Mutations


def first(plan: dict[str, Any], resource_type: str, predicate: Callable[[Resource], bool] = lambda _: True) -> Resource:
    return next(resource for resource in plan["resources"] if resource["type"] == resource_type and predicate(resource))


def is_private_subnet(resource: Resource) -> bool:
    return "kubernetes.io/role/internal-elb" in resource["inputs"].get("tags", {})


def set_input(
    resource_type: str, key: str, value: Any, predicate: Callable[[Resource], bool] = lambda _: True
) -> Callable[..., Resource]:
    def mutate(plan: dict[str, Any]) -> Resource:
        target = first(plan, resource_type, predicate)
        target["inputs"][key] = value
        return target

    return mutate


def set_launch_template(path: tuple[str, ...], value: Any) -> Callable[..., Resource]:
    def mutate(plan: dict[str, Any]) -> Resource:
        target = first(plan, "aws:ec2/launchTemplate:LaunchTemplate")
        holder = target["inputs"]
        for step in path[:-1]:
            holder = holder[step][0] if isinstance(holder[step], list) else holder[step]
        holder[path[-1]] = value
        return target

    return mutate


def public_endpoint(cidrs: list[str] | None) -> Callable[..., Resource]:
    """The cluster's public endpoint switched on with `cidrs` as its allow-list (None: no allow-list), whatever the
    stack had: a private-only stack is mutated into the same mistake."""

    def mutate(plan: dict[str, Any]) -> Resource:
        target = first(plan, CLUSTER)
        target["inputs"]["endpointPublicAccess"] = True
        target["inputs"].pop("publicAccessCidrs", None)
        if cidrs is not None:
            target["inputs"]["publicAccessCidrs"] = cidrs
        return target

    return mutate


def drop_input(resource_type: str, key: str) -> Callable[..., Resource]:
    def mutate(plan: dict[str, Any]) -> Resource:
        target = first(plan, resource_type)
        del target["inputs"][key]
        return target

    return mutate


def open_default_security_group(plan: dict[str, Any]) -> Resource:
    target = first(plan, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    target["inputs"]["ingress"] = [{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}]
    return target


def trust_everyone(plan: dict[str, Any]) -> Resource:
    target = first(plan, "aws:iam/role:Role")
    statement = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
    target["inputs"]["assumeRolePolicy"] = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    return target


def grant_admin(plan: dict[str, Any]) -> Resource:
    target = first(plan, "aws:iam/rolePolicy:RolePolicy")
    document = json.loads(target["inputs"]["policy"])
    document["Statement"].append({"Effect": "Allow", "Action": "*", "Resource": "*"})
    target["inputs"]["policy"] = json.dumps(document)
    return target


def drop_default_tag(plan: dict[str, Any]) -> Resource:
    provider = first(plan, "pulumi:providers:aws")
    default_tags = json.loads(provider["inputs"]["defaultTags"])
    del default_tags["tags"]["environment"]
    provider["inputs"]["defaultTags"] = json.dumps(default_tags)
    return first(plan, "aws:ec2/vpc:Vpc")


@dataclass(frozen=True)
class Mutation:
    policy: str
    mutate: Callable[[dict[str, Any]], Resource]
    stacks: tuple[str, ...] = STACKS


CLUSTER = "eks:index:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"


def change_spec(resource_type: str, change: Callable[[dict[str, Any]], None]) -> Callable[..., Resource]:
    def mutate(plan: dict[str, Any]) -> Resource:
        target = first(plan, resource_type)
        change(target["inputs"]["spec"])
        return target

    return mutate


AWS_MUTATIONS: dict[str, Mutation] = {
    "endpoint open to the world": Mutation("eks-public-endpoint-restricted", public_endpoint(["0.0.0.0/0"])),
    "endpoint without allow-list": Mutation("eks-public-endpoint-restricted", public_endpoint(None)),
    "no secrets encryption": Mutation("eks-secrets-encryption", drop_input(CLUSTER, "encryptionConfigKeyArn")),
    "no audit log": Mutation("eks-control-plane-logging", set_input(CLUSTER, "enabledClusterLogTypes", ["api", "authenticator"])),
    "no deletion protection": Mutation("eks-deletion-protection", set_input(CLUSTER, "deletionProtection", False), ("prod",)),
    "nodes with public IPs": Mutation("nodes-no-public-ip", set_input(CLUSTER, "nodeAssociatePublicIpAddress", True)),
    "private subnet maps public IPs": Mutation(
        "nodes-no-public-ip", set_input("aws:ec2/subnet:Subnet", "mapPublicIpOnLaunch", True, is_private_subnet)
    ),
    "key rotation off": Mutation("kms-key-rotation", set_input("aws:kms/key:Key", "enableKeyRotation", False)),
    "IMDSv1 allowed": Mutation("nodes-require-imdsv2", set_launch_template(("metadataOptions", "httpTokens"), "optional")),
    "node group without launch template": Mutation("nodes-require-imdsv2", drop_input(NODE_GROUP, "launchTemplate")),
    "unencrypted root volume": Mutation(
        "node-volumes-encrypted", set_launch_template(("blockDeviceMappings", "ebs", "encrypted"), "false")
    ),
    "ssh open to the world": Mutation("security-group-no-world-ingress", open_default_security_group),
    "trust any principal": Mutation("iam-trust-names-principal", trust_everyone),
    "admin statement": Mutation("iam-no-admin-wildcard", grant_admin),
    "default tag removed": Mutation("aws-required-tags", drop_default_tag),
    "node group sizes inverted": Mutation(
        "node-group-scaling", set_input(NODE_GROUP, "scalingConfig", {"minSize": 4, "desiredSize": 2, "maxSize": 4})
    ),
    "node group too large": Mutation(
        "node-group-scaling", set_input(NODE_GROUP, "scalingConfig", {"minSize": 1, "desiredSize": 2, "maxSize": 50})
    ),
    "Karpenter instances accept IMDSv1": Mutation(
        "nodes-require-imdsv2",
        change_spec(NODE_CLASS, lambda spec: spec["metadataOptions"].update(httpTokens="optional")),
        (KARPENTER_EXAMPLE,),
    ),
    "Karpenter root volume unencrypted": Mutation(
        "node-volumes-encrypted",
        change_spec(NODE_CLASS, lambda spec: spec["blockDeviceMappings"][0]["ebs"].update(encrypted=False)),
        (KARPENTER_EXAMPLE,),
    ),
    "NodePool without limits": Mutation(
        "karpenter-nodepool-limits", change_spec(NODE_POOL, lambda spec: spec.pop("limits")), (KARPENTER_EXAMPLE,)
    ),
    "NodePool above the node limit": Mutation(
        "karpenter-nodepool-limits",
        change_spec(NODE_POOL, lambda spec: spec.update(limits={"nodes": "50"})),
        (KARPENTER_EXAMPLE,),
    ),
}


# ---------------------------------------------------------------------------------------------------------------
# Kubernetes: the program's own object of a type when it declares one, else a compliant fixture added to the plan


def compliant_deployment() -> dict[str, Any]:
    container = {
        "name": "web",
        "image": "nginx:1.27.3",
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
        "readinessProbe": {"httpGet": {"path": "/", "port": 8080}},
        "livenessProbe": {"httpGet": {"path": "/", "port": 8080}},
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
    }
    pod = {"securityContext": {"runAsNonRoot": True}, "containers": [container]}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "fixture-web", "namespace": "apps"},
        "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod}},
    }


FIXTURES: dict[str, dict[str, Any]] = {
    "kubernetes:apps/v1:Deployment": compliant_deployment(),
    "kubernetes:core/v1:Namespace": {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "apps", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}},
    },
    "kubernetes:core/v1:PersistentVolumeClaim": {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": "apps"},
        "spec": {
            "storageClassName": "gp3-encrypted",
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
        },
    },
    "kubernetes:networking.k8s.io/v1:Ingress": {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {"ingressClassName": "nginx", "rules": [{"host": "web.example.com"}]},
    },
    "kubernetes:core/v1:Service": {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "apps", "labels": {"app": "web"}},
        "spec": {"type": "ClusterIP", "ports": [{"port": 80}]},
    },
    "kubernetes:helm.sh/v3:Release": {
        "name": "ingress",
        "chart": "nginx-ingress",
        "version": "2.0.1",
        "namespace": "ingress",
        "repositoryOpts": {"repo": "https://helm.nginx.com/stable"},
    },
}


def kubernetes_object(plan: dict[str, Any], resource_type: str) -> Resource:
    """The plan's first object of the type that no rule objects to (so a mutation is what makes it fail)."""
    query = PlanQuery(plan)
    for candidate in query.of_type(resource_type):
        if not evaluate(PlanQuery({"resources": [candidate]}), {"all": "mandatory"}):
            return candidate
    providers = query.of_type("pulumi:providers:kubernetes")
    fixture: Resource = {
        "urn": f"urn:pulumi:{plan['stack']}::eks-platform::{resource_type}::policy-fixture",
        "type": resource_type,
        "name": "policy-fixture",
        "custom": True,
        "parent": None,
        "provider": providers[0]["urn"] if providers else None,
        "providers": {},
        "dependencies": [],
        "inputs": copy.deepcopy(FIXTURES[resource_type]),
        "protect": False,
        "retainOnDelete": False,
    }
    plan["resources"].append(fixture)
    return fixture


def pod_spec_of(workload: Resource) -> dict[str, Any]:
    spec: dict[str, Any] = workload["inputs"]["spec"]["template"]["spec"]
    return spec


def change_first_container(key: str, value: Any) -> Callable[[dict[str, Any]], Resource]:
    def mutate(plan: dict[str, Any]) -> Resource:
        target = kubernetes_object(plan, "kubernetes:apps/v1:Deployment")
        container = pod_spec_of(target)["containers"][0]
        if key == "image":
            container["image"] = value
        else:
            container.setdefault("securityContext", {})[key] = value
        return target

    return mutate


def add_host_path(plan: dict[str, Any]) -> Resource:
    target = kubernetes_object(plan, "kubernetes:apps/v1:Deployment")
    pod_spec_of(target).setdefault("volumes", []).append({"name": "host-etc", "hostPath": {"path": "/etc"}})
    return target


def change_object(resource_type: str, change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], Resource]:
    def mutate(plan: dict[str, Any]) -> Resource:
        target = kubernetes_object(plan, resource_type)
        change(target["inputs"])
        return target

    return mutate


def expose_app_service(inputs: dict[str, Any]) -> None:
    inputs["metadata"]["labels"] = {"app": "web"}
    inputs["spec"]["type"] = "LoadBalancer"


KUBERNETES_MUTATIONS: dict[str, Mutation] = {
    "latest image": Mutation("k8s-image-tag-pinned", change_first_container("image", "nginx:latest")),
    "privileged container": Mutation("k8s-not-privileged", change_first_container("privileged", True)),
    "privilege escalation": Mutation("k8s-no-privilege-escalation", change_first_container("allowPrivilegeEscalation", True)),
    "root container": Mutation("k8s-run-as-non-root", change_first_container("runAsNonRoot", False)),
    "capabilities kept": Mutation("k8s-drop-all-capabilities", change_first_container("capabilities", {"drop": []})),
    "hostPath volume": Mutation("k8s-no-host-access", add_host_path),
    "unlabelled namespace": Mutation(
        "k8s-namespace-pod-security",
        change_object("kubernetes:core/v1:Namespace", lambda inputs: inputs["metadata"].update(labels={})),
    ),
    "unencrypted claim": Mutation(
        "k8s-encrypted-storage",
        change_object("kubernetes:core/v1:PersistentVolumeClaim", lambda inputs: inputs["spec"].update(storageClassName="gp2")),
    ),
    "ingress without class": Mutation(
        "k8s-ingress-class",
        change_object("kubernetes:networking.k8s.io/v1:Ingress", lambda inputs: inputs["spec"].pop("ingressClassName")),
    ),
    "service load balancer": Mutation("k8s-service-exposure", change_object("kubernetes:core/v1:Service", expose_app_service)),
    "chart version range": Mutation(
        "helm-chart-version-pinned", change_object("kubernetes:helm.sh/v3:Release", lambda inputs: inputs.update(version="~2.0"))
    ),
    "retired ingress-nginx chart": Mutation(
        "helm-no-retired-ingress-nginx",
        change_object(
            "kubernetes:helm.sh/v3:Release",
            lambda inputs: inputs.update(
                chart="ingress-nginx", repositoryOpts={"repo": "https://kubernetes.github.io/ingress-nginx"}
            ),
        ),
    ),
}
ALL_MUTATIONS = {**AWS_MUTATIONS, **KUBERNETES_MUTATIONS}


MUTATION_RUNS = [(mutation, stack) for mutation in ALL_MUTATIONS.values() for stack in mutation.stacks]
MUTATION_IDS = [f"{name}-{stack}" for name, mutation in ALL_MUTATIONS.items() for stack in mutation.stacks]


@pytest.mark.parametrize(("mutation", "stack"), MUTATION_RUNS, ids=MUTATION_IDS)
def test_mutation_is_caught(mutation: Mutation, stack: str) -> None:
    plan = shipped_plan(stack)
    target = mutation.mutate(plan)
    violations = [
        violation for violation in evaluate(PlanQuery(plan), load_pack_config(stack)) if violation["policy"] == mutation.policy
    ]
    on_target = [violation for violation in violations if violation["urn"] == target["urn"]]
    assert on_target, f"{mutation.policy} did not fire on {target['urn']}"
    assert all(f"'{target['name']}'" in violation["message"] for violation in on_target)
    level = resolve_settings(load_pack_config(stack))[mutation.policy].level.value
    assert {violation["enforcement"] for violation in on_target} == {"advisory" if level == "advisory" else "mandatory"}


def test_deletion_protection_is_not_required_in_dev() -> None:
    plan = shipped_plan("dev")
    set_input(CLUSTER, "deletionProtection", False)(plan)
    assert [
        violation
        for violation in evaluate(PlanQuery(plan), load_pack_config("dev"))
        if violation["policy"] == "eks-deletion-protection"
    ] == []


def test_an_unknown_value_is_not_a_violation() -> None:
    # During a real preview a key ARN created in the same update is unknown; the plan marks it "[unknown]".
    plan = shipped_plan("prod")
    set_input(CLUSTER, "encryptionConfigKeyArn", "[unknown]")(plan)
    assert mandatory(evaluate(PlanQuery(plan), load_pack_config("prod"))) == []
