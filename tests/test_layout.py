"""The code's layout as README ("Layout") draws it: data flows one way, and nothing imports in a circle.

offline/: plan/ (run the program, read the stack files and plan.json, the plan object) -> analyses/ (functions of
the plan object) -> change/ (two plans compared) -> the commands (modules with a `__main__` block) and reports.py,
which only the commands use. components/: ComponentResources on top of shared/, the building blocks, which import
no component. Read from the source with `ast`, lazy imports inside functions included.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("offline", "components")
ANALYSES = ("policy", "lifecycle", "cost", "deploy_time", "graph", "manifests", "capacity")
# Data files of the analyses, read by the analyses that own them; not analyses themselves.
ANALYSIS_DATA = ("offline.analyses.prices", "offline.analyses.sourced_data")
# What the program and the offline toolkit share outside the two packages: the settings, the policy pack, the
# version table with its support calendar (the cost prices extended support by it, the diff checks upgrades by it)
# and the node-pool vocabulary (the capacity rehearsal reads taints as the node groups write them).
OUTSIDE = ("settings", "policies", "components.shared.versions", "components.shared.node_pools")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))}


def imported(path: Path) -> Iterator[str]:
    """Every project module `path` imports (`from a.b import c` counts as a.b, or a.b.c when that is a module)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            names = [name if name in MODULES else node.module for name in names]
        else:
            continue
        yield from (name for name in names if name in MODULES or name.split(".")[0] in OUTSIDE)


IMPORTS = {name: set(imported(path)) - {name} for name, path in MODULES.items()}


def within(name: str, *packages: str) -> bool:
    return any(name == package or name.startswith(f"{package}.") for package in packages)


def is_command(name: str) -> bool:
    return 'if __name__ == "__main__":' in MODULES[name].read_text()


def cycle_through(start: str) -> list[str] | None:
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        current, path = stack.pop()
        for target in IMPORTS.get(current, ()):
            if target == start:
                return [*path, start]
            if target not in seen:
                seen.add(target)
                stack.append((target, [*path, target]))
    return None


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_imports_itself_through_others(name: str) -> None:
    cycle = cycle_through(name)
    assert cycle is None, " -> ".join(cycle or [])


@pytest.mark.parametrize("name", sorted(n for n in MODULES if within(n, "offline.plan")))
def test_the_plan_package_imports_only_itself_and_the_program_settings(name: str) -> None:
    assert {i for i in IMPORTS[name] if not within(i, "offline.plan")} <= {"settings"}, name


@pytest.mark.parametrize("analysis", ANALYSES)
def test_an_analysis_reads_the_plan_and_its_own_data_only(analysis: str) -> None:
    """Never another analysis, a change tool or a command: the commands compose analyses, not the analyses."""
    name = f"offline.analyses.{analysis}"
    allowed = {i for i in IMPORTS[name] if within(i, "offline.plan", *ANALYSIS_DATA, *OUTSIDE)}
    assert allowed == IMPORTS[name], f"{name} imports {sorted(IMPORTS[name] - allowed)}"


@pytest.mark.parametrize("analysis", ANALYSES)
def test_each_analysis_is_a_function_of_the_plan_object(analysis: str) -> None:
    """Reachable from the plan object without a command: a public function whose first parameter is a PlanQuery."""
    tree = ast.parse(MODULES[f"offline.analyses.{analysis}"].read_text())
    takes_the_plan = [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and not node.name.startswith("_")
        and node.args.args
        and ast.unparse(node.args.args[0].annotation or ast.Constant("")) == "PlanQuery"
    ]
    assert takes_the_plan, analysis


@pytest.mark.parametrize("name", sorted(n for n in MODULES if within(n, "offline.change")))
def test_change_tools_use_plans_and_analyses_never_a_command(name: str) -> None:
    above = {
        i for i in IMPORTS[name] if within(i, "offline") and not within(i, "offline.plan", "offline.analyses", "offline.change")
    }
    assert above == set(), name


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_imports_a_command(name: str) -> None:
    """Commands are thin ends of the pipeline: what two of them share lives below them (offline/reports.py)."""
    assert [i for i in IMPORTS[name] if i in MODULES and is_command(i)] == [], name


def test_the_commands_are_where_make_and_the_workflows_call_them() -> None:
    commands = sorted(name for name in MODULES if name.startswith("offline.") and is_command(name))
    assert all(name.count(".") == 1 for name in commands), commands
    called = (ROOT / "Makefile").read_text() + (ROOT / "scripts" / "pulumi.sh").read_text()
    called += "".join(path.read_text() for path in (ROOT / ".github" / "workflows").glob("*.yml"))
    for name in ("offline.preview", "offline.policy_run", "offline.policy_config", "offline.cost", "offline.diff"):
        assert name in commands and f"-m {name}" in called, name


@pytest.mark.parametrize("name", sorted(n for n in MODULES if within(n, "components.shared")))
def test_shared_building_blocks_import_no_component(name: str) -> None:
    components = {i for i in IMPORTS[name] if within(i, "components") and not within(i, "components.shared")}
    assert components == set(), name


# Stack state holds each dynamic provider pickled by reference to its module and class (pulumi's
# serialize_provider: dill, by reference for importable modules; pulumi/pulumi#7889 reverted by-value pickling):
# a move or rename breaks `pulumi destroy` of every stack created before it.
PINNED_PROVIDERS = {
    "components.volume_release_gate": "VolumeReleaseGateProvider",
    "components.log_group_sweeper": "LogGroupSweeperProvider",
    "components.karpenter_instance_gate": "KarpenterInstanceGateProvider",
}


def pickled_globals(provider: object) -> set[tuple[str, str]]:
    """(module, name) of every global the provider's pickle refers to, as the dynamic provider host reads it."""
    import base64
    import io

    import dill
    from pulumi.dynamic.dynamic import serialize_provider

    found: set[tuple[str, str]] = set()

    class Recording(dill.Unpickler):  # type: ignore[misc]
        def find_class(self, module: str, name: str) -> object:
            found.add((module, name))
            return super().find_class(module, name)

    Recording(io.BytesIO(base64.b64decode(serialize_provider(provider)))).load()
    return found


@pytest.mark.parametrize(("module", "provider"), sorted(PINNED_PROVIDERS.items()))
def test_dynamic_providers_stay_where_stack_state_refers_to_them(module: str, provider: str) -> None:
    import importlib

    instance = getattr(importlib.import_module(module), provider)()
    project = {(m, n) for m, n in pickled_globals(instance) if within(m, *PACKAGES, *OUTSIDE)}
    assert project == {(module, provider)}, "state would refer to these; keep them where they are"
    assert "Never move or rename this module" in MODULES[module].read_text()


def test_every_dynamic_provider_is_pinned() -> None:
    """A new dynamic provider joins PINNED_PROVIDERS, with the never-move note in its module."""
    defined = {
        (name, node.name)
        for name, path in MODULES.items()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef) and any(ast.unparse(base).endswith("dynamic.ResourceProvider") for base in node.bases)
    }
    assert defined == set(PINNED_PROVIDERS.items())
