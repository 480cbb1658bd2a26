"""Calibrated verdicts: Platt scaling, Brier score, expected calibration error, thresholds.

Oracles: a logistic model with known slope and intercept (Platt scaling must recover it),
scikit-learn's ``brier_score_loss``, calibration errors and thresholds worked by hand, and a
brute-force search over every threshold.
"""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss

from tests.tolerances import ECE_RESAMPLING_ATOL, GAP_RESAMPLING_ATOL, PLATT_OPTIMUM_ATOL, PLATT_RECOVERY_ATOL, TWO_SIDED_SLOPE_ATOL


def test_platt_scaling_recovers_a_known_logistic_link():
    from common.calibration import fit_platt

    rng = np.random.default_rng(0)
    z = rng.normal(0.0, 2.0, 20000)
    labels = (rng.random(20000) < 1 / (1 + np.exp(-(2.0 * z - 1.0)))).astype(int)
    fitted = fit_platt(1 / (1 + np.exp(-z)), labels)
    assert fitted.a == pytest.approx(2.0, abs=PLATT_RECOVERY_ATOL) and fitted.b == pytest.approx(-1.0, abs=PLATT_RECOVERY_ATOL)


def test_platt_targets_worked_by_hand():
    from common.calibration import platt_targets

    # 3 FAKE, 2 REAL: (3 + 1) / (3 + 2) = 0.8 and 1 / (2 + 2) = 0.25
    assert platt_targets([1, 0, 1, 1, 0]).tolist() == [0.8, 0.25, 0.8, 0.8, 0.25]


def test_platt_scaling_of_perfectly_separated_videos_is_the_soft_target_optimum():
    """Separated validation videos: a hard-target fit has no optimum (the slope runs off); with Platt's
    targets it is finite. Oracle: scipy's minimiser of the cross-entropy against those targets, written
    out here independently."""
    from scipy.optimize import minimize

    from common.calibration import fit_platt

    scores = np.array([0.05, 0.1, 0.2, 0.3, 0.35, 0.6, 0.7, 0.8, 0.9])
    labels = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1])
    targets = np.where(labels == 1, (4 + 1) / (4 + 2), 1 / (5 + 2))
    z = np.log(scores / (1 - scores))

    def cross_entropy(ab):
        p = 1 / (1 + np.exp(-(ab[0] * z + ab[1])))
        return -np.sum(targets * np.log(p) + (1 - targets) * np.log(1 - p))

    oracle = minimize(cross_entropy, x0=[1.0, 0.0], method="Nelder-Mead",
                      options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000}).x
    fitted = fit_platt(scores, labels)
    assert fitted.a == pytest.approx(oracle[0], abs=PLATT_OPTIMUM_ATOL)
    assert fitted.b == pytest.approx(oracle[1], abs=PLATT_OPTIMUM_ATOL)
    assert fitted.apply(0.9) < 1 - 1e-3 and fitted.apply(0.05) > 1e-3, "finite: no certainty from 9 videos"


def test_the_raw_threshold_is_where_the_calibrated_probability_is_one_half():
    from common.calibration import Calibration

    calibration = Calibration(1.7, 0.4, 36)
    assert calibration.apply(calibration.raw_threshold()) == pytest.approx(0.5, abs=1e-9)
    assert calibration.raw_threshold() == pytest.approx(1 / (1 + np.exp(0.4 / 1.7)))  # sigmoid(-b / a)


def test_brier_score_equals_scikit_learns():
    from common.calibration import brier_score

    labels, probabilities = [0, 1, 1, 0, 1], [0.1, 0.8, 0.4, 0.35, 0.99]
    assert brier_score(labels, probabilities) == pytest.approx(brier_score_loss(labels, probabilities))


