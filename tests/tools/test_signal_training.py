"""Phase 4's signal detectors through the one train/evaluate engine and their entry points.

A tiny mini-forensics benchmark (real and Physiological clips of 12 frames) and a 0.48-s window
(``--window-seconds``) keep it short: MTCNN on every frame of every window is the cost. The blink
detector is trained (a pulse needs more frames than its band-pass filter's padding); the window is
far too short to see a blink, so this checks the plumbing, not the detector. Oracles: the test metrics train.py stored (for
evaluate.py's reproduction), the window worked by hand (12 frames at 25 fps, the checkpoint's
``window_s``), and the registry (only signal detectors have a window).
Runs on the reference solutions only (``pytest --solutions``).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from common.errors import CourseError

pytestmark = pytest.mark.usefixtures("solutions_tree")

WINDOW_S = 0.48
TINY_SIGNAL_BENCHMARK = dict(n_clips=12, seed=0, n_frames=12, size=128, fps=25.0, methods=["Physiological"])
PHASE = "phase4_biological_signals"


@pytest.fixture(scope="module")
def phase4_run(tmp_path_factory) -> tuple[Path, Path]:
    from common.synthetic import write_benchmark
    from common.tools.train import main

    root = tmp_path_factory.mktemp("phase4") / "mini-forensics"
    write_benchmark(root, progress=False, **TINY_SIGNAL_BENCHMARK)
    output = tmp_path_factory.mktemp("phase4_run")
    assert main(["--dataset", "synthetic", "--data-root", str(root), "--model", "blink", "--window-seconds",
                 str(WINDOW_S), "--epochs", "4", "--lr", "0.05", "--batch-size", "4", "--device", "cpu",
                 "--output-dir", str(output), "--quiet", "--solutions"], phase=PHASE) == 0
    return root, output


def test_phase4_train_writes_a_signal_checkpoint_with_its_window(phase4_run):
    from common.checkpoint import load_checkpoint
    from common.torch_data import read_face_cache

    _, output = phase4_run
    checkpoint = load_checkpoint(output / "blink_best.pt", expected_architecture="blink")
    assert checkpoint.extra["kind"] == "signal" and checkpoint.model_config["window_s"] == WINDOW_S
    caches = sorted((output / "face_cache").glob(f"*_{WINDOW_S:g}s_*_signal/*.npz"))
    assert caches, "the signal cache is named after the window it holds"
    cache = read_face_cache(caches[0])
    assert cache.frame_indices.tolist() == list(range(12)), "a 0.48-s window of a 0.48-s clip at 25 fps is all its 12 frames"
    assert cache.meta["timestamps_s"] == pytest.approx([k / 25 for k in range(12)]), \
        "the cache keeps each frame's decoded time (frame k of a 25-fps clip at k / 25 s)"
    report = json.loads((output / "train_report.json").read_text())
    assert report["kind"] == "signal" and report["test"]["unit"] == "window" and report["test"]["video"]["n"] > 0


def test_phase4_evaluate_reproduces_the_test_metrics_stored_by_train(phase4_run):
    from common.checkpoint import load_checkpoint
    from common.tools.evaluate import main

    root, output = phase4_run
    assert main(["--checkpoint", str(output / "blink_best.pt"), "--test-data", str(root), "--device", "cpu",
                 "--output-dir", str(output / "eval"), "--quiet", "--solutions"], phase=PHASE) == 0
    stored = load_checkpoint(output / "blink_best.pt").extra["test_metrics"]
    metrics = json.loads((output / "eval" / "metrics.json").read_text())
    assert metrics["video"]["n"] == stored["video"]["n"], "evaluate.py scored other videos than train.py"
    assert metrics["video"]["log_loss"] == pytest.approx(stored["video"]["log_loss"], abs=1e-6), \
        "evaluate.py does not reproduce train.py's test scores (with the checkpoint's window)"


def test_window_seconds_is_refused_for_a_detector_without_a_window(tmp_path):
    from common.tools.train import main

    with pytest.raises(CourseError, match="--window-seconds needs a signal detector"):
        main(["--dataset", "synthetic", "--model", "frame_difference", "--window-seconds", "2", "--output-dir",
              str(tmp_path), "--solutions"], phase="phase2_temporal_analysis")
    assert not any(tmp_path.iterdir()), "arguments are checked before any output is created"
