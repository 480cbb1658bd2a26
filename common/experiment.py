"""The experiment around a detector: which videos, which split, and the tables and plots of a result.

Shared by every phase's ``train.py`` and ``evaluate.py`` (:mod:`common.engine`):

* :func:`load_records` reads a dataset folder (its layout detected by :func:`detect_dataset`);
* :func:`split_for_training` splits it by group so no identity is on two sides (the dataset's own
  split where it has one), and :func:`choose_records` picks the videos to evaluate;
* :func:`ensure_synthetic_benchmark` generates mini-forensics when no data is given;
* :func:`format_table` and :func:`write_plots` present frame- and video-level metrics.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from common import metrics as course_metrics
from common.calibration import Calibration, calibration_report, plot_reliability
from common.datasets import DATASET_NAMES, VideoRecord, group_split, load_dataset
from common.errors import CourseError, DatasetLayoutError

SPLIT_CHOICES = ("auto", "all", "train", "val", "test")
DEFAULT_SPLIT_FRACTIONS = (0.7, 0.15, 0.15)
SYNTHETIC_SPATIAL_METHODS = ("FaceSwap", "GANUpsample")
"""The mini-forensics manipulations a frame-level (spatial) detector can see."""


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


def report_from_scores(scored: Any, aggregation: str = "mean", threshold: float = 0.5,
                       calibration: Calibration | None = None) -> dict[str, Any]:
    """Frame- and video-level metrics, the per-video scores and the video-level calibration figures.

    Frame metrics are taken at ``threshold`` (the checkpoint's frame threshold). With a
    ``calibration`` (Platt scaling fitted on validation videos) a video is FAKE when its calibrated
    probability reaches 0.5, i.e. when its raw score reaches ``calibration.raw_threshold()``; the
    ``calibration`` section has the Brier score, ECE and accuracies (see :mod:`common.calibration`).
    """
    report = course_metrics.frame_and_video_report(scored.frame_indices, scored.video_ids, scored.labels,
                                                   scored.scores, aggregation=aggregation, threshold=threshold)
    ids, labels, scores = course_metrics.video_scores(zip(scored.video_ids, scored.labels, scored.scores), aggregation)
    usable = calibration if calibration is not None and calibration.aggregation == aggregation else None
    if usable is not None:
        report["video"] = course_metrics.binary_metrics(labels, scores, usable.raw_threshold())
    report["calibration"] = calibration_report(labels, scores, usable, 0.5 if usable else threshold)
    probabilities = usable.apply_all(scores) if usable else np.asarray(scores, dtype=np.float64)
    report["videos"] = [{"video": scored.video_paths.get(str(video_id), str(video_id)), "id": str(video_id),
                         "label": int(label), "score": float(score), "probability": float(probability)}
                        for video_id, label, score, probability in zip(ids, labels, scores, probabilities)]
    return report


def per_method_metrics(videos: list[dict]) -> dict[str, dict[str, Any]]:
    """Video AUC of each manipulation on its own: its fake videos against every real video.

    ``videos``: the report's per-video entries with ``label``, ``score`` and ``method`` (``"real"``
    for pristine videos). Returns ``{method: {"n_fake", "n_real", "roc_auc"}}`` for every fake
    method, in name order (``roc_auc`` is None without real videos). A detector's mean AUC over a
    mixed test set hides which manipulation it misses; this does not.

    Example: real scores [0.1, 0.4], FaceSwap [0.3, 0.9] -> FaceSwap AUC 0.75 (3 of 4 pairs ordered).
    """
    real = [v["score"] for v in videos if v.get("method") == "real"]
    table: dict[str, dict[str, Any]] = {}
    for method in sorted({v.get("method") for v in videos if v["label"] == 1 and v.get("method")}):
        fake = [v["score"] for v in videos if v.get("method") == method]
        auc = None
        if real:
            labels = np.r_[np.zeros(len(real)), np.ones(len(fake))]
            auc = float(course_metrics.binary_metrics(labels, np.r_[real, fake], 0.5)["roc_auc"])
        table[method] = {"n_fake": len(fake), "n_real": len(real), "roc_auc": auc}
    return table


def write_plots(scored: Any, report: dict, output_dir: str | Path) -> list[Path]:
    """ROC curves and confusion matrices at frame and video level (ROC only when both classes exist),
    and the video-level reliability diagram (``reliability_video.png``)."""
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
    if report.get("calibration") and report["calibration"]["reliability"]:
        written.append(plot_reliability(report["calibration"], output_dir / "reliability_video.png"))
    return written


def format_table(report: dict) -> str:
    """A short console table of the main metrics at both levels.

    The first level is the detector's unit (``report["unit"]``): a face crop of one frame for frame
    detectors, a clip for clip detectors (``report["frame"]`` holds it either way).
    """
    def cell(value: Any) -> str:
        return "   n/a" if value is None else f"{value:6.3f}"

    unit = report.get("unit", "frame")
    lines = [f"{'level':<7}{'n':>6}{'fake':>6}  {'AUC':>6}  {'AP':>6}  {'EER':>6}  {'acc':>6}  {'bal.acc':>7}"]
    for level, label in (("frame", unit), ("video", "video")):
        m = report[level]
        lines.append(f"{label:<7}{m['n']:>6}{m['n_fake']:>6}  {cell(m['roc_auc'])}  {cell(m['average_precision'])}  "
                     f"{cell(m['eer'])}  {cell(m['accuracy'])}  {cell(m['balanced_accuracy']):>7}")
    per_method = report.get("per_method") or {}
    if len(per_method) > 1:
        cells = ", ".join(f"{method} {cell(entry['roc_auc']).strip()} ({entry['n_fake']})"
                          for method, entry in per_method.items())
        lines.append(f"video AUC per manipulation (its fakes against all real videos): {cells}")
    lines.append(f"(video score = {report['aggregation']} of its {unit} scores; {unit} threshold "
                 f"{report['frame']['threshold']:.3f}, video threshold {report['video']['threshold']:.3f})")
    c = report.get("calibration")
    if c:
        how = (f"{Calibration.from_dict(c['calibration']).describe()}, FAKE from P = 0.5"
               if c["calibrated"] else "not calibrated (raw scores)")
        lines.append(f"video probabilities: {how}; Brier {c['brier']:.3f} (raw {c['brier_raw']:.3f}), "
                     f"ECE {c['ece']:.3f} (raw {c['ece_raw']:.3f}; a perfectly calibrated detector with these "
                     f"probabilities would show {c['ece_if_calibrated']['mean']:.3f} on these videos, 95th "
                     f"percentile {c['ece_if_calibrated']['p95']:.3f})")
        lines.append(f"video accuracy: {c['accuracy_at_threshold']:.3f} at the stored threshold, "
                     f"{c['accuracy_at_raw_0.5']:.3f} at a raw 0.5, {c['accuracy_at_best_threshold_oracle']:.3f} at "
                     f"the test set's best threshold (an oracle, unobtainable in practice)")
        chance = c.get("gaps_if_calibrated")
        if chance:
            shift, lead = chance["stored_minus_raw"], chance["oracle_minus_stored"]
            lines.append(f"by chance alone, on these videos (labels drawn from these probabilities, as a perfectly "
                         f"calibrated detector's would be): accuracy at the stored threshold minus at a raw 0.5 averages "
                         f"{shift['mean']:+.3f} (below 0 in {100 * shift['below_0']:.0f} % of draws); the best threshold "
                         f"leads by {lead['mean']:.3f} on average (95th percentile {lead['p95']:.3f})")
    return "\n".join(lines)


def face_cache_root(requested: str | None, checkpoint_extra: dict, output_dir: Path) -> Path:
    """Where face caches go: ``--cache-dir``, else the training run's cache (reused: each file is
    checked against its video and settings), else ``<output-dir>/face_cache``."""
    if requested:
        return Path(requested)
    trained = checkpoint_extra.get("face_cache_root")
    if trained and Path(trained).is_dir():
        return Path(trained)
    return output_dir / "face_cache"


GENERATED_FPS = 25.0
"""Frame rate of the mini-forensics benchmarks the tools generate (:func:`ensure_synthetic_benchmark`)."""


def check_clips_hold_the_window(models: list[str], benchmark: Path, *, generated_frames: int | None = None,
                                flag: str = "", window_s: float | None = None) -> None:
    """One line, before any work, when a signal detector of ``models`` would find every clip too short.

    A signal detector (phase 4) reads a window of ``window_s`` seconds (default: its registry row's,
    10 s) and needs :data:`common.detectors.MIN_SIGNAL_WINDOW_SHARE` of it. ``benchmark`` is the
    mini-forensics folder the tool reads: its manifest's longest clip counts when it exists; else
    the tool will generate clips of ``generated_frames`` frames at :data:`GENERATED_FPS` (``flag`` is
    the option that sets them), or, with ``generated_frames`` None (a folder the user gave that is
    not a benchmark), nothing is checked here: its loader says what is wrong. Without this check the
    error came after the benchmark was generated and every face found.

    Example: ``blink`` (10-s window, 8 s needed) with generated clips of 16 frames (0.64 s) raises
    "model 'blink' reads a 10-s window and needs clips of 8 s or more; the generated clips of 16 frames
    last 0.6 s: use --clip-frames 250 or more".
    """
    from common.detectors import MIN_SIGNAL_WINDOW_SHARE
    from common.models import get_spec

    windows = {model: float(window_s or get_spec(model).config.get("window_s", 10.0))
               for model in models if get_spec(model).kind == "signal"}
    manifest = Path(benchmark) / "manifest.json"
    if not windows or (generated_frames is None and not manifest.is_file()):
        return
    if manifest.is_file():
        try:
            content = json.loads(manifest.read_text(encoding="utf-8"))
            fps = float(content["fps"])
            seconds = max(int(clip["n_frames"]) for clip in content["clips"]) / fps
        except (OSError, ValueError, KeyError, TypeError):
            return  # a broken manifest: the benchmark's loader says what is wrong
        clips, fix = f"the clips of '{benchmark}'", "generate longer ones (python -m common.synthetic --frames {})"
    else:
        fps = GENERATED_FPS
        seconds = generated_frames / fps
        clips, fix = f"the generated clips of {generated_frames} frames", f"use {flag} {{}} or more"
    for model, window in windows.items():
        needed = MIN_SIGNAL_WINDOW_SHARE * window
        if seconds < needed:
            raise CourseError(f"model '{model}' reads a {window:g}-s window and needs clips of {needed:g} s or more; "
                              f"{clips} last {seconds:.1f} s: {fix.format(int(np.ceil(window * fps)))}")


def synthetic_folder_name(variant: str = "ff") -> str:
    """Folder of a generated benchmark inside a run's output folder: ``mini-forensics`` for the
    default variant, ``mini-forensics-celeb`` for the Celeb-DF-like one."""
    return "mini-forensics" if variant == "ff" else f"mini-forensics-{variant}"


def ensure_synthetic_benchmark(root: Path, *, n_clips: int, n_frames: int, size: int | None = None, seed: int = 0,
                               progress: bool = True, methods: tuple[str, ...] = SYNTHETIC_SPATIAL_METHODS,
                               variant: str = "ff") -> Path:
    """Generate a spatial-only mini-forensics benchmark at ``root`` unless one is already there.

    Returns ``root``. The benchmark holds real clips and fakes of ``methods`` (default FaceSwap and
    GANUpsample), identities split 70/15/15 (``common.synthetic.write_benchmark``), made as
    ``variant`` says ("ff" default, "celeb" the Celeb-DF-like second dataset; size None = the
    variant's frame side). A benchmark already at ``root`` of another variant is a one-line error
    (a manifest without a "variant" key was written before variants existed: "ff").
    """
    from common.synthetic import get_variant, write_benchmark

    get_variant(variant)
    manifest = root / "manifest.json"
    if manifest.is_file():
        found = json.loads(manifest.read_text(encoding="utf-8")).get("variant", "ff")
        if found != variant:
            raise CourseError(f"'{root}' holds the {found!r} variant of mini-forensics, not {variant!r}: "
                              f"give another folder or delete it")
        return root
    which = "" if variant == "ff" else f" ({variant} variant)"
    print(f"generating the mini-forensics benchmark{which} ({n_clips} clips of {n_frames} frames) in {root}")
    write_benchmark(root, n_clips=n_clips, seed=seed, n_frames=n_frames, size=size, fps=GENERATED_FPS,
                    methods=list(methods), progress=progress, variant=variant)
    return root


def check_trainable_splits(splits: dict[str, list[VideoRecord]]) -> None:
    """Train and validation need both classes (AUC is undefined otherwise); one line if not."""
    for name in ("train", "val"):
        labels = {r.label for r in splits[name]}
        if labels != {0, 1}:
            found = "no videos" if not labels else ("only FAKE" if labels == {1} else "only REAL")
            raise DatasetLayoutError(f"the {name} split has {found} ({len(splits[name])} videos); "
                                     f"both REAL and FAKE videos are needed: add data or use another split")


def print_split(splits: dict[str, list[VideoRecord]]) -> None:
    parts = [f"{name} {len(items)} ({sum(r.label for r in items)} fake)" for name, items in splits.items()]
    print("videos: " + ", ".join(parts))
