"""Task 5.16: the kinds of fake (each claimed by the detector it surprises most) and the mixture of
their likelihood ratios.

Oracles: claims and z-scores worked by hand; scipy's logsumexp; and, through the library's fusion
(common.fusion.fit_fusion, which reads these functions and task 5.15's), the Bayes-optimal score of a
known generating process: three manipulations, each seen by one detector, whose best possible
"any fake" score is the true mixture log sum_k (1/3) exp(3 x_k - 4.5).
"""
import math

import numpy as np
import pytest
from scipy.special import expit, logsumexp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from phase5_advanced_methods import template_late_fusion as fusion
from tests.phase5.oracles import bayes_any_fake_log_odds, one_trace_each
from tests.tolerances import FUSION_BAYES_AUC_ATOL

pytestmark = pytest.mark.task("5.16")
nan = np.nan


def test_each_fake_is_claimed_by_the_detector_it_stands_out_most_for_worked_by_hand():
    # real videos: a at 0 and 2 (mean 1, spread 1), b at 0 and 0.2 (mean 0.1, spread 0.1)
    table = np.array([[0.0, 0.0], [2.0, 0.2],
                      [3.0, 0.4],      # z-scores 2 and 3: b claims it, though a's log-odds are larger
                      [5.0, 0.2],      # z-scores 4 and 1: a
                      [nan, 0.3],      # a could not run: b
                      [nan, nan]])     # nobody ran: unclaimed
    claims = fusion.claim_fakes(table, [0, 0, 1, 1, 1, 1])
    assert claims.tolist() == [-1, -1, 1, 0, 1, -1]
    assert np.issubdtype(claims.dtype, np.integer)


def test_who_may_claim_a_detector_on_too_few_real_videos_and_one_whose_real_videos_do_not_vary():
    # a ran on one real video only: it claims nothing, whatever its score; b's real videos are all 0
    # (spread counted as 1), so its z-score of the fake is the raw 0.5; c's is (0.9 - 0.5) / 0.5 = 0.8
    table = np.array([[0.0, 0.0, 0.0], [nan, 0.0, 1.0], [nan, 0.0, 0.5], [9.0, 0.5, 0.9], [9.0, 0.5, 0.64]])
    labels = [0, 0, 0, 1, 1]
    # reals of c: 0, 1, 0.5 -> mean 0.5, std 0.408; fake 1: c z = 0.98 > b 0.5; fake 2: c z = 0.343 < b 0.5
    # (had b's spread been taken as 2, its 0.25 would lose to c's 0.343)
    assert fusion.claim_fakes(table, labels).tolist() == [-1, -1, -1, 2, 1]


def test_a_tie_goes_to_the_first_detector():
    table = np.array([[0.0, 0.0], [2.0, 2.0], [3.0, 3.0]])
    assert fusion.claim_fakes(table, [0, 0, 1]).tolist() == [-1, -1, 0]


def test_the_mixture_worked_by_hand_and_against_scipy_and_without_overflow():
    priors = np.log([[0.25, 0.25], [0.25, 0.25]])
    ratios = np.array([[3.0, -1.0], [800.0, 0.0]])
    result = fusion.mixture_log_odds(priors, ratios)
    assert result.shape == (2,)
    np.testing.assert_allclose(result, [math.log(0.25 * math.e ** 3 + 0.25 * math.e ** -1), 800 + math.log(0.25)],
                               rtol=1e-12)
    rng = np.random.default_rng(0)
    priors, ratios = rng.normal(-2, 1, (50, 4)), rng.normal(0, 3, (50, 4))
    np.testing.assert_allclose(fusion.mixture_log_odds(priors, ratios), logsumexp(priors + ratios, axis=1), rtol=1e-12)
    one_kind = fusion.mixture_log_odds(priors[:, :1], ratios[:, :1])
    np.testing.assert_allclose(one_kind, priors[:, 0] + ratios[:, 0], rtol=1e-12), "one kind: prior + ratio"


def as_entries(x):
    return [[{"name": name, "kind": "frame", "architecture": f"{name}_net", "sha256": name * 64, "status": "ok",
              "video_score": float(expit(v)), "reason": None} for name, v in zip("abc", row)] for row in x]


def test_the_claims_find_the_manipulations_nobody_named():
    x, kind = one_trace_each(300, 100, seed=0)
    claims = fusion.claim_fakes(x, (kind >= 0).astype(int))
    assert np.mean(claims[kind >= 0] == kind[kind >= 0]) > 0.9


def test_the_fitted_mixture_is_as_good_as_the_bayes_optimal_score_and_a_weighted_sum_is_not():
    """Fitted through the library (common.fusion.fit_fusion reads tasks 5.15 and 5.16) on 600 validation
    videos, scored on 6000 new ones. A logistic regression on the same log-odds (one weighted sum) adds
    the false alarms of all three detectors to every real video."""
    from common.fusion import fit_fusion, log_odds_table

    validation_x, validation_kind = one_trace_each(300, 100, seed=0)
    fitted = fit_fusion(as_entries(validation_x), (validation_kind >= 0).astype(int))
    x, kind = one_trace_each(3000, 1000, seed=1)
    labels = (kind >= 0).astype(int)
    fused = fitted.raw_probability(log_odds_table(as_entries(x), list("abc")))
    bayes = bayes_any_fake_log_odds(x)
    weighted_sum = LogisticRegression().fit(validation_x, validation_kind >= 0).decision_function(x)
    assert roc_auc_score(labels, fused) == pytest.approx(roc_auc_score(labels, bayes), abs=FUSION_BAYES_AUC_ATOL)
    assert roc_auc_score(labels, fused) > roc_auc_score(labels, weighted_sum) + 0.05
    # and the lesson of the guide: on its own manipulation the specialist alone ranks better (Neyman-Pearson)
    own = kind <= 0
    assert roc_auc_score(labels[own], x[own, 0]) > roc_auc_score(labels[own], fused[own]) + 0.01
