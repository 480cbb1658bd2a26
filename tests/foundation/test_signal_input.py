"""A signal detector's window input (common.detectors.signal_input): a feature that comes out NaN
or infinite (a degenerate pulse or blink signal) makes the window "could not run" with its reason,
never a NaN probability that crashes the report or, worse, a silent number."""
import numpy as np
import pytest

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


def test_training_puts_a_variable_frame_rate_window_on_the_grid_of_its_cached_timestamps(tmp_path, monkeypatch):
    """The face cache keeps each planned frame's decoded time; the signal dataset resamples a
    variable-rate window on them before measuring, as detection does (frames 0-7 at 10 fps, then
    5 fps: frame 2 dropped, frame 6 held, 7 fps; worked by hand in common.video), and reads a cache
    without timestamps (written before they were kept) at the video's average rate."""
    from common import engine
    from common.datasets import VideoRecord
    from common.registry import all_models
    from common.torch_data import record_id, write_face_cache
    from common.video import write_video

    seen = []

    def recording_signal_input(row, crops, fps, window_s):
        seen.append(([int(crop[0, 0, 0]) for crop in crops], fps))
        return np.zeros(3), None, {}

    monkeypatch.setattr(detectors, "signal_input", recording_signal_input)
    monkeypatch.setattr(engine, "_SIGNAL_FEATURES", {})
    video = write_video(tmp_path / "clip.mp4", [np.zeros((16, 16, 3), np.uint8)] * 8, fps=25.0)
    record = VideoRecord(video, 0, "real", "person", None, "test")
    crops = np.stack([np.full((4, 4, 3), 10 * k, np.uint8) for k in range(8)])
    for timestamps, expected in (([0, .1, .2, .3, .4, .6, .8, 1.0], ([0, 10, 30, 40, 50, 60, 60, 70], 7.0)),
                                 (None, ([0, 10, 20, 30, 40, 50, 60, 70], 25.0))):
        meta = {} if timestamps is None else {"timestamps_s": timestamps}
        write_face_cache(tmp_path / f"{record_id(record)}.npz", crops, np.arange(8), 0, **meta)
        engine.SignalDataset(all_models()["blink"], tmp_path, [record])
        values, fps = seen[-1]
        assert values == expected[0] and fps == pytest.approx(expected[1])
