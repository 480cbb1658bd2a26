"""Every phase's ``evaluate.py``: score a trained detector on test videos.

    python phase1_cnn_detection/evaluate.py --checkpoint runs/phase1/mesonet_best.pt \\
        --test-data runs/phase1/mini-forensics [--dataset synthetic] [--aggregation mean] \\
        [--output-dir runs/phase1/eval] [--device auto] [--solutions]

Pipeline (:mod:`common.engine`): rebuild the model from the checkpoint (``common.models.load_detector``:
its registry name and config), load the test videos (``common.datasets``), cache their face tracks
exactly as in training (the checkpoint stores frames, crop size, margin and ``--detect-every``: a
face track found on keyframes jitters differently from one found on every frame, and a clip
detector reads that jitter; guide, "A second dataset"), score every face crop
(frame detectors) or clip (clip detectors), aggregate per video (mean, median, max or the DFDC
winner's confident strategy) and report frame- (or clip-) and video-level metrics.

Outputs in ``--output-dir``: ``metrics.json`` (both levels, per-video scores and calibrated
probabilities, the calibration figures: Brier score, ECE, accuracy at the stored threshold, at a raw
0.5 and at the test set's best threshold; videos without a face), ``roc_frame.png``,
``roc_video.png``, ``confusion_frame.png``, ``confusion_video.png``, ``reliability_video.png``.

Compression (``--reencode raw,crf23,crf40,half``): the chosen videos are also re-encoded
(:mod:`common.compression`: H.264 CRF 23 and 40 as FaceForensics++'s c23 and c40, or half
resolution) into ``<output-dir>/reencoded/<variant>/`` and scored again; ``reencoded.json`` and the
console get one row per variant (frame and video AUC, accuracy at the stored threshold).

Figures (``--figures DIR``, phases that provide them: phase 3): mean spectra of the real and fake
test faces, their radial profiles with their spread and DCT coefficient histograms, as PNGs
(``phase3_frequency_analysis/spectral_figures.py``).

Which videos: with ``--split auto`` (default) the dataset's own test split when it has one; else,
when the checkpoint was trained on this same folder, the test part of the same group split as
training; else every video (a folder of held-out test videos). ``--split all|train|val|test``
forces a choice.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
from pathlib import Path

from common.atomic import check_output_dir
from common.calibration import checkpoint_calibration
from common.checkpoint import recorded_detect_every
from common.compression import parse_reencodings, reencode_records
from common.datasets import DATASET_NAMES
from common.device import resolve_device
from common.engine import evaluate_detector
from common.errors import ArgumentParser, CourseError, DatasetLayoutError
from common.experiment import (SPLIT_CHOICES, check_clips_hold_the_window, choose_records, face_cache_root,
                               format_table, load_records, write_plots)
from common.metrics import AGGREGATIONS
from common.preprocessing import checkpoint_preprocessing
from common.report import write_text_atomic
from grader import tree


def build_parser(phase: str = "phase1_cnn_detection") -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog=f"python {phase}/evaluate.py",
        description="Evaluate a trained detector on test videos (frame or clip level, and video level).")
    parser.add_argument("--checkpoint", required=True, help="checkpoint written by train.py (e.g. xception_best.pt)")
    parser.add_argument("--test-data", required=True, help="dataset root or folder of test videos")
    parser.add_argument("--dataset", default=None, help=f"layout of --test-data ({'|'.join(DATASET_NAMES)}); default: detected")
    parser.add_argument("--model", default=None, help="refuse a checkpoint of another architecture (e.g. mesonet)")
    parser.add_argument("--split", default="auto", help=f"which videos: {'|'.join(SPLIT_CHOICES)} (see the module help)")
    parser.add_argument("--aggregation", default="mean", help=f"frame -> video score: {'|'.join(AGGREGATIONS)}")
    parser.add_argument("--frames", type=int, default=None, help="frames per video (default: as in training)")
    parser.add_argument("--detect-every", type=int, default=None, metavar="K",
                        help="MTCNN on frames 0, K, 2K, ... of each test video (K frames at 25 fps: every K/25 s; "
                             "default: as in training, the "
                             "checkpoint's; 1 for checkpoints that do not record it)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="auto", help="auto|cpu|cuda|cuda:N|mps")
    parser.add_argument("--output-dir", default=None, help="where to write metrics.json and plots (default: <checkpoint dir>/eval)")
    parser.add_argument("--cache-dir", default=None, help="face-crop cache folder (default: the training run's)")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--reencode", default=None, metavar="LIST",
                        help="also score the videos re-encoded: comma-separated raw|crf23|crf40|half|crfN "
                             "(H.264 CRF 23/40 = FaceForensics++ c23/c40; half = half resolution)")
    parser.add_argument("--figures", default=None, metavar="DIR",
                        help="phase 3: write mean spectra, radial profiles and DCT histograms of the real and "
                             "fake test faces as PNGs in DIR")
    tree.add_tree_argument(parser)
    return parser


FIGURE_MODULE = "spectral_figures"
"""A phase that draws figures of its test faces provides ``<phase>/spectral_figures.py`` with
``write_figures(crops, labels, output_dir, note)`` and ``cached_crops(cache_files)``."""


def figure_module(phase: str):
    """The phase's figure module (from the active tree), or a one-line CourseError when it has none."""
    try:
        return importlib.import_module(f"{phase}.{FIGURE_MODULE}")
    except ModuleNotFoundError as error:
        if error.name not in (f"{phase}.{FIGURE_MODULE}", phase):
            raise
        raise CourseError(f"--figures: {phase} draws no figures (phase3_frequency_analysis does)") from None


