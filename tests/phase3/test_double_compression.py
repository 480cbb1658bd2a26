"""Task 3.6: DCT coefficient statistics and the double-JPEG cue.

Oracles: loops and hand-worked counts; real JPEGs written by OpenCV (libjpeg's quality tables:
the (1, 0) step is 12 at quality 50 and 2 at quality 90), with the block DCT computed here by
scipy, so this task does not depend on 3.4.
"""
import cv2
import numpy as np
import pytest
import scipy.fft

from phase3_frequency_analysis import template_dct_analysis as dct
from tests.tolerances import (DOUBLE_JPEG_MIN_SHARE_ON_COMB, DOUBLE_JPEG_MIN_SCORE, FLOAT64_EXACT,
                              SINGLE_JPEG_MAX_SCORE, SINGLE_JPEG_MAX_SHARE_ON_COMB)

pytestmark = pytest.mark.task("3.6")


def oracle_block_dct(gray):
    rows, cols = gray.shape[0] // 8, gray.shape[1] // 8
    out = np.empty((rows, cols, 8, 8))
    for by in range(rows):
        for bx in range(cols):
            out[by, bx] = scipy.fft.dctn(gray[8 * by:8 * by + 8, 8 * bx:8 * bx + 8].astype(np.float64) - 128, norm="ortho")
    return out


def jpeg(gray, quality):
    ok, buffer = cv2.imencode(".jpg", gray, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(buffer, cv2.IMREAD_GRAYSCALE)


@pytest.fixture(scope="module")
def face():
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)[0:256, 128:384]


def test_mean_abs_of_two_blocks_worked_by_hand():
    coefficients = np.zeros((1, 2, 8, 8))
    coefficients[0, 0, 0, 1], coefficients[0, 1, 0, 1] = 3.0, -5.0
    coefficients[0, 1, 6, 2] = 8.0
    expected = np.zeros((8, 8))
    expected[0, 1], expected[6, 2] = 4.0, 4.0
    np.testing.assert_allclose(dct.mean_abs_coefficients(coefficients), expected, **FLOAT64_EXACT)
    # the same blocks as a flat (2, 8, 8) list, and one block alone
    np.testing.assert_allclose(dct.mean_abs_coefficients(coefficients[0]), expected, **FLOAT64_EXACT)
    np.testing.assert_allclose(dct.mean_abs_coefficients(coefficients[0, 1]), np.abs(coefficients[0, 1]), **FLOAT64_EXACT)


def test_mean_abs_matches_a_loop_and_jpeg_empties_the_high_frequencies(face):
    compressed = oracle_block_dct(jpeg(face, 30))
    means = dct.mean_abs_coefficients(compressed)
    assert means.shape == (8, 8)
    expected = np.array([[np.mean([abs(compressed[by, bx, u, v]) for by in range(32) for bx in range(32)])
                          for v in range(8)] for u in range(8)])
    np.testing.assert_allclose(means, expected, rtol=1e-10, atol=1e-12)
    original = dct.mean_abs_coefficients(oracle_block_dct(face))
    assert means[7, 7] < 0.2 * original[7, 7], "quality 30 quantises (7, 7) with a step of ~167: almost all zero"


def test_histogram_worked_by_hand():
    coefficients = np.zeros((1, 5, 8, 8))
    coefficients[0, :, 1, 3] = [0.0, 2.1, -3.9, 4.0, 9.0]
    coefficients[0, :, 3, 1] = 100.0  # another frequency: must not be counted
    histogram = dct.coefficient_histogram(coefficients, 1, 3, step=2.0, max_abs=2)
    assert histogram.tolist() == [1, 0, 1, 1, 1], "rint(value / step), counts for -2..2, |k| > max_abs left out"
    assert histogram.dtype.kind == "i"


def test_histogram_matches_numpy_histogram_with_half_integer_edges():
    coefficients = np.random.default_rng(3).normal(scale=15.0, size=(6, 9, 8, 8))
    histogram = dct.coefficient_histogram(coefficients, 2, 0, step=3.0, max_abs=4)
    expected, _ = np.histogram(coefficients[..., 2, 0] / 3.0, bins=np.arange(-4.5, 5.0, 1.0))
    assert histogram.tolist() == expected.tolist()


def test_double_jpeg_leaves_only_every_sixth_bin_filled(face):
    """(1, 0): step 12 at quality 50, then 2 at quality 90 -> only multiples of 12 / 2 = 6 stay filled."""
    single = dct.coefficient_histogram(oracle_block_dct(jpeg(face, 90)), 1, 0, step=2, max_abs=20)
    double = dct.coefficient_histogram(oracle_block_dct(jpeg(jpeg(face, 50), 90)), 1, 0, step=2, max_abs=20)
    on_comb = np.arange(-20, 21) % 6 == 0
    assert double[on_comb].sum() / double.sum() > DOUBLE_JPEG_MIN_SHARE_ON_COMB, double.tolist()
    assert single[on_comb].sum() / single.sum() < SINGLE_JPEG_MAX_SHARE_ON_COMB, single.tolist()
    assert dct.double_compression_score(double) > DOUBLE_JPEG_MIN_SCORE
    assert dct.double_compression_score(single) < SINGLE_JPEG_MAX_SCORE


def test_score_worked_by_hand():
    assert dct.double_compression_score(np.array([0, 3, 0, 3, 0])) == pytest.approx(1.0, abs=1e-12)
    assert dct.double_compression_score(np.array([1, 2, 3, 4, 5])) == pytest.approx(0.0, abs=1e-12), \
        "a straight line is its own envelope"
    # [2, 8, 2, 2]: envelopes 4, 4 -> departures 4, 2 over the interior total 10
    assert dct.double_compression_score(np.array([2, 8, 2, 2])) == pytest.approx(0.6, abs=1e-12)
    # a single count: envelope 1/3, departure 2/3
    assert dct.double_compression_score(np.array([0, 1, 0])) == pytest.approx(2 / 3, abs=1e-12)


def test_score_of_an_empty_interior_is_zero():
    assert dct.double_compression_score(np.zeros(7)) == 0.0
    assert dct.double_compression_score(np.array([5, 0, 0, 0, 7])) == 0.0


def test_score_matches_a_loop():
    histogram = np.random.default_rng(4).integers(0, 50, size=17)
    departures = sum(abs(histogram[k] - (histogram[k - 1] + histogram[k] + histogram[k + 1]) / 3) for k in range(1, 16))
    assert dct.double_compression_score(histogram) == pytest.approx(departures / histogram[1:16].sum(), rel=1e-12)
