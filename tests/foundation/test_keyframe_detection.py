"""Face detection on keyframes with interpolation between them (``build_track(detect_every=K)``).

Oracles: a scripted face detector whose faces move on known straight lines (so the interpolated
boxes must equal the true ones exactly), worked examples, and, on a real generated clip, MTCNN run
on every frame (the interpolated boxes must stay within a stated IoU of it).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from tests.tolerances import KEYFRAME_MIN_IOU


@dataclass
class _Face:
    box: np.ndarray
    landmarks: np.ndarray
    probability: float = 0.99


@dataclass
class _Result:
    frame_index: int
    faces: list = field(default_factory=list)


class ScriptedDetector:
    """``extract`` returns the faces ``script(frame_index)`` gives, and records which frames it saw."""

    def __init__(self, script):
        self.script, self.seen = script, []

    def extract(self, frames, frame_indices):
        assert len(frames) == len(frame_indices)
        self.seen += list(frame_indices)
        return [_Result(i, [_Face(np.asarray(b, float), _points(b)) for b in self.script(i)]) for i in frame_indices]


def _points(box) -> np.ndarray:
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    return np.array([[x1 + 0.3 * w, y1 + 0.4 * h], [x1 + 0.7 * w, y1 + 0.4 * h], [x1 + 0.5 * w, y1 + 0.6 * h],
                     [x1 + 0.35 * w, y1 + 0.8 * h], [x1 + 0.65 * w, y1 + 0.8 * h]])


def _moving(index: int) -> list[list[float]]:
    """One face sliding 2 px right and 1 px down per frame."""
    return [[10.0 + 2 * index, 20.0 + index, 70.0 + 2 * index, 80.0 + index]]


def test_keyframes_are_video_frame_numbers_worked_by_hand():
    from common.face_track import frames_with_anchors, is_keyframe, keyframe_anchors, keyframe_chunks

    assert [i for i in range(10) if is_keyframe(i, 4, 9)] == [0, 4, 8, 9]
    assert [i for i in range(9) if is_keyframe(i, 4, 8)] == [0, 4, 8]
    assert all(is_keyframe(i, 1, 2) for i in range(3))
    assert keyframe_anchors(6, 4, 9) == (4, 8) and keyframe_anchors(9, 4, 9) == (9, 9)
    assert keyframe_anchors(9, 4, 10) == (8, 10) and keyframe_anchors(13, 8, 20) == (8, 16)
    assert frames_with_anchors(np.array([5, 6, 12]), 4, 99).tolist() == [4, 5, 6, 8, 12]
    assert frames_with_anchors(np.array([5, 6, 12]), 1, 99).tolist() == [5, 6, 12]
    chunks = keyframe_chunks(np.arange(9), 4, 8, 2)
    assert [c.tolist() for c in chunks] == [[0, 1, 2, 3, 4], [5, 6, 7, 8]]


def test_interpolate_face_halfway_worked_by_hand():
    from common.face_track import KeyframeFace, interpolate_face

    a = KeyframeFace(np.array([0.0, 0, 10, 10]), np.zeros((5, 2)), 0.99)
    b = KeyframeFace(np.array([10.0, 0, 20, 10]), np.full((5, 2), 4.0), 0.95)
    middle = interpolate_face(a, b, 0.5)
    np.testing.assert_allclose(middle.box, [5, 0, 15, 10])
    np.testing.assert_allclose(middle.landmarks, np.full((5, 2), 2.0))
    assert middle.probability == 0.95 and middle.interpolated


def test_linear_motion_is_interpolated_exactly_and_only_keyframes_are_detected():
    from common.face_track import detect_on_keyframes

    indices = np.arange(100, 116)
    detector = ScriptedDetector(_moving)
    faces, ran = detect_on_keyframes(detector, np.zeros((16, 4, 4, 3), np.uint8), indices, every=4, last=115)
    assert detector.seen == [100, 104, 108, 112, 115] and ran == 5
    for index, found in zip(indices, faces):
        assert len(found) == 1
        np.testing.assert_allclose(found[0].box, _moving(index)[0], atol=1e-9)
        np.testing.assert_allclose(found[0].landmarks, _points(_moving(index)[0]), atol=1e-9)
        assert found[0].interpolated == (index not in (100, 104, 108, 112, 115))


def test_uneven_frame_spacing_interpolates_in_frame_numbers_not_positions():
    from common.face_track import detect_on_keyframes

    indices = np.array([0, 3, 4])  # keyframes 0 and 4: frame 3 lies 3/4 of the way, not half
    faces, _ = detect_on_keyframes(ScriptedDetector(_moving), np.zeros((3, 4, 4, 3), np.uint8), indices, every=4)
    np.testing.assert_allclose(faces[1][0].box, _moving(3)[0])


def test_a_frame_whose_keyframes_are_not_in_the_chunk_is_detected():
    from common.face_track import detect_on_keyframes

    detector = ScriptedDetector(_moving)
    faces, ran = detect_on_keyframes(detector, np.zeros((3, 4, 4, 3), np.uint8), np.array([0, 10, 20]), every=4)
    assert sorted(detector.seen) == [0, 10, 20] and ran == 3 and not faces[1][0].interpolated


def test_a_keyframe_from_the_previous_chunk_is_used_not_detected_again():
    from common.face_track import detect_on_keyframes

    known: dict = {}
    detector = ScriptedDetector(_moving)
    # frame 3 has no keyframe 0 in its chunk: it is detected
    detect_on_keyframes(detector, np.zeros((2, 4, 4, 3), np.uint8), np.array([3, 4]), every=4, known=known)
    faces, ran = detect_on_keyframes(detector, np.zeros((2, 4, 4, 3), np.uint8), np.array([6, 8]), every=4,
                                     known=known)
    assert detector.seen == [4, 3, 8] and ran == 1 and faces[0][0].interpolated
    np.testing.assert_allclose(faces[0][0].box, _moving(6)[0])


def test_a_face_that_appears_between_keyframes_is_detected_not_guessed():
    from common.face_track import detect_on_keyframes

    def script(index):  # a second person walks in at frame 6
        return _moving(index) + ([[300.0, 40, 360, 100]] if index >= 6 else [])

    detector = ScriptedDetector(script)
    faces, ran = detect_on_keyframes(detector, np.zeros((12, 4, 4, 3), np.uint8), np.arange(12), every=4,
                                     last=11)
    assert [len(f) for f in faces] == [len(script(i)) for i in range(12)]
    assert sorted(detector.seen) == [0, 4, 5, 6, 7, 8, 11] and ran == 7, \
        "frames 5-7 lie between keyframes that disagree (1 face, then 2): they must be detected"
    assert not any(face.interpolated for face in faces[5] + faces[6] + faces[7])
    assert all(face.interpolated for face in faces[9] + faces[10]), "8 and 11 agree: 9 and 10 are interpolated"


def test_a_face_that_jumps_is_detected_between_keyframes():
    from common.face_track import detect_on_keyframes

    def script(index):  # a cut: the face is elsewhere from frame 3 on
        return [[10.0, 10, 70, 70]] if index < 3 else [[200.0, 10, 260, 70]]

    detector = ScriptedDetector(script)
    faces, _ = detect_on_keyframes(detector, np.zeros((5, 4, 4, 3), np.uint8), np.arange(5), every=4, last=4)
    assert sorted(detector.seen) == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(faces[2][0].box, [10, 10, 70, 70])


def test_every_one_detects_every_frame():
    from common.face_track import detect_on_keyframes

    detector = ScriptedDetector(_moving)
    faces, ran = detect_on_keyframes(detector, np.zeros((6, 4, 4, 3), np.uint8), np.arange(6), every=1)
    assert detector.seen == list(range(6)) and ran == 6
    assert not any(face.interpolated for frame in faces for face in frame)


@pytest.fixture(scope="module")
def talking_head(tmp_path_factory):
    """A real-photograph talking head of 40 frames (mini-forensics), head motion included."""
    from common.synthetic import make_clip
    from common.video import write_video

    clip = make_clip("real", seed=5, n_frames=40, size=160)
    path = tmp_path_factory.mktemp("keyframes") / "head.mp4"
    write_video(path, clip.frames, fps=25.0)
    return path


def test_on_a_real_clip_interpolated_boxes_stay_close_to_per_frame_mtcnn(talking_head):
    """MTCNN on every 4th frame + interpolation against MTCNN on every frame: same faces, IoU >= the bound."""
    from common import exercises
    from common.face_track import CropSpec, FramePlan, box_overlap, build_track

    extractor = exercises.face_extractor("cpu", size=64, select="all")
    plan, spec = FramePlan("window", seconds=1.6), CropSpec(64, 1.3)
    every_frame = build_track(talking_head, [plan], [spec], extractor)
    keyframes = build_track(talking_head, [plan], [spec], extractor, detect_every=4)
    assert keyframes.frames_detected < every_frame.frames_detected / 2
    assert keyframes.faces_interpolated > 0 and keyframes.settings["detect_every"] == 4
    overlaps = [box_overlap(a.faces[0].box, b.faces[0].box)
                for a, b in zip(every_frame.frames, keyframes.frames) if a.faces and b.faces]
    assert [f.status for f in every_frame.frames] == [f.status for f in keyframes.frames]
    assert min(overlaps) >= KEYFRAME_MIN_IOU, f"lowest IoU {min(overlaps):.3f}"
    assert all(b.faces[0].crops[spec].shape == (64, 64, 3) for b in keyframes.frames if b.faces)


def _curving(index: int) -> list[list[float]]:
    """One face on a parabola: interpolation between keyframes is close to it but not exact, so
    which keyframes a frame was interpolated between shows in its box."""
    x = 10.0 + 0.02 * index ** 2
    return [[x, 20.0, x + 60.0, 80.0]]


def _expected_box(index: int, every: int, last: int) -> np.ndarray:
    """By hand: the box on the straight line between the multiples of ``every`` around ``index``."""
    left = index // every * every
    right = min(left + every, last)
    if index in (left, last):
        return np.asarray(_curving(index)[0])
    weight = (index - left) / (right - left)
    return (1 - weight) * np.asarray(_curving(left)[0]) + weight * np.asarray(_curving(right)[0])


def test_a_frames_face_does_not_depend_on_the_other_plans_sharing_the_track(talking_head):
    """The defect this guards against: keyframes were every K-th *planned* frame, so adding a
    detector to a run moved the other detectors' keyframes, hence their faces and their scores."""
    from common.face_track import CropSpec, FramePlan, build_track

    plans = {"clip": FramePlan("contiguous", count=6), "spaced": FramePlan("spaced", count=5),
             "window": FramePlan("window", seconds=0.6)}
    spec = CropSpec(32, 1.3)
    shared = build_track(talking_head, list(plans.values()), [spec], ScriptedDetector(_curving), detect_every=8)
    last = shared.info.frame_count - 1
    for name, plan in plans.items():
        alone = build_track(talking_head, [plan], [spec], ScriptedDetector(_curving), detect_every=8)
        wanted = plan.indices(alone.info.frame_count, alone.info.fps, 8).tolist()
        assert [f.index for f in alone.frames] == wanted, "keyframes decoded only to interpolate are not in the track"
        for index in wanted:
            expected = _expected_box(index, 8, last)
            np.testing.assert_allclose(alone.frames_at([index])[0].faces[0].box, expected, atol=0.01, err_msg=name)
            np.testing.assert_allclose(shared.frames_at([index])[0].faces[0].box, expected, atol=0.01, err_msg=name)
    assert any(face.interpolated for frame in shared.frames for face in frame.faces)


