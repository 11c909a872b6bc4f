"""Tests of the bootstrap project (bootstrap/): its modules import each other as top-level modules, as the Pulumi CLI
runs them from that folder, so the folder goes on the path first."""

import sys
from pathlib import Path

BOOTSTRAP_DIR = Path(__file__).resolve().parents[2] / "bootstrap"
if str(BOOTSTRAP_DIR) not in sys.path:
    sys.path.insert(0, str(BOOTSTRAP_DIR))
