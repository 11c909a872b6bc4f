"""`make up` installs requirements.txt only: what scripts/pulumi.sh and the program import must come from it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Runs in a fresh interpreter that refuses every module installed by a developer-only distribution.
BLOCKING_RUNNER = """
import importlib.abc, importlib.metadata, runpy, sys
dev_only = set(sys.argv[1].split(","))
blocked = {
    module
    for module, distributions in importlib.metadata.packages_distributions().items()
    if {d.lower().replace("_", "-") for d in distributions} & dev_only
}
class DevOnly(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in blocked:
            raise ImportError(f"{name} comes from a developer-only distribution")
sys.meta_path.insert(0, DevOnly())
exec(sys.argv[2])
"""


def distributions(requirements: str) -> set[str]:
    names = set()
    for line in (ROOT / requirements).read_text().splitlines():
        if match := re.match(r"^([A-Za-z0-9_.-]+)==", line):
            names.add(match.group(1).lower().replace("_", "-"))
    return names


def run_without_dev_tools(code: str) -> subprocess.CompletedProcess[str]:
    dev_only = distributions("requirements-dev.txt") - distributions("requirements.txt")
    return subprocess.run(
        [sys.executable, "-c", BLOCKING_RUNNER, ",".join(sorted(dev_only)), code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_script_and_the_program_need_no_developer_tools() -> None:
    modules = sorted(f"components.{path.stem}" for path in (ROOT / "components").glob("*.py") if path.stem != "__init__")
    code = (
        f"import settings, {', '.join(modules)}\n"
        "sys.argv = ['policy_config', '--stack', 'prod', '--print-environment']\n"
        "runpy.run_module('offline.policy_config', run_name='__main__')\n"
    )
    result = run_without_dev_tools(code)
    assert (result.returncode, result.stdout, result.stderr) == (0, "prod\n", "")


def test_a_developer_tool_import_is_caught() -> None:
    result = run_without_dev_tools("import kubernetes_validate")
    assert result.returncode == 1 and "kubernetes_validate comes from a developer-only distribution" in result.stderr
