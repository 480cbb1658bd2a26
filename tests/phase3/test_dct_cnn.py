"""Task 3.12: Frank et al.'s log-DCT input computed in torch, and the DCT CNN built on it.

Oracles: scipy's orthonormal DCT-II (``scipy.fft.dctn``) in float64, and a 4x4 image worked by hand.
"""
import numpy as np
import pytest
import scipy.fft
import torch

from phase3_frequency_analysis import template_spectral_features as spectral
from tests.tolerances import LOG_DCT_ATOL

pytestmark = pytest.mark.task("3.12")


def scipy_basis(n: int) -> torch.Tensor:
    return torch.from_numpy(scipy.fft.dct(np.eye(n), norm="ortho", axis=0)).float()


def scipy_log_dct(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log|DCT| + 1e-12, |DCT|) over the last two axes in float64."""
    coefficients = scipy.fft.dctn(images.astype(np.float64), axes=(-2, -1), norm="ortho")
    return np.log(np.abs(coefficients) + 1e-12), np.abs(coefficients)


def test_log_dct_of_ones_worked_by_hand():
    result = spectral.log_dct(torch.ones(1, 1, 4, 4), scipy_basis(4))
    assert result.shape == (1, 1, 4, 4) and result.dtype == torch.float32
    assert result[0, 0, 0, 0].item() == pytest.approx(np.log(4.0), abs=1e-5), "orthonormal DC of 4x4 ones: 16 / 4"
    rest = result.flatten()[1:]
    assert (rest < -20).all(), "the other coefficients are 0 (float32 rounding at most 1e-7): log(|x| + 1e-12) < -16"


def test_log_dct_matches_scipy_per_channel():
    images = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    result = spectral.log_dct(images, scipy_basis(16)).numpy()
    expected, magnitude = scipy_log_dct(images.numpy())
    sizeable = magnitude > 1e-3
    assert sizeable.mean() > 0.95
    np.testing.assert_allclose(result[sizeable], expected[sizeable], atol=LOG_DCT_ATOL,
                               err_msg="basis @ X @ basis.T per channel (rows = vertical frequency), then log(|x| + eps)")


def test_log_dct_of_a_vertical_cosine_sits_in_the_first_column():
    """Rows vary, columns do not: all energy at (u, 0), u = the cosine's half-periods down the image."""
    rows = np.cos((2 * np.arange(8) + 1) * 3 * np.pi / 16)[:, None] * np.ones((1, 8))
    result = spectral.log_dct(torch.from_numpy(rows).float()[None, None], scipy_basis(8))[0, 0]
    assert result[3, 0] == result.max(), "a cosine of 3 half-periods down the rows is coefficient (3, 0), not (0, 3)"
    assert result[3, 0].item() == pytest.approx(np.log(4 * np.sqrt(8) / 2), abs=1e-4)


def test_log_dct_stays_float32_under_autocast():
    """Under autocast a matmul runs in low precision; the log-DCT must not."""
    images = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        result = spectral.log_dct(images, scipy_basis(16))
    assert result.dtype == torch.float32
    expected, magnitude = scipy_log_dct(images.numpy())
    sizeable = magnitude > 1e-3
    np.testing.assert_allclose(result.numpy()[sizeable], expected[sizeable], atol=LOG_DCT_ATOL,
                               err_msg="switch autocast off (torch.autocast(..., enabled=False)) around the DCT")


def test_dct_cnn_feeds_its_convolutions_the_standardised_log_dct():
    torch.manual_seed(0)
    model = spectral.DCTConvNet(input_size=16)
    images = torch.rand(8, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    model.train()
    spectra = model.spectrum(images).detach().numpy()
    expected, _ = scipy_log_dct(images.numpy())
    flat = expected.reshape(8, -1)
    standard = (flat - flat.mean(axis=0)) / np.sqrt(flat.var(axis=0) + 1e-5)
    np.testing.assert_allclose(spectra.reshape(8, -1), standard, atol=5e-3,
                               err_msg="in training, every coefficient standardised with the batch's mean and variance")
    assert model(images).shape == (8,)
