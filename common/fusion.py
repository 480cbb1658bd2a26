"""Late fusion: one calibrated verdict from the video scores of detectors of every kind.

Each phase's detector sees its own trace: a CNN the blending of a swapped face, a clip model the
flicker, the spectrum the upsampling grid, the pulse a missing heartbeat. A *stacker* learns how
much to trust each one: a logistic regression on the detectors' video scores (as log-odds), fitted
on the **validation** videos only (never on test), with one more input per detector that says
whether it could run at all.

Each detector's input is its *evidence of FAKE*: how far its log-odds go beyond what it gives real
videos, ``max(log-odds - pivot, 0)``, where the detector's *pivot* is the 90th percentile of its
log-odds over the validation real videos (it reads as a test at a 10 % false-alarm rate: only its
excess over that point counts). A detector reads one kind of trace; when it finds none, that says
nothing about the traces the others read (a pulse detector that finds a heartbeat cannot clear a
face swap), so below its pivot it adds nothing. Measured (guide, "All detectors on one split"):

* signed log-odds (format 1) let the confident "REAL" of the detectors blind to a manipulation
  cancel the one that sees it: on the 10-s comparison's 54 validation videos the out-of-fold AUC
  was 0.902 with signed log-odds and 0.954 with the evidence of FAKE above a pivot of 0;
* a pivot of 0 (format 2: log-odds above a calibrated probability of 0.5) depends on each
  detector's calibration, fitted on a few validation videos whose share of fakes moves it: on the
  larger 10-s benchmark (108 validation videos), the pivot at the real videos' 90th percentile
  raised the out-of-fold AUC from 0.940 to 0.957 (detectors trained on their own manipulations)
  and from 0.926 to 0.943 (on every fake).

A detector that could not run on a video (no face in its frames, a clip too short for a pulse, an
image for a clip model) is not imputed silently. It could not look, which is not the same as
looking and finding nothing: an evidence of 0 is what most *real* videos give, so reading it as 0
calls a video REAL because the one detector that could see its fake found no face (measured: the
test split's FaceSwap video on which MTCNN found no face was fused below all 54 real test videos,
and its absence alone cost the fusion 0.084 of FaceSwap AUC; guide, "A detector that could not
look"). So its evidence input is its *expected evidence*, the mean of its evidence over the
validation videos it ran on (what the stacker assumes of it before looking), its "missing" input
is 1, and the report lists it as not contributing, with its reason and the value assumed.

The stacker's output is then calibrated: Platt scaling fitted on *out-of-fold* stacker scores of
the same validation videos (5-fold cross-fitting), so that the calibration does not learn from
scores the stacker has already fitted. A video is FAKE when its fused probability reaches 0.5.

Without a fitted fusion (no ``--fusion-model``) the fused probability is the mean of the
detectors' calibrated probabilities, and the report says so.

A fusion model is a small JSON file (no pickle): the detectors it was fitted with (name, kind,
architecture, checkpoint SHA-256, in order), their pivots, the stacker's weights, the calibration and
the validation figures. Loading it with other checkpoints is refused with a one-line error.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from common.report import write_text_atomic
from common.calibration import Calibration, fit_platt
from common.errors import CheckpointError, CourseError

FUSION_FORMAT = "deepfake-course-fusion"
FUSION_VERSION = 4
"""4: a detector that could not run counts at its expected evidence (3: at 0); 3: evidence of FAKE above
each detector's pivot (2: above 0; 1: signed log-odds): refit older ones."""
REAL_PERCENTILE = 90.0
"""A detector's pivot: this percentile of its log-odds over the validation real videos."""
SCORE_CLIP = 1e-4
"""Scores are clipped to [1e-4, 1 - 1e-4] before the log-odds: a detector's 0 or 1 is +-9.2."""


def log_odds(probability: float) -> float:
    """log(p / (1 - p)) of a probability clipped to [1e-4, 1 - 1e-4]. Example: 0.5 -> 0, 0.9 -> 2.197."""
    p = min(max(float(probability), SCORE_CLIP), 1.0 - SCORE_CLIP)
    return math.log(p / (1.0 - p))