def test_spaced_frames_further_apart_than_k_move_to_keyframes_worked_by_hand():
    from common.face_track import FramePlan, snap_to_keyframes

    assert snap_to_keyframes(np.array([0, 33, 66, 99]), 8, 99).tolist() == [0, 32, 64, 99]
    assert snap_to_keyframes(np.array([0, 10, 20, 29, 39]), 8, 39).tolist() == [0, 8, 24, 32, 39]
    assert snap_to_keyframes(np.array([0, 5, 10]), 8, 10).tolist() == [0, 5, 10], "closer than K: interpolated"
    assert snap_to_keyframes(np.array([0, 33, 66, 99]), 1, 99).tolist() == [0, 33, 66, 99]
    assert FramePlan("spaced", count=4).indices(100, 25.0, 8).tolist() == [0, 32, 64, 99]
    assert FramePlan("spaced", count=4).indices(100, 25.0).tolist() == [0, 33, 66, 99]


def test_sparse_frames_cost_no_more_detections_than_every_frame(talking_head):
    from common.face_track import CropSpec, FramePlan, build_track

    plan, spec = FramePlan("spaced", count=5), CropSpec(32, 1.3)
    every = build_track(talking_head, [plan], [spec], ScriptedDetector(_curving))
    detector = ScriptedDetector(_curving)
    keyframes = build_track(talking_head, [plan], [spec], detector, detect_every=8)
    assert keyframes.frames_detected == every.frames_detected == 5
    assert sorted(detector.seen) == [0, 8, 16, 32, 39] and keyframes.detect_every == 8  # 0, 9, 19, 29, 39 snapped


