"""Every phase's ``evaluate.py``: score a trained detector on test videos.

    python phase1_cnn_detection/evaluate.py --checkpoint runs/phase1/mesonet_best.pt \\
        --test-data runs/phase1/mini-forensics [--dataset synthetic] [--aggregation mean] \\
        [--output-dir runs/phase1/eval] [--device auto] [--solutions]

Pipeline (:mod:`common.engine`): rebuild the model from the checkpoint (``common.models.load_detector``:
its registry name and config), load the test videos (``common.datasets``), cache their face tracks
exactly as in training (the checkpoint stores frames, crop size and margin), score every face crop
(frame detectors) or clip (clip detectors), aggregate per video (mean, median, max or the DFDC
winner's confident strategy) and report frame- (or clip-) and video-level metrics.

Outputs in ``--output-dir``: ``metrics.json`` (both levels, per-video scores and calibrated
probabilities, the calibration figures: Brier score, ECE, accuracy at the stored threshold, at a raw
0.5 and at the test set's best threshold; videos without a face), ``roc_frame.png``,
``roc_video.png``, ``confusion_frame.png``, ``confusion_video.png``, ``reliability_video.png``.

Which videos: with ``--split auto`` (default) the dataset's own test split when it has one; else,
when the checkpoint was trained on this same folder, the test part of the same group split as
training; else every video (a folder of held-out test videos). ``--split all|train|val|test``
forces a choice.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from common.calibration import checkpoint_calibration
from common.datasets import DATASET_NAMES
from common.device import resolve_device
from common.engine import evaluate_detector
from common.errors import CourseError, DatasetLayoutError
from common.experiment import SPLIT_CHOICES, choose_records, face_cache_root, format_table, load_records, write_plots
from common.metrics import AGGREGATIONS
from common.preprocessing import checkpoint_preprocessing
from grader import tree


def build_parser(phase: str = "phase1_cnn_detection") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python {phase}/evaluate.py",
        description="Evaluate a trained detector on test videos (frame or clip level, and video level).")
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


def main(argv: list[str] | None = None, phase: str = "phase1_cnn_detection") -> int:
    """Run the evaluation; returns 0. User mistakes raise CourseError (one line, exit 2 via run_cli)."""
    args = build_parser(phase).parse_args(argv)
    tree.activate_from_args(args)
    from common.models import get_spec, load_detector

    if args.aggregation not in AGGREGATIONS:
        raise CourseError(f"unknown aggregation '{args.aggregation}': choose one of {', '.join(AGGREGATIONS)}")
    if args.split not in SPLIT_CHOICES:
        raise CourseError(f"unknown split '{args.split}': choose one of {', '.join(SPLIT_CHOICES)}")
    device = resolve_device(args.device)
    model, checkpoint = load_detector(args.checkpoint, device, expected_architecture=args.model)
    preprocessing = checkpoint_preprocessing(checkpoint)
    if args.frames is not None:
        preprocessing = preprocessing.with_frames(args.frames)
    dataset, records = load_records(args.dataset, args.test_data)
    chosen, why = choose_records(records, args.split, args.test_data, checkpoint.extra)
    if not chosen:
        raise DatasetLayoutError(f"no videos to evaluate in '{args.test_data}' ({why})")
    output_dir = Path(args.output_dir) if args.output_dir else Path(args.checkpoint).resolve().parent / "eval"
    print(f"evaluating {checkpoint.architecture} ({args.checkpoint}) on {len(chosen)} videos: {why}")
    report, scored, caches = evaluate_detector(
        model, get_spec(checkpoint.architecture), chosen, preprocessing,
        face_cache_root(args.cache_dir, checkpoint.extra, output_dir),
        aggregation=args.aggregation, threshold=checkpoint.threshold, device=device, batch_size=args.batch_size,
        progress=not args.quiet, num_workers=args.workers, calibration=checkpoint_calibration(checkpoint))
    print(caches.describe())
    report.update({"checkpoint": str(args.checkpoint), "architecture": checkpoint.architecture, "dataset": dataset,
                   "test_data": str(args.test_data), "videos_chosen": why, "preprocessing": preprocessing.to_dict()})
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "metrics.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    write_plots(scored, report, output_dir)
    print(format_table(report))
    print(f"wrote {output_dir / 'metrics.json'} and ROC / confusion plots in {output_dir}")
    return 0
