"""``compare_detectors.py``: every phase's detector on one mini-forensics split, and their fusion.

    python compare_detectors.py [--models baseline,temporal_features,spectrum_logistic,...] \\
        [--data-root runs/compare/mini-forensics] [--output-dir runs/compare] [--reuse] [--device auto]

1. the benchmark: one mini-forensics split with every manipulation (FaceSwap, GANUpsample,
   TemporalFlicker, Physiological, Deepfake) and real clips, identities split 70/15/15 (generated
   when ``--data-root`` is not given);
2. each detector is trained on the *same* training split with its phase's ``train.py`` pipeline
   and a recipe that fits a CPU (:data:`RECIPES`), or reloaded from ``--output-dir`` with
   ``--reuse``;
3. all detectors run together on every validation and test video, one face track per video
   (:func:`common.tools.detect.analyse_video`, exactly as ``multi_modal_detect.py`` runs them);
4. the fusion is fitted on the validation videos only (:mod:`common.fusion`) and applied to the
   test videos; every detector's entries on every validation and test video are kept in
   ``scores.json`` (with the checkpoints' SHA-256), so ``--reuse`` refits and redraws in seconds, and a
   detector added to the comparison (or retrained) is the only one that runs again;
5. the table: video AUC of each detector and of the fusion on each manipulation (its test fakes
   against all test real videos) and over all fakes, accuracy of the calibrated verdict at 0.5,
   and training time; written as ``comparison.md`` and ``comparison.json``. Two diagnostics follow
   the fused row: the same stacker fitted on the test videos themselves (an oracle, marked ``*``:
   if even it falls short, the detectors do, not the stacker), and each detector's false alarms per
   test person (:func:`person_offsets`: whether they follow the face rather than the manipulation).
   Then the same detectors and fusion *with reference footage* (:func:`reference_rows`): each test video
   scored against the other real test videos of its person (never itself) as known-real references,
   each detector's log-odds minus its shrunk person offset (phase 5's task 5.17) and the fusion's
   reference mode, with the fusion against the best single detector, plain or with references.
   Last, issue 17's calibrated verdicts per detector on its own fakes (:func:`verdict_table`): accuracy
   at its stored 0.5 against a raw 0.5 and the test set's best threshold, and its ECE against what
   a perfectly calibrated detector would show on as many videos, with how often such a detector
   misses each bar by chance on the same videos and, under the table, the misses it expects in all.

A detector that could not run on a test video (no face, a clip too short) counts as 0.5 there (no
evidence either way), and the table says on how many videos that happened.

With ``--cross-fit K`` each detector is also trained K more times on person-folds of the training and
validation people (:mod:`common.cross_fit`), its calibration is refitted on the out-of-fold scores of all
those people, and the table shows the recalibrated probabilities; ``cross_fit/`` then holds the
recalibrated checkpoints and a fusion fitted on the out-of-fold scores (row "fusion fitted out of fold"),
while ``fusion.json`` stays the one fitted on validation for the checkpoints as trained (row "fusion").
The verdicts are then also measured cross-validated over those people (each fold model with its own
calibration), and the test split's ECE is set beside the ECE of as many people drawn from them
(:func:`common.calibration.ece_of_people_drawn`): what a detector calibrated over people shows on so few.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from common.atomic import check_output_dir
from common.errors import ArgumentParser, CourseError
from common.experiment import check_clips_hold_the_window


@dataclass(frozen=True)
class Recipe:
    """How to train one registered detector quickly on mini-forensics: its phase and train.py flags."""

    phase: str
    flags: tuple[str, ...]
    sees: tuple[str, ...] = ()
    """The manipulations whose trace this detector's cue reads (``common.synthetic.manipulations``):
    with ``--specialists`` it is trained and validated on the real videos and these fakes only."""


SPATIAL_FAKES = ("FaceSwap", "GANUpsample", "Deepfake")
"""The manipulations a frame CNN's crop shows: a swapped face, an upsampling grid, or both."""
SMALL_CNN_FLAGS = ("--image-size", "64", "--frames", "16", "--epochs", "10", "--batch-size", "32", "--no-augment")
"""A small frame CNN's budget on 64-px crops (the baseline's measured settings)."""
LARGE_CNN_FLAGS = ("--image-size", "64", "--frames", "8", "--epochs", "6", "--batch-size", "32", "--no-augment")
"""A 20-M-parameter network trained from scratch on the CPU: half the frames, 6 epochs."""

RECIPES: dict[str, Recipe] = {
    # the blending boundary, colour mismatch and smooth low-resolution face of a swap; the checkerboard
    "baseline": Recipe("phase1_cnn_detection", SMALL_CNN_FLAGS, sees=SPATIAL_FAKES),
    # the baseline's blocks with its head on each 22-px patch (task 1.12): local traces only, not the whole face
    "patch_cnn": Recipe("phase1_cnn_detection", SMALL_CNN_FLAGS, sees=SPATIAL_FAKES),
    # MesoNet-4 (Afchar et al. 2018): 12.6 k parameters of mesoscopic filters, the guide's phase-1 rate 3e-3
    "mesonet": Recipe("phase1_cnn_detection", (*SMALL_CNN_FLAGS, "--lr", "3e-3"), sees=SPATIAL_FAKES),
    # XceptionNet from scratch (20.8 M parameters, 41 crops a second of training on 2 cores at 64 px):
    # a 5-fold cross-fit in about an hour on the CPU (7-12 min a training)
    "xceptionnet": Recipe("phase1_cnn_detection", LARGE_CNN_FLAGS, sees=SPATIAL_FAKES),
    # EfficientNet-B4 from scratch (17.6 M parameters, 36 crops a second on 2 cores at 64 px): Xception's budget
    "efficientnet": Recipe("phase1_cnn_detection", LARGE_CNN_FLAGS, sees=SPATIAL_FAKES),
    # frame-to-frame brightness flicker and sub-pixel jitter of the face
    "frame_difference": Recipe("phase2_temporal_analysis", ("--epochs", "40", "--patience", "10", "--lr", "0.05",
                                                            "--batch-size", "16"),
                               sees=("TemporalFlicker", "Deepfake")),
    "temporal_features": Recipe("phase2_temporal_analysis", ("--epochs", "40", "--patience", "10", "--lr", "0.01",
                                                             "--batch-size", "16"),
                                sees=("TemporalFlicker", "Deepfake")),
    "flow_statistics": Recipe("phase2_temporal_analysis", ("--epochs", "40", "--patience", "10", "--lr", "0.01",
                                                           "--batch-size", "16"),
                              sees=("TemporalFlicker", "Deepfake")),
    # the upsampling grid's spectral peaks; the missing high frequencies of a low-resolution swapped face
    "spectrum_logistic": Recipe("phase3_frequency_analysis", ("--epochs", "30", "--lr", "0.05", "--batch-size", "64"),
                                sees=SPATIAL_FAKES),
    # the period-2 grid of a transposed convolution, read at the Nyquist frequency itself (task 3.13)
    "checkerboard": Recipe("phase3_frequency_analysis", ("--epochs", "30", "--lr", "0.05", "--batch-size", "64"),
                           sees=("GANUpsample", "Deepfake")),
    # Frank et al.'s CNN on the log-DCT of the 64-px crop (task 3.12): no augmentation, which would blur the grid
    "dct_cnn": Recipe("phase3_frequency_analysis", ("--image-size", "64", "--frames", "16", "--epochs", "10",
                                                    "--batch-size", "32", "--augment", "none"),
                      sees=SPATIAL_FAKES),
    # phase 4 reads 10-s windows: benchmarks of --clip-frames 250 (the guide's phase-4 settings, --monitor
    # val_loss because validation AUC saturates in the first epochs of a 3-to-9-feature regression);
    # blinks and the pulse are missing only in the Physiological fakes
    "blink": Recipe("phase4_biological_signals", ("--scale", "1.6", "--epochs", "200", "--lr", "0.1",
                                                  "--monitor", "val_loss", "--patience", "30"),
                    sees=("Physiological",)),
    "pulse": Recipe("phase4_biological_signals", ("--scale", "1.6", "--epochs", "200", "--lr", "0.1",
                                                  "--monitor", "val_loss", "--patience", "30"),
                    sees=("Physiological",)),
    "biological": Recipe("phase4_biological_signals", ("--scale", "1.6", "--epochs", "200", "--lr", "0.1",
                                                       "--monitor", "val_loss", "--patience", "30"),
                         sees=("Physiological",)),
}
"""Fast CPU recipes (the guide's measured settings); ``--models`` may name only these."""

