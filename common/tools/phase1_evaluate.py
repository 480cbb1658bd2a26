"""``phase1_cnn_detection/evaluate.py``: score a trained phase-1 detector on test videos.

    python phase1_cnn_detection/evaluate.py --checkpoint runs/phase1/mesonet_best.pt \\
        --test-data runs/phase1/mini-forensics [--dataset synthetic] [--aggregation mean] \\
        [--output-dir runs/phase1/eval] [--device auto] [--solutions]

Pipeline: rebuild the model from the checkpoint (``common.models.load_detector``), load the test
videos (``common.datasets``), crop their faces exactly as in training (the checkpoint stores frames,
crop size and margin; ``common.faces.build_face_cache``), score every face, aggregate the frame
scores of each video (mean, median, max or the DFDC winner's confident strategy) and report
frame-level and video-level metrics (``common.metrics.frame_and_video_report``).

Outputs in ``--output-dir``: ``metrics.json`` (both levels, per-video scores, videos without a
face), ``roc_frame.png``, ``roc_video.png``, ``confusion_frame.png``, ``confusion_video.png``.

Which videos: with ``--split auto`` (default) the dataset's own test split when it has one; else,
when the checkpoint was trained on this same folder, the test part of the same group split as
training; else every video (a folder of held-out test videos). ``--split all|train|val|test``
forces a choice.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from common import metrics as course_metrics
from grader import tree
from common.datasets import DATASET_NAMES, VideoRecord, group_split, load_dataset
from common.device import resolve_device
from common.errors import CourseError, DatasetLayoutError
from common.faces import FaceCacheResult, build_face_cache
from common.torch_data import FaceCropDataset, read_face_cache
from common.training import predict

AGGREGATIONS = ("mean", "median", "max", "confident")
SPLIT_CHOICES = ("auto", "all", "train", "val", "test")
DEFAULT_SPLIT_FRACTIONS = (0.7, 0.15, 0.15)


@dataclass(frozen=True)
class Preprocessing:
    """How faces are prepared for a model: ``n_frames`` per video, crops of ``scale`` x the face box
    resized to ``size`` pixels, normalised with ``mean`` / ``std``."""

    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    scale: float = 1.3
    n_frames: int = 32

    def to_dict(self) -> dict[str, Any]:
        return {"size": self.size, "mean": list(self.mean), "std": list(self.std), "scale": self.scale,
                "n_frames": self.n_frames}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Preprocessing":
        return cls(int(data["size"]), tuple(data["mean"]), tuple(data["std"]), float(data["scale"]),
                   int(data["n_frames"]))

    def cache_folder_name(self) -> str:
        """A folder name per crop setting, so caches of different settings never mix."""
        return f"faces_{self.size}px_{self.n_frames}f_scale{self.scale:g}"


def detect_dataset(root: str | Path) -> str:
    """Guess the dataset layout of a folder (for ``--dataset`` left out).

    ``manifest.json`` -> synthetic; ``original_sequences/`` -> faceforensics; ``Celeb-synthesis/``
    -> celebdf; ``metadata.json`` in a ``dfdc_*`` part or ``labels.csv`` -> dfdc; ``real/`` and
    ``fake/`` (possibly under ``train/ val/ test/``) -> folder.

    Raises:
        DatasetLayoutError: missing folder, or no known layout.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetLayoutError(f"test data '{root}' does not exist or is not a folder")
    if (root / "manifest.json").is_file():
        return "synthetic"
    if (root / "original_sequences").is_dir() or (root / "manipulated_sequences").is_dir():
        return "faceforensics"
    if (root / "Celeb-synthesis").is_dir() or (root / "Celeb-real").is_dir():
        return "celebdf"
    if (root / "labels.csv").is_file() or any(root.glob("dfdc_*")) or (root / "metadata.json").is_file():
        return "dfdc"
    if any((base / "real").is_dir() or (base / "fake").is_dir()
           for base in [root] + [root / split for split in ("train", "val", "test")]):
        return "folder"
    raise DatasetLayoutError(
        f"cannot tell the dataset layout of '{root}': expected manifest.json (synthetic), original_sequences/ "
        f"(faceforensics), Celeb-synthesis/ (celebdf), dfdc_*/metadata.json (dfdc) or real/ + fake/ (folder); "
        f"or pass --dataset")


