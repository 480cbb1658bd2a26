"""Phase 2's detectors in the shared engine and detect_video.py: clip layouts, a frozen encoder
trained head-only, and the dense flow the flow detector reads.

Oracles: ground-truth motions of synthetic textures (Farneback's flow), hand-worked padding,
the recurrent layer run on each clip without padding, and the test metrics train.py stored.
Runs on the reference solutions only (``pytest --solutions``).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.phase2.flow_textures import moved, smooth_texture, translation, true_flow
from tests.tolerances import FLOAT32_KERNEL, FLOW_VS_TRUTH_PX

pytestmark = pytest.mark.usefixtures("solutions_tree")

TINY_TEMPORAL_BENCHMARK = dict(n_clips=12, seed=0, n_frames=8, size=96, methods=["TemporalFlicker"])


@pytest.mark.parametrize("matrix", [translation(1.5, -0.75), translation(-2.2, 0.4),
                                    np.vstack([np.array([[1.0, 0, 0], [0, 1.0, 0]])])], ids=["shift", "shift2", "still"])
def test_farneback_flow_of_a_shifted_texture_is_within_a_tenth_of_a_pixel(matrix):
    from phase2_temporal_analysis.template_optical_flow import dense_flow

    texture = smooth_texture(seed=0)
    error = np.linalg.norm(dense_flow(texture, moved(texture, matrix)) - true_flow(matrix, 128), axis=-1)
    assert np.median(error[16:112, 16:112]) < FLOW_VS_TRUTH_PX


def test_farneback_flow_of_a_rotated_texture_is_within_a_tenth_of_a_pixel():
    import cv2

    from phase2_temporal_analysis.template_optical_flow import dense_flow

    texture = smooth_texture(seed=0)
    matrix = cv2.getRotationMatrix2D((64.0, 64.0), 2.0, 1.0)  # up to 2.2 px at the window's corners
    error = np.linalg.norm(dense_flow(texture, moved(texture, matrix)) - true_flow(matrix, 128), axis=-1)
    assert np.median(error[24:104, 24:104]) < FLOW_VS_TRUTH_PX


def _prep(n_frames=6, size=8):
    from common.preprocessing import Preprocessing

    return Preprocessing(size=size, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), scale=1.3, n_frames=n_frames)


def test_sequence_clips_are_zero_padded_with_their_length_and_volumes_mirror_padded():
    from common.detectors import clip_input, mirror_indices
    from common.models import get_spec

    assert mirror_indices(3, 7).tolist() == [0, 1, 2, 1, 0, 1, 2]
    assert mirror_indices(1, 3).tolist() == [0, 0, 0]
    crops = np.stack([np.full((8, 8, 3), 255 * t // 3, dtype=np.uint8) for t in range(4)])  # 4 real frames
    frames, length = clip_input(get_spec("lstm"), _prep(), crops)
    assert frames.shape == (6, 3, 8, 8) and int(length) == 4
    assert torch.all(frames[4:] == 0), "padding after the real frames"
    np.testing.assert_allclose(frames[:4, 0, 0, 0].numpy(), [(255 * t // 3) / 127.5 - 1 for t in range(4)], rtol=1e-6)
    volume = clip_input(get_spec("c3d"), _prep(), crops)
    assert volume.shape == (3, 6, 8, 8), "(channels, time, height, width)"
    np.testing.assert_allclose(volume[0, :, 0, 0].numpy(), [(255 * t // 3) / 127.5 - 1 for t in (0, 1, 2, 3, 2, 1)],
                               rtol=1e-6)


def test_a_sequence_detector_scores_padded_clips_as_it_scores_them_alone():
    from common.detectors import ClipDetector, clip_input, stack_inputs
    from common.models import build_model, get_spec

    torch.manual_seed(0)
    model = build_model("gru", backbone="resnet50", hidden=8, layers=1).eval()
    row, prep = get_spec("gru"), _prep(n_frames=6, size=32)
    rng = np.random.default_rng(0)
    clips = [rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8) for n in (6, 3, 5)]
    detector = ClipDetector(name="gru", row=row, model=model, checkpoint=None, checkpoint_path=Path("gru.pt"),
                            sha256="", device=torch.device("cpu"), prep=prep, frames=6)
    batched = detector.predict(stack_inputs([clip_input(row, prep, clip) for clip in clips]))
    with torch.no_grad():
        alone = [torch.sigmoid(model(prep.normalise(clip, "cpu")[None], torch.tensor([len(clip)]))).item()
                 for clip in clips]
    np.testing.assert_allclose(batched, alone, **FLOAT32_KERNEL)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    """phase2 train.py: the LSTM (frozen encoder, head trained) and the C3D on one tiny benchmark."""
    from common.synthetic import write_benchmark
    from common.tools.train import main

    root = tmp_path_factory.mktemp("phase2_seq") / "mini-forensics"
    write_benchmark(root, progress=False, **TINY_TEMPORAL_BENCHMARK)
    output = tmp_path_factory.mktemp("phase2_seq_run")
    for model in ("lstm", "c3d"):
        assert main(["--dataset", "synthetic", "--data-root", str(root), "--model", model, "--frames", "8",
                     "--image-size", "32", "--epochs", "2", "--batch-size", "4", "--device", "cpu",
                     "--output-dir", str(output), "--quiet", "--solutions"], phase="phase2_temporal_analysis") == 0
    return root, output


def test_a_head_trained_detector_saves_the_whole_network_and_evaluate_reproduces_it(trained):
    from common.checkpoint import load_checkpoint
    from common.tools.evaluate import main

    root, output = trained
    checkpoint = load_checkpoint(output / "lstm_best.pt", expected_architecture="lstm")
    assert any(key.startswith("encoder.") for key in checkpoint.state_dict), "the frozen encoder is in the checkpoint"
    assert any(key.startswith("head.rnn.") for key in checkpoint.state_dict)
    assert not list(output.glob(".*_head.pt")), "the head-only checkpoint of training is removed"
    assert checkpoint.extra["preprocessing"]["clip_fps"] == 25.0, "the rate its clips are read at is stored"
    assert main(["--checkpoint", str(output / "lstm_best.pt"), "--test-data", str(root), "--device", "cpu",
                 "--output-dir", str(output / "eval_lstm"), "--quiet", "--solutions"],
                phase="phase2_temporal_analysis") == 0
    metrics = json.loads((output / "eval_lstm" / "metrics.json").read_text())
    stored = checkpoint.extra["test_metrics"]
    assert metrics["video"]["log_loss"] == pytest.approx(stored["video"]["log_loss"], abs=1e-6)


def test_detect_video_runs_a_sequence_and_a_3d_detector_on_one_decode(trained, tmp_path):
    from common.report import validate_report
    from common.synthetic import make_clip
    from common.tools.detect import main
    from common.video import write_video

    _, output = trained
    clip = make_clip("TemporalFlicker", seed=5, n_frames=12, size=96)
    video = write_video(tmp_path / "flicker.mp4", clip.frames, fps=25.0)
    report_path = tmp_path / "report.json"
    assert main(["--input", str(video), "--model", str(output / "lstm_best.pt"), "--model", str(output / "c3d_best.pt"),
                 "--output", str(report_path), "--device", "cpu", "--quiet", "--solutions"]) == 0
    report = json.loads(report_path.read_text())
    assert validate_report(report) == []
    for entry in report["detectors"]:
        assert entry["kind"] == "clip" and entry["status"] == "ok", entry.get("reason")
        window = entry["window_scores"][0]
        assert window["stop"] - window["start"] + 1 == 8 and 0.0 <= window["fake_probability"] <= 1.0


def test_clips_flag_scores_the_video_over_time(trained, tmp_path):
    from common.synthetic import make_clip
    from common.tools.detect import main
    from common.video import write_video

    _, output = trained
    clip = make_clip("real", seed=6, n_frames=40, size=96)
    video = write_video(tmp_path / "real.mp4", clip.frames, fps=25.0)
    report_path = tmp_path / "report.json"
    assert main(["--input", str(video), "--model", str(output / "c3d_best.pt"), "--clips", "3", "--output",
                 str(report_path), "--device", "cpu", "--quiet", "--solutions"]) == 0
    entry = json.loads(report_path.read_text())["detectors"][0]
    windows = entry["window_scores"]
    # 40 frames, 3 clips of 8 evenly spread: starts 0, 16, 32 (sample_indices over the 33 possible starts)
    assert [(w["start"], w["stop"]) for w in windows] == [(0, 7), (16, 23), (32, 39)]
    raw = entry["raw_video_score"] if entry["raw_video_score"] is not None else entry["video_score"]
    assert raw == pytest.approx(np.mean([w["fake_probability"] for w in windows]), abs=1e-9), \
        "the video score is the mean of its clips' scores"


def test_training_caches_the_clip_a_detector_reads_at_its_rate(tmp_path):
    """Training reads what detection reads: a 50-fps video's cached clip for a 25-fps detector is
    every other frame (8 samples: frames 16, 18, ..., 30 of 48), and the cache's settings hold the rate."""
    from common.datasets import VideoRecord
    from common.engine import cache_faces
    from common.models import get_spec
    from common.preprocessing import model_preprocessing
    from common.synthetic import make_clip
    from common.torch_data import read_face_cache
    from common.video import write_video

    clip = make_clip("real", seed=3, n_frames=48, size=128, fps=50.0)
    record = VideoRecord(write_video(tmp_path / "fast.mp4", clip.frames, fps=50.0), 0, "real", "person", None, "train")
    row = get_spec("temporal_features")
    cache_dir, _ = cache_faces(row, model_preprocessing(row, n_frames=8), [record], tmp_path / "cache", progress=False)
    cache = read_face_cache(next(cache_dir.glob("*.npz")))
    assert cache.frame_indices.tolist() == list(range(16, 31, 2))
    assert cache.meta["settings"]["plan"]["rate"] == 25.0


