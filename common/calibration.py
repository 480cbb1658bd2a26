"""Calibrated verdicts: a video probability that means what it says, and a threshold that travels.

A detector's raw video score (the mean of its frame probabilities) is not a probability of FAKE
for *videos*: it is trained per frame, and averaging compresses the scores towards the middle. The
phase-1 checkpoints used to store the Youden threshold of validation *frames*; over six runs it
landed anywhere between 0.004 and 0.998, and accuracy at that threshold was below accuracy at 0.5.

Platt scaling (Platt 1999; Niculescu-Mizil and Caruana 2005) fixes both at once. On the
validation videos, a one-feature logistic regression maps the logit of the raw video score to the
label: ``p = sigmoid(a * logit(score) + b)``, fitted against Platt's soft targets (a FAKE video
counts as ``(N+ + 1) / (N+ + 2)``, not 1), so a handful of videos cannot promise certainty. It is fitted on validation only (never on test),
``train.py`` stores it in the checkpoint, and a video is called FAKE when its calibrated
probability reaches 0.5: the point where the fitted curve says FAKE and REAL are equally likely.
The raw score that maps to 0.5, ``sigmoid(-b / a)``, is the threshold chosen on validation videos.

Measures of calibration: the Brier score (mean squared error of the probabilities) and the
expected calibration error (ECE: the gap between confidence and accuracy, averaged over 10 equal-
width bins of probability and weighted by how many videos fall in each bin), with a reliability
diagram (accuracy against confidence per bin; a calibrated detector follows the diagonal).

The ECE of a finite test set is not 0 even for a perfectly calibrated detector: its labels are
draws, and each bin's share of FAKE scatters around its confidence. *Consistency resampling*
(Broecker and Smith 2007, "Increasing the reliability of reliability diagrams") measures that
scatter: draw labels from the detector's own probabilities (each video FAKE with probability p),
as a perfectly calibrated detector's labels would be, and compute the ECE of those draws. On 108
videos whose probabilities spread over 0..1 it averages 0.096: an ECE below that cannot be
shown there, whatever the detector; the report gives the range beside the measured ECE. The same
draws give the accuracy gaps' floor (:func:`gaps_if_calibrated`): with the probabilities the truth,
the stored 0.5 is the best rule there is, yet on a finite test set it still loses to a raw 0.5 now
and then, and the test set's own best threshold still leads.

*Two-sided Platt scaling* (:func:`fit_two_sided`, ``train.py --calibration two-sided``) separates the two things
Platt's one line decides at once: *where* the verdict flips and *how sure* the detector is on each
side. A CNN's video scores are vote shares of saturated frames, and a single line fitted by maximum
likelihood is placed to fit the many videos near 0 and 1, not the few near the threshold, so its
threshold wanders from one set of validation people to the next (0.39-0.97 over five). The two-sided
curve is ``sigmoid(a * (z - knot))`` above the knot and ``sigmoid(a_below * (z - knot))`` below it
(``z`` the logit of the raw score): each side's extremes set that side's slope, and the knot, where
the probability is 0.5, moves away from a raw 0.5 (``knot = 0``) only when the validation *people*
agree that it moved: its 95 % interval over people resampled with replacement must exclude 0. A
test that counted videos would be fooled, because the videos of one person are not independent (a
CNN's false alarms follow the person). With fewer than :data:`KNOT_MIN_PEOPLE` validation people
there is nothing to resample (one person gives the same draw every time, an interval of zero width
that excludes 0 by construction): the knot stays at a raw 0.5.

Which one ``train.py`` fits (:data:`DEFAULT_CALIBRATION`, :func:`fit_calibration`): Platt scaling.
Judged on held-out people (ten detectors on one benchmark, three on each of two more; guide,
"Calibrated verdicts"), the two-sided rule gave up real shifts that 17-18 validation people could
not prove (MesoNet-4: 0.035 of accuracy, 0.039 from the best threshold) and missed nine of issue
17's bars to Platt's two; the two-sided curve stays as the lesson of where a threshold comes from.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from scipy.special import expit, log_expit  # without overflow: a steep fit on few videos

from common.errors import CourseError

EPSILON = 1e-6
"""Scores are clipped to [EPSILON, 1 - EPSILON] before the logit."""
ECE_BINS = 10


def logit(scores: Sequence[float] | np.ndarray) -> np.ndarray:
    """``log(p / (1 - p))`` of probabilities clipped to [EPSILON, 1 - EPSILON]."""
    p = np.clip(np.asarray(scores, dtype=np.float64), EPSILON, 1 - EPSILON)
    return np.log(p / (1 - p))


@dataclass(frozen=True)
class Calibration:
    """Platt scaling of a detector's video score, fitted on validation videos, one-sided or two-sided.

    Attributes:
        a, b: slope and intercept on the logit of the raw score (above the knot when two-sided).
        n_videos: validation videos it was fitted on.
        aggregation: how the raw video score was made from frame scores (it only applies to that).
        a_below: two-sided only (:func:`fit_two_sided`): the slope below the knot ``-b / a``; None
            for plain Platt scaling, one line ``sigmoid(a * z + b)`` on both sides.
        knot_test: two-sided only: how the knot was chosen (``interval``: its 95 % interval over
            validation people resampled, in logit units, None with fewer than
            :data:`KNOT_MIN_PEOPLE` people; ``moved``: whether it excludes 0; ``people``, ``draws``).

    Example: with a = 2, b = -1 a raw score of 0.5 (logit 0) becomes sigmoid(-1) = 0.269, and the
    raw score called FAKE from is sigmoid(1 / 2) = 0.622. Two-sided with a_below = 0.5, the knot
    is at logit 0.5, and a raw score of 0.5 becomes sigmoid(0.5 * (0 - 0.5)) = 0.438 instead.

        >>> c = Calibration(2.0, -1.0, 36, "mean")
        >>> round(c.apply(0.5), 3), round(c.raw_threshold(), 3)
        (0.269, 0.622)
        >>> round(Calibration(2.0, -1.0, 36, "mean", a_below=0.5).apply(0.5), 3)
        0.438
    """

    a: float
    b: float
    n_videos: int
    aggregation: str = "mean"
    a_below: float | None = None
    knot_test: dict[str, Any] | None = None

    @property
    def method(self) -> str:
        """``"two-sided"`` or ``"platt"``: the name :func:`fit_calibration` fits it by."""
        return "platt" if self.a_below is None else "two-sided"

    @property
    def knot(self) -> float:
        """The logit of the raw score whose probability is 0.5 (``-b / a``; needs a > 0)."""
        return -self.b / self.a if self.b else 0.0

    def apply(self, score: float) -> float:
        """The calibrated probability of FAKE of one raw video score."""
        return float(self.apply_all([score])[0])

    def apply_all(self, scores: Sequence[float] | np.ndarray) -> np.ndarray:
        z = logit(scores)
        if self.a_below is None:
            return expit(self.a * z + self.b)
        return expit(np.where(z >= self.knot, self.a, self.a_below) * (z - self.knot))

    def raw_threshold(self, probability: float = 0.5) -> float:
        """The raw score whose calibrated probability is ``probability`` (needs a > 0)."""
        if self.a <= 0:
            return 1.0  # a curve that does not rise with the score: no raw score earns FAKE
        target = float(logit([probability])[0])
        if self.a_below is None:
            return float(expit((target - self.b) / self.a))
        slope = self.a if target >= 0 else self.a_below
        return float(expit(self.knot + target / slope))

    def describe(self) -> str:
        """One phrase for a summary: what was fitted, on how many videos, and where the knot is.

            >>> Calibration(1.0, -0.0, 86, a_below=0.4, knot_test={"interval": [-0.5, 5.4], "moved": False,
            ...             "people": 17, "draws": 200}).describe()
            'two-sided Platt scaling on 86 validation videos (knot at a raw 0.5: its 95 % interval over 17 people, -0.50 to 5.40 in logit, contains 0)'
        """
        if self.a_below is None:
            return f"Platt scaling on {self.n_videos} validation videos"
        test = self.knot_test or {}
        interval = test.get("interval", [float("nan")] * 2)
        if interval is None:
            return (f"two-sided Platt scaling on {self.n_videos} validation videos (knot at a raw 0.5: "
                    f"{test.get('people', '?')} validation people, fewer than the {KNOT_MIN_PEOPLE} its test needs)")
        low, high = interval
        where = (f"knot moved to a raw {self.raw_threshold():.3f}" if test.get("moved") else "knot at a raw 0.5")
        return (f"two-sided Platt scaling on {self.n_videos} validation videos ({where}: its 95 % interval over "
                f"{test.get('people', '?')} people, {low:.2f} to {high:.2f} in logit, "
                f"{'excludes' if test.get('moved') else 'contains'} 0)")

    def to_dict(self) -> dict[str, Any]:
        data = {"method": "platt", "a": self.a, "b": self.b, "n_videos": self.n_videos,
                "aggregation": self.aggregation}
        if self.a_below is not None:
            data.update(method="two_sided_platt", a_below=self.a_below, knot=self.knot, knot_test=self.knot_test)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Calibration":
        a_below = data.get("a_below")
        return cls(float(data["a"]), float(data["b"]), int(data["n_videos"]), str(data.get("aggregation", "mean")),
                   None if a_below is None else float(a_below), data.get("knot_test"))


def platt_targets(labels: Sequence[int]) -> np.ndarray:
    """Platt's (1999) soft targets: ``(N+ + 1) / (N+ + 2)`` for FAKE and ``1 / (N- + 2)`` for REAL.

    A hard 0/1 target lets the fit promise certainty from a few validation videos (and, when they
    are perfectly separated, drives the slope to infinity); Platt's targets are what a uniform prior
    on each class's rate gives, so certainty grows with the number of videos.
    Example: 3 FAKE and 2 REAL videos -> 4/5 = 0.8 for FAKE, 1/4 = 0.25 for REAL.

        >>> platt_targets([1, 1, 1, 0, 0]).tolist()
        [0.8, 0.8, 0.8, 0.25, 0.25]
    """
    labels = np.asarray(labels, dtype=np.int64)
    n_fake, n_real = int((labels == 1).sum()), int((labels == 0).sum())
    return np.where(labels == 1, (n_fake + 1) / (n_fake + 2), 1 / (n_real + 2))


def fit_platt(scores: Sequence[float], labels: Sequence[int], aggregation: str = "mean") -> Calibration:
    """Fit Platt scaling on validation videos: maximum likelihood of ``sigmoid(a * logit(score) + b)``
    against Platt's soft targets (:func:`platt_targets`), without any other regularisation.

    Each video enters the logistic regression (scikit-learn) twice, as FAKE with weight ``t`` and as
    REAL with weight ``1 - t``: the cross-entropy against a soft target ``t``. The soft targets keep
    the slope finite when the validation videos are perfectly separated, without shrinking it the
    way an L2 penalty does (which leaves a perfect detector's probabilities far from 0 and 1, and so
    miscalibrated).

    Raises:
        ValueError: fewer than two videos, or a single class.
    """
    from sklearn.linear_model import LogisticRegression

    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) < 2 or len(set(labels.tolist())) < 2:
        raise ValueError("Platt scaling needs validation videos of both classes")
    targets = platt_targets(labels)
    features = logit(scores).reshape(-1, 1)
    model = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(
        np.vstack([features, features]), np.r_[np.ones(len(labels)), np.zeros(len(labels))],
        sample_weight=np.r_[targets, 1 - targets])
    return Calibration(float(model.coef_[0, 0]), float(model.intercept_[0]), int(len(labels)), aggregation)


KNOT_MIN_PEOPLE = 5
"""Fewer validation people than this and the knot is not tested: it stays at a raw 0.5. Resampling
one person repeats the same draw (a zero-width interval), two to four give a handful of distinct
draws; the benchmarks' validation folds hold 15-18 people."""

