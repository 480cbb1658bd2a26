"""Signal detectors (phase 4) through the one detector interface: detect_video.py and the engine.

Oracles: the mini-forensics ground truth (how many blinks fall in the detector's window, hence its
blink rate and, with a hand-set logistic regression, its probability), and the window's length in
seconds against the clip's. Runs on the reference solutions only (``pytest --solutions``).
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

pytestmark = pytest.mark.usefixtures("solutions_tree")

WINDOW_S = 6.0
SIGNAL_FPS = 25.0
RATE_WEIGHT = 1.5   # logit = 1.5 * (blinks per minute / 20) - 1


@pytest.fixture(scope="module")
def blink_checkpoint(tools_dir):
    """A ``blink`` signal detector with hand-set weights: only the blink-rate feature counts."""
    import torch

    from common.checkpoint import save_checkpoint
    from common.models import build_model

    config = {"n_features": 3, "window_s": WINDOW_S}
    model = build_model("blink", **config)
    with torch.no_grad():
        model.linear.weight.copy_(torch.tensor([[RATE_WEIGHT, 0.0, 0.0]]))
        model.linear.bias.fill_(-1.0)
    preprocessing = {"size": 96, "mean": [0.0] * 3, "std": [1.0] * 3, "scale": 1.6, "n_frames": 32}
    return save_checkpoint(tools_dir / "blink_signal.pt", model, architecture="blink", model_config=config,
                           threshold=0.5, extra={"preprocessing": preprocessing})


@pytest.fixture(scope="module")
def long_clip(tools_dir):
    """A real 8-s clip (200 frames at 25 fps, 128 px) with blinks, written as H.264, and its truth."""
    from common.synthetic import make_clip
    from common.video import write_video

    clip = make_clip("real", seed=2, n_frames=200, size=128, fps=SIGNAL_FPS, identity="lfw_011")
    path = tools_dir / "long_real.mp4"
    write_video(path, clip.frames, fps=SIGNAL_FPS)
    return path, clip.truth


def run_detect(arguments, output):
    from common.tools.detect import main

    assert main([*arguments, "--output", str(output), "--device", "cpu", "--quiet"]) == 0
    return json.loads(output.read_text())


def test_signal_detector_reads_a_window_and_counts_the_true_blinks(long_clip, blink_checkpoint, tmp_path):
    from common.report import validate_report

    path, truth = long_clip
    report = run_detect(["--input", str(path), "--model", str(blink_checkpoint)], tmp_path / "report.json")
    assert validate_report(report) == [], "the report with a signal detector breaks the schema"
    entry = report["detectors"][0]
    assert entry["kind"] == "signal" and entry["status"] == "ok", entry.get("reason")
    window = entry["window_scores"][0]
    n_window = int(round(WINDOW_S * SIGNAL_FPS))
    assert (window["start"], window["stop"]) == ((200 - n_window) // 2, (200 - n_window) // 2 + n_window - 1), \
        "the window is the middle 6 s of the 8-s clip"
    assert window["landmark_frames"] == n_window, "the face mesh should find the face in every frame of this clip"
    in_window = np.flatnonzero(np.diff(np.concatenate([[0], truth.blink_frames[window["start"]:window["stop"] + 1]
                                                       .astype(int), [0]])) == 1)
    assert len(in_window) >= 1, "the test clip should blink inside its window"
    rate = len(in_window) / WINDOW_S * 60.0
    expected = 1.0 / (1.0 + math.exp(-(RATE_WEIGHT * rate / 20.0 - 1.0)))
    assert window["fake_probability"] == pytest.approx(expected, abs=1e-5), \
        f"{len(in_window)} true blinks in the window give {rate:.0f} per minute"


def test_a_clip_shorter_than_the_window_could_not_run(clip_files, blink_checkpoint, tmp_path):
    report = run_detect(["--input", str(clip_files["real"].path), "--model", str(blink_checkpoint)], tmp_path / "r.json")
    entry = report["detectors"][0]
    assert entry["status"] == "could_not_run" and entry["video_score"] is None
    assert "needs at least" in entry["reason"] and "1.0 s for a 6-s window" in entry["reason"], entry["reason"]


def test_engine_plans_a_window_of_the_main_face_for_signal_rows():
    from common.engine import cache_plan
    from common.models import get_spec
    from common.preprocessing import model_preprocessing

    row = get_spec("pulse")
    plan, policy, folder = cache_plan(row, model_preprocessing(row))
    assert (plan.mode, plan.seconds, policy) == ("window", 10.0, "subject")
    assert folder == "faces_96px_10s_scale1.6_signal"
    assert len(plan.indices(300, 25.0)) == 250, "10 s at 25 fps"
