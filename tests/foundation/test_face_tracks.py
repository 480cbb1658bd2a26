"""Face tracks: linking faces across frames, minor tracks, and the track policy's verdict.

Oracles: tracks and verdicts worked by hand on hand-made faces (boxes, landmarks, scores chosen so
the right answer is obvious), not the course's own detector.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch


def _face(x: float, y: float, side: float = 60.0, probability: float = 0.999, value: int = 0):
    """A face at (x, y) of the given side; its crop is filled with ``value`` (the stub model reads it)."""
    from common.face_track import CropSpec, TrackedFace

    box = [x, y, x + side, y + side]
    landmarks = np.array([[x + 0.3 * side, y + 0.4 * side], [x + 0.7 * side, y + 0.4 * side],
                          [x + 0.5 * side, y + 0.6 * side], [x + 0.35 * side, y + 0.8 * side],
                          [x + 0.65 * side, y + 0.8 * side]])
    return TrackedFace(box, list(box), landmarks, probability, crops={CropSpec(8, 1.3): np.full((8, 8, 3), value, np.uint8)})


def _frames(faces_per_frame: list[list]) -> list:
    from common.face_track import TrackedFrame

    return [TrackedFrame(index, index / 25.0, "face" if faces else "no_face", faces, None if faces else "none")
            for index, faces in enumerate(faces_per_frame)]


def test_a_face_missed_in_one_frame_keeps_its_track_and_a_second_person_gets_another():
    from common.face_track import link_tracks

    frames = _frames([[_face(10, 10), _face(200, 10)], [_face(14, 12)], [_face(18, 10), _face(204, 12)]])
    link_tracks(frames)
    ids = [[face.track_id for face in frame.faces] for frame in frames]
    assert ids == [[0, 1], [0], [0, 1]], f"tracks {ids}: the second person was missed once and must keep track 1"


def test_a_face_that_comes_back_elsewhere_is_a_new_track():
    from common.face_track import link_tracks

    frames = _frames([[_face(10, 10)], [], [_face(300, 200)]])
    link_tracks(frames)
    assert [f.faces[0].track_id for f in frames if f.faces] == [0, 1], "a face far from every track starts a new one"


def test_landmarks_link_a_face_whose_box_jumped():
    """Boxes that barely overlap (IoU < 0.3) but landmarks within a quarter diagonal: one track."""
    from common.face_track import box_overlap, link_tracks

    first, second = _face(10, 10), _face(10 + 36, 10)  # IoU 1440 / 5760 = 0.25
    assert box_overlap(first.box, second.box) < 0.3
    second.landmarks = first.landmarks + np.array([6.0, 0.0])  # 6 px on an 85 px diagonal
    frames = _frames([[first], [second]])
    link_tracks(frames)
    assert first.track_id == second.track_id == 0


def test_box_overlap_worked_by_hand():
    from common.face_track import box_overlap

    assert box_overlap([0, 0, 10, 10], [5, 0, 15, 10]) == pytest.approx(50 / 150)
    assert box_overlap([0, 0, 10, 10], [20, 20, 30, 30]) == 0.0


def test_brief_small_and_doubtful_border_tracks_are_minor():
    from common.face_track import link_tracks, summarise_tracks

    main = [_face(100, 100, 80) for _ in range(8)]
    brief = {0: _face(300, 100, 80), 1: _face(300, 100, 80)}                 # 2 of 8 frames
    small = {i: _face(20, 300, 30) for i in range(8)}                       # 900 px^2 vs 6400: 14%
    border = {i: _face(400, 100, 79, probability=0.95) for i in range(8)}   # reaches x = 479 of 480
    frames = _frames([[main[i]] + [d[i] for d in (brief, small, border) if i in d] for i in range(8)])
    link_tracks(frames)
    tracks = {t.track_id: t for t in summarise_tracks(frames, 480, 400)}
    by_face = {name: tracks[faces[0].track_id] for name, faces in
               (("main", main), ("brief", brief), ("small", small), ("border", border))}
    assert by_face["main"].subject and not by_face["main"].minor
    assert by_face["brief"].minor and "2 of 8 frames" in by_face["brief"].reason
    assert by_face["small"].minor and "area" in by_face["small"].reason
    assert by_face["border"].minor and "border" in by_face["border"].reason


def _stub_detector(policy: str):
    """A frame detector whose 'network' returns the crop's pixel value / 255 as P(FAKE)."""
    from common.detectors import FrameDetector
    from common.models import get_spec
    from common.preprocessing import Preprocessing

    class _Checkpoint:
        architecture, threshold, created, metrics = "baseline", 0.5, "now", {}

    detector = FrameDetector(name="stub", row=get_spec("baseline"), model=torch.nn.Identity(), checkpoint=_Checkpoint(),
                             checkpoint_path=Path("stub.pt"), sha256="0" * 64, device=torch.device("cpu"),
                             prep=Preprocessing(8, (0.0,) * 3, (1.0,) * 3), frames=8, face_policy=policy)
    detector.score_crops = lambda crops: np.array([crop[0, 0, 0] for crop in crops], dtype=np.float64) / 255.0
    return detector


