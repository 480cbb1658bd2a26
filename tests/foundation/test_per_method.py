"""Video AUC per manipulation (common.experiment.per_method_metrics), against scikit-learn."""
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from common.experiment import format_table, per_method_metrics


def test_worked_example_and_scikit_learn():
    videos = [dict(label=0, score=0.1, method="real"), dict(label=0, score=0.4, method="real"),
              dict(label=1, score=0.3, method="FaceSwap"), dict(label=1, score=0.9, method="FaceSwap")]
    assert per_method_metrics(videos) == {"FaceSwap": {"n_fake": 2, "n_real": 2, "roc_auc": 0.75}}
    rng = np.random.default_rng(0)
    videos = [dict(label=0, score=float(s), method="real") for s in rng.uniform(size=20)]
    videos += [dict(label=1, score=float(s), method="TemporalFlicker") for s in rng.uniform(0.3, 1.0, size=9)]
    videos += [dict(label=1, score=float(s), method="Deepfake") for s in rng.uniform(0.0, 0.8, size=7)]
    table = per_method_metrics(videos)
    assert list(table) == ["Deepfake", "TemporalFlicker"]
    for method, entry in table.items():
        chosen = [v for v in videos if v["method"] in ("real", method)]
        expected = roc_auc_score([v["label"] for v in chosen], [v["score"] for v in chosen])
        assert entry["roc_auc"] == pytest.approx(expected, abs=1e-12)
        assert entry["n_real"] == 20


def test_without_real_videos_there_is_no_auc_and_the_table_says_which_method():
    assert per_method_metrics([dict(label=1, score=0.5, method="GANUpsample")])["GANUpsample"]["roc_auc"] is None
    metric = dict(n=4, n_fake=2, roc_auc=0.5, average_precision=0.5, eer=0.5, accuracy=0.5, balanced_accuracy=0.5,
                  threshold=0.5)
    report = {"frame": metric, "video": metric, "aggregation": "mean", "unit": "clip",
              "per_method": {"Deepfake": {"n_fake": 2, "n_real": 2, "roc_auc": 1.0},
                             "TemporalFlicker": {"n_fake": 2, "n_real": 2, "roc_auc": 0.25}}}
    assert "Deepfake 1.000 (2), TemporalFlicker 0.250 (2)" in format_table(report)
