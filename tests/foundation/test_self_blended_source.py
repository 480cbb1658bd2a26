"""The Self-Blended Images data source (common/self_blended.py) and ``train.py --data-source sbi``.

The dataset is checked with a stand-in blending function (the real one is tasks 1.10-1.11, graded in
tests/phase1/test_self_blended_images.py), so these tests hold on the templates too; the end-to-end
training run needs the reference solutions (the face extractor and the blend) and skips elsewhere.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from skimage import data as skimage_data

from common.datasets import VideoRecord
from common.errors import CourseError, DatasetLayoutError
from common.self_blended import FACE_OVAL, SelfBlendedDataset, box_landmarks, crop_landmarks
from common.torch_data import record_id, write_face_cache
from grader import tree

SIZE = 16


def _record(folder: Path, name: str, label: int) -> VideoRecord:
    return VideoRecord(folder / f"{name}.mp4", label, "real" if label == 0 else "FaceSwap", name, "train", "test")


def _cache(folder: Path, specs: list[tuple[str, int, int]]) -> tuple[Path, list[VideoRecord]]:
    """Write face caches of (name, label, number of crops); crop k of video v is filled with 10 v + k."""
    cache_dir = folder / "faces"
    cache_dir.mkdir()
    records = []
    for number, (name, label, count) in enumerate(specs):
        record = _record(folder, name, label)
        faces = np.stack([np.full((SIZE, SIZE, 3), 10 * number + k, np.uint8) for k in range(count)]) if count else \
            np.zeros((0, SIZE, SIZE, 3), np.uint8)
        write_face_cache(cache_dir / f"{record_id(record)}.npz", faces, np.arange(count), label, group=name)
        records.append(record)
    return cache_dir, records


def stand_in_blend(face: np.ndarray, points: np.ndarray, rng: np.random.Generator):
    """Every pixel of the 'blend' is one random number: the draw shows which generator was used."""
    value = np.float32(rng.random())
    return np.full(face.shape, value, np.float32), np.ones(face.shape[:2], np.float32)


@pytest.fixture()
def source(tmp_path):
    cache_dir, records = _cache(tmp_path, [("alice", 0, 2), ("mallory", 1, 3), ("bob", 0, 1)])
    return SelfBlendedDataset(cache_dir, records, seed=7, landmarks="box", blend=stand_in_blend)


def test_real_crops_come_first_with_label_0_then_their_blends_with_label_1(source):
    assert len(source) == 6 and source.labels == [0, 0, 0, 1, 1, 1]
    assert source.n_real_videos == 2 and source.n_ignored_fakes == 1, "the fake training video is never read"
    values = []
    for index in range(3):
        image, label, video_id = source[index]
        assert image.shape == (3, SIZE, SIZE) and image.dtype == torch.float32 and float(label) == 0.0
        values.append(round(float(image[0, 0, 0]) * 255))
        assert "mallory" not in video_id
    assert values == [0, 1, 20], "real items are the cached crops (alice 0, 1; bob 20), scaled to [0, 1]"
    blended, label, video_id = source[3]
    assert float(label) == 1.0 and video_id == source.video_ids[0]


def test_each_blend_is_seeded_by_seed_epoch_item_and_draw(source, tmp_path):
    first = float(source[4][0][0, 0, 0])
    assert first == pytest.approx(np.random.default_rng([7, 0, 1, 0]).random(), abs=1e-7)
    second = float(source[4][0][0, 0, 0])
    assert second == pytest.approx(np.random.default_rng([7, 0, 1, 1]).random(), abs=1e-7)
    assert first != second, "a new draw of the same item is a fresh blend"
    source.set_epoch(3)
    assert float(source[4][0][0, 0, 0]) == pytest.approx(np.random.default_rng([7, 3, 1, 0]).random(), abs=1e-7)
    (tmp_path / "again").mkdir()
    cache_dir, records = _cache(tmp_path / "again", [("alice", 0, 2), ("mallory", 1, 3), ("bob", 0, 1)])
    rerun = SelfBlendedDataset(cache_dir, records, seed=7, landmarks="box", blend=stand_in_blend)
    assert float(rerun[4][0][0, 0, 0]) == pytest.approx(first, abs=1e-7), "a rerun with the same seed is the same"


def test_transform_is_applied_after_blending_and_the_default_blend_is_the_exercise(tmp_path):
    cache_dir, records = _cache(tmp_path, [("alice", 0, 1)])
    data = SelfBlendedDataset(cache_dir, records, transform=lambda x: x * 2, landmarks="box", blend=stand_in_blend)
    assert float(data[0][0].max()) == 0.0 and float(data[1][0][0, 0, 0]) > 0
    assert float(data[1][0][0, 0, 0]) == pytest.approx(2 * np.random.default_rng([0, 0, 0, 1]).random(), abs=1e-6)
    from common import exercises

    assert SelfBlendedDataset(cache_dir, records, landmarks="box").blend is exercises.self_blended_image


def test_no_real_training_video_is_a_one_line_layout_error(tmp_path):
    cache_dir, records = _cache(tmp_path, [("mallory", 1, 2)])
    with pytest.raises(DatasetLayoutError, match="real training videos"):
        SelfBlendedDataset(cache_dir, records, landmarks="box", blend=stand_in_blend)


def test_box_landmarks_are_the_ellipse_inscribed_in_the_face_box():
    # docstring example: a 130-px crop at scale 1.3 holds a 100-px box centred on (64.5, 64.5)
    np.testing.assert_allclose(box_landmarks(130, 1.3, 4), [[114.5, 64.5], [64.5, 114.5], [14.5, 64.5], [64.5, 14.5]],
                               atol=1e-4)
    assert box_landmarks(64).shape == (len(FACE_OVAL), 2)


def test_face_mesh_finds_the_face_oval_of_a_real_face_and_falls_back_to_the_box():
    import cv2

    face = cv2.resize(skimage_data.astronaut()[20:240, 130:350], (96, 96), interpolation=cv2.INTER_AREA)
    noise = np.random.default_rng(0).integers(0, 255, (96, 96, 3), dtype=np.uint8)
    points, from_mesh = crop_landmarks(np.stack([face, noise]), scale=1.3)
    assert from_mesh.tolist() == [True, False], "the mesh finds Eileen Collins' face, not one in noise"
    oval = points[0]
    assert oval.shape == (len(FACE_OVAL), 2) and (oval > 0).all() and (oval < 96).all()
    # the oval spans most of the face: wider and taller than a third of the crop
    assert np.ptp(oval[:, 0]) > 32 and np.ptp(oval[:, 1]) > 32
    np.testing.assert_allclose(points[1], box_landmarks(96, 1.3), atol=1e-5)


def test_train_refuses_sbi_for_a_detector_that_is_not_a_frame_detector(tmp_path):
    from common.tools.train import build_parser, main

    assert build_parser().parse_args(["--dataset", "synthetic"]).data_source == "benchmark"
    output = tmp_path / "never"
    with pytest.raises(CourseError, match="frame detector"):
        main(["--dataset", "synthetic", "--model", "frame_difference", "--data-source", "sbi",
              "--output-dir", str(output)], phase="phase2_temporal_analysis")
    assert not output.exists(), "arguments are checked before any output is created"


@pytest.mark.slow
def test_train_with_sbi_ignores_the_fakes_and_records_the_source(tmp_path):
    if tree.active_name() != "solutions":
        pytest.skip("training runs the face extractor and the blend: use pytest --solutions")
    from common.checkpoint import load_checkpoint
    from common.experiment import load_records, split_for_training
    from common.synthetic import write_benchmark
    from common.tools.train import main

    root = tmp_path / "mini-forensics"
    write_benchmark(root, n_clips=12, seed=0, n_frames=4, size=96, methods=["GANUpsample"], progress=False)
    output = tmp_path / "run"
    assert main(["--dataset", "synthetic", "--data-root", str(root), "--model", "baseline", "--image-size", "64",
                 "--frames", "2", "--epochs", "1", "--batch-size", "8", "--augment", "none", "--device", "cpu",
                 "--data-source", "sbi", "--sbi-landmarks", "box", "--output-dir", str(output), "--quiet",
                 "--solutions"]) == 0
    report = json.loads((output / "train_report.json").read_text())
    source = report["data_source"]
    assert source["name"] == "sbi" and source["unused_fake_videos"] > 0 and source["real_crops"] > 0
    assert report["test"]["video"]["n"] > 0, "the test split keeps its real fakes"
    cached = {path.stem for path in (output / "face_cache").rglob("*.npz")}
    splits = split_for_training(load_records("synthetic", root)[1], 0)
    assert not any(record_id(r) in cached for r in splits["train"] if r.label == 1), "training fakes are never read"
    assert all(record_id(r) in cached for r in splits["val"] + splits["test"]), "validation and test keep their fakes"
    checkpoint = load_checkpoint(output / "baseline_best.pt", expected_architecture="baseline")
    assert checkpoint.extra["data_source"]["name"] == "sbi"
