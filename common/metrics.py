"""Metrics for a binary deepfake detector: frame level, video level, and cross-dataset tables.

A detector outputs a *score* per face crop, the probability that it is FAKE (label ``1``; REAL is
``0``). From scores and labels this module computes what papers report:

* threshold-free ranking quality: ROC AUC and average precision (AP), both from scikit-learn;
* the equal error rate (EER), the point of the ROC curve where the false positive rate equals the
  false negative rate, common in biometrics and used by DeepfakeBench;
* metrics at a decision threshold (accuracy, precision, recall, F1, confusion matrix), where a
  sample is called FAKE when ``score >= threshold``;
* calibration: log loss (the DFDC competition metric) and the Brier score.

Videos are scored by aggregating the scores of their frames (DeepfakeBench: the mean of 32 evenly
spaced frames). :func:`confident_strategy` is the rule of the DFDC winner (Selim Seferbekov, 2020),
which trusts a confident majority of frames instead of averaging them away.

Plots are drawn with matplotlib's object API on an Agg canvas (no display, no global backend
change) and written atomically, so a crash never leaves half a PNG behind.
"""
from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn import metrics as skm

from common.atomic import atomic_output

AGGREGATIONS: tuple[str, ...] = ("mean", "median", "max", "confident")
"""Names accepted by :func:`aggregate_scores` and :func:`video_scores`."""

CLASS_NAMES: tuple[str, str] = ("REAL", "FAKE")
"""Display names of label 0 and label 1."""


# --------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------


def _as_labels_and_scores(y_true: Iterable, y_score: Iterable) -> tuple[np.ndarray, np.ndarray]:
    """Validate and convert labels (0/1) and scores (probabilities in [0, 1]) to numpy arrays."""
    labels = np.asarray(list(y_true) if not hasattr(y_true, "__array__") else y_true).reshape(-1)
    scores = np.asarray(list(y_score) if not hasattr(y_score, "__array__") else y_score,
                        dtype=np.float64).reshape(-1)
    if labels.shape != scores.shape:
        raise ValueError(f"got {labels.size} labels but {scores.size} scores; they must pair up")
    if labels.size == 0:
        raise ValueError("no samples: labels and scores are empty")
    if not np.isin(labels, (0, 1)).all():
        bad = sorted(set(labels[~np.isin(labels, (0, 1))].tolist()))[:5]
        raise ValueError(f"labels must be 0 (REAL) or 1 (FAKE), found {bad}")
    if not np.isfinite(scores).all():
        raise ValueError(f"{int((~np.isfinite(scores)).sum())} scores are NaN or infinite")
    if scores.min() < 0.0 or scores.max() > 1.0:
        raise ValueError(
            f"scores must be probabilities in [0, 1], found range [{scores.min():.4g}, {scores.max():.4g}]"
            " (apply a sigmoid to logits first)"
        )
    return labels.astype(np.int64), scores


def _has_both_classes(labels: np.ndarray) -> bool:
    return bool(np.any(labels == 0) and np.any(labels == 1))


def _require_both_classes(labels: np.ndarray, what: str) -> None:
    if not _has_both_classes(labels):
        only = CLASS_NAMES[int(labels[0])]
        raise ValueError(f"{what} needs both REAL and FAKE samples, but all {labels.size} are {only}")


# --------------------------------------------------------------------------------------------
# Threshold-derived points of the ROC curve
# --------------------------------------------------------------------------------------------


