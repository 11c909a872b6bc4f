"""The offline preview itself: plan.json shape, the tree summary, and one-line exit 2 on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from offline.plan.query import PlanQuery
from offline.preview import main
from tests.conftest import FIXTURE_STACK, STACKS

ROOT = Path(__file__).resolve().parents[2]


VALID_BASE = "config:\n  eks-platform:publicAccessCidrs: [203.0.113.0/24]\n"


def project_with_stack(tmp_path: Path, stack_file: str, name: str = "broken") -> Path:
    project = tmp_path / "project"
    project.mkdir()
    for entry in ("__main__.py", "settings.py", "components", "Pulumi.yaml"):
        (project / entry).symlink_to(ROOT / entry)
    (project / f"Pulumi.{name}.yaml").write_text(stack_file)
    return project


def run_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_plan_json_has_the_documented_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(["--stack", "dev", "--out", str(tmp_path)], capsys)
    assert code == 0
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert (plan["project"], plan["stack"]) == ("eks-platform", "dev")
    urns = {resource["urn"] for resource in plan["resources"]}
    for resource in plan["resources"]:
        assert set(resource) >= {
            "urn",
            "type",
            "name",
            "custom",
            "parent",
            "provider",
            "dependencies",
            "inputs",
            "protect",
            "retainOnDelete",
        }
        assert resource["parent"] is None or resource["parent"] in urns
        assert resource["provider"] is None or resource["provider"] in urns
        assert set(resource["dependencies"]) <= urns
    assert plan["outputs"]["kubeconfig"] == "[secret]"
    assert "eks:index:Cluster" in out and "cluster-eks" in out
    assert "to create" in out


def test_secret_values_never_reach_the_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_main(["--stack", "dev", "--out", str(tmp_path)], capsys)
    assert "certificate-authority-data" not in (tmp_path / "plan.json").read_text()


@pytest.mark.parametrize(
    ("stack_file", "words"),
    [
        (
            VALID_BASE
            + "  eks-platform:nodeGroups:\n    system: {instanceTypes: [t3.medium], minSize: 1, desiredSize: 1, maxSize: 0}\n",
            "eks-platform:nodeGroups.system.maxSize",
        ),
        (
            VALID_BASE
            + "  eks-platform:nodeGroups:\n    system: {instanceTypes: [t3.medium], minSize: 3, desiredSize: 3, maxSize: 2}\n",
            "eks-platform:nodeGroups.system.minSize",
        ),
        (VALID_BASE + "  eks-platform:vpcCidr: 10.0.0.0/33\n", "eks-platform:vpcCidr"),
        (VALID_BASE + "  eks-platform:availabilityZones: [eu-central-1a]\n", "eks-platform:availabilityZones"),
        (VALID_BASE + "  eks-platform:natStrategy: always\n", "eks-platform:natStrategy"),
        (VALID_BASE + "  eks-platform:kubernetesVersion: latest\n", "eks-platform:kubernetesVersion"),
        ("config:\n  eks-platform:publicAccessCidrs: [everyone]\n", "eks-platform:publicAccessCidrs"),
        (
            VALID_BASE
            + "  eks-platform:nodeGroups:\n    system: {instanceTypes: [big], minSize: 1, desiredSize: 1, maxSize: 1}\n",
            "eks-platform:nodeGroups.system.instanceTypes",
        ),
        (VALID_BASE + "  eks-platform:environment: production\n", "eks-platform:environment"),
        (
            VALID_BASE + "  eks-platform:ingresReplicas: 4\n",
            "eks-platform:ingresReplicas = '4': unknown key; did you mean ingressReplicas?",
        ),
        (VALID_BASE + "  eks-platfrom:ingressReplicas: 2\n", "did you mean eks-platform:ingressReplicas?"),
        (VALID_BASE + "  aws:region: us-east-1\n", "set the region with eks-platform:region"),
        (VALID_BASE + "  eks-platform:kubernetesVersion: 1.30\n", 'quote it, "1.30"'),
        (VALID_BASE + "  eks-platform:ingressReplicas: 2\n  eks-platform:ingressReplicas: 3\n", "written twice (lines 3 and 4)"),
        ("config:\n  eks-platform:vpcCidr: [unclosed\n", "not valid YAML"),
        # YAML 1.2, as the CLI reads stack files: `yes` is text, refused where a boolean is expected, with the reason.
        (
            VALID_BASE + "  eks-platform:demoWorkloads: yes\n",
            "'yes': expected true or false (the Pulumi CLI reads stack files as YAML 1.2",
        ),
        (
            VALID_BASE
            + "  eks-platform:nodeGroups:\n"
            + "    system: {instanceTypes: [t3.medium], minSize: 1, desiredSize: 2, maxSize: 3, perZone: on}\n",
            "nodeGroups.system.perZone = 'on': expected true or false (the Pulumi CLI reads stack files as YAML 1.2",
        ),
        ("config:\n  eks-platform:vpcCidr:\n    secure: AAAA\n", "cannot decrypt"),
        ("config:\n  vpcCidr: 10.0.0.0/16\n", "must be namespaced"),
        ("- just\n- a list\n", "mapping at the top level"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], stack_file: str, words: str
) -> None:
    project = project_with_stack(tmp_path, stack_file)
    out = tmp_path / "out"
    code, stdout, stderr = run_main(["--stack", "broken", "--out", str(out), "--project-dir", str(project)], capsys)
    assert code == 2
    assert stdout == ""
    assert stderr.count("\n") == 1 and words in stderr
    assert not out.exists()


def test_unknown_stack_names_the_stacks_that_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, stderr = run_main(["--stack", "no-such-stack", "--out", str(tmp_path / "out")], capsys)
    assert code == 2
    assert "Pulumi.no-such-stack.yaml" in stderr and ", ".join(STACKS) in stderr


def test_command_line_bad_config_has_no_traceback(tmp_path: Path) -> None:
    project = project_with_stack(
        tmp_path,
        VALID_BASE
        + "  eks-platform:nodeGroups:\n    system: {instanceTypes: [t3.medium], minSize: 1, desiredSize: 7, maxSize: 3}\n",
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "offline.preview",
            "--stack",
            "broken",
            "--out",
            str(tmp_path / "out"),
            "--project-dir",
            str(project),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "offline-preview: invalid config eks-platform:nodeGroups.system.desiredSize = 7: expected from minSize (1) to maxSize (3)"
    ]


def test_environment_without_policy_levels_exits_2_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = project_with_stack(tmp_path, VALID_BASE + "  eks-platform:environment: staging\n", name="qa")
    (project / "policies" / "config" / "environments").mkdir(parents=True)
    out = tmp_path / "out"
    code, _, stderr = run_main(["--stack", "qa", "--out", str(out), "--project-dir", str(project)], capsys)
    assert code == 2
    assert "no policy levels for environment 'staging'" in stderr and stderr.count("\n") == 1
    assert not out.exists()


def test_mandatory_policy_violation_exits_1_with_a_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = project_with_stack(tmp_path, "config:\n  eks-platform:publicAccessCidrs: [0.0.0.0/0]\n", name="dev")
    (project / "Pulumi.dev.yaml").unlink()
    (project / "Pulumi.dev.yaml").write_text("config:\n  eks-platform:publicAccessCidrs: [0.0.0.0/0]\n")
    (project / "policies").symlink_to(ROOT / "policies")
    out = tmp_path / "out"
    code, stdout, _ = run_main(["--stack", "dev", "--out", str(out), "--project-dir", str(project)], capsys)
    assert code == 1
    report = json.loads((out / "policy-report.json").read_text())
    fired = [v for v in report if v["policy"] == "eks-public-endpoint-restricted"]
    assert fired and fired[0]["enforcement"] == "mandatory"
    assert "cluster-eks" in fired[0]["urn"]
    assert "eks-public-endpoint-restricted" in stdout


def test_output_path_that_is_a_file_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("")
    code, stdout, stderr = run_main(["--stack", "dev", "--out", str(blocker / "out")], capsys)
    assert code == 2
    assert stdout == ""
    assert stderr.startswith("offline-preview: cannot use") and stderr.count("\n") == 1


def test_a_broken_runtime_need_fails_the_preview_like_a_mandatory_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pulumi up` or `destroy` would fail with it, so the preview exits 1 and names the need."""
    from offline.analyses import lifecycle

    rehearse = lifecycle.rehearse

    def with_a_broken_need(plan: PlanQuery) -> dict:
        report = rehearse(plan)
        report["broken"] = [{"need": "node-egress", "consumer": "urn:x::nodes", "provider": "urn:x::nat"}]
        return report

    monkeypatch.setattr(lifecycle, "rehearse", with_a_broken_need)
    code, stdout, _ = run_main(["--stack", "dev", "--out", str(tmp_path / "out")], capsys)
    assert code == 1
    assert "broken  node-egress" in stdout and (tmp_path / "out" / "lifecycle.json").exists()