def test_expected_calibration_error_worked_by_hand():
    from common.calibration import expected_calibration_error

    # bin [0.9, 1.0]: confidence 0.9, one FAKE of two -> gap 0.4, weight 2/4
    # bin [0.1, 0.2): confidence 0.1, no FAKE of two  -> gap 0.1, weight 2/4
    assert expected_calibration_error([1, 0, 0, 0], [0.9, 0.9, 0.1, 0.1]) == pytest.approx(0.5 * 0.4 + 0.5 * 0.1)
    assert expected_calibration_error([1, 0], [1.0, 0.0]) == 0.0, "1.0 belongs to the last bin, 0.0 to the first"


def test_best_threshold_matches_a_brute_force_search():
    from common.calibration import accuracy_at, best_threshold

    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 60)
    scores = np.clip(0.3 * labels + rng.normal(0.35, 0.2, 60), 0, 1)
    brute = max(np.mean((scores >= t).astype(int) == labels) for t in np.concatenate([scores, [2.0]]))
    threshold, accuracy = best_threshold(labels, scores)
    assert accuracy == pytest.approx(brute) and accuracy_at(labels, scores, threshold) == pytest.approx(brute)


def test_platt_scaling_refuses_a_single_class():
    from common.calibration import fit_platt

    with pytest.raises(ValueError, match="both classes"):
        fit_platt([0.2, 0.3], [1, 1])


def test_a_steep_calibration_from_two_close_validation_scores_does_not_overflow():
    """Two validation videos with nearly equal scores give a very steep (but finite) Platt curve;
    applying it far from them must give 0 or 1, not an overflow."""
    from common.calibration import Calibration

    steep = Calibration(45052.1, -5654.3, 2)
    assert steep.apply(0.9) == pytest.approx(1.0) and steep.apply(0.1) == pytest.approx(0.0)
    assert steep.apply_all([0.1, 0.9]).tolist() == pytest.approx([0.0, 1.0])
    assert 0.0 < steep.raw_threshold() < 1.0


def test_ece_of_a_perfectly_calibrated_detector_matches_the_binomial_expectation():
    """Consistency resampling: all videos at 0.5 share one bin whose share of FAKE is k / n,
    k ~ Binomial(n, 0.5), so the expected ECE is sum_k pmf(k) |k / n - 0.5| (scipy's binomial)."""
    from scipy.stats import binom

    from common.calibration import ece_if_calibrated

    n = 10
    expected = sum(binom.pmf(k, n, 0.5) * abs(k / n - 0.5) for k in range(n + 1))
    result = ece_if_calibrated([0.5] * n, draws=4000, seed=0)
    assert result["mean"] == pytest.approx(expected, abs=ECE_RESAMPLING_ATOL)
    assert expected <= result["p95"] <= 0.5


def test_a_certain_detector_has_no_sampling_ece_and_more_videos_mean_less():
    from common.calibration import ece_if_calibrated

    assert ece_if_calibrated([0.0, 1.0, 1.0, 0.0]) == {"mean": 0.0, "p95": 0.0}, "labels drawn from 0 and 1 are certain"
    spread = np.linspace(0.02, 0.98, 100)
    few, many = ece_if_calibrated(spread), ece_if_calibrated(np.tile(spread, 10))
    assert many["mean"] < few["mean"] / 2, "the sampling ECE shrinks about as 1 / sqrt(n)"


def test_ece_of_people_drawn_worked_by_hand():
    """Three people, one video each (FAKE at 0.9, REAL at 0.1, REAL at 0.9), two drawn at a time: the
    three pairs' ECEs are 0.1, 0.4 and 0.5 (the function's docstring), and 300 draws meet each."""
    from common.calibration import ece_of_people_drawn

    errors = ece_of_people_drawn([1, 0, 0], [0.9, 0.1, 0.9], ["A", "B", "C"], n_people=2, draws=300)
    assert errors.shape == (300,)
    assert sorted({round(float(e), 9) for e in errors}) == [0.1, 0.4, 0.5]


