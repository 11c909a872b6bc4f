"""The seed's storage chapter: an encrypted gp3 default StorageClass, the `ebs-pvc` claim and its users."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.shared.containers import HTTPD_USER, httpd_container
from components.shared.pod_security import ACCEPTED_CHECKOV_FINDINGS, labels_for, pool_affinity, restricted_pod_spec
from components.volume_release_gate import CLAIM_TAG, CLUSTER_TAG, VolumeReleaseGate, VolumeReleaseGateArgs, claim_tag_value

STORAGE_CLASS = "gp3-encrypted"
# The seed's claim gets a StorageClass of its own, so that its volume carries its claim's tag and its release gate
# waits for that volume only: a tenant's claims on the default class never hold a `demoWorkloads: false` update.
CLAIM_STORAGE_CLASS = "gp3-encrypted-ebs-pvc"
PART_OF = "seed-storage"
CLAIM = "ebs-pvc"


@dataclass(frozen=True)
class StorageArgs:
    namespace: str
    # The demo namespace: the seed's claim and the pods using it live there. None (demoWorkloads off): the
    # platform part only, the default StorageClass.
    namespace_resource: pulumi.Resource | None
    cluster_name: str
    region: str
    # Deleting a claim's EBS volume goes through the CSI controller on the nodes: claims (through the
    # release gate) depend on both, so `pulumi destroy` removes them while the driver can still clean up.
    csi_dependencies: tuple[pulumi.Resource, ...]
    # Node pools the demo pods may run on (node affinity on the pool label); empty places them anywhere.
    pools: tuple[str, ...] = ()
    claim_size: str = "4Gi"
    # prod: Pulumi refuses to delete the claim (and with it the volume) without an explicit unprotect.
    protect_claim: bool = False


class Storage(pulumi.ComponentResource):
    storage_class_name: pulumi.Output[str]
    claim_name: pulumi.Output[str] | None

    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-platform:storage:Storage", name, None, opts)

        # Marks every volume of the cluster's classes as this cluster's.
        tags = {"tagSpecification_1": f"{CLUSTER_TAG}={args.cluster_name}"}
        storage_class = self._gp3_class(f"{name}-gp3", STORAGE_CLASS, True, tags, args.csi_dependencies)
        self.storage_class_name = storage_class.metadata.name
        if args.namespace_resource is None:
            self.claim_name = None
            self.register_outputs({"storageClass": self.storage_class_name})
            return

        claim_tags = {**tags, "tagSpecification_2": f"{CLAIM_TAG}={claim_tag_value(args.namespace, CLAIM)}"}
        claim_class = self._gp3_class(f"{name}-{CLAIM}-gp3", CLAIM_STORAGE_CLASS, False, claim_tags, args.csi_dependencies)
        release_gate = VolumeReleaseGate(
            f"{name}-{CLAIM}-released",
            VolumeReleaseGateArgs(region=args.region, cluster_name=args.cluster_name, namespace=args.namespace, claim=CLAIM),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.csi_dependencies)),
        )
        claim = k8s.core.v1.PersistentVolumeClaim(
            f"{name}-{CLAIM}",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=CLAIM, namespace=args.namespace, labels=labels_for(CLAIM, PART_OF)),
            spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                access_modes=["ReadWriteOnce"],
                storage_class_name=CLAIM_STORAGE_CLASS,
                resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": args.claim_size}),
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[claim_class, release_gate, args.namespace_resource, *args.csi_dependencies],
                protect=args.protect_claim,
            ),
        )

        claim_mount = k8s.core.v1.VolumeMountArgs(name="test-volume", mount_path="/test")
        pv_demo, pv_demo_volumes = httpd_container("pv-demo-ctr", [claim_mount])
        self._demo_deployment(
            f"{name}-pv-demo",
            "pv-demo",
            args.namespace,
            pv_demo,
            [
                *pv_demo_volumes,
                k8s.core.v1.VolumeArgs(
                    name="test-volume",
                    persistent_volume_claim=k8s.core.v1.PersistentVolumeClaimVolumeSourceArgs(claim_name=CLAIM),
                ),
            ],
            pool_affinity(args.pools),
            pulumi.ResourceOptions(parent=self, depends_on=[claim, args.namespace_resource]),
        )

        scratch_mount = k8s.core.v1.VolumeMountArgs(name="scratch", mount_path="/scratch")
        scratch, scratch_volumes = httpd_container("scratch-demo-ctr", [scratch_mount])
        self._demo_deployment(
            f"{name}-scratch-demo",
            "scratch-demo",
            args.namespace,
            scratch,
            [
                *scratch_volumes,
                # The seed's ephemeral storage: lives and dies with the pod, capped so it cannot fill the node.
                k8s.core.v1.VolumeArgs(name="scratch", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="256Mi")),
            ],
            pool_affinity(args.pools),
            pulumi.ResourceOptions(parent=self, depends_on=[args.namespace_resource]),
        )

        self.claim_name = claim.metadata.name
        self.register_outputs({"storageClass": self.storage_class_name, "claim": self.claim_name})

    def _gp3_class(
        self, resource_name: str, class_name: str, default: bool, tags: dict[str, str], dependencies: tuple[pulumi.Resource, ...]
    ) -> k8s.storage.v1.StorageClass:
        """An encrypted gp3 class whose volumes carry `tags` (the driver's tagSpecification_N parameters)."""
        return k8s.storage.v1.StorageClass(
            resource_name,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=class_name,
                annotations={"storageclass.kubernetes.io/is-default-class": "true"} if default else None,
            ),
            provisioner="ebs.csi.aws.com",
            parameters={"type": "gp3", "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4", **tags},
            reclaim_policy="Delete",
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(dependencies)),
        )

    @staticmethod
    def _demo_deployment(
        resource_name: str,
        app: str,
        namespace: str,
        container: k8s.core.v1.ContainerArgs,
        volumes: list[k8s.core.v1.VolumeArgs],
        affinity: k8s.core.v1.AffinityArgs | None,
        opts: pulumi.ResourceOptions,
    ) -> k8s.apps.v1.Deployment:
        labels = labels_for(app, PART_OF)
        return k8s.apps.v1.Deployment(
            resource_name,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=app, namespace=namespace, labels=labels, annotations=ACCEPTED_CHECKOV_FINDINGS
            ),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=1,
                # pv-demo's ReadWriteOnce volume attaches to one node: the old pod must go before the new one starts.
                strategy=k8s.apps.v1.DeploymentStrategyArgs(type="Recreate"),
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"app.kubernetes.io/name": app}),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=restricted_pod_spec(HTTPD_USER, [container], volumes, affinity=affinity),
                ),
            ),
            opts=opts,
        )
