"""The one train/evaluate engine on a second phase: phase 2's clip detector through its entry points.

Oracles: the test metrics train.py stored (for evaluate.py's reproduction), the frame plan worked by
hand (for what the clip cache holds), and the registry (for which phase owns a model).
Runs on the reference solutions only (``pytest --solutions``).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("solutions_tree")

ROOT = Path(__file__).resolve().parents[2]
# TemporalFlicker only (the manipulation a frame-difference detector can see); 8-frame clips
TINY_TEMPORAL_BENCHMARK = dict(n_clips=12, seed=0, n_frames=8, size=96, methods=["TemporalFlicker"])


@pytest.fixture(scope="module")
def phase2_run(tmp_path_factory) -> tuple[Path, Path]:
    from common.synthetic import write_benchmark
    from common.tools.train import main

    root = tmp_path_factory.mktemp("phase2") / "mini-forensics"
    write_benchmark(root, progress=False, **TINY_TEMPORAL_BENCHMARK)
    output = tmp_path_factory.mktemp("phase2_run")
    assert main(["--dataset", "synthetic", "--data-root", str(root), "--model", "frame_difference", "--frames", "8",
                 "--image-size", "64", "--epochs", "4", "--lr", "0.05", "--batch-size", "4", "--device", "cpu",
                 "--detect-every", "2", "--output-dir", str(output), "--quiet", "--solutions"],
                phase="phase2_temporal_analysis") == 0
    return root, output


def test_phase2_train_writes_a_clip_checkpoint_from_clip_caches(phase2_run):
    from common.checkpoint import load_checkpoint
    from common.torch_data import read_face_cache

    _, output = phase2_run
    checkpoint = load_checkpoint(output / "frame_difference_best.pt", expected_architecture="frame_difference")
    assert checkpoint.extra["kind"] == "clip" and checkpoint.extra["preprocessing"]["n_frames"] == 8
    caches = sorted((output / "face_cache").glob("*_clip/*.npz"))
    assert caches, "a clip detector's face cache lives in its own *_clip folder"
    frames = read_face_cache(caches[0]).frame_indices.tolist()
    assert frames == list(range(frames[0], frames[0] + len(frames))), "a clip cache holds consecutive frames"
    report = json.loads((output / "train_report.json").read_text())
    assert report["kind"] == "clip" and report["test"]["unit"] == "clip" and report["test"]["video"]["n"] > 0


def test_phase2_evaluate_reproduces_the_test_metrics_stored_by_train(phase2_run):
    """Trained with faces found on every 2nd frame: evaluate.py tracks the test faces the same way by
    default (the checkpoint records it), so it reproduces train.py's own test scores."""
    from common.checkpoint import load_checkpoint
    from common.tools.evaluate import main

    root, output = phase2_run
    assert main(["--checkpoint", str(output / "frame_difference_best.pt"), "--test-data", str(root), "--device",
                 "cpu", "--output-dir", str(output / "eval"), "--quiet", "--solutions"],
                phase="phase2_temporal_analysis") == 0
    checkpoint = load_checkpoint(output / "frame_difference_best.pt")
    stored = checkpoint.extra["test_metrics"]
    metrics = json.loads((output / "eval" / "metrics.json").read_text())
    assert checkpoint.extra["detect_every"] == 2 and metrics["detect_every"] == 2
    assert metrics["video"]["n"] == stored["video"]["n"], "evaluate.py scored other videos than train.py"
    assert metrics["video"]["log_loss"] == pytest.approx(stored["video"]["log_loss"], abs=1e-6), \
        "evaluate.py does not reproduce train.py's test scores"


