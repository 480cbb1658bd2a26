"""Late fusion: one calibrated verdict from the video scores of detectors of every kind.

Each phase's detector sees its own trace: a CNN the smooth, low-detail face of a swap, a clip model
the flicker, the spectrum the upsampling grid, the pulse a missing heartbeat. A fake is usually made
by *one* manipulation, and the detectors blind to it score it as they score a real video. The
fusion asks the question a forensic examiner asks: does this video look like one of the kinds of
fake we know, more than it looks real? In probability, with the kinds of fake ``f`` and each
kind's share ``pi_f`` among the fakes:

    P(FAKE | scores) / P(REAL | scores) = sum_f  pi_f * P(FAKE) / P(REAL) * LR_f(scores),

a *mixture of likelihood ratios* (the Bayes-optimal score for "any fake" against "real"). Each
kind's likelihood ratio ``LR_f`` is read from the detectors as if they were independent given the
class (naive Bayes): ``log LR_f = sum_d llr_{d,f}(x_d)``, with ``x_d`` detector d's log-odds and
``llr_{d,f}`` a one-feature logistic regression of kind-f fakes against real videos (scikit-learn,
C = 1), minus the prior log-odds of its training set, so that it is a log-likelihood ratio.

* **Which kinds?** The fusion does not need to be told which manipulation made each validation
  fake (DFDC and Kaggle-style data do not say): each validation fake is *claimed* by the detector
  that finds it most unlike the real videos (the largest z-score of its log-odds against the real
  videos' mean and spread), and the fakes one detector claims are one kind. On a benchmark whose
  manipulations each leave one trace, the kinds are the manipulations.
* **Monotone.** A detector's likelihood ratio can only rise with its own score: where the fit
  finds a detector scoring a kind's fakes *lower* than real videos (a spectrum "confidently wrong"
  on a pulse fake), its slope is set to 0 and it says nothing about that kind.
* **Priors.** A kind's prior odds against a real video are its share among the videos its claiming
  detector can read (every fake of the kind is one it read): a pulse detector's kind is common
  among the 10-s clips it reads, and says nothing of the short clips it cannot read, where the kind
  keeps its share of the whole validation set.
* **A detector that could not run** (no face in its frames, a clip too short for a pulse) could not
  look, which is not the same as looking and finding nothing: its likelihood ratio is 1 (log 0)
  for every kind, so it neither clears the video nor accuses it. The report lists it as not
  contributing, with its reason.
* **Calibrated.** The mixture's log-odds are calibrated by Platt scaling fitted on *out-of-fold*
  scores of the same validation videos (5-fold cross-fitting: the naive-Bayes sum counts correlated
  detectors twice, and the fit is optimistic on its own videos). A video is FAKE when its fused
  probability reaches 0.5.

Why a mixture and not one weighted sum (versions 1-4, a logistic regression on every detector's
log-odds or on its evidence above a pivot): a sum adds every detector's false alarms to every real
video, so a fake that only one detector can see competes with the false alarms of all the others.
In the mixture a real video must look like *one* kind of fake to every detector that reads that
kind. Measured (docs/fusion_log.md, "Fusion version 5"): over the 87 cross-validated people of the 10-s
benchmark, all fakes 0.956 -> 0.967 and FaceSwap 0.862 -> 0.896.

No fused score can beat every detector on its own manipulation, though: for "FaceSwap or real?"
the scores of the detectors blind to FaceSwap are the same under both answers, so by the
Neyman-Pearson lemma no function of all the scores ranks FaceSwap fakes above real videos better
than the FaceSwap detectors alone; a score that also looks for the other manipulations pays for
it (docs/fusion_log.md, "Why one score cannot match every specialist").

The pieces a student writes are phase 5's tasks 5.15 (one detector's likelihood ratio), 5.16 (the
claims and the mixture) and 5.17 (a person's offset), in ``template_late_fusion.py``; this module
borrows them from the active tree (:mod:`common.exercises`) and adds the fitting, the calibration,
the file and the report.

**Reference footage** (phase 5's task 5.17, :class:`PersonReference`). Some detectors' false alarms
follow the person: the phase-1 CNNs call some people's real videos FAKE whatever the video (guide,
"The false alarms follow the person"). Given known-real videos of the person a video claims to show,
each detector's *person offset* (a random-effects model of the validation real videos, shrunk by
how much a few reference videos can say) is subtracted from its log-odds before the mixture, whose
kinds and calibration are fitted on validation videos corrected the same way (each against the
*other* real videos of its person). A fusion fitted on a validation set where some people have
two or more real videos holds both modes; :meth:`LateFusion.fuse` uses the reference mode when
given references.

Without a fitted fusion (no ``--fusion-model``) the fused probability is the mean of the
detectors' calibrated probabilities, and the report says so.

A fusion model is a small JSON file (no pickle): the detectors it was fitted with (name, kind,
architecture, checkpoint SHA-256, in order), its kinds of fake (who claimed them, how many, each
detector's slope and offset), the calibration and the validation figures. Loading it with other
checkpoints is refused with a one-line error.
"""
from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from scipy.special import expit