def test_a_50_fps_video_is_detected_every_k_frames_of_25_fps(tmp_path):
    """--detect-every 8 on a 50-fps video runs the face detector on frames 0, 16, 32, ... (every
    0.32 s, as on a 25-fps video): the interpolation a clip detector reads spans the time it spanned
    in training. The track records both K and the step it used."""
    from common.face_track import CropSpec, FramePlan, build_track
    from common.video import write_video

    def slow(index: int) -> list[list[float]]:  # keyframes 16 frames apart still overlap (IoU 0.77)
        return [[10.0 + 0.25 * index, 20.0 + 0.25 * index, 70.0 + 0.25 * index, 80.0 + 0.25 * index]]

    path = write_video(tmp_path / "fast.mp4", [np.zeros((96, 96, 3), np.uint8)] * 40, fps=50.0)
    detector = ScriptedDetector(slow)
    track = build_track(path, [FramePlan("window", seconds=0.8)], [CropSpec(32, 1.3)], detector, detect_every=8)
    assert sorted(set(detector.seen)) == [0, 16, 32, 39]
    assert (track.detect_every, track.keyframe_step) == (8, 16)
    np.testing.assert_allclose(track.frames_at([8])[0].faces[0].box, slow(8)[0], atol=0.01,
                               err_msg="a linear motion is interpolated exactly between 0 and 16")


