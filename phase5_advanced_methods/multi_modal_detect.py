"""Fuse detectors of every phase into one verdict: ``python phase5_advanced_methods/multi_modal_detect.py --help``
(the tool is common/tools/multi_modal.py)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root

from common.errors import run_cli  # noqa: E402
from common.tools.multi_modal import main  # noqa: E402

if __name__ == "__main__":
    run_cli(main)