def test_a_phase_entry_point_refuses_another_phases_model(tmp_path):
    result = subprocess.run([sys.executable, "phase1_cnn_detection/train.py", "--dataset", "synthetic", "--model",
                             "frame_difference", "--output-dir", str(tmp_path / "run"), "--solutions"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, f"expected exit 2, got {result.returncode}: {result.stderr}"
    assert result.stderr.strip().splitlines() == [
        "error: model 'frame_difference' belongs to phase2_temporal_analysis: run phase2_temporal_analysis/train.py"]
    assert not (tmp_path / "run").exists(), "a refused run must create nothing"


@pytest.fixture(scope="module")
def phase3_run(tmp_path_factory) -> tuple[Path, Path]:
    from common.synthetic import write_benchmark
    from common.tools.train import main

    root = tmp_path_factory.mktemp("phase3") / "mini-forensics"
    write_benchmark(root, progress=False, n_clips=12, seed=0, n_frames=8, size=96, methods=["GANUpsample"])
    output = tmp_path_factory.mktemp("phase3_run")
    assert main(["--dataset", "synthetic", "--data-root", str(root), "--model", "spectrum_logistic", "--frames", "4",
                 "--epochs", "4", "--lr", "0.05", "--batch-size", "8", "--device", "cpu", "--output-dir", str(output),
                 "--quiet", "--solutions"], phase="phase3_frequency_analysis") == 0
    return root, output


def test_phase3_trains_on_native_crops_and_evaluate_reproduces_it(phase3_run):
    """The spectral kind: caches keep each face at its own size; evaluate.py scores the same vectors."""
    from common.checkpoint import load_checkpoint
    from common.tools.evaluate import main
    from common.torch_data import read_face_cache

    root, output = phase3_run
    caches = sorted((output / "face_cache").glob("faces_native_*/*.npz"))
    assert caches, "a spectral detector's cache lives in its own faces_native_* folder"
    cache = read_face_cache(caches[0])
    sides = cache.meta["crop_sizes"]
    assert len(sides) == len(cache.faces) and max(sides) == cache.faces.shape[1], "each crop's own side is recorded"
    assert main(["--checkpoint", str(output / "spectrum_logistic_best.pt"), "--test-data", str(root), "--device",
                 "cpu", "--output-dir", str(output / "eval"), "--quiet", "--solutions"],
                phase="phase3_frequency_analysis") == 0
    stored = load_checkpoint(output / "spectrum_logistic_best.pt").extra["test_metrics"]
    metrics = json.loads((output / "eval" / "metrics.json").read_text())
    assert metrics["frame"]["log_loss"] == pytest.approx(stored["frame"]["log_loss"], abs=1e-6)


def test_phase2_evaluate_detect_every_overrides_the_training_tracking(phase2_run):
    """--detect-every 1 re-tracks the test faces on every frame (a choice the report records); the
    checkpoint's own setting stays the default."""
    from common.tools.evaluate import main, training_detect_every
    from common.torch_data import read_face_cache

    root, output = phase2_run
    assert main(["--checkpoint", str(output / "frame_difference_best.pt"), "--test-data", str(root), "--device",
                 "cpu", "--detect-every", "1", "--output-dir", str(output / "eval_every_frame"),
                 "--cache-dir", str(output / "cache_every_frame"), "--quiet", "--solutions"],
                phase="phase2_temporal_analysis") == 0
    assert json.loads((output / "eval_every_frame" / "metrics.json").read_text())["detect_every"] == 1
    caches = sorted((output / "cache_every_frame").glob("*_clip/*.npz"))
    assert caches and all(read_face_cache(c).meta["settings"].get("detect_every", 1) == 1 for c in caches)
    trained = sorted((output / "face_cache").glob("*_clip/*.npz"))
    assert trained and all(read_face_cache(c).meta["settings"]["detect_every"] == 2 for c in trained)
    assert training_detect_every({"detect_every": 4}) == 4 and training_detect_every({}) == 1, \
        "checkpoints written before train.py recorded it were tracked on every frame"


def test_detect_video_notes_a_detector_trained_on_faces_tracked_otherwise(phase2_run):
    """The report says how the checkpoint's faces were tracked, and the tools print a note when this run
    tracks them otherwise."""
    from common.detectors import Detector
    from common.tools.detect import tracking_notes

    _, output = phase2_run
    detector = Detector.load(output / "frame_difference_best.pt", "cpu", name="flicker")
    assert detector.describe()["trained_detect_every"] == 2
    assert tracking_notes([detector], 2) == []
    assert tracking_notes([detector], 1) == [
        "note: flicker was trained on faces found every 2 frames; this run finds them every 1 "
        "(--detect-every 2 tracks them as in its training)"]


def test_detect_video_tracks_faces_as_the_detectors_were_trained_unless_told(phase2_run, tmp_path):
    """Without --detect-every, detect_video.py finds faces as the checkpoint's training did (every 2nd
    frame here), so the clip detector's score is the one its calibration was fitted on; with it, as
    asked. Two detectors trained otherwise fall back to every frame."""
    from types import SimpleNamespace

    from common.tools.detect import main, resolve_detect_every

    root, output = phase2_run
    video = sorted((root / "videos" / "test").glob("*.mp4"))[0]
    for flags, expected in (([], 2), (["--detect-every", "1"], 1)):
        report_path = tmp_path / f"report_{expected}.json"
        assert main(["--input", str(video), "--model", str(output / "frame_difference_best.pt"), "--device", "cpu",
                     "--output", str(report_path), "--quiet", "--solutions", *flags]) == 0
        assert json.loads(report_path.read_text())["settings"]["detect_every"] == expected
    trained = [SimpleNamespace(trained_detect_every=k) for k in (8, 8, None)]
    assert resolve_detect_every(None, trained) == 8 and resolve_detect_every(3, trained) == 3
    assert resolve_detect_every(None, trained + [SimpleNamespace(trained_detect_every=1)]) == 1, "disagree: every frame"
