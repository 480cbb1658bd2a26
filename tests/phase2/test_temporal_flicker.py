"""Task 2.2: power of a per-frame series above a cut-off, checked by hand and against scipy's periodogram."""
import numpy as np
import pytest
from scipy import signal

from phase2_temporal_analysis import template_temporal_features as temporal
from tests.tolerances import FLOAT64_EXACT, SPECTRUM_VS_SCIPY

pytestmark = pytest.mark.task("2.2")


def test_worked_example_sinusoid_above_and_below_the_cutoff():
    t = np.arange(50) / 25.0
    series = 0.1 * np.sin(2 * np.pi * 5.0 * t)  # 5 Hz is exactly bin 10 of 50 frames at 25 fps
    assert float(temporal.high_frequency_energy(series, 25.0, 2.0)) == pytest.approx(0.005, abs=1e-12), \
        "a sinusoid of amplitude A has power A^2 / 2 at its frequency (one-sided spectrum)"
    assert float(temporal.high_frequency_energy(series, 25.0, 6.0)) == pytest.approx(0.0, abs=1e-12)


def test_the_mean_is_not_energy_and_slow_drift_stays_below_the_cutoff():
    t = np.arange(100) / 25.0
    slow = 0.7 + 0.2 * np.sin(2 * np.pi * 0.5 * t)  # 0.5 Hz head motion on a bright face
    assert float(temporal.high_frequency_energy(slow, 25.0, 3.0)) == pytest.approx(0.0, abs=1e-12)
    assert float(temporal.high_frequency_energy(slow, 25.0, 0.25)) == pytest.approx(0.02, abs=1e-12)


def test_cutoff_zero_gives_the_variance_for_odd_and_even_lengths():
    rng = np.random.default_rng(3)
    for n in (31, 32):
        series = rng.normal(size=n)
        np.testing.assert_allclose(temporal.high_frequency_energy(series, 25.0, 0.0), np.var(series),
                                   **FLOAT64_EXACT, err_msg=f"Parseval, T={n}: the Nyquist bin has no twin")


def test_matches_scipy_periodogram_per_channel():
    rng = np.random.default_rng(0)
    series = rng.normal(size=(40, 4)) * [0.01, 0.02, 0.03, 0.04] + np.linspace(0, 1, 40)[:, None]
    frequencies, power = signal.periodogram(series, fs=30.0, window="boxcar", detrend="constant",
                                            scaling="spectrum", axis=0)
    result = temporal.high_frequency_energy(series, 30.0, 4.0)
    assert np.shape(result) == (4,), "one energy per channel"
    np.testing.assert_allclose(result, power[frequencies > 4.0].sum(axis=0), **SPECTRUM_VS_SCIPY)