KNOT_STEP = 0.05
"""Spacing (logit units) of the knots :func:`fit_two_sided` tries: 0.05 moves a raw 0.5 by 0.0125."""
NEWTON_STEPS = 30
"""Safeguarded Newton steps per slope (quadratic convergence: far more than a fit needs)."""
SLOPE_RANGE = (1e-4, 100.0)
"""A side's slope is searched in this range: positive (the probability rises with the score), and
100 is a step for any practical purpose."""


def side_slopes(z: np.ndarray, targets: np.ndarray, knots: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each candidate knot, the maximum-likelihood slope above it and below it, and the cross-entropy.

    Args:
        z: (n,) logits of the raw scores; targets: (n,) soft targets (:func:`platt_targets`);
        knots: (K,) candidate knots, logit units.
    Returns:
        ``(a_above, a_below, nll)``, each of shape (K,): on each side of knot k the slope a minimising
        ``sum -[t log sigmoid(a x) + (1 - t) log sigmoid(-a x)]`` with ``x = z - knot`` over that side's
        videos (1 where a side has none), and the sum of both sides' minima.

    The cross-entropy of one side is convex in its slope, so its derivative ``sum (sigmoid(a x) - t) x``
    rises with a: safeguarded Newton steps (a bisection step whenever Newton would leave the bracket
    the derivative's sign keeps) find its zero in :data:`SLOPE_RANGE` for every knot at once.
    Example: one video at z = 2 with target 0.8, knot 0: the slope solves sigmoid(2a) = 0.8, a = ln(4) / 2.
    """
    x = np.asarray(z, dtype=np.float64)[None, :] - np.asarray(knots, dtype=np.float64)[:, None]   # (K, n)
    t = np.asarray(targets, dtype=np.float64)[None, :]
    slopes, total = [], np.zeros(x.shape[0])
    for side in (x >= 0, x < 0):
        xs = np.where(side, x, 0.0)                      # the other side's videos contribute nothing
        low, high = np.full(x.shape[0], SLOPE_RANGE[0]), np.full(x.shape[0], SLOPE_RANGE[1])
        a = np.ones(x.shape[0])
        for _ in range(NEWTON_STEPS):
            p = expit(a[:, None] * xs)
            gradient = ((p - t) * xs).sum(1)
            curvature = (p * (1 - p) * xs * xs).sum(1)
            rising = gradient > 0
            high, low = np.where(rising, a, high), np.where(rising, low, a)
            step = a - gradient / np.maximum(curvature, 1e-300)
            a = np.where((step >= low) & (step <= high), step, (low + high) / 2)
        a = np.where(side.any(1), a, 1.0)
        ax = a[:, None] * xs
        total += (-(t * log_expit(ax) + (1 - t) * log_expit(-ax)) * side).sum(1)
        slopes.append(a)
    return slopes[0], slopes[1], total


def best_knot(z: np.ndarray, targets: np.ndarray) -> tuple[float, float, float]:
    """``(knot, a_above, a_below)`` of the two-sided curve of least cross-entropy. The knot is searched
    every ``5 * KNOT_STEP`` between the smallest and the largest logit, then every :data:`KNOT_STEP`
    within ``5 * KNOT_STEP`` of the best (0 is always a candidate): the cross-entropy changes smoothly
    with the knot, as each side's slope follows it, and the two stages cost a fifth of one fine search."""
    z = np.asarray(z, dtype=np.float64)
    coarse = 5 * KNOT_STEP
    knots = np.union1d(np.arange(np.floor(z.min() / coarse), np.ceil(z.max() / coarse) + 1) * coarse, [0.0])
    _, _, nll = side_slopes(z, targets, knots)
    centre = knots[int(np.argmin(nll))]
    knots = np.union1d(np.round(centre + np.arange(-5, 6) * KNOT_STEP, 10), [0.0])
    above, below, nll = side_slopes(z, targets, knots)
    k = int(np.argmin(nll))
    return float(knots[k]), float(above[k]), float(below[k])


def knot_interval(scores: Sequence[float], labels: Sequence[int], people: Sequence | None = None,
                  draws: int = 200, seed: int = 0) -> tuple[float, float]:
    """The 95 % interval (2.5th, 97.5th percentile) of the two-sided curve's knot, in logit units, over
    ``draws`` resamples of the validation *people* with replacement (each with all their videos;
    ``people`` None counts every video as its own person). Draws with a single class are skipped."""
    z, y = logit(scores), np.asarray(labels, dtype=np.int64)
    groups = np.arange(len(y)) if people is None else np.asarray(people)
    names = np.unique(groups)
    members = [np.flatnonzero(groups == name) for name in names]
    rng = np.random.default_rng(seed)
    knots = []
    for _ in range(draws):
        rows = np.concatenate([members[i] for i in rng.integers(0, len(names), len(names))])
        if 0 < y[rows].sum() < rows.size:
            knots.append(best_knot(z[rows], platt_targets(y[rows]))[0])
    if not knots:
        return -np.inf, np.inf
    low, high = np.percentile(knots, [2.5, 97.5])
    return float(low), float(high)


def fit_two_sided(scores: Sequence[float], labels: Sequence[int], people: Sequence | None = None,
                  aggregation: str = "mean", draws: int = 200, seed: int = 0) -> Calibration:
    """Two-sided Platt scaling (module docstring): a knot where the probability is 0.5 and a slope on
    each side, fitted by maximum likelihood against Platt's soft targets on the validation videos.
    The knot stays at a raw 0.5 (logit 0), so the verdicts are a raw 0.5's, unless its 95 % interval
    over the validation people resampled (:func:`knot_interval`) excludes 0; with fewer than
    :data:`KNOT_MIN_PEOPLE` people it is not tested (``interval`` None) and stays at 0.

    Args:
        scores, labels: the validation videos' raw scores and labels (1 FAKE).
        people: each video's person (the dataset's ``group``); None counts each video as a person.
    Example: real videos at raw 0.1-0.3 and fakes at 0.7-0.9 of ten people: no knot but 0 is
    needed, the interval contains 0, and a video is called FAKE from a raw 0.5.
    Raises:
        ValueError: fewer than two videos, or a single class.
    """
    y = np.asarray(labels, dtype=np.int64)
    if len(y) < 2 or len(set(y.tolist())) < 2:
        raise ValueError("Platt scaling needs validation videos of both classes")
    z, t = logit(scores), platt_targets(y)
    n_people = len(y) if people is None else len(set(np.asarray(people).tolist()))
    interval = list(knot_interval(scores, y, people, draws, seed)) if n_people >= KNOT_MIN_PEOPLE else None
    moved = interval is not None and not interval[0] <= 0.0 <= interval[1]
    if moved:
        knot, above, below = best_knot(z, t)
    else:
        above, below, _ = (float(v[0]) for v in side_slopes(z, t, np.zeros(1)))
        knot = 0.0
    test = {"interval": interval, "moved": moved, "people": n_people, "draws": draws}
    return Calibration(above, -above * knot if knot else 0.0, int(len(y)), aggregation, below, test)


CALIBRATION_METHODS = ("platt", "two-sided")
"""What ``train.py --calibration`` accepts: :func:`fit_platt` or :func:`fit_two_sided`."""
DEFAULT_CALIBRATION = "platt"


def fit_calibration(scores: Sequence[float], labels: Sequence[int], people: Sequence | None = None,
                    aggregation: str = "mean", method: str = DEFAULT_CALIBRATION) -> Calibration:
    """The video calibration ``train.py`` stores: ``method`` ``"platt"`` (:func:`fit_platt`, which does
    not use ``people``) or ``"two-sided"`` (:func:`fit_two_sided`, whose knot test resamples them).

    Example: ``fit_calibration(scores, labels, people, method="two-sided").method == "two-sided"``.
    Raises:
        ValueError: an unknown method, fewer than two videos, or a single class.
    """
    if method == "platt":
        return fit_platt(scores, labels, aggregation)
    if method == "two-sided":
        return fit_two_sided(scores, labels, people, aggregation)
    raise ValueError(f"unknown calibration {method!r}: expected one of {', '.join(CALIBRATION_METHODS)}")


def brier_score(labels: Sequence[int], probabilities: Sequence[float]) -> float:
    """Mean of ``(p - y)^2``: 0 is perfect, 0.25 is always saying 0.5."""
    y, p = np.asarray(labels, dtype=np.float64), np.asarray(probabilities, dtype=np.float64)
    return float(np.mean((p - y) ** 2))


def reliability_bins(labels: Sequence[int], probabilities: Sequence[float], n_bins: int = ECE_BINS) -> list[dict]:
    """Per equal-width bin of the probability of FAKE: ``{"low", "high", "count", "confidence",
    "fake_rate"}`` (mean probability and observed share of FAKE in the bin; empty bins omitted).
    The last bin includes 1.0."""
    y, p = np.asarray(labels, dtype=np.float64), np.asarray(probabilities, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1], right=False), 0, n_bins - 1)
    bins = []
    for k in range(n_bins):
        inside = which == k
        if inside.any():
            bins.append({"low": float(edges[k]), "high": float(edges[k + 1]), "count": int(inside.sum()),
                         "confidence": float(p[inside].mean()), "fake_rate": float(y[inside].mean())})
    return bins