def load_records(dataset: str | None, root: str | Path) -> tuple[str, list[VideoRecord]]:
    """``(dataset name, records)`` of a dataset folder; the name is detected when ``None``."""
    name = dataset or detect_dataset(root)
    if name not in DATASET_NAMES:
        raise DatasetLayoutError(f"unknown dataset '{name}': expected one of {', '.join(DATASET_NAMES)}")
    if not Path(root).exists():
        raise DatasetLayoutError(f"data root '{root}' does not exist")
    records = load_dataset(name, root)
    if not records:
        raise DatasetLayoutError(f"no videos found in '{root}' (dataset layout '{name}')")
    return name, records


def split_for_training(records: list[VideoRecord], seed: int,
                       fractions: tuple[float, float, float] = DEFAULT_SPLIT_FRACTIONS) -> dict[str, list[VideoRecord]]:
    """train/val/test without a group on two sides: the dataset's own split where it assigns one,
    the rest by ``common.datasets.group_split(seed)`` (the same call in train and evaluate)."""
    return group_split(records, fractions=tuple(fractions), seed=seed)


def choose_records(records: list[VideoRecord], split: str, data_root: str | Path,
                   checkpoint_extra: dict) -> tuple[list[VideoRecord], str]:
    """The records to evaluate and a sentence saying why (see the module docstring)."""
    if split == "all":
        return records, "all videos (--split all)"
    trained_on = checkpoint_extra.get("data", {})
    same_root = trained_on.get("root") and Path(trained_on["root"]).resolve() == Path(data_root).resolve()
    has_own_split = any(r.split is not None for r in records)
    if split == "auto" and not has_own_split and not same_root:
        return records, "all videos (the dataset has no split and the model was not trained on it)"
    wanted = "test" if split == "auto" else split
    if has_own_split and all(r.split is not None for r in records):
        chosen = [r for r in records if r.split == wanted]
        return chosen, f"the dataset's own '{wanted}' split"
    fractions = tuple(trained_on.get("split_fractions", DEFAULT_SPLIT_FRACTIONS))
    seed = int(trained_on.get("split_seed", 0))
    chosen = split_for_training(records, seed, fractions)[wanted]
    return chosen, f"the '{wanted}' part of the training run's group split (seed {seed})"


@dataclass
class ScoredFaces:
    """Per-face scores of a set of videos, in a fixed order.

    ``video_ids``, ``frame_indices``, ``labels``, ``scores`` are (N,) arrays (str, int64, int64,
    float64); ``video_paths`` maps a video id (cache file stem) to the video path.
    """

    video_ids: np.ndarray
    frame_indices: np.ndarray
    labels: np.ndarray
    scores: np.ndarray
    video_paths: dict[str, str]


def score_faces(model: nn.Module, cache_dir: str | Path, records: Sequence[VideoRecord], preprocessing: Preprocessing,
                device: str | torch.device = "cpu", batch_size: int = 64, num_workers: int = 0) -> ScoredFaces:
    """Score every cached face of ``records`` with ``model`` (P(FAKE) per face).

    Videos whose cache holds no face contribute nothing here (report them from the cache summary).
    """
    from phase1_cnn_detection.template_classifier import EvalTransform

    transform = EvalTransform(preprocessing.size, preprocessing.mean, preprocessing.std)
    dataset = FaceCropDataset(cache_dir, records, transform=transform)
    if len(dataset) == 0:
        raise DatasetLayoutError(f"no face was found in any of the {len(records)} videos; nothing to score")
    labels, scores = predict(model, dataset, device=device, batch_size=batch_size, num_workers=num_workers)
    frame_indices = np.concatenate([read_face_cache(path).frame_indices for path in dataset.files])
    paths = {}
    for path in dataset.files:
        paths[path.stem] = str(read_face_cache(path).meta.get("video", path.stem))
    return ScoredFaces(np.asarray(dataset.video_ids, dtype=object), frame_indices.astype(np.int64),
                       labels.astype(np.int64), scores.astype(np.float64), paths)


