"""Late fusion (common.fusion): inputs worked by hand, missing detectors explicit, the stacker and
its out-of-fold calibration against scikit-learn, and a fusion file that refuses other detectors."""
import math

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from common.errors import CheckpointError, CourseError
from common.fusion import fit_fusion, fusion_inputs, load_fusion, mean_fusion, save_fusion


def entry(name, score, status="ok", kind="frame", reason=None):
    return {"name": name, "kind": kind, "architecture": f"{name}_net", "sha256": name[0] * 64, "status": status,
            "video_score": score if status == "ok" else None, "reason": reason}


def test_inputs_worked_example_and_a_missing_detector_is_flagged_not_imputed():
    entries = [entry("visual", 0.9), entry("pulse", None, "could_not_run", "signal", "clip too short")]
    np.testing.assert_allclose(fusion_inputs(entries, ["visual", "pulse"]), [math.log(9), 0.0, 0.0, 1.0], rtol=1e-12)
    # evidence of FAKE only: a detector that finds no trace of its own (0.2, 0.0) adds 0, not a negative
    # log-odds that would cancel another detector's find; 0.0 and 1.0 are clipped to 1e-4 first
    np.testing.assert_allclose(fusion_inputs([entry("a", 0.2), entry("b", 0.0), entry("c", 1.0)], ["a", "b", "c"]),
                               [0.0, 0.0, math.log((1 - 1e-4) / 1e-4), 0.0, 0.0, 0.0], rtol=1e-12)


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
    inputs = np.stack([fusion_inputs(v, ["a", "b", "c"]) for v in table])
    reference = LogisticRegression(C=1.0, max_iter=1000).fit(inputs, labels)
    np.testing.assert_allclose(fusion.coefficients, reference.coef_[0], rtol=1e-6, atol=1e-8)
    assert fusion.coefficients[0] > 5 * abs(fusion.coefficients[1]), "detector a carries the information"
    assert fusion.validation["could_not_run"] == {"a": 0, "b": 0, "c": 20}
    assert fusion.validation["out_of_fold_auc"] > 0.9


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