from common import exercises
from common.calibration import Calibration, fit_platt
from common.errors import CheckpointError, CourseError
from common.report import write_text_atomic

FUSION_FORMAT = "deepfake-course-fusion"
FUSION_VERSION = 5
"""5: a mixture of per-kind likelihood ratios; 4: a logistic regression on each detector's evidence above a
pivot, a detector that could not run at its expected evidence (3: at 0; 2: pivot 0; 1: signed log-odds)."""
SCORE_CLIP = 1e-4
"""Scores are clipped to [1e-4, 1 - 1e-4] before the log-odds: a detector's 0 or 1 is +-9.2."""
LIKELIHOOD_C = 1.0
"""Inverse L2 strength of each one-feature logistic regression (scikit-learn's default)."""


def log_odds(probability: float) -> float:
    """log(p / (1 - p)) of a probability clipped to [1e-4, 1 - 1e-4]. Example: 0.5 -> 0, 0.9 -> 2.197."""
    p = min(max(float(probability), SCORE_CLIP), 1.0 - SCORE_CLIP)
    return math.log(p / (1.0 - p))


def usable(entry: dict | None) -> bool:
    """Whether a detector entry has a video score the fusion can read."""
    return entry is not None and entry.get("status") == "ok" and entry.get("video_score") is not None


def log_odds_table(video_entries: Sequence[Sequence[dict]], names: Sequence[str]) -> np.ndarray:
    """(N videos, D detectors) log-odds of each detector's calibrated video score, NaN where it could not run.

    Example: two videos, detectors a and b, scores (0.9, could not run) and (0.5, 0.1) ->
    [[2.197, nan], [0, -2.197]].
    """
    table = np.full((len(video_entries), len(names)), np.nan)
    for v, entries in enumerate(video_entries):
        by_name = {entry["name"]: entry for entry in entries}
        for d, name in enumerate(names):
            if usable(by_name.get(name)):
                table[v, d] = log_odds(by_name[name]["video_score"])
    return table


def claim_fakes(table: np.ndarray, labels: Sequence[int]) -> np.ndarray:
    """Which detector claims each fake: the one whose log-odds stand out most (largest z-score) from the
    real videos' (task 5.16, ``template_late_fusion.claim_fakes``). Returns (N,) int, -1 for real
    videos and for fakes no detector can claim."""
    return exercises.claim_fakes(table, labels)


def fit_log_likelihood_ratio(x: np.ndarray, is_fake: np.ndarray) -> tuple[float, float]:
    """One detector's log-likelihood ratio of one kind of fake against real, ``slope * x + offset``: a
    logistic regression (C = :data:`LIKELIHOOD_C`) minus its prior log-odds, monotone (task 5.15,
    ``template_late_fusion.fit_log_likelihood_ratio``)."""
    return exercises.fit_log_likelihood_ratio(x, is_fake, LIKELIHOOD_C)


