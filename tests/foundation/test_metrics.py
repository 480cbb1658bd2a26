"""Tests of common/metrics.py against scikit-learn, brute-force counts and hand-worked values."""
from __future__ import annotations

import json

import matplotlib.image
import numpy as np
import pytest
from sklearn import metrics as skm

from common.metrics import (
    AGGREGATIONS,
    aggregate_scores,
    binary_metrics,
    confident_strategy,
    cross_table,
    equal_error_rate,
    frame_and_video_report,
    person_bootstrap,
    plot_confusion_matrix,
    plot_roc,
    plot_score_histogram,
    rank_auc,
    video_scores,
    youden_threshold,
)
from tests.tolerances import BOOTSTRAP_VS_SCIPY_ATOL, EER_BRUTE_FORCE_STEPS, EER_HAND_ATOL, METRIC_VS_SKLEARN_ATOL

pytestmark = pytest.mark.foundation


def _random_problem(seed: int, n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """Imbalanced labels and overlapping scores, with no ties."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.35).astype(int)
    scores = 1 / (1 + np.exp(-(rng.normal(size=n) + 1.2 * labels)))
    return labels, scores


def _count_rates(labels: np.ndarray, scores: np.ndarray, threshold: float) -> tuple[float, float, float]:
    """(FPR, FNR, TPR) at ``score >= threshold``, by counting."""
    called_fake = scores >= threshold
    fpr = np.sum(called_fake & (labels == 0)) / np.sum(labels == 0)
    tpr = np.sum(called_fake & (labels == 1)) / np.sum(labels == 1)
    return float(fpr), float(1 - tpr), float(tpr)


# --------------------------------------------------------------------------------------------
# binary_metrics
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
def test_binary_metrics_match_sklearn(seed, threshold):
    labels, scores = _random_problem(seed)
    predicted = (scores >= threshold).astype(int)
    got = binary_metrics(labels, scores, threshold=threshold)
    expected = {
        "accuracy": skm.accuracy_score(labels, predicted),
        "balanced_accuracy": skm.balanced_accuracy_score(labels, predicted),
        "precision": skm.precision_score(labels, predicted, zero_division=0),
        "recall": skm.recall_score(labels, predicted, zero_division=0),
        "f1": skm.f1_score(labels, predicted, zero_division=0),
        "roc_auc": skm.roc_auc_score(labels, scores),
        "average_precision": skm.average_precision_score(labels, scores),
        "log_loss": skm.log_loss(labels, scores),
        "brier": skm.brier_score_loss(labels, scores),
    }
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, abs=METRIC_VS_SKLEARN_ATOL), f"{name} differs from scikit-learn"
    assert got["confusion_matrix"] == skm.confusion_matrix(labels, predicted, labels=[0, 1]).tolist()
    assert (got["n"], got["n_fake"], got["n_real"]) == (labels.size, labels.sum(), labels.size - labels.sum())
    assert got["threshold"] == threshold


def test_binary_metrics_hand_worked_confusion_matrix_and_threshold_is_inclusive():
    # Scores at exactly the threshold are called FAKE (score >= threshold).
    labels = [0, 0, 1, 1, 1]
    scores = [0.2, 0.5, 0.5, 0.9, 0.1]
    got = binary_metrics(labels, scores, threshold=0.5)
    # predicted: 0, 1, 1, 1, 0 -> tn=1 fp=1 fn=1 tp=2
    assert got["confusion_matrix"] == [[1, 1], [1, 2]], "confusion matrix must be [[tn, fp], [fn, tp]] with >= threshold"
    assert got["accuracy"] == pytest.approx(3 / 5)
    assert got["precision"] == pytest.approx(2 / 3)
    assert got["recall"] == pytest.approx(2 / 3)


def test_binary_metrics_is_json_serialisable_with_python_types():
    labels, scores = _random_problem(3, n=50)
    got = binary_metrics(np.asarray(labels), np.asarray(scores, dtype=np.float32))
    assert json.loads(json.dumps(got)) == got, "binary_metrics must round-trip through JSON unchanged"
    for name, value in got.items():
        assert value is None or type(value) in (int, float, list), f"{name} is a {type(value).__name__}, not a Python type"


@pytest.mark.parametrize("only_label", [0, 1])
def test_binary_metrics_with_one_class_gives_none_for_ranking_metrics(only_label):
    got = binary_metrics([only_label] * 4, [0.1, 0.4, 0.6, 0.9])
    for name in ("roc_auc", "average_precision", "eer", "eer_threshold", "youden_threshold"):
        assert got[name] is None, f"{name} should be None when only one class is present"
    assert got["log_loss"] == pytest.approx(skm.log_loss([only_label] * 4, [0.1, 0.4, 0.6, 0.9], labels=[0, 1]))
    assert got["accuracy"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    "labels, scores, message",
    [
        ([0, 1, 2], [0.1, 0.2, 0.3], "labels must be 0"),
        ([0, 1], [0.1, 1.5], "probabilities"),
        ([0, 1], [0.1, float("nan")], "NaN"),
        ([0, 1, 1], [0.1, 0.2], "pair up"),
        ([], [], "empty"),
    ],
)
def test_binary_metrics_rejects_invalid_input(labels, scores, message):
    with pytest.raises(ValueError, match=message):
        binary_metrics(labels, scores)


# --------------------------------------------------------------------------------------------
# EER and Youden
# --------------------------------------------------------------------------------------------


def test_equal_error_rate_of_hand_worked_example():
    # At threshold 0.6: FAKE calls are 0.6 (a REAL), 0.7, 0.9 -> FPR = 1/3; 0.4 is missed -> FNR = 1/3.
    eer, threshold = equal_error_rate([0, 0, 0, 1, 1, 1], [0.1, 0.3, 0.6, 0.4, 0.7, 0.9])
    assert eer == pytest.approx(1 / 3, abs=EER_HAND_ATOL)
    assert threshold == pytest.approx(0.6, abs=EER_HAND_ATOL)


def test_equal_error_rate_interpolates_across_tied_scores():
    # ROC points (FPR, FNR): threshold 0.9 -> (0, 0.5); 0.6 (a REAL and a FAKE tie) -> (0.5, 0).
    # FNR - FPR goes from +0.5 to -0.5: the crossing is half-way, EER 0.25, threshold 0.75.
    eer, threshold = equal_error_rate([0, 0, 1, 1], [0.2, 0.6, 0.6, 0.9])
    assert eer == pytest.approx(0.25, abs=EER_HAND_ATOL)
    assert threshold == pytest.approx(0.75, abs=EER_HAND_ATOL)


def test_equal_error_rate_of_perfect_and_inverted_detectors():
    assert equal_error_rate([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])[0] == pytest.approx(0.0, abs=EER_HAND_ATOL)
    assert equal_error_rate([0, 0, 1, 1], [0.8, 0.9, 0.1, 0.2])[0] == pytest.approx(1.0, abs=EER_HAND_ATOL)


@pytest.mark.parametrize("seed", range(5))
def test_equal_error_rate_agrees_with_brute_force_threshold_sweep(seed):
    labels, scores = _random_problem(seed)
    eer, threshold = equal_error_rate(labels, scores)
    sweep = [_count_rates(labels, scores, t) for t in np.unique(scores)]
    brute_force = min(max(fpr, fnr) for fpr, fnr, _ in sweep)
    step = EER_BRUTE_FORCE_STEPS / min(labels.sum(), (1 - labels).sum())
    assert abs(eer - brute_force) <= step, f"EER {eer} is more than one ROC step from the brute-force {brute_force}"
    fpr, fnr, _ = _count_rates(labels, scores, threshold)
    assert abs(fpr - eer) <= step and abs(fnr - eer) <= step, "at the EER threshold FPR and FNR must both be near the EER"


@pytest.mark.parametrize("seed", range(5))
def test_youden_threshold_maximises_tpr_minus_fpr_by_brute_force(seed):
    labels, scores = _random_problem(seed)
    candidates = np.unique(scores)[::-1]  # strictest first: ties go to the higher threshold
    rates = [_count_rates(labels, scores, t) for t in candidates]
    j = [tpr - fpr for fpr, _, tpr in rates]
    assert youden_threshold(labels, scores) == pytest.approx(candidates[int(np.argmax(j))])


def test_youden_threshold_hand_worked_example():
    # J = 0.5 at 0.8 and at 0.35; the stricter threshold wins the tie.
    assert youden_threshold([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.8)


def test_eer_and_youden_reject_a_single_class():
    with pytest.raises(ValueError, match="both REAL and FAKE"):
        equal_error_rate([1, 1, 1], [0.2, 0.5, 0.9])
    with pytest.raises(ValueError, match="both REAL and FAKE"):
        youden_threshold([0, 0], [0.2, 0.5])


# --------------------------------------------------------------------------------------------
# Aggregation
# --------------------------------------------------------------------------------------------


def test_confident_strategy_fake_branch_averages_confident_frames():
    # 13 of 32 frames above 0.8: 13 > 32 / 2.5 = 12.8 and 13 > 11 -> mean of those frames.
    scores = [0.9] * 12 + [0.95] + [0.5] * 19
    assert confident_strategy(scores) == pytest.approx((0.9 * 12 + 0.95) / 13)


def test_confident_strategy_needs_more_than_eleven_confident_frames():
    # 9 of 20 frames above 0.8: 9 > 20 / 2.5 = 8 but not > 11 -> not the FAKE branch; 9/20 < 0.2
    # is false for 90% -> plain mean.
    scores = [0.95] * 9 + [0.5] * 11
    assert confident_strategy(scores) == pytest.approx((0.95 * 9 + 0.5 * 11) / 20)


def test_confident_strategy_needs_more_than_n_over_two_and_a_half_frames():
    # 12 of 32 frames above 0.8: 12 > 11 but 12 <= 12.8 -> plain mean.
    scores = [0.9] * 12 + [0.5] * 20
    assert confident_strategy(scores) == pytest.approx((0.9 * 12 + 0.5 * 20) / 32)


def test_confident_strategy_real_branch_averages_confidently_real_frames():
    # 19 of 20 frames below 0.2 (95% > 90%) -> mean of those 19 frames, the 0.7 outlier ignored.
    scores = [0.1] * 10 + [0.05] * 9 + [0.7]
    assert confident_strategy(scores) == pytest.approx((0.1 * 10 + 0.05 * 9) / 19)


def test_confident_strategy_falls_back_to_the_mean():
    # 18 of 20 below 0.2 is exactly 90%, not more -> plain mean.
    scores = [0.1] * 18 + [0.6, 0.7]
    assert confident_strategy(scores) == pytest.approx((0.1 * 18 + 0.6 + 0.7) / 20)


def test_aggregate_scores_methods_match_numpy():
    scores = np.array([0.1, 0.8, 0.3, 0.35, 0.9])
    assert aggregate_scores(scores, "mean") == pytest.approx(np.mean(scores))
    assert aggregate_scores(scores, "median") == pytest.approx(np.median(scores))
    assert aggregate_scores(scores, "max") == pytest.approx(np.max(scores))
    assert aggregate_scores(scores, "confident") == pytest.approx(np.mean(scores))
    assert set(AGGREGATIONS) == {"mean", "median", "max", "confident"}


@pytest.mark.parametrize("method", AGGREGATIONS)
@pytest.mark.parametrize("bad", [[], [0.2, float("nan")]])
def test_aggregate_scores_rejects_empty_and_nan(method, bad):
    with pytest.raises(ValueError):
        aggregate_scores(bad, method)


def test_aggregate_scores_rejects_unknown_method():
    with pytest.raises(ValueError, match="unknown aggregation"):
        aggregate_scores([0.5], "mode")


def test_video_scores_groups_frames_by_video_in_order_of_appearance():
    table = [("v2", 1, 0.9), ("v1", 0, 0.2), ("v2", 1, 0.5), ("v1", 0, 0.4), ("v3", 1, 0.6)]
    ids, labels, scores = video_scores(table, method="max")
    assert list(ids) == ["v2", "v1", "v3"]
    assert labels.tolist() == [1, 0, 1]
    assert scores.tolist() == pytest.approx([0.9, 0.4, 0.6])
    _, _, means = video_scores(table, method="mean")
    assert means.tolist() == pytest.approx([0.7, 0.3, 0.6])


def test_video_scores_rejects_a_video_with_two_labels():
    with pytest.raises(ValueError, match="labelled both"):
        video_scores([("v", 1, 0.9), ("v", 0, 0.2)])


def test_frame_and_video_report_scores_both_levels():
    rng = np.random.default_rng(7)
    video_labels = np.array([0, 1] * 10)
    video_ids = np.repeat([f"vid{i}" for i in range(20)], 8)
    frame_ids = np.tile(np.arange(8), 20)
    labels = np.repeat(video_labels, 8)
    scores = np.clip(0.35 + 0.3 * labels + rng.normal(0, 0.2, size=labels.size), 0, 1)
    report = frame_and_video_report(frame_ids, video_ids, labels, scores, aggregation="mean")
    assert report["frame"]["roc_auc"] == pytest.approx(skm.roc_auc_score(labels, scores), abs=METRIC_VS_SKLEARN_ATOL)
    assert report["frame"]["n"] == 160 and report["video"]["n"] == 20
    per_video_mean = scores.reshape(20, 8).mean(axis=1)
    assert report["video"]["roc_auc"] == pytest.approx(skm.roc_auc_score(video_labels, per_video_mean),
                                                        abs=METRIC_VS_SKLEARN_ATOL)
    assert report["aggregation"] == "mean"


def test_frame_and_video_report_rejects_a_frame_counted_twice():
    with pytest.raises(ValueError, match="appears twice"):
        frame_and_video_report([0, 0], ["v", "v"], [1, 1], [0.2, 0.3])


# --------------------------------------------------------------------------------------------
# Plots and tables
# --------------------------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_plots_write_readable_png_files_and_leave_no_temporary_files(tmp_path):
    labels, scores = _random_problem(0, n=120)
    written = [
        plot_roc(labels, scores, tmp_path / "roc.png", title="test ROC"),
        plot_confusion_matrix([[50, 10], [5, 55]], tmp_path / "cm.png"),
        plot_score_histogram(labels, scores, tmp_path / "nested" / "hist.png"),
    ]
    for path in written:
        assert path.read_bytes()[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG file"
        image = matplotlib.image.imread(path)
        assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100, f"{path.name} is too small"
    leftovers = [p.name for p in tmp_path.rglob("*") if p.is_file() and p not in written]
    assert leftovers == [], f"temporary files left behind: {leftovers}"


def test_plot_confusion_matrix_rejects_a_non_2x2_matrix(tmp_path):
    with pytest.raises(ValueError, match="2x2"):
        plot_confusion_matrix([[1, 2, 3]], tmp_path / "cm.png")


def test_cross_table_is_markdown_with_train_rows_and_test_columns():
    results = {
        ("FF++", "FF++"): 0.9637,
        ("FF++", "Celeb-DF"): 0.7365,
        ("Celeb-DF", "Celeb-DF"): 0.99,
    }
    expected = (
        "| AUC (train \\ test) | FF++ | Celeb-DF |\n"
        "|---|---|---|\n"
        "| FF++ | 0.9637 | 0.7365 |\n"
        "| Celeb-DF | - | 0.9900 |"
    )
    assert cross_table(results, metric_name="AUC") == expected


# --------------------------------------------------------------------------------------------
# rank_auc and person_bootstrap
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
def test_rank_auc_matches_sklearn_with_ties(seed):
    labels, scores = _random_problem(seed)
    tied = np.round(scores, 1)  # many ties: each counts half
    assert rank_auc(labels, tied) == pytest.approx(skm.roc_auc_score(labels, tied), abs=METRIC_VS_SKLEARN_ATOL)
    assert rank_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75, "3 of 4 (fake, real) pairs ordered right"
    with pytest.raises(ValueError, match="both classes"):
        rank_auc([1, 1], [0.2, 0.3])


def _scipy_interval(labels, scores, seed):
    from scipy.stats import bootstrap

    result = bootstrap((labels, scores), skm.roc_auc_score, paired=True, vectorized=False, method="percentile",
                       n_resamples=1000, confidence_level=0.95, rng=np.random.default_rng(seed))
    return result.confidence_interval.low, result.confidence_interval.high


def test_person_bootstrap_with_one_video_per_person_is_scipys_percentile_bootstrap():
    labels, scores = _random_problem(3, n=40)
    ours = person_bootstrap(rank_auc, np.arange(40), labels, scores, seed=7)
    low, high = _scipy_interval(labels, scores, seed=7)
    assert ours["low"] == pytest.approx(low, abs=BOOTSTRAP_VS_SCIPY_ATOL)
    assert ours["high"] == pytest.approx(high, abs=BOOTSTRAP_VS_SCIPY_ATOL)
    assert ours["resamples"] == 1000 and ours["people"] == 40


def test_person_bootstrap_resamples_people_not_videos():
    """Each person filmed three times with the same scores: three times the videos, no more information.
    Drawing people gives the one-video-per-person interval; drawing videos (scipy on the 120 videos)
    pretends to know more and gives a narrower one."""
    labels, scores = _random_problem(3, n=40)
    people = np.repeat(np.arange(40), 3)
    triple_labels, triple_scores = np.repeat(labels, 3), np.repeat(scores, 3)
    ours = person_bootstrap(rank_auc, people, triple_labels, triple_scores, seed=7)
    low, high = _scipy_interval(labels, scores, seed=7)
    assert (ours["low"], ours["high"]) == pytest.approx((low, high), abs=BOOTSTRAP_VS_SCIPY_ATOL)
    naive_low, naive_high = _scipy_interval(triple_labels, triple_scores, seed=7)
    assert naive_high - naive_low < 0.75 * (high - low)


def test_person_bootstrap_leaves_out_resamples_where_the_statistic_is_undefined():
    # 2 people with a FAKE video of 20: a resample draws neither (18/20)^20 = 12 % of the time
    labels = np.r_[np.ones(2), np.zeros(18)]
    result = person_bootstrap(rank_auc, np.arange(20), labels, np.linspace(0, 1, 20), seed=0)
    assert 500 <= result["resamples"] < 1000 and result["low"] is not None
    # one FAKE video of 20: undefined in about 36 % of the resamples, but AUC 1 or undefined
    one_fake = person_bootstrap(rank_auc, np.arange(20), np.r_[1, np.zeros(19)], np.r_[1.0, np.zeros(19)])
    assert one_fake["low"] == one_fake["high"] == 1.0
    # always undefined: no interval rather than a made-up one
    none = person_bootstrap(rank_auc, np.arange(5), np.zeros(5), np.arange(5.0))
    assert none == {"low": None, "high": None, "resamples": 0, "people": 5}


def test_person_bootstrap_refuses_arrays_of_other_lengths():
    with pytest.raises(ValueError, match="one value per video"):
        person_bootstrap(rank_auc, ["a", "b"], [0, 1, 1], [0.1, 0.2, 0.3])
