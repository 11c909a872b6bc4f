"""The Pulumi CLI this project pins (scripts/pulumi.sh installs it) and where to find it on this machine."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pinned_version(root: Path = ROOT) -> str:
    """The CLI version scripts/pulumi.sh installs: its PULUMI_VERSION= line, the one place it is written."""
    for line in (root / "scripts" / "pulumi.sh").read_text().splitlines():
        if line.startswith("PULUMI_VERSION="):
            return line.split("=", 1)[1]
    raise SystemExit("no PULUMI_VERSION= line in scripts/pulumi.sh")


def find_cli(home: Path) -> str | None:
    """The pinned CLI where scripts/pulumi.sh puts it when another version is on PATH, else the one on PATH, else
    the one it installs into ~/.pulumi/bin when none is; None when there is none."""
    pinned = home / ".pulumi" / "versions" / pinned_version() / "bin" / "pulumi"
    if pinned.is_file():
        return str(pinned)
    return shutil.which("pulumi") or shutil.which("pulumi", path=str(home / ".pulumi" / "bin"))