def test_one_preview_wraps_the_plan_once_and_computes_its_create_edges_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fixture_project: Path
) -> None:
    """Every analysis (lifecycle, cost, deploy time, policy, graph, manifests) reads the same plan object."""
    import functools

    wrapped: list[PlanQuery] = []
    computed: list[PlanQuery] = []
    original_init, original_edges = PlanQuery.__init__, PlanQuery.create_edges.func

    def counting_init(self: PlanQuery, plan: dict) -> None:
        wrapped.append(self)
        original_init(self, plan)

    def counting_edges(self: PlanQuery):  # type: ignore[no-untyped-def]
        computed.append(self)
        return original_edges(self)

    edges = functools.cached_property(counting_edges)
    edges.__set_name__(PlanQuery, "create_edges")
    monkeypatch.setattr(PlanQuery, "__init__", counting_init)
    monkeypatch.setattr(PlanQuery, "create_edges", edges)
    argv = ["--stack", FIXTURE_STACK, "--out", str(tmp_path / "out"), "--project-dir", str(fixture_project)]
    code, stdout, _ = run_main(argv, capsys)
    # Both readers of the create edges ran: the deploy-time estimate and the lifecycle rehearsal.
    assert code == 0 and "critical path" in stdout and "runtime needs checked" in stdout
    assert len(wrapped) == 1 and computed == wrapped


