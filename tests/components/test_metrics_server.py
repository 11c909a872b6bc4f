from __future__ import annotations

import pulumi_aws as aws

from components.metrics_server import MetricsServer, MetricsServerArgs
from tests.conftest import run_component


def test_metrics_server_release_is_pinned_and_waits_for_nodes() -> None:
    def program() -> None:
        nodes = aws.ec2.LaunchTemplate("nodes")
        MetricsServer("ms", MetricsServerArgs(replicas=2, cluster_dependencies=(nodes,)))

    query = run_component(program)
    release = query.one("kubernetes:helm.sh/v3:Release", "ms-release")
    inputs = release["inputs"]
    assert (inputs["chart"], inputs["version"], inputs["namespace"]) == ("metrics-server", "3.13.1", "kube-system")
    assert inputs["values"]["replicas"] == 2
    assert inputs["values"]["podDisruptionBudget"]["enabled"] is True
    assert query.one("aws:ec2/launchTemplate:LaunchTemplate", "nodes")["urn"] in release["dependencies"]
