"""Task 4.7: band-pass and heart rate. Oracles: the known rate of a synthetic PPG wave under noise,
heartpy's peak-to-peak rate on the same wave, the analytic SNR of two tones, and the filter's
known response (a zero-phase band-pass passes 1.5 Hz and stops 0.2 and 8 Hz)."""
import warnings

import numpy as np
import pytest

from common.synthetic.physiology import pulse_waveform
from phase4_biological_signals import template_pulse_detection as pulse
from tests.tolerances import HEART_RATE_ATOL_BPM, HEARTPY_AGREEMENT_BPM, SNR_TWO_TONE_ATOL_DB

pytestmark = pytest.mark.task("4.7")

FPS = 25.0
T = np.arange(250) / FPS


def test_bandpass_passes_the_pulse_band_without_delay_and_stops_the_rest():
    beat = np.sin(2 * np.pi * 1.5 * T)
    drift, flicker = np.sin(2 * np.pi * 0.2 * T), np.sin(2 * np.pi * 8.0 * T)
    out = pulse.bandpass(beat + drift + flicker, FPS)
    middle = slice(50, 200)
    np.testing.assert_allclose(out[middle], beat[middle], atol=0.06,
                               err_msg="1.5 Hz passes with gain ~1 and no phase shift; 0.2 and 8 Hz are removed")


def test_bandpass_band_edges_are_arguments():
    beat = np.sin(2 * np.pi * 1.5 * T)
    assert np.abs(pulse.bandpass(beat, FPS, band=(2.5, 4.0))[50:200]).max() < 0.1, "1.5 Hz is outside 2.5-4 Hz"
    assert np.abs(pulse.bandpass(beat, FPS, band=(0.7, 4.0), order=1)[50:200]).max() > 0.8


@pytest.mark.parametrize("bpm", [52.7, 66.1, 72.4, 88.8, 97.1, 115.3, 130.8])
def test_heart_rate_of_a_noisy_ppg_wave_within_one_bpm(bpm):
    rng = np.random.default_rng(int(bpm * 10))
    trace = pulse_waveform(250, FPS, bpm, 0.3) + rng.normal(0.0, 0.5, 250)
    rate, snr = pulse.heart_rate(trace, FPS)
    assert rate == pytest.approx(bpm, abs=HEART_RATE_ATOL_BPM), f"a {bpm}-bpm wave under noise read as {rate:.2f}"
    assert snr > 3.0, "a visible pulse has a positive SNR"


@pytest.mark.parametrize("bpm", [55.0, 72.4, 88.8, 97.1, 110.0])
def test_heart_rate_agrees_with_heartpy_on_the_same_wave(bpm):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import heartpy

        trace = pulse_waveform(250, FPS, bpm, 0.3)
        filtered = heartpy.filter_signal(trace, [0.7, 3.5], sample_rate=FPS, order=3, filtertype="bandpass")
        _, measures = heartpy.process(filtered, sample_rate=FPS)
    rate, _ = pulse.heart_rate(trace, FPS)
    assert rate == pytest.approx(measures["bpm"], abs=HEARTPY_AGREEMENT_BPM), \
        f"heartpy says {measures['bpm']:.2f} bpm, heart_rate says {rate:.2f}"


def test_snr_of_two_tones_is_their_power_ratio():
    trace = np.sin(2 * np.pi * 1.2 * T) + 0.5 * np.sin(2 * np.pi * 3.0 * T)
    rate, snr = pulse.heart_rate(trace, FPS)
    assert rate == pytest.approx(72.0, abs=0.5)
    assert snr == pytest.approx(10 * np.log10(1.0 / 0.25), abs=SNR_TWO_TONE_ATOL_DB), \
        "signal = power near 1.2 Hz (and 2.4 Hz), noise = the rest of the band: the 3.0-Hz tone"


def test_second_harmonic_counts_as_signal_and_noise_alone_has_low_snr():
    harmonic = np.sin(2 * np.pi * 1.25 * T) + 0.5 * np.sin(2 * np.pi * 2.5 * T)
    assert pulse.heart_rate(harmonic, FPS)[1] > 20.0, "power at twice the rate (2.5 Hz) is signal"
    noise = np.random.default_rng(3).normal(size=250)
    assert pulse.heart_rate(noise, FPS)[1] < 0.0, "white noise: no band stands out"


def test_the_rate_is_searched_inside_the_band_only():
    trace = np.sin(2 * np.pi * 0.5 * T) * 3 + np.sin(2 * np.pi * 1.6 * T)
    assert pulse.heart_rate(trace, FPS, band=(0.7, 4.0))[0] == pytest.approx(96.0, abs=0.5)
    assert pulse.heart_rate(trace, FPS, band=(1.2, 4.0))[0] == pytest.approx(96.0, abs=0.5)


def test_a_long_trace_is_averaged_over_half_overlapping_ten_second_welch_segments():
    """30 s of a noisy 78-bpm pulse: the SNR is the docstring's definition on scipy's Welch spectrum
    with 10-s segments overlapping by half (another overlap averages other segments)."""
    from scipy import signal as sps

    t = np.arange(750) / FPS
    trace = np.sin(2 * np.pi * 1.3 * t) + np.random.default_rng(5).normal(0.0, 1.0, 750)
    rate, snr = pulse.heart_rate(trace, FPS)
    n = int(round(pulse.WELCH_SEGMENT_S * FPS))
    freqs, power = sps.welch(pulse.bandpass(trace, FPS), fs=FPS, nperseg=n, noverlap=n // 2, nfft=max(pulse.NFFT, n))
    band = (freqs >= pulse.HR_BAND_HZ[0]) & (freqs <= pulse.HR_BAND_HZ[1])
    peak = freqs[band][np.argmax(power[band])]
    near = (np.abs(freqs - peak) <= pulse.SNR_HALF_WIDTH_HZ) | (np.abs(freqs - 2 * peak) <= pulse.SNR_HALF_WIDTH_HZ)
    expected = 10 * np.log10(power[band & near].sum() / power[band & ~near].sum())
    assert rate == pytest.approx(60 * peak, abs=1e-9)
    assert snr == pytest.approx(expected, rel=1e-9)