def expected_calibration_error(labels: Sequence[int], probabilities: Sequence[float], n_bins: int = ECE_BINS) -> float:
    """ECE: ``sum over bins of (count / N) * |mean probability - share of FAKE|``.

    Example: probabilities 0.9 and 0.9 for one FAKE and one REAL video share a bin whose confidence
    is 0.9 and whose share of FAKE is 0.5: ECE = |0.9 - 0.5| = 0.4.
    """
    bins = reliability_bins(labels, probabilities, n_bins)
    total = sum(b["count"] for b in bins)
    return float(sum(b["count"] / total * abs(b["confidence"] - b["fake_rate"]) for b in bins)) if total else 0.0


def ece_if_calibrated(probabilities: Sequence[float], n_bins: int = ECE_BINS, draws: int = 1000,
                      seed: int = 0) -> dict[str, float]:
    """The ECE a *perfectly calibrated* detector with these probabilities shows on this many videos
    (consistency resampling, module docstring): ``{"mean", "p95"}`` over ``draws`` sets of labels,
    each video FAKE with its own probability (the probabilities resampled with replacement too).

    A measured ECE above ``p95`` shows miscalibration; one below ``mean`` is as good as this test
    set can tell. Example: 4 videos all at 0.5 share one bin, whose share of FAKE is k / 4 for k
    FAKE draws: E|k/4 - 0.5| over k ~ Binomial(4, 0.5) = (2 * 0.5 + 8 * 0.25) / 16 = 0.1875.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if p.size == 0:
        return {"mean": 0.0, "p95": 0.0}
    rng = np.random.default_rng(seed)
    errors = []
    for _ in range(draws):
        resampled = p[rng.integers(0, p.size, p.size)]
        errors.append(expected_calibration_error((rng.random(p.size) < resampled).astype(int), resampled, n_bins))
    return {"mean": float(np.mean(errors)), "p95": float(np.percentile(errors, 95))}


def threshold_gaps(label_sets: np.ndarray, probabilities: Sequence[float], raw_scores: Sequence[float],
                   threshold: float = 0.5, raw_threshold: float = 0.5) -> dict[str, np.ndarray]:
    """Two accuracy gaps for each of several sets of labels of the same videos, shape (draws,) each.

    ``stored_minus_raw``: accuracy of ``probabilities >= threshold`` minus accuracy of
    ``raw_scores >= raw_threshold``. ``oracle_minus_stored``: the accuracy of the best threshold on
    the probabilities *for that set of labels* (:func:`best_threshold`) minus accuracy at ``threshold``.

    Args:
        label_sets: ``(draws, N)`` 0/1 labels, one row per set; probabilities, raw_scores: ``(N,)``.

    Every candidate threshold of every row at once: sorted by probability, the videos below a
    candidate are a prefix, so its accuracy is (REAL in the prefix + FAKE after it) / N, from two
    cumulative sums. Example: probabilities [0.2, 0.8], labels [1, 0] (both wrong at 0.5): the
    candidates 0.2, 0.8 and infinity score 1/2, 0/2 and 1/2, so the oracle leads by 0.5.

        >>> gaps = threshold_gaps(np.array([[1, 0]]), [0.2, 0.8], [0.2, 0.8])
        >>> gaps["oracle_minus_stored"].tolist(), gaps["stored_minus_raw"].tolist()
        ([0.5], [0.0])
    """
    y = np.asarray(label_sets, dtype=np.int64)
    p = np.asarray(probabilities, dtype=np.float64)
    raw = np.asarray(raw_scores, dtype=np.float64)
    n = p.size
    stored = ((p >= threshold).astype(np.int64) == y).mean(axis=1)
    at_raw = ((raw >= raw_threshold).astype(np.int64) == y).mean(axis=1)
    order = np.argsort(p, kind="stable")
    y_sorted, p_sorted = y[:, order], p[order]
    fake_before = np.concatenate([np.zeros((len(y), 1), np.int64), np.cumsum(y_sorted, axis=1)], axis=1)
    real_before = np.arange(n + 1) - fake_before  # (draws, N + 1): REAL among the first i videos
    starts = np.append(np.flatnonzero(np.r_[True, p_sorted[1:] != p_sorted[:-1]]), n)  # each value, then infinity
    correct = real_before[:, starts] + (fake_before[:, [n]] - fake_before[:, starts])
    return {"stored_minus_raw": stored - at_raw, "oracle_minus_stored": correct.max(axis=1) / n - stored}


def labels_drawn(probabilities: Sequence[float], draws: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(p, label_sets)``: the probabilities as floats in [0, 1], and ``(draws, N)`` sets of labels of
    the same videos, each video FAKE with its own probability (a perfectly calibrated detector's labels)."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, 1.0)
    return p, (np.random.default_rng(seed).random((draws, p.size)) < p).astype(np.int64)


def gaps_if_calibrated(probabilities: Sequence[float], raw_scores: Sequence[float], threshold: float = 0.5,
                       raw_threshold: float = 0.5, draws: int = 1000, seed: int = 0) -> dict[str, dict[str, float]]:
    """The accuracy gaps (:func:`threshold_gaps`) a *perfectly calibrated* detector shows on these videos.

    Labels are drawn as in consistency resampling (each video FAKE with its own probability), so the
    probabilities are the truth and ``threshold`` = 0.5 is the best rule there is; what remains is
    chance. On a finite test set the stored threshold still scores below a raw 0.5 now and then
    (where the two disagree on a few videos near 0.5), and the test set's best threshold, which
    looks at the answers, still leads. The same videos, drawn independently: a test set of few
    people scatters more (:func:`ece_of_people_drawn`).

    Returns:
        For ``stored_minus_raw``: ``{"mean", "p05", "below_0"}`` (the share of draws below 0); for
        ``oracle_minus_stored``: ``{"mean", "p95", "over_0.02"}``.

    Example: two videos at probability 0.6 with raw scores 0.4: the stored rule calls both FAKE, a raw
    0.5 both REAL, and with k ~ Binomial(2, 0.6) FAKE the gap is k - 1: it averages 0.2 and is
    below 0 when k = 0, with probability 0.4 ** 2 = 0.16.
    """
    p, label_sets = labels_drawn(probabilities, draws, seed)
    gaps = threshold_gaps(label_sets, p, raw_scores, threshold, raw_threshold)
    shift, lead = gaps["stored_minus_raw"], gaps["oracle_minus_stored"]
    return {"stored_minus_raw": {"mean": float(shift.mean()), "p05": float(np.percentile(shift, 5)),
                                 "below_0": float((shift < 0).mean())},
            "oracle_minus_stored": {"mean": float(lead.mean()), "p95": float(np.percentile(lead, 95)),
                                    "over_0.02": float((lead > 0.02).mean())}}


def bars_if_calibrated(probabilities: Sequence[float], raw_scores: Sequence[float], gap_bar: float = 0.02,
                       ece_bar: float = 0.05, draws: int = 1000, seed: int = 0) -> dict[str, float]:
    """How often a *perfectly calibrated* detector misses each of three bars on these videos.

    The bars (issue 17's): accuracy at the stored 0.5 not below accuracy at a raw 0.5
    (``below_raw``), within ``gap_bar`` of the test set's best threshold (``from_oracle``), and an
    ECE of at most ``ece_bar`` (``ece``); ``any``: at least one missed. Labels are drawn as in
    :func:`gaps_if_calibrated`, the same videos each time (so the chance is that of this test set;
    its people scatter it more, so these are lower bounds).

    Example: two videos at probability 0.6 with raw scores 0.4 share one ECE bin; with k of them
    FAKE its share of FAKE is k / 2 and the ECE |k / 2 - 0.6| is 0.6, 0.1 or 0.4: over 0.05 always.
    Below a raw 0.5 and over 0.02 from the oracle both happen when k = 0 (0.16, as in
    :func:`gaps_if_calibrated`).
    """
    p, label_sets = labels_drawn(probabilities, draws, seed)
    gaps = threshold_gaps(label_sets, p, raw_scores)
    missed = np.stack([gaps["stored_minus_raw"] < 0, gaps["oracle_minus_stored"] > gap_bar,
                       np.array([expected_calibration_error(labels, p) > ece_bar for labels in label_sets])], axis=1)
    rates = missed.mean(axis=0)
    return {"below_raw": float(rates[0]), "from_oracle": float(rates[1]), "ece": float(rates[2]),
            "any": float(missed.any(axis=1).mean())}


def ece_of_people_drawn(labels: Sequence[int], probabilities: Sequence[float], groups: Sequence,
                        n_people: int, n_bins: int = ECE_BINS, draws: int = 1000, seed: int = 0) -> np.ndarray:
    """The ECE of ``draws`` test sets of ``n_people`` people, each drawn at random (without replacement)
    from the people in ``groups``, with all their videos: shape (draws,).

    :func:`ece_if_calibrated` treats videos as independent. They are not: a detector's scores follow
    the person (the CNNs' false alarms on real videos do), so a test set of few people scatters more.
    Drawn from a large set of people on which a detector *is* calibrated (its ECE over all of them
    at its floor), these are the ECEs that detector shows on a test set of ``n_people``: the floor
    that counts both the videos and the people. Example: people A, B, C with one video each, FAKE
    at 0.9, REAL at 0.1 and REAL at 0.9, and n_people = 2: the three pairs have ECEs 0.1 (A, B),
    0.4 (A, C; one bin at 0.9 with share of FAKE 0.5) and 0.5 (B, C: (0.1 + 0.9) / 2).
    """
    y = np.asarray(labels)
    p = np.asarray(probabilities, dtype=np.float64)
    g = np.asarray(groups)
    people = np.unique(g)
    if not 1 <= n_people <= people.size:
        raise CourseError(f"cannot draw {n_people} people from {people.size}")
    rng = np.random.default_rng(seed)
    errors = np.empty(draws)
    for k in range(draws):
        chosen = np.isin(g, rng.choice(people, n_people, replace=False))
        errors[k] = expected_calibration_error(y[chosen], p[chosen], n_bins)
    return errors


def accuracy_at(labels: Sequence[int], scores: Sequence[float], threshold: float) -> float:
    """Share of videos called right when FAKE means ``score >= threshold``."""
    y, s = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    return float(np.mean((s >= threshold).astype(int) == y))


def best_threshold(labels: Sequence[int], scores: Sequence[float]) -> tuple[float, float]:
    """``(threshold, accuracy)`` of the best threshold *for these labels* (an oracle: it looks at the
    answers, so it is unobtainable in practice; it shows how much the stored threshold gives away)."""
    s = np.asarray(scores, dtype=np.float64)
    candidates = np.unique(np.concatenate([s, [np.inf]]))
    accuracies = [accuracy_at(labels, s, t) for t in candidates]
    best = int(np.argmax(accuracies))
    return float(candidates[best]), float(accuracies[best])


def calibration_report(labels: Sequence[int], raw_scores: Sequence[float], calibration: Calibration | None,
                       threshold: float) -> dict[str, Any]:
    """Video-level calibration and threshold figures for ``metrics.json``.

    Args:
        labels, raw_scores: per test video.
        calibration: the checkpoint's (``None`` for a checkpoint without one: raw scores are used).
        threshold: the stored threshold, on calibrated probabilities when there is a calibration.
    """
    probabilities = calibration.apply_all(raw_scores) if calibration else np.asarray(raw_scores, dtype=np.float64)
    best_t, best_accuracy = best_threshold(labels, probabilities)
    return {
        "calibrated": calibration is not None,
        "calibration": calibration.to_dict() if calibration else None,
        "brier_raw": brier_score(labels, raw_scores),
        "brier": brier_score(labels, probabilities),
        "ece_raw": expected_calibration_error(labels, raw_scores),
        "ece": expected_calibration_error(labels, probabilities),
        "ece_if_calibrated": ece_if_calibrated(probabilities),
        "threshold": float(threshold),
        "accuracy_at_threshold": accuracy_at(labels, probabilities, threshold),
        "accuracy_at_raw_0.5": accuracy_at(labels, raw_scores, 0.5),
        "best_threshold_oracle": best_t,
        "accuracy_at_best_threshold_oracle": best_accuracy,
        "gaps_if_calibrated": gaps_if_calibrated(probabilities, raw_scores, threshold) if calibration else None,
        "reliability": reliability_bins(labels, probabilities),
    }


def plot_reliability(report: dict[str, Any], path: str | Path, title: str = "Reliability (videos)") -> Path:
    """Save a reliability diagram (share of FAKE against mean probability per bin, the diagonal as the
    ideal) from :func:`calibration_report`'s ``reliability`` bins."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from common.metrics import save_figure

    figure, axis = plt.subplots(figsize=(4.5, 4.5))
    axis.plot([0, 1], [0, 1], "--", color="grey", label="perfectly calibrated")
    bins = report["reliability"]
    axis.plot([b["confidence"] for b in bins], [b["fake_rate"] for b in bins], "o-", color="tab:blue",
              label=f"detector (ECE {report['ece']:.3f})")
    for b in bins:
        axis.annotate(str(b["count"]), (b["confidence"], b["fake_rate"]), textcoords="offset points", xytext=(4, -10),
                      fontsize=7)
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1)
    axis.set_xlabel("mean P(FAKE) in the bin")
    axis.set_ylabel("share of FAKE videos in the bin")
    axis.set_title(title)
    axis.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    return save_figure(figure, path)


def checkpoint_calibration(checkpoint: Any) -> Calibration | None:
    """The Platt scaling (plain or two-sided) ``train.py`` stored in a checkpoint, or ``None`` (checkpoints written before it)."""
    stored = checkpoint.extra.get("calibration")
    return Calibration.from_dict(stored) if stored else None
