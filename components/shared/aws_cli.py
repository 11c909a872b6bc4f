"""What the destroy-time gates share: list resource ids with the AWS CLI, and wait until none is left.

Pulumi's dynamic providers run inside the `pulumi destroy` process, with the same credentials and the `aws` CLI
the deploying machine has (README, "Prerequisites").
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable


def list_ids(arguments: list[str], what: str) -> list[str]:
    """Run `aws <arguments> --output json`, whose --query yields a list of ids; an error is never "none left"."""
    result = subprocess.run(["aws", *arguments, "--output", "json"], capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"cannot list {what}: {result.stderr.strip()}")
    ids: list[str] = json.loads(result.stdout or "[]") or []
    return ids


def wait_until_none_left(
    remaining: Callable[[], list[str]], timeout_seconds: float, poll_seconds: float, failure: Callable[[list[str]], str]
) -> None:
    """Poll `remaining` until it is empty; after `timeout_seconds` raise with `failure(ids still there)`."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        ids = remaining()
        if not ids:
            return
        if time.monotonic() >= deadline:
            raise RuntimeError(failure(ids))
        time.sleep(poll_seconds)
