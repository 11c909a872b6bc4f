"""The per-Kubernetes-minor table: every supported minor has a complete row, and each row fits its minor."""

from __future__ import annotations

import dataclasses
import re
from datetime import date

import pytest

from components.shared.versions import (
    AMI_RELEASE,
    KARPENTER_AMI_ALIAS,
    KUBERNETES_RELEASES,
    SUPPORT_CALENDAR,
    AddonVersions,
    support_notes,
)
from offline.plan.build import build_plan
from settings import SUPPORTED_KUBERNETES_VERSIONS
from tests.conftest import FROZEN_PROJECT

ADDON_BUILD = re.compile(r"^v[0-9]+\.[0-9]+\.[0-9]+-eksbuild\.[0-9]+$")
# CoreDNS line per Kubernetes minor: EKS User Guide, "Manage CoreDNS", version table.
COREDNS_LINE = {"1.33": "v1.12.", "1.34": "v1.13.", "1.35": "v1.14.", "1.36": "v1.14."}


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


def test_every_supported_minor_has_its_support_window() -> None:
    """14 months of standard support, then 12 of extended (EKS User Guide, "Understand the Kubernetes version
    lifecycle on EKS"). Catches: a row added for a new minor without its calendar entry (the cost estimate could
    not say which rate it pays, the preview could not warn)."""
    assert set(SUPPORT_CALENDAR) == set(KUBERNETES_RELEASES)
    for window in SUPPORT_CALENDAR.values():
        assert window.extended_ends == window.standard_ends.replace(year=window.standard_ends.year + 1)


@pytest.mark.parametrize(
    ("today", "support_type", "expected"),
    [
        (date(2027, 1, 25), "STANDARD", None),  # 61 days before standard support ends: quiet
        (date(2027, 1, 26), "STANDARD", "leaves standard support in 60 day(s), on 2027-03-27: EKS then upgrades"),
        (date(2027, 1, 26), "EXTENDED", "the cluster then pays the extended-support rate"),
        (date(2027, 3, 27), "EXTENDED", "leaves standard support in 0 day(s)"),
        (date(2027, 3, 28), "EXTENDED", "left standard support on 2027-03-27: the cluster pays the extended-support"),
        (date(2028, 3, 28), "EXTENDED", "extended support ended on 2028-03-27"),
    ],
)
def test_the_preview_warns_before_standard_support_ends_and_during_extended(
    today: date, support_type: str, expected: str | None
) -> None:
    """The clock is injected; boundaries on both sides of the 60-day window and of each end date. Catches: a minor
    drifting into extended billing (or an automatic control-plane upgrade) without a word in the preview."""
    notes = support_notes("1.35", support_type, today)
    assert notes == [] if expected is None else len(notes) == 1 and expected in notes[0]


def test_a_stack_on_a_minor_past_standard_support_is_warned_in_its_plan() -> None:
    """The program logs the notes, so `pulumi preview` and the offline preview show them. 1.33's standard support
    ended on 2026-07-29, so there is a note on any day from then on."""
    run = build_plan("dev", FROZEN_PROJECT, overrides={"eks-platform:kubernetesVersion": "1.33"})
    assert any(line.startswith("warning: Kubernetes 1.33 ") for line in run.diagnostics)
    assert not any("Kubernetes 1.33" in line for line in build_plan("dev", FROZEN_PROJECT).diagnostics)
