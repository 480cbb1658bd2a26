# Exercise file generated from the reference solution: fill in every TODO (see IMPLEMENTATION_GUIDE.md).
"""The pulse from a video (remote photoplethysmography, rPPG) and what a fake's pulse gives away.

Idea. Each heartbeat pushes blood into the skin, which then absorbs a little more light, most of
all green light: the skin's colour pulses by a fraction of a gray level at the heart rate
(Verkruysse, Svaasand & Nelson 2008). Averaging a patch of skin over its pixels lifts that pulse
above the camera's noise. Motion and lighting change the colour far more than the pulse, so the
methods that followed project the three colour channels onto a direction where the pulse stays and
the light's changes cancel:

* GREEN (Verkruysse 2008): the green channel alone;
* CHROM (de Haan & Jeanne 2013): two colour differences, X = 3R - 2G and Y = 1.5R + G - 1.5B of the
  normalised channels, combined as S = X - (sigma_X / sigma_Y) Y, which cancels the specular
  (white) reflection; computed over short windows and overlap-added;
* POS (Wang, den Brinker, Stuijk & de Haan 2017): the "plane orthogonal to the skin tone",
  S1 = G - B and S2 = -2R + G + B, h = S1 + (sigma_1 / sigma_2) S2 over 1.6-s windows, overlap-added.

The heart rate is the peak of the pulse's spectrum in the band of human heart rates (0.7-4 Hz, 42-240
bpm), and the signal-to-noise ratio says how clearly there is a pulse at all. FakeCatcher (Ciftci,
Demir & Yin 2020) adds that the pulse of a real face agrees across its regions; a generated face
has no pulse, or pulses that disagree between forehead and cheeks.

Papers: W. Verkruysse et al., Optics Express 2008; G. de Haan, V. Jeanne, IEEE TBME 2013;
W. Wang et al., IEEE TBME 2017; M. Tarvainen et al., IEEE TBME 2002 (detrending);
U. Ciftci et al., IEEE TPAMI 2020.

Guide: IMPLEMENTATION_GUIDE.md, phase 4 (4.4-4.7).
"""
from __future__ import annotations

from grader.todo import TodoError

import numpy as np
from scipy import signal as sps
from scipy import sparse
from scipy.sparse.linalg import spsolve

from common.landmarks import REGIONS, region_mask
from phase4_biological_signals.template_blink_detection import SignalClassifier

HR_BAND_HZ = (0.7, 4.0)
"""Human heart rates: 42-240 beats a minute."""
WINDOW_S = 1.6
"""POS and CHROM window length (Wang et al. 2017: about one cardiac cycle of a slow heart)."""
DETREND_LAMBDA = 100.0
"""Smoothness-priors regularisation (Tarvainen et al. 2002; rPPG-Toolbox uses 100)."""


# ------------------------------------------------------------------------------------------------
# 4.4 Skin colour traces and detrending
# ------------------------------------------------------------------------------------------------

def region_mean_rgb(frames: np.ndarray, series, regions: tuple[str, ...] = REGIONS) -> np.ndarray:
    """Spatial mean colour of each skin region in each frame.

    frames: (T, H, W, 3) uint8 RGB (the images the landmarks were found in).  series: their
    :class:`common.landmarks.LandmarkSeries`.  regions: region names (default forehead, right
    cheek, left cheek). Each region's pixels in frame t are ``region_mask(series, t, name, (H, W))``.
    Returns (T, R, 3) float64: the mean R, G, B over the region's pixels (0..255), NaN for a frame
    whose landmarks failed or whose region holds no pixel.

    Example: a frame whose forehead mask covers 2 pixels (10, 20, 30) and (20, 40, 50) gives
    (15, 30, 40) for the forehead.
    """
    frames = np.asarray(frames)
    out = np.full((len(frames), len(regions), 3), np.nan)
    for t in range(len(frames)):
        for r, name in enumerate(regions):
            # TODO 4.4: build the region's mask for frame t with region_mask (shape
            #   frames.shape[1:3]); when it holds at least one pixel, store the mean of
            #   frames[t][mask] over the pixels (axis 0)
            raise TodoError("4.4: build the region's mask for frame t with region_mask (shape frames.shape[1:3]); when it holds at least one pixel, store the mean of frames[t][mask] over the pixels (axis 0) (IMPLEMENTATION_GUIDE.md, 4.4 Skin colour traces and detrending)")
    return out


