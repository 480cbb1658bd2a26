"""Phase 5 tools: the capsule and attention detectors through train.py, evaluate.py and
detect_video.py, and ``visualize_detection.py --gradcam`` drawing the course's one Grad-CAM.

Oracles: the test metrics train.py stored (for evaluate.py's reproduction), the detector's own
scores of the same crops (for detect_video.py), pytorch-grad-cam on the same checkpoint and layer
(for the heat maps), and a substituted exercise function (for "the tool uses task 5.10's code").
Runs on the reference solutions only (``pytest --solutions``).
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.tolerances import GRADCAM_VS_LIBRARY_ATOL

pytestmark = pytest.mark.usefixtures("solutions_tree")

PHASE = "phase5_advanced_methods"
TINY_BENCHMARK = dict(n_clips=12, seed=0, n_frames=8, size=96, methods=["GANUpsample"])


@pytest.fixture(scope="module")
def tiny_benchmark(tmp_path_factory) -> Path:
    from common.synthetic import write_benchmark

    root = tmp_path_factory.mktemp("phase5") / "mini-forensics"
    write_benchmark(root, progress=False, **TINY_BENCHMARK)
    return root


def _train(benchmark: Path, output: Path, model: str, size: int, epochs: int) -> Path:
    from common.tools.train import main

    code = functools.partial(main, phase=PHASE)(
        ["--dataset", "synthetic", "--data-root", str(benchmark), "--model", model, "--image-size", str(size),
         "--frames", "2", "--epochs", str(epochs), "--patience", str(epochs), "--batch-size", "8", "--no-augment",
         "--device", "cpu", "--output-dir", str(output), "--quiet", "--solutions"])
    assert code == 0, f"phase5_advanced_methods/train.py --model {model} failed"
    return output / f"{model}_best.pt"


@pytest.fixture(scope="module")
def attention_checkpoint(tiny_benchmark, tmp_path_factory) -> Path:
    return _train(tiny_benchmark, tmp_path_factory.mktemp("attention_run"), "attention_cnn", 64, 2)


@pytest.fixture(scope="module")
def capsule_checkpoint(tiny_benchmark, tmp_path_factory) -> Path:
    return _train(tiny_benchmark, tmp_path_factory.mktemp("capsule_run"), "capsule_forensics", 32, 1)


def test_phase5_registers_its_detectors_as_frame_models():
    from common.registry import models_of_phase

    rows = models_of_phase(PHASE)
    assert {"capsule_forensics", "attention_cnn"} <= set(rows), "phase 5 registers capsule_forensics and attention_cnn"
    assert all(rows[name].kind == "frame" for name in ("capsule_forensics", "attention_cnn"))


@pytest.mark.parametrize("name", ["attention_checkpoint", "capsule_checkpoint"])
def test_evaluate_reproduces_the_test_metrics_stored_by_train(name, request, tiny_benchmark, tmp_path):
    from common.checkpoint import load_checkpoint
    from common.tools.evaluate import main

    checkpoint = request.getfixturevalue(name)
    output = tmp_path / "eval"
    assert functools.partial(main, phase=PHASE)(["--checkpoint", str(checkpoint), "--test-data", str(tiny_benchmark),
                                                 "--device", "cpu", "--output-dir", str(output), "--quiet",
                                                 "--solutions"]) == 0
    stored = load_checkpoint(checkpoint).extra["test_metrics"]
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["video"]["n"] == stored["video"]["n"] > 0, "evaluate.py scored other videos than train.py"
    assert metrics["video"]["log_loss"] == pytest.approx(stored["video"]["log_loss"], abs=1e-6)


@pytest.mark.parametrize("name", ["attention_checkpoint", "capsule_checkpoint"])
def test_detect_video_runs_the_phase5_detectors(name, request, tiny_benchmark, tmp_path):
    from common.tools.detect import main

    checkpoint = request.getfixturevalue(name)
    video = next((tiny_benchmark / "videos" / "test").glob("*.mp4"))
    output = tmp_path / "report.json"
    assert main(["--input", str(video), "--model", str(checkpoint), "--output", str(output), "--device", "cpu",
                 "--quiet", "--solutions"]) == 0
    entry = json.loads(output.read_text())["detectors"][0]
    assert entry["status"] == "ok" and 0.0 <= entry["video_score"] <= 1.0, f"detect_video.py gave {entry}"


def _crops(tiny_benchmark: Path, size: int) -> np.ndarray:
    import cv2

    from common.video import read_all_frames

    frames = read_all_frames(next((tiny_benchmark / "videos" / "test").glob("*.mp4")))[:3]
    return np.stack([cv2.resize(frame[10:86, 10:86], (size, size), interpolation=cv2.INTER_AREA) for frame in frames])


def test_visualize_gradcam_matches_pytorch_grad_cam(attention_checkpoint, tiny_benchmark):
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import BinaryClassifierOutputTarget

    from common.models import load_detector
    from common.preprocessing import checkpoint_preprocessing
    from common.tools.visualize import gradcam_maps, last_conv_layer

    model, checkpoint = load_detector(attention_checkpoint, "cpu")
    prep = checkpoint_preprocessing(checkpoint)
    crops = _crops(tiny_benchmark, prep.size)
    ours = gradcam_maps(model, crops, prep, torch.device("cpu"))
    with GradCAM(model=model, target_layers=[last_conv_layer(model)]) as cam:
        expected = cam(input_tensor=prep.normalise(crops, "cpu"), targets=[BinaryClassifierOutputTarget(1)] * len(crops))
    np.testing.assert_allclose(ours, expected, atol=GRADCAM_VS_LIBRARY_ATOL, err_msg="--gradcam differs from pytorch-grad-cam")


def test_visualize_gradcam_uses_the_exercise_grad_cam(attention_checkpoint, tiny_benchmark, monkeypatch):
    """The tool borrows task 5.10's function (no second copy): replacing it changes the tool's maps."""
    from common.models import load_detector
    from common.preprocessing import checkpoint_preprocessing
    from common.tools.visualize import gradcam_maps
    from phase5_advanced_methods import template_explainability

    model, checkpoint = load_detector(attention_checkpoint, "cpu")
    prep = checkpoint_preprocessing(checkpoint)
    crops = _crops(tiny_benchmark, prep.size)
    calls = []

    def marked(model, images, layer):
        calls.append(tuple(images.shape))
        return np.full((len(images), images.shape[-2], images.shape[-1]), 0.25, dtype=np.float32)

    monkeypatch.setattr(template_explainability, "grad_cam", marked)
    maps = gradcam_maps(model, crops, prep, torch.device("cpu"))
    assert calls == [(3, 3, prep.size, prep.size)] and np.all(maps == 0.25), "visualize must call task 5.10's grad_cam"


def _script(name: str):
    """A phase-5 script loaded from its file (the phase folder is the template tree, not a package here)."""
    from tests.tools.conftest import load_script

    return load_script(f"{PHASE}/{name}.py")


def test_measure_robustness_writes_the_curves_and_its_clean_accuracy_is_the_detectors(attention_checkpoint, tiny_benchmark,
                                                                                      tmp_path):
    from common.models import load_detector
    from common.preprocessing import checkpoint_preprocessing

    script = _script("measure_robustness")
    output = tmp_path / "robustness"
    assert script.main(["--checkpoint", str(attention_checkpoint), "--data-root", str(tiny_benchmark), "--faces-per-video",
                        "2", "--steps", "1", "--epochs", "1", "--output-dir", str(output), "--solutions"]) == 0
    results = json.loads((output / "robustness.json").read_text())
    assert (output / "robustness.png").is_file()
    assert results["epsilons"] == pytest.approx([0, 1 / 255, 2 / 255, 4 / 255, 8 / 255])
    for name in ("clean-trained", "adversarially trained"):
        assert all(len(results[name][stage]) == 5 for stage in ("before_h264", "after_h264"))
    faces, labels, _ = script.held_out_faces(attention_checkpoint, tiny_benchmark, "test", 2, 0)
    model, checkpoint = load_detector(attention_checkpoint, "cpu")
    prep = checkpoint_preprocessing(checkpoint)
    with torch.no_grad():
        logits = model(prep.normalise(faces, "cpu")).reshape(-1).numpy()
    expected = float(((logits > 0).astype(int) == labels).mean())
    assert results["clean-trained"]["before_h264"][0] == pytest.approx(expected), "eps 0 is the clean accuracy at P = 0.5"


def test_measure_robustness_refuses_a_missing_checkpoint_in_one_line(tmp_path, capsys):
    from common.errors import run_cli

    script = _script("measure_robustness")
    with pytest.raises(SystemExit) as stopped:
        run_cli(script.main, ["--checkpoint", str(tmp_path / "none.pt"), "--data-root", str(tmp_path), "--solutions"])
    err = capsys.readouterr().err.strip()
    assert stopped.value.code == 2 and err.startswith("error: ") and "none.pt" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("name", ["measure_robustness", "explain_faces"])
@pytest.mark.parametrize("case", ["clip detector", "output folder is a file"])
def test_a_bad_checkpoint_or_output_folder_is_one_line_and_no_folder_is_made(name, case, tiny_checkpoint,
                                                                             clip_checkpoint, tiny_benchmark,
                                                                             tmp_path, capsys):
    from common.errors import run_cli

    notes = tmp_path / "notes.txt"
    notes.write_text("keep me")
    checkpoint, output, words = ((clip_checkpoint, tmp_path / "out", "is a clip detector") if case == "clip detector"
                                 else (tiny_checkpoint, notes, "is a file, not a folder"))
    with pytest.raises(SystemExit) as stopped:
        run_cli(_script(name).main, ["--checkpoint", str(checkpoint), "--data-root", str(tiny_benchmark),
                                     "--output-dir", str(output), "--solutions"])
    err = capsys.readouterr().err.strip()
    assert stopped.value.code == 2 and err.startswith("error: ") and words in err and len(err.splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"] and notes.read_text() == "keep me"
