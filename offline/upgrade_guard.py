"""The upgrade guard before `make up` / `make preview` (scripts/pulumi.sh) and the deploy workflow: the stack's
configured Kubernetes version may move one minor up from what runs, never down (offline/change/upgrade_rules.py):

    python -m offline.upgrade_guard --stack dev --outputs-json "$(pulumi stack output --json)" --ask-aws

which compares the stack's configured kubernetesVersion with what runs: the cluster's own version when it exists
(EKS may have upgraded it by itself), else the stack's kubernetesVersion output; a stack with neither yet (first
deployment) passes. Exit codes: 0 allowed, 1 refused (one line on stderr), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from offline.change.upgrade_rules import BadVersion, check_step, parse_minor
from offline.plan.stack_files import PROJECT_DIR, StackFileError, config_value, project_name


def cluster_version_from_aws(project_dir: Path, stack: str) -> str | None:
    """The running control plane's minor, or None when the cluster does not exist (yet, or any more).

    The stack output only says what was last configured: with the STANDARD support type EKS upgrades the control
    plane by itself when standard support ends, so the cluster's own version is the one to step from.
    """
    region = config_value(project_dir, stack, "region")
    # As settings.Settings.cluster_name names it.
    name = f"{project_name(project_dir)}-{stack}"
    command = ["aws", "eks", "describe-cluster", "--name", name, "--region", str(region), "--query", "cluster.version"]
    result = subprocess.run([*command, "--output", "text"], capture_output=True, text=True, timeout=60, check=False)
    if result.returncode == 0:
        return result.stdout.strip()
    if "ResourceNotFoundException" in result.stderr:
        return None
    raise BadVersion(f"cannot read the version of cluster {name} from AWS: {result.stderr.strip() or 'aws failed'}")


def deployed_from_outputs(outputs_json: str) -> str:
    """kubernetesVersion from `pulumi stack output --json` ('' when the stack has none yet)."""
    try:
        outputs = json.loads(outputs_json or "{}")
    except ValueError:
        raise BadVersion("--outputs-json is not the JSON of `pulumi stack output --json`") from None
    if not isinstance(outputs, dict):
        raise BadVersion("--outputs-json is not the JSON object of `pulumi stack output --json`")
    return str(outputs.get("kubernetesVersion") or "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="upgrade-guard", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stack", required=True, help="stack whose configured kubernetesVersion is checked")
    deployed_from = parser.add_mutually_exclusive_group(required=True)
    deployed_from.add_argument(
        "--deployed", help="the deployed stack's kubernetesVersion output ('' before the first deployment)"
    )
    deployed_from.add_argument("--outputs-json", help="the output of `pulumi stack output --json` ('{}' before the first)")
    parser.add_argument(
        "--ask-aws", action="store_true", help="step from the running cluster's version (aws eks describe-cluster) when it exists"
    )
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        deployed = (args.deployed if args.deployed is not None else deployed_from_outputs(args.outputs_json)).strip()
        if args.ask_aws:
            running = cluster_version_from_aws(args.project_dir, args.stack)
            if running and running != deployed:
                print(f"upgrade-guard: cluster of stack {args.stack} runs {running} (stack output: {deployed or 'none'})")
            deployed = running or deployed
        configured = config_value(args.project_dir, args.stack, "kubernetesVersion")
        if configured is None:
            raise BadVersion(f"stack {args.stack} sets no kubernetesVersion (Pulumi.yaml default or Pulumi.{args.stack}.yaml)")
        parse_minor(configured, "configured kubernetesVersion")
        if not deployed:
            print(f"upgrade-guard: stack {args.stack} reports no kubernetesVersion yet (first deployment): nothing to compare")
            return 0
        parse_minor(deployed, "--deployed")
        problem = check_step(deployed, configured, f"stack {args.stack} kubernetesVersion")
    except (StackFileError, BadVersion) as error:
        print(f"upgrade-guard: {error}", file=sys.stderr)
        return 2
    if problem is not None:
        print(f"upgrade-guard: refused: {problem}", file=sys.stderr)
        return 1
    change = "stays at" if deployed == configured else f"moves from {deployed} to"
    print(f"upgrade-guard: stack {args.stack} kubernetesVersion {change} {configured}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
