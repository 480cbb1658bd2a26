"""detect_video.py: the report lists every sampled frame, boxes the faces, scores them as the model does."""
from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.tolerances import TOOLS_FACE_BOX_MIN_IOU, TOOLS_RESCORED_PROBABILITY_ATOL

pytestmark = pytest.mark.usefixtures("solutions_tree")


def _load(path) -> dict:
    return json.loads(path.read_text())


def _detector(report: dict, position: int = 0) -> dict:
    return report["detectors"][position]


def _frame_scores(report: dict) -> dict[int, float | None]:
    """{frame index: frame score} of the first detector (a frame detector in these tests)."""
    return {entry["index"]: entry["fake_probability"] for entry in _detector(report)["frame_scores"]}


def _iou(a, b) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_report_is_valid_and_lists_every_sampled_frame(detected):
    from common.report import validate_report

    report = _load(detected["real"])
    assert validate_report(report) == [], "the written report breaks its own schema"
    # 8 evenly spaced frames of 24: floor(i * 23 / 7), worked by hand
    assert [f["index"] for f in report["frames"]] == [0, 3, 6, 9, 13, 16, 19, 23], "sampled frames are not evenly spaced"
    assert report["summary"]["frames_sampled"] == 8, "a sampled frame is missing from the report"
    assert report["input"]["video"]["frame_count"] == 24, "the report's VideoInfo is wrong"
    assert report["tree"] == "solutions", "the report does not say which exercise tree ran"


def test_face_boxes_overlap_the_ground_truth_faces(detected, clip_files):
    report = _load(detected["real"])
    truth = clip_files["real"].boxes
    found = [f for f in report["frames"] if f["status"] == "face"]
    assert len(found) >= 6, f"MTCNN found a face in only {len(found)} of 8 frames of a clear talking head"
    for frame in found:
        overlap = _iou(frame["faces"][0]["box"], truth[frame["index"], 0])
        assert overlap >= TOOLS_FACE_BOX_MIN_IOU, f"frame {frame['index']}: box IoU with the truth face is {overlap:.2f}"


