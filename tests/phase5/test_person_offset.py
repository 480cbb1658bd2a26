"""Task 5.17: how much of a detector's score is the person (a one-way random-effects model), and a
person's offset read from known-real reference footage, shrunk by how far a few videos can be trusted.

Oracles: the variance components and offsets worked by hand; scipy's one-way ANOVA (f_oneway's F is
the between-person mean square over the within-person one, so (n0 * between + within) / within must
equal it); the truth of a simulated random-effects model (between 4, within 1); and, for the offset,
the regression of the *true* person offsets on the references' mean, whose slope is the shrinkage that
Gaussian conditioning predicts (E[u | mean] = n b / (n b + w) * (mean - mu)).
"""
import numpy as np
import pytest
from scipy.stats import f_oneway

from phase5_advanced_methods import template_late_fusion as fusion
from tests.tolerances import (PERSON_BETWEEN_ATOL, PERSON_MU_ATOL, PERSON_SHRINKAGE_SLOPE_ATOL,
                              PERSON_WITHIN_ATOL)

pytestmark = pytest.mark.task("5.17")
nan = np.nan


def test_variance_components_worked_by_hand():
    # a at (1, 3), b at (5, 7): mu 4, within (1 + 1 + 1 + 1) / 2 = 2, MSB 16, n0 2, between (16 - 2) / 2 = 7
    mu, between, within = fusion.person_variance_components(np.array([1.0, 3.0, 5.0, 7.0]), ["a", "a", "b", "b"])
    assert (mu, between, within) == pytest.approx((4.0, 7.0, 2.0))
    assert all(isinstance(v, float) for v in (mu, between, within))


def test_videos_a_detector_could_not_score_are_left_out_and_the_people_need_not_be_sorted():
    x = np.array([5.0, 1.0, nan, 7.0, 3.0, nan])
    people = ["b", "a", "a", "b", "a", "c"]
    assert fusion.person_variance_components(x, people) == pytest.approx((4.0, 7.0, 2.0))


@pytest.mark.parametrize("sizes", [(3, 3, 3), (2, 5, 3, 4)])
def test_the_between_and_within_mean_squares_are_scipys_one_way_anova(sizes):
    rng = np.random.default_rng(len(sizes))
    groups = [rng.normal(centre, 1, size) for centre, size in zip((0.0, 3.0, -2.0, 5.0), sizes)]
    x = np.concatenate(groups)
    people = np.repeat([f"p{i}" for i in range(len(sizes))], sizes)
    mu, between, within = fusion.person_variance_components(x, people)
    n, k = len(x), len(sizes)
    n0 = (n - sum(s * s for s in sizes) / n) / (k - 1)
    assert between > 0, "these people differ: the estimate must not be clipped at 0"
    assert (n0 * between + within) / within == pytest.approx(f_oneway(*groups).statistic, rel=1e-9)
    assert mu == pytest.approx(x.mean())


def test_a_simulated_random_effects_model_is_recovered():
    rng = np.random.default_rng(0)
    offsets = rng.normal(0.0, 2.0, 400)                       # between-person variance 4
    x = 1.5 + np.repeat(offsets, 4) + rng.normal(0.0, 1.0, 1600)  # within-person variance 1
    mu, between, within = fusion.person_variance_components(x, np.repeat(np.arange(400).astype(str), 4))
    assert mu == pytest.approx(1.5, abs=PERSON_MU_ATOL)
    assert between == pytest.approx(4.0, abs=PERSON_BETWEEN_ATOL)
    assert within == pytest.approx(1.0, abs=PERSON_WITHIN_ATOL)


def test_people_who_do_not_differ_get_between_zero_never_negative():
    # the group means (1.9 and 2.1) differ less than their own noise predicts: MSB < within
    mu, between, within = fusion.person_variance_components(np.array([0.0, 3.8, 0.2, 4.0]), ["a", "a", "b", "b"])
    assert between == 0.0 and within > 0


def test_one_person_or_one_video_each_cannot_tell_the_person_from_the_video():
    x = np.array([1.0, 2.0, 4.0])
    assert fusion.person_variance_components(x, ["a", "a", "a"]) == pytest.approx((7 / 3, 0.0, np.var(x)))
    assert fusion.person_variance_components(x, ["a", "b", "c"]) == pytest.approx((7 / 3, 0.0, np.var(x)))
    assert fusion.person_variance_components(np.array([nan, nan]), ["a", "b"]) == (0.0, 0.0, 0.0)


def test_person_offset_worked_by_hand():
    offset, shrinkage = fusion.person_offset(np.array([2.0, 3.0]), 0.5, 1.0, 0.5)
    assert (offset, shrinkage) == pytest.approx((1.6, 0.8))
    assert isinstance(offset, float) and isinstance(shrinkage, float)
    # one reference is trusted less: shrinkage 1 / 1.5, offset (2 / 3) * 2
    assert fusion.person_offset(np.array([2.5]), 0.5, 1.0, 0.5) == pytest.approx((4 / 3, 2 / 3))
    # references the detector could not score do not count
    assert fusion.person_offset(np.array([2.5, nan]), 0.5, 1.0, 0.5) == pytest.approx((4 / 3, 2 / 3))


def test_no_reference_or_no_person_effect_means_no_correction_and_no_noise_means_the_full_mean():
    assert fusion.person_offset(np.array([]), 0.5, 1.0, 0.5) == (0.0, 0.0)
    assert fusion.person_offset(np.array([nan, nan]), 0.5, 1.0, 0.5) == (0.0, 0.0)
    assert fusion.person_offset(np.array([9.0, 9.0]), 0.5, 0.0, 0.5) == (0.0, 0.0), \
        "a detector whose spread is all the video's own noise must not be corrected at all"
    assert fusion.person_offset(np.array([2.0, 4.0]), 1.0, 2.0, 0.0) == pytest.approx((2.0, 1.0))
    assert fusion.person_offset(np.array([3.0]), 3.0, 0.0, 0.0) == (0.0, 0.0), \
        "a detector that gave every real video the same score: nothing to correct, and no division by zero"


@pytest.mark.parametrize("n_references", [1, 3])
def test_the_shrinkage_is_the_slope_of_the_true_offset_on_the_references_mean(n_references):
    """Gaussian conditioning: E[u | mean of n references] = n b / (n b + w) * (mean - mu). Regress the true
    offsets of many simulated people on their references' mean: the slope is the shrinkage, and the
    shrunk offset is closer to the truth than the raw mean is."""
    rng = np.random.default_rng(n_references)
    mu, between, within = 0.7, 1.5, 2.0
    truth = rng.normal(0.0, np.sqrt(between), 20000)
    references = mu + truth[:, None] + rng.normal(0.0, np.sqrt(within), (20000, n_references))
    offsets, shrinkages = zip(*(fusion.person_offset(r, mu, between, within) for r in references))
    raw = references.mean(axis=1) - mu
    slope = np.polyfit(raw, truth, 1)[0]
    assert shrinkages[0] == pytest.approx(slope, abs=PERSON_SHRINKAGE_SLOPE_ATOL)
    assert np.mean((np.array(offsets) - truth) ** 2) < np.mean((raw - truth) ** 2)
