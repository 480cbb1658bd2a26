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

This file builds the pieces; ``common/fusion.py`` fits them on the validation videos,
calibrates the result and writes the report (``multi_modal_detect.py --fit-fusion``):

* 5.15 one detector's log-likelihood ratio for one kind of fake: a one-feature logistic regression
  of that kind's fakes against the real videos, minus its prior log-odds, monotone;
* 5.16 which detector *claims* each validation fake (the kinds, when nobody names the
  manipulations), and the mixture's log-odds (a log of a sum of exponentials, computed stably);
* 5.17 a person's offset: how much of a detector's score is *who* the video shows (a random-effects
  model of the real videos), and that offset read from known-real reference footage of the person,
  shrunk by how far a few videos can be trusted. A CNN that calls some people's real videos FAKE
  (guide, "The false alarms follow the person") is corrected by subtracting it, before the fusion.

Why not a weighted sum, measured (docs/fusion_log.md, "Fusion version 5"): over 87 cross-validated people of the
10-s benchmark the mixture reaches an all-fakes AUC of 0.967 against 0.956, and FaceSwap 0.896
against 0.862. And why no fused score can beat each detector on its own manipulation (the
Neyman-Pearson lemma): docs/fusion_log.md, "Why one score cannot match every specialist".

Papers: J. Neyman, E. Pearson, "On the Problem of the Most Efficient Tests of Statistical
Hypotheses", Phil. Trans. R. Soc. A 1933; J. Kittler et al., "On Combining Classifiers", IEEE
TPAMI 1998 (the product and sum rules); D. Wolpert, "Stacked Generalization", Neural Networks 1992;
J. Platt, "Probabilistic Outputs for Support Vector Machines", 1999 (a logistic curve on a score).

Papers for 5.17: C. R. Henderson, "Best Linear Unbiased Estimation and Prediction under a Selection
Model", Biometrics 1975 (the shrunk offset); D. Cozzolino et al., "ID-Reveal: Identity-aware DeepFake
Video Detection", ICCV 2021, and S. Agarwal et al., "Protecting World Leaders Against Deep Fakes",
CVPR Workshops 2019 (reference footage of the person); S. Dong et al., "Implicit Identity Leakage: The
Stumbling Block to Improving Deepfake Detection Generalization", CVPR 2023 (why CNNs need it).

Guide: IMPLEMENTATION_GUIDE.md, phase 5 (5.15 A detector's likelihood ratio, 5.16 A mixture of
likelihood ratios, 5.17 A person's offset from reference footage) and "Late fusion and
multi_modal_detect.py".
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


# ---------------------------------------------------------------------------
# Task 5.17: a person's offset, from reference footage
# ---------------------------------------------------------------------------
def person_variance_components(log_odds: np.ndarray, people: Sequence[str]) -> tuple[float, float, float]:
    """How much of one detector's score on real videos is *who* the video shows: a one-way random-effects model.

    log_odds: (n,) one detector's log-odds on real videos, NaN where it could not run (left out);
    people: (n,) who each video shows. The model: a real video of person p scores ``mu + u_p + e``,
    with the person's offset ``u_p`` drawn with variance ``between`` and the video's own noise ``e``
    with variance ``within``. The ANOVA (method of moments) estimates, over the k people with a
    video and the n videos:

        within  = sum_p sum_i (x_pi - mean_p)^2 / (n - k)                  (pooled within-person variance)
        MSB     = sum_p n_p (mean_p - mean)^2 / (k - 1)                    (between-person mean square)
        n0      = (n - sum_p n_p^2 / n) / (k - 1)                          (n_p for equal groups)
        between = max(0, (MSB - within) / n0)

    Returns ``(mu, between, within)`` as floats, ``mu`` the mean of all the videos. Fewer than 2 people
    or no person with two videos (n <= k): nothing can be told apart, ``(mu, 0.0, variance)`` with the
    videos' variance (ddof 0), ``(0.0, 0.0, 0.0)`` without any video.

    Example: person a at (1, 3), person b at (5, 7): mu = 4; within = (1 + 1 + 1 + 1) / (4 - 2) = 2;
    MSB = (2 * 4 + 2 * 4) / 1 = 16; n0 = (4 - 8 / 4) / 1 = 2; between = (16 - 2) / 2 = 7. Most of the
    spread is who the video shows, as for the phase-1 CNNs (guide, "The false alarms follow the person").
    """
    x = np.asarray(log_odds, dtype=np.float64)
    who = np.asarray(people, dtype=object)
    ran = ~np.isnan(x)
    x, who = x[ran], who[ran]
    if len(x) == 0:
        return 0.0, 0.0, 0.0
    # BEGIN SOLUTION 5.17: group the values by person; with k people and n videos, when k < 2 or n <= k return (mean, 0.0, variance); otherwise the pooled within-person variance, the between-person mean square and n0 of the docstring, and between = max(0, (MSB - within) / n0)
    groups = [x[who == person] for person in dict.fromkeys(who.tolist())]
    n, k, mu = len(x), len(groups), float(x.mean())
    if k < 2 or n <= k:
        return mu, 0.0, float(x.var())
    within = sum(float(((g - g.mean()) ** 2).sum()) for g in groups) / (n - k)
    msb = sum(len(g) * (float(g.mean()) - mu) ** 2 for g in groups) / (k - 1)
    n0 = (n - sum(len(g) ** 2 for g in groups) / n) / (k - 1)
    return mu, max(0.0, (msb - within) / n0), within
    # END SOLUTION


def person_offset(reference_log_odds: np.ndarray, mu: float, between: float, within: float) -> tuple[float, float]:
    """A person's offset for one detector, from its log-odds on known-real reference videos of that person.

    reference_log_odds: (n,) the detector's log-odds on the references (NaN where it could not run:
    left out); mu, between, within: :func:`person_variance_components` of the same detector. The
    references' mean minus ``mu`` is the offset seen through n noisy videos; the best linear
    predictor of the true offset shrinks it toward 0 by how much of that spread is the person:

        shrinkage = n * between / (n * between + within),   offset = shrinkage * (mean - mu)

    (the "BLUP" of a random effect; Henderson 1975; the same shrinkage as James-Stein's and as
    empirical-Bayes estimates). A detector whose spread is all noise (between 0) is not corrected at
    all; one whose spread is all person (within 0) by the references' mean. No reference read: (0.0, 0.0).

    Returns ``(offset, shrinkage)`` as floats; the corrected log-odds of a video of that person is its
    log-odds minus the offset.

    Example: references at (2, 3), mu 0.5, between 1, within 0.5: n = 2, shrinkage 2 / 2.5 = 0.8,
    offset 0.8 * (2.5 - 0.5) = 1.6. One reference at 2.5: shrinkage 1 / 1.5, offset 1.333.
    """
    x = np.asarray(reference_log_odds, dtype=np.float64)
    x = x[~np.isnan(x)]
    # BEGIN SOLUTION 5.17: no reference read, or between <= 0: (0.0, 0.0); otherwise the shrinkage n * between / (n * between + within) and the offset shrinkage * (mean - mu), as floats
    if len(x) == 0 or between <= 0.0:
        return 0.0, 0.0
    shrinkage = len(x) * between / (len(x) * between + within)
    return float(shrinkage * (x.mean() - mu)), float(shrinkage)
    # END SOLUTION
