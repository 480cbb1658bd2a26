"""Task 3.4: JPEG's 8x8 block DCT, checked against scipy, OpenCV and blocks worked by hand."""
import cv2
import numpy as np
import pytest
import scipy.fft

from phase3_frequency_analysis import template_dct_analysis as dct
from tests.tolerances import BLOCK_DCT_VS_OPENCV_ATOL, FLOAT64_EXACT

pytestmark = pytest.mark.task("3.4")


def test_dct_matrix_of_size_two_worked_by_hand():
    r = 1 / np.sqrt(2)
    np.testing.assert_allclose(dct.dct_matrix(2), [[r, r], [r, -r]], **FLOAT64_EXACT)


@pytest.mark.parametrize("n", [3, 8])
def test_dct_matrix_is_scipy_orthonormal_dct_of_the_identity(n):
    matrix = dct.dct_matrix(n)
    # column x of the identity is the unit vector e_x; its DCT is column x of C
    np.testing.assert_allclose(matrix, scipy.fft.dct(np.eye(n), norm="ortho", axis=0), **FLOAT64_EXACT,
                               err_msg="C[u, x] = a(u) cos((2x + 1) u pi / 2n), a(0) = sqrt(1/n), a(u) = sqrt(2/n)")
    np.testing.assert_allclose(matrix @ matrix.T, np.eye(n), atol=1e-12, err_msg="orthonormal: C C^T = I")


def test_constant_block_has_only_a_dc_term_of_eight_times_the_shifted_mean():
    coefficients = dct.block_dct(np.full((8, 8), 130.0))
    assert coefficients.shape == (1, 1, 8, 8)
    expected = np.zeros((8, 8))
    expected[0, 0] = 8 * (130 - 128)
    np.testing.assert_allclose(coefficients[0, 0], expected, atol=1e-12,
                               err_msg="level shift by 128 first; orthonormal DC = sum / 8")


def test_a_cosine_basis_block_lights_exactly_one_coefficient():
    x = np.arange(8)
    # vertical frequency u = 2 (rows), horizontal v = 5 (columns), amplitude 40 around 128
    block = 128 + 40 * np.outer(np.cos((2 * x + 1) * 2 * np.pi / 16), np.cos((2 * x + 1) * 5 * np.pi / 16))
    coefficients = dct.block_dct(block)[0, 0]
    expected = np.zeros((8, 8))
    expected[2, 5] = 40 * 4  # a(2) a(5) * sum over the block of cos^2 * cos^2 = (1/2)(4)(4)... = 40 * 4
    np.testing.assert_allclose(coefficients, expected, atol=1e-9,
                               err_msg="[u, v]: u is the vertical (row) frequency, v the horizontal one")


def test_matches_scipy_dctn_on_every_block_of_a_colour_image():
    image = np.random.default_rng(0).integers(0, 256, size=(21, 35, 3)).astype(np.uint8)
    coefficients = dct.block_dct(image)
    assert coefficients.shape == (2, 4, 8, 8), "the last 21 % 8 rows and 35 % 8 columns are dropped"
    gray = image.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    for by in range(2):
        for bx in range(4):
            block = gray[8 * by:8 * by + 8, 8 * bx:8 * bx + 8] - 128
            np.testing.assert_allclose(coefficients[by, bx], scipy.fft.dctn(block, norm="ortho"), rtol=1e-10, atol=1e-9,
                                       err_msg=f"block ({by}, {bx})")


def test_matches_opencv_dct_on_a_real_photograph():
    from skimage import data

    gray = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)[40:104, 160:240]
    coefficients = dct.block_dct(gray)
    for by in range(8):
        for bx in range(10):
            block = gray[8 * by:8 * by + 8, 8 * bx:8 * bx + 8].astype(np.float32) - 128
            np.testing.assert_allclose(coefficients[by, bx], cv2.dct(block), atol=BLOCK_DCT_VS_OPENCV_ATOL)


def test_only_the_block_that_changed_has_ac_energy():
    image = np.full((24, 32), 128.0)
    image[8:16, 16:24] = np.random.default_rng(1).integers(0, 256, size=(8, 8))
    coefficients = dct.block_dct(image)
    energy = (coefficients ** 2).sum(axis=(2, 3))
    assert np.argwhere(energy > 1e-9).tolist() == [[1, 2]], "block (by, bx) covers rows 8 by.., columns 8 bx.."
