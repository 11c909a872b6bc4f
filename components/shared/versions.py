"""Every image, chart and EKS add-on this program deploys, pinned to an exact version in one place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

HTTPD_IMAGE = "httpd:2.4.68-alpine"
TOMCAT_IMAGE = "tomcat:10.1.57-jre21-temurin-noble"


@dataclass(frozen=True)
class Chart:
    name: str
    version: str
    repository: str


# F5 NGINX Ingress Controller 5.5.4: chart 2.6.4 (nginx/kubernetes-ingress tag v5.5.4, charts/nginx-ingress/Chart.yaml),
# the newest release tag found; F5 publishes the chart in its OCI registry (docs.nginx.com, "Use Helm to Install
# NGINX Ingress Controller with NGINX Open Source").
F5_NGINX_INGRESS = Chart("nginx-ingress", "2.6.4", "oci://ghcr.io/nginx/charts")
# Retired upstream in March 2026 (no more releases or security fixes); kept for teams migrating from the seed.
COMMUNITY_INGRESS_NGINX = Chart("ingress-nginx", "4.15.1", "https://kubernetes.github.io/ingress-nginx")
METRICS_SERVER = Chart("metrics-server", "3.13.1", "https://kubernetes-sigs.github.io/metrics-server/")

CLUSTER_AUTOSCALER_REPOSITORY = "https://kubernetes.github.io/autoscaler"

# Karpenter (v1 API), one release for every supported minor: 1.14.x supports Kubernetes 1.26 to 1.36
# (aws/karpenter-provider-aws hack/docs/compatibilitymatrix_gen/compatibility.yaml). 1.14.1 is the newest release:
# tag v1.14.1 (commit bde00654cd31, 2026-08-20), charts/karpenter/Chart.yaml on main set to 1.14.1 on 2026-08-21. The
# CRDs come from their own chart of the same version: Helm installs a chart's crds/ directory once and never
# upgrades it (website/content/en/docs/upgrading/upgrade-guide.md, "CRD Upgrades").
KARPENTER_REPOSITORY = "oci://public.ecr.aws/karpenter"
KARPENTER = Chart("karpenter", "1.14.1", KARPENTER_REPOSITORY)
KARPENTER_CRD = Chart("karpenter-crd", "1.14.1", KARPENTER_REPOSITORY)
# The EKS-optimized AL2023 AMI release every node runs, pinned so that a node image update (security fixes
# included) is one reviewed change that the diff shows as a node roll: Karpenter's nodes by alias (drift replaces
# them), managed node groups by releaseVersion (each KubernetesRelease row: the AMI's Kubernetes patch and date).
# v20260714 ships AL2023 standard x86_64 and arm64 AMIs for Kubernetes 1.32-1.36 (awslabs/amazon-eks-ami
# CHANGELOG.md, "AMI Release v20260714", commit 81fec2e89585, "Release version" per minor).
AMI_RELEASE = "v20260714"
KARPENTER_AMI_ALIAS = f"al2023@{AMI_RELEASE}"


@dataclass(frozen=True)
class AddonVersions:
    """EKS managed add-on versions (as `aws eks describe-addon-versions` names them) for one Kubernetes minor.

    Pinned, because unpinned ones drift: an aws.eks.Addon without a version stays at the install-day
    default forever, and pulumi-eks resolves vpc-cni, kube-proxy and CoreDNS to the most recent build on
    every `pulumi up` (pulumi/pulumi-eks nodejs/eks/addons/cni-addon.ts, nodejs/eks/cluster/cluster.ts:
    getAddonVersionOutput(mostRecent: true)).
    """

    vpc_cni: str
    kube_proxy: str
    coredns: str
    ebs_csi_driver: str
    pod_identity_agent: str


@dataclass(frozen=True)
class KubernetesRelease:
    """Everything whose version follows the cluster's Kubernetes minor: one row per supported minor."""

    addons: AddonVersions
    # The cluster autoscaler must match the cluster's Kubernetes minor: chart and image per minor.
    cluster_autoscaler_chart: Chart
    cluster_autoscaler_image: str
    # The managed node groups' AMI (aws_eks_node_group release_version): AMI_RELEASE's build for this minor.
    node_release_version: str


# Sources, read 2026-11-26 (check with `aws eks describe-addon-versions --kubernetes-version <minor>`
# before moving a row; the documented tables list each minor's newest build):
# - kube-proxy: EKS User Guide, "Manage kube-proxy", version table
#   (https://docs.aws.amazon.com/eks/latest/userguide/managing-kube-proxy.html); one build per minor.
# - CoreDNS: EKS User Guide, "Manage CoreDNS", version table
#   (https://docs.aws.amazon.com/eks/latest/userguide/managing-coredns.html).
# - vpc-cni: EKS User Guide, "Amazon VPC CNI", latest available version per minor (the same build for 1.29-1.35)
#   (https://docs.aws.amazon.com/eks/latest/userguide/managing-vpc-cni.html).
# - aws-ebs-csi-driver, eks-pod-identity-agent: AWS publishes no table; these are the builds
#   describe-addon-versions reported for 1.35 on 2026-08-04 (a published measurement, not an AWS page).
#   The driver supports every Kubernetes version EKS supports (kubernetes-sigs/aws-ebs-csi-driver README,
#   "Compatibility"), so one build serves all rows.
_EBS_CSI_DRIVER = "v1.63.1-eksbuild.1"
_POD_IDENTITY_AGENT = "v1.3.10-eksbuild.3"
_VPC_CNI = "v1.21.1-eksbuild.7"


