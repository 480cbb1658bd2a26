"""``phase1_cnn_detection/train.py``: train a phase-1 face classifier on a deepfake dataset.

    python phase1_cnn_detection/train.py --dataset faceforensics --data-root /data/FF++ \\
        --model xceptionnet --epochs 30 --batch-size 32 [--lr 1e-3] [--frames 32] [--device auto] \\
        [--output-dir runs/phase1] [--checkpoint xception_best.pt] [--solutions]

    # no data at hand: generate the synthetic mini-forensics benchmark first (240 clips of 16
    # frames, spatial fakes) and train XceptionNet on 64-px crops, their size in the 128-px clips
    # (test video AUC 0.91-0.99 over three seeds, mean 0.95, on people never seen in training;
    # about 9 min on 2 CPU cores; the guide's "Phase 1 results on mini-forensics" has the figures)
    python phase1_cnn_detection/train.py --dataset synthetic --model xceptionnet --image-size 64 \
        --frames 16 --epochs 6 --augment none

Pipeline, each step a library function:

1. load the videos (``common.datasets.load_dataset``) and split them by group so no identity is
   in two splits (``group_split``; the dataset's own split is kept where it has one);
2. sample ``--frames`` frames per video, detect and crop the faces once
   (``common.faces.build_face_cache``, with the exercise tree's MTCNN ``FaceExtractor``);
3. build the model from the registry (``common.models.build_model``) and train it with forensic
   augmentation (task 1.9) and ``common.training.fit``: class balancing, validation AUC after every
   epoch, early stopping, best epoch saved as a safe checkpoint;
4. score the held-out test split at frame and video level (``phase1_evaluate.evaluate_detector``)
   and store the results and the preprocessing in the checkpoint, so ``evaluate.py`` reproduces them.

Outputs in ``--output-dir``: the checkpoint (default ``<model>_best.pt``), ``train_report.json``
(history, validation and test metrics, face-cache summary), ``face_cache/``, and for
``--dataset synthetic`` without ``--data-root`` the generated ``mini-forensics/`` benchmark.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from grader import tree
from common.checkpoint import load_checkpoint, save_checkpoint
from common.datasets import DATASET_NAMES, VideoRecord
from common.device import resolve_device, seed_everything
from common.errors import CourseError, DatasetLayoutError
from common.faces import build_face_cache
from common.tools.phase1_evaluate import (
    DEFAULT_SPLIT_FRACTIONS,
    Preprocessing,
    evaluate_detector,
    format_table,
    load_records,
    split_for_training,
)
from common.torch_data import FaceCropDataset
from common.training import TrainConfig, fit

SYNTHETIC_SPATIAL_METHODS = ("FaceSwap", "GANUpsample")
"""The mini-forensics manipulations a frame-level (spatial) detector can see."""


def ensure_synthetic_benchmark(root: Path, *, n_clips: int, n_frames: int, size: int = 128, seed: int = 0,
                               progress: bool = True, methods: tuple[str, ...] = SYNTHETIC_SPATIAL_METHODS) -> Path:
    """Generate a spatial-only mini-forensics benchmark at ``root`` unless one is already there.

    Returns ``root``. The benchmark holds real clips and fakes of ``methods`` (default FaceSwap and
    GANUpsample), identities split 70/15/15 (``common.synthetic.write_benchmark``).
    """
    if (root / "manifest.json").is_file():
        return root
    from common.synthetic import write_benchmark

    print(f"generating the mini-forensics benchmark ({n_clips} clips of {n_frames} frames) in {root}")
    write_benchmark(root, n_clips=n_clips, seed=seed, n_frames=n_frames, size=size,
                    methods=list(methods), progress=progress)
    return root


AUGMENTATION_CHOICES = ("forensic", "mild", "none")
"""Values of ``--augment``."""


def training_transform(augment: str, prep: Preprocessing, seed: int):
    """The training transform for an ``--augment`` choice, built from the exercise tree's task 1.9.

    ``forensic``: the default :class:`AugmentationConfig` (flip, rotation, brightness/contrast,
    blur, JPEG): robustness to re-encoding, at the price of erasing pixel-level artefacts.
    ``mild``: flip and brightness/contrast only; rotation, blur and JPEG resample or filter every
    pixel, so they are off. ``none``: the evaluation transform (resize and normalise).
    """
    from phase1_cnn_detection.template_classifier import AugmentationConfig, EvalTransform, TrainTransform

    if augment not in AUGMENTATION_CHOICES:
        raise CourseError(f"unknown augmentation '{augment}': choose one of {', '.join(AUGMENTATION_CHOICES)}")
    if augment == "none":
        return EvalTransform(prep.size, prep.mean, prep.std)
    config = AugmentationConfig() if augment == "forensic" else AugmentationConfig(rotation_p=0.0, blur_p=0.0, jpeg_p=0.0)
    return TrainTransform(prep.size, prep.mean, prep.std, seed=seed, config=config)


def check_trainable_splits(splits: dict[str, list[VideoRecord]]) -> None:
    """Train and validation need both classes (AUC is undefined otherwise); one line if not."""
    for name in ("train", "val"):
        labels = {r.label for r in splits[name]}
        if labels != {0, 1}:
            found = "no videos" if not labels else ("only FAKE" if labels == {1} else "only REAL")
            raise DatasetLayoutError(f"the {name} split has {found} ({len(splits[name])} videos); "
                                     f"both REAL and FAKE videos are needed: add data or use another split")


def _print_split(splits: dict[str, list[VideoRecord]]) -> None:
    parts = [f"{name} {len(items)} ({sum(r.label for r in items)} fake)" for name, items in splits.items()]
    print("videos: " + ", ".join(parts))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python phase1_cnn_detection/train.py",
                                     description="Train a phase-1 CNN deepfake detector on face crops.")
    parser.add_argument("--dataset", required=True, help=f"dataset layout: {'|'.join(DATASET_NAMES)}")
    parser.add_argument("--data-root", default=None, help="dataset folder (not needed for --dataset synthetic)")
    parser.add_argument("--model", default="xceptionnet", help="xceptionnet|efficientnet|mesonet|baseline|transfer")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3, help="learning rate (of the head, for --model transfer)")
    parser.add_argument("--frames", type=int, default=32, help="frames sampled per video")
    parser.add_argument("--image-size", type=int, default=None, help="face crop side in pixels (default: the model's)")
    parser.add_argument("--scale", type=float, default=1.3, help="crop margin: square side / face box side")
    parser.add_argument("--device", default="auto", help="auto|cpu|cuda|cuda:N|mps")
    parser.add_argument("--output-dir", default="runs/phase1")
    parser.add_argument("--checkpoint", default=None, help="checkpoint path (default: <output-dir>/<model>_best.pt)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--patience", type=int, default=5, help="early stopping after this many epochs without gain")
    parser.add_argument("--pretrained", action="store_true", help="start from ImageNet weights (needs them cached)")
    parser.add_argument("--unfreeze-blocks", type=int, default=None,
                        help="transfer: backbone stages to fine-tune (default: 2 when --pretrained, all otherwise)")
    parser.add_argument("--backbone-lr-factor", type=float, default=0.1, help="transfer: backbone lr = lr * factor")
    parser.add_argument("--augment", default="forensic", choices=AUGMENTATION_CHOICES,
                        help="training augmentation (task 1.9): forensic = flip, rotation, brightness/contrast, "
                             "blur, JPEG; mild = flip and brightness/contrast only, which keep pixel-level "
                             "artefacts (noise, upsampling grids) intact; none")
    parser.add_argument("--no-augment", action="store_true", help="same as --augment none")
    parser.add_argument("--synthetic-clips", type=int, default=240, help="clips of a generated benchmark")
    parser.add_argument("--synthetic-frames", type=int, default=16, help="frames per generated clip")
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
    elif args.pretrained and "pretrained" in spec.default_config:
        overrides["pretrained"] = True
    config = models.model_config(args.model, input_size=args.image_size, **overrides)
    size, mean, std = models.input_spec(args.model, config)
    if args.image_size is not None:
        size = int(args.image_size)
    return config, Preprocessing(size, mean, std, float(args.scale), int(args.frames))


def _validate_arguments(args: argparse.Namespace) -> None:
    from common import models

    models.get_spec(args.model)
    if args.dataset not in DATASET_NAMES:
        raise CourseError(f"unknown dataset '{args.dataset}': choose one of {', '.join(DATASET_NAMES)}")
    if args.dataset != "synthetic" and not args.data_root:
        raise CourseError(f"--data-root is required for --dataset {args.dataset}")
    if args.data_root and not Path(args.data_root).exists():
        raise DatasetLayoutError(f"data root '{args.data_root}' does not exist")
    for name in ("epochs", "batch_size", "frames"):
        if getattr(args, name) < 1:
            raise CourseError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")


def train(args: argparse.Namespace) -> dict[str, Any]:
    """Run the whole training pipeline for parsed arguments; return the report (also written to
    ``<output-dir>/train_report.json``)."""
    from common import models
    from phase1_cnn_detection.template_classifier import EvalTransform

    started = time.perf_counter()
    device = resolve_device(args.device)
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    data_root = Path(args.data_root) if args.data_root else ensure_synthetic_benchmark(
        output_dir / "mini-forensics", n_clips=args.synthetic_clips, n_frames=args.synthetic_frames,
        seed=args.seed, progress=not args.quiet)
    dataset, records = load_records(args.dataset, data_root)
    splits = split_for_training(records, args.seed)
    _print_split(splits)
    check_trainable_splits(splits)

    config, prep = _model_settings(args)
    cache_root = output_dir / "face_cache"
    cache_dir = cache_root / prep.cache_folder_name()
    caches = build_face_cache(splits["train"] + splits["val"], cache_dir, n_frames=prep.n_frames, size=prep.size,
                              scale=prep.scale, device=device, progress=not args.quiet)
    print(caches.describe())

    augment = "none" if args.no_augment else args.augment
    train_transform = training_transform(augment, prep, args.seed)
    # Shuffled batches touch every video's cache file in turn: keep as many in memory as ~2 GB allow.
    in_memory = max(8, int(2e9 // (prep.n_frames * prep.size ** 2 * 3)))
    train_set = FaceCropDataset(cache_dir, splits["train"], transform=train_transform, files_in_memory=in_memory)
    val_set = FaceCropDataset(cache_dir, splits["val"], transform=EvalTransform(prep.size, prep.mean, prep.std),
                              files_in_memory=in_memory)
    if len(train_set) == 0 or len(val_set) == 0:
        raise DatasetLayoutError(f"no faces found in the {'train' if len(train_set) == 0 else 'val'} videos")

    seed_everything(args.seed)
    model = models.build_model(args.model, **config)
    param_groups = model.param_groups(args.lr, args.backbone_lr_factor) if hasattr(model, "param_groups") else None
    checkpoint_path = Path(args.checkpoint) if args.checkpoint else output_dir / f"{args.model}_best.pt"
    train_config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, patience=args.patience,
                               seed=args.seed, num_workers=args.workers, progress=not args.quiet)
    result = fit(model, train_set, val_set, config=train_config, device=device, checkpoint_path=checkpoint_path,
                 architecture=args.model, model_config=config, param_groups=param_groups)
    saved = load_checkpoint(checkpoint_path, expected_architecture=args.model)

    report, _, test_caches = evaluate_detector(model, splits["test"], prep, cache_root, aggregation="mean",
                                               threshold=saved.threshold, device=device,
                                               progress=not args.quiet) if splits["test"] else ({}, None, None)
    seconds = time.perf_counter() - started
    extra = {
        **saved.extra,
        "preprocessing": prep.to_dict(),
        "augmentation": augment,
        "face_cache_root": str(cache_root.resolve()),
        "data": {"dataset": dataset, "root": str(Path(data_root).resolve()), "split_seed": int(args.seed),
                 "split_fractions": list(DEFAULT_SPLIT_FRACTIONS),
                 "videos": {name: len(items) for name, items in splits.items()}},
        "test_metrics": {k: report[k] for k in ("frame", "video", "aggregation")} if report else None,
        "train_seconds": round(seconds, 1),
    }
    save_checkpoint(checkpoint_path, model, architecture=args.model, model_config=config, metrics=saved.metrics,
                    threshold=saved.threshold, training_config=saved.training_config, extra=extra)
    summary = {
        "checkpoint": str(checkpoint_path), "architecture": args.model, "model_config": config,
        "best_epoch": result.best_epoch, "epochs_run": len(result.history), "history": result.history,
        "validation": result.best_metrics, "threshold": saved.threshold, "test": report or None,
        "faces": caches.summary(), "test_faces": test_caches.summary() if test_caches else None,
        "seconds": round(seconds, 1), **{k: extra[k] for k in ("preprocessing", "augmentation", "data")},
    }
    (output_dir / "train_report.json").write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"best epoch {result.best_epoch}/{len(result.history)}: val AUC {result.best_metrics.get('roc_auc')}; "
          f"checkpoint {checkpoint_path} ({seconds:.0f} s)")
    if report:
        print(f"held-out test split ({len(splits['test'])} videos):")
        print(format_table(report))
    return summary


def main(argv: list[str] | None = None) -> int:
    """Parse, choose the exercise tree, validate cheap things first, then train. Returns 0."""
    args = build_parser().parse_args(argv)
    tree.activate_from_args(args)
    _validate_arguments(args)
    resolve_device(args.device)
    train(args)
    return 0
