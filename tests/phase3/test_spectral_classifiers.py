"""Task 3.7: Durall et al.'s scikit-learn classifiers on spectral profiles.

Oracles: scikit-learn itself (the same pipelines built here from the documented settings), and a
synthetic set whose fake class carries a nearest-neighbour upsampling grid, with features computed
by the tests' own profile (``tests/phase3/oracles.py``), so this task does not depend on 3.1-3.3.
"""
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from phase3_frequency_analysis import template_spectral_features as spectral
from tests.phase3 import oracles
from tests.tolerances import METRIC_VS_SKLEARN_ATOL, SPECTRAL_CLASSIFIER_MIN_AUC

pytestmark = pytest.mark.task("3.7")


def natural_texture(size, rng):
    """1/f^alpha noise (alpha 0.8-1.2), the spectral fall-off of natural images, in gray levels."""
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.fftfreq(size)[None, :]
    gain = 1.0 / np.maximum(np.hypot(fy, fx), 1.0 / size) ** rng.uniform(0.8, 1.2)
    noise = np.fft.ifft2(np.fft.fft2(rng.normal(size=(size, size))) * gain).real
    return np.clip(128 + 40 * noise / noise.std(), 0, 255)


def upsampling_set(n, rng):
    """n crops of random even sizes 48-96 px, every other one (label 1) a half-size texture repeated 2x2."""
    labels = np.arange(n) % 2
    features = []
    for label in labels:
        size = 2 * int(rng.integers(24, 49))
        if label:
            crop = np.repeat(np.repeat(natural_texture(size // 2, rng), 2, axis=0), 2, axis=1)
        else:
            crop = natural_texture(size, rng)
        features.append(oracles.durall_profile(crop, 32))
    return np.stack(features), labels


def test_both_classifiers_find_the_upsampling_grid():
    """Measured: AUC 1.0 for both (the replica spectrum of the repeated pixels is far above 1/f)."""
    rng = np.random.default_rng(0)
    train_x, train_y = upsampling_set(40, rng)
    val_x, val_y = upsampling_set(40, rng)
    aucs = spectral.evaluate_spectral_classifiers(train_x, train_y, val_x, val_y)
    assert set(aucs) == {"logistic", "svm"}
    assert aucs["logistic"] > SPECTRAL_CLASSIFIER_MIN_AUC and aucs["svm"] > SPECTRAL_CLASSIFIER_MIN_AUC, aucs


def hard_set(rng, n=60):
    """A non-linear problem (x0 + x1^2 + noise > 1) with one feature on a 1000x larger scale."""
    x = rng.normal(size=(n, 5))
    y = (x[:, 0] + x[:, 1] ** 2 + rng.normal(size=n) > 1).astype(int)
    x[:, 2] *= 1000.0
    return x, y


def test_aucs_equal_scikit_learn_pipelines_with_the_documented_settings():
    rng = np.random.default_rng(1)
    train_x, train_y = hard_set(rng)
    val_x, val_y = hard_set(rng)
    aucs = spectral.evaluate_spectral_classifiers(train_x, train_y, val_x, val_y)
    for name, estimator in (("logistic", LogisticRegression()), ("svm", SVC(kernel="rbf"))):
        pipeline = make_pipeline(StandardScaler(), estimator).fit(train_x, train_y)
        expected = roc_auc_score(val_y, pipeline.decision_function(val_x))
        assert aucs[name] == pytest.approx(expected, abs=METRIC_VS_SKLEARN_ATOL), \
            f"{name}: standardise with the training statistics, then the default classifier, scored by decision_function"
    assert 0.6 < aucs["logistic"] < 0.95 and 0.6 < aucs["svm"] < 0.95, "a problem neither classifier solves perfectly"


def test_the_validation_labels_are_the_ones_scored():
    rng = np.random.default_rng(2)
    train_x, train_y = hard_set(rng)
    val_x, val_y = hard_set(rng)
    straight = spectral.evaluate_spectral_classifiers(train_x, train_y, val_x, val_y)
    flipped = spectral.evaluate_spectral_classifiers(train_x, train_y, val_x, 1 - val_y)
    for name in ("logistic", "svm"):
        assert flipped[name] == pytest.approx(1 - straight[name], abs=1e-12)
