"""Task 2.1: frame-difference energy, checked by hand."""
import numpy as np
import pytest

from phase2_temporal_analysis import template_temporal_features as temporal
from tests.tolerances import FLOAT64_EXACT

pytestmark = pytest.mark.task("2.1")


def test_worked_example_two_gray_pixels():
    frames = np.array([[[10]], [[61]]], dtype=np.uint8)
    np.testing.assert_allclose(temporal.frame_difference_energy(frames), [0.2], **FLOAT64_EXACT)


def test_uint8_does_not_wrap_around_when_intensity_drops():
    frames = np.array([[[200]], [[100]]], dtype=np.uint8)
    np.testing.assert_allclose(temporal.frame_difference_energy(frames), [100 / 255], **FLOAT64_EXACT,
                               err_msg="100 - 200 in uint8 is 156: convert to float before subtracting")


def test_matches_a_loop_over_frames_for_colour_video():
    frames = np.random.default_rng(0).integers(0, 256, size=(6, 5, 4, 3), dtype=np.uint8)
    expected = [np.mean(np.abs(frames[t + 1].astype(int) - frames[t].astype(int))) / 255 for t in range(5)]
    result = temporal.frame_difference_energy(frames)
    assert result.shape == (5,)
    np.testing.assert_allclose(result, expected, **FLOAT64_EXACT)


def test_float_frames_are_already_in_unit_range_and_a_still_video_scores_zero():
    still = np.full((4, 3, 3), 0.5)
    np.testing.assert_allclose(temporal.frame_difference_energy(still), np.zeros(3), **FLOAT64_EXACT)
    ramp = np.stack([np.full((2, 2), v) for v in (0.0, 0.25, 0.75)])
    np.testing.assert_allclose(temporal.frame_difference_energy(ramp), [0.25, 0.5], **FLOAT64_EXACT)
