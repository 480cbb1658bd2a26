"""A signal detector's window input (common.detectors.signal_input): a feature that comes out NaN
or infinite (a degenerate pulse or blink signal) makes the window "could not run" with its reason,
never a NaN probability that crashes the report or, worse, a silent number."""
import numpy as np

from common import detectors


class _Landmarker:
    """Landmarks found in every frame (the real face mesh is not what this test is about)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def detect(self, images):
        from common.landmarks import LandmarkSeries

        t = len(images)
        return LandmarkSeries(eyes=np.zeros((t, 2, 6, 2), np.float32), regions={}, ok=np.ones(t, bool),
                              reasons=[None] * t)


def _window(monkeypatch, features):
    import common.landmarks
    import common.models

    monkeypatch.setattr(common.landmarks, "FaceMeshLandmarker", _Landmarker)
    monkeypatch.setattr(common.models, "model_features", lambda row: lambda crops, series, fps: features)
    crops = [np.full((8, 8, 3), 120, np.uint8)] * 50
    return detectors.signal_input(object(), crops, fps=25.0, window_s=2.0)


def test_finite_features_are_the_input(monkeypatch):
    features, reason, details = _window(monkeypatch, [0.5, 2.0, -1.0])
    assert reason is None and features.tolist() == [0.5, 2.0, -1.0]
    assert details["landmark_frames"] == 50


def test_a_nan_or_infinite_feature_is_reported_not_scored(monkeypatch):
    for features, positions in (([0.5, float("nan"), 1.0], "[1]"), ([float("inf"), 0.0, float("nan")], "[0, 2]")):
        tensor, reason, _ = _window(monkeypatch, features)
        assert tensor is None
        assert "not finite" in reason and positions in reason, reason