def _full_roc(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC curve with every threshold kept (no collinear points dropped)."""
    return skm.roc_curve(labels, scores, pos_label=1, drop_intermediate=False)


def equal_error_rate(y_true: Sequence[int] | np.ndarray, y_score: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """Equal error rate: where the false positive rate equals the false negative rate.

    Walk the ROC curve from the strictest threshold (nothing called FAKE: FPR = 0, FNR = 1) to the
    loosest (everything FAKE: FPR = 1, FNR = 0). FNR - FPR goes from +1 to -1; the EER is where it
    crosses zero, linearly interpolated between the two ROC points around the crossing.

    Args:
        y_true: ``(N,)`` labels, 1 = FAKE, 0 = REAL; both classes must be present.
        y_score: ``(N,)`` probabilities of FAKE in [0, 1].

    Returns:
        ``(eer, threshold)``: the error rate in [0, 1] and the score threshold (a sample is FAKE when
        ``score >= threshold``) at the crossing, interpolated like the rate.

    Raises:
        ValueError: if only one class is present (the ROC curve is undefined).

    Example (worked by hand): labels ``[0, 0, 0, 1, 1, 1]``, scores
    ``[0.1, 0.3, 0.6, 0.4, 0.7, 0.9]``. At threshold 0.6 the FAKE calls are 0.6, 0.7, 0.9: one of
    three REAL samples is a false positive (FPR = 1/3) and one of three FAKE samples (0.4) is
    missed (FNR = 1/3), so

    >>> equal_error_rate([0, 0, 0, 1, 1, 1], [0.1, 0.3, 0.6, 0.4, 0.7, 0.9])
    (0.3333333333333333, 0.6)
    """
    labels, scores = _as_labels_and_scores(y_true, y_score)
    _require_both_classes(labels, "the equal error rate")
    fpr, tpr, thresholds = _full_roc(labels, scores)
    fnr = 1.0 - tpr
    gap = fnr - fpr  # +1 at the first ROC point, -1 at the last
    i = int(np.argmax(gap <= 0.0))  # first point at or past the crossing (i >= 1)
    if gap[i] == 0.0:
        return float(fpr[i]), float(thresholds[i])
    t = gap[i - 1] / (gap[i - 1] - gap[i])  # fraction of the way from point i-1 to point i
    eer = fpr[i - 1] + t * (fpr[i] - fpr[i - 1])
    upper = thresholds[i - 1]
    threshold = thresholds[i] if not np.isfinite(upper) else upper + t * (thresholds[i] - upper)
    return float(eer), float(threshold)


def youden_threshold(y_true: Sequence[int] | np.ndarray, y_score: Sequence[float] | np.ndarray) -> float:
    """Threshold maximising Youden's J = TPR - FPR (the ROC point farthest above the diagonal).

    Args:
        y_true: ``(N,)`` labels, 1 = FAKE, 0 = REAL; both classes must be present.
        y_score: ``(N,)`` probabilities of FAKE in [0, 1].

    Returns:
        The score threshold (FAKE when ``score >= threshold``), one of the observed scores; ties in
        J go to the higher threshold.

    Example: labels ``[0, 0, 1, 1]``, scores ``[0.1, 0.4, 0.35, 0.8]``: at 0.8, J = 0.5 - 0 = 0.5;
    at 0.35, J = 1 - 0.5 = 0.5; the first (strictest) wins:

    >>> youden_threshold([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.8
    """
    labels, scores = _as_labels_and_scores(y_true, y_score)
    _require_both_classes(labels, "Youden's threshold")
    fpr, tpr, thresholds = _full_roc(labels, scores)
    j = tpr[1:] - fpr[1:]  # skip the first point, whose threshold is +inf
    return float(thresholds[1:][int(np.argmax(j))])


# --------------------------------------------------------------------------------------------
# All metrics at once
# --------------------------------------------------------------------------------------------


def binary_metrics(y_true: Sequence[int] | np.ndarray, y_score: Sequence[float] | np.ndarray,
                   threshold: float = 0.5) -> dict:
    """Every metric a detector report needs, as a JSON-serialisable dict of Python numbers.

    Args:
        y_true: ``(N,)`` labels, 1 = FAKE, 0 = REAL.
        y_score: ``(N,)`` probabilities of FAKE in [0, 1].
        threshold: a sample is predicted FAKE when ``score >= threshold``.

    Returns:
        ``{"accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc",
        "average_precision", "eer", "eer_threshold", "youden_threshold", "log_loss", "brier",
        "confusion_matrix", "n", "n_fake", "n_real", "threshold"}``. Precision, recall and F1 are
        about the FAKE class (0.0 when undefined). ``confusion_matrix`` is ``[[tn, fp], [fn, tp]]``
        (rows: true REAL/FAKE, columns: predicted REAL/FAKE). The ROC-based entries (``roc_auc``,
        ``average_precision``, ``eer``, ``eer_threshold``, ``youden_threshold``) are ``None``
        when only one class is present.

    Example:
        >>> m = binary_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
        >>> m["roc_auc"], m["confusion_matrix"]
        (0.75, [[2, 0], [1, 1]])
    """
    labels, scores = _as_labels_and_scores(y_true, y_score)
    predicted = (scores >= threshold).astype(np.int64)
    tn, fp, fn, tp = skm.confusion_matrix(labels, predicted, labels=[0, 1]).ravel().tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one-class inputs warn about undefined per-class recall
        balanced = skm.balanced_accuracy_score(labels, predicted)
    result = {
        "accuracy": float(skm.accuracy_score(labels, predicted)),
        "balanced_accuracy": float(balanced),
        "precision": float(skm.precision_score(labels, predicted, zero_division=0)),
        "recall": float(skm.recall_score(labels, predicted, zero_division=0)),
        "f1": float(skm.f1_score(labels, predicted, zero_division=0)),
        "roc_auc": None,
        "average_precision": None,
        "eer": None,
        "eer_threshold": None,
        "youden_threshold": None,
        "log_loss": float(skm.log_loss(labels, scores, labels=[0, 1])),
        "brier": float(skm.brier_score_loss(labels, scores, labels=[0, 1])),
        "confusion_matrix": [[tn, fp], [fn, tp]],
        "n": int(labels.size),
        "n_fake": int(labels.sum()),
        "n_real": int(labels.size - labels.sum()),
        "threshold": float(threshold),
    }
    if _has_both_classes(labels):
        eer, eer_threshold = equal_error_rate(labels, scores)
        result.update(
            roc_auc=float(skm.roc_auc_score(labels, scores)),
            average_precision=float(skm.average_precision_score(labels, scores)),
            eer=eer,
            eer_threshold=eer_threshold,
            youden_threshold=youden_threshold(labels, scores),
        )
    return result


# --------------------------------------------------------------------------------------------
# Frame -> video aggregation
# --------------------------------------------------------------------------------------------


def _as_frame_scores(frame_scores: Iterable[float]) -> np.ndarray:
    scores = np.asarray(list(frame_scores) if not hasattr(frame_scores, "__array__") else frame_scores,
                        dtype=np.float64).reshape(-1)
    if scores.size == 0:
        raise ValueError("cannot aggregate an empty list of frame scores (no face found in the video?)")
    if not np.isfinite(scores).all():
        raise ValueError(f"{int((~np.isfinite(scores)).sum())} of {scores.size} frame scores are NaN or infinite")
    return scores


def confident_strategy(scores: Iterable[float], threshold: float = 0.8) -> float:
    """The DFDC winner's video score: trust a confident group of frames over the plain mean.

    With ``n`` frame scores:

    1. if more than ``n / 2.5`` frames *and* more than 11 frames score above ``threshold``, the
       video is confidently FAKE: return the mean of those frames;
    2. else, if more than 90% of frames score below 0.2, it is confidently REAL: return the mean
       of those frames;
    3. else return the mean of all frames.

    Args:
        scores: ``(n,)`` per-frame probabilities of FAKE (n >= 1, no NaN).
        threshold: the "confidently FAKE" frame score (0.8 in the winning solution).

    Returns:
        The video's probability of FAKE (a Python float).

    Raises:
        ValueError: on an empty list or a NaN score.

    Example: 32 frames, 13 at 0.9 and 19 at 0.5: 13 > 32 / 2.5 = 12.8 and 13 > 11, so the result
    is 0.9 (the plain mean would be about 0.66).
    """
    values = _as_frame_scores(scores)
    n = values.size
    confident_fake = values[values > threshold]
    if confident_fake.size > n / 2.5 and confident_fake.size > 11:
        return float(confident_fake.mean())
    confident_real = values[values < 0.2]
    if confident_real.size > 0.9 * n:
        return float(confident_real.mean())
    return float(values.mean())


def aggregate_scores(frame_scores: Iterable[float], method: str = "mean") -> float:
    """Turn the scores of one video's frames into one video score.

    Args:
        frame_scores: ``(n,)`` per-frame probabilities of FAKE, n >= 1, no NaN.
        method: one of :data:`AGGREGATIONS`: ``"mean"`` (DeepfakeBench's video AUC), ``"median"``,
            ``"max"`` (one very fake frame is enough) or ``"confident"`` (:func:`confident_strategy`).

    Returns:
        The video's probability of FAKE (a Python float).

    Raises:
        ValueError: empty input, a NaN score or an unknown method.

    Example:
        >>> aggregate_scores([0.2, 0.4, 0.9], "median")
        0.4
    """
    if method not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation {method!r}; choose one of {', '.join(AGGREGATIONS)}")
    values = _as_frame_scores(frame_scores)
    if method == "mean":
        return float(values.mean())
    if method == "median":
        return float(np.median(values))
    if method == "max":
        return float(values.max())
    return confident_strategy(values)


def video_scores(frame_table: Iterable[tuple[str, int, float]], method: str = "mean"
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group frame rows by video and aggregate their scores.

    Args:
        frame_table: rows ``(video_id, label, score)``, one per frame, in any order. Every frame of a
            video must carry the same label.
        method: an aggregation from :data:`AGGREGATIONS`.

    Returns:
        ``(video_ids, labels, scores)``: arrays of shape ``(V,)`` (dtype object of str, int64,
        float64), videos in order of first appearance.

    Raises:
        ValueError: a video whose frames disagree on the label, or invalid scores.

    Example:
        >>> ids, labels, scores = video_scores([("a", 1, 0.9), ("b", 0, 0.1), ("a", 1, 0.7)])
        >>> list(ids), labels.tolist(), scores.round(2).tolist()
        (['a', 'b'], [1, 0], [0.8, 0.1])
    """
    grouped_scores: dict[str, list[float]] = {}
    grouped_labels: dict[str, int] = {}
    for video_id, label, score in frame_table:
        key = str(video_id)
        label = int(label)
        if key in grouped_labels and grouped_labels[key] != label:
            raise ValueError(f"video {key!r} has frames labelled both {grouped_labels[key]} and {label}")
        grouped_labels[key] = label
        grouped_scores.setdefault(key, []).append(float(score))
    ids = np.array(list(grouped_scores), dtype=object)
    labels = np.array([grouped_labels[key] for key in ids], dtype=np.int64)
    scores = np.array([aggregate_scores(grouped_scores[key], method) for key in ids], dtype=np.float64)
    return ids, labels, scores


def frame_and_video_report(frame_ids: Sequence, video_ids: Sequence, labels: Sequence[int],
                           scores: Sequence[float], aggregation: str = "mean",
                           threshold: float = 0.5) -> dict:
    """Metrics at both levels: every frame on its own, and every video from its aggregated frames.

    Args:
        frame_ids: ``(N,)`` identifier of each frame within its video (e.g. the frame index); a
            ``(video_id, frame_id)`` pair may appear only once, so no frame is counted twice.
        video_ids: ``(N,)`` the video each frame comes from.
        labels: ``(N,)`` 1 = FAKE, 0 = REAL.
        scores: ``(N,)`` probabilities of FAKE.
        aggregation: how frame scores become a video score (:data:`AGGREGATIONS`).
        threshold: decision threshold for both levels.

    Returns:
        ``{"frame": binary_metrics(...), "video": binary_metrics(...), "aggregation": str}``.
    """
    n = len(frame_ids)
    if not (len(video_ids) == len(labels) == len(scores) == n):
        raise ValueError(
            f"frame_ids, video_ids, labels and scores must have one entry per frame, got lengths "
            f"{n}, {len(video_ids)}, {len(labels)}, {len(scores)}"
        )
    seen: set[tuple[str, str]] = set()
    for video_id, frame_id in zip(video_ids, frame_ids):
        key = (str(video_id), str(frame_id))
        if key in seen:
            raise ValueError(f"frame {key[1]!r} of video {key[0]!r} appears twice")
        seen.add(key)
    _, video_labels, video_score = video_scores(zip(video_ids, labels, scores), aggregation)
    return {
        "frame": binary_metrics(labels, scores, threshold),
        "video": binary_metrics(video_labels, video_score, threshold),
        "aggregation": aggregation,
    }


# --------------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------------


def save_figure(figure: Figure, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Render ``figure`` as a PNG to a temporary file beside ``path``, then rename it into place."""
    target = Path(path)
    FigureCanvasAgg(figure)
    with atomic_output(target) as temporary:
        figure.savefig(temporary, format="png", dpi=dpi, bbox_inches="tight")
    return target


def plot_roc(y_true: Sequence[int] | np.ndarray, y_score: Sequence[float] | np.ndarray,
             path: str | os.PathLike, title: str = "ROC curve") -> Path:
    """Draw the ROC curve with its AUC and the EER point; write it as a PNG.

    Args:
        y_true: ``(N,)`` labels (both classes needed). y_score: ``(N,)`` probabilities of FAKE.
        path: where to write the PNG (parent folders are created). title: the plot title.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    labels, scores = _as_labels_and_scores(y_true, y_score)
    _require_both_classes(labels, "a ROC curve")
    fpr, tpr, _ = skm.roc_curve(labels, scores)
    auc = skm.roc_auc_score(labels, scores)
    eer, eer_threshold = equal_error_rate(labels, scores)
    figure = Figure(figsize=(5, 5))
    axes = figure.add_subplot()
    axes.plot(fpr, tpr, lw=2, label=f"detector (AUC = {auc:.3f})")
    axes.plot([0, 1], [0, 1], ls="--", color="grey", label="chance")
    axes.plot([eer], [1 - eer], "o", color="crimson", label=f"EER = {eer:.3f} at {eer_threshold:.3g}")
    axes.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="false positive rate (REAL called FAKE)",
             ylabel="true positive rate (FAKE caught)", title=title)
    axes.legend(loc="lower right")
    return save_figure(figure, path)


def plot_confusion_matrix(cm: Sequence[Sequence[int]] | np.ndarray, path: str | os.PathLike,
                          labels: tuple[str, str] = CLASS_NAMES, title: str = "Confusion matrix") -> Path:
    """Draw a 2x2 confusion matrix ``[[tn, fp], [fn, tp]]`` with counts and row percentages.

    Args:
        cm: ``(2, 2)`` counts, rows = true class, columns = predicted class (as in
            :func:`binary_metrics`). path: where to write the PNG. labels: class names of 0 and 1.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    counts = np.asarray(cm, dtype=np.int64)
    if counts.shape != (2, 2):
        raise ValueError(f"a binary confusion matrix is 2x2, got shape {counts.shape}")
    row_totals = np.maximum(counts.sum(axis=1, keepdims=True), 1)
    figure = Figure(figsize=(4.5, 4))
    axes = figure.add_subplot()
    image = axes.imshow(counts / row_totals, cmap="Blues", vmin=0, vmax=1)
    for row in range(2):
        for column in range(2):
            share = counts[row, column] / row_totals[row, 0]
            axes.text(column, row, f"{counts[row, column]}\n({share:.0%})", ha="center", va="center",
                      color="white" if share > 0.5 else "black")
    axes.set(xticks=[0, 1], yticks=[0, 1], xticklabels=labels, yticklabels=labels,
             xlabel="predicted", ylabel="true", title=title)
    figure.colorbar(image, ax=axes, label="share of the true class")
    return save_figure(figure, path)


def plot_score_histogram(y_true: Sequence[int] | np.ndarray, y_score: Sequence[float] | np.ndarray,
                         path: str | os.PathLike, threshold: float | None = 0.5,
                         title: str = "Score distribution") -> Path:
    """Overlay the score histograms of REAL and FAKE samples (how well separated are they?).

    Args:
        y_true: ``(N,)`` labels. y_score: ``(N,)`` probabilities of FAKE. path: where to write the PNG.
        threshold: draw the decision threshold as a vertical line (``None`` for none).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    labels, scores = _as_labels_and_scores(y_true, y_score)
    bins = np.linspace(0.0, 1.0, 26)
    figure = Figure(figsize=(6, 4))
    axes = figure.add_subplot()
    for label, color in ((0, "tab:green"), (1, "tab:red")):
        chosen = scores[labels == label]
        if chosen.size:
            axes.hist(chosen, bins=bins, alpha=0.6, color=color, label=f"{CLASS_NAMES[label]} (n={chosen.size})")
    if threshold is not None:
        axes.axvline(threshold, color="black", ls="--", label=f"threshold {threshold:.3g}")
    axes.set(xlim=(0, 1), xlabel="score = P(FAKE)", ylabel="samples", title=title)
    axes.legend()
    return save_figure(figure, path)


# --------------------------------------------------------------------------------------------
# Cross-dataset / cross-method tables
# --------------------------------------------------------------------------------------------


def _format_cell(value: float | None, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def cross_table(results: dict[tuple[str, str], float | None], metric_name: str = "AUC",
                digits: int = 4) -> str:
    """A markdown table of one metric for every (train, test) pair.

    Args:
        results: ``{(trained_on, tested_on): value}``, e.g. ``{("FF++", "Celeb-DF"): 0.7365}``.
            Rows and columns follow the order in which names first appear; a missing pair is ``-``.
        metric_name: written in the top-left cell. digits: decimals per value.

    Returns:
        The table as a string (no trailing newline).

    Example:
        >>> print(cross_table({("FF++", "FF++"): 0.96, ("FF++", "CDF"): 0.74}, digits=2))
        | AUC (train \\ test) | FF++ | CDF |
        |---|---|---|
        | FF++ | 0.96 | 0.74 |
    """
    if not results:
        raise ValueError("cross_table needs at least one (train, test) result")
    rows = list(dict.fromkeys(train for train, _ in results))
    columns = list(dict.fromkeys(test for _, test in results))
    lines = [
        "| " + " | ".join([f"{metric_name} (train \\ test)", *columns]) + " |",
        "|" + "---|" * (len(columns) + 1),
    ]
    for row in rows:
        cells = [_format_cell(results.get((row, column)), digits) for column in columns]
        lines.append("| " + " | ".join([row, *cells]) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# How sure: intervals over the people of a test set
# --------------------------------------------------------------------------------------------

def rank_auc(y_true: Sequence[int] | np.ndarray, y_score: Sequence[float] | np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic: the share of (fake, real) pairs the scores order right,
    ties counting half (``roc_auc_score``'s value, without its checks: fast enough to call a thousand
    times in a bootstrap). Raises ValueError without both classes.

    Example: real 0.1, 0.4 and fake 0.35, 0.8 order 3 of the 4 pairs right: 0.75.
    """
    from scipy.stats import rankdata

    labels = np.asarray(y_true) == 1
    n_fake = int(labels.sum())
    n_real = labels.size - n_fake
    if n_fake == 0 or n_real == 0:
        raise ValueError("an AUC needs both classes")
    ranks = rankdata(np.asarray(y_score, dtype=np.float64))
    return float((ranks[labels].sum() - n_fake * (n_fake + 1) / 2) / (n_fake * n_real))


BOOTSTRAP_RESAMPLES = 1000
"""Resamples of :func:`person_bootstrap` unless told otherwise (enough for a 95 % percentile interval)."""


def person_bootstrap(statistic, groups: Sequence, *arrays: Sequence, n_resamples: int = BOOTSTRAP_RESAMPLES,
                     confidence: float = 0.95, seed: int = 0) -> dict[str, float | int | None]:
    """A percentile interval for a statistic of a test set, resampling its *people* (a cluster bootstrap).

    A test set of mini-forensics holds several videos of each of few people (15), and a detector's
    errors follow the person (a real video of someone whose photographs look smooth is a false alarm
    in every clip). Resampling videos would treat 382 videos as 382 independent draws; resampling
    people treats them as what they are, 15 draws of a person with their videos (Field and Welsh
    2007, "Bootstrapping clustered data"), so the interval says how much the figure would move on
    another 15 people.

    Args:
        statistic: ``statistic(*resampled_arrays) -> float`` (e.g. ``roc_auc_score``); NaN or an
            exception (ValueError) marks a resample where it is undefined (one class only), which is
            left out and counted.
        groups: ``(N,)`` the person of each video.
        arrays: ``(N,)`` per-video arrays (labels, scores, ...), resampled together (paired).
        n_resamples, confidence, seed: as in ``scipy.stats.bootstrap``.

    Each resample draws as many people as there are, with replacement (``numpy.random.default_rng
    (seed).integers(0, P, (n_resamples, P))``, people in order of first appearance), and takes all
    their videos. The interval is the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles
    (linear interpolation) of the defined resamples. With one video per person this is
    ``scipy.stats.bootstrap(..., paired=True, method="percentile")`` exactly.

    Returns:
        ``{"low", "high", "resamples": defined resamples, "people": P}``; low and high are None when
        fewer than half the resamples were defined.

    Example: AUC of 30 videos of 15 people, each a real and a fake -> an interval around the AUC
    that widens when the scores of a person's two videos move together.
    """
    groups = np.asarray(groups)
    columns = [np.asarray(array) for array in arrays]
    if any(len(column) != len(groups) for column in columns):
        raise ValueError("person_bootstrap: every array needs one value per video, as groups has")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie between 0 and 1, got {confidence}")
    people = list(dict.fromkeys(groups.tolist()))
    if not people:
        raise ValueError("person_bootstrap needs at least one video")
    videos_of = [np.flatnonzero(groups == person) for person in people]
    draws = np.random.default_rng(seed).integers(0, len(people), (n_resamples, len(people)))
    values = []
    for draw in draws:
        chosen = np.concatenate([videos_of[k] for k in draw])
        try:
            value = float(statistic(*[column[chosen] for column in columns]))
        except ValueError:
            continue
        if math.isfinite(value):
            values.append(value)
    if len(values) < n_resamples / 2:
        return {"low": None, "high": None, "resamples": len(values), "people": len(people)}
    tail = (1 - confidence) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    return {"low": float(low), "high": float(high), "resamples": len(values), "people": len(people)}
