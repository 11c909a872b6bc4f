"""`python -m offline.policy_config --stack S --out DIR`: write the policy pack config stack S runs with.

Its environment's levels (policies/config/environments/<environment>.json), then the stack's own optional
overrides (policies/config/<stack>.json). scripts/pulumi.sh hands the file to `pulumi preview|up --policy-pack
policies --policy-pack-config FILE`, so a local deploy passes the same gate as CI and the offline preview.
`--print-environment` prints the stack's environment instead (the script's prod check).
Exit 0, or 2 with one line on stderr (unknown stack, bad stack file, environment without levels, bad config file).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from offline import reports
from offline.analyses.policy import PolicyInputError, load_pack_config, stack_environment
from offline.plan.stack_files import PROJECT_DIR


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="policy-config", description=__doc__)
    parser.add_argument("--stack", required=True, help="stack name; Pulumi.<stack>.yaml must exist")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--out", type=Path, help=f"directory to write {reports.PACK_CONFIG} into")
    what.add_argument("--print-environment", action="store_true", help="print the stack's environment, write nothing")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    project_dir = args.project_dir.resolve()
    try:
        if args.print_environment:
            print(stack_environment(args.stack, project_dir))
            return 0
        pack_config = load_pack_config(args.stack, project_dir)
        args.out.mkdir(parents=True, exist_ok=True)
        print(reports.write_json(args.out, reports.PACK_CONFIG, pack_config, sort_keys=True))
    except (PolicyInputError, reports.ReportWriteError) as error:
        print(f"policy-config: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"policy-config: cannot write into {args.out}: {error.strerror or error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