def reencoded_summary(name: str, description: str, report: dict) -> dict:
    """One row of the compression table: AUCs and accuracy of one re-encoded variant."""
    return {"variant": name, "description": description, "videos": report["video"]["n"],
            "frame_auc": report["frame"]["roc_auc"], "video_auc": report["video"]["roc_auc"],
            "video_accuracy": report["video"]["accuracy"]}


def format_reencoded(rows: list[dict]) -> str:
    """The compression table for the console."""
    def cell(value):
        return "   n/a" if value is None else f"{value:6.3f}"

    lines = [f"{'variant':<9}{'videos':>7}  {'frame AUC':>9}  {'video AUC':>9}  {'video acc':>9}  description"]
    for row in rows:
        lines.append(f"{row['variant']:<9}{row['videos']:>7}  {cell(row['frame_auc']):>9}  {cell(row['video_auc']):>9}  "
                     f"{cell(row['video_accuracy']):>9}  {row['description']}")
    return "\n".join(lines)


def training_detect_every(extra: dict) -> int:
    """The ``--detect-every`` a checkpoint was trained with (its ``extra``), 1 when it does not say
    (checkpoints written before train.py recorded it). Example: ``{"detect_every": 4}`` -> 4."""
    return recorded_detect_every(extra) or 1


def main(argv: list[str] | None = None, phase: str = "phase1_cnn_detection") -> int:
    """Run the evaluation; returns 0. User mistakes raise CourseError (one line, exit 2 via run_cli)."""
    args = build_parser(phase).parse_args(argv)
    tree.activate_from_args(args)
    from common.models import get_spec, load_detector

    if args.aggregation not in AGGREGATIONS:
        raise CourseError(f"unknown aggregation '{args.aggregation}': choose one of {', '.join(AGGREGATIONS)}")
    if args.split not in SPLIT_CHOICES:
        raise CourseError(f"unknown split '{args.split}': choose one of {', '.join(SPLIT_CHOICES)}")
    if args.detect_every is not None and args.detect_every < 1:
        raise CourseError(f"--detect-every must be at least 1, got {args.detect_every}")
    variants = parse_reencodings(args.reencode) if args.reencode is not None else []
    for flag, folder in (("--output-dir", args.output_dir), ("--figures", args.figures)):
        if folder:
            check_output_dir(folder, flag)
    figures = figure_module(phase) if args.figures else None
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
    row = get_spec(checkpoint.architecture)
    # the checkpoint's own settings over the registry's defaults (a signal detector's window_s, --window-seconds)
    row = dataclasses.replace(row, config={**row.config, **checkpoint.model_config})
    check_clips_hold_the_window([row.name], Path(args.test_data), window_s=row.config.get("window_s"))
    cache_root = face_cache_root(args.cache_dir, checkpoint.extra, output_dir)
    detect_every = training_detect_every(checkpoint.extra) if args.detect_every is None else args.detect_every
    print(f"evaluating {checkpoint.architecture} ({args.checkpoint}) on {len(chosen)} videos: {why}; "
          f"face detection {'on every frame' if detect_every == 1 else f'every {detect_every} frames'}")

    def evaluate(records):
        return evaluate_detector(
            model, row, records, preprocessing, cache_root,
            aggregation=args.aggregation, threshold=checkpoint.threshold, device=device, batch_size=args.batch_size,
            progress=not args.quiet, num_workers=args.workers, calibration=checkpoint_calibration(checkpoint),
            detect_every=detect_every)

    report, scored, caches = evaluate(chosen)
    print(caches.describe())
    report.update({"checkpoint": str(args.checkpoint), "architecture": checkpoint.architecture, "dataset": dataset,
                   "test_data": str(args.test_data), "videos_chosen": why, "preprocessing": preprocessing.to_dict(),
                   "detect_every": detect_every})
    output_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(output_dir / "metrics.json", json.dumps(report, indent=2) + "\n")
    write_plots(scored, report, output_dir)
    print(format_table(report))
    print(f"wrote {output_dir / 'metrics.json'} and ROC / confusion plots in {output_dir}")
    if figures is not None:
        crops, labels = figures.cached_crops(list(caches))
        size = "at their own size" if row.kind == "spectral" else f"resized to {preprocessing.size} px"
        written = figures.write_figures(crops, labels, args.figures, note=f"\n{len(crops)} test faces {size}")
        print(f"wrote {', '.join(path.name for path in written)} in {args.figures}")
    if variants:
        rows = []
        for variant in variants:
            if not variant.changes_video:
                rows.append(reencoded_summary(variant.name, variant.description, report))
                continue
            records = reencode_records(chosen, variant, args.test_data, output_dir / "reencoded", progress=not args.quiet)
            rows.append(reencoded_summary(variant.name, variant.description, evaluate(records)[0]))
        write_text_atomic(output_dir / "reencoded.json", json.dumps({"checkpoint": str(args.checkpoint),
                                                                     "architecture": checkpoint.architecture,
                                                                     "aggregation": args.aggregation,
                                                                     "variants": rows}, indent=2) + "\n")
        print(format_reencoded(rows))
        print(f"wrote {output_dir / 'reencoded.json'}")
    return 0
