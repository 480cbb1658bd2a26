"""Task 4.6: POS (Wang et al. 2017, Algorithm 1) worked by hand, its one-frame-step overlap-add,
and a pulse recovered under a lighting change."""
import numpy as np
import pytest
from scipy import signal

from phase4_biological_signals import template_pulse_detection as pulse
from tests.tolerances import PULSE_EXACT, RPPG_MIN_CORRELATION

pytestmark = pytest.mark.task("4.6")


def test_pos_window_worked_example_with_equal_spreads():
    # Cn = (1, [.5, 1, 1.5], 1): S1 = G - B = [-.5, 0, .5], S2 = -2R + G + B = [-.5, 0, .5], h = S1 + S2
    rgb = np.array([[2.0, 1.0, 1.0], [2.0, 2.0, 1.0], [2.0, 3.0, 1.0]])
    np.testing.assert_allclose(pulse.pos_window(rgb), [-1.0, 0.0, 1.0], **PULSE_EXACT)


def test_pos_window_worked_example_with_unequal_spreads():
    # R = 2, G = [1, 2, 3], B = [1, 1, 4]: Rn = 1, Gn = [.5, 1, 1.5], Bn = [.5, .5, 2]
    # S1 = Gn - Bn = [0, .5, -.5] (std sqrt(1/6)); S2 = -2 + Gn + Bn = [-1, -.5, 1.5] (std sqrt(7/6))
    # h = S1 + sqrt(1/7) S2, already zero-mean
    r = np.sqrt(1.0 / 7.0)
    rgb = np.array([[2.0, 1.0, 1.0], [2.0, 2.0, 1.0], [2.0, 3.0, 4.0]])
    np.testing.assert_allclose(pulse.pos_window(rgb), [-r, 0.5 - 0.5 * r, -0.5 + 1.5 * r], **PULSE_EXACT)


def test_pos_window_of_an_unchanging_colour_adds_no_pulse_not_nan():
    # frames without landmarks are filled with the nearest colour (fill_gaps): a whole window can be
    # one colour, std(S2) = 0; by hand h = S1 + 0 * S2 = 0, and the trace around it stays finite
    still = np.tile([180.0, 120.0, 100.0], (4, 1))
    np.testing.assert_array_equal(pulse.pos_window(still), np.zeros(4))
    rgb = np.vstack([[[2.0, g, 1.0] for g in (1, 2, 3)], np.tile([2.0, 3.0, 1.0], (3, 1))])
    out = pulse.pos(rgb, fps=1.0, window_s=3.0)
    # windows [0,3) -> [-1, 0, 1]; [1,4) G = [2,3,3]: Gn = [.75, 1.125, 1.125], S1 = S2 = Gn - 1,
    # h = 2 (Gn - mean) = [-.5, .25, .25]; [2,5) G = [3,3,3] and [3,6): zeros
    np.testing.assert_allclose(out, [-1.0, -0.5, 1.25, 0.25, 0.0, 0.0], **PULSE_EXACT)


def test_pos_overlap_adds_every_window_sliding_by_one_frame():
    # l = 3: windows [0, 3) (G = [1, 2, 3] -> h = [-1, 0, 1]) and [1, 4) (G = [2, 3, 4] -> Gn = [2/3, 1, 4/3],
    # S1 = S2 = [-1/3, 0, 1/3], h = [-2/3, 0, 2/3])
    rgb = np.array([[2.0, g, 1.0] for g in (1, 2, 3, 4)])
    np.testing.assert_allclose(pulse.pos(rgb, fps=1.0, window_s=3.0), [-1.0, -2.0 / 3.0, 1.0, 2.0 / 3.0], **PULSE_EXACT)


def test_pos_recovers_a_pulse_under_lighting_and_a_specular_flicker():
    fps, t = 25.0, np.arange(250) / 25.0
    beat = np.sin(2 * np.pi * 1.1 * t)
    light = 1.0 + 0.05 * np.sin(2 * np.pi * 0.6 * t)
    specular = 2.0 * np.sin(2 * np.pi * 2.7 * t + 0.4)         # white highlight: same in R, G, B
    skin = np.array([180.0, 120.0, 100.0])
    rgb = skin * light[:, None] * (1.0 + 0.01 * beat[:, None] * np.array([0.45, 1.0, 0.6])) + specular[:, None]
    band = signal.butter(3, (0.7, 4.0), btype="bandpass", fs=fps, output="sos")
    recovered = signal.sosfiltfilt(band, pulse.pos(rgb, fps))
    assert abs(np.corrcoef(recovered[25:-25], beat[25:-25])[0, 1]) > RPPG_MIN_CORRELATION
