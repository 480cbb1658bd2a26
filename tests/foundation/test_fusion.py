"""Late fusion (common.fusion): inputs worked by hand, missing detectors explicit, the stacker and
its out-of-fold calibration against scikit-learn, and a fusion file that refuses other detectors."""
import math

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from common.errors import CheckpointError, CourseError
from common.fusion import (expected_evidence, fit_fusion, fusion_inputs, load_fusion, mean_fusion, real_pivots,
                           save_fusion)


def entry(name, score, status="ok", kind="frame", reason=None):
    return {"name": name, "kind": kind, "architecture": f"{name}_net", "sha256": name[0] * 64, "status": status,
            "video_score": score if status == "ok" else None, "reason": reason}


def test_inputs_worked_example_and_a_missing_detector_is_flagged_and_counted_at_its_expected_evidence():
    entries = [entry("visual", 0.9), entry("pulse", None, "could_not_run", "signal", "clip too short")]
    np.testing.assert_allclose(fusion_inputs(entries, ["visual", "pulse"]), [math.log(9), 0.0, 0.0, 1.0], rtol=1e-12)
    np.testing.assert_allclose(fusion_inputs(entries, ["visual", "pulse"], [0.0, 0.0], [0.5, 0.7]),
                               [math.log(9), 0.7, 0.0, 1.0], rtol=1e-12)
    # evidence of FAKE only: a detector that finds no trace of its own (0.2, 0.0) adds 0, not a negative
    # log-odds that would cancel another detector's find; 0.0 and 1.0 are clipped to 1e-4 first
    np.testing.assert_allclose(fusion_inputs([entry("a", 0.2), entry("b", 0.0), entry("c", 1.0)], ["a", "b", "c"]),
                               [0.0, 0.0, math.log((1 - 1e-4) / 1e-4), 0.0, 0.0, 0.0], rtol=1e-12)
    # above a pivot: 0.9 with pivot 1 is log(9) - 1; 0.6 (log-odds 0.405) under a pivot of 1 is no evidence
    np.testing.assert_allclose(fusion_inputs([entry("a", 0.9), entry("b", 0.6)], ["a", "b"], [1.0, 1.0]),
                               [math.log(9) - 1, 0.0, 0.0, 0.0], rtol=1e-12)


def test_pivots_are_a_percentile_of_the_real_videos_log_odds_worked_by_hand():
    videos = [[entry("a", 0.1)], [entry("a", 0.5)], [entry("a", 0.9)], [entry("a", 0.99)],
              [entry("a", None, "could_not_run")]]
    labels = [0, 0, 0, 1, 0]
    # reals ran: log-odds -2.197, 0, 2.197; the fake (0.99) and the video it could not run on are left out
    assert real_pivots(videos, labels, ["a"], 50) == pytest.approx([0.0])
    assert real_pivots(videos, labels, ["a"], 100) == pytest.approx([math.log(9)])
    assert real_pivots(videos, labels, ["a"], 75) == pytest.approx([math.log(9) / 2]), "linear interpolation"
    assert real_pivots([[entry("b", None, "could_not_run")]] * 2, [0, 1], ["b"]) == [0.0], "never ran: pivot 0"


def test_expected_evidence_is_the_mean_evidence_over_the_videos_it_ran_on_worked_by_hand():
    table = [[entry("a", 0.1)], [entry("a", 0.9)], [entry("a", 0.99)], [entry("a", None, "could_not_run")]]
    # evidence above pivot 0: 0, log 9, log 99; the video it could not run on is left out
    assert expected_evidence(table, ["a"], [0.0]) == pytest.approx([(math.log(9) + math.log(99)) / 3])
    # above pivot log 9: only 0.99 has evidence, log 99 - log 9 = log 11
    assert expected_evidence(table, ["a"], [math.log(9)]) == pytest.approx([math.log(11) / 3])
    assert expected_evidence([[entry("b", None, "could_not_run")]], ["b"], [0.0]) == [0.0], "never ran: 0"


