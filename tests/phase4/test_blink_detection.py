"""Task 4.1: eye aspect ratio, checked against scipy distances and a worked example."""
import numpy as np
import pytest
from scipy.spatial import distance

from phase4_biological_signals import template_blink_detection as blink
from tests.tolerances import FLOAT64_EXACT

pytestmark = pytest.mark.task("4.1")


def test_eye_aspect_ratio_worked_example():
    eye = np.array([[0, 0], [3, -3], [7, -3], [10, 0], [7, 3], [3, 3]], dtype=float)
    np.testing.assert_allclose(float(blink.eye_aspect_ratio(eye)), 0.6, **FLOAT64_EXACT, err_msg="(6 + 6) / (2 * 10)")


def test_eye_aspect_ratio_matches_scipy_distances_for_a_batch():
    eyes = np.random.default_rng(0).normal(size=(5, 7, 6, 2)) * 10
    expected = np.empty((5, 7))
    for i in range(5):
        for j in range(7):
            p = eyes[i, j]
            expected[i, j] = (distance.euclidean(p[1], p[5]) + distance.euclidean(p[2], p[4])) / (
                2 * distance.euclidean(p[0], p[3]))
    result = blink.eye_aspect_ratio(eyes)
    assert result.shape == (5, 7), "one EAR per eye: the (6, 2) axes are reduced"
    np.testing.assert_allclose(result, expected, **FLOAT64_EXACT)


def test_closed_eye_has_near_zero_ear_and_scale_does_not_matter():
    closed = np.array([[0, 0], [3, -0.2], [7, -0.2], [10, 0], [7, 0.2], [3, 0.2]])
    # lids 0.4 apart at x = 3 and x = 7 over a 10 px wide eye: (0.4 + 0.4) / (2 * 10) = 0.04
    np.testing.assert_allclose(float(blink.eye_aspect_ratio(closed)), 0.04, **FLOAT64_EXACT)
    open_eye = np.array([[0, 0], [3, -3], [7, -3], [10, 0], [7, 3], [3, 3]], dtype=float)
    np.testing.assert_allclose(float(blink.eye_aspect_ratio(open_eye * 7.5 + 40)), 0.6, **FLOAT64_EXACT,
                               err_msg="EAR is scale and translation invariant")
