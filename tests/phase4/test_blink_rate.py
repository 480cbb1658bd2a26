"""Task 4.3: blink count, rate per minute, durations and the verdict, worked by hand."""
import numpy as np
import pytest

from phase4_biological_signals import template_blink_detection as blink
from tests.tolerances import FLOAT64_EXACT

pytestmark = pytest.mark.task("4.3")


def test_worked_example_ten_seconds_at_25_fps():
    summary = blink.blink_summary(np.array([[10, 14], [100, 103]]), 250, 25.0)
    assert summary.count == 2
    np.testing.assert_allclose(summary.rate_per_min, 12.0, **FLOAT64_EXACT, err_msg="2 blinks in 10 s = 12 a minute")
    np.testing.assert_allclose(summary.durations_s, [0.16, 0.12], **FLOAT64_EXACT, err_msg="(stop - start) / fps")
    np.testing.assert_allclose(summary.mean_duration_s, 0.14, **FLOAT64_EXACT)
    assert summary.verdict == "normal"


def test_rate_uses_the_clips_duration_and_frame_rate():
    blinks = np.array([[i * 90, i * 90 + 3] for i in range(10)])
    summary = blink.blink_summary(blinks, 900, 30.0)          # 30 s at 30 fps
    np.testing.assert_allclose(summary.rate_per_min, 20.0, **FLOAT64_EXACT)
    np.testing.assert_allclose(summary.durations_s, np.full(10, 0.1), **FLOAT64_EXACT)


def test_no_blink_is_too_few_with_zero_rate_and_duration():
    summary = blink.blink_summary(np.zeros((0, 2), np.int64), 250, 25.0)
    assert (summary.count, summary.rate_per_min, summary.mean_duration_s, summary.verdict) == (0, 0.0, 0.0, "too few")


@pytest.mark.parametrize("count, expected", [(1, "too few"), (2, "normal"), (12, "normal"), (13, "too many")])
def test_verdict_at_the_bounds_of_the_human_range(count, expected):
    # 20 s at 25 fps: 2 blinks = 6 a minute (the lower bound, normal), 13 = 39, here against (6, 36)
    blinks = np.array([[k * 30, k * 30 + 3] for k in range(count)])
    summary = blink.blink_summary(blinks, 500, 25.0, human_range=(6.0, 36.0))
    assert summary.verdict == expected, f"{count} blinks in 20 s = {3 * count} a minute"
