"""Phase 1 tools and their plumbing: model registry, face-crop cache, train.py and evaluate.py.

Oracles: scores of the model that wrote a checkpoint (for the reloaded one), what a scripted face
extractor reported (for the cache's no-face bookkeeping), the test metrics train.py stored (for
evaluate.py's reproduction), and chance level 0.5 (for "the trained detector learnt something").
Runs on the reference solutions only (``pytest --solutions``).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from tests.tolerances import PHASE1_TOOL_MIN_TRAIN_AUC, RELOADED_SCORES_ATOL

pytestmark = pytest.mark.usefixtures("solutions_tree")

ROOT = Path(__file__).resolve().parents[2]
# GAN upsampling only: its periodic grid is the artefact a small CNN learns from a dozen clips in
# seconds (face swaps need hundreds of clips); crops keep the video's 96 px so the grid survives.
TINY_BENCHMARK = dict(n_clips=24, seed=0, n_frames=8, size=96, methods=["FaceSwap"])
TINY_CROP = 96


def _run(main, argv, capsys) -> tuple[int, str]:
    """Run a tool's main through run_cli in this process: (exit status, stderr)."""
    from common.errors import run_cli

    with pytest.raises(SystemExit) as stopped:
        run_cli(main, argv)
    return stopped.value.code, capsys.readouterr().err


