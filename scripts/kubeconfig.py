"""`make kubeconfig [STACK=dev]`: a kubeconfig for the stack's cluster in out/<stack>/kubeconfig, written by
`aws eks update-kubeconfig` with the stack's own region and cluster name (read from its stack file as the CLI
applies it), and how to use it. Tokens come from `aws eks get-token` with your AWS identity, which needs an access
entry (the cluster's creator has one; clusterAdminArns lists the others).

Exit codes: 0 written, 1 the AWS CLI failed (its reason in one line), 2 bad input (stack, stack file).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from offline.plan.stack_files import StackFileError, available_stacks, config_value, project_name  # noqa: E402
from settings import cluster_name_of  # noqa: E402

PROG = "make kubeconfig"


def kubeconfig_command(project_dir: Path, stack: str, path: Path) -> list[str]:
    """The `aws eks update-kubeconfig` call for the stack: its region, its cluster name, a context named after it."""
    region = config_value(project_dir, stack, "region")
    cluster = cluster_name_of(project_name(project_dir), stack)
    return [
        "aws",
        "eks",
        "update-kubeconfig",
        "--region",
        str(region),
        "--name",
        cluster,
        "--kubeconfig",
        str(path),
        "--alias",
        stack,
    ]


def main(argv: list[str] | None = None, project_dir: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="dev")
    args = parser.parse_args(argv)
    stacks = available_stacks(project_dir)
    if args.stack not in stacks:
        print(f"{PROG}: no stack file Pulumi.{args.stack}.yaml; stacks: {' '.join(stacks)}", file=sys.stderr)
        return 2
    if shutil.which("aws") is None:
        print(f"{PROG}: the AWS CLI is required (it writes the kubeconfig and gets the tokens); install it", file=sys.stderr)
        return 1
    path = project_dir / "out" / args.stack / "kubeconfig"
    try:
        command = kubeconfig_command(project_dir, args.stack, path)
    except StackFileError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return 2
    path.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        reason = next((line for line in reversed(result.stderr.splitlines()) if line.strip()), "no output")
        print(f"{PROG}: aws eks update-kubeconfig failed for stack {args.stack}: {reason}", file=sys.stderr)
        return 1
    print(f"Wrote {path} (context {args.stack}, cluster {command[6]} in {command[4]})")
    print(f"Use it: export KUBECONFIG={path}; kubectl get nodes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
