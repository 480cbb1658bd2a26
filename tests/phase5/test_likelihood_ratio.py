"""Task 5.15: one detector's log-likelihood ratio of one kind of fake against real videos.

Oracles: scikit-learn's logistic regression (the fit) minus the prior log-odds worked by hand, and
the true log-likelihood ratio of two Gaussians, 2 x - 2 for N(2, 1) against N(0, 1), which does not
depend on how many videos of each class the set holds.
"""
import math

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from phase5_advanced_methods import template_late_fusion as fusion
from tests.tolerances import LLR_GAUSSIAN_ATOL

pytestmark = pytest.mark.task("5.15")


def draws(n_real, n_fake, seed, fake_mean=2.0):
    rng = np.random.default_rng(seed)
    return np.r_[rng.normal(0, 1, n_real), rng.normal(fake_mean, 1, n_fake)], np.r_[np.zeros(n_real), np.ones(n_fake)]


@pytest.mark.parametrize("c", [1.0, 0.05])
def test_the_ratio_is_scikit_learns_logistic_regression_minus_the_prior_log_odds(c):
    x, is_fake = draws(40, 10, seed=0, fake_mean=1.5)
    reference = LogisticRegression(C=c).fit(x[:, None], is_fake)
    slope, offset = fusion.fit_log_likelihood_ratio(x, is_fake, c)
    assert isinstance(slope, float) and isinstance(offset, float)
    assert slope == pytest.approx(reference.coef_[0, 0], rel=1e-6)
    # Bayes: posterior log-odds = prior log-odds + log-likelihood ratio; the prior here is log(10 / 40)
    assert offset == pytest.approx(reference.intercept_[0] - math.log(10 / 40), rel=1e-6)


@pytest.mark.parametrize("n_real, n_fake", [(2000, 500), (600, 1800)])
def test_the_ratio_of_two_gaussians_is_recovered_whatever_the_class_balance(n_real, n_fake):
    """log N(x; 2, 1) - log N(x; 0, 1) = 2 x - 2: a likelihood ratio, not a posterior, so the share of
    fakes in the set must not move it."""
    x, is_fake = draws(n_real, n_fake, seed=1)
    slope, offset = fusion.fit_log_likelihood_ratio(x, is_fake, 1.0)
    assert slope == pytest.approx(2.0, abs=LLR_GAUSSIAN_ATOL)
    assert offset == pytest.approx(-2.0, abs=LLR_GAUSSIAN_ATOL)


def test_a_detector_that_scores_the_kind_lower_than_real_videos_says_nothing_about_it():
    x, is_fake = draws(40, 10, seed=2, fake_mean=-2.0)  # "confidently wrong" on these fakes
    assert fusion.fit_log_likelihood_ratio(x, is_fake, 1.0) == (0.0, 0.0)
    assert fusion.fit_log_likelihood_ratio(np.zeros(8), np.r_[np.zeros(4), np.ones(4)], 1.0) == (0.0, 0.0), \
        "scores that do not separate at all: slope 0, no information"

