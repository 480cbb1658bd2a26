"""compare_detectors.py's table (common.tools.compare): AUCs per manipulation against scikit-learn,
a detector that could not run counted as no evidence, and one-line errors for unknown models."""
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from common.errors import CourseError
from common.tools.compare import format_markdown, parse_models, table_row


def test_unknown_models_are_refused_in_one_line():
    assert parse_models("baseline, temporal_features") == ["baseline", "temporal_features"]
    with pytest.raises(CourseError, match="xception_huge"):
        parse_models("baseline,xception_huge")


def test_row_against_scikit_learn_with_a_video_the_detector_could_not_score():
    rows = [{"label": 0, "method": "real"}, {"label": 0, "method": "real"}, {"label": 0, "method": "real"},
            {"label": 1, "method": "FaceSwap"}, {"label": 1, "method": "FaceSwap"},
            {"label": 1, "method": "TemporalFlicker"}, {"label": 1, "method": "TemporalFlicker"}]
    scores = [0.1, 0.6, None, 0.9, 0.7, 0.2, None]
    row = table_row("d", scores, rows)
    used = [0.1, 0.6, 0.5, 0.9, 0.7, 0.2, 0.5]
    assert row["could_not_run"] == 2
    assert row["all_fakes_auc"] == pytest.approx(roc_auc_score([r["label"] for r in rows], used))
    assert row["per_method"]["FaceSwap"] == pytest.approx(roc_auc_score([0, 0, 0, 1, 1], used[:5]))
    assert row["per_method"]["TemporalFlicker"] == pytest.approx(roc_auc_score([0, 0, 0, 1, 1], used[:3] + used[5:]))
    assert row["accuracy_at_0.5"] == pytest.approx(np.mean((np.array(used) >= 0.5) == [r["label"] for r in rows]))
    assert row["accuracy_best_threshold"] >= row["accuracy_at_0.5"]
    table = format_markdown([row], ["FaceSwap", "TemporalFlicker"], {"d": 12.4})
    assert "| d | 1.000 | 0.417 |" in table and "| 2 | 12 |" in table
