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


@pytest.fixture(scope="module")
def biological_checkpoint(tools_dir):
    """A ``biological`` signal detector (blink, pulse and consistency features) with zero weights:
    its report carries both the EAR and the pulse."""
    import torch

    from common.checkpoint import save_checkpoint
    from common.models import build_model

    config = {"n_features": 9, "window_s": WINDOW_S}
    model = build_model("biological", **config)
    with torch.no_grad():
        model.linear.weight.zero_()
        model.linear.bias.zero_()
    preprocessing = {"size": 96, "mean": [0.0] * 3, "std": [1.0] * 3, "scale": 1.6, "n_frames": 32}
    return save_checkpoint(tools_dir / "biological_signal.pt", model, architecture="biological", model_config=config,
                           threshold=0.5, extra={"preprocessing": preprocessing})


@pytest.fixture(scope="module")
def signal_report(long_clip, blink_checkpoint, biological_checkpoint, tmp_path_factory):
    """detect_video.py with the blink and the biological detectors on the 8-s clip, and every
    landmark series the face mesh returned while it ran (one per detector, in order)."""
    from common.landmarks import FaceMeshLandmarker

    seen, detect = [], FaceMeshLandmarker.detect

    def recording(self, images):
        series = detect(self, images)
        seen.append(series)
        return series

    path, truth = long_clip
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(FaceMeshLandmarker, "detect", recording)
    try:
        report = run_detect(["--input", str(path), "--model", str(blink_checkpoint), "--model",
                             str(biological_checkpoint)], tmp_path_factory.mktemp("signals") / "report.json")
    finally:
        monkeypatch.undo()
    return report, seen, truth


def hand_ear(eyes):
    """(T,) mean EAR of both eyes from (T, 2, 6, 2) points, written out point by point (Soukupova & Cech)."""
    eyes = np.asarray(eyes, np.float64)
    p = [eyes[:, :, k] for k in range(6)]
    dist = [np.hypot(*(a - b).T).T for a, b in ((p[1], p[5]), (p[2], p[4]), (p[0], p[3]))]
    return ((dist[0] + dist[1]) / (2.0 * dist[2])).mean(axis=1)


def run_detect(arguments, output):
    from common.tools.detect import main

    assert main([*arguments, "--output", str(output), "--device", "cpu", "--quiet"]) == 0
    return json.loads(output.read_text())


def test_signal_detector_reads_a_window_and_counts_the_true_blinks(signal_report):
    from common.report import validate_report

    report, _, truth = signal_report
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


def test_signal_entries_carry_the_ear_and_the_pulse_of_their_window(signal_report):
    from common.report import validate_report

    report, seen, truth = signal_report
    assert validate_report(report) == [], "the report with signals breaks the schema"
    blink, biological = report["detectors"]
    assert [len(series) for series in seen] == [150, 150], "one face-mesh run of the 6-s window per detector"
    for entry, series in zip((blink, biological), seen):
        assert entry["status"] == "ok", entry.get("reason")
        window, signals = entry["window_scores"][0], entry["signals"]
        frames = list(range(window["start"], window["stop"] + 1))
        assert signals["frame_indices"] == frames and signals["fps"] == SIGNAL_FPS
        assert len(signals["ear"]) == len(frames) == int(round(WINDOW_S * SIGNAL_FPS))
        expected = hand_ear(series.eyes)
        got = np.array([np.nan if v is None else v for v in signals["ear"]])
        np.testing.assert_allclose(got, expected, rtol=1e-9, err_msg="the report's EAR is not the EAR of the landmarks")
        assert signals["ear_threshold"] == pytest.approx(0.7 * np.median(expected)), "0.7 x the median EAR"
        closed = np.concatenate([[0], truth.blink_frames[frames[0]:frames[-1] + 1].astype(int), [0]])
        assert len(signals["blinks"]) == np.count_nonzero(np.diff(closed) == 1), "one blink per true blink"
    assert "pulse" not in blink["signals"], "the blink detector measures no pulse"
    pulse = biological["signals"]["pulse"]
    assert len(pulse) == len(frames) and all(v is not None for v in pulse)
    assert biological["signals"]["hr_bpm"] == pytest.approx(truth.heart_rate_bpm, abs=3.0), \
        "the pulse's heart rate is the clip's true one"


