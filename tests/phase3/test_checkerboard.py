"""Task 3.13: the checkerboard amplitude, against numpy's DFT and a gain pattern worked by hand."""
import numpy as np
import pytest

from phase3_frequency_analysis import template_fft_analysis as fft
from tests.tolerances import CHECKERBOARD_FLOAT32_RTOL, FLOAT64_EXACT

pytestmark = pytest.mark.task("3.13")


def test_even_sizes_give_the_nyquist_coefficients_of_numpys_dft_over_dc():
    rng = np.random.default_rng(0)
    image = rng.uniform(20, 230, (24, 30, 3))
    gray = image @ np.array([0.299, 0.587, 0.114])
    spectrum = np.fft.fft2(gray)  # not shifted: [0, 0] is DC, [0, W/2] the Nyquist column frequency
    expected = np.abs([spectrum[0, 15], spectrum[12, 0], spectrum[12, 15]]) / spectrum[0, 0].real
    np.testing.assert_allclose(fft.checkerboard_amplitude(image), expected, **FLOAT64_EXACT,
                               err_msg="[along the rows, down the columns, diagonal], each over the mean (DC)")


def test_a_gain_pattern_of_period_two_gives_2m_2m_and_4m_squared():
    m, v = 0.02, 120.0
    sx = (-1.0) ** np.arange(16)
    image = v * np.outer(1 + 2 * m * sx[:12], 1 + 2 * m * sx)  # 12 rows, 16 columns
    np.testing.assert_allclose(fft.checkerboard_amplitude(image), [2 * m, 2 * m, 4 * m * m], **FLOAT64_EXACT)
    only_columns = v * np.outer(np.ones(12), 1 + 2 * m * sx)
    np.testing.assert_allclose(fft.checkerboard_amplitude(only_columns), [2 * m, 0.0, 0.0], atol=1e-15,
                               err_msg="columns alternating: the pattern is along the rows (index 0) only")


def test_the_benchmarks_gan_upsampling_shows_its_mismatch_inside_the_face():
    """common.synthetic.manipulations.gan_upsample: even outputs gain 1 + 2m, odd ones 1 - 2m (its
    docstring); away from the reflected border a flat patch shows exactly that pattern."""
    from common.synthetic.manipulations import gan_upsample

    m = 0.015
    upsampled = gan_upsample(np.full((32, 32, 3), 100.0, dtype=np.float32), m)
    inside = upsampled[4:28, 4:28]  # even offset and size: the pattern's phase and period are whole
    np.testing.assert_allclose(fft.checkerboard_amplitude(inside), [2 * m, 2 * m, 4 * m * m], rtol=CHECKERBOARD_FLOAT32_RTOL)


def test_the_result_does_not_depend_on_where_the_crop_starts_or_on_brightness():
    m, sx = 0.02, (-1.0) ** np.arange(17)
    image = 90.0 * np.outer(1 + 2 * m * sx, 1 + 2 * m * sx)  # 17 x 17: row and column 0 have gain 1 + 2m
    even_start, odd_start = image[:16, :16], image[1:, 1:]  # the second starts on a 1 - 2m pixel
    np.testing.assert_allclose(fft.checkerboard_amplitude(odd_start), fft.checkerboard_amplitude(even_start),
                               **FLOAT64_EXACT, err_msg="an odd offset only flips the signs: take absolute values")
    np.testing.assert_allclose(fft.checkerboard_amplitude(3 * odd_start), [2 * m, 2 * m, 4 * m * m],
                               **FLOAT64_EXACT, err_msg="divide by the sum of the image (DC)")


def test_a_smooth_image_has_almost_none_and_a_black_one_gives_zeros():
    y, x = np.mgrid[0:40, 0:40]
    smooth = 100 + 30 * np.sin(2 * np.pi * x / 40) * np.cos(2 * np.pi * y / 40)
    assert np.all(fft.checkerboard_amplitude(smooth) < 1e-12)
    np.testing.assert_array_equal(fft.checkerboard_amplitude(np.zeros((8, 8, 3))), np.zeros(3))
