"""Task 3.5: Frank et al.'s log-DCT input and its per-coefficient standardisation.

Oracles: the DCT as products with cosine matrices written from the formula (Frank et al. check
theirs against numpy at atol 1e-6), and means and deviations worked by hand or by a loop.
"""
import numpy as np
import pytest

from phase3_frequency_analysis import template_dct_analysis as dct
from tests.tolerances import FLOAT64_EXACT, FRANK_DCT_ATOL

pytestmark = pytest.mark.task("3.5")


def cosine_matrix(n):
    k = np.arange(n)
    matrix = np.cos(np.pi * np.outer(k, 2 * k + 1) / (2 * n)) * np.sqrt(2 / n)
    matrix[0] /= np.sqrt(2)
    return matrix


def test_log_dct_of_ones_worked_by_hand():
    spectrum = dct.log_dct_spectrum(np.ones((4, 4)))
    assert spectrum[0, 0] == pytest.approx(np.log(4.0), abs=1e-12), "orthonormal DC of a 4x4 image of ones: 16 / 4"
    np.testing.assert_allclose(np.delete(spectrum.ravel(), 0), np.log(1e-12), atol=1e-3,
                               err_msg="log(|x| + 1e-12): a zero coefficient becomes log(1e-12) ~ -27.6")


def test_log_dct_of_a_colour_image_is_per_channel_over_the_image_axes():
    image = np.random.default_rng(0).random((6, 10, 3)) * 255
    rows, cols = cosine_matrix(6), cosine_matrix(10)
    expected = np.stack([np.log(np.abs(rows @ image[..., c] @ cols.T) + 1e-12) for c in range(3)], axis=-1)
    result = dct.log_dct_spectrum(image)
    assert result.shape == (6, 10, 3)
    np.testing.assert_allclose(result, expected, atol=FRANK_DCT_ATOL,
                               err_msg="whole-image orthonormal DCT-II over axes (0, 1), no level shift, no blocks")


def test_log_dct_of_a_gray_image_and_of_negative_coefficients():
    image = np.random.default_rng(1).normal(size=(5, 7))
    rows, cols = cosine_matrix(5), cosine_matrix(7)
    coefficients = rows @ image @ cols.T
    assert (coefficients < 0).any()
    np.testing.assert_allclose(dct.log_dct_spectrum(image), np.log(np.abs(coefficients) + 1e-12), atol=FRANK_DCT_ATOL)


def test_standardiser_worked_by_hand():
    mean, std = dct.fit_standardiser(np.array([[[1.0, 10.0]], [[3.0, 30.0]]]))
    np.testing.assert_allclose(mean, [[2.0, 20.0]], **FLOAT64_EXACT)
    np.testing.assert_allclose(std, [[1.0, 10.0]], **FLOAT64_EXACT, err_msg="population standard deviation (ddof=0)")
    np.testing.assert_allclose(dct.standardise(np.array([[5.0, 0.0]]), mean, std), [[3.0, -2.0]], **FLOAT64_EXACT)


def test_standardiser_matches_a_loop_and_uses_the_training_statistics():
    rng = np.random.default_rng(2)
    train = rng.normal(loc=5.0, scale=3.0, size=(7, 4, 3))
    val = rng.normal(loc=5.0, scale=3.0, size=(2, 4, 3))
    mean, std = dct.fit_standardiser(train)
    assert mean.shape == std.shape == (4, 3)
    for i in range(4):
        for j in range(3):
            values = [train[n, i, j] for n in range(7)]
            mu = sum(values) / 7
            sigma = (sum((v - mu) ** 2 for v in values) / 7) ** 0.5
            assert mean[i, j] == pytest.approx(mu, abs=1e-12) and std[i, j] == pytest.approx(sigma, abs=1e-12)
    standard_train = dct.standardise(train, mean, std)
    np.testing.assert_allclose(standard_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(standard_train.std(axis=0), 1.0, atol=1e-12)
    np.testing.assert_allclose(dct.standardise(val, mean, std), (val - mean) / std, **FLOAT64_EXACT,
                               err_msg="validation spectra are standardised with the training mean and std")