PHONE_TIMES = np.concatenate([np.arange(60) / 30, 2 + np.arange(30) / 15])
"""A phone's 30-fps stretch for 2 s (frames 0-59), then 15 fps (frames 60-89, up to 3.93 s)."""
PHONE_KEYFRAMES = [0, 10, 19, 29, 38, 48, 58, 64, 68, 73, 78, 83, 88, 89]
"""--detect-every 8 on it, worked by hand: the frame nearest each 0.32 s (0.333, 0.633, 0.967, ... s; at
15 fps 2.24 s lies between frames 63 at 2.2 s and 64 at 2.267 s: 64), and the last frame."""


def test_keyframes_of_a_variable_rate_video_are_chosen_by_time_worked_by_hand():
    """On a variable-rate video the keyframes stay 0.32 s apart (10 frames at 30 fps, about 5 at 15),
    where every round(8 x 22.6 / 25) = 7 frames would put them 0.23 s apart in the 30-fps stretch and
    0.47 s in the 15-fps one; a face between two of them is placed by time; spaced frames snap to
    them. A constant-rate video's times change nothing."""
    from common.face_track import FramePlan, Keyframes, frames_with_anchors, is_keyframe

    keyframes = Keyframes.of_video(8, 89 / PHONE_TIMES[-1], 89, PHONE_TIMES)
    assert keyframes.by_time and keyframes.numbers.tolist() == PHONE_KEYFRAMES
    assert [i for i in range(90) if is_keyframe(i, keyframes, 89)] == PHONE_KEYFRAMES
    assert keyframes.anchors(60) == (58, 64) and keyframes.anchors(64) == (64, 64)
    assert keyframes.weight(60, 58, 64) == pytest.approx((2.0 - 58 / 30) / (2 + 4 / 15 - 58 / 30)), \
        "frame 60 (2.0 s) lies a fifth of the way from 1.933 s to 2.267 s, not a third (by frame number)"
    assert frames_with_anchors(np.array([60, 61]), keyframes, 89).tolist() == [58, 60, 61, 64]
    assert FramePlan("spaced", count=4).indices(90, 22.6, keyframes).tolist() == [0, 29, 58, 89]
    steady = Keyframes.of_video(8, 25.0, 99, np.arange(100) / 25)
    assert not steady.by_time and [i for i in range(100) if steady.contains(i)] == [0, 8, 16, 24, 32, 40, 48, 56,
                                                                                   64, 72, 80, 88, 96, 99]


