"""Face tracks end to end: a spurious face does not decide a real clip, a swapped person is named.

Oracles: the same clip without the spurious face (its video score), the clip's layout (which half
of the frame holds the swapped face), and the frames the spurious face was pasted into.
Runs on the reference solutions only (``pytest --solutions``).
"""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from tests.tolerances import SPURIOUS_FACE_MAX_SCORE_CHANGE

pytestmark = pytest.mark.usefixtures("solutions_tree")


@pytest.fixture(scope="module")
def spurious_clip(clip_files, tmp_path_factory):
    """The real clip with a mirrored copy of its own head, 40 px wide, pasted into the top-right
    corner of frames 0-4 (sampled frames 0 and 3 of 8): a face at the edge for a few frames."""
    from common.video import write_video

    frames = clip_files["real"].frames.copy()
    for index in range(5):
        x1, y1, x2, y2 = (int(v) for v in clip_files["real"].boxes[index, 0])
        head = frames[index][max(0, y1 - 6):y2 + 6, max(0, x1 - 6):x2 + 6][:, ::-1]
        frames[index][0:40, 88:128] = cv2.resize(head, (40, 40), interpolation=cv2.INTER_AREA)
    return write_video(tmp_path_factory.mktemp("spurious") / "spurious.mp4", frames, fps=25)


def _detect(source, checkpoint, output, *extra) -> dict:
    from common.tools.detect import main

    assert main(["--input", str(source), "--model", str(checkpoint), "--output", str(output), "--frames", "8",
                 "--device", "cpu", "--quiet", *extra]) == 0
    return json.loads(output.read_text())


def test_a_spurious_face_at_the_edge_is_a_minor_track_and_barely_moves_the_score(spurious_clip, detected,
                                                                                  tiny_checkpoint, tmp_path):
    from common.report import validate_report

    report = _detect(spurious_clip, tiny_checkpoint, tmp_path / "spurious.json")
    clean = json.loads(detected["real"].read_text())
    assert validate_report(report) == []
    minor = [track for track in report["tracks"] if track["minor"]]
    assert minor and all(set(track["frames"]) <= {0, 3} for track in minor), \
        f"the pasted face (frames 0 and 3) must be a minor track: {report['tracks']}"
    assert all(track["reason"] for track in minor), "a minor track must say why it is not scored"
    change = abs(report["video_score"] - clean["video_score"])
    assert change < SPURIOUS_FACE_MAX_SCORE_CHANGE, f"the spurious face moved the video score by {change:.3f}"
    subject = next(track for track in report["tracks"] if track["subject"])
    assert report["detectors"][0]["verdict_track"] == subject["track_id"], "the verdict must come from the subject"


def test_two_persistent_people_are_both_scored_and_the_more_suspicious_one_is_named(clip_files, tiny_checkpoint,
                                                                                     tmp_path):
    """The two-face clip: a real person on the left, a face swap on the right (x > 128)."""
    report = _detect(clip_files["two_faces"].path, tiny_checkpoint, tmp_path / "two.json")
    entry = report["detectors"][0]
    scored = {track["track_id"]: track["fake_probability"] for track in entry["track_scores"] if track["scored"]}
    assert len(scored) == 2, f"both people must be persistent, scored tracks: {entry['track_scores']}"
    assert entry["video_score"] == max(scored.values()), "the video's score is its most suspicious person's"
    named = entry["verdict_track"]
    assert named == max(scored, key=scored.get), "the verdict must name the track with the highest fake probability"
    # the two tracks are the two people, one on each side of the frame (the swap is on the right)
    sides = {track: np.mean([(face["box"][0] + face["box"][2]) / 2 for frame in report["frames"]
                             for face in frame["faces"] if face["track_id"] == track]) for track in scored}
    assert sorted(side > 128 for side in sides.values()) == [False, True], f"track centres {sides}"
    # (which person the 3-epoch tiny CNN finds more suspicious depends on its initialisation: the
    # swapped one under torch seeds 0, 1, 4, 6, 7 and the real one under 2, 3, 5, so it is not asserted)
    threshold = (min(scored.values()) + max(scored.values())) / 2
    between = _detect(clip_files["two_faces"].path, tiny_checkpoint, tmp_path / "two_t.json",
                      "--threshold", f"{threshold:.12f}")
    assert between["verdict"] == "FAKE", "one swapped person among real ones must make the video FAKE"
