"""`make docs-reference`: the reference pages generated from their one source, docs/configuration.md from
Pulumi.yaml's config schema and docs/policies.md from the policy pack (each rule's description, severity and level
in each environment); `--check` (make check-generated, run by CI) says in one line when a page has drifted.

Exit codes: 0 written or current, 1 a stale page (--check), 2 bad input (Pulumi.yaml, the pack's config).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from offline.analyses.policy import PolicyInputError, environment_pack_config, resolve_settings
from offline.plan.stack_files import PROJECT_DIR, StackFileError, config_schema
from policies.eks_policies import ALL_POLICIES
from settings import ENVIRONMENTS

PAGES = ("docs/configuration.md", "docs/policies.md")
STALE = "is not what its source says now; run `make docs-reference` and commit it"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def configuration_page(project_dir: Path) -> str:
    rows = [
        f"| `{key}` | {_cell(spec.get('type', ''))} | `{_cell(json.dumps(spec.get('default')))}` | "
        f"{_cell(spec.get('description', ''))} |"
        for key, spec in config_schema(project_dir).items()
    ]
    return "\n".join(
        [
            "# Configuration reference",
            "",
            "Generated from `Pulumi.yaml` by `make docs-reference`; do not edit. Stack files (`Pulumi.<stack>.yaml`) hold",
            "only what differs from these defaults, as `eks-platform:<key>`.",
            "",
            "| key | type | default | description |",
            "|---|---|---|---|",
            *rows,
            "",
        ]
    )


def policies_page(project_dir: Path) -> str:
    levels = {env: resolve_settings(environment_pack_config(env, project_dir)) for env in ENVIRONMENTS}
    rows = [
        f"| `{policy.name}` | {_cell(policy.severity.value if policy.severity else '')} | "
        + " | ".join(levels[env][policy.name].level.value for env in ENVIRONMENTS)
        + f" | {_cell(policy.description)} |"
        for policy in ALL_POLICIES
    ]
    return "\n".join(
        [
            "# Policy rules",
            "",
            "Generated from the pack (`policies/eks_policies`) and `policies/config/environments/*.json` by",
            "`make docs-reference`; do not edit. A stack's own `policies/config/<stack>.json` may adjust its levels.",
            "",
            f"| rule | severity | {' | '.join(ENVIRONMENTS)} | what it checks |",
            "|---|---|" + "---|" * len(ENVIRONMENTS) + "---|",
            *rows,
            "",
        ]
    )


def pages(project_dir: Path) -> dict[str, str]:
    return {PAGES[0]: configuration_page(project_dir), PAGES[1]: policies_page(project_dir)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="docs-reference", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="exit 1 with one line when a page is stale")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        wanted = pages(args.project_dir)
    except (StackFileError, PolicyInputError) as error:
        print(f"docs-reference: {error}", file=sys.stderr)
        return 2
    for name, text in wanted.items():
        path = args.project_dir / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                print(f"docs-reference: {name} {STALE}", file=sys.stderr)
                return 1
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"Wrote {path}")
    if args.check:
        print("docs reference pages are current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