def test_a_variable_rate_video_is_detected_every_k_25ths_of_a_second(tmp_path):
    """build_track on the phone's video with --detect-every 8 runs the face detector on the keyframes
    chosen by time, and a face moving steadily in time is interpolated exactly where the rate changes
    (frame 60 at 2.0 s, between keyframes 58 and 64); the track says its keyframes are by time."""
    from common.face_track import CropSpec, FramePlan, build_track
    from common.video import write_video

    def steady_in_time(index: int) -> list[list[float]]:  # 12 px a second, whatever the frame rate
        shift = 12.0 * PHONE_TIMES[index]
        return [[10.0 + shift, 20.0, 60.0 + shift, 70.0]]

    path = write_video(tmp_path / "phone.mp4", [np.zeros((96, 96, 3), np.uint8)] * 90, fps=30.0,
                       timestamps_s=PHONE_TIMES)
    detector = ScriptedDetector(steady_in_time)
    track = build_track(path, [FramePlan("window", seconds=4.0)], [CropSpec(32, 1.3)], detector, detect_every=8)
    assert sorted(set(detector.seen)) == PHONE_KEYFRAMES
    assert track.settings["keyframes_by_time"] is True
    np.testing.assert_allclose(track.frames_at([60])[0].faces[0].box, steady_in_time(60)[0], atol=0.01,
                               err_msg="the face between two keyframes is placed by time")


def test_a_signal_window_on_a_variable_rate_video_spans_its_seconds(tmp_path, monkeypatch):
    """A phone's 30-fps stretch, then 15 fps: the track reads the frames of 2 s around the video's
    middle time (frames 29-74, worked by hand in FramePlan.window_by_time), and the signal detector's
    window is that run, not 2 s x the average rate in frames (1.67 s here)."""
    from types import SimpleNamespace

    import torch

    from common import detectors
    from common.face_track import CropSpec, build_track
    from common.models import get_spec
    from common.preprocessing import model_preprocessing
    from common.video import write_video

    times = np.concatenate([np.arange(60) / 30, 2 + np.arange(30) / 15])
    path = write_video(tmp_path / "vfr.mp4", [np.zeros((96, 96, 3), np.uint8)] * 90, fps=30.0, timestamps_s=times)
    row = get_spec("blink")
    prep = model_preprocessing(row)
    detector = detectors.SignalDetector(name="blink", row=row, model=None,
                                        checkpoint=SimpleNamespace(model_config={"window_s": 2.0}),
                                        checkpoint_path=tmp_path / "blink.pt", sha256="", device=torch.device("cpu"),
                                        prep=prep)
    spec = CropSpec(prep.size, prep.scale)
    track = build_track(path, [detector.frame_plan()], [spec], ScriptedDetector(lambda i: [[20.0, 20.0, 70.0, 70.0]]))
    assert [frame.index for frame in track.frames] == list(range(29, 75))
    monkeypatch.setattr(detectors, "signal_input", lambda row, crops, fps, window_s, with_signals: (None, "stop", {}))
    window = detector.score(track).window_scores[0]
    assert (window["start"], window["stop"]) == (29, 74)
