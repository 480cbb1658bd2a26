"""multi_modal_detect.py: detectors of several kinds on one track, a fusion fitted on validation
videos only, a fused verdict that says who contributed, and one-line errors for bad input.

Oracles: the fused probability recomputed by hand from the fusion file's kinds of fake and the report's
detector scores; the mean of the calibrated probabilities without a fusion; the report schema.
Runs on the reference solutions only (``pytest --solutions``).
"""
from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("solutions_tree")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fitted(tiny_checkpoint, clip_checkpoint, tmp_path_factory):
    """A fusion of the tiny frame CNN and the frame-difference clip detector, fitted on the
    validation split (2 real, 2 fake) of a 24-clip benchmark."""
    from common.synthetic import write_benchmark
    from common.tools.multi_modal import main

    root = tmp_path_factory.mktemp("fusion_data") / "mini-forensics"
    write_benchmark(root, progress=False, n_clips=24, seed=0, n_frames=8, size=96, methods=["TemporalFlicker"])
    fusion = tmp_path_factory.mktemp("fusion") / "fusion.json"
    assert main(["--visual-model", str(tiny_checkpoint), "--temporal-model", str(clip_checkpoint), "--fit-fusion",
                 str(root), "--fusion-model", str(fusion), "--frames", "8", "--device", "cpu", "--quiet",
                 "--solutions"]) == 0
    return fusion


def test_the_fusion_is_fitted_on_the_validation_videos_only(fitted):
    data = json.loads(fitted.read_text())
    assert data["validation"]["n_videos"] == 4 and data["validation"]["n_fake"] == 2
    assert [d["name"] for d in data["detectors"]] == ["tiny_baseline", "flicker"]
    assert sum(kind["n_fakes"] for kind in data["kinds"]) == 2, "each validation fake claimed by one detector"
    assert all(len(kind["slopes"]) == len(kind["offsets"]) == 2 for kind in data["kinds"])


def test_fused_verdict_recomputed_by_hand_and_the_report_validates(fitted, tiny_checkpoint, clip_checkpoint,
                                                                   clip_files, tmp_path, capsys):
    from common.report import validate_report
    from common.tools.multi_modal import main

    output = tmp_path / "report.json"
    assert main(["--visual-model", str(tiny_checkpoint), "--temporal-model", str(clip_checkpoint), "--fusion-model",
                 str(fitted), "--input", str(clip_files["fake"].path), "--output", str(output), "--frames", "8",
                 "--device", "cpu", "--quiet", "--solutions"]) == 0
    report = json.loads(output.read_text())
    assert validate_report(report) == []
    assert report["decided_by"] == "fusion"
    visual, temporal, fused = report["detectors"]
    assert (visual["modality"], temporal["modality"]) == ("visual", "temporal")
    data = json.loads(fitted.read_text())
    # by hand from the fusion file: per kind of fake, prior log-odds plus each detector's slope x log-odds
    # + offset; the fused log-odds are the log of the sum of their exponentials
    x = [math.log(e["video_score"] / (1 - e["video_score"])) for e in (visual, temporal)]
    # (both detectors ran, so each kind's prior is its share among the videos its claimer read)
    z = math.log(sum(math.exp(kind["readable_prior_log_odds"] + sum(s * v + o for s, v, o in
                                                            zip(kind["slopes"], x, kind["offsets"])))
                     for kind in data["kinds"]))
    raw = 1 / (1 + math.exp(-z))
    a, b = data["calibration"]["a"], data["calibration"]["b"]
    expected = 1 / (1 + math.exp(-(a * math.log(raw / (1 - raw)) + b)))
    assert fused["video_score"] == pytest.approx(expected, abs=1e-9)
    assert report["video_score"] == fused["video_score"] and report["verdict"] == fused["verdict"]
    assert [c["contributed"] for c in fused["contributions"]] == [True, True]
    printed = capsys.readouterr().out
    assert "visual" in printed and "temporal" in printed and "fused (late_fusion)" in printed


def test_without_a_fusion_model_the_fused_score_is_the_mean_and_a_missing_detector_is_listed(
        tiny_checkpoint, clip_checkpoint, clip_files, tmp_path):
    from common.tools.multi_modal import main

    output = tmp_path / "one_frame.json"
    assert main(["--visual-model", str(tiny_checkpoint), "--temporal-model", str(clip_checkpoint), "--input",
                 str(clip_files["one_frame"].path), "--output", str(output), "--frames", "8", "--device", "cpu",
                 "--quiet", "--solutions"]) == 0
    report = json.loads(output.read_text())
    visual, temporal, fused = report["detectors"]
    assert temporal["status"] != "ok", "one frame cannot make a clip"
    assert fused["architecture"] == "mean" and fused["video_score"] == pytest.approx(visual["video_score"])
    missing = [c for c in fused["contributions"] if not c["contributed"]]
    assert [c["name"] for c in missing] == ["flicker"] and missing[0]["reason"]