@dataclass
class FakeKind:
    """One kind of fake: the validation fakes one detector claimed (:func:`claim_fakes`).

    Attributes:
        claimed_by: the claiming detector's name (the kind is "the fakes it finds most unlike real videos").
        claimer: that detector's position in the fusion's order.
        n_fakes: validation fakes of this kind.
        prior_log_odds: ``log(n_fakes / n_real)`` over all validation real videos: the kind's prior odds
            against a real video on which its claimer could not run (it could not look: nothing says
            whether the video is of the kind it reads, so the prior of the whole validation set).
        readable_prior_log_odds: ``log(n_fakes / n_real_read)`` over the real videos its claimer ran on:
            the kind's prior odds on a video its claimer can read. Every fake of the kind is one its
            claimer read, so among those videos the kind is as common as that; a pulse detector's kind
            is common among the 10-s clips it reads and absent from the short clips it cannot.
        slopes, offsets: per detector (the fusion's order), its log-likelihood ratio
            ``slope * log-odds + offset`` for this kind (:func:`fit_log_likelihood_ratio`).

    Example: 3 pulse fakes, 20 real validation videos, of which the pulse detector read 2: prior
    log(3/20) = -1.90 on a short clip, log(3/2) = +0.41 on a 10-s clip it reads.
    """

    claimed_by: str
    claimer: int
    n_fakes: int
    prior_log_odds: float
    readable_prior_log_odds: float
    slopes: list[float]
    offsets: list[float]

    def prior(self, row: np.ndarray) -> float:
        """The kind's prior log-odds for one video's (D,) log-odds (NaN where a detector could not run)."""
        return self.prior_log_odds if np.isnan(row[self.claimer]) else self.readable_prior_log_odds

    def log_likelihood_ratios(self, row: np.ndarray) -> np.ndarray:
        """(D,) each detector's log-likelihood ratio of this kind for one video's (D,) log-odds; 0 where NaN."""
        values = np.asarray(self.slopes) * np.nan_to_num(row) + np.asarray(self.offsets)
        return np.where(np.isnan(row), 0.0, values)


def fit_kinds(table: np.ndarray, labels: Sequence[int], names: Sequence[str]) -> list[FakeKind]:
    """The kinds of fake of a validation set and each detector's log-likelihood ratio for each.

    A kind is the fakes claimed by one detector (:func:`claim_fakes`); for each kind and detector, a
    :func:`fit_log_likelihood_ratio` on that kind's fakes and the real videos, where the detector ran.
    Kinds are in the order of the detectors that claimed them.
    """
    labels = np.asarray(labels)
    claims = claim_fakes(table, labels)
    n_real = int((labels == 0).sum())
    kinds = []
    for claimer in sorted(set(claims[claims >= 0].tolist())):
        members = (labels == 0) | (claims == claimer)
        slopes, offsets = [], []
        for d in range(table.shape[1]):
            ran = members & ~np.isnan(table[:, d])
            slope, offset = fit_log_likelihood_ratio(table[ran, d], claims[ran] == claimer)
            slopes.append(slope)
            offsets.append(offset)
        n_fakes = int((claims == claimer).sum())
        n_read = int(((labels == 0) & ~np.isnan(table[:, claimer])).sum())  # >= 2: it claims nothing otherwise
        kinds.append(FakeKind(names[claimer], claimer, n_fakes, math.log(n_fakes / n_real),
                              math.log(n_fakes / n_read), slopes, offsets))
    return kinds