def detrend(signal: np.ndarray, lam: float = DETREND_LAMBDA) -> np.ndarray:
    """Remove slow drifts with the smoothness-priors method of Tarvainen et al. (2002).

    signal: (T,) float. The trend is the smooth curve closest to the signal,
    ``trend = (I + lam^2 D2^T D2)^-1 signal``, where D2 is the (T-2, T) second-difference matrix
    (rows [1, -2, 1]); returns ``signal - trend``. A straight line is all trend (its second
    differences are zero) and comes out as zeros; fast wiggles such as a pulse pass almost untouched.
    lam = 100 at 25-30 fps removes drifts slower than about 0.2 Hz.

    Example: detrend(2 + 0.5 * np.arange(10)) is 10 zeros (within rounding).
    """
    z = np.asarray(signal, dtype=np.float64)
    n = len(z)
    if n < 3:
        return z - z.mean() if n else z.copy()
    # TODO 4.4: D2 = sparse.diags([1, -2, 1], [0, 1, 2], shape=(n - 2, n)); solve (I + lam**2 *
    #   D2.T @ D2) trend = z with spsolve (csc format), return z - trend
    raise TodoError('4.4: D2 = sparse.diags([1, -2, 1], [0, 1, 2], shape=(n - 2, n)); solve (I + lam**2 * D2.T @ D2) trend = z with spsolve (csc format), return z - trend (IMPLEMENTATION_GUIDE.md, 4.4 Skin colour traces and detrending)')


def fill_gaps(trace: np.ndarray) -> np.ndarray:
    """Linear interpolation over NaN frames of a (T,) or (T, C) trace (each column on its own;
    NaN at the ends take the nearest value). A column without any value becomes zeros.
    Example: [1, nan, 3, nan] -> [1, 2, 3, 3]."""
    trace = np.array(trace, dtype=np.float64)
    flat = trace.reshape(len(trace), -1)
    t = np.arange(len(trace))
    for column in flat.T:
        good = np.isfinite(column)
        column[:] = np.interp(t, t[good], column[good]) if good.any() else 0.0
    return flat.reshape(trace.shape)


# ------------------------------------------------------------------------------------------------
# 4.5 GREEN and CHROM
# ------------------------------------------------------------------------------------------------

def green(rgb: np.ndarray) -> np.ndarray:
    """GREEN (Verkruysse 2008): the green channel of a (T, 3) mean-RGB trace, divided by its mean, minus 1.

    Example: G = [100, 101, 99] -> [0, 0.01, -0.01].
    """
    rgb = np.asarray(rgb, dtype=np.float64)
    # TODO 4.5: take column 1 (green), divide by its mean over time and subtract 1
    raise TodoError('4.5: take column 1 (green), divide by its mean over time and subtract 1 (IMPLEMENTATION_GUIDE.md, 4.5 GREEN and CHROM)')


def chrom_window(rgb: np.ndarray) -> np.ndarray:
    """CHROM on one window (de Haan & Jeanne 2013, eq. 9-11): (L, 3) mean RGB -> (L,) pulse.

    Normalise each channel by its mean over the window (Rn = R / mean(R), ...), form
    X = 3 Rn - 2 Gn and Y = 1.5 Rn + Gn - 1.5 Bn, alpha = std(X) / std(Y) and S = X - alpha Y;
    return S minus its mean. (The paper band-passes X and Y first; here the band-pass comes once,
    after the windows are added up, see :func:`heart_rate`.)

    Example: R = [2, 2, 2], G = [1, 2, 3], B = [1, 1, 1]: Rn = 1, Gn = [.5, 1, 1.5], Bn = 1,
    X = [2, 1, 0], Y = [.5, 1, 1.5], alpha = 2, S = [1, -1, -3] -> [2, 0, -2].
    """
    rgb = np.asarray(rgb, dtype=np.float64)
    # TODO 4.5: normalise each channel by its temporal mean, build X and Y from the normalised
    #   R, G, B with the coefficients above, alpha = np.std(X) / np.std(Y), S = X - alpha * Y,
    #   return S - S.mean()
    raise TodoError('4.5: normalise each channel by its temporal mean, build X and Y from the normalised R, G, B with the coefficients above, alpha = np.std(X) / np.std(Y), S = X - alpha * Y, return S - S.mean() (IMPLEMENTATION_GUIDE.md, 4.5 GREEN and CHROM)')


