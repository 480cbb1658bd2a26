"""Phase 3 figures (provided code built on tasks 3.1, 3.3, 3.4 and 3.6): what they compute, and the PNGs.

Oracles: the phase-3 tests' own DFT, ring means and Durall profile (``tests/phase3/oracles.py``),
OpenCV's ``cv2.dct`` for the blocks, and PNG signatures for the files.
"""
import cv2
import numpy as np
import pytest

from phase3_frequency_analysis import spectral_figures as figures
from tests.phase3 import oracles
from tests.tolerances import DURALL_PROFILE_SIZE_AGREEMENT_MEAN_ABS


def crops_with_labels():
    """Real: smooth band-limited textures; fake: the same kind of texture with every other column
    repeated (nearest-neighbour 2x upsampling, a replica spectrum); sizes 40-56 px."""
    crops, labels = [], []
    for index, side in enumerate((40, 48, 56, 44)):
        real = np.clip(oracles.band_texture(side, seed=index, peak=0.05), 0, 255)
        half = np.clip(oracles.band_texture(side // 2, seed=10 + index, peak=0.1), 0, 255)
        fake = np.repeat(np.repeat(half, 2, axis=0), 2, axis=1)
        crops += [np.repeat(real[..., None], 3, axis=2).astype(np.uint8), np.repeat(fake[..., None], 3, axis=2).astype(np.uint8)]
        labels += [0, 1]
    return crops, labels


@pytest.mark.task("3.1")
def test_mean_spectra_use_the_smallest_centre_and_average_the_log_power():
    crops, labels = crops_with_labels()
    spectra, side = figures.mean_log_spectra(crops, labels)
    assert side == 40 and set(spectra) == {0, 1} and spectra[0].shape == (40, 40)
    expected = np.mean([np.log(np.abs(oracles.centred_dft(figures.centre_crop(c, 40))) ** 2 + 1e-8)
                        for c, label in zip(crops, labels) if label == 1], axis=0)
    np.testing.assert_allclose(spectra[1], expected, atol=1e-6)


@pytest.mark.task("3.3")
def test_profile_statistics_are_mean_and_spread_of_durall_profiles():
    crops, labels = crops_with_labels()
    statistics = figures.profile_statistics(crops, labels, n_bins=33)
    real = np.stack([oracles.durall_profile(c, 33) for c, label in zip(crops, labels) if label == 0])
    mean, std = statistics[0]
    assert mean.shape == std.shape == (33,)
    assert np.abs(mean - real.mean(axis=0)).mean() < DURALL_PROFILE_SIZE_AGREEMENT_MEAN_ABS / 10
    np.testing.assert_allclose(std, real.std(axis=0), atol=1e-3)
    fake_mean = statistics[1][0]
    assert fake_mean[-1] < mean[-1] - 0.1, "nearest-neighbour 2x upsampling leaves nothing on the Nyquist line"


@pytest.mark.task("3.6")
def test_dct_histograms_pool_the_blocks_of_each_class():
    crops, labels = crops_with_labels()
    table = figures.dct_histograms(crops, labels, coefficients=((0, 1), (1, 1)), step=2.0, max_abs=10)
    assert table[0].shape == (2, 21)
    values = []
    for crop, label in zip(crops, labels):
        if label != 0:
            continue
        gray = crop[..., 0].astype(np.float32) - 128  # gray crops: every channel equal, luma = the channel
        for y in range(0, gray.shape[0] - 7, 8):
            for x in range(0, gray.shape[1] - 7, 8):
                values.append(cv2.dct(np.ascontiguousarray(gray[y:y + 8, x:x + 8]))[1, 1])
    bins = np.rint(np.array(values) / 2.0).astype(int)
    bins = bins[np.abs(bins) <= 10]
    expected = np.bincount(bins + 10, minlength=21) / len(bins)
    np.testing.assert_allclose(table[0][1], expected, atol=1e-9)
    np.testing.assert_allclose(table[1].sum(axis=1), 1.0, atol=1e-12)


@pytest.mark.task("3.3")
def test_write_figures_writes_three_pngs(tmp_path):
    crops, labels = crops_with_labels()
    written = figures.write_figures(crops, labels, tmp_path / "figures", note=" (test)")
    assert [path.name for path in written] == ["mean_spectra.png", "radial_profiles.png", "dct_histograms.png"]
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
