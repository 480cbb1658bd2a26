#!/usr/bin/env python
"""Command-line entry point; the work is done in common/tools/cross_dataset.py (run with --help)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common.errors import run_cli  # noqa: E402
from common.tools.cross_dataset import main  # noqa: E402

if __name__ == "__main__":
    run_cli(main)