def test_a_report_that_cannot_be_written_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fixture_project: Path
) -> None:
    out = tmp_path / "out"
    (out / "cost.json").mkdir(parents=True)
    code, _, stderr = run_main(["--stack", FIXTURE_STACK, "--out", str(out), "--project-dir", str(fixture_project)], capsys)
    assert code == 2
    assert stderr.startswith(f"offline-preview: cannot write {out / 'cost.json'}: ") and stderr.count("\n") == 1


# Pulumi.karpenter-example.yaml before the capacity rehearsal: its fixed system pool of two m6i.large cannot start the
# surge pod of tomcat, the ingress controller or metrics-server (tests/offline/analyses/test_capacity.py).
TOO_SMALL_FIXED_POOL = """config:
  eks-platform:publicAccessCidrs: [203.0.113.0/24]
  eks-platform:autoscaler: karpenter
  eks-platform:nodeGroups:
    system: {instanceTypes: [m6i.large], minSize: 2, desiredSize: 2, maxSize: 3}
  eks-platform:demoWorkloads: true
"""


def test_a_fixed_pool_that_cannot_hold_its_pods_fails_the_preview_like_a_broken_runtime_need(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`pulumi up` would wait out the Helm or await timeout on the Pending surge pod, so the preview exits 1, names the
    pool and the rollout, and writes capacity.json. Mistake caught: a capacity rehearsal that reports and passes."""
    from tests.conftest import make_fixture_project

    project = make_fixture_project(tmp_path, TOO_SMALL_FIXED_POOL)
    out = tmp_path / "out"
    code, stdout, _ = run_main(["--stack", FIXTURE_STACK, "--out", str(out), "--project-dir", str(project)], capsys)
    assert code == 1
    # Only the capacity rehearsal fails: no mandatory violation, every runtime need holds.
    assert [v for v in json.loads((out / "policy-report.json").read_text()) if v["enforcement"] == "mandatory"] == []
    assert json.loads((out / "lifecycle.json").read_text())["broken"] == []
    broken = json.loads((out / "capacity.json").read_text())["broken"]
    assert {(b["pool"], b["check"], b["workload"]) for b in broken} >= {("system", "surge", "Deployment demo/tomcat")}
    assert "broken  surge         system: a rolling update of Deployment demo/tomcat cannot start its surge pod" in stdout


def test_a_broken_capacity_file_exits_2_with_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fixture_project: Path
) -> None:
    from offline.analyses import capacity

    bad = tmp_path / "instance-capacity.json"
    bad.write_text('{"schema": 1}')
    load = capacity.load_capacity
    monkeypatch.setattr(capacity, "load_capacity", lambda: load(bad))
    out = tmp_path / "out"
    code, stdout, stderr = run_main(["--stack", FIXTURE_STACK, "--out", str(out), "--project-dir", str(fixture_project)], capsys)
    assert code == 2 and stdout == ""
    assert stderr == "offline-preview: instance-capacity.json: the top level lacks 'addons'\n"
    assert not out.exists()