def test_ece_of_people_drawn_keeps_each_persons_videos_together():
    """Brute force: every draw of 3 of 6 people is one of the 20 subsets, with all of their videos and
    none of anyone else's (its ECE equals that subset's, computed from scratch), and 2000 draws meet all
    20; drawing all 6 people gives the ECE of the whole set every time."""
    from itertools import combinations

    from common.calibration import ece_of_people_drawn, expected_calibration_error

    rng = np.random.default_rng(3)
    groups = np.repeat(list("abcdef"), [2, 5, 1, 4, 3, 6])
    labels = rng.integers(0, 2, groups.size)
    probabilities = rng.random(groups.size)

    def ece_of(people):
        chosen = np.isin(groups, people)
        return round(expected_calibration_error(labels[chosen], probabilities[chosen]), 9)

    subsets = {ece_of(list(people)) for people in combinations("abcdef", 3)}
    drawn = {round(float(e), 9) for e in ece_of_people_drawn(labels, probabilities, groups, 3, draws=2000)}
    assert drawn == subsets
    whole = ece_of_people_drawn(labels, probabilities, groups, 6, draws=5)
    assert whole.tolist() == pytest.approx([expected_calibration_error(labels, probabilities)] * 5)


def test_threshold_gaps_match_a_brute_force_search_over_every_threshold():
    """Oracle: accuracy_at and best_threshold (a loop over every distinct score and infinity), row by
    row, on scores with ties (rounded to 0.1) so that the sorted cumulative sums must treat a tied
    value as one candidate."""
    from common.calibration import accuracy_at, best_threshold, threshold_gaps

    rng = np.random.default_rng(5)
    probabilities, raw = np.round(rng.random(40), 1), rng.random(40)
    label_sets = rng.integers(0, 2, (30, 40))
    gaps = threshold_gaps(label_sets, probabilities, raw, threshold=0.5, raw_threshold=0.35)
    for row, labels in enumerate(label_sets):
        stored = accuracy_at(labels, probabilities, 0.5)
        assert gaps["stored_minus_raw"][row] == pytest.approx(stored - accuracy_at(labels, raw, 0.35))
        assert gaps["oracle_minus_stored"][row] == pytest.approx(best_threshold(labels, probabilities)[1] - stored)


def test_gaps_of_a_perfectly_calibrated_detector_worked_by_hand():
    """Two videos at probability 0.6 with raw scores 0.4: the stored 0.5 calls both FAKE, a raw 0.5
    both REAL; with k ~ Binomial(2, 0.6) FAKE the gap is k - 1, mean 2 * 0.6 - 1 = 0.2, below 0 only
    when k = 0 (0.4 ** 2 = 0.16). The best threshold leads only then too (calling both REAL)."""
    from common.calibration import gaps_if_calibrated

    result = gaps_if_calibrated([0.6, 0.6], [0.4, 0.4], draws=4000, seed=0)
    assert result["stored_minus_raw"]["mean"] == pytest.approx(0.2, abs=GAP_RESAMPLING_ATOL)
    assert result["stored_minus_raw"]["below_0"] == pytest.approx(0.16, abs=GAP_RESAMPLING_ATOL)
    assert result["oracle_minus_stored"]["over_0.02"] == pytest.approx(0.16, abs=GAP_RESAMPLING_ATOL)
    certain = gaps_if_calibrated([0.0, 1.0, 1.0], [0.1, 0.9, 0.2])
    assert certain["stored_minus_raw"] == {"mean": pytest.approx(1 / 3), "p05": pytest.approx(1 / 3), "below_0": 0.0}
    assert certain["oracle_minus_stored"]["p95"] == 0.0, "labels drawn from 0 and 1 leave the oracle nothing"


