"""Set-up time of `make up` on a fresh copy, wall time and peak memory of one offline preview per stack, the
share the cost estimate adds, and the offline diff.

Set-up: a copy of the project without any venv, an empty pip cache, and stand-ins for `aws`, `pulumi` and `curl`
that only record when they are called, so the figures are the project's own set-up (network included: pip
downloads from the package index as on a fresh machine).
Targets on the project's 2-core build machine: first AWS call within 1 s, runtime set-up within 30 s; offline
preview under 5 s and under 400 MB per stack, the cost and deploy-time estimate (part of every preview) under 10%
of the preview's time, and `make diff` of every stack (against HEAD) under 2x the offline previews of every stack
together; the whole test suite (`make test`) under 2 minutes. `--no-setup` skips the set-up part (it needs the
network), `--no-suite` the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pulumi_cli import pinned_version

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 5.0
TARGET_MB = 400.0
TARGET_FIRST_AWS_CALL_SECONDS = 1.0
TARGET_SETUP_SECONDS = 30.0
TARGET_ESTIMATE_SHARE = 0.10
TARGET_DIFF_RATIO = 2.0
TARGET_SUITE_SECONDS = 120.0
NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", ".venv-*", "venv", "out", ".pulumi-state", ".stack-config", "node_modules", "__pycache__", ".*_cache"
)

# Stand-ins: each records the moment it is first called as `<name> <time.time()>` and answers like the real one.
STAND_IN = """#!{python}
import sys, time
name = {name!r}
with open({record!r}, "a") as record:
    record.write(f"{{name}} {{' '.join(sys.argv[1:])}} {{time.time()}}\\n")
if name == "aws" and sys.argv[1:3] == ["eks", "describe-cluster"]:
    sys.exit("An error occurred (ResourceNotFoundException) when calling the DescribeCluster operation")
elif name == "aws":
    print("arn:aws:iam::123456789012:user/benchmark")
elif name == "curl":
    print("198.51.100.7")
elif sys.argv[1:2] == ["version"]:
    print("v{pulumi_version}")
elif sys.argv[1:3] == ["stack", "output"]:
    print("{{}}")
elif sys.argv[1:3] == ["config", "get"]:
    print('["203.0.113.0/24"]')
"""


def estimate_seconds(stack: str, plan_path: Path) -> float:
    """Time of what the estimate adds to a preview: prices, usage config, cost report and critical path."""
    sys.path.insert(0, str(ROOT))
    from offline.analyses.prices import load_prices
    from offline.plan.query import PlanQuery
    from offline.reports import estimates

    plan = PlanQuery(json.loads(plan_path.read_text()))
    started = time.perf_counter()
    estimates(plan, stack, load_prices(), ROOT)
    return time.perf_counter() - started


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
            STAND_IN.format(python=sys.executable, name=name, record=str(record), pulumi_version=pinned_version())
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


def measure_diff() -> tuple[float, int]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "offline.diff", "--base", "HEAD"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    return time.perf_counter() - started, result.returncode


def measure_suite() -> tuple[float, int]:
    """The wall time of the test suite as `make test` runs it (its pytest options from pyproject.toml)."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    )
    return time.perf_counter() - started, result.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-setup", action="store_true", help="skip the set-up measurement (it needs the network)")
    parser.add_argument("--no-suite", action="store_true", help="skip timing the test suite")
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
    width = max(len("stack"), *(len(stack) for stack in stacks))
    print(f"{'stack':<{width}} {'wall s':>8} {'peak MB':>9} {'estimate s':>11} {'share':>6}  exit  within target")
    previews = 0.0
    with tempfile.TemporaryDirectory() as scratch:
        for stack in stacks:
            seconds, megabytes, code = measure(stack, Path(scratch) / stack)
            extra = estimate_seconds(stack, Path(scratch) / stack / "plan.json")
            share = extra / (seconds - extra)
            ok = seconds < TARGET_SECONDS and megabytes < TARGET_MB and share < TARGET_ESTIMATE_SHARE
            verdict = "yes" if ok else "NO"
            print(f"{stack:<{width}} {seconds:>8.2f} {megabytes:>9.1f} {extra:>11.3f} {share:>6.1%}  {code:>4}  {verdict}")
            if code != 1:  # exit 1 only means a policy blocked the stack
                worst = max(worst, code)
            previews += seconds
    print(
        f"targets: < {TARGET_SECONDS:.0f} s and < {TARGET_MB:.0f} MB per stack, "
        f"estimate < {TARGET_ESTIMATE_SHARE:.0%} of the rest of the preview"
        " (exit 1 from a stack: a mandatory policy or a broken runtime need)"
    )
    diff_seconds, diff_code = measure_diff()
    if diff_code == 2:
        print("diff: not measured (not a git checkout, or the diff failed: run make diff BASE=HEAD)")
        return worst or 2
    ratio = diff_seconds / previews
    verdict = "yes" if ratio < TARGET_DIFF_RATIO else "NO"
    print(
        f"diff of all stacks against HEAD: {diff_seconds:.2f} s = {ratio:.2f}x the previews' {previews:.2f} s; "
        f"within target (< {TARGET_DIFF_RATIO:.0f}x): {verdict}"
    )
    if not args.no_suite:
        suite_seconds, suite_code = measure_suite()
        verdict = "yes" if suite_seconds < TARGET_SUITE_SECONDS and suite_code == 0 else "NO"
        print(
            f"test suite (make test, {os.cpu_count()} CPUs): {suite_seconds:.1f} s, exit {suite_code}; "
            f"within target (< {TARGET_SUITE_SECONDS:.0f} s, passing): {verdict}"
        )
        worst = max(worst, suite_code)
    return worst


if __name__ == "__main__":
    sys.exit(main())