@dataclass(frozen=True)
class SupportWindow:
    """When EKS ends a minor's standard support, and then its extended support (the cluster is then upgraded)."""

    standard_ends: date
    extended_ends: date


# The EKS Kubernetes release calendar (https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html,
# "Amazon EKS Kubernetes release calendar"; as endoflife.date/amazon-eks lists it, read 2026-11-26): a minor has 14
# months of standard support, then 12 months of extended support, billed per cluster-hour at the extended rate
# (https://docs.aws.amazon.com/eks/latest/userguide/enable-extended-support.html).
SUPPORT_CALENDAR = {
    "1.33": SupportWindow(date(2026, 7, 29), date(2027, 7, 29)),
    "1.34": SupportWindow(date(2026, 12, 2), date(2027, 12, 2)),
    "1.35": SupportWindow(date(2027, 3, 27), date(2028, 3, 27)),
    # Released on EKS 2026-06-02, standard support to 2027-08-02 (devopsdreams.blogspot.com/2026/08/kubernetes-136-on-
    # amazon-eks-upgrade.html; the stored copies of the AWS calendar end at 1.35); extended by the 14+12-month rule.
    "1.36": SupportWindow(date(2027, 8, 2), date(2028, 8, 2)),
}
# How long before standard support ends the preview warns (the 60 days: two release cycles of planning).
SUPPORT_WARNING_DAYS = 60


def support_notes(minor: str, support_type: str, today: date) -> list[str]:
    """What the preview warns about the stack's minor on `today`: in extended support, or leaving standard support
    within SUPPORT_WARNING_DAYS (with what happens then: extended billing, or EKS upgrading the control plane)."""
    window = SUPPORT_CALENDAR.get(minor)
    if window is None:
        return [f"Kubernetes {minor} is not in the EKS support calendar of components/shared/versions.py"]
    if today > window.extended_ends:
        return [f"Kubernetes {minor}'s extended support ended on {window.extended_ends}: EKS upgrades the control plane"]
    if today > window.standard_ends:
        return [
            f"Kubernetes {minor} left standard support on {window.standard_ends}: the cluster pays the extended-support "
            f"rate per cluster-hour until {window.extended_ends} unless upgraded (docs/upgrades.md)"
        ]
    days = (window.standard_ends - today).days
    if days > SUPPORT_WARNING_DAYS:
        return []
    then = (
        "EKS then upgrades the control plane itself (kubernetesSupportType STANDARD)"
        if support_type == "STANDARD"
        else "the cluster then pays the extended-support rate per cluster-hour"
    )
    return [f"Kubernetes {minor} leaves standard support in {days} day(s), on {window.standard_ends}: {then}; plan the upgrade"]


KUBERNETES_RELEASES = {
    "1.33": KubernetesRelease(
        AddonVersions(_VPC_CNI, "v1.33.10-eksbuild.13", "v1.12.4-eksbuild.18", _EBS_CSI_DRIVER, _POD_IDENTITY_AGENT),
        Chart("cluster-autoscaler", "9.51.0", CLUSTER_AUTOSCALER_REPOSITORY),
        "v1.33.5",
        "1.33.13-20260714",
    ),
    "1.34": KubernetesRelease(
        AddonVersions(_VPC_CNI, "v1.34.6-eksbuild.13", "v1.13.2-eksbuild.11", _EBS_CSI_DRIVER, _POD_IDENTITY_AGENT),
        Chart("cluster-autoscaler", "9.53.0", CLUSTER_AUTOSCALER_REPOSITORY),
        "v1.34.4",
        "1.34.9-20260714",
    ),
    "1.35": KubernetesRelease(
        AddonVersions(_VPC_CNI, "v1.35.3-eksbuild.13", "v1.14.3-eksbuild.3", _EBS_CSI_DRIVER, _POD_IDENTITY_AGENT),
        Chart("cluster-autoscaler", "9.54.0", CLUSTER_AUTOSCALER_REPOSITORY),
        "v1.35.1",
        "1.35.6-20260714",
    ),
    # 1.36: kube-proxy and CoreDNS from the EKS User Guide tables above. AWS's vpc-cni table stops before 1.36; the
    # shared builds stay, as AWS offers one vpc-cni build for every minor (1.29-1.35 above) and the capacity data was
    # read for it. A published 1.35 -> 1.36 upgrade (ministryofjustice/modernisation-platform-environments#18214,
    # 2026-08-14) ran v1.21.1 vpc-cni and v1.3.10 Pod Identity agent builds on its 1.36 control plane before moving them
    # to v1.23.0-eksbuild.1 and v1.4.0-eksbuild.1, with this row's kube-proxy, CoreDNS and aws-ebs-csi-driver
    # v1.63.1-eksbuild.1. No cluster-autoscaler chart ships appVersion 1.36 (kubernetes/autoscaler: every chart to 9.59.0,
    # 2026-07-21, says 1.35.0), so 9.54.0 runs image v1.36.1 (tag cluster-autoscaler-1.36.1, 35e8a280425c): with the
    # default flags 1.36.1 watches the resources 9.54.0's ClusterRole grants; the rules later charts add serve opt-in
    # features (ProvisioningRequests, CapacityBuffers, CapacityQuotas: config/flags/flags.go, all default false).
    "1.36": KubernetesRelease(
        AddonVersions(_VPC_CNI, "v1.36.0-eksbuild.14", "v1.14.3-eksbuild.3", _EBS_CSI_DRIVER, _POD_IDENTITY_AGENT),
        Chart("cluster-autoscaler", "9.54.0", CLUSTER_AUTOSCALER_REPOSITORY),
        "v1.36.1",
        "1.36.2-20260714",
    ),
}