def test_summary_figure_draws_the_signal_panels(signal_report, long_clip, tmp_path):
    import matplotlib.image

    from common.tools.visualize import plot_summary, signal_panels

    report = signal_report[0]
    panels = signal_panels(report)
    assert [(p["detector"], p["series"]) for p in panels] == [
        ("blink_signal", "ear"), ("biological_signal", "ear"), ("biological_signal", "pulse")]
    assert panels[0]["threshold"] == report["detectors"][0]["signals"]["ear_threshold"]
    with_signals = matplotlib.image.imread(plot_summary(report, tmp_path / "with.png"))
    bare = {**report, "detectors": [{k: v for k, v in d.items() if k != "signals"} for d in report["detectors"]]}
    without = matplotlib.image.imread(plot_summary(bare, tmp_path / "without.png"))
    assert signal_panels(bare) == []
    assert with_signals.shape[0] == pytest.approx(4 * without.shape[0], rel=0.1), \
        "three signal panels below the score timeline, each as tall as it (tight bounding boxes trim a little)"


def test_the_validator_checks_the_series_against_the_window(signal_report):
    import copy

    from common.report import validate_report

    report = copy.deepcopy(signal_report[0])
    signals = report["detectors"][1]["signals"]
    signals["ear"][3] = None                     # a frame without landmarks is fine
    assert validate_report(report) == []
    signals["pulse"] = signals["pulse"][:-1]
    signals["blinks"].append([signals["frame_indices"][-1], signals["frame_indices"][-1] + 5])
    problems = validate_report(report)
    assert any("signals.pulse" in p and "149 values for 150" in p for p in problems), problems
    assert any("signals.blinks" in p for p in problems), problems


@pytest.fixture(scope="module")
def variable_rate_clip(tools_dir):
    """A real 10-s clip as a phone in dim light records it: 30 fps for 4 s, then 15 fps (every other
    frame of a 30-fps rendering, shown at its true time), written with those timestamps."""
    from common.synthetic import make_clip
    from common.video import write_video

    clip = make_clip("real", seed=3, n_frames=300, size=128, fps=30.0, identity="lfw_011")
    kept = np.concatenate([np.arange(120), np.arange(120, 300, 2)])
    path = write_video(tools_dir / "variable_rate.mp4", clip.frames[kept], fps=30.0, timestamps_s=kept / 30.0)
    return path, clip.truth, kept


def test_a_variable_frame_rate_video_keeps_its_true_heart_rate(variable_rate_clip, biological_checkpoint, tmp_path):
    """Read at the clip's average rate (21 fps), the 30-fps stretch's 1.2-Hz pulse would read 1.7 Hz and
    the 15-fps stretch's 0.85 Hz. On the grid of its timestamps the window keeps the clip's true
    heart rate (the synthetic ground truth), and the entry says which frames were held or dropped."""
    from common.report import validate_report
    from tests.tolerances import REPORT_TIME_SPACING_ATOL_S, SYNTH_PULSE_BPM_TOLERANCE

    path, truth, kept = variable_rate_clip
    report = run_detect(["--input", str(path), "--model", str(biological_checkpoint)], tmp_path / "r.json")
    assert validate_report(report) == []
    entry = report["detectors"][0]
    assert entry["status"] == "ok", entry.get("reason")
    window, signals = entry["window_scores"][0], entry["signals"]
    assert signals["hr_bpm"] == pytest.approx(truth.heart_rate_bpm, abs=SYNTH_PULSE_BPM_TOLERANCE), \
        "the pulse's heart rate is the clip's true one"
    times = np.asarray(signals["times_s"])
    np.testing.assert_allclose(np.diff(times), 1.0 / signals["fps"], atol=REPORT_TIME_SPACING_ATOL_S,
                               err_msg="an even time grid")
    shown = kept[np.asarray(signals["frame_indices"])] / 30.0       # when each sample's frame was filmed
    assert np.abs(shown - times).max() <= 1 / 15 / 2 + 1e-6, "each sample is the frame nearest its time"
    assert window["frames_held"] > 0 and window["frames_dropped"] > 0, window


def test_the_validator_accepts_a_held_frame_and_checks_the_sample_times(signal_report):
    import copy

    from common.report import validate_report

    report = copy.deepcopy(signal_report[0])
    signals = report["detectors"][1]["signals"]
    signals["frame_indices"][2] = signals["frame_indices"][1]     # a variable-rate window held a frame
    assert validate_report(report) == []
    signals["times_s"][5] = signals["times_s"][4]
    assert any("signals.times_s" in p and "strictly increasing" in p for p in validate_report(report))
    signals["times_s"][5] += 0.01
    signals["frame_indices"][3] = signals["frame_indices"][1] - 1
    assert any("signals.frame_indices" in p and "non-decreasing" in p for p in validate_report(report))
