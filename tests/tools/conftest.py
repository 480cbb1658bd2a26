"""Shared fixtures of the tool tests: small synthetic clips on disk and a tiny trained checkpoint.

Everything is built once per test session (session-scoped) in a temporary folder, from the
mini-forensics generator (real face photographs, see :mod:`common.synthetic`), so the tests need no
dataset and no network. The clips come with their ground-truth face boxes, which the tests use as
the oracle for where a face is.

The tool tests run on the reference solutions (``pytest --solutions``); on the templates the
fixtures are never reached because every tool test module skips itself first.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from grader import tree

TOOLS_NEED_SOLUTIONS = (
    "tool tests run the reference solutions: use `pytest --solutions` "
    "(on the templates the face extractor and models still have TODOs)"
)


@pytest.fixture(scope="session")
def solutions_tree() -> None:
    """Skip the test unless the reference solutions are the active tree (mark modules with
    ``pytestmark = pytest.mark.usefixtures("solutions_tree")``). Checked at test time: the tree is
    chosen by the root conftest after this file is imported. Session-scoped so that it runs before
    the session fixtures that build models (which would meet the templates' TODOs)."""
    if tree.active_name() != "solutions":
        pytest.skip(TOOLS_NEED_SOLUTIONS)


CLIP_SIZE = 128
CLIP_FRAMES = 24
CLIP_FPS = 25.0
TINY_INPUT_SIZE = 64
TRAIN_IDENTITIES = ("lfw_010", "lfw_011")
TEST_IDENTITIES = ("astronaut", "lfw_020")


@dataclass
class ClipFile:
    """A clip written to disk: its path, its frames (T, H, W, 3) uint8 RGB and truth face boxes (T, K, 4)."""

    path: Path
    frames: np.ndarray
    boxes: np.ndarray


def load_script(relative_path: str):
    """A tool script of a phase folder (``phase5_advanced_methods/explain_faces.py``) loaded from its
    file: under ``--solutions`` the phase folder's name is the solutions tree, so the script is not
    importable by name."""
    import importlib.util

    path = Path(__file__).resolve().parents[2] / relative_path
    spec = importlib.util.spec_from_file_location(f"script_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write(path: Path, frames: np.ndarray, boxes: np.ndarray, **kwargs) -> ClipFile:
    from common.video import write_video

    write_video(path, frames, fps=CLIP_FPS, **kwargs)
    return ClipFile(path, frames, boxes)


def phone_clip(path: Path, method: str, *, seed: int, **identities) -> Path:
    """A clip as a phone films it, with a variable frame rate: rendered at 60 fps for 1.2 s, written
    with every other frame of its first 0.5 s (30 fps: frames 0-14) and every frame after (60 fps:
    frames 15-56), each at its rendered time. 128-px frames; ``identities``: make_clip's."""
    from common.synthetic import make_clip
    from common.video import write_video

    clip = make_clip(method, seed=seed, n_frames=72, size=CLIP_SIZE, fps=60.0, **identities)
    kept = np.r_[np.arange(0, 30, 2), np.arange(30, 72)]
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_video(path, clip.frames[kept], fps=48.0, timestamps_s=kept / 60.0)


@pytest.fixture(scope="session")
def tools_dir(tmp_path_factory) -> Path:
    """A session-wide scratch folder."""
    return tmp_path_factory.mktemp("tools")


@pytest.fixture(scope="session")
def clip_files(tools_dir: Path) -> dict[str, ClipFile]:
    """Small H.264 clips: ``real``, ``fake`` (FaceSwap), ``two_faces`` (the two side by side),
    ``no_face`` (smooth noise), ``one_frame``; 24 frames of 128x128 px at 25 fps (two_faces 128x256).
    """
    from common.synthetic import make_clip

    real = make_clip("real", seed=101, n_frames=CLIP_FRAMES, size=CLIP_SIZE, identity=TEST_IDENTITIES[0])
    fake = make_clip("FaceSwap", seed=102, n_frames=CLIP_FRAMES, size=CLIP_SIZE, identity=TEST_IDENTITIES[1],
                     source_identity=TEST_IDENTITIES[0])
    real_boxes = real.truth.boxes[:, None, :]
    fake_boxes = fake.truth.boxes[:, None, :]
    shifted = fake_boxes + np.array([CLIP_SIZE, 0, CLIP_SIZE, 0], dtype=np.float32)
    rng = np.random.default_rng(7)
    noise = rng.integers(60, 200, size=(CLIP_FRAMES, 12, 16, 3)).astype(np.uint8)
    no_face = np.stack([np.kron(frame, np.ones((8, 8, 1), np.uint8)) for frame in noise])  # 96x128 blocks
    folder = tools_dir / "clips"
    return {
        "real": _write(folder / "real.mp4", real.frames, real_boxes),
        "fake": _write(folder / "fake.mp4", fake.frames, fake_boxes),
        "two_faces": _write(folder / "two_faces.mp4", np.concatenate([real.frames, fake.frames], axis=2),
                            np.concatenate([real_boxes, shifted], axis=1)),
        "no_face": _write(folder / "no_face.mp4", no_face, np.zeros((CLIP_FRAMES, 0, 4), np.float32)),
        "one_frame": _write(folder / "one_frame.mp4", real.frames[:1], real_boxes[:1]),
    }


def _training_crops(seeds: range, method: str, n_frames: int) -> np.ndarray:
    """Face crops (N, S, S, 3) cut around the truth boxes of freshly generated clips.

    Two training identities only (each new identity costs about a second of landmark detection),
    none of them shown in the test clips.
    """
    from common.synthetic import make_clip
    from phase1_cnn_detection.template_face_extraction import crop_face

    crops = []
    for number, seed in enumerate(seeds):
        target, source = TRAIN_IDENTITIES[number % 2], TRAIN_IDENTITIES[(number + 1) % 2]
        extra = {"source_identity": source} if method != "real" else {}
        clip = make_clip(method, seed=seed, n_frames=n_frames, size=CLIP_SIZE, identity=target, **extra)
        crops += [crop_face(frame, box, TINY_INPUT_SIZE) for frame, box in zip(clip.frames, clip.truth.boxes)]
    return np.stack(crops)


@pytest.fixture(scope="session")
def tiny_checkpoint(tools_dir: Path) -> Path:
    """A ``baseline`` CNN at 64 px trained for 3 epochs on truth-box crops of 8 synthetic clips.

    Written by :func:`common.training.fit` with :func:`common.checkpoint.save_checkpoint`, exactly
    as ``phase1_cnn_detection/train.py`` writes its checkpoints (architecture + config + Youden
    threshold). It is weak (a few seconds of CPU training): tests use it for plumbing, not accuracy.
    """
    import torch
    from torch.utils.data import TensorDataset

    from common.models import build_model, input_spec, model_config
    from common.training import TrainConfig, fit

    config = model_config("baseline", input_size=TINY_INPUT_SIZE)
    _, mean, std = input_spec("baseline", config)
    real = _training_crops(range(1, 5), "real", 12)
    fake = _training_crops(range(5, 9), "FaceSwap", 12)
    crops = np.concatenate([real, fake])
    labels = np.concatenate([np.zeros(len(real)), np.ones(len(fake))]).astype(np.float32)
    images = torch.from_numpy(crops).permute(0, 3, 1, 2).float() / 255.0
    images = (images - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    dataset = TensorDataset(images, torch.from_numpy(labels))
    path = tools_dir / "tiny_baseline.pt"
    torch.manual_seed(0)
    model = build_model("baseline", **config)
    fit(model, dataset, dataset, config=TrainConfig(epochs=3, batch_size=16, lr=1e-3, progress=False, patience=None),
        device="cpu", checkpoint_path=path, architecture="baseline", model_config=config)
    return path


@pytest.fixture(scope="session")
def detected(clip_files: dict[str, ClipFile], tiny_checkpoint: Path, tools_dir: Path) -> dict[str, Path]:
    """Reports of detect_video.py (8 frames) on the real, fake and two-face clips, run once."""
    from common.tools.detect import main

    reports = {}
    for name in ("real", "fake", "two_faces"):
        output = tools_dir / "reports" / f"{name}.json"
        output.parent.mkdir(exist_ok=True)
        code = main(["--input", str(clip_files[name].path), "--model", str(tiny_checkpoint), "--output", str(output),
                     "--frames", "8", "--device", "cpu", "--quiet"])
        assert code == 0, f"detect_video.py exited with {code} on {name}"
        reports[name] = output
    return reports


CLIP_DETECTOR_FRAMES = 8
CLIP_DETECTOR_WEIGHTS = (1.0, 0.0, 1.0, 0.0)
CLIP_DETECTOR_BIAS = 3.0


def _save_clip_detector(path: Path, **preprocessing_extra) -> Path:
    import torch

    from common.checkpoint import save_checkpoint
    from common.models import build_model

    model = build_model("frame_difference")
    with torch.no_grad():
        model.linear.weight.copy_(torch.tensor([CLIP_DETECTOR_WEIGHTS]))
        model.linear.bias.fill_(CLIP_DETECTOR_BIAS)
    preprocessing = {"size": TINY_INPUT_SIZE, "mean": [0.0] * 3, "std": [1.0] * 3, "scale": 1.3,
                     "n_frames": CLIP_DETECTOR_FRAMES, **preprocessing_extra}
    return save_checkpoint(path, model, architecture="frame_difference", model_config={},
                           threshold=0.5, extra={"preprocessing": preprocessing})


@pytest.fixture(scope="session")
def clip_checkpoint(tools_dir: Path) -> Path:
    """A ``frame_difference`` clip detector (task 2.1's energy + logistic regression) with fixed,
    hand-chosen weights, saved as ``train.py`` saved checkpoints before clips had a rate: clips of
    8 consecutive frames, 64-px crops. The tests know its weights, so they can score a clip by hand."""
    return _save_clip_detector(tools_dir / "flicker.pt")


@pytest.fixture(scope="session")
def rated_clip_checkpoint(tools_dir: Path) -> Path:
    """:func:`clip_checkpoint` saved as ``train.py`` saves it now: its clips are read at 25 fps."""
    return _save_clip_detector(tools_dir / "flicker_25fps.pt", clip_fps=CLIP_FPS)