def test_bars_missed_by_a_perfectly_calibrated_detector_match_an_exact_enumeration():
    """Oracle: every set of labels the detector's own probabilities allow (the videos at 0 and 1 are
    certain; the 2^4 sets of the other four), each weighted by its probability, the bars read with
    accuracy_at, best_threshold and expected_calibration_error: the exact chance of each miss, which
    20000 draws must meet. Twelve certain videos let the ECE fall either side of 0.05."""
    from itertools import product

    from common.calibration import accuracy_at, bars_if_calibrated, best_threshold, expected_calibration_error

    uncertain = np.array([0.1, 0.9, 0.6, 0.97])
    probabilities = np.concatenate([[0.0] * 6, [1.0] * 6, uncertain])
    raw = np.concatenate([[0.1] * 6, [0.9] * 6, [0.2, 0.8, 0.45, 0.9]])
    exact = dict.fromkeys(("below_raw", "from_oracle", "ece", "any"), 0.0)
    for labels in product([0, 1], repeat=uncertain.size):
        drawn = np.array(labels)
        weight = float(np.prod(np.where(drawn == 1, uncertain, 1 - uncertain)))
        y = np.concatenate([[0] * 6, [1] * 6, drawn])
        stored = accuracy_at(y, probabilities, 0.5)
        missed = {"below_raw": stored < accuracy_at(y, raw, 0.5),
                  "from_oracle": best_threshold(y, probabilities)[1] - stored > 0.02,
                  "ece": expected_calibration_error(y, probabilities) > 0.05}
        missed["any"] = any(missed.values())
        for bar, miss in missed.items():
            exact[bar] += weight * miss
    assert bars_if_calibrated(probabilities, raw, draws=20000, seed=1) == pytest.approx(exact, abs=GAP_RESAMPLING_ATOL / 3)
    assert 0 < exact["below_raw"] < exact["ece"] < 1, "the example must exercise the bars"


@pytest.mark.parametrize("n_people", [0, 4])
def test_ece_of_people_drawn_refuses_more_people_than_there_are(n_people):
    from common.calibration import ece_of_people_drawn
    from common.errors import CourseError

    with pytest.raises(CourseError, match=f"cannot draw {n_people} people from 3"):
        ece_of_people_drawn([1, 0, 0], [0.9, 0.1, 0.9], ["A", "B", "C"], n_people)


# --- two-sided Platt scaling: a knot and a slope on each side; the knot moves only when the people agree


def _soft_logistic_slope(x, targets):
    """Oracle: scikit-learn's logistic regression without intercept on x against soft targets (each video
    twice, as FAKE with weight t and as REAL with weight 1 - t)."""
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(x, dtype=np.float64).reshape(-1, 1)
    model = LogisticRegression(C=np.inf, fit_intercept=False, tol=1e-12, max_iter=10000).fit(
        np.vstack([x, x]), np.r_[np.ones(len(x)), np.zeros(len(x))], sample_weight=np.r_[targets, 1 - targets])
    return float(model.coef_[0, 0])


def test_each_sides_slope_is_scikit_learns_fit_of_that_sides_videos():
    from common.calibration import platt_targets, side_slopes

    rng = np.random.default_rng(1)
    labels = np.r_[np.zeros(30, int), np.ones(20, int)]
    z = np.r_[rng.normal(-2.0, 2.0, 30), rng.normal(1.5, 2.5, 20)]
    targets = platt_targets(labels)
    above, below, _ = side_slopes(z, targets, np.array([-0.5, 0.0, 0.7]))
    for k, knot in enumerate([-0.5, 0.0, 0.7]):
        x = z - knot
        assert above[k] == pytest.approx(_soft_logistic_slope(x[x >= 0], targets[x >= 0]), abs=TWO_SIDED_SLOPE_ATOL)
        assert below[k] == pytest.approx(_soft_logistic_slope(x[x < 0], targets[x < 0]), abs=TWO_SIDED_SLOPE_ATOL)


def test_one_videos_slope_worked_by_hand():
    from common.calibration import side_slopes

    # one FAKE video at z = 2 with target 0.8 above the knot 0: sigmoid(2a) = 0.8, so a = ln(4) / 2
    above, below, _ = side_slopes(np.array([2.0]), np.array([0.8]), np.array([0.0]))
    assert above[0] == pytest.approx(np.log(4) / 2, abs=1e-9) and below[0] == 1.0, "no video below: slope 1"