def mixture_log_odds(kinds: Sequence[FakeKind], table: np.ndarray) -> np.ndarray:
    """(N,) the fused log-odds of FAKE: ``log sum_f exp(prior_f + sum_d llr_{d,f})`` per video (task 5.16,
    ``template_late_fusion.mixture_log_odds``), with each kind's prior for that video (:meth:`FakeKind.prior`).

    Example: two kinds with prior log-odds log 0.25 each and log-likelihood ratios 3 and -1 give
    log(0.25 e^3 + 0.25 e^-1) = 1.632.
    """
    rows = np.atleast_2d(table)
    priors = np.array([[kind.prior(row) for kind in kinds] for row in rows])
    ratios = np.array([[kind.log_likelihood_ratios(row).sum() for kind in kinds] for row in rows])
    return exercises.mixture_log_odds(priors, ratios)


def person_components(table: np.ndarray, labels: Sequence[int], people: Sequence[str]
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per detector (column of the (N, D) log-odds table), ``(mu, between, within)`` of its log-odds on the
    real videos (task 5.17, ``template_late_fusion.person_variance_components``): three (D,) arrays."""
    real = np.asarray(labels) == 0
    who = np.asarray(people, dtype=object)[real]
    parts = np.array([exercises.person_variance_components(table[real, d], who) for d in range(table.shape[1])])
    return parts[:, 0], parts[:, 1], parts[:, 2]


def person_offsets(reference_table: np.ndarray, mu: np.ndarray, between: np.ndarray, within: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each detector's person offset and shrinkage from an (R, D) log-odds table of reference videos (task
    5.17, ``template_late_fusion.person_offset``), and how many references it read: three (D,) arrays.
    An empty table (no reference) gives offsets 0."""
    reference_table = np.asarray(reference_table, dtype=np.float64).reshape(-1, len(mu))
    pairs = np.array([exercises.person_offset(reference_table[:, d], mu[d], between[d], within[d])
                      for d in range(len(mu))]).reshape(len(mu), 2)
    return pairs[:, 0], pairs[:, 1], (~np.isnan(reference_table)).sum(axis=0)


def people_with_references(labels: Sequence[int], people: Sequence[str]) -> int:
    """How many people have two or more real videos: those whose videos each have another as reference."""
    counts = Counter(person for person, label in zip(people, labels) if label == 0)
    return sum(count >= 2 for count in counts.values())


def corrected_by_other_videos(table: np.ndarray, labels: Sequence[int], people: Sequence[str], mu: np.ndarray,
                              between: np.ndarray, within: np.ndarray) -> np.ndarray:
    """(N, D) each video's log-odds minus its person offsets, with the *other* real videos of its person in the
    same set as its references (never itself): how a validation or test set of several videos per person
    is scored as if each video came with reference footage. A video whose person has no other real video
    is left as it is (offset 0)."""
    labels, who = np.asarray(labels), np.asarray(people, dtype=object)
    corrected = np.array(table, dtype=np.float64, copy=True)
    for v in range(len(table)):
        references = np.flatnonzero((labels == 0) & (who == who[v]) & (np.arange(len(table)) != v))
        corrected[v] -= person_offsets(table[references], mu, between, within)[0]
    return corrected


def _kinds_and_calibration(table: np.ndarray, labels: np.ndarray, names: Sequence[str], folds: int,
                           seed: int) -> tuple[list[FakeKind], Calibration, float]:
    """The kinds fitted on the whole table, and the Platt scaling of their mixture fitted on out-of-fold
    log-odds (each fold scored by kinds fitted without it); also the out-of-fold AUC."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    kinds = fit_kinds(table, labels, names)
    if not kinds:
        raise CourseError("fitting a fusion needs validation fakes that some detector could score; none could")
    folds = max(2, min(folds, int((labels == 0).sum()), int((labels == 1).sum())))
    out_of_fold = np.zeros(len(labels))
    for train, held in StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(labels)), labels):
        # the held-out fold is scored by kinds and likelihood ratios fitted without it
        fold_kinds = fit_kinds(table[train], labels[train], names)
        out_of_fold[held] = mixture_log_odds(fold_kinds, table[held]) if fold_kinds else 0.0
    calibration = fit_platt(expit(out_of_fold).tolist(), labels.tolist(), "fusion")
    return kinds, calibration, float(roc_auc_score(labels, out_of_fold))


@dataclass
class PersonReference:
    """The fusion's reference mode (module docstring, "Reference footage"; task 5.17).

    Attributes:
        mu, between, within: per detector, the random-effects model of its log-odds on the validation real
            videos (:func:`person_components`).
        kinds, calibration: the mixture and its Platt scaling, fitted on the validation videos corrected by
            the other real videos of their person (:func:`corrected_by_other_videos`).
        validation: figures measured on those videos (people with references, out-of-fold AUC).
    """

    mu: list[float]
    between: list[float]
    within: list[float]
    kinds: list[FakeKind]
    calibration: Calibration
    validation: dict[str, Any] = field(default_factory=dict)

    def components(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return np.asarray(self.mu), np.asarray(self.between), np.asarray(self.within)

    def to_dict(self) -> dict[str, Any]:
        return {"mu": [float(v) for v in self.mu], "between": [float(v) for v in self.between],
                "within": [float(v) for v in self.within], "kinds": [_kind_to_dict(k) for k in self.kinds],
                "calibration": self.calibration.to_dict(), "validation": self.validation}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PersonReference":
        return cls([float(v) for v in data["mu"]], [float(v) for v in data["between"]],
                   [float(v) for v in data["within"]], [_kind_from_dict(k) for k in data["kinds"]],
                   Calibration.from_dict(data["calibration"]), dict(data.get("validation", {})))


def _kind_to_dict(kind: FakeKind) -> dict[str, Any]:
    return {"claimed_by": kind.claimed_by, "claimer": kind.claimer, "n_fakes": kind.n_fakes,
            "prior_log_odds": kind.prior_log_odds, "readable_prior_log_odds": kind.readable_prior_log_odds,
            "slopes": [float(s) for s in kind.slopes], "offsets": [float(o) for o in kind.offsets]}


def _kind_from_dict(data: dict[str, Any]) -> FakeKind:
    return FakeKind(str(data["claimed_by"]), int(data["claimer"]), int(data["n_fakes"]), float(data["prior_log_odds"]),
                    float(data["readable_prior_log_odds"]), [float(s) for s in data["slopes"]],
                    [float(o) for o in data["offsets"]])


def detector_fingerprint(entry: dict) -> dict[str, str]:
    """What identifies a detector in a fusion model: name, kind, architecture, checkpoint SHA-256."""
    return {key: str(entry.get(key)) for key in ("name", "kind", "architecture", "sha256")}


@dataclass
class LateFusion:
    """A fitted mixture of likelihood ratios over named detectors (see the module docstring).

    Attributes:
        detectors: fingerprints (:func:`detector_fingerprint`) of the fused detectors, in order.
        kinds: the kinds of fake found on validation and each detector's log-likelihood ratio for each.
        calibration: Platt scaling of the mixture's probability (out-of-fold on validation).
        validation: figures measured on the validation videos (counts, AUCs).
        reference: the reference mode (:class:`PersonReference`), or None when the validation set had
            no two people with two real videos each.
    """

    detectors: list[dict[str, str]]
    kinds: list[FakeKind]
    calibration: Calibration
    validation: dict[str, Any] = field(default_factory=dict)
    reference: PersonReference | None = None

    @property
    def names(self) -> list[str]:
        return [d["name"] for d in self.detectors]

    def raw_probability(self, table: np.ndarray) -> np.ndarray:
        """The mixture's probability of FAKE for (N, D) or (D,) log-odds, before calibration."""
        return expit(mixture_log_odds(self.kinds, table))

    def fuse(self, entries: Sequence[dict], references: Sequence[Sequence[dict]] | None = None) -> dict[str, Any]:
        """Fused probability of FAKE for one video, which kind of fake it most resembles, and each detector's part.

        ``references``: the detector entries of known-real reference videos of the person the video
        shows (reference mode, :class:`PersonReference`); None: the plain mixture.

        Returns ``{"video_score", "raw_video_score", "log_odds", "most_like", "kinds": [{claimed_by,
        prior_log_odds, log_likelihood_ratio, share}], "contributions": [{name, kind, status, score,
        log_odds, log_likelihood_ratios, contribution, contributed, reason}]}``. ``prior_log_odds`` is the
        kind's prior for this video (:meth:`FakeKind.prior`); ``share`` is the kind's
        share of the evidence of FAKE (its posterior probability given that the video is fake);
        ``most_like`` is the ``claimed_by`` of the largest. A detector's ``contribution`` is its
        log-likelihood ratio for that kind, so ``log_odds = prior + sum(contributions) - log(share)``
        of the most likely kind; a detector that could not run contributes 0. In reference mode
        ``log_odds`` of a contribution is after the correction, each contribution adds ``person_offset``,
        ``shrinkage`` and ``references_read``, and the result adds ``"reference": {"videos": R}``.

        Raises:
            CourseError: references given to a fusion fitted without a reference mode (one line).
        """
        row = log_odds_table([entries], self.names)[0]
        if references is None:
            return self._fuse_row(entries, row, self.kinds, self.calibration)
        if self.reference is None:
            raise CourseError("this fusion model has no reference mode (its validation set had no two people with "
                              "two real videos each): refit it with --fit-fusion on such a set, or leave out "
                              "--reference")
        offsets, shrinkage, read = person_offsets(log_odds_table(references, self.names), *self.reference.components())
        fused = self._fuse_row(entries, row - offsets, self.reference.kinds, self.reference.calibration)
        for contribution, offset, factor, count in zip(fused["contributions"], offsets, shrinkage, read):
            contribution.update({"person_offset": float(offset), "shrinkage": float(factor),
                                 "references_read": int(count)})
        fused["reference"] = {"videos": len(references)}
        return fused

    def _fuse_row(self, entries: Sequence[dict], row: np.ndarray, kinds: Sequence[FakeKind],
                  calibration: Calibration) -> dict[str, Any]:
        """:meth:`fuse` for one video's (D,) log-odds with the given kinds and calibration."""
        by_name = {entry["name"]: entry for entry in entries}
        priors = np.array([kind.prior(row) for kind in kinds])
        ratios = [kind.log_likelihood_ratios(row) for kind in kinds]
        summed = np.array([r.sum() for r in ratios])
        fused = float(exercises.mixture_log_odds(priors[None, :], summed[None, :])[0])
        shares = np.exp(priors + summed - fused)
        top = int(np.argmax(shares))
        contributions = []
        for d, name in enumerate(self.names):
            entry = by_name.get(name, {})
            ran = not np.isnan(row[d])
            contributions.append({
                "name": name, "kind": entry.get("kind"), "status": entry.get("status", "absent"),
                "score": entry.get("video_score"), "log_odds": float(row[d]) if ran else None,
                "log_likelihood_ratios": {kind.claimed_by: float(r[d]) for kind, r in zip(kinds, ratios)},
                "contribution": float(ratios[top][d]),
                "contributed": ran, "reason": None if ran else entry.get("reason", "not in this run")})
        raw = float(expit(fused))
        return {"video_score": calibration.apply(raw), "raw_video_score": raw, "log_odds": fused,
                "most_like": kinds[top].claimed_by,
                "kinds": [{"claimed_by": kind.claimed_by, "prior_log_odds": float(p),
                           "log_likelihood_ratio": float(r), "share": float(s)}
                          for kind, p, r, s in zip(kinds, priors, summed, shares)],
                "contributions": contributions}

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
                "kinds": [_kind_to_dict(k) for k in self.kinds],
                "calibration": self.calibration.to_dict(), "validation": self.validation,
                **({"reference": self.reference.to_dict()} if self.reference is not None else {})}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LateFusion":
        reference = PersonReference.from_dict(data["reference"]) if data.get("reference") else None
        return cls(list(data["detectors"]), [_kind_from_dict(k) for k in data["kinds"]],
                   Calibration.from_dict(data["calibration"]), dict(data.get("validation", {})), reference)