DEFAULT_MODELS = ("baseline", "temporal_features", "flow_statistics", "spectrum_logistic")
ALL_METHODS = ("FaceSwap", "GANUpsample", "TemporalFlicker", "Physiological", "Deepfake")
NOT_RUN_SCORE = 0.5
ORACLE_ROW = "fusion fitted on test*"
"""The table's oracle row: the stacker fitted on the test videos it is scored on (its ceiling)."""
CROSS_FITTED_FUSION_ROW = "fusion fitted out of fold"
"""With ``--cross-fit``: the fusion fitted on the out-of-fold scores, beside the one fitted on validation."""
REFERENCE_SUFFIX = " + reference"
"""Rows of the reference-footage table: a detector (or the fusion) with its person offsets subtracted."""
CROSS_VALIDATED_FUSION_ROW = "fusion (cross-validated)"
"""With ``--cross-fit``: each training and validation video fused by a fusion fitted on the other folds."""
VERDICT_GAP_BAR = 0.02
"""Issue 17: accuracy at the stored threshold within this of the test set's best threshold's."""
ECE_BAR = 0.05
"""Issue 17: the expected calibration error of the calibrated probability at most this."""


def build_parser() -> argparse.ArgumentParser:
    from grader.tree import add_tree_argument

    parser = ArgumentParser(prog="compare_detectors.py",
                            description="Train every phase's detector on one mini-forensics split, fuse "
                                        "them, and tabulate video AUC per manipulation.")
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS),
                        help=f"comma-separated registered models with a recipe: {', '.join(RECIPES)}")
    parser.add_argument("--data-root", default=None, help="a mini-forensics benchmark (default: generate one)")
    parser.add_argument("--clips", type=int, default=300, help="clips of a generated benchmark")
    parser.add_argument("--clip-frames", type=int, default=16, help="frames per generated clip")
    parser.add_argument("--output-dir", default="runs/compare")
    parser.add_argument("--detect-every", type=int, default=1, metavar="K",
                        help="MTCNN on every K-th frame, boxes interpolated between (training and scoring; "
                             "8 makes the face tracks of 10-s clips about 6x cheaper)")
    parser.add_argument("--reuse", action="store_true", help="reuse the checkpoints and the validation and test scores (scores.json) already in "
                             "--output-dir: refits the fusion and redraws the table in seconds; a detector "
                             "scored there before (same checkpoint) is not run again, a new one is scored alone")
    parser.add_argument("--load", action="append", default=[], metavar="MODEL=CHECKPOINT",
                        help="use this checkpoint of MODEL instead of training one (repeatable), e.g. "
                             "biological=runs/p4/biological_best.pt; it must not have seen the split's "
                             "validation or test people")
    parser.add_argument("--specialists", action="store_true",
                        help="train each detector on the real videos and the fakes its cue can see only (its "
                             "recipe's manipulations, e.g. the pulse on Physiological): experts for the fusion "
                             "(default: every detector on every fake)")
    parser.add_argument("--no-fusion", action="store_true", help="skip the fused row")
    parser.add_argument("--cross-fit", type=int, default=0, metavar="K",
                        help="also train each detector on K person-folds of the training and validation "
                             "people (common.cross_fit) and refit its calibration on their out-of-fold scores, "
                             "every training and validation person instead of the validation split's: the "
                             "table then shows those probabilities, and OUTPUT/cross_fit/ holds the "
                             "recalibrated checkpoints and a fusion fitted on the same scores; costs K more "
                             "trainings per detector (default 0: off)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--quiet", action="store_true")
    add_tree_argument(parser)
    return parser


def parse_loads(values: list[str], models: list[str]) -> dict[str, Path]:
    """``["biological=a.pt"]`` -> ``{"biological": Path("a.pt")}``; one line for a bad entry, a model not in
    ``--models``, a missing file, or a checkpoint of another model (it would be tabulated under the wrong
    name)."""
    from common.checkpoint import load_checkpoint

    loads = {}
    for value in values:
        model, _, path = value.partition("=")
        if not path or model not in models:
            raise CourseError(f"--load '{value}': expected MODEL=CHECKPOINT with MODEL one of --models "
                              f"({', '.join(models)})")
        if not Path(path).is_file():
            raise CourseError(f"--load '{value}': no such checkpoint file")
        held = load_checkpoint(path).architecture
        if held != model:
            raise CourseError(f"--load '{value}': the checkpoint holds {held}, not {model}")
        loads[model] = Path(path)
    return loads


def parse_models(text: str) -> list[str]:
    """``"a,b"`` -> ``["a", "b"]``; a one-line error for a model without a recipe."""
    models = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in models if name not in RECIPES]
    if not models or unknown:
        raise CourseError(f"--models: {', '.join(unknown) or 'none given'}: choose among {', '.join(RECIPES)}")
    return models


