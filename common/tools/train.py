"""Every phase's ``train.py``: train a registered detector on a deepfake dataset.

    python phase1_cnn_detection/train.py --dataset faceforensics --data-root /data/FF++ \\
        --model xceptionnet --epochs 30 --batch-size 32 [--lr 1e-3] [--frames 32] [--device auto] \\
        [--output-dir runs/phase1] [--checkpoint xception_best.pt] [--solutions]
    python phase2_temporal_analysis/train.py --dataset synthetic --model frame_difference

    # no data at hand: generate the synthetic mini-forensics benchmark first (240 clips of 16
    # frames, spatial fakes) and train XceptionNet on 64-px crops, their size in the 128-px clips
    # (test video AUC 0.91-0.99 over three seeds, mean 0.95, on people never seen in training;
    # about 9 min on 2 CPU cores; the guide's "Phase 1 results on mini-forensics" has the figures)
    python phase1_cnn_detection/train.py --dataset synthetic --model xceptionnet --image-size 64 \
        --frames 16 --epochs 6 --augment none

    # Self-Blended Images (tasks 1.10-1.11): train on the real training videos alone, the fakes
    # made by blending each face with a changed copy of itself; validation and test keep the real fakes
    python phase1_cnn_detection/train.py --dataset synthetic --model baseline --image-size 64 \
        --frames 16 --data-source sbi

    # compression as augmentation: every training video also re-encoded at CRF 23 and CRF 40
    # (copies cached in <output-dir>/train_reencoded/, validation and test untouched)
    python phase3_frequency_analysis/train.py --dataset synthetic --train-reencode crf23,crf40

Pipeline, each step a library function (:mod:`common.engine`):

1. load the videos (``common.datasets.load_dataset``) and split them by group so no identity is
   in two splits (``common.experiment.split_for_training``; the dataset's own split is kept);
2. cache each video's face track with the detector's frame plan (``common.engine.cache_faces``:
   the frames and crops ``detect_video.py`` will use);
3. build the model from the registry (``common.models.build_model``) and train it
   (``common.training.fit``): class balancing, validation AUC after every epoch, early stopping,
   best epoch saved as a safe checkpoint; frame detectors with augmentation (task 1.9);
4. calibrate the video probability on the validation videos (Platt scaling,
   ``common.calibration.fit_calibration``: a video is FAKE when its calibrated probability reaches
   0.5; ``--calibration two-sided`` keeps a raw 0.5 unless the validation people agree the
   threshold moved);
5. score the held-out test split at frame (or clip) and video level
   (``common.engine.evaluate_detector``) and store the results, the calibration and the
   preprocessing in the checkpoint, so ``evaluate.py`` and ``detect_video.py`` reproduce them.

Outputs in ``--output-dir``: the checkpoint (default ``<model>_best.pt``), ``train_report.json``
(history, validation and test metrics, face-cache summary), ``face_cache/``, with
``--train-reencode`` the re-encoded training copies in ``train_reencoded/``, and for
``--dataset synthetic`` without ``--data-root`` the generated ``mini-forensics/`` benchmark.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

from common.atomic import check_output_dir
from common.calibration import CALIBRATION_METHODS, DEFAULT_CALIBRATION, fit_calibration
from common.checkpoint import load_checkpoint, save_checkpoint
from common.compression import parse_training_reencodings, training_copies
from common.datasets import DATASET_NAMES
from common.device import resolve_device, seed_everything
from common.engine import EncodedDataset, cache_faces, evaluate_detector, make_dataset
from common.errors import ArgumentParser, CourseError, DatasetLayoutError
from common.experiment import (DEFAULT_SPLIT_FRACTIONS, SYNTHETIC_SPATIAL_METHODS, check_clips_hold_the_window,
                               check_trainable_splits, ensure_synthetic_benchmark, format_table, load_records,
                               print_split, split_for_training, synthetic_folder_name)
from common.preprocessing import AUGMENTATION_CHOICES, Preprocessing, model_preprocessing
from common.report import write_text_atomic
from common.self_blended import DATA_SOURCES, LANDMARK_CHOICES, SelfBlendedDataset, real_records
from common.torch_data import record_id
from common.training import MONITOR_MODES, TrainConfig, fit
from grader import tree

PHASE_DEFAULTS = {"phase1_cnn_detection": ("xceptionnet", "runs/phase1", SYNTHETIC_SPATIAL_METHODS),
                  "phase2_temporal_analysis": ("temporal_features", "runs/phase2", ("TemporalFlicker", "Deepfake")),
                  "phase3_frequency_analysis": ("spectrum_logistic", "runs/phase3", ("GANUpsample",)),
                  "phase4_biological_signals": ("biological", "runs/phase4", ("Physiological",)),
                  "phase5_advanced_methods": ("attention_cnn", "runs/phase5", SYNTHETIC_SPATIAL_METHODS)}
"""Per phase: the default ``--model``, ``--output-dir`` and mini-forensics manipulations."""


def build_parser(phase: str = "phase1_cnn_detection") -> argparse.ArgumentParser:
    """The command line of ``<phase>/train.py``: ``--model`` chooses among the phase's registered models."""
    from common.registry import models_of_phase

    names = list(models_of_phase(phase))
    default_model, default_output, _ = PHASE_DEFAULTS.get(phase, (names[0] if names else None, f"runs/{phase}", ()))
    parser = ArgumentParser(prog=f"python {phase}/train.py",
                            description=f"Train a {phase} deepfake detector ({', '.join(names)}).")
    parser.set_defaults(phase=phase)
    parser.add_argument("--dataset", required=True, help=f"dataset layout: {'|'.join(DATASET_NAMES)}")
    parser.add_argument("--data-root", default=None, help="dataset folder (not needed for --dataset synthetic)")
    parser.add_argument("--model", default=default_model, help=f"registered model: {'|'.join(names)}")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3, help="learning rate (of the head, for --model transfer)")
    parser.add_argument("--frames", type=int, default=None,
                        help="frames per video (frame detectors, default 32) or per clip (clip detectors)")
    parser.add_argument("--image-size", type=int, default=None, help="face crop side in pixels (default: the model's)")
    parser.add_argument("--scale", type=float, default=1.3, help="crop margin: square side / face box side")
    parser.add_argument("--device", default="auto", help="auto|cpu|cuda|cuda:N|mps")
    parser.add_argument("--output-dir", default=default_output)
    parser.add_argument("--checkpoint", default=None, help="checkpoint path (default: <output-dir>/<model>_best.pt)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--patience", type=int, default=5, help="early stopping after this many epochs without gain")
    parser.add_argument("--monitor", default="val_auc", choices=sorted(MONITOR_MODES),
                        help="validation figure that picks the best epoch (default val_auc; val_loss when the "
                             "validation AUC saturates at 1.0 in the first epochs, as small feature classifiers do)")
    parser.add_argument("--pretrained", action="store_true", help="start from ImageNet weights (needs them cached)")
    parser.add_argument("--unfreeze-blocks", type=int, default=None,
                        help="transfer: backbone stages to fine-tune (default: 2 when --pretrained, all otherwise)")
    parser.add_argument("--backbone-lr-factor", type=float, default=0.1, help="transfer: backbone lr = lr * factor")
    parser.add_argument("--augment", default="forensic", choices=AUGMENTATION_CHOICES,
                        help="training augmentation (task 1.9): forensic = flip, rotation, brightness/contrast, "
                             "blur, JPEG; mild = flip and brightness/contrast only, which keep pixel-level "
                             "artefacts (noise, upsampling grids) intact; none")
    parser.add_argument("--no-augment", action="store_true", help="same as --augment none")
    parser.add_argument("--data-source", default="benchmark", choices=DATA_SOURCES,
                        help="training fakes: benchmark = the dataset's own fake videos; sbi = Self-Blended "
                             "Images (tasks 1.10-1.11) of the real training videos, the benchmark's fake "
                             "training videos unused (frame detectors; validation and test keep the real fakes)")
    parser.add_argument("--sbi-landmarks", default="facemesh", choices=LANDMARK_CHOICES,
                        help="sbi: hull of the face mesh's face oval (the face box where it fails), "
                             "or of the box alone")
    parser.add_argument("--window-seconds", type=float, default=None,
                        help="signal detectors: seconds of video per window (default: the model's, 10)")
    parser.add_argument("--train-methods", default=None, metavar="LIST",
                        help="train and validate on the real videos and the fakes of these comma-separated "
                             "methods only (unseen-manipulation tests: the test split keeps every method)")
    parser.add_argument("--train-reencode", default=None, metavar="LIST",
                        help="compression as augmentation: add a copy of every training video re-encoded with "
                             "each of these comma-separated settings (crf23, crf40, half, crfN; as evaluate.py "
                             "--reencode), same label and identity; validation and test stay as they are")
    parser.add_argument("--calibration", default=DEFAULT_CALIBRATION, choices=CALIBRATION_METHODS,
                        help="video calibration fitted on the validation videos: platt (default) or two-sided "
                             "(the threshold moves from a raw 0.5 only where the validation people agree)")
    parser.add_argument("--detect-every", type=int, default=1, metavar="K",
                        help="MTCNN on the video's frames 0, K, 2K, ... only (K frames at 25 fps: every K/25 s), faces "
                             "interpolated between agreeing keyframes "
                             "(default 1; train with the K you will give detect_video.py; the checkpoint records it "
                             "and evaluate.py tracks test faces the same way)")
    parser.add_argument("--synthetic-clips", type=int, default=240, help="clips of a generated benchmark")
    parser.add_argument("--synthetic-frames", type=int, default=16, help="frames per generated clip")
    parser.add_argument("--synthetic-variant", default="ff", choices=("ff", "celeb"),
                        help="how a generated benchmark is made: ff (default) or celeb (Celeb-DF-like)")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    tree.add_tree_argument(parser)
    return parser


