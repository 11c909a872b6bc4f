"""Set-up time of `make up` on a fresh copy, and wall time and peak memory of one offline preview per stack.

Set-up: a copy of the project without any venv, an empty pip cache, and stand-ins for `aws`, `pulumi` and `curl`
that only record when they are called, so the figures are the project's own set-up (network included: pip
downloads from the package index as on a fresh machine).
Targets on the project's 2-core build machine: first AWS call within 1 s, runtime set-up within 30 s; offline
preview under 5 s and under 400 MB per stack. `--no-setup` skips the set-up part (it needs the network).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 5.0
TARGET_MB = 400.0
TARGET_FIRST_AWS_CALL_SECONDS = 1.0
TARGET_SETUP_SECONDS = 30.0
NOT_COPIED = shutil.ignore_patterns(".git", ".venv", "venv", "out", ".pulumi-state", "node_modules", "__pycache__", ".*_cache")

# Stand-ins: each records the moment it is first called as `<name> <time.time()>` and answers like the real one.
STAND_IN = """#!{python}
import sys, time
name = {name!r}
with open({record!r}, "a") as record:
    record.write(f"{{name}} {{' '.join(sys.argv[1:])}} {{time.time()}}\\n")
if name == "aws":
    print("arn:aws:iam::123456789012:user/benchmark")
elif name == "curl":
    print("198.51.100.7")
elif sys.argv[1:2] == ["version"]:
    print("v{pulumi_version}")
elif sys.argv[1:3] == ["config", "get"]:
    print('["203.0.113.0/24"]')
"""


def measure(stack: str, out: Path) -> tuple[float, float, int]:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "offline.preview", "--stack", stack, "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    # ru_maxrss is in KiB on Linux.
    return elapsed, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def pinned_pulumi_version() -> str:
    for line in (ROOT / "scripts" / "pulumi.sh").read_text().splitlines():
        if line.startswith("PULUMI_VERSION="):
            return line.split("=", 1)[1]
    raise SystemExit("benchmark: no PULUMI_VERSION= line in scripts/pulumi.sh")


def measure_setup(scratch: Path) -> tuple[float, float, int]:
    """Seconds from `make up` on a fresh copy to its first AWS call and to `pulumi up`, and make's exit code."""
    project = scratch / "project"
    shutil.copytree(ROOT, project, ignore=NOT_COPIED)
    bin_dir, home, record = scratch / "bin", scratch / "home", scratch / "calls"
    bin_dir.mkdir()
    home.mkdir()
    for name in ("aws", "pulumi", "curl"):
        stand_in = bin_dir / name
        stand_in.write_text(
            STAND_IN.format(python=sys.executable, name=name, record=str(record), pulumi_version=pinned_pulumi_version())
        )
        stand_in.chmod(0o755)
    env = os.environ | {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(home),  # an empty pip cache, and no ~/.pulumi
        "PIP_NO_CACHE_DIR": "1",
        "CONFIRM": "dev",
        "PULUMI_CONFIG_PASSPHRASE": "benchmark",
    }
    env.pop("PULUMI_BACKEND_URL", None)
    env.pop("VIRTUAL_ENV", None)
    started = time.time()
    result = subprocess.run(
        ["make", "--no-print-directory", "up", "STACK=dev"],
        cwd=project,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    calls = [line.rsplit(" ", 1) for line in record.read_text().splitlines()] if record.exists() else []
    first_aws = next((float(at) for call, at in calls if call.startswith("aws ")), float("nan"))
    pulumi_up = next((float(at) for call, at in calls if call.startswith("pulumi up")), float("nan"))
    if result.returncode != 0:
        print(f"make up failed ({result.returncode}): {result.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
    return first_aws - started, pulumi_up - started, result.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-setup", action="store_true", help="skip the set-up measurement (it needs the network)")
    args = parser.parse_args()
    worst = 0
    if not args.no_setup:
        with tempfile.TemporaryDirectory() as scratch:
            first_aws, setup, code = measure_setup(Path(scratch))
        ok = first_aws < TARGET_FIRST_AWS_CALL_SECONDS and setup < TARGET_SETUP_SECONDS and code == 0
        print("make up on a fresh copy (empty pip cache)       s")
        print(f"  to the first AWS call                    {first_aws:>7.2f}")
        print(f"  to `pulumi up` (runtime set-up done)     {setup:>7.2f}   within target: {'yes' if ok else 'NO'}")
        print(f"targets: first AWS call < {TARGET_FIRST_AWS_CALL_SECONDS:.0f} s, set-up < {TARGET_SETUP_SECONDS:.0f} s\n")
        worst = code
    stacks = sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in ROOT.glob("Pulumi.*.yaml"))
    print(f"{'stack':<8} {'wall s':>8} {'peak MB':>9}  exit  within target")
    with tempfile.TemporaryDirectory() as scratch:
        for stack in stacks:
            seconds, megabytes, code = measure(stack, Path(scratch) / stack)
            ok = seconds < TARGET_SECONDS and megabytes < TARGET_MB
            print(f"{stack:<8} {seconds:>8.2f} {megabytes:>9.1f}  {code:>4}  {'yes' if ok else 'NO'}")
            if code != 1:  # exit 1 only means a policy blocked the stack
                worst = max(worst, code)
    print(f"targets: < {TARGET_SECONDS:.0f} s and < {TARGET_MB:.0f} MB per stack (exit 1 from a stack means a policy blocked it)")
    return worst


if __name__ == "__main__":
    sys.exit(main())
