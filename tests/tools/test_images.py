"""Images as input: a photograph is analysed as one frame and the report says it is an image.

Oracles: the image itself (its size, the face the clip generator put in it), what a frame detector
scores on the same frame of the video it came from, and the file formats written.
Runs on the reference solutions only (``pytest --solutions``).
"""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from tests.tolerances import TOOLS_RESCORED_PROBABILITY_ATOL

pytestmark = pytest.mark.usefixtures("solutions_tree")


@pytest.fixture(scope="module")
def face_png(clip_files, tmp_path_factory):
    """Frame 0 of the real clip as a lossless PNG (the decoded frame, so scores can be compared)."""
    from common.video import sample_frames

    frame = sample_frames(clip_files["real"].path, indices=[0]).frames[0]
    path = tmp_path_factory.mktemp("images") / "face.png"
    cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return path


def test_an_image_is_reported_as_an_image_and_scored_like_that_frame_of_the_video(face_png, detected, tiny_checkpoint,
                                                                                   clip_checkpoint, tmp_path, capsys):
    from common.report import validate_report
    from common.tools.detect import main

    output = tmp_path / "face.json"
    assert main(["--input", str(face_png), "--model", str(tiny_checkpoint), "--model", str(clip_checkpoint),
                 "--output", str(output), "--device", "cpu", "--quiet"]) == 0
    report = json.loads(output.read_text())
    assert validate_report(report) == [], "an image report breaks the schema"
    assert report["input"]["kind"] == "image" and report["input"]["video"]["frame_count"] == 1
    assert (report["input"]["video"]["width"], report["input"]["video"]["height"]) == (128, 128)
    frame_entry, clip_entry = report["detectors"]
    video_report = json.loads(detected["real"].read_text())
    same_frame = next(f for f in video_report["detectors"][0]["frame_scores"] if f["index"] == 0)
    assert frame_entry["status"] == "ok" and frame_entry["video_score"] == pytest.approx(
        same_frame["fake_probability"], abs=TOOLS_RESCORED_PROBABILITY_ATOL), "the image must score as that frame did"
    assert clip_entry["status"] == "could_not_run" and "one image" in clip_entry["reason"], \
        "a clip detector must say it cannot run on one image"
    assert "1 of 1 image has a face" in capsys.readouterr().out


def test_a_folder_of_images_and_videos_gets_one_report_each(face_png, clip_files, tiny_checkpoint, tmp_path):
    import shutil

    from common.tools.detect import main

    folder = tmp_path / "inputs"
    folder.mkdir()
    shutil.copy(face_png, folder / "face.png")
    shutil.copy(clip_files["real"].path, folder / "clip.mp4")
    output = tmp_path / "reports"
    assert main(["--input", str(folder), "--model", str(tiny_checkpoint), "--output", str(output), "--frames", "4",
                 "--device", "cpu", "--quiet"]) == 0
    kinds = {path.name: json.loads(path.read_text())["input"]["kind"] for path in output.glob("*.json")}
    assert kinds == {"face.json": "image", "clip.json": "video"}


def test_an_unreadable_image_is_one_line_and_writes_nothing(tiny_checkpoint, tmp_path, capsys):
    from common.errors import run_cli
    from common.tools.detect import main

    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    output = tmp_path / "r.json"
    with pytest.raises(SystemExit) as stopped:
        run_cli(main, ["--input", str(broken), "--model", str(tiny_checkpoint), "--output", str(output),
                       "--device", "cpu", "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert stopped.value.code == 2 and len(err) == 1 and "broken.png" in err[0], err
    assert not output.exists()


def test_an_image_report_is_drawn_onto_the_image(face_png, tiny_checkpoint, tmp_path):
    from common.tools.detect import main as detect
    from common.tools.visualize import main as visualize

    report = tmp_path / "face.json"
    assert detect(["--input", str(face_png), "--model", str(tiny_checkpoint), "--output", str(report),
                   "--device", "cpu", "--quiet"]) == 0
    output = tmp_path / "face_annotated.png"
    assert visualize(["--video", str(face_png), "--predictions", str(report), "--output", str(output)]) == 0
    drawn = cv2.imread(str(output))
    assert drawn.shape == (384, 384, 3), "a 128 px image is enlarged 3x (whole-number factor) for readable labels"
    original = cv2.imread(str(face_png))
    assert not np.array_equal(drawn[::3, ::3], original), "nothing was drawn"
    with pytest.raises(Exception, match="report is for an image"):
        visualize(["--video", str(face_png), "--predictions", str(report), "--output", str(tmp_path / "x.mp4")])
    assert not (tmp_path / "x.mp4").exists()