def _video(with_swapped: bool, with_spurious: bool):
    """8 frames: a real person (0.1), maybe a swapped second person (0.9), maybe a spurious face (1.0)
    in frames 0 and 1 at the right edge."""
    from common.face_track import FaceTrack, link_tracks
    from common.video import VideoInfo

    frames = []
    for i in range(8):
        faces = [_face(100, 100, 80, value=round(0.1 * 255))]
        if with_swapped:
            faces.append(_face(300, 100, 80, value=round(0.9 * 255)))
        if with_spurious and i < 2:
            faces.append(_face(450, 10, 30, probability=0.93, value=255))
        frames.append(faces)
    frames = _frames(frames)
    link_tracks(frames)
    info = VideoInfo(path=Path("v.mp4"), fps=25.0, frame_count=8, width=480, height=400, duration_s=0.32, codec="h264")
    return FaceTrack(Path("v.mp4"), info, frames, {}, {"decode": 0.0, "faces": 0.0})


def test_a_spurious_face_cannot_decide_the_verdict_under_the_track_policy():
    clean = _stub_detector("track").score(_video(with_swapped=False, with_spurious=False))
    spurious = _stub_detector("track").score(_video(with_swapped=False, with_spurious=True))
    assert clean.video_score == pytest.approx(round(0.1 * 255) / 255)
    assert spurious.video_score == clean.video_score, "the brief spurious face changed the video score"
    assert [t["scored"] for t in spurious.track_scores] == [True, False], "the spurious track must be listed, unscored"
    # the per-frame rule lets it decide the frames where it appears (the bug this policy fixes)
    per_frame = _stub_detector("max").score(_video(with_swapped=False, with_spurious=True))
    assert per_frame.video_score > clean.video_score + 0.2


def test_one_swapped_person_among_real_ones_makes_the_video_fake_and_is_named():
    result = _stub_detector("track").score(_video(with_swapped=True, with_spurious=True))
    assert result.video_score == pytest.approx(round(0.9 * 255) / 255), "the swapped person's track must decide"
    assert result.verdict_track == 1, "the verdict must name the swapped person's track"


def test_cpu_batches_hold_one_large_crop_or_many_small_inputs():
    """Worked by hand from CPU_BATCH_ELEMENTS = 393,216: 3 x 299 x 299 = 268,203 values -> 1 per batch;
    3 x 64 x 64 = 12,288 -> 32; a 65-number feature vector -> capped by batch_size (64)."""
    detector = _stub_detector("track")
    detector.batch_size = 64
    assert detector.batch_size_for(torch.zeros(5, 3, 299, 299)) == 1
    assert detector.batch_size_for(torch.zeros(5, 3, 64, 64)) == 32
    assert detector.batch_size_for(torch.zeros(5, 65)) == 64
    detector.device = torch.device("cuda")  # no GPU needed: only the rule is asked
    assert detector.batch_size_for(torch.zeros(5, 3, 299, 299)) == 64, "a GPU takes the whole batch_size"
