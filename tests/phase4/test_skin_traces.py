"""Task 4.4: region means against pixel sums over hand-placed rectangles, and the smoothness-priors
detrending against its defining equation (built here with np.diff) and its known fixed points."""
import numpy as np
import pytest

from common.landmarks import LandmarkSeries
from phase4_biological_signals import template_pulse_detection as pulse
from tests.tolerances import DETREND_LINE_ATOL, PULSE_EXACT

pytestmark = pytest.mark.task("4.4")


def rectangle_series(rectangles, ok):
    """A series whose three regions are axis-aligned rectangles (x0, y0, x1, y1, integer corners):
    their convex hull filled by OpenCV covers columns x0..x1 and rows y0..y1, both ends included."""
    regions = {}
    for name, per_frame in rectangles.items():
        regions[name] = np.array([[[x0, y0], [x1, y0], [x1, y1], [x0, y1]] for x0, y0, x1, y1 in per_frame], np.float32)
    n = len(ok)
    return LandmarkSeries(eyes=np.zeros((n, 2, 6, 2), np.float32), regions=regions, ok=np.array(ok),
                          reasons=[None if good else "failed" for good in ok])


def test_region_means_are_the_mean_colour_of_each_rectangle_in_each_frame():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(3, 40, 50, 3), dtype=np.uint8)
    rectangles = {"forehead": [(5, 2, 20, 8), (6, 3, 21, 9), (0, 0, 1, 1)],
                  "right_cheek": [(3, 20, 10, 30), (4, 21, 12, 33), (0, 0, 1, 1)],
                  "left_cheek": [(30, 20, 40, 30), (31, 19, 45, 35), (0, 0, 1, 1)]}
    series = rectangle_series(rectangles, [True, True, False])
    means = pulse.region_mean_rgb(frames, series)
    assert means.shape == (3, 3, 3)
    for t in range(2):
        for r, name in enumerate(pulse.REGIONS):
            x0, y0, x1, y1 = rectangles[name][t]
            expected = frames[t, y0:y1 + 1, x0:x1 + 1].reshape(-1, 3).astype(np.float64).mean(axis=0)
            np.testing.assert_allclose(means[t, r], expected, **PULSE_EXACT, err_msg=f"frame {t}, {name}")
    assert np.isnan(means[2]).all(), "a frame whose landmarks failed gives NaN, not a mean of nothing"


def test_two_pixel_region_worked_example():
    frames = np.zeros((1, 10, 10, 3), np.uint8)
    frames[0, 4, 2] = (10, 20, 30)
    frames[0, 4, 3] = (20, 40, 50)
    series = rectangle_series({name: [(2, 4, 3, 4)] for name in pulse.REGIONS}, [True])
    np.testing.assert_allclose(pulse.region_mean_rgb(frames, series)[0, 0], [15, 30, 40], **PULSE_EXACT)


def test_detrend_removes_a_straight_line_exactly():
    line = 2.0 + 0.5 * np.arange(200)
    np.testing.assert_allclose(pulse.detrend(line), 0.0, atol=DETREND_LINE_ATOL,
                               err_msg="a line has zero second differences: it is all trend")


@pytest.mark.parametrize("lam", [10.0, 100.0])
def test_detrend_solves_the_smoothness_priors_equation(lam):
    z = np.random.default_rng(1).normal(size=60).cumsum()
    trend = z - pulse.detrend(z, lam)
    d2 = np.diff(np.eye(60), 2, axis=0)                 # rows [1, -2, 1]
    np.testing.assert_allclose(trend + lam ** 2 * d2.T @ (d2 @ trend), z, rtol=1e-7, atol=1e-7,
                               err_msg="trend must satisfy (I + lam^2 D2'D2) trend = z")


def test_detrend_keeps_a_pulse_and_drops_a_slow_drift():
    t = np.arange(250) / 25.0
    beat = np.sin(2 * np.pi * 1.2 * t)
    drift = 5.0 * np.sin(2 * np.pi * 0.05 * t)
    kept = pulse.detrend(beat + drift)
    assert np.corrcoef(kept, beat)[0, 1] > 0.99, "the 1.2-Hz pulse survives detrending"
    assert np.abs(kept - beat)[25:-25].max() < 0.1, "the 0.05-Hz drift is gone away from the edges"