def test_the_best_knot_matches_a_brute_force_search_of_the_cross_entropy():
    """Oracle: for every knot on the fine grid, each side's slope from scipy's scalar minimiser of the
    cross-entropy written out here; the knot of least total cross-entropy."""
    from scipy.optimize import minimize_scalar

    from common.calibration import KNOT_STEP, best_knot, platt_targets

    rng = np.random.default_rng(2)
    labels = np.r_[np.zeros(25, int), np.ones(25, int)]
    z = np.r_[rng.normal(-1.0, 1.5, 25), rng.normal(3.0, 1.0, 25)]
    targets = platt_targets(labels)

    def side(x, t):
        if x.size == 0:
            return 0.0
        loss = lambda a: -np.sum(t * np.log(1 / (1 + np.exp(-a * x))) + (1 - t) * np.log(1 / (1 + np.exp(a * x))))
        return minimize_scalar(loss, bounds=(1e-4, 100), method="bounded", options={"xatol": 1e-10}).fun

    grid = np.round(np.arange(np.floor(z.min() / KNOT_STEP), np.ceil(z.max() / KNOT_STEP) + 1) * KNOT_STEP, 10)
    losses = [side(z[z >= g] - g, targets[z >= g]) + side(z[z < g] - g, targets[z < g]) for g in grid]
    knot, above, below = best_knot(z, targets)
    assert knot == pytest.approx(grid[int(np.argmin(losses))], abs=1e-9)
    assert above == pytest.approx(_soft_logistic_slope(z[z >= knot] - knot, targets[z >= knot]), abs=TWO_SIDED_SLOPE_ATOL)


def _people(rng, shift, people=12, per=4):
    """``per`` real videos at logit ~ N(-3 + shift, 1.5) and ``per`` fakes at N(3 + shift, 1.5) per person."""
    z, labels, groups = [], [], []
    for person in range(people):
        z += list(rng.normal(-3 + shift, 1.5, per)) + list(rng.normal(3 + shift, 1.5, per))
        labels += [0] * per + [1] * per
        groups += [person] * (2 * per)
    return 1 / (1 + np.exp(-np.array(z))), np.array(labels), np.array(groups)


def test_an_unshifted_detector_keeps_a_raw_half_as_its_threshold():
    from common.calibration import fit_two_sided

    scores, labels, people = _people(np.random.default_rng(3), shift=0.0)
    calibration = fit_two_sided(scores, labels, people)
    assert not calibration.knot_test["moved"] and calibration.knot == 0.0
    low, high = calibration.knot_test["interval"]
    assert low < 0 < high and calibration.knot_test["people"] == 12
    probe = np.linspace(0.01, 0.99, 99)
    np.testing.assert_array_equal(calibration.apply_all(probe) >= 0.5, probe >= 0.5)  # a raw 0.5's verdicts


def test_a_threshold_that_every_person_moves_is_moved():
    from common.calibration import fit_two_sided, logit

    scores, labels, people = _people(np.random.default_rng(3), shift=2.5)
    calibration = fit_two_sided(scores, labels, people)
    low, high = calibration.knot_test["interval"]
    assert calibration.knot_test["moved"] and 0 < low <= calibration.knot <= high
    assert calibration.apply(float(1 / (1 + np.exp(-calibration.knot)))) == pytest.approx(0.5, abs=1e-9)
    # the verdict flips at the knot, and the probability rises on both sides of it
    assert calibration.raw_threshold() == pytest.approx(1 / (1 + np.exp(-calibration.knot)))
    assert np.all(np.diff(calibration.apply_all(np.linspace(0.01, 0.99, 99))) > 0)
    assert logit([calibration.raw_threshold()])[0] > 1.0