def evidence_of_fake(probability: float, pivot: float = 0.0) -> float:
    """A detector's evidence of FAKE: how far its log-odds go beyond ``pivot``, else 0 (module docstring).
    Example: 0.9 -> 2.197 with pivot 0, 1.197 with pivot 1; 0.5 and 0.1 -> 0 with pivot 0."""
    return max(log_odds(probability) - pivot, 0.0)


def usable(entry: dict | None) -> bool:
    """Whether a detector entry has a video score the fusion can read."""
    return entry is not None and entry.get("status") == "ok" and entry.get("video_score") is not None


def fusion_inputs(entries: Sequence[dict], names: Sequence[str], pivots: Sequence[float] | None = None,
                  expected: Sequence[float] | None = None) -> np.ndarray:
    """The stacker's input for one video: per detector (in ``names`` order) its evidence of FAKE above
    its pivot (:func:`evidence_of_fake`), or its expected evidence when it has no score, and a 1/0
    "could not run" flag.

    entries: the report's detector entries (``name``, ``status``, ``video_score``); pivots: per detector,
    in log-odds (default 0); expected: per detector, the evidence counted when it could not run
    (:func:`expected_evidence`; default 0). Returns (2 D,) float64: [evidence_1 .. evidence_D,
    missing_1 .. missing_D].

    Example: three detectors, scored 0.9, 0.2 and could not run, pivots 0, expected evidence
    (0.5, 0.5, 0.7) -> [2.197, 0, 0.7, 0, 0, 1].
    """
    by_name = {entry["name"]: entry for entry in entries}
    pivots = [0.0] * len(names) if pivots is None else list(pivots)
    expected = [0.0] * len(names) if expected is None else list(expected)
    scores, missing = [], []
    for name, pivot, assumed in zip(names, pivots, expected):
        entry = by_name.get(name)
        scores.append(evidence_of_fake(entry["video_score"], pivot) if usable(entry) else float(assumed))
        missing.append(0.0 if usable(entry) else 1.0)
    return np.array(scores + missing, dtype=np.float64)


def real_pivots(video_entries: Sequence[Sequence[dict]], labels: Sequence[int], names: Sequence[str],
                percentile: float = REAL_PERCENTILE) -> list[float]:
    """Per detector, the ``percentile`` of its log-odds over the *real* videos it ran on (0 when it ran
    on none). Example: real scores 0.1, 0.5, 0.9 (log-odds -2.197, 0, 2.197), percentile 50 -> 0.0."""
    pivots = []
    for name in names:
        values = [log_odds(entry["video_score"]) for entries, label in zip(video_entries, labels) if label == 0
                  for entry in entries if entry["name"] == name and usable(entry)]
        pivots.append(float(np.percentile(values, percentile)) if values else 0.0)
    return pivots


def expected_evidence(video_entries: Sequence[Sequence[dict]], names: Sequence[str],
                      pivots: Sequence[float]) -> list[float]:
    """Per detector, the mean of its evidence of FAKE above its pivot over the videos it ran on (real and
    fake alike, as the stacker sees them; 0 when it ran on none): the value a fusion counts for it
    on a video it could not run on. Example: scores 0.1, 0.9, 0.99 and could not run, pivot 0 ->
    evidence 0, 2.197, 4.595 -> 2.264."""
    expected = []
    for name, pivot in zip(names, pivots):
        values = [evidence_of_fake(entry["video_score"], pivot) for entries in video_entries
                  for entry in entries if entry["name"] == name and usable(entry)]
        expected.append(float(np.mean(values)) if values else 0.0)
    return expected


def detector_fingerprint(entry: dict) -> dict[str, str]:
    """What identifies a detector in a fusion model: name, kind, architecture, checkpoint SHA-256."""
    return {key: str(entry.get(key)) for key in ("name", "kind", "architecture", "sha256")}