def report_from_scores(scored: ScoredFaces, aggregation: str = "mean", threshold: float = 0.5) -> dict[str, Any]:
    """``common.metrics.frame_and_video_report`` plus the per-video scores (for metrics.json)."""
    report = course_metrics.frame_and_video_report(scored.frame_indices, scored.video_ids, scored.labels,
                                                   scored.scores, aggregation=aggregation, threshold=threshold)
    ids, labels, scores = course_metrics.video_scores(zip(scored.video_ids, scored.labels, scored.scores), aggregation)
    report["videos"] = [{"video": scored.video_paths.get(str(video_id), str(video_id)), "id": str(video_id),
                         "label": int(label), "score": float(score)}
                        for video_id, label, score in zip(ids, labels, scores)]
    return report


def write_plots(scored: ScoredFaces, report: dict, output_dir: str | Path) -> list[Path]:
    """ROC curves and confusion matrices at frame and video level; ROC only when both classes exist."""
    output_dir = Path(output_dir)
    written = []
    video_labels = np.array([v["label"] for v in report["videos"]])
    video_scores = np.array([v["score"] for v in report["videos"]])
    for level, labels, scores in (("frame", scored.labels, scored.scores), ("video", video_labels, video_scores)):
        if len(set(labels.tolist())) == 2:
            written.append(course_metrics.plot_roc(labels, scores, output_dir / f"roc_{level}.png",
                                                   title=f"ROC ({level} level)"))
        written.append(course_metrics.plot_confusion_matrix(report[level]["confusion_matrix"],
                                                             output_dir / f"confusion_{level}.png",
                                                             title=f"Confusion matrix ({level} level)"))
    return written


def format_table(report: dict) -> str:
    """A short console table of the main metrics at both levels."""
    def cell(value: Any) -> str:
        return "   n/a" if value is None else f"{value:6.3f}"

    lines = [f"{'level':<7}{'n':>6}{'fake':>6}  {'AUC':>6}  {'AP':>6}  {'EER':>6}  {'acc':>6}  {'bal.acc':>7}"]
    for level in ("frame", "video"):
        m = report[level]
        lines.append(f"{level:<7}{m['n']:>6}{m['n_fake']:>6}  {cell(m['roc_auc'])}  {cell(m['average_precision'])}  "
                     f"{cell(m['eer'])}  {cell(m['accuracy'])}  {cell(m['balanced_accuracy']):>7}")
    lines.append(f"(video score = {report['aggregation']} of its frame scores; threshold {report['frame']['threshold']:.3f})")
    return "\n".join(lines)


def evaluate_detector(model: nn.Module, records: Sequence[VideoRecord], preprocessing: Preprocessing,
                      cache_root: str | Path, *, aggregation: str = "mean", threshold: float = 0.5,
                      device: str | torch.device = "cpu", batch_size: int = 64, progress: bool = True,
                      num_workers: int = 0) -> tuple[dict[str, Any], ScoredFaces, FaceCacheResult]:
    """Crop, score and report: the library function behind ``evaluate.py`` (and train.py's test step).

    Args:
        model: a trained detector (eval mode is set by ``predict``).
        records: the videos to evaluate.
        preprocessing: the crop/normalisation the model was trained with.
        cache_root: folder under which the face caches live (one subfolder per crop setting).
        aggregation: one of :data:`AGGREGATIONS`. threshold: decision threshold on P(FAKE).

    Returns:
        ``(report, scored_faces, cache_result)``; ``report`` has ``frame``, ``video``,
        ``aggregation``, ``videos`` (per-video scores) and ``faces`` (the cache summary: frames and
        videos without a face are listed, never dropped silently).
    """
    if aggregation not in AGGREGATIONS:
        raise CourseError(f"unknown aggregation '{aggregation}': choose one of {', '.join(AGGREGATIONS)}")
    cache_dir = Path(cache_root) / preprocessing.cache_folder_name()
    caches = build_face_cache(records, cache_dir, n_frames=preprocessing.n_frames, size=preprocessing.size,
                              scale=preprocessing.scale, device=device, progress=progress)
    scored = score_faces(model, cache_dir, records, preprocessing, device=device, batch_size=batch_size,
                         num_workers=num_workers)
    report = report_from_scores(scored, aggregation, threshold)
    report["faces"] = caches.summary()
    return report, scored, caches


