"""Task 3.1: radial power spectrum, checked against numpy's FFT and a brute-force ring average."""

import numpy as np
import pytest

from phase3_frequency_analysis import template_fft_analysis as fft
from tests.phase3 import oracles
from tests.tolerances import FLOAT64_EXACT

pytestmark = pytest.mark.task("3.1")


def test_log_power_spectrum_matches_numpy_fft_definition():
    image = np.random.default_rng(0).random((16, 12, 3))
    gray = image @ np.array([0.299, 0.587, 0.114])
    # oracle: the DFT written as two matrix products, not np.fft
    rows = np.exp(-2j * np.pi * np.outer(np.arange(16), np.arange(16)) / 16)
    cols = np.exp(-2j * np.pi * np.outer(np.arange(12), np.arange(12)) / 12)
    dft = rows @ gray @ cols.T
    expected = np.log(np.abs(np.roll(dft, (8, 6), axis=(0, 1))) ** 2 + 1e-8)
    np.testing.assert_allclose(fft.log_power_spectrum(image), expected, **FLOAT64_EXACT,
                               err_msg="log |F|^2 must be centred with fftshift (DC at (H//2, W//2))")


def test_constant_image_has_all_power_at_the_centre():
    spectrum = fft.log_power_spectrum(np.full((8, 8), 5.0))
    assert np.unravel_index(np.argmax(spectrum), spectrum.shape) == (4, 4), "DC must sit at (H//2, W//2)"


@pytest.mark.parametrize("shape", [(8, 8), (9, 13), (32, 24)])
def test_azimuthal_average_equals_brute_force_ring_mean(shape):
    spectrum = np.random.default_rng(1).normal(size=shape)
    n_bins = min(shape) // 2
    np.testing.assert_allclose(fft.azimuthal_average(spectrum), oracles.ring_means(spectrum, n_bins),
                               **FLOAT64_EXACT, err_msg="ring r = round(distance to (H//2, W//2))")


def test_azimuthal_average_of_a_4x4_worked_by_hand():
    spectrum = np.arange(16, dtype=float).reshape(4, 4)
    # centre (2, 2) = 10; ring 1 = {6, 9, 11, 14} (distance 1) and {5, 7, 13, 15} (distance 1.41)
    expected = [10.0, (6 + 9 + 11 + 14 + 5 + 7 + 13 + 15) / 8]
    np.testing.assert_allclose(fft.azimuthal_average(spectrum), expected, **FLOAT64_EXACT)


def test_radial_profile_of_a_cosine_peaks_at_its_frequency():
    size, cycles = 64, 10
    x = np.arange(size)
    image = np.tile(128 + 100 * np.cos(2 * np.pi * cycles * x / size), (size, 1))
    profile = fft.radial_power_spectrum(image)
    assert profile.shape == (size // 2,)
    assert int(np.argmax(profile[1:])) + 1 == cycles, "a cosine with 10 cycles per image puts its power on ring 10"
