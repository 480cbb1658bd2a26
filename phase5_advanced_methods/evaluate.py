"""Evaluate a detector of this phase: ``python phase5_advanced_methods/evaluate.py --help`` (the engine is common/tools/evaluate.py)."""
import functools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root

from common.errors import run_cli  # noqa: E402
from common.tools.evaluate import main  # noqa: E402

if __name__ == "__main__":
    run_cli(functools.partial(main, phase="phase5_advanced_methods"))