def _model_settings(args: argparse.Namespace) -> tuple[dict, Preprocessing]:
    """The model's config and the preprocessing, from the command line and the registry."""
    from common import models

    spec = models.get_spec(args.model)
    overrides: dict[str, Any] = {}
    if args.model == "transfer":
        overrides["pretrained"] = bool(args.pretrained)
        overrides["unfrozen_blocks"] = args.unfreeze_blocks if args.unfreeze_blocks is not None else (2 if args.pretrained else 5)
    elif args.pretrained and "pretrained" in spec.config:
        overrides["pretrained"] = True
    if args.window_seconds is not None:
        overrides["window_s"] = float(args.window_seconds)
    config = models.model_config(args.model, input_size=args.image_size, **overrides)
    return config, model_preprocessing(spec, config, size=args.image_size, scale=args.scale, n_frames=args.frames)


CHECKPOINT_SUFFIXES = (".pt", ".pth")
"""What ``--checkpoint`` may end in: a typo such as ``--checkpoint data/manifest.json`` would otherwise
overwrite a dataset's manifest with the checkpoint."""


def _validate_arguments(args: argparse.Namespace) -> None:
    from common import models

    spec = models.get_spec(args.model)
    if spec.phase != args.phase:
        raise CourseError(f"model '{args.model}' belongs to {spec.phase}: run {spec.phase}/train.py")
    if args.window_seconds is not None and (spec.kind != "signal" or not args.window_seconds > 0):
        raise CourseError(f"--window-seconds needs a signal detector and a positive number of seconds, "
                          f"got {args.window_seconds:g} for '{args.model}' ({spec.kind})")
    if args.data_source == "sbi" and spec.kind != "frame":
        raise CourseError(f"--data-source sbi makes face crops: it needs a frame detector, "
                          f"got '{args.model}' ({spec.kind})")
    if args.train_reencode is not None:
        parse_training_reencodings(args.train_reencode)
    if args.dataset not in DATASET_NAMES:
        raise CourseError(f"unknown dataset '{args.dataset}': choose one of {', '.join(DATASET_NAMES)}")
    if args.dataset != "synthetic" and not args.data_root:
        raise CourseError(f"--data-root is required for --dataset {args.dataset}")
    if args.data_root and not Path(args.data_root).exists():
        raise DatasetLayoutError(f"data root '{args.data_root}' does not exist")
    if args.dataset == "synthetic":
        benchmark = Path(args.data_root) if args.data_root else Path(args.output_dir) / synthetic_folder_name(
            args.synthetic_variant)
        check_clips_hold_the_window([args.model], benchmark, flag="--synthetic-frames", window_s=args.window_seconds,
                                    generated_frames=None if args.data_root else args.synthetic_frames)
    for name in ("epochs", "batch_size", "frames", "detect_every"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise CourseError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    check_output_dir(args.output_dir)
    if args.checkpoint and Path(args.checkpoint).suffix.lower() not in CHECKPOINT_SUFFIXES:
        raise CourseError(f"--checkpoint '{args.checkpoint}' should end in {' or '.join(CHECKPOINT_SUFFIXES)}: a "
                          "PyTorch checkpoint is written there, over any file of that name")


def keep_methods(splits: dict[str, list], text: str) -> dict[str, list]:
    """Train and validation keep the real videos and the fakes of the listed methods; test keeps all.

    A method no fake training video has is a one-line error (a typo would otherwise train on reals only).
    """
    wanted = {name.strip() for name in text.split(",") if name.strip()}
    present = {record.method for record in splits["train"] if record.label == 1}
    missing = sorted(wanted - present)
    if not wanted or missing:
        raise CourseError(f"--train-methods: {', '.join(missing) or 'none given'}: the training split's fakes are "
                          f"{', '.join(sorted(present))}")
    keep = {name: [r for r in splits[name] if r.label == 0 or r.method in wanted] for name in ("train", "val")}
    print(f"training and validation on real videos and {', '.join(sorted(wanted))} fakes only; the test split "
          f"keeps every method")
    return {**splits, **keep}


def train(args: argparse.Namespace) -> dict[str, Any]:
    """Run the whole training pipeline for parsed arguments; return the report (also written to
    ``<output-dir>/train_report.json``)."""
    from common import models

    started = time.perf_counter()
    device = resolve_device(args.device)
    row = models.get_spec(args.model)
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    methods = PHASE_DEFAULTS.get(args.phase, (None, None, SYNTHETIC_SPATIAL_METHODS))[2]
    data_root = Path(args.data_root) if args.data_root else ensure_synthetic_benchmark(
        output_dir / synthetic_folder_name(args.synthetic_variant), n_clips=args.synthetic_clips,
        n_frames=args.synthetic_frames, seed=args.seed, progress=not args.quiet, methods=methods,
        variant=args.synthetic_variant)
    dataset, records = load_records(args.dataset, data_root)
    splits = split_for_training(records, args.seed)
    if args.train_methods:
        splits = keep_methods(splits, args.train_methods)
    split_sizes = {name: len(items) for name, items in splits.items()}
    reencoded = None
    if args.train_reencode:
        # compressed copies of the *training* videos only: validation picks the epoch and calibrates on
        # the data as it comes (the deployment's), and the test split measures
        variants = parse_training_reencodings(args.train_reencode)
        copies = training_copies(splits["train"], variants, data_root, output_dir / "train_reencoded",
                                 progress=not args.quiet)
        reencoded = {"settings": [v.name for v in variants], "originals": len(splits["train"]),
                     "copies": len(copies), "folder": str((output_dir / "train_reencoded").resolve())}
        print(f"training set: {len(splits['train'])} videos + {len(copies)} re-encoded copies "
              f"({', '.join(v.description for v in variants)})")
        splits = {**splits, "train": splits["train"] + copies}
    print_split(splits)
    check_trainable_splits(splits)

    config, prep = _model_settings(args)
    row = dataclasses.replace(row, config={**row.config, **config})  # e.g. a signal window's --window-seconds
    cache_root = output_dir / "face_cache"
    sbi = args.data_source == "sbi"
    train_videos = real_records(splits["train"]) if sbi else splits["train"]  # sbi: the fakes are never read
    cache_dir, caches = cache_faces(row, prep, train_videos + splits["val"], cache_root, device=device,
                                    progress=not args.quiet, detect_every=args.detect_every)
    print(caches.describe())

    augment = "none" if args.no_augment or row.kind != "frame" else args.augment
    # Shuffled batches touch every video's cache file in turn: keep as many in memory as ~2 GB allow.
    in_memory = max(8, int(2e9 // (prep.n_frames * prep.size ** 2 * 3)))
    if sbi:
        train_set = SelfBlendedDataset(cache_dir, splits["train"], transform=prep.train_transform(augment, args.seed),
                                       seed=args.seed, scale=args.scale, landmarks=args.sbi_landmarks,
                                       files_in_memory=in_memory)
        print(train_set.describe() + "; validation: the real validation split with its fakes")
    else:
        train_set = make_dataset(row, prep, cache_dir, splits["train"],
                                 transform=prep.train_transform(augment, args.seed), files_in_memory=in_memory)
    val_set = make_dataset(row, prep, cache_dir, splits["val"], files_in_memory=in_memory)
    if len(train_set) == 0 or len(val_set) == 0:
        raise DatasetLayoutError(f"no faces found in the {'train' if len(train_set) == 0 else 'val'} videos")

    seed_everything(args.seed)
    model = models.build_model(args.model, **config)
    param_groups = model.param_groups(args.lr, args.backbone_lr_factor) if hasattr(model, "param_groups") else None
    checkpoint_path = Path(args.checkpoint) if args.checkpoint else output_dir / f"{args.model}_best.pt"
    train_config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, patience=args.patience,
                               monitor=args.monitor,
                               seed=args.seed, num_workers=args.workers, progress=not args.quiet)
    trained, fit_path = model, checkpoint_path
    if row.trains == "head":  # a frozen encoder: encode every input once, fit only the head
        started_encoding = time.perf_counter()
        train_set = EncodedDataset(model, train_set, device=device)
        val_set = EncodedDataset(model, val_set, device=device)
        print(f"encoded {len(train_set) + len(val_set)} inputs with the frozen encoder "
              f"({time.perf_counter() - started_encoding:.0f} s); training the head only")
        trained, fit_path = model.head, checkpoint_path.with_name(f".{checkpoint_path.stem}_head.pt")
    result = fit(trained, train_set, val_set, config=train_config, device=device, checkpoint_path=fit_path,
                 architecture=args.model, model_config=config, param_groups=param_groups)
    saved = load_checkpoint(fit_path, expected_architecture=args.model)

    # Platt scaling (or --calibration two-sided) on the validation *videos*: calibrated video
    # probabilities, FAKE from 0.5 (guide, "Calibrated verdicts")
    validation, _, _ = evaluate_detector(model, row, splits["val"], prep, cache_root, aggregation="mean",
                                         threshold=saved.threshold, device=device, progress=False,
                                         detect_every=args.detect_every)
    people = {record_id(record): record.group for record in splits["val"]}
    calibration = fit_calibration([v["score"] for v in validation["videos"]], [v["label"] for v in validation["videos"]],
                                  [people[v["id"]] for v in validation["videos"]], "mean", args.calibration)
    report, _, test_caches = evaluate_detector(model, row, splits["test"], prep, cache_root, aggregation="mean",
                                               threshold=saved.threshold, device=device, progress=not args.quiet,
                                               calibration=calibration, detect_every=args.detect_every
                                               ) if splits["test"] else ({}, None, None)
    seconds = time.perf_counter() - started
    data_source = {"name": args.data_source}
    if sbi:
        data_source.update(landmarks=args.sbi_landmarks, mesh_share=round(train_set.mesh_share, 4),
                           real_crops=len(train_set.real), real_videos=train_set.n_real_videos,
                           unused_fake_videos=train_set.n_ignored_fakes)
    extra = {
        **saved.extra,
        "kind": row.kind,
        "preprocessing": prep.to_dict(),
        "augmentation": augment,
        "data_source": data_source,
        "train_reencode": reencoded,
        "calibration": calibration.to_dict(),
        # what the calibration was fitted on, so that it can be audited or refitted another way
        "calibration_videos": {"videos": [str(v["video"]) for v in validation["videos"]],
                               "raw_scores": [float(v["score"]) for v in validation["videos"]],
                               "labels": [int(v["label"]) for v in validation["videos"]],
                               "people": [str(people[v["id"]]) for v in validation["videos"]]},
        "face_cache_root": str(cache_root.resolve()),
        "detect_every": int(args.detect_every),
        "data": {"dataset": dataset, "root": str(Path(data_root).resolve()), "split_seed": int(args.seed),
                 "split_fractions": list(DEFAULT_SPLIT_FRACTIONS),
                 "videos": split_sizes,
                 "train_methods": sorted({r.method for r in splits["train"] if r.label == 1})},
        "test_metrics": {k: report[k] for k in ("frame", "video", "aggregation", "calibration")} if report else None,
        "train_seconds": round(seconds, 1),
    }
    save_checkpoint(checkpoint_path, model, architecture=args.model, model_config=config, metrics=saved.metrics,
                    threshold=saved.threshold, training_config=saved.training_config, extra=extra)
    if fit_path != checkpoint_path:
        fit_path.unlink(missing_ok=True)  # the head alone; the checkpoint holds the whole network
    summary = {
        "checkpoint": str(checkpoint_path), "architecture": args.model, "kind": row.kind, "model_config": config,
        "best_epoch": result.best_epoch, "epochs_run": len(result.history), "history": result.history,
        "validation": result.best_metrics, "threshold": saved.threshold, "calibration": calibration.to_dict(),
        "test": report or None,
        "faces": caches.summary(), "test_faces": test_caches.summary() if test_caches else None,
        "seconds": round(seconds, 1),
        **{k: extra[k] for k in ("preprocessing", "augmentation", "data_source", "train_reencode", "data")},
    }
    write_text_atomic(output_dir / "train_report.json", json.dumps(summary, indent=2, default=str) + "\n")
    print(f"best epoch {result.best_epoch}/{len(result.history)}: val AUC {result.best_metrics.get('roc_auc')}; "
          f"checkpoint {checkpoint_path} ({seconds:.0f} s)")
    if report:
        print(f"held-out test split ({len(splits['test'])} videos):")
        print(format_table(report))
    return summary


def main(argv: list[str] | None = None, phase: str = "phase1_cnn_detection") -> int:
    """Parse, choose the exercise tree, validate cheap things first, then train. Returns 0."""
    args = build_parser(phase).parse_args(argv)
    tree.activate_from_args(args)
    _validate_arguments(args)
    resolve_device(args.device)
    train(args)
    return 0