def chrom(rgb: np.ndarray, fps: float, window_s: float = WINDOW_S) -> np.ndarray:
    """CHROM over a whole trace: Hann-weighted windows of L frames, half overlapping, added up.

    rgb: (T, 3) mean RGB.  L = 2 * floor(window_s * fps / 2) (even, at least 2), windows start at
    0, L/2, L, ... while they fit; each window's :func:`chrom_window` times ``np.hanning(L)`` is
    added into the output at its frames. Returns (T,) float64 (frames no window reaches stay 0).
    Example: T = 8, fps 2.5, window 1.6 s: L = 4, windows [0, 4), [2, 6), [4, 8).
    """
    rgb = np.asarray(rgb, dtype=np.float64)
    length = max(2, 2 * int(np.floor(window_s * fps / 2)))
    out = np.zeros(len(rgb))
    # TODO 4.5: for each start in range(0, T - L + 1, L // 2), add chrom_window(rgb[start:start
    #   + L]) * np.hanning(L) into out[start:start + L]
    raise TodoError('4.5: for each start in range(0, T - L + 1, L // 2), add chrom_window(rgb[start:start + L]) * np.hanning(L) into out[start:start + L] (IMPLEMENTATION_GUIDE.md, 4.5 GREEN and CHROM)')
    return out


# ------------------------------------------------------------------------------------------------
# 4.6 POS: the plane orthogonal to the skin tone
# ------------------------------------------------------------------------------------------------

POS_PROJECTION = np.array([[0.0, 1.0, -1.0], [-2.0, 1.0, 1.0]])
"""Wang et al.'s projection P: rows S1 = G - B and S2 = -2R + G + B of the normalised colour."""


def pos_window(rgb: np.ndarray) -> np.ndarray:
    """POS on one window (Wang et al. 2017, Algorithm 1): (L, 3) mean RGB -> (L,) pulse.

    Cn = rgb / mean over the window (temporal normalisation), S = Cn @ P.T (two rows S1, S2 per
    frame), h = S1 + (std(S1) / std(S2)) S2; return h minus its mean. Where S2 does not vary (a
    stretch whose colour never changes, as :func:`fill_gaps` copies across frames without
    landmarks) the ratio is 0, never a division by zero: such a window adds no pulse, not NaN.

    Example: R = [2, 2, 2], G = [1, 2, 3], B = [1, 1, 1]: Cn = (1, [.5, 1, 1.5], 1),
    S1 = G - B = [-.5, 0, .5], S2 = -2R + G + B = [-.5, 0, .5], ratio 1, h = [-1, 0, 1].
    """
    rgb = np.asarray(rgb, dtype=np.float64)
    # TODO 4.6: Cn = rgb / rgb.mean(axis=0); S = Cn @ POS_PROJECTION.T gives the columns S1 and
    #   S2; h = S1 + (std(S1) / std(S2)) * S2, with the ratio 0 when std(S2) is 0; return h -
    #   h.mean()
    raise TodoError('4.6: Cn = rgb / rgb.mean(axis=0); S = Cn @ POS_PROJECTION.T gives the columns S1 and S2; h = S1 + (std(S1) / std(S2)) * S2, with the ratio 0 when std(S2) is 0; return h - h.mean() (IMPLEMENTATION_GUIDE.md, 4.6 POS)')