@dataclass
class LateFusion:
    """A fitted stacker over named detectors (see the module docstring).

    Attributes:
        detectors: fingerprints (:func:`detector_fingerprint`) of the fused detectors, in order.
        coefficients: 2 D stacker weights (evidence weights, then "missing" weights).
        intercept: the stacker's bias.
        calibration: Platt scaling of the stacker's raw probability (out-of-fold on validation).
        validation: figures measured on the validation videos (counts, AUCs).
        pivots: D log-odds, each detector's pivot (:func:`real_pivots`); empty means all 0.
        expected: D evidences, counted for a detector on a video it could not run on
            (:func:`expected_evidence`); empty means all 0.
    """

    detectors: list[dict[str, str]]
    coefficients: list[float]
    intercept: float
    calibration: Calibration
    validation: dict[str, Any] = field(default_factory=dict)
    pivots: list[float] = field(default_factory=list)
    expected: list[float] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [d["name"] for d in self.detectors]

    def raw_probability(self, inputs: np.ndarray) -> np.ndarray:
        """Stacker probability of (N, 2 D) or (2 D,) inputs, before calibration."""
        z = np.asarray(inputs, dtype=np.float64) @ np.asarray(self.coefficients) + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def fuse(self, entries: Sequence[dict]) -> dict[str, Any]:
        """Fused probability of FAKE for one video, and each detector's part in it.

        Returns ``{"video_score", "raw_video_score", "contributions": [{name, kind, status, score,
        log_odds, pivot, evidence, assumed_evidence, weight, contribution, contributed, reason}]}``; a
        detector's ``contribution`` is its weight times its evidence of FAKE (what it added to the
        stacker's logit); when it could not run, ``evidence`` is None and the contribution is its weight
        times ``assumed_evidence`` (its expected evidence) plus its "missing" weight.
        """
        pivots = self.pivots or [0.0] * len(self.names)
        expected = self.expected or [0.0] * len(self.names)
        inputs = fusion_inputs(entries, self.names, pivots, expected)
        raw = float(self.raw_probability(inputs))
        by_name = {entry["name"]: entry for entry in entries}
        d = len(self.names)
        contributions = []
        for i, name in enumerate(self.names):
            entry = by_name.get(name, {})
            ran = inputs[d + i] == 0.0
            contributions.append({
                "name": name, "kind": entry.get("kind"), "status": entry.get("status", "absent"),
                "score": entry.get("video_score"),
                "log_odds": log_odds(entry["video_score"]) if ran else None, "pivot": float(pivots[i]),
                "evidence": float(inputs[i]) if ran else None,
                "assumed_evidence": None if ran else float(inputs[i]),
                "weight": float(self.coefficients[i]),
                "contribution": float(self.coefficients[i] * inputs[i] + (0.0 if ran else self.coefficients[d + i])),
                "contributed": bool(ran), "reason": None if ran else entry.get("reason", "not in this run")})
        return {"video_score": self.calibration.apply(raw), "raw_video_score": raw, "contributions": contributions}

    def check_detectors(self, entries: Sequence[dict], source: str) -> None:
        """Refuse (one line) detectors other than those the fusion was fitted with."""
        given = [detector_fingerprint(entry) for entry in entries]
        if given != self.detectors:
            wanted = ", ".join(f"{d['name']} ({d['architecture']}, {d['sha256'][:8]})" for d in self.detectors)
            got = ", ".join(f"{d['name']} ({d['architecture']}, {d['sha256'][:8]})" for d in given)
            raise CheckpointError(f"fusion model '{source}' was fitted on {wanted}; this run has {got}: "
                                  f"give the same checkpoints in the same order, or fit a new fusion model")

    def to_dict(self) -> dict[str, Any]:
        return {"format": FUSION_FORMAT, "version": FUSION_VERSION, "detectors": self.detectors,
                "coefficients": [float(c) for c in self.coefficients], "intercept": float(self.intercept),
                "pivots": [float(p) for p in self.pivots or [0.0] * len(self.detectors)],
                "expected_evidence": [float(e) for e in self.expected or [0.0] * len(self.detectors)],
                "calibration": self.calibration.to_dict(), "validation": self.validation}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LateFusion":
        return cls(list(data["detectors"]), [float(c) for c in data["coefficients"]], float(data["intercept"]),
                   Calibration.from_dict(data["calibration"]), dict(data.get("validation", {})),
                   [float(p) for p in data["pivots"]], [float(e) for e in data["expected_evidence"]])