def fit_fusion(video_entries: Sequence[Sequence[dict]], labels: Sequence[int], *, folds: int = 5,
               seed: int = 0, people: Sequence[str] | None = None) -> LateFusion:
    """Fit the mixture and its calibration on validation videos.

    Args:
        video_entries: per video, the report's detector entries (the same detectors, same order).
        labels: 1 FAKE, 0 REAL, per video.
        folds: cross-fitting folds for the out-of-fold scores that calibrate the mixture.
        seed: fold assignment.
        people: who each video shows (the dataset's groups); with two or more people who have two or
            more real videos, the reference mode is fitted too (:class:`PersonReference`). While task
            5.17 is a TODO the mixture is fitted without it, and ``validation["reference_not_fitted"]``
            says why.

    Raises:
        CourseError: fewer than 2 videos of a class, or no fake any detector could score (one line).
    """
    from sklearn.metrics import roc_auc_score

    labels = np.asarray(labels, dtype=np.int64)
    if min(int((labels == 0).sum()), int((labels == 1).sum())) < 2:
        raise CourseError(f"fitting a fusion needs at least 2 real and 2 fake validation videos, got "
                          f"{int((labels == 0).sum())} real and {int((labels == 1).sum())} fake")
    fingerprints = [detector_fingerprint(entry) for entry in video_entries[0]]
    names = [f["name"] for f in fingerprints]
    table = log_odds_table(video_entries, names)
    kinds, calibration, out_of_fold_auc = _kinds_and_calibration(table, labels, names, folds, seed)
    validation = {"n_videos": int(len(labels)), "n_fake": int(labels.sum()), "folds": int(folds),
                  "out_of_fold_auc": out_of_fold_auc, "detector_auc": {},
                  "could_not_run": {}, "kinds": {kind.claimed_by: kind.n_fakes for kind in kinds}}
    for d, name in enumerate(names):
        ran = ~np.isnan(table[:, d])
        if len(set(labels[ran].tolist())) == 2:
            validation["detector_auc"][name] = float(roc_auc_score(labels[ran], table[ran, d]))
        validation["could_not_run"][name] = int((~ran).sum())
    reference = None
    if people is not None:
        from grader.todo import TodoError

        try:
            reference = _fit_reference(table, labels, people, names, folds, seed)
        except TodoError as error:  # the reference mode borrows task 5.17; the plain mixture does not need it
            from common.errors import todo_message

            validation["reference_not_fitted"] = todo_message(error)
    return LateFusion(fingerprints, kinds, calibration, validation, reference)


def _fit_reference(table: np.ndarray, labels: np.ndarray, people: Sequence[str], names: Sequence[str], folds: int,
                   seed: int) -> PersonReference | None:
    """The reference mode on the validation videos, or None without two people with two real videos each."""
    who = np.asarray(people, dtype=object)
    repeated = people_with_references(labels, who)
    if repeated < 2:
        return None
    mu, between, within = person_components(table, labels, who)
    corrected = corrected_by_other_videos(table, labels, who, mu, between, within)
    kinds, calibration, out_of_fold_auc = _kinds_and_calibration(corrected, labels, names, folds, seed)
    validation = {"people": len(set(who.tolist())), "people_with_references": repeated,
                  "out_of_fold_auc": out_of_fold_auc,
                  "between_person_share": {name: float(b / (b + w)) if b + w > 0 else 0.0
                                           for name, b, w in zip(names, between, within)}}
    return PersonReference(mu.tolist(), between.tolist(), within.tolist(), kinds, calibration, validation)


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
