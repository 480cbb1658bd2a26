#!/usr/bin/env python
"""The course's first command: an offline end-to-end demo (see common/tools/demo.py; run with --help)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common.errors import run_cli  # noqa: E402
from common.tools.demo import main  # noqa: E402

if __name__ == "__main__":
    run_cli(main)