def fit_fusion(video_entries: Sequence[Sequence[dict]], labels: Sequence[int], *, folds: int = 5,
               seed: int = 0) -> LateFusion:
    """Fit the stacker and its calibration on validation videos.

    Args:
        video_entries: per video, the report's detector entries (the same detectors, same order).
        labels: 1 FAKE, 0 REAL, per video.
        folds: cross-fitting folds for the out-of-fold scores that calibrate the stacker.
        seed: fold assignment.

    Raises:
        CourseError: fewer than 2 videos of a class (one line).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    labels = np.asarray(labels, dtype=np.int64)
    if min(int((labels == 0).sum()), int((labels == 1).sum())) < 2:
        raise CourseError(f"fitting a fusion needs at least 2 real and 2 fake validation videos, got "
                          f"{int((labels == 0).sum())} real and {int((labels == 1).sum())} fake")
    fingerprints = [detector_fingerprint(entry) for entry in video_entries[0]]
    names = [f["name"] for f in fingerprints]

    def inputs_for(videos: np.ndarray, pivots: list[float], expected: list[float]) -> np.ndarray:
        return np.stack([fusion_inputs(video_entries[v], names, pivots, expected) for v in videos])

    def stacker() -> LogisticRegression:
        return LogisticRegression(C=1.0, max_iter=1000)

    folds = max(2, min(folds, int((labels == 0).sum()), int((labels == 1).sum())))
    out_of_fold = np.zeros(len(labels))
    for train, held in StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(labels)), labels):
        # the held-out fold is scored with pivots, expected evidence and weights fitted without it
        pivots = real_pivots([video_entries[v] for v in train], labels[train], names)
        expected = expected_evidence([video_entries[v] for v in train], names, pivots)
        out_of_fold[held] = stacker().fit(inputs_for(train, pivots, expected), labels[train]).predict_proba(
            inputs_for(held, pivots, expected))[:, 1]
    pivots = real_pivots(video_entries, labels, names)
    expected = expected_evidence(video_entries, names, pivots)
    inputs = inputs_for(np.arange(len(labels)), pivots, expected)
    model = stacker().fit(inputs, labels)
    calibration = fit_platt(out_of_fold.tolist(), labels.tolist(), "fusion")
    validation = {"n_videos": int(len(labels)), "n_fake": int(labels.sum()), "folds": int(folds),
                  "out_of_fold_auc": float(roc_auc_score(labels, out_of_fold)),
                  "detector_auc": {}}
    for i, name in enumerate(names):
        ran = inputs[:, len(names) + i] == 0
        both = ran & np.isin(labels, [0, 1])
        if len(set(labels[both].tolist())) == 2:
            validation["detector_auc"][name] = float(roc_auc_score(labels[both], inputs[both, i]))
        validation.setdefault("could_not_run", {})[name] = int((~ran).sum())
    return LateFusion(fingerprints, model.coef_[0].tolist(), float(model.intercept_[0]), calibration, validation,
                      pivots, expected)


def mean_fusion(entries: Sequence[dict]) -> dict[str, Any]:
    """The fallback without a fitted fusion: the mean of the calibrated video probabilities of the
    detectors that ran (each weighted 1); ``video_score`` is None when none ran."""
    ran = [usable(entry) for entry in entries]
    scores = [entry["video_score"] for entry, used in zip(entries, ran) if used]
    weight = 1.0 / len(scores) if scores else 0.0
    contributions = [{"name": entry["name"], "kind": entry.get("kind"), "status": entry.get("status"),
                      "score": entry.get("video_score"), "log_odds": None, "weight": weight if used else 0.0,
                      "contribution": weight * entry["video_score"] if used else 0.0,
                      "contributed": used, "reason": None if used else entry.get("reason")}
                     for entry, used in zip(entries, ran)]
    return {"video_score": float(np.mean(scores)) if scores else None,
            "raw_video_score": float(np.mean(scores)) if scores else None, "contributions": contributions}


def save_fusion(path: str | Path, fusion: LateFusion) -> Path:
    """Write a fusion model as JSON, atomically."""
    return write_text_atomic(path, json.dumps(fusion.to_dict(), indent=2) + "\n")


def load_fusion(path: str | Path) -> LateFusion:
    """Read a fusion model; a one-line :class:`CheckpointError` for a missing or foreign file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"fusion model '{path}': no such file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"fusion model '{path}': not a JSON fusion model ({error})") from None
    if not isinstance(data, dict) or data.get("format") != FUSION_FORMAT:
        raise CheckpointError(f"fusion model '{path}': not a fusion model written by this course")
    if data.get("version") != FUSION_VERSION:
        raise CheckpointError(f"fusion model '{path}': version {data.get('version')}, this course reads {FUSION_VERSION}")
    return LateFusion.from_dict(data)
