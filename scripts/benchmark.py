"""Wall time and peak memory of one offline preview per stack, each in a fresh process.

Targets on the project's 2-core build machine: under 5 s and under 400 MB per stack.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 5.0
TARGET_MB = 400.0


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


def main() -> int:
    stacks = sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in ROOT.glob("Pulumi.*.yaml"))
    width = max(len("stack"), *(len(stack) for stack in stacks))
    print(f"{'stack':<{width}} {'wall s':>8} {'peak MB':>9}  exit  within target")
    worst = 0
    with tempfile.TemporaryDirectory() as scratch:
        for stack in stacks:
            seconds, megabytes, code = measure(stack, Path(scratch) / stack)
            ok = seconds < TARGET_SECONDS and megabytes < TARGET_MB
            print(f"{stack:<{width}} {seconds:>8.2f} {megabytes:>9.1f}  {code:>4}  {'yes' if ok else 'NO'}")
            worst = max(worst, code)
    print(f"targets: < {TARGET_SECONDS:.0f} s and < {TARGET_MB:.0f} MB per stack (exit 1 from a stack means a policy blocked it)")
    return 0 if worst in (0, 1) else worst


if __name__ == "__main__":
    sys.exit(main())
