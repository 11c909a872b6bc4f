"""Wall time and peak memory of one offline preview per stack, each in a fresh process; and the offline diff.

Targets on the project's 2-core build machine: under 5 s and under 400 MB per stack, the cost and deploy-time
estimate (part of every preview) under 10% of the preview's time, and `make diff` of every stack (against HEAD)
under 2x the offline previews of every stack together.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 5.0
TARGET_MB = 400.0
TARGET_ESTIMATE_SHARE = 0.10
TARGET_DIFF_RATIO = 2.0


def estimate_seconds(stack: str, plan_path: Path) -> float:
    """Time of what the estimate adds to a preview: prices, usage config, cost report and critical path."""
    sys.path.insert(0, str(ROOT))
    from offline.cost import analyse, load_prices

    plan = json.loads(plan_path.read_text())
    started = time.perf_counter()
    analyse(plan, stack, load_prices(), ROOT)
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


def main() -> int:
    stacks = sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in ROOT.glob("Pulumi.*.yaml"))
    width = max(len("stack"), *(len(stack) for stack in stacks))
    print(f"{'stack':<{width}} {'wall s':>8} {'peak MB':>9} {'estimate s':>11} {'share':>6}  exit  within target")
    worst = 0
    previews = 0.0
    with tempfile.TemporaryDirectory() as scratch:
        for stack in stacks:
            seconds, megabytes, code = measure(stack, Path(scratch) / stack)
            extra = estimate_seconds(stack, Path(scratch) / stack / "plan.json")
            share = extra / (seconds - extra)
            ok = seconds < TARGET_SECONDS and megabytes < TARGET_MB and share < TARGET_ESTIMATE_SHARE
            verdict = "yes" if ok else "NO"
            print(f"{stack:<{width}} {seconds:>8.2f} {megabytes:>9.1f} {extra:>11.3f} {share:>6.1%}  {code:>4}  {verdict}")
            worst = max(worst, code)
            previews += seconds
    print(
        f"targets: < {TARGET_SECONDS:.0f} s and < {TARGET_MB:.0f} MB per stack, "
        f"estimate < {TARGET_ESTIMATE_SHARE:.0%} of the rest of the preview (exit 1 from a stack means a policy blocked it)"
    )
    diff_seconds, diff_code = measure_diff()
    if diff_code == 2:
        print("diff: not measured (not a git checkout, or the diff failed: run make diff BASE=HEAD)")
        return worst if worst not in (0, 1) else 2
    ratio = diff_seconds / previews
    verdict = "yes" if ratio < TARGET_DIFF_RATIO else "NO"
    print(
        f"diff of all stacks against HEAD: {diff_seconds:.2f} s = {ratio:.2f}x the previews' {previews:.2f} s; "
        f"within target (< {TARGET_DIFF_RATIO:.0f}x): {verdict}"
    )
    return 0 if worst in (0, 1) else worst


if __name__ == "__main__":
    sys.exit(main())