def train_with_recipe(model: str, data_root: Path, run_dir: Path, checkpoint: Path, *, device: str, seed: int,
                      quiet: bool, epochs: int | None = None, frames: int | None = None,
                      extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """Train ``model`` on ``data_root``'s split with its phase's ``train.py`` pipeline and :data:`RECIPES`
    (``epochs`` and ``frames`` override the recipe's, ``extra`` adds train.py flags, e.g.
    ``("--train-methods", "FaceSwap")``); returns :func:`common.tools.train.train`'s summary."""
    from common.tools import train

    recipe = RECIPES[model]
    flags = list(recipe.flags)
    for flag, value in (("--epochs", epochs), ("--frames", frames)):
        if value is not None and flag in flags:
            flags[flags.index(flag) + 1] = str(value)
    argv = ["--dataset", "synthetic", "--data-root", str(data_root), "--model", model, *flags,
            "--device", device, "--seed", str(seed), "--output-dir", str(run_dir), "--checkpoint", str(checkpoint),
            *extra]
    if quiet:
        argv.append("--quiet")
    return train.train(train.build_parser(recipe.phase).parse_args(argv))


def share_face_cache(output_dir: Path, run_dir: Path) -> None:
    """Point ``run_dir/face_cache`` at ``output_dir/face_cache``: MTCNN runs once per video and crop setting
    for every training run under ``output_dir`` (the cache keeps one folder per setting)."""
    shared = output_dir / "face_cache"
    shared.mkdir(parents=True, exist_ok=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    link = run_dir / "face_cache"
    if not link.exists():
        os.symlink(os.path.relpath(shared, run_dir), link)


def train_or_reuse(model: str, data_root: Path, output_dir: Path, *, device: str, seed: int, reuse: bool,
                   quiet: bool, detect_every: int = 1, specialist: bool = False) -> tuple[Path, float | None]:
    """The checkpoint of ``model`` trained on ``data_root``'s split, and its training seconds (None if reused);
    a ``specialist`` trains on the real videos and its recipe's ``sees`` fakes only."""
    checkpoint = output_dir / f"{model}.pt"
    if reuse and checkpoint.is_file():
        return checkpoint, None
    started = time.perf_counter()
    share_face_cache(output_dir, output_dir / model)
    extra = ("--detect-every", str(detect_every))
    if specialist:
        extra += ("--train-methods", ",".join(RECIPES[model].sees))
    train_with_recipe(model, data_root, output_dir / model, checkpoint, device=device, seed=seed, quiet=quiet,
                      extra=extra)
    return checkpoint, time.perf_counter() - started


def score_videos(detectors: list, records: list, *, progress: bool, tree: str, detect_every: int = 1) -> list[dict]:
    """Every detector on every video (one face track each): ``[{"label", "method", "entries"}]``."""
    from tqdm import tqdm

    from common.errors import VideoError
    from common.tools.detect import analyse_video, make_face_detector

    face_detector = make_face_detector(detectors)
    rows = []
    for record in tqdm(records, desc="test videos", unit="video", disable=not progress):
        try:
            report = analyse_video(record.path, detectors, face_detector=face_detector, tree=tree,
                                   detect_every=detect_every)
        except VideoError as error:
            rows.append({"video": str(record.path), "label": record.label, "method": record.method,
                         "group": record.group, "entries": None, "error": str(error)})
            continue
        rows.append({"video": str(record.path), "label": record.label, "method": record.method,
                     "group": record.group, "entries": report["detectors"]})
    return rows


def save_scores(path: Path, detectors: list, detect_every: int, scored_splits: dict[str, list[dict]]) -> None:
    """Every detector's report entries on every validation and test video, with the checkpoints' SHA-256:
    ``--reuse`` refits the fusion and redraws the table from them without tracking a face again."""
    from common.report import write_text_atomic

    content = {"checkpoints": [detector.describe()["sha256"] for detector in detectors],
               "detect_every": detect_every, "splits": scored_splits}
    write_text_atomic(path, json.dumps(content, default=str) + "\n")


def load_scores(path: Path, detect_every: int) -> dict[str, dict[str, dict[str, dict]]]:
    """The entries :func:`save_scores` wrote, per split, video and checkpoint SHA-256:
    ``{"val": {video path: {sha256: entry}}, "test": ...}``; empty when there are none or they were
    scored with another ``--detect-every`` (other face tracks)."""
    if not path.is_file():
        return {}
    content = json.loads(path.read_text())
    if content.get("detect_every") != detect_every:
        return {}
    return {split: {row["video"]: {entry.get("sha256"): entry for entry in row["entries"] or []} for row in rows}
            for split, rows in content["splits"].items()}


def fold_video_path(saved: str, root: Path) -> str:
    """A cached fold video's path, re-rooted under this run's ``root`` (``OUTPUT/cross_fit``): the saved path
    from its last ``cross_fit`` folder on, so a run folder copied or moved keeps its cached scores.

    Example: ``fold_video_path("runs/c34/cross_fit/fold0/mini-forensics/videos/train/a.mp4",
    Path("runs/c35/cross_fit"))`` -> ``"runs/c35/cross_fit/fold0/mini-forensics/videos/train/a.mp4"``;
    a path with no ``cross_fit`` folder is returned as it is.
    """
    parts = Path(saved).parts
    if "cross_fit" not in parts:
        return saved
    last = len(parts) - 1 - parts[::-1].index("cross_fit")
    return str(root.joinpath(*parts[last + 1:]))


def cross_fit_scores(models: list[str], data_root: Path, output_dir: Path, folds: int, *, device: str, seed: int,
                     quiet: bool, detect_every: int, specialists: bool, reuse: bool, tree: str) -> list[dict]:
    """Out-of-fold entries of every training and validation video (:mod:`common.cross_fit`).

    For each of ``folds`` person-folds, every model is trained with its recipe on a benchmark of that
    fold's split (``output_dir/cross_fit/fold<k>``, sharing ``output_dir``'s face cache) and scores the
    fold's held-out videos. Returns rows like :func:`score_videos`'s, the entries in ``models`` order,
    each with its ``fold``; with ``reuse`` the checkpoints and the entries in ``cross_fit/scores.json`` of
    an earlier run are reused (a model added since is trained and scored alone).
    """
    from common.cross_fit import fold_splits, person_folds, write_split_benchmark
    from common.experiment import load_records, split_for_training
    from common.report import write_text_atomic
    from common.tools.detect import load_detectors

    root = output_dir / "cross_fit"
    saved = root / "scores.json"
    key = {"models": models, "folds": folds, "detect_every": detect_every, "specialists": specialists}
    cached: dict[str, dict[str, dict[str, dict]]] = {}
    if reuse and saved.is_file():
        content = json.loads(saved.read_text())
        for row in content["rows"]:
            row["video"] = fold_video_path(row["video"], root)
        if content.get("key") == key and all("fold" in row for row in content["rows"]):
            return content["rows"]
        if content.get("key", {}).get("detect_every") == detect_every:
            # the entries of fold checkpoints scored before are reused; only new detectors are scored
            cached = {"test": {row["video"]: {entry.get("sha256"): entry for entry in row["entries"] or []}
                               for row in content["rows"]}}
    _, records = load_records("synthetic", data_root)
    splits = split_for_training(records, seed)
    people = person_folds(splits["train"] + splits["val"], folds)
    rows = []
    for fold in range(folds):
        fold_dir = root / f"fold{fold}"
        fold_root = write_split_benchmark(data_root, fold_dir / "mini-forensics", fold_splits(people, fold))
        share_face_cache(output_dir, fold_dir)  # the fold runs track no face again
        checkpoints = []
        for model in models:
            print(f"cross-fitting fold {fold + 1}/{folds}: training {model} ...")
            checkpoints.append(train_or_reuse(model, fold_root, fold_dir, device=device, seed=seed, reuse=reuse,
                                              quiet=quiet, detect_every=detect_every, specialist=specialists)[0])
        _, fold_records = load_records("synthetic", fold_root)
        held = [record for record in fold_records if record.split == "test"]
        rows += [{**row, "fold": fold} for row in score_or_reuse(
            load_detectors(checkpoints, device), {"test": held}, cached, progress=not quiet, tree=tree,
            detect_every=detect_every)["test"]]
    write_text_atomic(saved, json.dumps({"key": key, "rows": rows}, default=str) + "\n")
    return rows


def cross_validated_fusion(rows: list[dict]) -> list[float]:
    """The fused probability of every out-of-fold video (:func:`cross_fit_scores`'s rows) from a fusion
    fitted on the *other* folds' videos only: the fusion evaluated on every training and validation person
    (87 on the 10-s benchmark) instead of the 15 test people, each person fused by a stacker that never saw
    them. (The other folds' scores come from fold models that were trained on this fold's people: the
    test split stays the clean measurement; this one is the larger.)"""
    from common.fusion import fit_fusion

    return cross_validated_fusions(rows)[0]


def cross_validated_fusions(rows: list[dict]) -> tuple[list[float], dict[str, list] | None, list[float] | None]:
    """:func:`cross_validated_fusion`, and with it the same folds *with reference footage*
    (:func:`reference_scores` on each fold's videos, the references being the other real videos of each
    person, all in that fold; the person models and the reference mode fitted on the other folds):
    ``(fused, singles with references, fused with references)``, the last two None when a fold's
    fusion has no reference mode."""
    from common.fusion import fit_fusion

    fused, singles, referenced = [0.0] * len(rows), {}, [0.0] * len(rows)
    for fold in sorted({row["fold"] for row in rows}):
        others = [row for row in rows if row["fold"] != fold]
        fusion = fit_fusion([row["entries"] for row in others], [row["label"] for row in others],
                            people=[row["group"] for row in others])
        held = [position for position, row in enumerate(rows) if row["fold"] == fold]
        for position in held:
            fused[position] = fusion.fuse(rows[position]["entries"])["video_score"]
        if fusion.reference is None or referenced is None:
            referenced = None
            continue
        fold_singles, fold_fused = reference_scores([rows[position] for position in held], fusion)
        for name, scores in fold_singles.items():
            column = singles.setdefault(name, [None] * len(rows))
            for position, score in zip(held, scores):
                column[position] = score
        for position, score in zip(held, fold_fused):
            referenced[position] = score
    return fused, (singles if referenced is not None else None), referenced


def cross_validated_table(rows: list[dict], models: list[str], methods: list[str],
                          with_fusion: bool) -> tuple[dict[str, Any], str]:
    """Every detector (each video scored by the fold model that never saw its person, with that model's
    own calibration) and the :func:`cross_validated_fusion` on the out-of-fold videos: the comparison on
    every training and validation person. Returns what comparison.json keeps and a Markdown section."""
    table = [table_row(model, detector_scores(rows, i), rows) for i, model in enumerate(models)]
    against_best, with_reference = {}, None
    if with_fusion:
        fused, singles, referenced = cross_validated_fusions(rows)
        table.append(table_row(CROSS_VALIDATED_FUSION_ROW, fused, rows))
        against_best = fusion_against_best(rows, fused, table, methods, models)
        if referenced is not None:
            with_reference = reference_rows(rows, models, singles, referenced, methods, table[:len(models)])
    people = len({row["group"] for row in rows})
    section = (f"\nCross-validated over the {people} training and validation people ({len(rows)} videos, "
               f"{len({row['fold'] for row in rows})} person-folds): each video scored by the fold's detectors and "
               "fused by a stacker fitted on the other folds (common.tools.compare.cross_validated_fusion):\n\n"
               + format_markdown(table, methods, {}, legend=False) + "\n" + format_intervals(table, against_best))
    if with_reference is not None:
        section += format_reference_section(with_reference, methods, "cross-validated as above, each video against "
                                                                     "the other real videos of its person")
    return {"people": people, "videos": len(rows), "rows": table, "fusion_against_best": against_best,
            "with_reference": with_reference}, section


def recalibrate_rows(rows: list[dict], calibrations: list) -> list[dict]:
    """Rows whose detector entries carry the probabilities of ``calibrations`` (one per detector, in order)."""
    from common.cross_fit import recalibrated

    return [{**row, "entries": None if row["entries"] is None
             else [recalibrated(entry, calibration) for entry, calibration in zip(row["entries"], calibrations)]}
            for row in rows]


def score_or_reuse(detectors: list, splits: dict[str, list], cached: dict[str, dict[str, dict[str, dict]]], *,
                   progress: bool, tree: str, detect_every: int) -> dict[str, list[dict]]:
    """Every detector's entries on every validation and test video, in ``detectors`` order: those of a
    checkpoint already scored on all of them (``cached``, from :func:`load_scores`) are reused, and only
    the other detectors run (one face track per video). Adding a detector to a comparison scores it alone."""
    shas = [detector.describe()["sha256"] for detector in detectors]
    names = [name for name in ("val", "test") if name in splits]
    missing = [i for i, sha in enumerate(shas)
               if not all(sha in cached.get(name, {}).get(str(record.path), {})
                          for name in names for record in splits[name])]
    if missing:
        print(f"scoring {', '.join(detectors[i].describe().get('name', '?') for i in missing)} on "
              f"{sum(len(splits[name]) for name in names)} {' and '.join(names)} videos"
              + (f" (the other {len(shas) - len(missing)} reused from scores.json)" if len(missing) < len(shas) else ""))
    fresh = {name: score_videos([detectors[i] for i in missing], splits[name], progress=progress, tree=tree,
                                detect_every=detect_every) if missing else None for name in names}
    scored = {}
    for name in names:
        rows = []
        for position, record in enumerate(splits[name]):
            row = {"video": str(record.path), "label": record.label, "method": record.method, "group": record.group,
                   "entries": []}
            new = fresh[name][position] if missing else None
            if new is not None and new["entries"] is None:
                row.update(entries=None, error=new["error"])
            else:
                for i, sha in enumerate(shas):
                    row["entries"].append(new["entries"][missing.index(i)] if i in missing
                                          else cached[name][str(record.path)][sha])
            rows.append(row)
        scored[name] = rows
    return scored


def detector_scores(rows: list[dict], position: int) -> list[float | None]:
    """The calibrated video score of the detector at ``position`` on each row (None where it could not run)."""
    return [row["entries"][position]["video_score"] if row["entries"][position]["status"] == "ok" else None
            for row in rows]


def table_row(name: str, scores: list[float | None], rows: list[dict]) -> dict[str, Any]:
    """AUC per manipulation and over all fakes, accuracy at 0.5 and at the best threshold, for one
    detector's (calibrated) scores of the test videos (None = could not run, counted as 0.5)."""
    from common.calibration import brier_score, ece_if_calibrated, expected_calibration_error
    from common.experiment import per_method_metrics
    from common.metrics import binary_metrics

    used = [s if s is not None else NOT_RUN_SCORE for s in scores]
    videos = [{"label": r["label"], "method": r["method"], "score": s} for r, s in zip(rows, used)]
    labels = np.array([v["label"] for v in videos])
    overall = binary_metrics(labels, np.array(used), 0.5)
    best = max(float(np.mean((np.array(used) >= t) == labels)) for t in sorted(set(used)) + [1.1])
    return {"detector": name, "per_method": {m: e["roc_auc"] for m, e in per_method_metrics(videos).items()},
            "all_fakes_auc": overall["roc_auc"], "accuracy_at_0.5": overall["accuracy"],
            "accuracy_best_threshold": best, "ece": expected_calibration_error(labels, used),
            "ece_if_calibrated": ece_if_calibrated(used)["mean"],
            "brier": brier_score(labels, used), "could_not_run": sum(s is None for s in scores),
            "intervals": row_intervals(labels, np.array(used), [r.get("group") for r in rows])}


def row_intervals(labels: np.ndarray, scores: np.ndarray, people: list) -> dict[str, dict]:
    """95 % intervals over the test *people* (:func:`common.metrics.person_bootstrap`) of a row's AUC over
    all fakes, accuracy at 0.5 and ECE: how far each figure would move on another set of as many people."""
    from common.calibration import accuracy_at, expected_calibration_error
    from common.metrics import person_bootstrap, rank_auc

    return {"all_fakes_auc": person_bootstrap(rank_auc, people, labels, scores),
            "accuracy_at_0.5": person_bootstrap(lambda y, s: accuracy_at(y, s, 0.5), people, labels, scores),
            "ece": person_bootstrap(expected_calibration_error, people, labels, scores)}


def fusion_against_best(rows: list[dict], fused: list[float], table: list[dict], methods: list[str],
                        names: list[str], scores_of: dict[str, list] | None = None) -> dict[str, dict]:
    """Per manipulation, the fused AUC minus the best single detector's (the detector with the highest
    test AUC on it, among ``names``), with its 95 % interval over the test people (the same people drawn
    for both: a paired person bootstrap). Issue 14 asks for a difference of 0 or more on every
    manipulation; an interval that holds 0 says these test people cannot tell the two apart.

    Example (measured, ``runs/c25``'s 15 test people): on FaceSwap the fusion's 0.759 against the DCT
    CNN's 0.941 is a difference of -0.181 with the interval [-0.371, 0.019]: on 15 people even that gap
    is not certain. ``scores_of``: each candidate's scores of the rows by name (default: the detector's
    entries in the rows, ``names`` being their order).
    """
    from common.metrics import person_bootstrap, rank_auc

    labels = np.array([r["label"] for r in rows])
    kinds = np.array([r["method"] for r in rows])
    people = [r.get("group") for r in rows]
    fused = np.array(fused, dtype=np.float64)
    by_name = {row["detector"]: row for row in table}
    result = {}
    for method in methods:
        candidates = [n for n in names if by_name[n]["per_method"].get(method) is not None]
        if not candidates:
            continue
        best = max(candidates, key=lambda n: by_name[n]["per_method"][method])
        scores = scores_of[best] if scores_of is not None else detector_scores(rows, names.index(best))
        best_scores = np.array([NOT_RUN_SCORE if score is None else score for score in scores])

        def difference(y, kind, a, b, method=method):
            keep = (y == 0) | (kind == method)
            return rank_auc(y[keep], a[keep]) - rank_auc(y[keep], b[keep])

        interval = person_bootstrap(difference, people, labels, kinds, fused, best_scores)
        result[method] = {"best": best, "difference": difference(labels, kinds, fused, best_scores),
                          "low": interval["low"], "high": interval["high"], "people": interval["people"]}
    return result


def _interval(interval: dict | None) -> str:
    """A 95 % interval as "[low, high]" to three decimals, or "" where there is none."""
    if not interval or interval.get("low") is None:
        return ""
    return f"[{interval['low']:.3f}, {interval['high']:.3f}]"


def format_intervals(table: list[dict], against_best: dict[str, dict]) -> str:
    """The rows' person-bootstrap intervals, and the fusion against the best single detector, as Markdown."""
    def span(interval: dict | None) -> str:
        return _interval(interval) or "-"

    people = next((row["intervals"]["all_fakes_auc"]["people"] for row in table if row.get("intervals")), 0)
    lines = [f"95 % intervals over the {people} people (each resample draws {people} people with their videos, "
             f"common.metrics.person_bootstrap):", "",
             "| detector | all fakes AUC | acc@0.5 | ECE |", "|---|---|---|---|"]
    for row in table:
        intervals = row.get("intervals", {})
        lines.append(f"| {row['detector']} | {row['all_fakes_auc']:.3f} {span(intervals.get('all_fakes_auc'))} | "
                     f"{row['accuracy_at_0.5']:.3f} {span(intervals.get('accuracy_at_0.5'))} | "
                     f"{row['ece']:.3f} {span(intervals.get('ece'))} |")
    if against_best:
        lines += ["", "The fusion against the best single detector of each manipulation (AUC difference, "
                      "the same people drawn for both):", "",
                  "| manipulation | best single detector | fusion minus it | 95 % interval |", "|---|---|---:|---|"]
        for method, entry in against_best.items():
            lines.append(f"| {method} | {entry['best']} | {entry['difference']:+.3f} | {span(entry)} |")
    return "\n".join(lines) + "\n"


def reference_scores(rows: list[dict], fusion) -> tuple[dict[str, list], list[float]]:
    """Each detector's and the fusion's scores of the rows *with reference footage*: each video's references
    are the other real videos of its person among the rows (never itself), the examiner's known-real
    footage of the person a video claims to show. A detector's score is its log-odds minus its shrunk
    person offset, read as a probability by the logistic function (so only its AUCs mean something); the
    fusion's is its reference mode's calibrated probability (:class:`common.fusion.PersonReference`).
    Returns ``({name + REFERENCE_SUFFIX: scores}, fused)``."""
    from scipy.special import expit

    from common.fusion import corrected_by_other_videos, log_odds_table, mixture_log_odds

    reference = fusion.reference
    table = log_odds_table([row["entries"] for row in rows], fusion.names)
    corrected = corrected_by_other_videos(table, [row["label"] for row in rows], [row.get("group") for row in rows],
                                          *reference.components())
    singles = {name + REFERENCE_SUFFIX: [None if np.isnan(x) else float(expit(x)) for x in corrected[:, d]]
               for d, name in enumerate(fusion.names)}
    fused = reference.calibration.apply_all(expit(mixture_log_odds(reference.kinds, corrected))).tolist()
    return singles, fused


def reference_rows(rows: list[dict], names: list[str], singles: dict[str, list], fused: list[float],
                   methods: list[str], plain: list[dict]) -> dict[str, Any]:
    """The table rows of :func:`reference_scores`' scores, and the fusion with references against the best
    single detector of each manipulation, plain or with references (``against_best``) and plain only
    (``against_best_plain``; ``plain``: the table's rows of the detectors ``names`` as they are). Returns
    ``{"rows", "against_best", "against_best_plain", "people_with_references"}``."""
    from common.fusion import people_with_references

    scores_of = {name: detector_scores(rows, d) for d, name in enumerate(names)} | singles
    table_rows = [table_row(name, scores, rows) for name, scores in singles.items()]
    table_rows.append(table_row("fusion" + REFERENCE_SUFFIX, fused, rows))
    against_best = fusion_against_best(rows, fused, plain + table_rows[:-1], methods, list(scores_of), scores_of)
    against_plain = fusion_against_best(rows, fused, plain, methods, names)
    return {"rows": table_rows, "against_best": against_best, "against_best_plain": against_plain,
            "people_with_references": people_with_references([row["label"] for row in rows],
                                                             [row.get("group") for row in rows])}


def format_reference_section(section: dict[str, Any], methods: list[str], how: str) -> str:
    """The reference-footage rows and the fusion against the best single detector, as Markdown."""
    lines = ["", f"With reference footage: {how} "
                 f"(never itself; {section['people_with_references']} people have two or more), each detector's "
                 "log-odds minus its shrunk person offset (task 5.17) and the fusion's reference mode "
                 "(common.fusion.PersonReference):", "",
             "| detector | " + " | ".join(methods) + " | all fakes | acc@0.5 | ECE |",
             "|---|" + "---|" * (len(methods) + 3)]
    for row in section["rows"]:
        cells = [_cell(row["per_method"].get(m)) for m in methods] + [_cell(row["all_fakes_auc"])]
        fused = row["detector"].startswith("fusion")
        cells += [_cell(row["accuracy_at_0.5"]), _cell(row["ece"])] if fused else ["-", "-"]
        lines.append(f"| {row['detector']} | " + " | ".join(cells) + " |")
    lines += ["", "(A detector's corrected log-odds are not recalibrated: read its AUCs only.) The fusion with "
                  "references against the best single detector of each manipulation as it is, and against the best "
                  "plain or with references (AUC difference and 95 % interval, the same people drawn for both):", "",
              "| manipulation | best single detector | fusion + reference minus it | best, plain or with references | "
              "fusion + reference minus it |", "|---|---|---|---|---|"]

    def cell(entry: dict) -> str:
        return f"{entry['difference']:+.3f} {_interval(entry)}".rstrip()

    for method, entry in section["against_best"].items():
        plain = section["against_best_plain"].get(method)
        lines.append(f"| {method} | {plain['best'] if plain else '-'} | {cell(plain) if plain else '-'} | "
                     f"{entry['best']} | {cell(entry)} |")
    return "\n".join(lines) + "\n"


def own_videos(rows: list[dict], position: int, sees: tuple[str, ...] | None) -> dict[str, np.ndarray]:
    """The videos the detector at ``position`` is judged on as an expert: the real ones and the fakes of
    the manipulations it was trained to see (every fake when ``sees`` is None), where it could run.
    Returns arrays ``labels``, ``probabilities`` (calibrated), ``raw`` (its raw video score) and ``people``."""
    kept = [(row["label"], row["entries"][position]["video_score"], row["entries"][position]["raw_video_score"],
             str(row.get("group"))) for row in rows
            if row["entries"][position]["status"] == "ok"
            and (row["label"] == 0 or sees is None or row["method"] in sees)]
    labels, probabilities, raw, people = zip(*kept) if kept else ((), (), (), ())
    return {"labels": np.array(labels, dtype=int), "probabilities": np.array(probabilities, dtype=np.float64),
            "raw": np.array(raw, dtype=np.float64), "people": np.array(people)}


def verdict_row(name: str, videos: dict[str, np.ndarray], pool: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
    """Issue 17's bars for one detector on its :func:`own_videos`: accuracy of the calibrated verdict at
    0.5 against a raw 0.5 and against the best threshold on these videos (an oracle), the ECE against
    what a perfectly calibrated detector would show on as many videos, and the misses (``misses``,
    empty when every bar holds).

    ``pool``: the same detector's own videos on many more people (the cross-validated rows), on which its
    calibration holds; then ``ece_of_people_drawn`` summarises the ECE of as many people as here drawn
    from that pool (:func:`common.calibration.ece_of_people_drawn`): the floor that counts the people,
    and the share of those draws that would meet the ECE bar.

    Example: labels 1, 1, 0, 0 with probabilities 0.9, 0.4, 0.2, 0.6 and raw scores 0.8, 0.6, 0.4, 0.3:
    at 0.5 the calibrated verdicts get 2 of 4 right, a raw 0.5 all 4, the best threshold on the
    probabilities 3 of 4 (FAKE from 0.3, or from 0.7); the ECE is (0.1 + 0.6 + 0.2 + 0.6) / 4 = 0.375.
    Misses: "0.500 below a raw 0.5", "0.250 from the oracle", "ECE above 0.05".
    """
    from common.calibration import (accuracy_at, bars_if_calibrated, best_threshold, ece_if_calibrated,
                                    ece_of_people_drawn, expected_calibration_error)
    from common.metrics import rank_auc

    y, p = videos["labels"], videos["probabilities"]
    if y.size == 0:
        return {"detector": name, "videos": 0, "people": 0, "auc": None, "accuracy_stored": None,
                "accuracy_raw_0.5": None, "accuracy_best": None, "ece": None, "ece_if_calibrated": None,
                "bars_if_calibrated": None, "ece_of_people_drawn": None, "misses": ["it ran on none of these videos"]}
    row = {"detector": name, "videos": int(y.size), "people": int(np.unique(videos["people"]).size),
           "auc": rank_auc(y, p) if 0 < y.sum() < y.size else None, "accuracy_stored": accuracy_at(y, p, 0.5),
           "accuracy_raw_0.5": accuracy_at(y, videos["raw"], 0.5), "accuracy_best": best_threshold(y, p)[1],
           "ece": expected_calibration_error(y, p), "ece_if_calibrated": ece_if_calibrated(p),
           "bars_if_calibrated": bars_if_calibrated(p, videos["raw"], VERDICT_GAP_BAR, ECE_BAR),
           "ece_of_people_drawn": None}
    if pool is not None and np.unique(pool["people"]).size > row["people"]:
        drawn = ece_of_people_drawn(pool["labels"], pool["probabilities"], pool["people"], row["people"])
        row["ece_of_people_drawn"] = {"pool_people": int(np.unique(pool["people"]).size),
                                      "mean": float(drawn.mean()), "p5": float(np.percentile(drawn, 5)),
                                      "p95": float(np.percentile(drawn, 95)),
                                      "share_within_bar": float(np.mean(drawn <= ECE_BAR))}
    misses = []
    if row["accuracy_stored"] < row["accuracy_raw_0.5"]:
        misses.append(f"{row['accuracy_raw_0.5'] - row['accuracy_stored']:.3f} below a raw 0.5")
    if row["accuracy_best"] - row["accuracy_stored"] > VERDICT_GAP_BAR:
        misses.append(f"{row['accuracy_best'] - row['accuracy_stored']:.3f} from the oracle")
    if row["ece"] > ECE_BAR:
        misses.append(f"ECE above {ECE_BAR}")
    row["misses"] = misses
    return row


def verdict_table(rows: list[dict], models: list[str], specialists: bool,
                  pool_rows: list[dict] | None = None) -> list[dict]:
    """:func:`verdict_row` of every detector on ``rows`` (each an expert on its recipe's fakes with
    ``specialists``), with the floor over people drawn from ``pool_rows`` when given."""
    table = []
    for position, model in enumerate(models):
        sees = RECIPES[model].sees if specialists else None
        pool = own_videos(pool_rows, position, sees) if pool_rows else None
        table.append(verdict_row(model, own_videos(rows, position, sees), pool))
    return table


def _cell(value: float | None) -> str:
    """A table cell: the value to three decimals, or "-" for none."""
    return "-" if value is None else f"{value:.3f}"


def format_verdict_table(table: list[dict], title: str) -> str:
    """:func:`verdict_table` as Markdown under ``title``, with its legend."""
    with_pool = any(row["ece_of_people_drawn"] for row in table)
    drawn_column = ["ECE of as many people drawn (p5-p95), share <= 0.05"] if with_pool else []
    header = ["detector", "videos", "people", "AUC", "acc, stored 0.5", "acc, raw 0.5", "acc best*", "ECE",
              "ECE if calibrated (p95)", *drawn_column, "misses if calibrated", "issue 17's bars"]
    lines = [title, "", "| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 2) + "---|"]
    for row in table:
        floor = row["ece_if_calibrated"]
        cells = [row["detector"], str(row["videos"]), str(row["people"]),
                 *[_cell(row[key]) for key in ("auc", "accuracy_stored", "accuracy_raw_0.5", "accuracy_best", "ece")],
                 "-" if floor is None else f"{floor['mean']:.3f} ({floor['p95']:.3f})"]
        if with_pool:
            drawn = row["ece_of_people_drawn"]
            cells.append("-" if drawn is None else f"{drawn['mean']:.3f} ({drawn['p5']:.3f}-{drawn['p95']:.3f}), "
                                                   f"{drawn['share_within_bar']:.2f}")
        chance = row.get("bars_if_calibrated")
        cells.append("-" if chance is None else
                     f"{chance['below_raw']:.2f} / {chance['from_oracle']:.2f} / {chance['ece']:.2f}")
        cells.append("met" if not row["misses"] else "; ".join(row["misses"]))
        lines.append("| " + " | ".join(cells) + " |")
    ran = [row for row in table if row.get("bars_if_calibrated")]
    if ran:
        missed = sum(len(row["misses"]) for row in ran)
        expected = sum(row["bars_if_calibrated"][bar] for row in ran for bar in ("below_raw", "from_oracle", "ece"))
        all_met = float(np.prod([1 - row["bars_if_calibrated"]["any"] for row in ran]))
        lines += ["", f"Bars missed: {missed}; a perfectly calibrated detector would miss {expected:.1f} of them on "
                      f"these videos by chance, and meet all of them in {100 * all_met:.0f} % of test sets "
                      "(common.calibration.bars_if_calibrated)."]
    lines += ["", "Each detector on the real videos and the fakes it was trained on. acc, stored 0.5: its calibrated "
              "verdict; acc best*: the best threshold on these videos (an oracle); ECE if calibrated: what a perfectly "
              "calibrated detector shows on as many videos (common.calibration.ece_if_calibrated); misses if "
              "calibrated: how often such a detector misses each bar (below a raw 0.5 / from the oracle / ECE) on "
              "these very videos, 1000 draws of labels from the probabilities (common.calibration.bars_if_calibrated)"
              + ("; ECE of as many people drawn: the ECE of this many people drawn from the cross-validated people, "
                 "on whom the detector's calibration is measured below (common.calibration.ece_of_people_drawn), and "
                 "the share of draws at most 0.05" if with_pool else "")
              + f". Issue 17's bars: the stored verdict not below a raw 0.5, within {VERDICT_GAP_BAR} of the oracle, "
              f"ECE at most {ECE_BAR}."]
    return "\n".join(lines) + "\n"


def real_log_odds_by_person(rows: list[dict], position: int) -> dict[str, list[float]]:
    """The log-odds (:func:`common.fusion.log_odds` of the calibrated video score) that the detector at
    ``position`` gave each person's (``group``) *real* test videos, those it could score."""
    from common.fusion import log_odds, usable

    by_person: dict[str, list[float]] = {}
    for row in rows:
        entry = row["entries"][position]
        if row["label"] == 0 and usable(entry):
            by_person.setdefault(str(row.get("group")), []).append(log_odds(entry["video_score"]))
    return by_person


def person_offsets(rows: list[dict], names: list[str]) -> dict[str, dict[str, float]]:
    """How much each detector's false alarms follow the person: per detector, per person (``group``),
    the mean log-odds of that person's *real* test videos minus the detector's mean over all real
    test videos it scored (:func:`real_log_odds_by_person`).

    A detector that reads the manipulation gives every person about 0; one that learned what the
    people it was trained on look like rises and falls with the face (the *implicit identity
    leakage* of Dong et al., CVPR 2023). Example: real videos of person A at 0.9 and 0.9 (log-odds
    2.197) and of B at 0.5 (0): the mean is 1.465, A's offset +0.732 and B's -1.465.
    """
    offsets = {}
    for position, name in enumerate(names):
        by_person = real_log_odds_by_person(rows, position)
        if by_person:
            mean = float(np.mean([value for values in by_person.values() for value in values]))
            offsets[name] = {person: float(np.mean(values)) - mean for person, values in sorted(by_person.items())}
    return offsets


def between_person_share(rows: list[dict], names: list[str]) -> dict[str, float]:
    """Per detector, the share of the variance of its log-odds over the real test videos that lies
    *between* people (the correlation ratio eta^2 = sum_p n_p (mean_p - mean)^2 / sum (x - mean)^2):
    1 when a real video's score is fixed by who it shows, near (people - 1) / (videos - 1) when the
    person does not matter (15 people in 54 videos: 0.26 by chance alone).

    Example: person A at log-odds 1 and 3, person B at 5 and 7: mean 4, between (2 (2 - 4)^2 +
    2 (6 - 4)^2) = 16 of a total 9 + 1 + 1 + 9 = 20: 0.8.
    """
    shares = {}
    for position, name in enumerate(names):
        by_person = real_log_odds_by_person(rows, position)
        values = np.array([value for group in by_person.values() for value in group])
        total = float(((values - values.mean()) ** 2).sum()) if values.size else 0.0
        if total > 0:
            between = sum(len(group) * (np.mean(group) - values.mean()) ** 2 for group in by_person.values())
            shares[name] = float(between / total)
    return shares


def format_person_offsets(offsets: dict[str, dict[str, float]], shares: dict[str, float]) -> str:
    """:func:`person_offsets` as a Markdown table, one column per person, and :func:`between_person_share`."""
    people = sorted({person for values in offsets.values() for person in values})
    lines = ["| detector | " + " | ".join(people) + " | between people |", "|---|" + "---:|" * (len(people) + 1)]
    for name, values in offsets.items():
        share = f"{shares[name]:.2f}" if name in shares else "-"
        lines.append(f"| {name} | " + " | ".join(f"{values[p]:+.1f}" if p in values else "-" for p in people)
                     + f" | {share} |")
    return "\n".join(lines) + "\n"


def format_markdown(rows: list[dict], methods: list[str], seconds: dict[str, float | None], legend: bool = True) -> str:
    """The comparison as a Markdown table (and, with ``legend``, what its columns mean)."""
    header = ["detector", *methods, "all fakes", "acc@0.5", "acc best*", "ECE", "ECE if calibrated", "not run", "train s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        trained = seconds.get(row["detector"])
        lines.append("| " + " | ".join([row["detector"], *[_cell(row["per_method"].get(m)) for m in methods],
                                        _cell(row["all_fakes_auc"]), _cell(row["accuracy_at_0.5"]),
                                        _cell(row["accuracy_best_threshold"]), _cell(row.get("ece")),
                                        _cell(row.get("ece_if_calibrated")),
                                        str(row["could_not_run"]),
                                        "-" if trained is None else f"{trained:.0f}"]) + " |")
    if not legend:
        return "\n".join(lines) + "\n"
    lines.append("")
    lines.append("Video AUC of each manipulation's test fakes against all test real videos; acc@0.5: accuracy of "
                 "the calibrated verdict; acc best*: at the test set's best threshold (an oracle); ECE: expected "
                 "calibration error of the calibrated probability (10 bins); fusion fitted on test*: the same stacker "
                 "fitted on these test videos (an oracle: the most this stacker can make of these detectors); "
                 "ECE if calibrated: the ECE a perfectly "
                 "calibrated detector with the same probabilities would show on this many videos (mean of "
                 "1000 draws of labels from them, common.calibration.ece_if_calibrated).")
    return "\n".join(lines) + "\n"


def compare(args: argparse.Namespace) -> dict[str, Any]:
    """The whole comparison for parsed arguments (module docstring); returns what comparison.json holds."""
    from common.experiment import ensure_synthetic_benchmark, load_records, split_for_training
    from common.calibration import DEFAULT_CALIBRATION
    from common.cross_fit import out_of_fold_calibration, write_recalibrated_checkpoint
    from common.detectors import sha256_of
    from common.fusion import detector_fingerprint, fit_fusion, save_fusion
    from common.report import write_text_atomic
    from common.tools.detect import load_detectors
    from common.tools.multi_modal import add_fusion
    from grader.tree import active_name

    models = parse_models(args.models)
    loads = parse_loads(args.load, models)
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    data_root = Path(args.data_root) if args.data_root else ensure_synthetic_benchmark(
        output_dir / "mini-forensics", n_clips=args.clips, n_frames=args.clip_frames, seed=args.seed,
        progress=not args.quiet, methods=ALL_METHODS)
    started = time.perf_counter()
    checkpoints, seconds = [], {}
    for model in models:
        if model in loads:
            print(f"loading {model}: {loads[model]}")
            checkpoints.append(loads[model])
            seconds[model] = None
            continue
        print(f"training {model} ...")
        checkpoint, trained = train_or_reuse(model, data_root, output_dir, device=args.device, seed=args.seed,
                                             reuse=args.reuse, quiet=args.quiet, detect_every=args.detect_every,
                                             specialist=args.specialists)
        checkpoints.append(checkpoint)
        seconds[model] = trained
    detectors = load_detectors(checkpoints, args.device)
    _, records = load_records("synthetic", data_root)
    splits = split_for_training(records, args.seed)
    scores_path = output_dir / "scores.json"
    cached = load_scores(scores_path, args.detect_every) if args.reuse else {}
    scored_splits = score_or_reuse(detectors, splits, cached, progress=not args.quiet, tree=active_name(),
                                   detect_every=args.detect_every)
    save_scores(scores_path, detectors, args.detect_every, scored_splits)
    validation = [row for row in scored_splits["val"] if row["entries"] is not None]
    scored = [row for row in scored_splits["test"] if row["entries"] is not None]
    fusion = None
    if not args.no_fusion and len(detectors) > 1:
        fusion = fit_fusion([row["entries"] for row in validation], [row["label"] for row in validation],
                            people=[row["group"] for row in validation])
        save_fusion(output_dir / "fusion.json", fusion)
    cross_fit, cross_fitted_fusion, as_trained = None, None, scored
    if args.cross_fit:
        # every detector recalibrated on the out-of-fold scores of all training and validation people
        # (written as checkpoints of its own under cross_fit/), and a fusion fitted on those scores
        out_of_fold = [row for row in cross_fit_scores(
            models, data_root, output_dir, args.cross_fit, device=args.device, seed=args.seed, quiet=args.quiet,
            detect_every=args.detect_every, specialists=args.specialists, reuse=args.reuse, tree=active_name())
            if row["entries"] is not None]
        people = len({row["group"] for row in out_of_fold})
        calibrations = [out_of_fold_calibration([row["entries"][i] for row in out_of_fold],
                                                [row["label"] for row in out_of_fold],
                                                [row["method"] for row in out_of_fold],
                                                RECIPES[model].sees if args.specialists else None,
                                                [row["group"] for row in out_of_fold],
                                                # refitted the way its checkpoint was calibrated
                                                detector.calibration.method if detector.calibration else DEFAULT_CALIBRATION)
                        for i, (model, detector) in enumerate(zip(models, detectors))]
        fitted_on = f"out-of-fold scores of {people} people ({args.cross_fit} folds)"
        recalibrated_checkpoints = [write_recalibrated_checkpoint(checkpoint, output_dir / "cross_fit" / f"{model}.pt",
                                                                  calibration, fitted_on)
                                    for checkpoint, model, calibration in zip(checkpoints, models, calibrations)]
        scored = recalibrate_rows(scored, calibrations)
        if fusion is not None:
            cross_fitted_fusion = fit_fusion([row["entries"] for row in recalibrate_rows(out_of_fold, calibrations)],
                                             [row["label"] for row in out_of_fold],
                                             people=[row["group"] for row in out_of_fold])
            # fitted on the fold models' scores, it belongs to the recalibrated checkpoints
            cross_fitted_fusion.detectors = [{**detector_fingerprint(entry), "sha256": sha256_of(path)}
                                             for entry, path in zip(scored[0]["entries"], recalibrated_checkpoints)]
            save_fusion(output_dir / "cross_fit" / "fusion.json", cross_fitted_fusion)
        cross_fit = {"folds": args.cross_fit, "videos": len(out_of_fold), "people": people,
                     "checkpoints": [str(path) for path in recalibrated_checkpoints],
                     "calibrations": {model: c.to_dict() for model, c in zip(models, calibrations)}}
        print(f"cross-fitted: calibrations fitted on {len(out_of_fold)} out-of-fold videos of {people} people "
              f"({args.cross_fit} folds); recalibrated checkpoints and their fusion in {output_dir / 'cross_fit'}")
    rows, videos = [], [{"video": r["video"], "label": r["label"], "method": r["method"], "scores": {}}
                        for r in scored]
    for position, detector in enumerate(detectors):
        scores = detector_scores(scored, position)
        rows.append(table_row(models[position], scores, scored))
        for video, score in zip(videos, scores):
            video["scores"][models[position]] = score
    if fusion is not None:
        fused = [add_fusion({"detectors": [dict(e) for e in row["entries"]]}, fusion, output_dir / "fusion.json",
                            {})["video_score"] for row in as_trained]
        rows.append(table_row("fusion", fused, scored))
        for video, score in zip(videos, fused):
            video["scores"]["fusion"] = score
        if cross_fitted_fusion is not None:
            rows.append(table_row(CROSS_FITTED_FUSION_ROW, [cross_fitted_fusion.fuse(row["entries"])["video_score"]
                                                            for row in scored], scored))
        # the same stacker fitted on the test videos themselves: an oracle, the ceiling of this stacker
        # on these detectors (never a result; it tells whether the stacker or the detectors fall short)
        labels = [row["label"] for row in scored]
        if min(labels.count(0), labels.count(1)) >= 2:
            oracle = fit_fusion([row["entries"] for row in scored], labels)
            rows.append(table_row(ORACLE_ROW, [oracle.fuse(row["entries"])["video_score"] for row in scored], scored))
    methods = [m for m in ALL_METHODS if any(r["method"] == m for r in scored)]
    against_best = fusion_against_best(scored, fused, rows, methods, models) if fusion is not None else {}
    offsets, shares = person_offsets(scored, models), between_person_share(scored, models)
    markdown = (format_markdown(rows, methods, seconds) + "\n" + format_intervals(rows, against_best)
                + "\nReal test videos, per person: each detector's mean "
                "log-odds minus its mean over all real test videos (common.tools.compare.person_offsets), and the "
                "share of their variance that lies between people (between_person_share):\n\n"
                + format_person_offsets(offsets, shares))
    with_reference = None
    if fusion is not None and fusion.reference is not None:
        # the checkpoints as trained, whose scores the fusion (and its reference mode) was fitted on
        singles, fused_with_reference = reference_scores(as_trained, fusion)
        with_reference = reference_rows(as_trained, models, singles, fused_with_reference, methods, rows[:len(models)])
        markdown += format_reference_section(with_reference, methods, "each test video scored against the other real "
                                                                      "test videos of its person")
        if cross_fitted_fusion is not None and cross_fitted_fusion.reference is not None:
            # the same on the recalibrated checkpoints, the person models and the fusion fitted out of fold
            singles, fused_with_reference = reference_scores(scored, cross_fitted_fusion)
            with_reference["fitted_out_of_fold"] = reference_rows(scored, models, singles, fused_with_reference,
                                                                  methods, rows[:len(models)])
            markdown += format_reference_section(
                with_reference["fitted_out_of_fold"], methods,
                f"the recalibrated checkpoints, with the person models and the fusion ({CROSS_FITTED_FUSION_ROW}) "
                f"fitted on the out-of-fold scores of the {cross_fit['people']} training and validation people; each "
                "test video scored against the other real test videos of its person")
    cross_validated = None
    if args.cross_fit:
        cross_validated, section = cross_validated_table(out_of_fold, models, methods, fusion is not None)
        markdown += section
    verdicts = {"test": verdict_table(scored, models, args.specialists, out_of_fold if args.cross_fit else None)}
    calibrated_on = "its calibration refitted out of fold" if args.cross_fit else "its checkpoint's calibration"
    test_people = len({row["group"] for row in scored})
    markdown += "\n" + format_verdict_table(
        verdicts["test"],
        f"Calibrated verdicts on the test split ({test_people} people), each detector with {calibrated_on}:")
    if args.cross_fit:
        verdicts["cross_validated"] = verdict_table(out_of_fold, models, args.specialists)
        markdown += "\n" + format_verdict_table(
            verdicts["cross_validated"],
            f"Calibrated verdicts cross-validated over the {cross_validated['people']} training and validation "
            "people: each video scored by the fold model that never saw its person, with that model's own "
            "calibration (fitted on its fold's validation people):")
    result = {"data_root": str(data_root), "test_videos": len(scored), "models": models, "rows": rows,
              "fusion_against_best": against_best, "with_reference": with_reference,
              "cross_validated": cross_validated, "verdicts": verdicts,
              "person_offsets": offsets, "between_person_share": shares,
              "train_seconds": seconds, "fusion": fusion.to_dict() if fusion is not None else None,
              "cross_fit": cross_fit,
              "seconds": round(time.perf_counter() - started, 1), "videos": videos}
    write_text_atomic(output_dir / "comparison.json", json.dumps(result, indent=2, default=str) + "\n")
    write_text_atomic(output_dir / "comparison.md", markdown)
    print(markdown)
    print(f"written: {output_dir / 'comparison.md'}, {output_dir / 'comparison.json'} ({result['seconds']:.0f} s)")
    return result


def main(argv: list[str] | None = None) -> int:
    from grader.tree import activate_from_args

    args = build_parser().parse_args(argv)
    activate_from_args(args)
    models = parse_models(args.models)
    loads = parse_loads(args.load, models)
    check_output_dir(args.output_dir)
    if args.data_root and not Path(args.data_root).is_dir():
        raise CourseError(f"--data-root '{args.data_root}': no such folder")
    if args.detect_every < 1:
        raise CourseError(f"--detect-every must be 1 or more, got {args.detect_every}")
    if args.cross_fit == 1 or args.cross_fit < 0:
        raise CourseError(f"--cross-fit must be 0 (off) or 2 or more folds, got {args.cross_fit}")
    check_clips_hold_the_window([model for model in models if model not in loads],
                                Path(args.data_root) if args.data_root else Path(args.output_dir) / "mini-forensics",
                                generated_frames=None if args.data_root else args.clip_frames, flag="--clip-frames")
    compare(args)
    return 0
