"""``train.py --train-reencode``: H.264 compression as a training augmentation (issue 17).

A tiny GANUpsample benchmark (12 clips of 4 frames) and the spectral classifier (seconds to fit)
keep it short; MTCNN on the originals and their copies is the cost. Oracles: the dataset's own
split (``split_for_training`` with the run's seed, the split every train.py run uses), OpenCV's
decoding of the files (independent of the PyAV writer) for "really re-encoded", the PSNR worked
out here with numpy, and file modification times for "reused, not encoded again".
Runs on the reference solutions only (``pytest --solutions``).
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.tolerances import TRAIN_REENCODE_CRF23_MIN_PSNR_DB, TRAIN_REENCODE_MIN_PSNR_GAP_DB

pytestmark = pytest.mark.usefixtures("solutions_tree")

PHASE = "phase3_frequency_analysis"
TINY_BENCHMARK = dict(n_clips=12, seed=0, n_frames=4, size=128, fps=25.0, methods=["GANUpsample"])
SETTINGS = ("crf23", "crf40")


def _train(root: Path, output: Path, *extra: str) -> int:
    from common.tools.train import main

    return main(["--dataset", "synthetic", "--data-root", str(root), "--model", "spectrum_logistic", "--frames", "2",
                 "--epochs", "1", "--batch-size", "8", "--device", "cpu", "--output-dir", str(output), "--quiet",
                 "--solutions", *extra], phase=PHASE)


def _mtimes(folder: Path, pattern: str) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in sorted(folder.rglob(pattern))}


def _frames(path: Path) -> np.ndarray:
    """Every frame, decoded by OpenCV (BGR uint8)."""
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return np.stack(frames)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / mse))


@pytest.fixture(scope="module")
def reencode_run(tmp_path_factory) -> dict:
    """Train twice into one folder with ``--train-reencode crf23,crf40``; keep the mtimes in between."""
    from common.synthetic import write_benchmark

    root = tmp_path_factory.mktemp("reencode_data") / "mini-forensics"
    write_benchmark(root, progress=False, **TINY_BENCHMARK)
    output = tmp_path_factory.mktemp("reencode_run")
    assert _train(root, output, "--train-reencode", ",".join(SETTINGS)) == 0
    first = {"copies": _mtimes(output / "train_reencoded", "*.mp4"), "faces": _mtimes(output / "face_cache", "*.npz")}
    report = json.loads((output / "train_report.json").read_text())
    assert _train(root, output, "--train-reencode", ",".join(SETTINGS)) == 0
    second = {"copies": _mtimes(output / "train_reencoded", "*.mp4"), "faces": _mtimes(output / "face_cache", "*.npz")}
    return {"root": root, "output": output, "first": first, "second": second, "report": report}


def _splits(root: Path) -> dict:
    from common.experiment import load_records, split_for_training

    return split_for_training(load_records("synthetic", root)[1], 0)


def test_one_copy_per_training_video_and_setting_and_none_of_validation_or_test(reencode_run):
    splits = _splits(reencode_run["root"])
    output = reencode_run["output"]
    train_stems = sorted(Path(r.path).stem for r in splits["train"])
    held_out = {Path(r.path).stem for name in ("val", "test") for r in splits[name]}
    assert train_stems and held_out
    for setting in SETTINGS:
        copies = sorted(output.joinpath("train_reencoded", setting).rglob("*.mp4"))
        assert [p.name for p in copies] == sorted(f"{stem}.{setting}.mp4" for stem in train_stems), \
            f"{setting}: expected exactly one copy of each training video"
    copied_from = {p.name.split(".")[0] for p in output.joinpath("train_reencoded").rglob("*.mp4")}
    assert not copied_from & held_out, "validation and test videos must not be re-encoded for training"

    report = reencode_run["report"]
    n_train = len(splits["train"])
    assert report["train_reencode"]["settings"] == list(SETTINGS)
    assert report["train_reencode"]["originals"] == n_train
    assert report["train_reencode"]["copies"] == len(SETTINGS) * n_train
    assert report["data"]["videos"] == {name: len(items) for name, items in splits.items()}
    # the copies' faces are cached beside the originals': one cache file per video the run read
    n_videos = n_train * (1 + len(SETTINGS)) + len(splits["val"]) + len(splits["test"])
    assert len(reencode_run["first"]["faces"]) == n_videos


def test_the_checkpoint_records_the_setting(reencode_run):
    from common.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(reencode_run["output"] / "spectrum_logistic_best.pt",
                                 expected_architecture="spectrum_logistic")
    assert checkpoint.extra["train_reencode"]["settings"] == list(SETTINGS)
    assert checkpoint.extra["train_reencode"]["copies"] == len(SETTINGS) * checkpoint.extra["data"]["videos"]["train"]


def test_the_copies_are_really_reencoded(reencode_run):
    splits = _splits(reencode_run["root"])
    source = Path(splits["train"][0].path)
    original = _frames(source)
    psnr = {}
    for setting in SETTINGS:
        copy = next(reencode_run["output"].joinpath("train_reencoded", setting).rglob(f"{source.stem}.{setting}.mp4"))
        assert copy.read_bytes() != source.read_bytes()
        frames = _frames(copy)
        assert frames.shape == original.shape, "a CRF re-encoding keeps every frame and the size"
        psnr[setting] = _psnr(original, frames)
    assert psnr["crf23"] >= TRAIN_REENCODE_CRF23_MIN_PSNR_DB, psnr
    assert psnr["crf40"] <= psnr["crf23"] - TRAIN_REENCODE_MIN_PSNR_GAP_DB, f"CRF 40 should lose more: {psnr}"


def test_a_second_run_reuses_the_copies_and_their_faces(reencode_run):
    first, second = reencode_run["first"], reencode_run["second"]
    assert first["copies"] and second["copies"] == first["copies"], "the second run encoded the copies again"
    assert second["faces"] == first["faces"], "the second run detected the faces again"


@pytest.mark.parametrize("value, words", [("crf23,jpeg", "jpeg"), ("raw,crf40", "raw"), (" , ", "--train-reencode"),
                                          ("crf99", "crf99")])
def test_a_bad_setting_exits_2_with_nothing_written(tmp_path, capsys, value, words):
    from common.errors import run_cli
    from common.tools.train import main

    output = tmp_path / "run"
    argv = ["--dataset", "synthetic", "--model", "spectrum_logistic", "--output-dir", str(output),
            "--train-reencode", value, "--quiet", "--solutions"]
    with pytest.raises(SystemExit) as stopped:
        run_cli(lambda args: main(args, phase=PHASE), argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert stopped.value.code == 2
    assert len(err) == 1 and err[0].startswith("error: ") and words in err[0], err
    assert not output.exists() and not list(tmp_path.iterdir())


def test_training_copies_refuse_raw_and_parse_the_evaluate_names():
    from common.compression import parse_training_reencodings
    from common.errors import CourseError

    assert [(r.name, r.crf, r.scale) for r in parse_training_reencodings("crf23,half,crf30")] == \
        [("crf23", 23, 1.0), ("half", 18, 0.5), ("crf30", 30, 1.0)]
    with pytest.raises(CourseError, match="raw"):
        parse_training_reencodings("raw")
    with pytest.raises(CourseError, match="unknown re-encoding 'jpeg'") as refused:
        parse_training_reencodings("crf40,jpeg")
    assert "raw" not in str(refused.value), "the choices offered for training copies must not include raw"
