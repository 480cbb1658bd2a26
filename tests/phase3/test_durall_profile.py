"""Task 3.3: Durall et al.'s log-magnitude spectrum and interpolated profile.

Oracles: the DFT as matrix products, |F| of nearest-neighbour upsampling worked by hand, a
brute-force ring mean with scipy's CubicSpline, and textures whose spectrum is known in cycles per
pixel.
"""
import cv2
import numpy as np
import pytest
import torch

from phase3_frequency_analysis import template_fft_analysis as fft
from tests.phase3 import oracles
from tests.tolerances import DURALL_PROFILE_SIZE_AGREEMENT_MEAN_ABS, FLOAT32_KERNEL

pytestmark = pytest.mark.task("3.3")


def test_log_magnitude_is_twenty_natural_logs_of_the_centred_dft():
    image = np.random.default_rng(0).random((10, 14, 3)) * 255
    expected = 20 * np.log(np.abs(oracles.centred_dft(image)) + 1e-8)
    np.testing.assert_allclose(fft.log_magnitude_spectrum(image), expected, rtol=1e-9, atol=1e-9,
                               err_msg="20 * ln(|fftshift(fft2(gray))| + eps), natural log as in the authors' code")


def test_log_magnitude_of_ones_worked_by_hand():
    spectrum = fft.log_magnitude_spectrum(np.ones((4, 4)))
    assert spectrum[2, 2] == pytest.approx(20 * np.log(16.0 + 1e-8), abs=1e-9)
    others = np.delete(spectrum.ravel(), 2 * 4 + 2)
    np.testing.assert_allclose(others, 20 * np.log(1e-8), atol=1e-6, err_msg="eps = 1e-8 is added to |F|")


def test_nearest_neighbour_upsampling_puts_peaks_at_the_predicted_frequencies():
    """A 32x32 cosine of 8 cycles, repeated 2x2: |Y(0, k)| = |X(0, k mod 32)| * 2 * 2|cos(pi k / 64)|."""
    x = np.arange(32)
    small = np.tile(128 + 50 * np.cos(2 * np.pi * 8 * x / 32), (32, 1))
    upsampled = np.repeat(np.repeat(small, 2, axis=0), 2, axis=1)
    spectrum = fft.log_magnitude_spectrum(upsampled)
    peak = 50 * 32 * 32 / 2  # |X(0, 8)| of the small image
    assert spectrum[32, 32 + 8] == pytest.approx(20 * np.log(4 * peak * np.cos(np.pi / 8)), abs=1e-6)
    assert spectrum[32, 32 + 24] == pytest.approx(20 * np.log(4 * peak * np.cos(3 * np.pi / 8)), abs=1e-6), \
        "the replica of the 8-cycle cosine sits at 32 - 8 = 24 cycles per image"
    assert spectrum[32, 32 - 24] == pytest.approx(spectrum[32, 32 + 24], abs=1e-6)
    assert spectrum[32, 0] < -300, "nearest-neighbour upsampling leaves nothing on the Nyquist column"
    finite = spectrum > -300
    assert finite.sum() == 5, "DC, the cosine and its replica (both signs): nothing else"


@pytest.mark.parametrize("size, n_bins", [(16, 64), (21, 33), (40, 81), (6, 10)])
def test_profile_matches_ring_means_and_a_cubic_spline(size, n_bins):
    image = np.random.default_rng(size).integers(0, 256, size=(size, size, 3)).astype(np.uint8)
    profile = fft.durall_profile(image, n_bins)
    assert profile.shape == (n_bins,)
    np.testing.assert_allclose(profile, oracles.durall_profile(image, n_bins), rtol=1e-9, atol=1e-9,
                               err_msg="rings 0..S//2 at r/S cycles per pixel, cubic interp1d on linspace(0, 0.5, n_bins), / bin 0")
    assert profile[0] == 1.0


def test_two_sizes_of_the_same_texture_give_the_same_profile_and_peak():
    """A texture peaked at 0.125 cycles per pixel: bin 0.125 / (0.5 / 80) = 20 at any crop size."""
    small = fft.durall_profile(oracles.band_texture(64, seed=0), 81)
    large = fft.durall_profile(oracles.band_texture(128, seed=1), 81)
    assert int(np.argmax(small[5:])) + 5 == 20 and int(np.argmax(large[5:])) + 5 == 20, \
        "the profile's axis is cycles per pixel: ring r of an S-pixel crop is at r / S"
    assert np.mean(np.abs(small - large)) < DURALL_PROFILE_SIZE_AGREEMENT_MEAN_ABS
    resized = cv2.resize(oracles.band_texture(256, seed=2), (128, 128), interpolation=cv2.INTER_AREA)
    moved = fft.durall_profile(resized, 81)
    assert int(np.argmax(moved[5:])) + 5 == 40, "halving the crop doubles every frequency: never resize"


def test_face_spectrum_features_of_any_size_feed_the_registered_model():
    """The provided feature function (profile + high-frequency ratio) on crops of any size."""
    from phase3_frequency_analysis import template_spectral_features as spectral

    rng = np.random.default_rng(7)
    rows = []
    for size in (37, 64, 150):
        crop = rng.integers(0, 256, size=(size, size, 3)).astype(np.uint8)
        features = spectral.face_spectrum_features(crop)
        assert features.shape == (spectral.N_FEATURES,) and features.dtype == np.float32
        np.testing.assert_allclose(features[:-1], oracles.durall_profile(crop, spectral.PROFILE_BINS), rtol=1e-5)
        rows.append(features)
    model = spectral.SpectralLogistic(n_features=spectral.N_FEATURES)
    batch = torch.from_numpy(np.stack(rows))
    logits = model(batch)
    assert logits.shape == (3, 1)
    expected = model.linear((batch - model.centre) / model.scale)
    torch.testing.assert_close(logits, expected, **FLOAT32_KERNEL)