def checkpoint_preprocessing(checkpoint) -> Preprocessing:
    """The preprocessing stored by train.py in ``checkpoint.extra``, or the registry's defaults."""
    from common.models import input_spec

    stored = checkpoint.extra.get("preprocessing")
    if stored:
        return Preprocessing.from_dict(stored)
    size, mean, std = input_spec(checkpoint.architecture, checkpoint.model_config)
    return Preprocessing(size, mean, std)


def face_cache_root(requested: str | None, checkpoint_extra: dict, output_dir: Path) -> Path:
    """Where face caches go: ``--cache-dir``, else the training run's cache (reused: each file is
    checked against its video and settings), else ``<output-dir>/face_cache``."""
    if requested:
        return Path(requested)
    trained = checkpoint_extra.get("face_cache_root")
    if trained and Path(trained).is_dir():
        return Path(trained)
    return output_dir / "face_cache"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python phase1_cnn_detection/evaluate.py",
        description="Evaluate a trained phase-1 detector on test videos (frame and video level).")
    parser.add_argument("--checkpoint", required=True, help="checkpoint written by train.py (e.g. xception_best.pt)")
    parser.add_argument("--test-data", required=True, help="dataset root or folder of test videos")
    parser.add_argument("--dataset", default=None, help=f"layout of --test-data ({'|'.join(DATASET_NAMES)}); default: detected")
    parser.add_argument("--model", default=None, help="refuse a checkpoint of another architecture (e.g. mesonet)")
    parser.add_argument("--split", default="auto", help=f"which videos: {'|'.join(SPLIT_CHOICES)} (see the module help)")
    parser.add_argument("--aggregation", default="mean", help=f"frame -> video score: {'|'.join(AGGREGATIONS)}")
    parser.add_argument("--frames", type=int, default=None, help="frames per video (default: as in training)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="auto", help="auto|cpu|cuda|cuda:N|mps")
    parser.add_argument("--output-dir", default=None, help="where to write metrics.json and plots (default: <checkpoint dir>/eval)")
    parser.add_argument("--cache-dir", default=None, help="face-crop cache folder (default: the training run's)")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    tree.add_tree_argument(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation; returns 0. User mistakes raise CourseError (one line, exit 2 via run_cli)."""
    args = build_parser().parse_args(argv)
    tree.activate_from_args(args)
    from common.models import load_detector

    if args.aggregation not in AGGREGATIONS:
        raise CourseError(f"unknown aggregation '{args.aggregation}': choose one of {', '.join(AGGREGATIONS)}")
    if args.split not in SPLIT_CHOICES:
        raise CourseError(f"unknown split '{args.split}': choose one of {', '.join(SPLIT_CHOICES)}")
    device = resolve_device(args.device)
    model, checkpoint = load_detector(args.checkpoint, device, expected_architecture=args.model)
    preprocessing = checkpoint_preprocessing(checkpoint)
    if args.frames is not None:
        preprocessing = Preprocessing(preprocessing.size, preprocessing.mean, preprocessing.std, preprocessing.scale, args.frames)
    dataset, records = load_records(args.dataset, args.test_data)
    chosen, why = choose_records(records, args.split, args.test_data, checkpoint.extra)
    if not chosen:
        raise DatasetLayoutError(f"no videos to evaluate in '{args.test_data}' ({why})")
    output_dir = Path(args.output_dir) if args.output_dir else Path(args.checkpoint).resolve().parent / "eval"
    print(f"evaluating {checkpoint.architecture} ({args.checkpoint}) on {len(chosen)} videos: {why}")
    report, scored, caches = evaluate_detector(
        model, chosen, preprocessing, face_cache_root(args.cache_dir, checkpoint.extra, output_dir),
        aggregation=args.aggregation, threshold=checkpoint.threshold, device=device, batch_size=args.batch_size,
        progress=not args.quiet, num_workers=args.workers)
    print(caches.describe())
    report.update({"checkpoint": str(args.checkpoint), "architecture": checkpoint.architecture, "dataset": dataset,
                   "test_data": str(args.test_data), "videos_chosen": why, "preprocessing": preprocessing.to_dict()})
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "metrics.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    write_plots(scored, report, output_dir)
    print(format_table(report))
    print(f"wrote {output_dir / 'metrics.json'} and ROC / confusion plots in {output_dir}")
    return 0
