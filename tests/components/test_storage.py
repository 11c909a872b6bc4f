from __future__ import annotations

import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest

from components.storage import Storage, StorageArgs
from components.volume_release_gate import CLAIM_TAG
from tests.conftest import run_component


def plan(protect: bool = False, demos: bool = True):
    def program() -> None:
        namespace = k8s.core.v1.Namespace("ns", metadata=k8s.meta.v1.ObjectMetaArgs(name="demo"))
        csi = aws.eks.Addon("ebs-csi", cluster_name="demo", addon_name="aws-ebs-csi-driver")
        Storage(
            "st",
            StorageArgs(
                namespace="demo",
                namespace_resource=namespace if demos else None,
                cluster_name="demo",
                region="eu-west-1",
                csi_dependencies=(csi,),
                protect_claim=protect,
            ),
        )

    return run_component(program)


def test_default_storage_class_is_encrypted_gp3_on_the_csi_driver() -> None:
    query = plan()
    storage_class = query.one("kubernetes:storage.k8s.io/v1:StorageClass", "st-gp3")["inputs"]
    assert storage_class["provisioner"] == "ebs.csi.aws.com"
    assert storage_class["parameters"]["type"] == "gp3"
    assert storage_class["parameters"]["encrypted"] == "true"
    assert storage_class["volumeBindingMode"] == "WaitForFirstConsumer"
    assert storage_class["allowVolumeExpansion"] is True
    assert storage_class["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"


def test_seed_claim_uses_the_class_and_waits_for_the_csi_driver() -> None:
    query = plan()
    claim = query.one("kubernetes:core/v1:PersistentVolumeClaim", "st-ebs-pvc")
    spec = claim["inputs"]["spec"]
    assert claim["inputs"]["metadata"] == {**claim["inputs"]["metadata"], "name": "ebs-pvc", "namespace": "demo"}
    assert spec["accessModes"] == ["ReadWriteOnce"]
    assert spec["resources"]["requests"]["storage"] == "4Gi"
    # Its own class, not the default one: only its volume carries its claim's tag.
    assert spec["storageClassName"] == "gp3-encrypted-ebs-pvc"
    csi = query.one("aws:eks/addon:Addon", "ebs-csi")
    assert csi["urn"] in claim["dependencies"]
    assert query.one("kubernetes:storage.k8s.io/v1:StorageClass", "st-ebs-pvc-gp3")["urn"] in claim["dependencies"]
    assert claim["protect"] is False


def test_claim_is_protected_when_asked() -> None:
    assert plan(protect=True).one("kubernetes:core/v1:PersistentVolumeClaim", "st-ebs-pvc")["protect"] is True


def test_volumes_are_tagged_for_this_cluster_and_the_claim_waits_behind_a_release_gate() -> None:
    query = plan()
    default = query.one("kubernetes:storage.k8s.io/v1:StorageClass", "st-gp3")["inputs"]
    own = query.one("kubernetes:storage.k8s.io/v1:StorageClass", "st-ebs-pvc-gp3")["inputs"]
    assert default["parameters"]["tagSpecification_1"] == own["parameters"]["tagSpecification_1"] == "eks-platform/cluster=demo"
    # The claim's class tags its volume with the claim, the tag the gate filters on; the default class does not, so a
    # tenant's claim never holds the gate (volume_release_gate.volumes_of_claim).
    assert own["parameters"]["tagSpecification_2"] == f"{CLAIM_TAG}=demo/ebs-pvc"
    assert "tagSpecification_2" not in default["parameters"]
    assert default["metadata"]["annotations"] == {"storageclass.kubernetes.io/is-default-class": "true"}
    assert not own["metadata"].get("annotations")
    assert {k: v for k, v in own.items() if k not in ("metadata", "parameters")} == {
        k: v for k, v in default.items() if k not in ("metadata", "parameters")
    }
    gate = query.one("pulumi-python:dynamic/storage:VolumeReleaseGate", "st-ebs-pvc-released")
    assert {k: gate["inputs"][k] for k in ("region", "clusterName", "namespace", "claim")} == {
        "region": "eu-west-1",
        "clusterName": "demo",
        "namespace": "demo",
        "claim": "ebs-pvc",
    }
    # Destroy order: the claim, then the gate (waits until AWS lists no volume for it), then the driver.
    claim = query.one("kubernetes:core/v1:PersistentVolumeClaim", "st-ebs-pvc")
    assert gate["urn"] in claim["dependencies"]
    assert query.one("aws:eks/addon:Addon", "ebs-csi")["urn"] in gate["dependencies"]


@pytest.mark.parametrize(
    ("deployment", "mount", "volume_kind"),
    [("st-pv-demo", "/test", "persistentVolumeClaim"), ("st-scratch-demo", "/scratch", "emptyDir")],
)
def test_demo_pods_mount_their_volume(deployment: str, mount: str, volume_kind: str) -> None:
    query = plan()
    pod = query.one("kubernetes:apps/v1:Deployment", deployment)["inputs"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    mounted = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volume = next(v for v in pod["volumes"] if v["name"] == mounted[mount])
    assert volume_kind in volume
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_pv_demo_is_recreated_not_rolled_and_waits_for_its_claim() -> None:
    query = plan()
    deployment = query.one("kubernetes:apps/v1:Deployment", "st-pv-demo")
    assert deployment["inputs"]["spec"]["strategy"] == {"type": "Recreate"}
    assert query.one("kubernetes:core/v1:PersistentVolumeClaim", "st-ebs-pvc")["urn"] in deployment["dependencies"]


def test_without_the_demo_namespace_only_the_storage_class_is_created() -> None:
    query = plan(demos=False)
    (component,) = query.of_type("eks-platform:storage:Storage")
    assert [child["type"] for child in query.children(component["urn"])] == ["kubernetes:storage.k8s.io/v1:StorageClass"]
    with_demos = plan()
    assert with_demos.of_type("kubernetes:core/v1:PersistentVolumeClaim") and with_demos.of_type("kubernetes:apps/v1:Deployment")
