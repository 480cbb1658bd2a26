"""Task 4.5: GREEN and CHROM (de Haan & Jeanne 2013) worked by hand on small traces, and the
property CHROM was designed for: a lighting change common to R, G and B cancels."""
import numpy as np
import pytest

from phase4_biological_signals import template_pulse_detection as pulse
from tests.tolerances import GREEN_MAX_CORRELATION, PULSE_EXACT, RPPG_MIN_CORRELATION

pytestmark = pytest.mark.task("4.5")


def test_green_is_the_normalised_green_channel():
    rgb = np.array([[50.0, 100.0, 10.0], [51.0, 101.0, 10.0], [49.0, 99.0, 10.0]])
    np.testing.assert_allclose(pulse.green(rgb), [0.0, 0.01, -0.01], **PULSE_EXACT)


def test_chrom_window_worked_example():
    # Rn = 1, Gn = [.5, 1, 1.5], Bn = 1 -> X = 3Rn - 2Gn = [2, 1, 0], Y = 1.5Rn + Gn - 1.5Bn = [.5, 1, 1.5]
    # alpha = std(X) / std(Y) = 2, S = X - 2Y = [1, -1, -3], minus its mean -1
    rgb = np.array([[2.0, 1.0, 1.0], [2.0, 2.0, 1.0], [2.0, 3.0, 1.0]])
    np.testing.assert_allclose(pulse.chrom_window(rgb), [2.0, 0.0, -2.0], **PULSE_EXACT)


def test_chrom_window_with_all_channels_moving():
    # R = [1, 2, 3] -> Rn = [.5, 1, 1.5]; G = 2 -> Gn = 1; B = [2, 2, 5] -> Bn = [2/3, 2/3, 5/3]
    # X = 3Rn - 2 = [-.5, 1, 2.5]; Y = 1.5Rn + 1 - 1.5Bn = [.75, 1.5, .75]
    # std(X) = sqrt(1.5), std(Y) = sqrt(.125): alpha = sqrt(12); S = X - alpha Y, minus its mean
    rgb = np.array([[1.0, 2.0, 2.0], [2.0, 2.0, 2.0], [3.0, 2.0, 5.0]])
    x, y = np.array([-0.5, 1.0, 2.5]), np.array([0.75, 1.5, 0.75])
    s = x - np.sqrt(12.0) * y
    np.testing.assert_allclose(pulse.chrom_window(rgb), s - s.mean(), **PULSE_EXACT)


def test_chrom_cancels_a_white_lighting_change():
    light = 1.0 + 0.05 * np.sin(np.linspace(0, 3, 40))
    rgb = np.array([180.0, 120.0, 100.0])[None, :] * light[:, None]
    np.testing.assert_allclose(pulse.chrom_window(rgb), 0.0, atol=1e-9,
                               err_msg="equal normalised channels give X = Y, alpha = 1, S = 0")


def test_chrom_overlap_adds_hann_weighted_half_overlapping_windows():
    # fps 2.5, 1.6 s: L = 4, windows [0, 4) and [2, 6), np.hanning(4) = [0, .75, .75, 0]
    # window 1: G = [1, 2, 3, 2] -> S = [2, 0, -2, 0]; window 2: G = [3, 2, 1, 2] -> S = [-2, 0, 2, 0]
    rgb = np.array([[2.0, g, 1.0] for g in (1, 2, 3, 2, 1, 2)])
    np.testing.assert_allclose(pulse.chrom(rgb, 2.5), [0.0, 0.0, -1.5, 0.0, 1.5, 0.0], **PULSE_EXACT)
    assert pulse.chrom(np.vstack([rgb, rgb[:1]]), 2.5)[-1] == 0.0, "a frame no window reaches stays 0"


def test_chrom_recovers_a_pulse_under_a_lighting_change_where_green_does_not():
    fps, t = 25.0, np.arange(250) / 25.0
    beat = np.sin(2 * np.pi * 1.3 * t)
    light = 1.0 + 0.05 * np.sin(2 * np.pi * 0.9 * t + 1.0)
    skin = np.array([180.0, 120.0, 100.0])
    rgb = skin * light[:, None] * (1.0 + 0.01 * beat[:, None] * np.array([0.45, 1.0, 0.6]))
    assert abs(np.corrcoef(pulse.chrom(rgb, fps)[20:-20], beat[20:-20])[0, 1]) > RPPG_MIN_CORRELATION
    assert abs(np.corrcoef(pulse.green(rgb), beat)[0, 1]) < GREEN_MAX_CORRELATION
