"""Task 4.2: blinks from an EAR curve, on hand-made curves whose blinks are known frame by frame,
and against a brute-force run finder (itertools.groupby) on random curves."""
import itertools

import numpy as np
import pytest

from phase4_biological_signals import template_blink_detection as blink

pytestmark = pytest.mark.task("4.2")

OPEN, SHUT = 0.3, 0.05


def curve(n_frames, runs, open_value=OPEN, shut_value=SHUT):
    ear = np.full(n_frames, open_value)
    for start, stop in runs:
        ear[start:stop] = shut_value
    return ear


def test_blinks_at_both_edges_short_runs_and_long_closures():
    # at 25 fps: [0, 3) touches the start, [20, 22) is exactly 2 frames, [40, 41) is 1 frame (too
    # short), [60, 86) is 26 frames = 1.04 s (longer than a blink), [97, 100) touches the end
    ear = curve(100, [(0, 3), (20, 22), (40, 41), (60, 86), (97, 100)])
    found = blink.detect_blinks(ear, 25.0)
    assert found.tolist() == [[0, 3], [20, 22], [97, 100]], \
        "expected the blinks [0,3) at the start, [20,22) and [97,100) at the end (stop exclusive)"


def test_the_threshold_follows_each_persons_baseline():
    # a face whose open eye reads 0.18 (a landmark model's low EAR): a fixed 0.2 would call every
    # frame closed; 0.7 x its median 0.18 = 0.126 finds the two blinks
    ear = curve(60, [(10, 13), (40, 44)], open_value=0.18, shut_value=0.06)
    assert blink.detect_blinks(ear, 25.0).tolist() == [[10, 13], [40, 44]]
    assert blink.detect_blinks(ear * 2.0, 25.0).tolist() == [[10, 13], [40, 44]], "EAR x 2: same blinks"


def test_closed_means_strictly_below_ratio_times_baseline():
    ear = np.full(30, 0.4)
    ear[5:8] = 0.2        # exactly 0.5 x 0.4: not closed
    ear[15:18] = 0.199    # just below: closed
    assert blink.detect_blinks(ear, 25.0, ratio=0.5).tolist() == [[15, 18]]


def test_failed_frames_neither_start_nor_extend_a_blink():
    ear = curve(40, [(10, 15)])
    ear[12] = np.nan                     # landmarks failed in the middle of the closure
    ear[30:33] = np.nan                  # and for three open frames
    assert blink.detect_blinks(ear, 25.0).tolist() == [[10, 12], [13, 15]], \
        "a NaN frame counts as open and the baseline is the median of the finite values"


def test_minimum_and_maximum_lengths_are_parameters():
    ear = curve(80, [(5, 6), (20, 30), (50, 61)])   # 1, 10 and 11 frames
    assert blink.detect_blinks(ear, 10.0, min_frames=1, max_s=1.0).tolist() == [[5, 6], [20, 30]], \
        "at 10 fps and max_s = 1 s, runs of up to 10 frames are blinks"
    assert blink.detect_blinks(ear, 10.0, min_frames=11, max_s=2.0).tolist() == [[50, 61]]


def brute_force_blinks(ear, ratio, min_frames, max_frames):
    baseline = np.median(ear)
    found, position = [], 0
    for closed, run in itertools.groupby(ear < ratio * baseline):
        length = len(list(run))
        if closed and min_frames <= length <= max_frames:
            found.append([position, position + length])
        position += length
    return found


@pytest.mark.parametrize("seed", range(5))
def test_random_curves_match_a_brute_force_run_finder(seed):
    rng = np.random.default_rng(seed)
    ear = np.where(rng.random(300) < 0.3, rng.uniform(0.0, 0.1, 300), rng.uniform(0.25, 0.35, 300))
    expected = brute_force_blinks(ear, 0.7, 2, 10)
    assert blink.detect_blinks(ear, 10.0, ratio=0.7, min_frames=2, max_s=1.0).tolist() == expected