def pos(rgb: np.ndarray, fps: float, window_s: float = WINDOW_S) -> np.ndarray:
    """POS over a whole trace: every window of l = ceil(window_s * fps) frames, sliding by one frame,
    its :func:`pos_window` added into the output (Wang et al.'s overlap-adding, H[n-l..n] += h).

    rgb: (T, 3). Returns (T,) float64. A trace shorter than l is one window.
    Example: T = 5, l = 3: windows [0, 3), [1, 4), [2, 5); frame 2 gets a share of all three.
    """
    rgb = np.asarray(rgb, dtype=np.float64)
    length = min(len(rgb), int(np.ceil(window_s * fps)))
    out = np.zeros(len(rgb))
    # TODO 4.6: for each start in range(0, T - l + 1), add pos_window(rgb[start:start + l]) into
    #   out[start:start + l]
    raise TodoError('4.6: for each start in range(0, T - l + 1), add pos_window(rgb[start:start + l]) into out[start:start + l] (IMPLEMENTATION_GUIDE.md, 4.6 POS)')
    return out


# ------------------------------------------------------------------------------------------------
# 4.7 Heart rate and signal-to-noise ratio
# ------------------------------------------------------------------------------------------------

WELCH_SEGMENT_S = 10.0
"""Welch segment length: the frequency resolution is about 1 / 10 s = 6 bpm (the peak is finer)."""
NFFT = 4096
"""Zero-padded FFT length of each segment (a grid of fps / 4096 Hz: 0.37 bpm at 25 fps)."""
SNR_HALF_WIDTH_HZ = 0.2
"""Half width of the bands around the peak and its second harmonic counted as signal (12 bpm): the
main lobe of a Hann-windowed 10-s segment is +-2 / 10 s = 0.2 Hz wide."""


def bandpass(trace: np.ndarray, fps: float, band: tuple[float, float] = HR_BAND_HZ, order: int = 3) -> np.ndarray:
    """Zero-phase Butterworth band-pass: (T,) -> (T,). ``scipy.signal.butter(order, band,
    btype="bandpass", fs=fps, output="sos")`` applied forwards and backwards (``sosfiltfilt``), so a
    pulse is not delayed. Needs T > 3 * (2 * order + 1) frames (about 1 s at 25 fps).
    Example: at 25 fps a 1.5-Hz sine passes (gain ~1), a 0.2-Hz drift and an 8-Hz flicker do not."""
    trace = np.asarray(trace, dtype=np.float64)
    # TODO 4.7: design the filter with sps.butter(order, band, btype="bandpass", fs=fps,
    #   output="sos") and apply it with sps.sosfiltfilt
    raise TodoError('4.7: design the filter with sps.butter(order, band, btype="bandpass", fs=fps, output="sos") and apply it with sps.sosfiltfilt (IMPLEMENTATION_GUIDE.md, 4.7 Heart rate and SNR)')


def heart_rate(trace: np.ndarray, fps: float, band: tuple[float, float] = HR_BAND_HZ) -> tuple[float, float]:
    """Heart rate (bpm) and signal-to-noise ratio (dB) of a pulse trace.

    1. :func:`bandpass` the trace;
    2. Welch's power spectrum, ``scipy.signal.welch(x, fs=fps, nperseg=n, noverlap=n // 2, nfft=NFFT)``
       with n = min(T, round(WELCH_SEGMENT_S * fps));
    3. the heart rate is the frequency of the highest power inside ``band``, times 60;
    4. SNR (de Haan & Jeanne 2013): signal = power within SNR_HALF_WIDTH_HZ of the peak and of
       twice the peak, noise = the rest of ``band``; 10 log10(signal / noise).

    Example: a clean 1.2-Hz sine of 10 s at 25 fps -> (72.0 within a fraction of a bpm, about +20 dB);
    white noise alone -> some rate, an SNR below 0 dB.
    """
    filtered = bandpass(trace, fps, band)
    n = min(len(filtered), int(round(WELCH_SEGMENT_S * fps)))
    # TODO 4.7: welch as above; keep frequencies inside band; peak = the frequency of the
    #   largest power there; signal mask = |f - peak| <= SNR_HALF_WIDTH_HZ or |f - 2 peak| <=
    #   SNR_HALF_WIDTH_HZ (inside the band); snr = 10 log10(sum of signal power / sum of the other
    #   in-band power)
    raise TodoError('4.7: welch as above; keep frequencies inside band; peak = the frequency of the largest power there; signal mask = |f - peak| <= SNR_HALF_WIDTH_HZ or |f - 2 peak| <= SNR_HALF_WIDTH_HZ (inside the band); snr = 10 log10(sum of signal power / sum of the other in-band power) (IMPLEMENTATION_GUIDE.md, 4.7 Heart rate and SNR)')


