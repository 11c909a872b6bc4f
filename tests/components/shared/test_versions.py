"""The per-Kubernetes-minor table: every supported minor has a complete row, and each row fits its minor."""

from __future__ import annotations

import dataclasses
import re

import pytest

from components.shared.versions import AMI_RELEASE, KARPENTER_AMI_ALIAS, KUBERNETES_RELEASES, AddonVersions
from settings import SUPPORTED_KUBERNETES_VERSIONS

ADDON_BUILD = re.compile(r"^v[0-9]+\.[0-9]+\.[0-9]+-eksbuild\.[0-9]+$")
# CoreDNS line per Kubernetes minor: EKS User Guide, "Manage CoreDNS", version table.
COREDNS_LINE = {"1.33": "v1.12.", "1.34": "v1.13.", "1.35": "v1.14."}


def test_supported_versions_are_exactly_the_rows_of_the_table() -> None:
    assert tuple(sorted(KUBERNETES_RELEASES)) == SUPPORTED_KUBERNETES_VERSIONS
    assert len(SUPPORTED_KUBERNETES_VERSIONS) >= 2, "an upgrade needs a row to move to"


@pytest.mark.parametrize("minor", sorted(KUBERNETES_RELEASES))
def test_every_row_pins_every_addon_to_an_eks_build(minor: str) -> None:
    addons = KUBERNETES_RELEASES[minor].addons
    for field in dataclasses.fields(AddonVersions):
        assert ADDON_BUILD.match(getattr(addons, field.name)), f"{minor}: {field.name} is not an EKS add-on build"


@pytest.mark.parametrize("minor", sorted(KUBERNETES_RELEASES))
def test_minor_bound_components_match_their_row(minor: str) -> None:
    """kube-proxy follows the Kubernetes version skew policy, one build per minor (EKS User Guide, "Manage
    kube-proxy"); the cluster autoscaler must match the control plane's minor (kubernetes/autoscaler
    cluster-autoscaler/README.md, "Releases"). The mistake: copying a row for a new minor and forgetting one."""
    release = KUBERNETES_RELEASES[minor]
    assert release.addons.kube_proxy.startswith(f"v{minor}.")
    assert release.addons.coredns.startswith(COREDNS_LINE[minor])
    assert release.cluster_autoscaler_image.startswith(f"v{minor}.")
    assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", release.cluster_autoscaler_chart.version)


@pytest.mark.parametrize("minor", sorted(KUBERNETES_RELEASES))
def test_node_release_is_the_pinned_ami_release_of_its_own_minor(minor: str) -> None:
    """A managed node group's releaseVersion is `<Kubernetes patch>-<AMI date>` (awslabs/amazon-eks-ami
    CHANGELOG.md, "Release version" per minor) and must be of the group's own minor, or EKS refuses the group;
    all rows and Karpenter's alias take the same AMI release, so one reviewed change moves every node. The
    mistakes: a row copied for a new minor with the old minor's release, or rows of different AMI releases."""
    release = KUBERNETES_RELEASES[minor].node_release_version
    assert re.fullmatch(rf"{re.escape(minor)}\.[0-9]+-{AMI_RELEASE.removeprefix('v')}", release), release
    assert f"al2023@{AMI_RELEASE}" == KARPENTER_AMI_ALIAS