def test_a_phone_style_portrait_video_is_analysed_upright(clip_files, tiny_checkpoint, tmp_path):
    """A clip stored turned a quarter clockwise, with a display matrix that turns it back (as phones store
    portrait video): the report's frames are the upright ones, so MTCNN finds the faces where they truly are."""
    import av

    from common.tools.detect import main

    clip = clip_files["real"]
    path = tmp_path / "portrait.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.height, stream.width = clip.frames.shape[2], clip.frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.set_display_rotation(90)  # shown = the stored picture turned a quarter counter-clockwise
        for frame in clip.frames:
            stored = np.ascontiguousarray(np.rot90(frame, -1))  # the upright frame turned a quarter clockwise
            for packet in stream.encode(av.VideoFrame.from_ndarray(stored, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    output = tmp_path / "portrait.json"
    assert main(["--input", str(path), "--model", str(tiny_checkpoint), "--output", str(output), "--frames", "8",
                 "--device", "cpu", "--quiet", "--solutions"]) == 0
    report = _load(output)
    assert report["input"]["video"]["rotation_deg"] == 90
    found = [f for f in report["frames"] if f["status"] == "face"]
    assert len(found) >= 6, f"MTCNN found a face in only {len(found)} of 8 upright frames"
    for frame in found:
        overlap = _iou(frame["faces"][0]["box"], clip.boxes[frame["index"], 0])
        assert overlap >= TOOLS_FACE_BOX_MIN_IOU, f"frame {frame['index']}: box IoU with the truth face is {overlap:.2f}"


def test_video_score_and_verdict_follow_frame_scores_and_checkpoint_threshold(detected, tiny_checkpoint):
    report = _load(detected["fake"])
    stored = torch.load(tiny_checkpoint, weights_only=True)
    scores = [score for score in _frame_scores(report).values() if score is not None]
    assert len(scores) == sum(f["status"] == "face" for f in report["frames"]), "a frame with a face has no score"
    assert report["video_score"] == pytest.approx(float(np.mean(scores)), abs=1e-12), "video score is not the mean of frame scores"
    assert report["threshold"] == pytest.approx(stored["threshold"]), "threshold is not the checkpoint's"
    expected = "FAKE" if report["video_score"] >= stored["threshold"] else "REAL"
    assert report["verdict"] == expected, "verdict does not compare the video score with the threshold"


def test_detector_entry_identifies_the_checkpoint(detected, tiny_checkpoint):
    report = _load(detected["real"])
    model = _detector(report)
    assert report["decided_by"] == model["name"] == "tiny_baseline", "the single detector must decide the verdict"
    assert model["kind"] == "frame" and model["frame_plan"] == {"mode": "spaced", "count": 8, "clips": 1, "seconds": 0.0}
    assert model["sha256"] == hashlib.sha256(tiny_checkpoint.read_bytes()).hexdigest(), "checkpoint hash is wrong"
    assert model["architecture"] == "baseline" and model["input_size"] == 64, "architecture or input size is wrong"


def test_face_score_equals_the_model_run_by_hand_on_the_crop(detected, clip_files, tiny_checkpoint):
    """Oracle: cut the crop box from the decoded frame, normalise by hand, run the network."""
    import cv2

    from common.models import build_model
    from common.video import sample_frames

    report = _load(detected["fake"])
    stored = torch.load(tiny_checkpoint, weights_only=True)
    model = build_model("baseline", **stored["model_config"])
    model.load_state_dict(stored["state_dict"])
    model.eval()
    frame_entry = next(f for f in report["frames"] if f["status"] == "face")
    frame = sample_frames(clip_files["fake"].path, indices=[frame_entry["index"]]).frames[0]
    x1, y1, x2, y2 = (int(round(v)) for v in frame_entry["faces"][0]["crop_box"])
    crop = cv2.resize(frame[y1:y2, x1:x2], (64, 64), interpolation=cv2.INTER_AREA)
    tensor = (torch.from_numpy(crop).permute(2, 0, 1).float()[None] / 255.0 - 0.5) / 0.5
    with torch.no_grad():
        expected = torch.sigmoid(model(tensor)).item()
    assert frame_entry["faces"][0]["scores"]["tiny_baseline"] == pytest.approx(expected, abs=TOOLS_RESCORED_PROBABILITY_ATOL), \
        "the face score differs from the network applied to the crop (preprocessing or normalisation?)"


def test_every_face_of_a_two_face_frame_is_scored_and_the_frame_takes_the_max(detected, clip_files):
    report = _load(detected["two_faces"])
    several = [f for f in report["frames"] if len(f["faces"]) == 2]
    assert several, "no frame of the two-face clip reports two faces"
    assert report["summary"]["frames_with_several_faces"] == len(several), "summary miscounts frames with several faces"
    frame_scores = _frame_scores(report)
    for frame in several:
        probabilities = [face["scores"]["tiny_baseline"] for face in frame["faces"]]
        assert frame_scores[frame["index"]] == max(probabilities), "frame score is not the max over its faces"
        centres = sorted((face["box"][0] + face["box"][2]) / 2 for face in frame["faces"])
        assert centres[0] < 128 < centres[1], "the two faces are not one in each half of the frame"


def test_threshold_flag_overrides_the_checkpoint_and_is_recorded(clip_files, tiny_checkpoint, tmp_path):
    from common.tools.detect import main

    output = tmp_path / "one.json"
    assert main(["--input", str(clip_files["one_frame"].path), "--model", str(tiny_checkpoint), "--output", str(output),
                 "--frames", "4", "--threshold", "0", "--device", "cpu", "--quiet"]) == 0
    report = _load(output)
    assert len(report["frames"]) == 1, "a one-frame video must give exactly one sampled frame"
    assert report["threshold"] == 0.0 and report["threshold_overridden"] is True, "--threshold was not applied"
    assert report["verdict"] == "FAKE", "every score is >= 0, so threshold 0 must give FAKE"


def test_detect_every_runs_mtcnn_on_keyframes_and_says_which_faces_were_interpolated(clip_files,
                                                                                     tiny_checkpoint, tmp_path):
    """24 frames, --detect-every 4: MTCNN on frames 0, 4, ..., 20 and 23 only; the others' faces are
    interpolated, flagged, and close to the boxes MTCNN finds on every frame (the run of ``detected``)."""
    from common.report import validate_report
    from common.tools.detect import main

    output = tmp_path / "keyframes.json"
    assert main(["--input", str(clip_files["real"].path), "--model", str(tiny_checkpoint), "--output", str(output),
                 "--frames", "24", "--detect-every", "4", "--device", "cpu", "--quiet"]) == 0
    report = _load(output)
    assert validate_report(report) == []
    assert report["settings"]["detect_every"] == 4
    assert report["summary"]["frames_through_face_detector"] == 7, "keyframes 0, 4, ..., 20 and the last, 23"
    flagged = {frame["index"] for frame in report["frames"] for face in frame["faces"] if face["interpolated"]}
    assert flagged == set(range(24)) - {0, 4, 8, 12, 16, 20, 23}
    assert report["summary"]["faces_interpolated"] == len(flagged)
    truth = clip_files["real"].boxes
    for frame in report["frames"]:
        overlap = _iou(frame["faces"][0]["box"], truth[frame["index"], 0])
        assert overlap >= TOOLS_FACE_BOX_MIN_IOU, f"frame {frame['index']}: box IoU with the truth face is {overlap:.2f}"
    assert len(report["detectors"][0]["frame_scores"]) == 24, "every planned frame is still scored"


def test_with_keyframes_each_detectors_score_is_the_same_alone_and_with_others(clip_files, tiny_checkpoint,
                                                                               clip_checkpoint):
    """--detect-every 4 with a frame CNN (5 spaced frames) and a clip detector (8 contiguous frames) on
    one face track: each detector's video score equals the one it gets run alone (keyframes are
    the video's frame numbers, so no detector moves another's keyframes)."""
    from common.tools.detect import analyse_video, load_detectors, make_face_detector

    cnn, clip = load_detectors([tiny_checkpoint], "cpu", frames=5), load_detectors([clip_checkpoint], "cpu")
    face_detector = make_face_detector(cnn + clip)
    video = clip_files["real"].path

    def scores(detectors):
        report = analyse_video(video, detectors, face_detector=face_detector, tree="solutions", detect_every=4)
        return {entry["name"]: entry["video_score"] for entry in report["detectors"]}

    together = scores(cnn + clip)
    for alone in (scores(cnn), scores(clip)):
        for name, score in alone.items():
            assert score is not None and together[name] == pytest.approx(score, abs=1e-6), name


def test_folder_input_writes_one_report_per_video_and_a_summary(clip_files, tiny_checkpoint, tmp_path):
    from common.tools.detect import main

    folder = tmp_path / "videos"
    folder.mkdir()
    for name in ("real", "no_face"):
        shutil.copy(clip_files[name].path, folder / f"{name}.mp4")
    output = tmp_path / "out"
    assert main(["--input", str(folder), "--model", str(tiny_checkpoint), "--output", str(output),
                 "--frames", "4", "--device", "cpu", "--quiet"]) == 0
    assert sorted(p.name for p in output.iterdir()) == ["no_face.json", "real.json", "summary.csv"], "wrong files written"
    rows = {r["video"].split("/")[-1]: r for r in csv.DictReader((output / "summary.csv").open())}
    assert rows["no_face.mp4"]["verdict"] == "NO_FACE", "a video without faces must be listed as NO_FACE"
    assert rows["real.mp4"]["verdict"] in ("REAL", "FAKE"), "the real clip got no verdict"
    assert json.loads((output / "real.json").read_text())["verdict"] == rows["real.mp4"]["verdict"], "CSV and report disagree"


def test_background_face_tracks_give_the_same_reports_as_one_video_at_a_time(clip_files, tiny_checkpoint, tmp_path):
    """The folder mode builds the next video's face track in a worker thread while this one is scored:
    same scores, same order, and an unreadable video in the middle still gets its ERROR row."""
    from common.tools.detect import analyse_folder, load_detectors

    folder = tmp_path / "videos"
    folder.mkdir()
    shutil.copy(clip_files["real"].path, folder / "a_real.mp4")
    (folder / "b_broken.mp4").write_bytes(b"not a video")
    shutil.copy(clip_files["fake"].path, folder / "c_fake.mp4")
    detectors = load_detectors([tiny_checkpoint], "cpu", frames=6)
    rows = {}
    for background in (False, True):
        rows[background], _ = analyse_folder(folder, detectors, tmp_path / f"out_{background}", progress=False,
                                             tree="solutions", background=background)
    assert [r["verdict"] for r in rows[True]][1] == "ERROR"
    for one, other in zip(rows[False], rows[True]):
        assert {k: v for k, v in one.items() if k != "report"} == {k: v for k, v in other.items() if k != "report"}
    for name in ("a_real", "c_fake"):
        scores = [[e["fake_probability"] for e in _load(tmp_path / f"out_{background}" / f"{name}.json")
                   ["detectors"][0]["frame_scores"]] for background in (False, True)]
        assert scores[0] == scores[1]


@pytest.mark.parametrize("field, value, path", [
    ("verdict", "REAL", "detectors[0].verdict"),             # score >= threshold but verdict REAL
    ("video_score", None, "detectors[0].video_score"),        # status ok but no score
    ("summary", {"frames_sampled": 99}, "summary.frames_sampled"),
    ("threshold", 1.5, "detectors[0].threshold"),
    ("decided_by", "nobody", "decided_by"),
])
def test_validator_names_the_field_of_an_inconsistent_report(detected, field, value, path):
    from common.report import validate_report

    report = _load(detected["fake"])
    report["threshold"] = report["detectors"][0]["threshold"] = 0.0  # every score >= 0: the verdict must be FAKE
    report["verdict"] = report["detectors"][0]["verdict"] = "FAKE"
    assert validate_report(report) == [], "the baseline edited report should be valid"
    if field == "summary":
        report["summary"].update(value)
    elif field == "decided_by":
        report[field] = value
    else:
        report[field] = report["detectors"][0][field] = value
    problems = validate_report(report)
    assert any(problem.startswith(path) for problem in problems), f"no problem reported at {path}: {problems}"


@pytest.mark.slow
def test_quick_demo_trains_fuses_detects_and_draws_end_to_end(tmp_path):
    """demo.py --quick: benchmark -> a detector per phase -> fusion -> multi_modal_detect -> visualize."""
    from common.report import validate_report
    from common.tools.demo import DEMO_MODELS, main

    assert main(["--quick", "--output-dir", str(tmp_path / "demo"), "--device", "cpu"]) == 0
    reports = sorted((tmp_path / "demo" / "reports").glob("*.json"))
    methods = {p.name.split("_")[0] for p in reports}
    assert "real" in methods and len(methods) >= 2, f"expected a REAL and a FAKE report, got {reports}"
    for path in reports:
        report = json.loads(path.read_text())
        assert validate_report(report) == [], f"{path.name} breaks the schema"
        assert report["decided_by"] == "fusion"
        assert [d["name"] for d in report["detectors"]] == [*DEMO_MODELS, "fusion"]
    n = len(reports)
    assert len(list((tmp_path / "demo" / "annotated").glob("*.mp4"))) == n, "annotated videos are missing"
    assert len(list((tmp_path / "demo" / "plots").glob("*.png"))) == n, "summary plots are missing"


@pytest.mark.slow
def test_full_demo_detectors_each_find_their_own_manipulation_on_people_never_seen(tmp_path):
    """demo.py as `make demo` runs it: each phase's detector finds the trace it was built for, and the
    Physiological clip is judged by all four detectors and the fusion."""
    from common.tools.demo import main
    from tests.tolerances import DEMO_OWN_CUE_MIN_AUC

    assert main(["--output-dir", str(tmp_path / "demo"), "--device", "cpu"]) == 0
    summary = json.loads((tmp_path / "demo" / "demo_summary.json").read_text())
    for model, method in (("baseline", "FaceSwap"), ("temporal_features", "TemporalFlicker"),
                          ("spectrum_logistic", "GANUpsample"), ("biological", "Physiological")):
        test = summary["test"][model]
        if model != "biological":
            assert test["video"]["n"] == 36, "the demo's benchmark should hold 36 test videos"
        auc = test["per_method"][method]["roc_auc"]
        assert auc >= DEMO_OWN_CUE_MIN_AUC, f"{model} on {method}: held-out video AUC {auc:.3f}"
    report = json.loads(Path(summary["results"]["Physiological"]["report"]).read_text())
    assert [d["name"] for d in report["detectors"]] == ["baseline", "temporal_features", "spectrum_logistic",
                                                        "biological", "fusion"]
    assert report["detectors"][3]["status"] == "ok", "the 10-s clip is long enough for phase 4"
    referenced = summary["reference"]
    assert referenced is not None, "the demo's fusion has its reference mode and a test person has two real clips"
    alone, with_references = (json.loads(Path(referenced[k]["report"]).read_text())
                              for k in ("alone", "with_references"))
    fused = with_references["detectors"][-1]
    assert fused["reference"] == {"videos": referenced["references"]}, "the report names its reference videos"
    assert all("person_offset" in c for c in fused["contributions"])
    assert "reference" not in alone["detectors"][-1] or alone["detectors"][-1]["reference"] is None


def test_torchrun_shards_a_folder_and_gathers_the_same_summary_as_one_process(clip_files, tiny_checkpoint, tmp_path):
    """Two CPU processes (gloo) split the videos; rank 0 writes one summary.csv, equal to one process's."""
    import subprocess
    import sys
    from pathlib import Path

    folder = tmp_path / "videos"
    folder.mkdir()
    for name in ("real", "fake", "no_face"):
        shutil.copy(clip_files[name].path, folder / f"{name}.mp4")
    common = ["--input", str(folder), "--model", str(tiny_checkpoint), "--frames", "4", "--device", "cpu", "--quiet",
              "--solutions"]
    root = Path(__file__).resolve().parents[2]
    # `python -m torch.distributed.run` is the `torchrun` command, found without relying on PATH.
    runs = {"one": [sys.executable, "detect_video.py"],
            "two": [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                    "detect_video.py"]}
    for name, launcher in runs.items():
        done = subprocess.run(launcher + common + ["--output", str(tmp_path / name)], cwd=root, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, f"{name}: exit {done.returncode}: {done.stderr[-2000:]}"

    def table(name):
        return [{k: v for k, v in row.items() if k != "report"} for row in csv.DictReader((tmp_path / name / "summary.csv").open())]

    assert table("two") == table("one"), "the sharded run's summary differs from the single process's"
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["fake.json", "no_face.json", "real.json",
                                                                    "summary.csv"]
