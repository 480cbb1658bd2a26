"""Train a detector of this phase: ``python phase5_advanced_methods/train.py --help`` (the engine is common/tools/train.py)."""
import functools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root

from common.errors import run_cli  # noqa: E402
from common.tools.train import main  # noqa: E402

if __name__ == "__main__":
    run_cli(functools.partial(main, phase="phase5_advanced_methods"))