def test_a_folder_gives_one_report_per_video_and_a_summary(fitted, tiny_checkpoint, clip_checkpoint, clip_files,
                                                          tmp_path):
    import shutil

    from common.tools.multi_modal import main

    folder = tmp_path / "videos"
    folder.mkdir()
    for name in ("real", "fake"):
        shutil.copy(clip_files[name].path, folder / f"{name}.mp4")
    assert main(["--visual-model", str(tiny_checkpoint), "--temporal-model", str(clip_checkpoint), "--fusion-model",
                 str(fitted), "--input", str(folder), "--output", str(tmp_path / "reports"), "--frames", "8",
                 "--device", "cpu", "--quiet", "--solutions"]) == 0
    rows = list(csv.DictReader((tmp_path / "reports" / "summary.csv").open()))
    assert [Path(r["video"]).name for r in rows] == ["fake.mp4", "real.mp4"]
    for row in rows:
        report = json.loads(Path(row["report"]).read_text())
        assert report["decided_by"] == "fusion" and row["verdict"] == report["verdict"]


@pytest.mark.parametrize("arguments, message", [
    ([], "give at least one detector"),
    (["--visual-model", "MODEL"], "nothing to do"),
    (["--visual-model", "MODEL", "--fit-fusion", "DATA"], "--fit-fusion writes the fitted fusion to --fusion-model"),
    (["--visual-model", "MODEL", "--input", "VIDEO", "--fusion-model", "missing.json"], "no such file"),
    (["--visual-model", "CLIP", "--input", "VIDEO"],
     "holds frame_difference, a temporal detector (phase2_temporal_analysis, kind clip): give it to --temporal-model"),
    (["--frequency-model", "MODEL", "--input", "VIDEO"], "holds baseline, a visual detector"),
    (["--visual-model", "MODEL", "--model", "MODEL", "--input", "VIDEO"], "are the same detector (same SHA-256)"),
    (["--visual-model", "MODEL", "--fit-fusion", "DATA", "--fusion-model", "MODEL"], "should be a .json file"),
    (["--visual-model", "MODEL", "--fit-fusion", "DATA", "--fusion-model", "OUT", "--input", "VIDEO"],
     "--output 'OUT' is also --fusion-model"),
    (["--visual-model", "MODEL", "--input", "VIDEO", "--reference", "VIDEO"],
     "--reference needs --fusion-model (or --fit-fusion)"),
    (["--visual-model", "MODEL", "--fit-fusion", "DATA", "--fusion-model", "x.json", "--reference", "VIDEO"],
     "--reference is footage of the person an --input video shows"),
    (["--visual-model", "MODEL", "--input", "VIDEO", "--fusion-model", "MODEL", "--reference", "missing.mp4"],
     "cannot read reference video 'missing.mp4': no such file"),
    (["--visual-model", "MODEL", "--input", "VIDEO", "--fusion-model", "MODEL", "--reference", "VIDEO"],
     "is the --input video itself"),
])
def test_bad_input_is_one_line_and_writes_nothing(arguments, message, tiny_checkpoint, clip_checkpoint, clip_files,
                                                  tmp_path):
    out = tmp_path / "out.json"
    replaced = [str(tiny_checkpoint) if a == "MODEL" else str(clip_checkpoint) if a == "CLIP" else
                str(clip_files["real"].path) if a == "VIDEO" else str(tmp_path) if a == "DATA" else
                str(out) if a == "OUT" else a for a in arguments]
    before = tiny_checkpoint.read_bytes()
    result = subprocess.run([sys.executable, str(ROOT / "phase5_advanced_methods" / "multi_modal_detect.py"),
                             *replaced, "--output", str(out), "--solutions"], capture_output=True, text=True,
                            cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    message = message.replace("OUT", str(out))
    assert result.stderr.strip().startswith("error:") and message in result.stderr and len(result.stderr.splitlines()) == 1
    assert not out.exists() and tiny_checkpoint.read_bytes() == before


def test_a_fusion_refuses_other_detectors(fitted, tiny_checkpoint, clip_checkpoint, clip_files):
    from common.errors import CheckpointError
    from common.tools.multi_modal import main

    with pytest.raises(CheckpointError, match="was fitted on"):  # the same two detectors in the other order
        main(["--model", str(clip_checkpoint), "--model", str(tiny_checkpoint), "--fusion-model",
              str(fitted), "--input", str(clip_files["real"].path), "--device", "cpu", "--quiet", "--solutions"])


@pytest.mark.parametrize("model, modality", [
    ("xceptionnet", "visual"), ("capsule_forensics", "visual"), ("lstm", "temporal"), ("integrated", "temporal"),
    ("spectrum_logistic", "frequency"), ("dct_cnn", "frequency"), ("pulse", "biological"), ("biological", "biological"),
])
def test_each_registered_detector_reads_the_modality_of_its_flag(model, modality):
    """Worked by hand from the registry: phase 3 reads frequencies whatever the network (the DCT CNN is a
    frame CNN), phase 4 reads signals, and the other phases' frame and clip detectors are visual and temporal."""
    from common.registry import all_models
    from common.tools.multi_modal import modality_of

    assert modality_of(all_models()[model]) == modality


def test_a_detector_given_with_model_is_reported_with_its_own_modality(tiny_checkpoint, clip_checkpoint, clip_files,
                                                                       tmp_path):
    from common.tools.multi_modal import main

    output = tmp_path / "report.json"
    assert main(["--model", str(clip_checkpoint), "--model", str(tiny_checkpoint), "--input",
                 str(clip_files["real"].path), "--output", str(output), "--frames", "8", "--device", "cpu",
                 "--quiet", "--solutions"]) == 0
    entries = json.loads(output.read_text())["detectors"]
    assert [(e["name"], e["modality"]) for e in entries[:-1]] == [("flicker", "temporal"), ("tiny_baseline", "visual")]


def with_reference_mode(fitted, path, between):
    """The fitted fusion file with a reference mode added by hand: the plain kinds and calibration, each
    detector's person model mu 0, within 1 and the given between (so a hand computation can follow it)."""
    data = json.loads(fitted.read_text())
    data["reference"] = {"mu": [0.0, 0.0], "between": between, "within": [1.0, 1.0], "kinds": data["kinds"],
                         "calibration": data["calibration"], "validation": {}}
    path.write_text(json.dumps(data))
    return path


def test_reference_footage_subtracts_each_detectors_shrunk_person_offset_worked_by_hand(
        fitted, tiny_checkpoint, clip_checkpoint, clip_files, tmp_path, capsys):
    from common.tools.multi_modal import main

    model = with_reference_mode(fitted, tmp_path / "fusion_ref.json", between=[1.0, 0.0])
    flags = ["--visual-model", str(tiny_checkpoint), "--temporal-model", str(clip_checkpoint), "--frames", "8",
             "--device", "cpu", "--quiet", "--solutions"]
    # the reference video's own scores, and the input's, as the plain fusion reports them
    for name in ("real", "fake"):
        assert main([*flags, "--fusion-model", str(fitted), "--input", str(clip_files[name].path), "--output",
                     str(tmp_path / f"{name}.json")]) == 0
    reference, plain = (json.loads((tmp_path / f"{name}.json").read_text())["detectors"] for name in ("real", "fake"))
    output = tmp_path / "with_reference.json"
    assert main([*flags, "--fusion-model", str(model), "--input", str(clip_files["fake"].path), "--reference",
                 str(clip_files["real"].path), "--output", str(output)]) == 0
    from common.report import validate_report

    report = json.loads(output.read_text())
    assert validate_report(report) == []
    fused = report["detectors"][-1]

    def logit(p):
        return math.log(p / (1 - p))

    # one reference: the visual detector's shrinkage is 1 * 1 / (1 * 1 + 1) = 0.5 of its log-odds on it
    # (mu 0); the temporal detector has no person effect (between 0): not corrected at all
    offsets = [0.5 * logit(reference[0]["video_score"]), 0.0]
    x = [logit(plain[d]["video_score"]) - offsets[d] for d in range(2)]
    data = json.loads(model.read_text())
    z = math.log(sum(math.exp(kind["readable_prior_log_odds"] + sum(s * v + o for s, v, o in
                                                            zip(kind["slopes"], x, kind["offsets"])))
                     for kind in data["kinds"]))
    a, b = data["calibration"]["a"], data["calibration"]["b"]
    assert fused["video_score"] == pytest.approx(1 / (1 + math.exp(-(a * z + b))), abs=1e-9)
    assert [c["person_offset"] for c in fused["contributions"]] == pytest.approx(offsets)
    assert [c["shrinkage"] for c in fused["contributions"]] == pytest.approx([0.5, 0.0])
    assert [c["references_read"] for c in fused["contributions"]] == [1, 1]
    assert fused["reference"] == {"videos": [str(clip_files["real"].path)]}
    assert "reference footage" in fused["aggregation"]
    assert "person offsets subtracted: tiny_baseline" in capsys.readouterr().out


def test_references_for_a_fusion_without_a_reference_mode_are_refused_before_any_output(
        fitted, tiny_checkpoint, clip_checkpoint, clip_files, tmp_path):
    from common.errors import CourseError
    from common.tools.multi_modal import main

    output = tmp_path / "report.json"
    with pytest.raises(CourseError, match="has no reference mode"):
        main(["--visual-model", str(tiny_checkpoint), "--temporal-model", str(clip_checkpoint), "--fusion-model",
              str(fitted), "--input", str(clip_files["fake"].path), "--reference", str(clip_files["real"].path),
              "--output", str(output), "--device", "cpu", "--quiet", "--solutions"])
    assert not output.exists()
