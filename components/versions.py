"""Every image and chart this program deploys, pinned to an exact version in one place."""

from __future__ import annotations

from dataclasses import dataclass

HTTPD_IMAGE = "httpd:2.4.68-alpine"
TOMCAT_IMAGE = "tomcat:10.1.57-jre21-temurin-noble"


@dataclass(frozen=True)
class Chart:
    name: str
    version: str
    repository: str


F5_NGINX_INGRESS = Chart("nginx-ingress", "2.7.2", "https://helm.nginx.com/stable")
# Retired upstream in March 2026 (no more releases or security fixes); kept for teams migrating from the seed.
COMMUNITY_INGRESS_NGINX = Chart("ingress-nginx", "4.15.1", "https://kubernetes.github.io/ingress-nginx")
METRICS_SERVER = Chart("metrics-server", "3.13.1", "https://kubernetes-sigs.github.io/metrics-server/")

# The cluster autoscaler must match the cluster's Kubernetes minor: chart and image per minor.
CLUSTER_AUTOSCALER_REPOSITORY = "https://kubernetes.github.io/autoscaler"
CLUSTER_AUTOSCALER = {
    "1.33": (Chart("cluster-autoscaler", "9.51.0", CLUSTER_AUTOSCALER_REPOSITORY), "v1.33.5"),
    "1.34": (Chart("cluster-autoscaler", "9.53.0", CLUSTER_AUTOSCALER_REPOSITORY), "v1.34.4"),
    "1.35": (Chart("cluster-autoscaler", "9.54.0", CLUSTER_AUTOSCALER_REPOSITORY), "v1.35.1"),
}