def test_one_persons_false_alarms_do_not_move_the_threshold_but_counted_as_videos_they_would():
    """The point of counting people: 30 real videos of one person at logit +1 (a CNN's false alarms
    follow the person) look like a moved threshold to a test that counts videos, not to one that
    resamples people."""
    from common.calibration import fit_two_sided

    scores, labels, people = _people(np.random.default_rng(4), shift=0.0, people=11, per=3)
    scores = np.r_[scores, np.full(30, 1 / (1 + np.exp(-1.0)))]
    labels, people = np.r_[labels, np.zeros(30, int)], np.r_[people, np.full(30, 99)]
    assert not fit_two_sided(scores, labels, people).knot_test["moved"]
    by_video = fit_two_sided(scores, labels, None)
    assert by_video.knot_test["moved"] and by_video.knot > 0.5 and by_video.knot_test["people"] == len(labels)


def test_one_persons_videos_cannot_move_the_threshold():
    """One validation person, shifted by +2.5 in logit: every resample of one person is that person,
    so a bootstrap interval would have zero width and exclude 0 by construction. Too few people to
    test: the knot stays at a raw 0.5, and the summary says why. Five shifted people are enough."""
    from common.calibration import KNOT_MIN_PEOPLE, fit_two_sided

    scores, labels, _ = _people(np.random.default_rng(3), shift=2.5, people=1, per=20)
    calibration = fit_two_sided(scores, labels, np.zeros(len(labels), int))
    assert calibration.knot == 0.0 and not calibration.knot_test["moved"]
    assert calibration.knot_test["interval"] is None and calibration.knot_test["people"] == 1
    assert f"fewer than the {KNOT_MIN_PEOPLE} its test needs" in calibration.describe()
    scores, labels, people = _people(np.random.default_rng(3), shift=2.5, people=KNOT_MIN_PEOPLE, per=4)
    assert fit_two_sided(scores, labels, people).knot_test["moved"]


def test_two_sided_calibration_round_trips_and_inverts_on_each_side():
    from common.calibration import Calibration

    calibration = Calibration(2.0, -1.0, 36, "mean", a_below=0.5,
                              knot_test={"interval": [0.2, 0.9], "moved": True, "people": 12, "draws": 200})
    stored = calibration.to_dict()
    assert stored["method"] == "two_sided_platt" and stored["knot"] == pytest.approx(0.5)
    assert Calibration.from_dict(stored) == calibration
    # worked by hand: knot 0.5; a raw 0.5 (logit 0) lies below it: sigmoid(0.5 * (0 - 0.5)) = 0.438
    assert calibration.apply(0.5) == pytest.approx(1 / (1 + np.exp(0.25)))
    for probability in (0.2, 0.5, 0.8):
        assert calibration.apply(calibration.raw_threshold(probability)) == pytest.approx(probability, abs=1e-9)
    assert Calibration.from_dict(Calibration(2.0, -1.0, 36).to_dict()).a_below is None, "plain Platt still loads"


def test_fit_calibration_fits_the_named_method_and_refuses_others():
    """``train.py --calibration``: Platt scaling by default (one line, no knot test), two-sided on
    request (the knot moved here, as every person is shifted by +2.5 in logit)."""
    from common.calibration import DEFAULT_CALIBRATION, fit_calibration, fit_platt

    scores, labels, people = _people(np.random.default_rng(3), shift=2.5)
    platt = fit_calibration(scores, labels, people)
    assert DEFAULT_CALIBRATION == "platt" and platt.method == "platt" and platt.a_below is None
    assert (platt.a, platt.b) == pytest.approx((fit_platt(scores, labels).a, fit_platt(scores, labels).b))
    two = fit_calibration(scores, labels, people, method="two-sided")
    assert two.method == "two-sided" and two.knot_test["moved"] and two.to_dict()["method"] == "two_sided_platt"
    with pytest.raises(ValueError, match="unknown calibration"):
        fit_calibration(scores, labels, people, method="isotonic")