def test_a_clip_of_a_variable_rate_video_is_cached_by_the_frames_times(tmp_path):
    """A phone's clip at 30 fps for 0.5 s, then 60 fps (57 frames, 1.18 s): the 25-fps clip of 8 is
    frames 14, 15, 17, ..., 27 (worked by hand: it starts at 0.467 s, nearest 0.14 s before the
    middle 0.592 s, and steps to the later frame nearest 40 ms on: +1 across the change of rate, then
    +2). Training caches exactly those (detection reads the same: tests/tools/test_detectors.py); by
    the average rate (47.3 fps, stride 2) it would cache frames 21-35."""
    from common.datasets import VideoRecord
    from common.engine import cache_faces
    from common.models import get_spec
    from common.preprocessing import model_preprocessing
    from common.torch_data import read_face_cache
    from tests.tools.conftest import phone_clip

    record = VideoRecord(phone_clip(tmp_path / "phone.mp4", "real", seed=3), 0, "real", "person", None, "train")
    row = get_spec("temporal_features")
    cache_dir, _ = cache_faces(row, model_preprocessing(row, n_frames=8), [record], tmp_path / "cache", progress=False)
    cache = read_face_cache(next(cache_dir.glob("*.npz")))
    assert cache.frame_indices.tolist() == [14, 15, 17, 19, 21, 23, 25, 27]
    assert cache.meta["settings"]["clip_steps"] == "by the frames' times"