# ------------------------------------------------------------------------------------------------
# The pulse detector (provided): FakeCatcher's agreement between regions, and window features
# ------------------------------------------------------------------------------------------------

PULSE_FEATURE_NAMES = ("snr_db / 10", "forehead-cheeks correlation", "|hr_forehead - hr_cheeks| / 30")


def region_pulses(traces: np.ndarray, fps: float) -> np.ndarray:
    """(R, T) band-passed, detrended POS pulse of each region of a (T, R, 3) mean-RGB trace (gaps filled)."""
    return np.stack([bandpass(detrend(pos(fill_gaps(traces[:, r]), fps)), fps) for r in range(traces.shape[1])])


def pulse_agreement(forehead: np.ndarray, cheeks: np.ndarray) -> float:
    """Pearson correlation of two band-passed pulses: about +1 when forehead and cheeks beat together,
    -1 in antiphase, about 0 when one of them has no pulse. Example: a sine and its negative -> -1."""
    a, b = forehead - forehead.mean(), cheeks - cheeks.mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denominator) if denominator > 0 else 0.0


def pulse_measurements(traces: np.ndarray, fps: float) -> dict:
    """Heart rate and SNR of the whole skin (the three regions' mean colour), and the regions'
    agreement: ``{"hr_bpm", "snr_db", "hr_forehead", "hr_cheeks", "correlation", "pulse"}``
    (``pulse``: the whole skin's band-passed POS pulse, for plots)."""
    traces = fill_gaps(np.asarray(traces, np.float64))
    skin = bandpass(detrend(pos(traces.mean(axis=1), fps)), fps)
    hr, snr = heart_rate(skin, fps)
    pulses = region_pulses(traces, fps)
    cheeks = pulses[1:].mean(axis=0)
    return {"hr_bpm": hr, "snr_db": snr, "hr_forehead": heart_rate(pulses[0], fps)[0],
            "hr_cheeks": heart_rate(cheeks, fps)[0], "correlation": pulse_agreement(pulses[0], cheeks), "pulse": skin}


def pulse_features(crops: np.ndarray, series, fps: float) -> np.ndarray:
    """(3,) float32 features of a window for the pulse detector (tasks 4.4-4.7): SNR of the skin's
    pulse (in 10s of dB), the forehead-cheeks correlation of the pulses, and the disagreement of
    their heart rates (in 30s of bpm). Example: a real face of a clean video gives about
    [0.5, 0.9, 0.0]; an antiphase fake about [-0.5, -0.9, 0.0]."""
    m = pulse_measurements(region_mean_rgb(crops, series), fps)
    return np.array([m["snr_db"] / 10.0, m["correlation"], abs(m["hr_forehead"] - m["hr_cheeks"]) / 30.0], np.float32)


def window_signals(crops: np.ndarray, series, fps: float) -> dict:
    """The pulse detector's time series of a window, for the report and its plots (provided).

    Returns ``{"pulse": (T,) float64 band-passed POS pulse of the whole skin (:func:`pulse_measurements`;
    NaN in frames whose landmarks failed, where it was only interpolated), "hr_bpm": its heart rate}``.
    crops: (T, H, W, 3) uint8, the images the landmarks were found in.
    """
    m = pulse_measurements(region_mean_rgb(crops, series), fps)
    pulse = np.asarray(m["pulse"], np.float64).copy()
    pulse[~np.asarray(series.ok, bool)] = np.nan
    return {"pulse": pulse, "hr_bpm": float(m["hr_bpm"])}


class PulseClassifier(SignalClassifier):
    """The pulse detector's logistic regression on :func:`pulse_features` (see ``SignalClassifier``)."""
