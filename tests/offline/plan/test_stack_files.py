"""offline.plan.stack_files reads Pulumi.yaml and a stack file the way the CLI does, refusing what the CLI refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from offline.plan.build import build_plan
from offline.plan.stack_files import StackFileError, stack_config

ROOT = Path(__file__).resolve().parents[3]


def project_with(tmp_path: Path, stack_file: str) -> Path:
    (tmp_path / "Pulumi.yaml").symlink_to(ROOT / "Pulumi.yaml")
    (tmp_path / "Pulumi.qa.yaml").write_text(stack_file)
    return tmp_path


def test_a_key_written_twice_is_refused_with_both_lines(tmp_path: Path) -> None:
    """The CLI reads stack files with gopkg.in/yaml.v3 (pulumi/pulumi sdk/go/common/encoding/marshal.go), which
    refuses a mapping key defined twice (go-yaml/yaml#623); PyYAML alone would silently keep the last value."""
    project = project_with(tmp_path, "config:\n  eks-platform:nodeMinSize: 1\n  eks-platform:nodeMinSize: 2\n")
    with pytest.raises(StackFileError) as error:
        stack_config(project, "qa")
    assert str(error.value) == (
        "Pulumi.qa.yaml: key 'eks-platform:nodeMinSize' is written twice (lines 2 and 3); "
        "the Pulumi CLI refuses a key written twice"
    )


def test_the_same_key_in_different_mappings_is_fine(tmp_path: Path) -> None:
    stack_file = "config:\n  eks-platform:nodeMinSize: 1\n  eks-platform:tags:\n    nodeMinSize: 1\n"
    assert stack_config(project_with(tmp_path, stack_file), "qa")["eks-platform:nodeMinSize"] == "1"


def test_a_region_is_set_with_the_projects_key() -> None:
    # The boundary of the aws:region refusal: eks-platform:region (with zones of that region) is honoured.
    overrides = {
        "eks-platform:region": "us-east-1",
        "eks-platform:availabilityZones": '["us-east-1a", "us-east-1b"]',
    }
    plan = build_plan("dev", overrides=overrides).to_json()
    (provider,) = [r for r in plan["resources"] if r["type"] == "pulumi:providers:aws"]
    assert provider["inputs"]["region"] == "us-east-1"
    assert {r["inputs"]["availabilityZone"] for r in plan["resources"] if r["type"] == "aws:ec2/subnet:Subnet"} == {
        "us-east-1a",
        "us-east-1b",
    }


def test_a_project_without_pulumi_yaml_is_one_line(tmp_path: Path) -> None:
    """The CLI refuses a folder without Pulumi.yaml; so does every offline command, with one line, not a traceback."""
    with pytest.raises(StackFileError, match=r"^cannot read .*Pulumi\.yaml: No such file or directory$"):
        stack_config(tmp_path, "dev")


def test_stack_files_are_read_as_yaml_1_2_like_the_cli(tmp_path: Path) -> None:
    """gopkg.in/yaml.v3 (the CLI's reader): only true/false are booleans; yes/no/on/off stay text (PyYAML's YAML 1.1
    made `yes` true offline while the CLI handed the program "yes"). Catches: a 1.1 reader coming back."""
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    (tmp_path / "Pulumi.s.yaml").write_text("config:\n  p:a: yes\n  p:b: on\n  p:c: true\n  p:d: False\n")
    assert {key: value for key, value in stack_config(tmp_path, "s").items()} == {
        "p:a": "yes",
        "p:b": "on",
        "p:c": "true",
        "p:d": "false",
    }
