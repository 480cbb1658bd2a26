"""method_matrix.py (common.tools.matrix) and train.py --train-methods: which videos each run
trains on, the tables worked by hand, one-line errors, and one end-to-end run on a tiny benchmark
whose figures are checked against scikit-learn on the run's own test scores (slow: about a minute,
`pytest --solutions -m slow`)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sklearn.metrics import roc_auc_score

from common.datasets import VideoRecord
from common.errors import CourseError


def _record(name: str, label: int, method: str) -> VideoRecord:
    return VideoRecord(Path(f"{name}.mp4"), label, method, group=name, split=None, dataset="synthetic")


def _splits():
    make = lambda split: [_record(f"{split}_r{i}", 0, "real") for i in range(2)] + [
        _record(f"{split}_{m}", 1, m) for m in ("FaceSwap", "GANUpsample", "Deepfake")]
    return {name: make(name) for name in ("train", "val", "test")}


def test_train_methods_keep_reals_and_the_named_fakes_in_train_and_val_only():
    from common.tools.train import keep_methods

    kept = keep_methods(_splits(), "FaceSwap, Deepfake")
    for name in ("train", "val"):
        assert [r.method for r in kept[name]] == ["real", "real", "FaceSwap", "Deepfake"]
    assert [r.method for r in kept["test"]] == ["real", "real", "FaceSwap", "GANUpsample", "Deepfake"]


def test_a_train_method_with_no_fake_is_one_line():
    from common.tools.train import keep_methods

    with pytest.raises(CourseError, match="Faceswap"):
        keep_methods(_splits(), "Faceswap")


def test_methods_are_checked():
    from common.tools.matrix import parse_methods

    assert parse_methods("FaceSwap,Deepfake,FaceSwap") == ["FaceSwap", "Deepfake"]
    with pytest.raises(CourseError, match="Swap"):
        parse_methods("FaceSwap,Swap")
    with pytest.raises(CourseError, match="at least two"):
        parse_methods("FaceSwap")


def test_markdown_puts_the_diagonal_in_bold_and_leave_one_out_last():
    from common.tools.matrix import format_markdown

    result = {"rows": {"A": {"A": 0.99, "B": 0.5}, "B": {"A": 0.61, "B": 1.0}}, "leave_one_out": {"A": 0.61, "B": 0.5},
              "seconds": {}}
    table = format_markdown({"m": result}, ["A", "B"])
    assert "| A | **0.990** | 0.500 |" in table and "| B | 0.610 | **1.000** |" in table
    assert table.splitlines()[-1] == "| all the others (leave one out) | 0.610 | 0.500 |"


@pytest.mark.slow
def test_a_tiny_matrix_end_to_end_agrees_with_scikit_learn(tmp_path):
    """Spectral regression, two methods, 24 clips of 8 frames: four trainings share one face cache;
    each cell is the AUC of that run's own test scores, recomputed with scikit-learn."""
    from common.tools.matrix import main

    output = tmp_path / "matrix"
    assert main(["--models", "spectrum_logistic", "--methods", "GANUpsample,FaceSwap", "--clips", "24",
                 "--clip-frames", "8", "--output-dir", str(output), "--device", "cpu", "--quiet", "--solutions"]) == 0
    written = json.loads((output / "matrix.json").read_text())
    result = written["results"]["spectrum_logistic"]
    assert set(result["rows"]) == {"GANUpsample", "FaceSwap"} and set(result["leave_one_out"]) == {"GANUpsample", "FaceSwap"}
    run = output / "spectrum_logistic__GANUpsample"
    report = json.loads((run / "train_report.json").read_text())
    assert report["data"]["train_methods"] == ["GANUpsample"]
    videos = report["test"]["videos"]
    for tested in ("GANUpsample", "FaceSwap"):
        chosen = [v for v in videos if v["method"] in ("real", tested)]
        expected = roc_auc_score([v["label"] for v in chosen], [v["score"] for v in chosen])
        assert result["rows"]["GANUpsample"][tested] == pytest.approx(expected, abs=1e-3)
    leave = json.loads((output / "spectrum_logistic__FaceSwap" / "train_report.json").read_text())
    assert result["leave_one_out"]["GANUpsample"] == result["rows"]["FaceSwap"]["GANUpsample"], \
        "with two methods, leaving GANUpsample out is training on FaceSwap"
    assert leave["data"]["train_methods"] == ["FaceSwap"]
    assert (output / "face_cache").is_dir() and (run / "face_cache").is_symlink()
    assert (output / "matrix_spectrum_logistic.png").stat().st_size > 0
    assert "| GANUpsample | **" in (output / "matrix.md").read_text()
