"""`python -m offline.policy_config --stack S --out DIR`: write the policy pack config stack S runs with.

Its environment's levels (policies/config/environments/<environment>.json), then the stack's own optional
overrides (policies/config/<stack>.json). scripts/pulumi.sh hands the file to `pulumi preview|up --policy-pack
policies --policy-pack-config FILE`, so a local deploy passes the same gate as CI and the offline preview.
`--print-environment` prints the stack's environment instead (the script's prod check).
Exit 0, or 2 with one line on stderr (unknown stack, bad stack file, environment without levels, bad config file).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Final

from offline.policy_run import PROJECT_DIR, PolicyInputError, load_pack_config, stack_environment

FILE_NAME: Final = "policy-pack-config.json"


def write_pack_config(pack_config: dict[str, Any], out_dir: Path) -> Path:
    path = out_dir / FILE_NAME
    path.write_text(json.dumps(pack_config, indent=2, sort_keys=True) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="policy-config", description=__doc__)
    parser.add_argument("--stack", required=True, help="stack name; Pulumi.<stack>.yaml must exist")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--out", type=Path, help=f"directory to write {FILE_NAME} into")
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
        print(write_pack_config(pack_config, args.out))
    except PolicyInputError as error:
        print(f"policy-config: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"policy-config: cannot write into {args.out}: {error.strerror or error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
