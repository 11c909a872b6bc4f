from __future__ import annotations

import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest

from components.storage import Storage, StorageArgs
from tests.conftest import run_component


def plan(protect: bool = False):
    def program() -> None:
        namespace = k8s.core.v1.Namespace("ns", metadata=k8s.meta.v1.ObjectMetaArgs(name="demo"))
        csi = aws.eks.Addon("ebs-csi", cluster_name="demo", addon_name="aws-ebs-csi-driver")
        Storage(
            "st",
            StorageArgs(
                namespace="demo",
                namespace_resource=namespace,
                cluster_name="demo",
                availability_zone="eu-west-1b",
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
    assert spec["storageClassName"] == "gp3-encrypted"
    csi = query.one("aws:eks/addon:Addon", "ebs-csi")
    assert csi["urn"] in claim["dependencies"]
    assert query.one("kubernetes:storage.k8s.io/v1:StorageClass", "st-gp3")["urn"] in claim["dependencies"]
    assert claim["protect"] is False


def test_claim_and_volume_are_protected_when_asked() -> None:
    query = plan(protect=True)
    assert query.one("kubernetes:core/v1:PersistentVolumeClaim", "st-ebs-pvc")["protect"] is True
    assert query.one("aws:ebs/volume:Volume", "st-ebs-pvc")["protect"] is True


def test_claim_is_bound_to_a_pulumi_owned_encrypted_volume_in_one_zone() -> None:
    query = plan()
    volume = query.one("aws:ebs/volume:Volume", "st-ebs-pvc")
    assert volume["inputs"]["encrypted"] is True
    assert (volume["inputs"]["type"], volume["inputs"]["size"], volume["inputs"]["availabilityZone"]) == ("gp3", 4, "eu-west-1b")
    pv = query.one("kubernetes:core/v1:PersistentVolume", "st-ebs-pv")
    spec = pv["inputs"]["spec"]
    assert spec["csi"] == {"driver": "ebs.csi.aws.com", "volumeHandle": "st-ebs-pvc-id", "fsType": "ext4"}
    assert spec["persistentVolumeReclaimPolicy"] == "Retain"
    assert spec["claimRef"] == {"namespace": "demo", "name": "ebs-pvc"}
    zone = spec["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]
    assert zone == {"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["eu-west-1b"]}
    claim = query.one("kubernetes:core/v1:PersistentVolumeClaim", "st-ebs-pvc")
    assert claim["inputs"]["spec"]["volumeName"] == pv["inputs"]["metadata"]["name"]
    # Destroy order: claim, then volume object (waits for the detach), then the EBS volume, then the driver.
    assert pv["urn"] in claim["dependencies"]
    assert volume["urn"] in pv["dependencies"]
    assert query.one("aws:eks/addon:Addon", "ebs-csi")["urn"] in volume["dependencies"]


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
