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


def test_a_windows_signal_features_are_computed_once_per_cache_file_row_and_window(tmp_path, monkeypatch):
    """Cross-fitting builds the same videos' signal datasets once per fold: the face mesh runs once."""
    import os

    from common import detectors, engine
    from common.registry import all_models

    calls = []

    def counting_signal_input(row, crops, fps, window_s):
        calls.append((row.name, window_s))
        return np.zeros(3), None, {}

    monkeypatch.setattr(detectors, "signal_input", counting_signal_input)
    monkeypatch.setattr(engine, "_SIGNAL_FEATURES", {})
    cache = tmp_path / "video.npz"
    cache.write_bytes(b"faces")
    blink, pulse = all_models()["blink"], all_models()["pulse"]
    for _ in range(3):
        engine._signal_features(blink, cache, [], 25.0, 10.0)
    assert calls == [("blink", 10.0)], "computed once, then reused"
    engine._signal_features(pulse, cache, [], 25.0, 10.0)
    engine._signal_features(blink, cache, [], 25.0, 8.0)
    assert calls[1:] == [("pulse", 10.0), ("blink", 8.0)], "another detector or window: computed again"
    os.utime(cache, ns=(cache.stat().st_atime_ns, cache.stat().st_mtime_ns + 10**9))
    engine._signal_features(blink, cache, [], 25.0, 10.0)
    assert calls[-1] == ("blink", 10.0) and len(calls) == 4, "a rewritten cache file is read again"
