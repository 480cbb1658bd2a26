"""Train a phase-1 CNN detector: ``python phase1_cnn_detection/train.py --help`` (see common/tools/phase1_train.py)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root

from common.errors import run_cli  # noqa: E402
from common.tools.phase1_train import main  # noqa: E402

if __name__ == "__main__":
    run_cli(main)