def _assert_one_line_error(code: int, err: str, *words: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2, f"expected exit status 2, got {code}; stderr: {err!r}"
    assert len(lines) == 1 and lines[0].startswith("error: "), f"expected one 'error: ...' line, got {err!r}"
    for word in words:
        assert word.lower() in lines[0].lower(), f"the message should mention {word!r}: {lines[0]!r}"


# --------------------------------------------------------------------------------------------
# Model registry
# --------------------------------------------------------------------------------------------


def test_registry_lists_the_phase1_models_with_their_input_specs():
    from common import models

    assert {"xceptionnet", "efficientnet", "mesonet", "baseline", "transfer"} <= set(models.MODEL_NAMES)
    assert models.input_spec("mesonet") == (256, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    assert models.input_spec("mesonet", {"input_size": 128})[0] == 128
    assert models.input_spec("transfer") == (224, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    assert models.input_spec("xceptionnet") == (299, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))


@pytest.mark.parametrize("name, size", [("mesonet", 64), ("baseline", 64), ("transfer", 64), ("xceptionnet", 64),
                                        ("efficientnet", 64)])
def test_build_model_gives_one_logit_per_image(name, size):
    from common.models import build_model, model_config

    model = build_model(name, **model_config(name, input_size=size)).eval()
    assert model(torch.zeros(2, 3, size, size)).reshape(-1).shape == (2,), f"{name} must give one logit per image"


def test_unknown_model_name_is_a_one_line_course_error():
    from common.errors import CourseError
    from common.models import build_model

    with pytest.raises(CourseError, match="unknown model 'resnet9000'"):
        build_model("resnet9000")


def test_load_detector_rebuilds_the_model_that_wrote_the_checkpoint(tmp_path):
    from common.checkpoint import save_checkpoint
    from common.models import build_model, load_detector, model_config

    config = model_config("mesonet", input_size=64)
    torch.manual_seed(0)
    original = build_model("mesonet", **config).eval()
    path = save_checkpoint(tmp_path / "meso.pt", original, architecture="mesonet", model_config=config, threshold=0.4)
    images = torch.randn(3, 3, 64, 64)
    reloaded, checkpoint = load_detector(path, "cpu")
    assert checkpoint.architecture == "mesonet" and checkpoint.threshold == pytest.approx(0.4)
    assert not reloaded.training, "load_detector must return the model in eval mode"
    with torch.no_grad():
        torch.testing.assert_close(reloaded(images), original(images), atol=RELOADED_SCORES_ATOL, rtol=0)


def test_load_detector_refuses_a_checkpoint_of_another_model(tmp_path):
    from common.checkpoint import save_checkpoint
    from common.errors import CheckpointError
    from common.models import build_model, load_detector, model_config

    config = model_config("mesonet", input_size=64)
    path = save_checkpoint(tmp_path / "meso.pt", build_model("mesonet", **config), architecture="mesonet",
                           model_config=config)
    with pytest.raises(CheckpointError, match="for architecture 'mesonet', expected 'baseline'"):
        load_detector(path, "cpu", expected_architecture="baseline")


# --------------------------------------------------------------------------------------------
# Face-crop cache
# --------------------------------------------------------------------------------------------


class ScriptedExtractor:
    """A stand-in for FaceExtractor: a face (a flat grey crop) on even frame indices, none on odd ones."""

    def __init__(self, size: int):
        self.size, self.calls = size, 0

    def extract(self, frames, frame_indices):
        from phase1_cnn_detection.template_face_extraction import Face, FrameFaces

        self.calls += 1
        results = []
        for frame, index in zip(frames, frame_indices):
            faces = []
            if index % 2 == 0:
                crop = np.full((self.size, self.size, 3), index % 256, np.uint8)
                faces = [Face(np.zeros(4, np.float32), np.zeros((5, 2), np.float32), 0.99, crop)]
            results.append(FrameFaces(int(index), faces))
        return results


@pytest.fixture
def two_videos(tmp_path):
    from common.datasets import VideoRecord
    from common.video import write_video

    records = []
    for number, label in enumerate((0, 1)):
        path = write_video(tmp_path / f"v{number}.mp4", np.full((10, 32, 32, 3), 40 * number, np.uint8), fps=10)
        records.append(VideoRecord(path, label, "real" if label == 0 else "fake", f"g{number}", None, "folder"))
    return records


def test_face_cache_records_frames_without_a_face_in_metadata_and_summary(two_videos, tmp_path):
    from common.faces import build_face_cache
    from common.torch_data import FaceCropDataset, read_face_cache

    result = build_face_cache(two_videos, tmp_path / "cache", n_frames=5, size=16, extractor=ScriptedExtractor(16),
                              progress=False)
    assert len(result) == 2 and all(path.is_file() for path in result), "one cache file per video"
    cache = read_face_cache(result[0])
    # 5 evenly spaced frames of 10; the scripted extractor finds a face on the even indices only
    accounted = cache.meta["no_face_indices"] + cache.frame_indices.tolist()
    assert len(accounted) == len(set(accounted)) == 5, "every sampled frame is either cropped or listed as no-face"
    assert all(i % 2 == 0 for i in cache.frame_indices), "crops come from frames with a face only"
    assert cache.meta["no_face_indices"] and all(i % 2 == 1 for i in cache.meta["no_face_indices"]), \
        "frames without a face must be listed in the cache metadata"
    summary = result.summary()
    assert summary["frames_without_face"] == sum(len(e.no_face_indices) for e in result.entries) > 0
    assert summary["faces"] == len(FaceCropDataset(tmp_path / "cache", two_videos)), "dataset sees every cached face"


def test_face_cache_is_reused_for_the_same_settings_and_redone_for_new_ones(two_videos, tmp_path):
    from common.faces import build_face_cache

    extractor = ScriptedExtractor(16)
    build_face_cache(two_videos, tmp_path / "cache", n_frames=5, size=16, extractor=extractor, progress=False)
    assert extractor.calls == 2
    again = build_face_cache(two_videos, tmp_path / "cache", n_frames=5, size=16, extractor=extractor, progress=False)
    assert extractor.calls == 2 and all(e.reused for e in again.entries), "same videos + settings: nothing recomputed"
    build_face_cache(two_videos, tmp_path / "cache", n_frames=4, size=16, extractor=extractor, progress=False)
    assert extractor.calls == 4, "another frame count must redo the crops"


def test_unreadable_video_gets_an_empty_cache_and_is_reported(tmp_path):
    from common.datasets import VideoRecord
    from common.faces import build_face_cache

    broken = tmp_path / "broken.mp4"
    broken.write_text("not a video")
    record = VideoRecord(broken, 1, "fake", "g", None, "folder")
    result = build_face_cache([record], tmp_path / "cache", n_frames=4, size=16, extractor=ScriptedExtractor(16),
                              progress=False)
    summary = result.summary()
    assert summary["faces"] == 0 and str(broken) in summary["unreadable_videos"], "an unreadable video must be reported"
    assert str(broken) in summary["videos_without_any_face"]


# --------------------------------------------------------------------------------------------
# train.py + evaluate.py end to end
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_benchmark(tmp_path_factory) -> Path:
    from common.synthetic import write_benchmark

    root = tmp_path_factory.mktemp("phase1") / "mini-forensics"
    write_benchmark(root, progress=False, **TINY_BENCHMARK)
    return root


@pytest.fixture(scope="module")
def trained_run(tiny_benchmark, tmp_path_factory) -> Path:
    from common.tools.train import main

    output = tmp_path_factory.mktemp("phase1_run")
    code = main(["--dataset", "synthetic", "--data-root", str(tiny_benchmark), "--model", "baseline",
                 "--image-size", str(TINY_CROP), "--frames", "8", "--epochs", "10", "--patience", "10", "--batch-size", "8",
                 "--monitor", "val_loss", "--no-augment", "--device", "cpu", "--output-dir", str(output), "--quiet", "--solutions"])
    assert code == 0
    return output


def test_train_writes_checkpoint_report_and_stores_its_preprocessing(trained_run):
    from common.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(trained_run / "baseline_best.pt", expected_architecture="baseline")
    assert checkpoint.extra["preprocessing"]["size"] == TINY_CROP and checkpoint.extra["preprocessing"]["n_frames"] == 8
    assert checkpoint.model_config["input_size"] == TINY_CROP
    report = json.loads((trained_run / "train_report.json").read_text())
    assert report["history"] and report["test"]["video"]["n"] > 0, "train_report.json needs history and test metrics"
    assert report["faces"]["videos"] > 0


def test_train_report_records_the_augmentation(trained_run):
    report = json.loads((trained_run / "train_report.json").read_text())
    assert report["augmentation"] == "none", "--no-augment must be recorded as augmentation 'none'"


def _checkerboard_share(face: np.ndarray) -> float:
    """Share of the spectrum's energy (DC excluded) at (0.5, 0.5) cycles/pixel, the GAN grid's frequency."""
    gray = face.astype(np.float64).mean(axis=-1)
    power = np.abs(np.fft.fft2(gray - gray.mean())) ** 2
    return float(power[gray.shape[0] // 2, gray.shape[1] // 2] / power.sum())


def test_mild_augmentation_keeps_a_gan_grid_that_forensic_augmentation_erases():
    from common.preprocessing import Preprocessing

    rows, cols = np.mgrid[0:64, 0:64]
    smooth = 110 + 30 * np.sin(rows / 9.0) * np.cos(cols / 13.0)
    face = np.repeat((smooth + 12 * (-1.0) ** (rows + cols))[..., None], 3, axis=-1).astype(np.uint8)
    prep = Preprocessing(64, (0.0, 0.0, 0.0), (1 / 255, 1 / 255, 1 / 255), 1.3, 4)  # tensor = pixel values
    original = _checkerboard_share(face)

    def shares(augment: str) -> np.ndarray:
        transform = prep.train_transform(augment, seed=0)
        return np.array([_checkerboard_share(transform(face).numpy().transpose(1, 2, 0)) for _ in range(30)])

    mild, forensic = shares("mild"), shares("forensic")
    assert mild.min() > 0.9 * original, f"mild augmentation weakened the grid: share {mild.min():.3f} vs {original:.3f}"
    erased = float((forensic < 0.1 * original).mean())
    # rotation (p 0.3) or blur (p 0.2) resample every pixel: 1 - 0.7 * 0.8 = 44% of draws on average
    assert erased >= 0.25, f"forensic augmentation erased the grid in only {erased:.0%} of 30 draws"


def test_unknown_augmentation_is_a_one_line_course_error():
    from common.errors import CourseError
    from common.preprocessing import Preprocessing

    with pytest.raises(CourseError, match="unknown augmentation 'heavy'"):
        Preprocessing(64, (0.5,) * 3, (0.5,) * 3, 1.3, 4).train_transform("heavy", seed=0)


def test_evaluate_on_the_training_videos_is_clearly_above_chance(trained_run, tiny_benchmark, capsys):
    from common.tools.evaluate import main

    output = trained_run / "eval_train"
    code = main(["--checkpoint", str(trained_run / "baseline_best.pt"), "--test-data", str(tiny_benchmark),
                 "--split", "train", "--device", "cpu", "--output-dir", str(output), "--quiet", "--solutions"])
    assert code == 0
    for name in ("metrics.json", "roc_frame.png", "roc_video.png", "confusion_frame.png", "confusion_video.png"):
        assert (output / name).is_file(), f"evaluate.py must write {name}"
    metrics = json.loads((output / "metrics.json").read_text())
    # every training video of the manifest is scored once, under its own label (oracle: the manifest)
    manifest = json.loads((tiny_benchmark / "manifest.json").read_text())
    truth = {Path(c["file"]).name: c["label"] for c in manifest["clips"] if c["split"] == "train"}
    scored = {Path(v["video"]).name: v for v in metrics["videos"]}
    assert sorted(scored) == sorted(truth), "evaluate.py must score exactly the manifest's training videos"
    assert all(v["label"] == truth[name] for name, v in scored.items()), "a video was scored under another label"
    names = sorted(truth)
    assert metrics["video"]["roc_auc"] == pytest.approx(
        roc_auc_score([truth[n] for n in names], [scored[n]["score"] for n in names])), "video AUC disagrees with sklearn"
    auc = metrics["frame"]["roc_auc"]
    assert auc >= PHASE1_TOOL_MIN_TRAIN_AUC, f"frame AUC {auc:.3f} on the training videos: the pipeline learnt nothing"
    assert "AUC" in capsys.readouterr().out, "evaluate.py prints a metrics table"


def test_evaluate_reproduces_the_test_metrics_stored_by_train(trained_run, tiny_benchmark):
    from common.checkpoint import load_checkpoint
    from common.tools.evaluate import main

    output = trained_run / "eval_test"
    assert main(["--checkpoint", str(trained_run / "baseline_best.pt"), "--test-data", str(tiny_benchmark),
                 "--device", "cpu", "--output-dir", str(output), "--quiet", "--solutions"]) == 0
    stored = load_checkpoint(trained_run / "baseline_best.pt").extra["test_metrics"]
    metrics = json.loads((output / "metrics.json").read_text())
    for level in ("frame", "video"):
        assert metrics[level]["n"] == stored[level]["n"], f"{level}: evaluate.py scored other samples than train.py"
        assert metrics[level]["log_loss"] == pytest.approx(stored[level]["log_loss"], abs=1e-6), \
            f"{level}: evaluate.py does not reproduce train.py's test scores"


# --------------------------------------------------------------------------------------------
# Bad input: one line, exit 2
# --------------------------------------------------------------------------------------------


def test_train_with_a_missing_data_root_fails_in_one_line(tmp_path, capsys):
    from common.tools.train import main

    code, err = _run(main, ["--dataset", "folder", "--data-root", str(tmp_path / "nowhere"), "--model", "mesonet",
                            "--output-dir", str(tmp_path / "out"), "--solutions"], capsys)
    _assert_one_line_error(code, err, "nowhere", "does not exist")


def test_train_with_the_wrong_layout_fails_in_one_line(tmp_path, capsys):
    from common.tools.train import main

    (tmp_path / "data" / "some_folder").mkdir(parents=True)
    code, err = _run(main, ["--dataset", "faceforensics", "--data-root", str(tmp_path / "data"), "--model", "mesonet",
                            "--output-dir", str(tmp_path / "out"), "--solutions"], capsys)
    _assert_one_line_error(code, err)


def test_train_with_an_unknown_model_fails_in_one_line(tmp_path, capsys):
    from common.tools.train import main

    code, err = _run(main, ["--dataset", "synthetic", "--data-root", str(tmp_path), "--model", "resnet9000",
                            "--output-dir", str(tmp_path / "out"), "--solutions"], capsys)
    _assert_one_line_error(code, err, "resnet9000", "mesonet")


def test_train_refuses_a_checkpoint_path_that_is_not_a_pt_file_and_writes_nothing(tmp_path, capsys):
    from common.tools.train import main

    data = tmp_path / "data"
    data.mkdir()
    manifest = data / "manifest.json"
    manifest.write_text('{"clips": []}')
    code, err = _run(main, ["--dataset", "synthetic", "--data-root", str(data), "--model", "mesonet", "--checkpoint",
                            str(manifest), "--output-dir", str(tmp_path / "out"), "--solutions"], capsys)
    _assert_one_line_error(code, err, "manifest.json", ".pt or .pth")
    assert manifest.read_text() == '{"clips": []}' and not (tmp_path / "out").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_train_on_cuda_without_a_gpu_fails_in_one_line(tmp_path, capsys):
    from common.tools.train import main

    (tmp_path / "data").mkdir()
    code, err = _run(main, ["--dataset", "synthetic", "--data-root", str(tmp_path / "data"), "--model", "mesonet",
                            "--device", "cuda", "--output-dir", str(tmp_path / "out"), "--solutions"], capsys)
    _assert_one_line_error(code, err, "cuda")


def test_evaluate_a_checkpoint_of_another_model_fails_in_one_line(tmp_path, capsys):
    from common.checkpoint import save_checkpoint
    from common.models import build_model, model_config
    from common.tools.evaluate import main

    config = model_config("mesonet", input_size=64)
    path = save_checkpoint(tmp_path / "meso.pt", build_model("mesonet", **config), architecture="mesonet",
                           model_config=config)
    code, err = _run(main, ["--checkpoint", str(path), "--model", "baseline", "--test-data", str(tmp_path),
                            "--device", "cpu", "--solutions"], capsys)
    _assert_one_line_error(code, err, "mesonet", "baseline")


def test_evaluate_detect_every_below_1_fails_in_one_line_before_any_output(tmp_path, capsys):
    from common.tools.evaluate import main

    code, err = _run(main, ["--checkpoint", str(tmp_path / "nope.pt"), "--test-data", str(tmp_path), "--detect-every",
                            "0", "--output-dir", str(tmp_path / "eval"), "--device", "cpu", "--solutions"], capsys)
    _assert_one_line_error(code, err, "--detect-every")
    assert not (tmp_path / "eval").exists()


def test_evaluate_a_missing_checkpoint_fails_in_one_line(tmp_path, capsys):
    from common.tools.evaluate import main

    code, err = _run(main, ["--checkpoint", str(tmp_path / "nope.pt"), "--test-data", str(tmp_path),
                            "--device", "cpu", "--solutions"], capsys)
    _assert_one_line_error(code, err, "nope.pt", "not found")


def test_train_script_reports_bad_input_in_one_line_with_exit_2(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "phase1_cnn_detection" / "train.py"), "--dataset", "folder",
                           "--data-root", str(tmp_path / "missing"), "--model", "mesonet", "--solutions"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    _assert_one_line_error(done.returncode, done.stderr, "missing")


def test_train_calibrates_video_probabilities_on_validation_videos(trained_run, tiny_benchmark):
    """The checkpoint stores Platt scaling (the default ``--calibration``) fitted on the validation
    videos (never the test ones), and keeps the videos and their people so it can be refitted."""
    from common.calibration import Calibration, fit_platt
    from common.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(trained_run / "baseline_best.pt")
    stored = Calibration.from_dict(checkpoint.extra["calibration"])
    report = json.loads((trained_run / "train_report.json").read_text())
    assert stored.n_videos == report["data"]["videos"]["val"], "Platt scaling must be fitted on the validation videos"
    assert stored.aggregation == "mean"
    # the videos it was fitted on are kept, and refitting on them gives the stored curve
    fitted_on = checkpoint.extra["calibration_videos"]
    assert len(fitted_on["raw_scores"]) == len(fitted_on["labels"]) == stored.n_videos
    test_videos = {str(v["video"]) for v in report["test"]["videos"]}
    assert len(set(fitted_on["videos"])) == stored.n_videos and not set(fitted_on["videos"]) & test_videos
    manifest = json.loads((tiny_benchmark / "manifest.json").read_text())
    person = {Path(c["file"]).name: c["group"] for c in manifest["clips"]}
    assert fitted_on["people"] == [person[Path(v).name] for v in fitted_on["videos"]]
    refit = fit_platt(fitted_on["raw_scores"], fitted_on["labels"])
    assert stored.method == "platt" and stored.a_below is None
    assert (refit.a, refit.b) == pytest.approx((stored.a, stored.b), abs=1e-3)
    test = report["test"]["calibration"]
    assert test["calibrated"] and test["threshold"] == 0.5
    # the test's video metrics are taken where the calibrated probability reaches 0.5
    assert report["test"]["video"]["threshold"] == pytest.approx(stored.raw_threshold())


def test_evaluate_reports_calibration_and_draws_the_reliability_diagram(trained_run, tiny_benchmark):
    from common.calibration import Calibration, brier_score, expected_calibration_error, gaps_if_calibrated
    from common.checkpoint import load_checkpoint
    from common.tools.evaluate import main

    output = trained_run / "eval_calibration"
    assert main(["--checkpoint", str(trained_run / "baseline_best.pt"), "--test-data", str(tiny_benchmark),
                 "--device", "cpu", "--output-dir", str(output), "--quiet", "--solutions"]) == 0
    metrics = json.loads((output / "metrics.json").read_text())
    calibration = Calibration.from_dict(load_checkpoint(trained_run / "baseline_best.pt").extra["calibration"])
    labels = [v["label"] for v in metrics["videos"]]
    probabilities = [calibration.apply(v["score"]) for v in metrics["videos"]]
    section = metrics["calibration"]
    assert section["brier"] == pytest.approx(brier_score(labels, probabilities))
    assert section["ece"] == pytest.approx(expected_calibration_error(labels, probabilities))
    assert section["accuracy_at_best_threshold_oracle"] >= section["accuracy_at_threshold"]
    chance = gaps_if_calibrated(probabilities, [v["score"] for v in metrics["videos"]])
    for gap, figures in chance.items():
        assert section["gaps_if_calibrated"][gap] == pytest.approx(figures), \
            f"the report gives the {gap} gap a perfectly calibrated detector shows on these videos"
    assert (output / "reliability_video.png").is_file(), "evaluate.py must draw the reliability diagram"


def test_detect_video_gives_the_calibrated_probability_and_decides_at_one_half(trained_run, tiny_benchmark, tmp_path):
    from common.calibration import Calibration
    from common.checkpoint import load_checkpoint
    from common.tools.detect import main

    video = next((tiny_benchmark / "videos" / "test").glob("*.mp4"))
    output = tmp_path / "report.json"
    assert main(["--input", str(video), "--model", str(trained_run / "baseline_best.pt"), "--output", str(output),
                 "--device", "cpu", "--quiet", "--solutions"]) == 0
    entry = json.loads(output.read_text())["detectors"][0]
    calibration = Calibration.from_dict(load_checkpoint(trained_run / "baseline_best.pt").extra["calibration"])
    assert entry["threshold"] == 0.5 and entry["calibration"]["method"] == "platt"
    assert entry["video_score"] == pytest.approx(calibration.apply(entry["raw_video_score"]), abs=1e-12)
