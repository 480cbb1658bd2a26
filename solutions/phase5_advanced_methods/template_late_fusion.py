"""Late fusion: one verdict from detectors that each see one kind of fake.

Idea. Every phase built a detector that reads one trace: a CNN the smooth face of a swap, a clip
model the flicker, the spectrum the upsampling grid, the pulse a missing heartbeat. Each is blind
to the others' manipulations and scores those fakes as it scores a real video. How should their
scores be combined? A weighted sum (a logistic regression on all the scores) answers the wrong
question: it treats every detector as evidence of the *same* thing and so adds every detector's
false alarms to every real video, while a fake carries the evidence of the one or two detectors that
can see it. A fake is one *kind* of fake, and the Bayes-optimal score for "one of several kinds,
or real?" is a mixture:

    P(FAKE | x) / P(REAL | x) = sum_f  (n_f / n_real) * LR_f(x),

the prior odds of each kind ``f`` times its likelihood ratio. Read each kind's likelihood ratio
from the detectors as if they were independent given the class (naive Bayes), and it is a product:
``log LR_f(x) = sum_d llr_{d,f}(x_d)``, with ``x_d`` detector d's log-odds.

This file builds the three pieces; ``common/fusion.py`` fits them on the validation videos,
calibrates the result and writes the report (``multi_modal_detect.py --fit-fusion``):

* 5.15 one detector's log-likelihood ratio for one kind of fake: a one-feature logistic regression
  of that kind's fakes against the real videos, minus its prior log-odds, monotone;
* 5.16 which detector *claims* each validation fake (the kinds, when nobody names the
  manipulations), and the mixture's log-odds (a log of a sum of exponentials, computed stably).

Why not a weighted sum, measured (guide, "Fusion version 5"): over 87 cross-validated people of the
10-s benchmark the mixture reaches an all-fakes AUC of 0.967 against 0.956, and FaceSwap 0.896
against 0.862. And why no fused score can beat each detector on its own manipulation (the
Neyman-Pearson lemma): guide, "Why one score cannot match every specialist".

Papers: J. Neyman, E. Pearson, "On the Problem of the Most Efficient Tests of Statistical
Hypotheses", Phil. Trans. R. Soc. A 1933; J. Kittler et al., "On Combining Classifiers", IEEE
TPAMI 1998 (the product and sum rules); D. Wolpert, "Stacked Generalization", Neural Networks 1992;
J. Platt, "Probabilistic Outputs for Support Vector Machines", 1999 (a logistic curve on a score).

Guide: IMPLEMENTATION_GUIDE.md, phase 5 (5.15 A detector's likelihood ratio, 5.16 A mixture of
likelihood ratios) and "Late fusion and multi_modal_detect.py".
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy.special import logsumexp
from sklearn.linear_model import LogisticRegression


# ---------------------------------------------------------------------------
# Task 5.15: one detector's log-likelihood ratio
# ---------------------------------------------------------------------------
def fit_log_likelihood_ratio(x: np.ndarray, is_fake: np.ndarray, c: float = 1.0) -> tuple[float, float]:
    """One detector's log-likelihood ratio of one kind of fake against real: ``slope * x + offset``.

    x: (n,) the detector's log-odds on that kind's fakes and on the real videos (where it ran);
    is_fake: (n,) 1 for the kind's fakes, 0 for real videos; c: the logistic regression's inverse
    L2 strength (scikit-learn's ``C``). A logistic regression ``a x + b`` gives the *posterior*
    log-odds at this set's class balance; a likelihood ratio must not depend on how many fakes
    the set holds, so subtract the prior log-odds ``log(n_fake / n_real)``. Monotone: a detector
    that scores this kind's fakes *lower* than real videos (slope a <= 0; a spectrum can be
    "confidently wrong" about a pulse fake) says nothing about the kind: (0.0, 0.0). A set without
    a fake or without a real video: (0.0, 0.0).

    Returns (slope, offset) as floats, in log-likelihood ratio per unit of log-odds.

    Example: a fit a = 1.2, b = -0.8 on 10 fakes and 40 real videos: the prior log-odds are
    log(10 / 40) = -1.386, so (slope, offset) = (1.2, -0.8 + 1.386) = (1.2, 0.586). With real
    log-odds from N(0, 1) and fake ones from N(2, 1) the true log-likelihood ratio is
    log N(x; 2, 1) - log N(x; 0, 1) = 2 x - 2, whatever the numbers of each.
    """
    is_fake = np.asarray(is_fake, dtype=np.int64)
    n_fake, n_real = int(is_fake.sum()), int((is_fake == 0).sum())
    if n_fake == 0 or n_real == 0:
        return 0.0, 0.0
    # BEGIN SOLUTION 5.15: fit a one-feature logistic regression (scikit-learn, C=c) of is_fake on x; a slope <= 0 says nothing, (0.0, 0.0); otherwise the slope, and the intercept minus the prior log-odds of this set, as floats
    model = LogisticRegression(C=c).fit(np.asarray(x, dtype=np.float64)[:, None], is_fake)
    slope = float(model.coef_[0, 0])
    if slope <= 0.0:
        return 0.0, 0.0
    return slope, float(model.intercept_[0]) - math.log(n_fake / n_real)
    # END SOLUTION


# ---------------------------------------------------------------------------
# Task 5.16: the kinds of fake, and the mixture
# ---------------------------------------------------------------------------
def claim_fakes(table: np.ndarray, labels: Sequence[int]) -> np.ndarray:
    """Which detector claims each fake: the one whose log-odds stand out most from the real videos'.

    table: (N videos, D detectors) log-odds, NaN where a detector could not run; labels: (N,) 1
    FAKE, 0 REAL. A detector's z-score of a video is ``(x - mean) / std`` over the real videos it
    ran on (numpy's std, ddof 0; a std of 0 counts as 1); a detector that ran on fewer than 2 real
    videos claims nothing, and neither does a detector on a video it could not run on. Returns (N,)
    int64: for each fake the column of the detector with the largest z-score (the first on a tie),
    -1 for real videos and for a fake no detector can claim. The fakes one detector claims are one
    kind: on a benchmark whose manipulations each leave one trace, the kinds are the manipulations,
    and nobody has to name them (DFDC and Kaggle-style data do not).

    Example: real videos at a = (0, 2), b = (0, 0.2) (means 1 and 0.1, spreads 1 and 0.1); a fake at
    a = 3, b = 0.4 has z-scores 2 and 3, so b (column 1) claims it, though a's log-odds are larger.
    """
    table = np.asarray(table, dtype=np.float64)
    labels = np.asarray(labels)
    # BEGIN SOLUTION 5.16: a (N, D) z-score table, -inf where a detector cannot claim (fewer than 2 real videos, or NaN); the mean and std of each column over its real, non-NaN rows (std 0 counts as 1); then each fake row with a finite z-score gets the column of its largest, every other row -1
    z = np.full(table.shape, -np.inf)
    for d in range(table.shape[1]):
        real = table[(labels == 0) & ~np.isnan(table[:, d]), d]
        if len(real) < 2:
            continue
        spread = real.std() if real.std() > 0 else 1.0
        z[:, d] = np.where(np.isnan(table[:, d]), -np.inf, (table[:, d] - real.mean()) / spread)
    claims = np.full(len(labels), -1, dtype=np.int64)
    for v in np.flatnonzero(labels == 1):
        if np.isfinite(z[v]).any():
            claims[v] = int(np.argmax(z[v]))
    return claims
    # END SOLUTION


def mixture_log_odds(prior_log_odds: np.ndarray, log_likelihood_ratios: np.ndarray) -> np.ndarray:
    """The fused log-odds of FAKE: ``log sum_f exp(prior_f + log LR_f)`` per video.

    prior_log_odds: (N, F) each kind's prior log-odds against a real video, per video (a kind's
    prior may depend on the video: ``common.fusion.FakeKind.prior``); log_likelihood_ratios: (N, F)
    each kind's log-likelihood ratio per video (the sum over detectors of their 5.15 ratios).
    Returns (N,) float64. Compute it without overflow: a log-likelihood ratio of 800 is finite,
    its exponential is not (scipy's ``logsumexp``, or subtract the row maximum first).

    Example: two kinds with prior log-odds log 0.25 each and log-likelihood ratios 3 and -1 give
    log(0.25 e^3 + 0.25 e^-1) = 1.632; with ratios 800 and 0, 800 + log 0.25 = 798.614.
    """
    # BEGIN SOLUTION 5.16: the log of the sum over the kinds (axis 1) of exp(prior + ratio), in float64 and without overflow
    return logsumexp(np.asarray(prior_log_odds, dtype=np.float64) + np.asarray(log_likelihood_ratios, dtype=np.float64),
                     axis=1)
    # END SOLUTION
