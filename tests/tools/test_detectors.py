"""The detector interface: detectors of every kind read one face track, phase 1 scores unchanged.

Oracles: the video scores written by the phase-1-only ``detect_video.py`` before the interface
existed (commit f1271b4, same clips and checkpoint), counts of the frames that reach the decoder
and the face detector, and a clip detector's score worked by hand from the crop boxes in its
report (numpy frame differences, the logistic regression's known weights).
Runs on the reference solutions only (``pytest --solutions``).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from tests.tolerances import DETECTOR_INTERFACE_SCORE_ATOL, TOOLS_RESCORED_PROBABILITY_ATOL
from tests.tools.conftest import CLIP_DETECTOR_BIAS, CLIP_DETECTOR_FRAMES, CLIP_DETECTOR_WEIGHTS

pytestmark = pytest.mark.usefixtures("solutions_tree")

# detect_video.py --frames 8 with the tiny baseline, written by the phase-1 tool at commit f1271b4
SCORES_BEFORE_THE_INTERFACE = {"real": 0.5048066973686218, "fake": 0.5069046393036842,
                               "two_faces": 0.5069188550114632}


@pytest.mark.parametrize("clip", sorted(SCORES_BEFORE_THE_INTERFACE))
def test_phase1_video_scores_are_those_of_the_phase1_only_tool(clip_files, tiny_checkpoint, tmp_path, clip):
    """The old protocol (a frame's score is its most suspicious face, ``--face-policy max``) is kept."""
    from common.tools.detect import main

    output = tmp_path / f"{clip}.json"
    assert main(["--input", str(clip_files[clip].path), "--model", str(tiny_checkpoint), "--output", str(output),
                 "--frames", "8", "--face-policy", "max", "--device", "cpu", "--quiet"]) == 0
    report = json.loads(output.read_text())
    assert report["video_score"] == pytest.approx(SCORES_BEFORE_THE_INTERFACE[clip], abs=DETECTOR_INTERFACE_SCORE_ATOL), \
        f"{clip}: the phase-1 video score changed with the detector interface"


@pytest.fixture(scope="module")
def two_kinds(clip_files, tiny_checkpoint, clip_checkpoint, tmp_path_factory):
    """detect_video.py with a frame CNN and the frame-difference clip detector on the fake clip, once."""
    from common.tools.detect import main

    output = tmp_path_factory.mktemp("two_kinds") / "report.json"
    assert main(["--input", str(clip_files["fake"].path), "--model", str(tiny_checkpoint), "--model",
                 str(clip_checkpoint), "--output", str(output), "--frames", "8", "--device", "cpu", "--quiet"]) == 0
    return json.loads(output.read_text())


def test_a_cnn_and_a_clip_detector_run_in_one_call_and_the_report_validates(two_kinds):
    from common.report import validate_report

    assert validate_report(two_kinds) == [], "the two-detector report breaks schema version 2"
    kinds = {entry["name"]: entry["kind"] for entry in two_kinds["detectors"]}
    assert kinds == {"tiny_baseline": "frame", "flicker": "clip"}, f"detectors in the report: {kinds}"
    assert two_kinds["decided_by"] == "tiny_baseline", "the first --model decides the verdict"
    clip = two_kinds["detectors"][1]
    assert clip["status"] == "ok" and len(clip["window_scores"]) == 1, "the clip detector did not score its clip"
    # one clip of 8 frames in the middle of 24: frames 8..15, worked by hand
    assert (clip["window_scores"][0]["start"], clip["window_scores"][0]["stop"]) == (8, 15)
    indices = [frame["index"] for frame in two_kinds["frames"]]
    assert indices == [0, 3, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 19, 23], \
        "frames must be the union of 8 evenly spaced frames and the 8-frame clip"


def _frame_difference_score_by_hand(report: dict, video: Path, indices: list[int]) -> tuple[float, int]:
    """The clip detector's probability worked by hand: the crops of ``indices`` cut at the report's
    crop boxes, numpy frame differences, the logistic regression's known weights; and the crop count."""
    import cv2

    from common.video import sample_frames

    frames = {f["index"]: f for f in report["frames"]}
    decoded = sample_frames(video, indices=sorted(set(indices)))
    by_index = dict(zip(decoded.indices.tolist(), decoded.frames))
    crops = []
    for index in indices:
        x1, y1, x2, y2 = (int(round(v)) for v in frames[index]["faces"][0]["crop_box"])
        crops.append(cv2.resize(by_index[index][y1:y2, x1:x2], (64, 64), interpolation=cv2.INTER_AREA).astype(np.float64))
    energy = np.array([np.abs(b - a).mean() / 255.0 for a, b in zip(crops, crops[1:])])
    features = np.log10(np.array([energy.mean(), energy.std(), energy.max(), np.percentile(energy, 90)]) + 1e-4)
    logit = float(np.dot(CLIP_DETECTOR_WEIGHTS, features + 2.0) + CLIP_DETECTOR_BIAS)
    return 1.0 / (1.0 + math.exp(-logit)), len(crops)


def test_clip_score_equals_the_frame_difference_regression_worked_by_hand(two_kinds, clip_files):
    window = two_kinds["detectors"][1]["window_scores"][0]
    expected, n_crops = _frame_difference_score_by_hand(two_kinds, clip_files["fake"].path,
                                                        list(range(window["start"], window["stop"] + 1)))
    assert n_crops == CLIP_DETECTOR_FRAMES, "the fake clip has its face in every frame of the window"
    assert window["fake_probability"] == pytest.approx(expected, abs=TOOLS_RESCORED_PROBABILITY_ATOL), \
        "the clip score differs from the regression applied to the tracked face's frame differences"


def test_each_frame_is_decoded_once_and_goes_through_face_detection_once(clip_files, tiny_checkpoint,
                                                                         clip_checkpoint, monkeypatch):
    """Two detectors of different kinds: count every frame the decoder and MTCNN see."""
    from common import face_track
    from common.tools.detect import analyse_video, load_detectors, make_face_detector

    decoded: list[int] = []
    real_sample_frames = face_track.sample_frames

    def counting_sample_frames(path, *args, **kwargs):
        sampled = real_sample_frames(path, *args, **kwargs)
        decoded.extend(sampled.indices.tolist())
        return sampled

    monkeypatch.setattr(face_track, "sample_frames", counting_sample_frames)
    detectors = load_detectors([tiny_checkpoint, clip_checkpoint], "cpu", frames=8)
    face_detector = make_face_detector(detectors)
    detected: list[int] = []
    real_extract = face_detector.extract

    def counting_extract(frames, frame_indices=None):
        detected.extend(frame_indices)
        return real_extract(frames, frame_indices=frame_indices)

    face_detector.extract = counting_extract
    report = analyse_video(clip_files["fake"].path, detectors, face_detector=face_detector, tree="solutions")
    planned = [frame["index"] for frame in report["frames"]]
    assert sorted(decoded) == planned and len(set(decoded)) == len(decoded), "a frame was decoded twice, or not at all"
    assert sorted(detected) == planned and len(set(detected)) == len(detected), "a frame went through MTCNN twice"
    assert report["summary"]["frames_decoded"] == report["summary"]["frames_through_face_detector"] == len(planned)


def test_faces_keep_one_track_id_across_frames(two_kinds):
    ids = {face["track_id"] for frame in two_kinds["frames"] for face in frame["faces"]}
    assert ids == {0}, f"one person in the clip should be one track, got track ids {sorted(ids)}"


def test_a_clip_detector_on_a_video_without_faces_says_so(clip_files, clip_checkpoint, tmp_path):
    from common.report import validate_report
    from common.tools.detect import main

    output = tmp_path / "no_face.json"
    assert main(["--input", str(clip_files["no_face"].path), "--model", str(clip_checkpoint), "--output", str(output),
                 "--device", "cpu", "--quiet"]) == 0
    report = json.loads(output.read_text())
    assert validate_report(report) == [], "the report breaks the schema"
    entry = report["detectors"][0]
    assert entry["status"] == "no_face" and entry["reason"] and report["verdict"] == "NO_FACE", \
        "a clip detector that saw no face must say NO_FACE and why"


def test_an_unresized_crop_spec_cuts_the_square_at_its_own_size(clip_files):
    """Spectral detectors need the face without resampling: CropSpec(size=None) is the raw square."""
    from common.face_track import CropSpec

    frame = clip_files["real"].frames[0]
    box = clip_files["real"].boxes[0, 0]
    crop = CropSpec(None, 1.3).cut(frame, box, np.zeros((5, 2)))
    # the square worked by hand as in task 1.1: side round(1.3 * longer side), centred, kept inside
    side = min(int(np.floor(1.3 * max(box[2] - box[0], box[3] - box[1]) + 0.5)), 128)
    assert crop.shape == (side, side, 3), f"an un-resized crop should be {side} px square, got {crop.shape}"
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    x1 = min(max(int(np.floor(cx - side / 2 + 0.5)), 0), 128 - side)
    y1 = min(max(int(np.floor(cy - side / 2 + 0.5)), 0), 128 - side)
    np.testing.assert_array_equal(crop, frame[y1:y1 + side, x1:x1 + side], err_msg="the crop was resampled")


def test_visualize_draws_a_report_without_frame_detector_with_grey_boxes(clip_files, clip_checkpoint, tmp_path):
    from common.tools.detect import main as detect
    from common.tools.visualize import drawing_report, main as visualize

    report_path = tmp_path / "clip_only.json"
    assert detect(["--input", str(clip_files["real"].path), "--model", str(clip_checkpoint), "--output",
                   str(report_path), "--device", "cpu", "--quiet"]) == 0
    report = json.loads(report_path.read_text())
    drawn = drawing_report(report)
    assert [f["index"] for f in drawn["frames"]] == list(range(8, 16)), "every frame of the clip is drawn"
    assert all(face["fake_probability"] is None for f in drawn["frames"] for face in f["faces"]), \
        "a clip detector scores no single face: boxes must stay unscored"
    output = tmp_path / "clip_only.mp4"
    assert visualize(["--video", str(clip_files["real"].path), "--predictions", str(report_path),
                      "--output", str(output), "--min-side", "0"]) == 0
    assert output.stat().st_size > 0


def test_a_spectral_detector_scores_each_face_at_its_own_size(clip_files):
    """The spectral kind cuts the square crop without resizing and scores its feature vector."""
    import torch

    from common import exercises
    from common.detectors import SpectralDetector
    from common.face_track import FramePlan, build_track
    from common.preprocessing import Preprocessing
    from common.registry import Model
    from tests.tools.spectral_stub import TwoWeights, side_and_brightness

    row = Model("stub_spectral", kind="spectral", file="spectral_stub.py", builder="TwoWeights", input_size=64,
                mean=(0.0,) * 3, std=(1.0,) * 3, features="side_and_brightness", phase="tests.tools")

    class _Checkpoint:
        architecture, threshold, created, metrics, extra = "stub_spectral", 0.5, "now", {}, {}

    detector = SpectralDetector(name="stub", row=row, model=TwoWeights().eval(), checkpoint=_Checkpoint(),
                                checkpoint_path=Path("stub.pt"), sha256="0" * 64, device=torch.device("cpu"),
                                prep=Preprocessing(64, (0.0,) * 3, (1.0,) * 3), frames=4)
    extractor = exercises.face_extractor("cpu", select="all")
    track = build_track(clip_files["real"].path, [detector.frame_plan()], [detector.crop_spec()], extractor)
    result = detector.run(track)
    first = next(frame for frame in track.frames_at(FramePlan("spaced", count=4).indices(24, 25.0)) if frame.faces)
    crop = first.faces[0].crops[detector.crop_spec()]
    x1, y1, x2, y2 = first.faces[0].crop_box
    assert crop.shape[0] == crop.shape[1] == round(x2 - x1) == round(y2 - y1), "the crop was resized"
    side, brightness = side_and_brightness(crop)
    expected = 1 / (1 + np.exp(-(1.5 * side - 2.0 * brightness + 0.25)))
    entry = next(e for e in result.frame_scores if e["index"] == first.index)
    assert entry["fake_probability"] == pytest.approx(expected, abs=1e-6)


FAST_FPS = 50.0


@pytest.fixture(scope="module")
def fast_clip(tools_dir) -> Path:
    """The fake clip's scene filmed at 50 fps: 48 frames, 0.96 s."""
    from common.synthetic import make_clip
    from common.video import write_video
    from tests.tools.conftest import CLIP_SIZE, TEST_IDENTITIES

    fake = make_clip("FaceSwap", seed=102, n_frames=48, size=CLIP_SIZE, fps=FAST_FPS, identity=TEST_IDENTITIES[1],
                     source_identity=TEST_IDENTITIES[0])
    return write_video(tools_dir / "clips" / "fake_50fps.mp4", fake.frames, fps=FAST_FPS)


def _clip_report(video: Path, checkpoint: Path, output: Path) -> dict:
    from common.report import validate_report
    from common.tools.detect import main

    assert main(["--input", str(video), "--model", str(checkpoint), "--output", str(output), "--device", "cpu",
                 "--quiet"]) == 0
    report = json.loads(output.read_text())
    assert validate_report(report) == []
    return report


def test_a_clip_is_read_at_the_rate_the_detector_was_trained_at(fast_clip, rated_clip_checkpoint, tmp_path):
    """A 25-fps clip detector on a 50-fps video reads every other frame: 8 samples 40 ms apart,
    frames 16, 18, ..., 30 of 48 (the middle 15 frames), worked by hand; its score is the regression
    on those frames' differences, not on 8 consecutive frames' (half the motion per step)."""
    report = _clip_report(fast_clip, rated_clip_checkpoint, tmp_path / "fast.json")
    window = report["detectors"][0]["window_scores"][0]
    assert (window["start"], window["stop"], window["frames"], window["frame_step"]) == (16, 30, 8, 2)
    assert report["detectors"][0]["frame_plan"]["rate"] == 25.0
    expected, n_crops = _frame_difference_score_by_hand(report, fast_clip, list(range(16, 31, 2)))
    assert n_crops == 8 and window["fake_probability"] == pytest.approx(expected, abs=TOOLS_RESCORED_PROBABILITY_ATOL), \
        "the clip was not read at 25 fps"


def test_a_clip_of_a_variable_rate_video_is_read_by_the_frames_times(rated_clip_checkpoint, tools_dir, tmp_path):
    """The fake clip filmed by a phone at 30 fps for 0.5 s, then 60 fps: the 25-fps detector reads
    frames 14, 15, 17, ..., 27 (worked by hand in tests/tools/test_temporal_detectors.py), lists the
    steps, and its score is the regression on those frames' differences."""
    from tests.tools.conftest import TEST_IDENTITIES, phone_clip

    video = phone_clip(tools_dir / "clips" / "fake_phone.mp4", "FaceSwap", seed=102, identity=TEST_IDENTITIES[1],
                       source_identity=TEST_IDENTITIES[0])
    report = _clip_report(video, rated_clip_checkpoint, tmp_path / "phone.json")
    window = report["detectors"][0]["window_scores"][0]
    frames = [14, 15, 17, 19, 21, 23, 25, 27]
    assert (window["start"], window["stop"], window["frames"], window["frame_steps"]) == (14, 27, 8, [1] + [2] * 6)
    assert "frame_step" not in window, "a variable-rate clip has no one step"
    expected, n_crops = _frame_difference_score_by_hand(report, video, frames)
    assert n_crops == 8 and window["fake_probability"] == pytest.approx(expected, abs=TOOLS_RESCORED_PROBABILITY_ATOL)


def test_a_clip_at_the_training_rate_and_an_older_checkpoint_read_consecutive_frames(
        clip_files, fast_clip, clip_checkpoint, rated_clip_checkpoint, two_kinds, tmp_path):
    """At the training rate (a 25-fps video) the clip is consecutive frames: the same frames and score
    as a checkpoint saved before clips had a rate, which reads consecutive frames at any rate (as it
    was trained)."""
    rated = _clip_report(clip_files["fake"].path, rated_clip_checkpoint, tmp_path / "rated.json")
    window, before = rated["detectors"][0]["window_scores"][0], two_kinds["detectors"][1]["window_scores"][0]
    assert (window["start"], window["stop"], window["frame_step"]) == (8, 15, 1)
    assert window["fake_probability"] == pytest.approx(before["fake_probability"], abs=DETECTOR_INTERFACE_SCORE_ATOL)
    old = _clip_report(fast_clip, clip_checkpoint, tmp_path / "old.json")["detectors"][0]["window_scores"][0]
    assert (old["start"], old["stop"], old["frames"]) == (20, 27, 8) and "frame_step" not in old
