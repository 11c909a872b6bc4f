"""`make outputs [STACK=dev]`: the stack's outputs from its state (`pulumi stack output`), one per line, and how to
connect kubectl. The outputs are read from the backend `make up` used (PULUMI_BACKEND_URL, else the local
.pulumi-state of this checkout): no AWS call for the local one; an s3:// backend needs AWS credentials that can
read it. `--urls` prints only the *Url outputs (what `make up` shows at its end).

Exit codes: 0 printed, 1 Pulumi could not read them (its reason in one line), 2 bad input (stack).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pulumi_cli import find_cli  # noqa: E402

from offline.plan.stack_files import available_stacks  # noqa: E402

PROG = "make outputs"
# Longer values (the kubeconfig, lists of ids) are named, not printed: `pulumi stack output NAME` shows them whole.
LONGEST_SHOWN = 120


def shown(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    if len(text) <= LONGEST_SHOWN:
        return text
    return f"({len(text)} characters; pulumi stack output <name> prints it)"


def backend_environment(project_dir: Path) -> dict[str, str]:
    """The caller's environment with scripts/pulumi.sh's default backend when the caller names none."""
    environment = dict(os.environ)
    environment.setdefault("PULUMI_BACKEND_URL", f"file://{project_dir / '.pulumi-state'}")
    return environment


def main(argv: list[str] | None = None, project_dir: Path = ROOT, home: Path | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--urls", action="store_true", help="only the *Url outputs")
    args = parser.parse_args(argv)
    stacks = available_stacks(project_dir)
    if args.stack not in stacks:
        print(f"{PROG}: no stack file Pulumi.{args.stack}.yaml; stacks: {' '.join(stacks)}", file=sys.stderr)
        return 2
    cli = find_cli(home or Path.home())
    if cli is None:
        print(f"{PROG}: no Pulumi CLI found (PATH, ~/.pulumi/bin); make up installs the pinned one", file=sys.stderr)
        return 1
    environment = backend_environment(project_dir)
    result = subprocess.run(
        [cli, "stack", "output", "--json", "--stack", args.stack],
        cwd=project_dir,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        reason = next((line for line in result.stderr.splitlines() if line.strip()), "no output")
        print(
            f"{PROG}: pulumi stack output failed for stack {args.stack} in {environment['PULUMI_BACKEND_URL']}: "
            f"{reason.strip()} (deployed with make up STACK={args.stack}? another backend: set PULUMI_BACKEND_URL)",
            file=sys.stderr,
        )
        return 1
    outputs = json.loads(result.stdout or "{}")
    for name, value in sorted(outputs.items()):
        if not args.urls or (name.endswith("Url") and isinstance(value, str)):
            print(f"{name}: {shown(value)}")
    if not args.urls:
        if not outputs:
            print(f"Stack {args.stack} has no outputs: it has not been deployed (make up STACK={args.stack}).")
        else:
            print(f"Connect kubectl: make kubeconfig STACK={args.stack}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