def videos(n=60, seed=0):
    """Detector a separates the classes, b is noise, c could not run on a third of the videos."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    table = []
    for i, label in enumerate(labels):
        a = 1 / (1 + math.exp(-(2.5 * (label - 0.5) * 2 + rng.normal())))
        b = rng.uniform(0.05, 0.95)
        c = entry("c", None, "could_not_run", "signal", "no pulse window") if i % 3 == 0 else entry("c", 0.5, kind="signal")
        table.append([entry("a", a), entry("b", b, kind="clip"), c])
    return table, labels


def test_stacker_is_scikit_learns_logistic_regression_on_those_inputs_and_trusts_the_informative_detector():
    table, labels = videos()
    fusion = fit_fusion(table, labels)
    # the pivots, by hand: numpy's 90th percentile of each detector's log-odds over the real videos it ran on
    logit = lambda p: math.log(p / (1 - p))  # noqa: E731 (scores here are inside [1e-4, 1 - 1e-4])
    pivots = [float(np.percentile([logit(v[i]["video_score"]) for v, y in zip(table, labels)
                                   if y == 0 and v[i]["status"] == "ok"], 90)) for i in range(3)]
    np.testing.assert_allclose(fusion.pivots, pivots, rtol=1e-12)
    evidence = np.array([[max(logit(v[i]["video_score"]) - pivots[i], 0) if v[i]["status"] == "ok" else np.nan
                          for i in range(3)] for v in table])
    np.testing.assert_allclose(fusion.expected, np.nanmean(evidence, axis=0), rtol=1e-12)
    inputs = np.hstack([np.where(np.isnan(evidence), np.nanmean(evidence, axis=0), evidence),
                        [[float(v[i]["status"] != "ok") for i in range(3)] for v in table]])
    reference = LogisticRegression(C=1.0, max_iter=1000).fit(inputs, labels)
    np.testing.assert_allclose(fusion.coefficients, reference.coef_[0], rtol=1e-6, atol=1e-8)
    assert fusion.coefficients[0] > 5 * abs(fusion.coefficients[1]), "detector a carries the information"
    assert fusion.validation["could_not_run"] == {"a": 0, "b": 0, "c": 20}
    assert fusion.validation["out_of_fold_auc"] > 0.9


def test_a_detector_whose_calibration_sits_high_on_real_videos_adds_no_evidence_for_them():
    """A pivot of 0 (a calibrated 0.5) would read every real video of this detector as evidence of FAKE."""
    table, labels = videos()
    shifted = [[entry("a", v[0]["video_score"]), entry("b", 0.65 + 0.3 * v[1]["video_score"] * 0.1, kind="clip"), v[2]]
               for v in table]
    fusion = fit_fusion(shifted, labels)
    reals = [fusion.fuse(v) for v, y in zip(shifted, labels) if y == 0]
    evidence_b = [r["contributions"][1]["evidence"] for r in reals]
    assert fusion.pivots[1] > 0.6, "b's real videos all sit above a calibrated 0.5"
    assert np.mean(np.array(evidence_b) == 0.0) >= 0.85, "at most about 10 % of real videos above b's pivot"


def test_a_detector_that_could_not_look_does_not_clear_the_video():
    """The only informative detector (a) found no face: the fused probability is not the confident REAL of
    a video where a looked and found nothing, but what a's average evidence on validation gives."""
    table, labels = videos()
    fusion = fit_fusion(table, labels)
    looked_found_nothing = [fusion.fuse(v)["video_score"] for v, y in zip(table, labels) if y == 0]
    blind = fusion.fuse([entry("a", None, "no_face", reason="no face"), table[1][1], table[1][2]])
    part = blind["contributions"][0]
    assert part["evidence"] is None and part["assumed_evidence"] == pytest.approx(fusion.expected[0])
    assert part["contribution"] == pytest.approx(fusion.coefficients[0] * fusion.expected[0] + fusion.coefficients[3])
    assert fusion.expected[0] > 1.0, "half the validation videos are fakes that a sees"
    assert np.mean(blind["video_score"] > np.array(looked_found_nothing)) >= 0.85


def test_fused_probability_is_the_calibrated_stacker_and_contributions_add_up():
    table, labels = videos()
    fusion = fit_fusion(table, labels)
    result = fusion.fuse(table[0])
    raw = fusion.raw_probability(fusion_inputs(table[0], fusion.names))
    assert result["raw_video_score"] == pytest.approx(float(raw))
    assert result["video_score"] == pytest.approx(fusion.calibration.apply(float(raw)))
    logit = sum(c["contribution"] for c in result["contributions"]) + fusion.intercept
    assert 1 / (1 + math.exp(-logit)) == pytest.approx(float(raw)), "contributions are the stacker's logit terms"
    missing = [c for c in result["contributions"] if not c["contributed"]]
    assert [(c["name"], c["reason"]) for c in missing] == [("c", "no pulse window")]


def test_fusion_file_round_trip_and_refusal_of_other_detectors(tmp_path):
    table, labels = videos()
    fusion = fit_fusion(table, labels)
    path = save_fusion(tmp_path / "fusion.json", fusion)
    loaded = load_fusion(path)
    assert loaded.to_dict() == fusion.to_dict()
    loaded.check_detectors(table[0], str(path))
    with pytest.raises(CheckpointError, match="was fitted on"):
        loaded.check_detectors([table[0][1], table[0][0], table[0][2]], str(path))
    (tmp_path / "other.json").write_text('{"format": "something else"}')
    with pytest.raises(CheckpointError, match="not a fusion model"):
        load_fusion(tmp_path / "other.json")


def test_too_few_validation_videos_is_one_line_and_the_fallback_is_the_mean():
    table, labels = videos(n=3)
    with pytest.raises(CourseError, match="at least 2 real and 2 fake"):
        fit_fusion(table, labels)
    result = mean_fusion([entry("a", 0.8), entry("b", 0.2), entry("c", None, "no_face", reason="no face")])
    assert result["video_score"] == pytest.approx(0.5)
    assert [c["contributed"] for c in result["contributions"]] == [True, True, False]
    assert mean_fusion([entry("c", None, "no_face", reason="no face")])["video_score"] is None
