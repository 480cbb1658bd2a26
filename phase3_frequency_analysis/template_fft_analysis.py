# Exercise file generated from the reference solution: fill in every TODO (see IMPLEMENTATION_GUIDE.md).
"""FFT analysis: the radially averaged power spectrum of a face (Durall et al., CVPR 2020).

Idea. A generator that upsamples (transposed convolutions, nearest-neighbour, zero insertion)
cannot reproduce the natural fall-off of image spectra: it leaves too much, or periodic, energy at
high spatial frequencies. Averaging the 2-D power spectrum over rings of equal frequency turns an
image into a short 1-D profile ("azimuthal average") where that excess is easy to see and where a
simple classifier (logistic regression, SVM) separates real from fake.

The file builds that profile in three steps, one task each:

* 3.1 the centred log power spectrum and its average over rings (frequency in cycles per image);
* 3.2 one number: the share of the power beyond a radius given in cycles per *pixel*, so that faces
  of different sizes are measured on the same scale;
* 3.3 Durall et al.'s profile as their code computes it: ``20 * log(|F| + 1e-8)`` (natural log),
  the azimuthal average, cubic interpolation to a fixed number of bins, divided by bin 0. Their
  warnings hold here too: crop the face first, never resize it (a resize is a low-pass filter and
  erases exactly the high frequencies we measure), and use square crops (round rings).

A fourth task reads the grid itself rather than a ring average: a transposed convolution with
uneven overlap multiplies every other pixel by a slightly larger gain (Odena et al. 2016,
"Deconvolution and Checkerboard Artifacts"), a pattern of period 2 whose whole energy sits at the
Nyquist frequency, where natural images have almost none:

* 3.13 the checkerboard amplitude: the DFT coefficients at (0, 1/2), (1/2, 0) and (1/2, 1/2)
  cycles per pixel relative to DC, three numbers that the ring average of 3.1-3.3 dilutes among
  all the other frequencies of the last rings.

Paper: R. Durall, M. Keuper, J. Keuper, "Watch your Up-Convolution: CNN Based Generative Deep
Neural Networks are Failing to Reproduce Spectral Distributions", CVPR 2020. A. Odena, V. Dumoulin,
C. Olah, "Deconvolution and Checkerboard Artifacts", Distill 2016.

Guide: IMPLEMENTATION_GUIDE.md, phase 3.
"""
from __future__ import annotations

from grader.todo import TodoError

import numpy as np
from scipy.interpolate import interp1d


def to_grayscale(image: np.ndarray) -> np.ndarray:
    """Luma of an RGB image, or the image itself if it is already 2-D.

    image: (H, W) or (H, W, 3), any numeric dtype. Returns (H, W) float64 (ITU-R BT.601 weights
    0.299 R + 0.587 G + 0.114 B), same value range as the input.
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 3:
        return image @ np.array([0.299, 0.587, 0.114])
    raise ValueError(f"expected an image of shape (H, W) or (H, W, 3), got {image.shape}")


def log_power_spectrum(image: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    """Centred log power spectrum of an image.

    image: (H, W) or (H, W, 3). Returns (H, W) float64: ``log(|F|^2 + eps)`` where F is the 2-D
    DFT of the grayscale image, shifted so that the zero frequency sits at pixel (H//2, W//2).

    Example: a constant image has all its power at the centre pixel (H//2, W//2).
    """
    gray = to_grayscale(image)
    # TODO 3.1: take np.fft.fft2 of the grayscale image, move DC to the centre with
    #   np.fft.fftshift, return log(|F|^2 + eps)
    raise TodoError('3.1: take np.fft.fft2 of the grayscale image, move DC to the centre with np.fft.fftshift, return log(|F|^2 + eps) (IMPLEMENTATION_GUIDE.md, 3.1 Radial power spectrum)')


def azimuthal_average(spectrum: np.ndarray, n_bins: int | None = None) -> np.ndarray:
    """Average a centred 2-D spectrum over rings of equal distance from its centre.

    spectrum: (H, W), centre at (H//2, W//2). A pixel (y, x) belongs to ring
    ``r = round(sqrt((y - H//2)^2 + (x - W//2)^2))``; rings r = 0 .. n_bins-1 are kept, where
    n_bins defaults to ``min(H, W) // 2`` (the largest full circle). Returns (n_bins,) float64: the
    mean of the pixels of each ring, index r = spatial frequency r cycles per image.

    Example: for a 4x4 spectrum the centre is (2, 2); ring 0 is that one pixel, ring 1 holds its
    four neighbours at distance 1 and the four diagonals at distance sqrt(2) ~ 1.41 (rounds to 1).
    """
    height, width = spectrum.shape
    n_bins = n_bins or min(height, width) // 2
    # TODO 3.1: build the integer radius of every pixel (np.indices, np.hypot, np.rint), then
    #   average the pixels of each radius 0..n_bins-1 (np.bincount with weights)
    raise TodoError('3.1: build the integer radius of every pixel (np.indices, np.hypot, np.rint), then average the pixels of each radius 0..n_bins-1 (np.bincount with weights) (IMPLEMENTATION_GUIDE.md, 3.1 Radial power spectrum)')


def radial_power_spectrum(image: np.ndarray, n_bins: int | None = None) -> np.ndarray:
    """The 1-D spectral profile of an image: azimuthal average of its centred log power spectrum.

    image: (H, W) or (H, W, 3). Returns (n_bins,) float64, index = frequency in cycles per image.
    """
    return azimuthal_average(log_power_spectrum(image), n_bins)


# ------------------------------------------------------------------------------------------------
# 3.2 High-frequency energy ratio
# ------------------------------------------------------------------------------------------------

def frequency_radius(height: int, width: int) -> np.ndarray:
    """Distance of every pixel of a centred (fftshift-ed) spectrum from DC, in cycles per pixel.

    Returns (height, width) float64. Along one axis of length n the frequencies are
    ``np.fft.fftfreq(n)`` (k / n cycles per pixel, k = -n//2 .. (n-1)//2 after ``np.fft.fftshift``),
    so pixel (height//2, width//2) is 0 and the radius is ``sqrt(fy^2 + fx^2)``: at most
    sqrt(0.5^2 + 0.5^2) ~ 0.707 in the corners, 0.5 (the Nyquist frequency) at the edge centres.

    Example: height = width = 4 -> the axis frequencies are [-0.5, -0.25, 0, 0.25]; pixel (2, 3)
    is at radius 0.25, pixel (0, 0) at sqrt(0.5) ~ 0.707.
    """
    # TODO 3.2: the axis frequencies are np.fft.fftshift(np.fft.fftfreq(n)) for n = height and
    #   width; combine them on a grid with np.hypot (broadcast a column against a row)
    raise TodoError('3.2: the axis frequencies are np.fft.fftshift(np.fft.fftfreq(n)) for n = height and width; combine them on a grid with np.hypot (broadcast a column against a row) (IMPLEMENTATION_GUIDE.md, 3.2 High-frequency energy ratio)')


def high_frequency_ratio(image: np.ndarray, cutoff: float = 0.25) -> float:
    """Share of an image's spectral power at radii strictly beyond ``cutoff`` cycles per pixel.

    image: (H, W) or (H, W, 3). Power is ``|F|^2`` of the 2-D DFT of the grayscale image (centred
    with fftshift, radii from :func:`frequency_radius`). DC (radius 0, the mean brightness) is left
    out of the total, so the ratio does not depend on how bright the face is::

        ratio = sum(power[radius > cutoff]) / sum(power[radius > 0])

    Returns a float in [0, 1]; 0.0 for a constant image (no power besides DC).

    Example: ``100 + a*cos(2 pi 0.125 x) + b*cos(2 pi 0.375 x)`` on a 16x16 grid puts power
    proportional to a^2 at radius 0.125 and to b^2 at 0.375; with cutoff 0.25 the ratio is
    b^2 / (a^2 + b^2), e.g. 0.2 for a = 2, b = 1.
    """
    gray = to_grayscale(image)
    # TODO 3.2: power = |fftshift(fft2(gray))|^2; radius = frequency_radius(*gray.shape); divide
    #   the power beyond cutoff (radius > cutoff) by the power of every non-DC pixel (radius > 0),
    #   returning 0.0 when that total is 0
    raise TodoError('3.2: power = |fftshift(fft2(gray))|^2; radius = frequency_radius(*gray.shape); divide the power beyond cutoff (radius > cutoff) by the power of every non-DC pixel (radius > 0), returning 0.0 when that total is 0 (IMPLEMENTATION_GUIDE.md, 3.2 High-frequency energy ratio)')


# ------------------------------------------------------------------------------------------------
# 3.3 Durall et al.'s spectral profile
# ------------------------------------------------------------------------------------------------

DURALL_EPS = 1e-8


def log_magnitude_spectrum(image: np.ndarray, eps: float = DURALL_EPS) -> np.ndarray:
    """Durall et al.'s centred log-magnitude spectrum: ``20 * ln(|F| + eps)``.

    image: (H, W) or (H, W, 3). Returns (H, W) float64, DC at (H//2, W//2). The logarithm is the
    *natural* one, as in the authors' code (``20*np.log``); ``20*log10`` would be decibels. The
    base only scales the spectrum by a constant, which the division by bin 0 in
    :func:`durall_profile` cancels.

    Example: a 4x4 image of ones has |F| = 16 at DC and 0 elsewhere: 20 ln 16 ~ 55.45 at (2, 2),
    20 ln(1e-8) ~ -368.4 at the other 15 pixels.
    """
    gray = to_grayscale(image)
    # TODO 3.3: the same centred DFT as in 3.1 (np.fft.fft2, np.fft.fftshift), then 20 * np.log
    #   of its absolute value plus eps
    raise TodoError("3.3: the same centred DFT as in 3.1 (np.fft.fft2, np.fft.fftshift), then 20 * np.log of its absolute value plus eps (IMPLEMENTATION_GUIDE.md, 3.3 Durall's spectral profile)")


def durall_profile(image: np.ndarray, n_bins: int = 64) -> np.ndarray:
    """Durall et al.'s 1-D spectral profile of a square face crop, on a fixed frequency axis.

    image: (S, S) or (S, S, 3), the face crop at its own size (S >= 6; never resized). Steps:

    1. ``spectrum = log_magnitude_spectrum(image)`` (S, S);
    2. ``rings = azimuthal_average(spectrum, S//2 + 1)``: rings 0 .. S//2, ring r lying at
       ``r / S`` cycles per pixel (ring S//2 is the Nyquist frequency 0.5 for even S);
    3. resample the rings with ``scipy.interpolate.interp1d(r / S, rings, kind="cubic",
       fill_value="extrapolate")`` at ``np.linspace(0, 0.5, n_bins)``; for odd S the last ring is at
       (S-1) / (2S) and the last half ring is extrapolated;
    4. divide by bin 0 (the DC value), as the authors do.

    Returns (n_bins,) float64; bin i is the frequency ``0.5 * i / (n_bins - 1)`` cycles per pixel,
    bin 0 is exactly 1. Because the axis is in cycles per pixel, a 64- and a 256-pixel crop of the
    same texture give the same profile. (The authors' script maps their first and last ring to
    the first and last bin instead; on square crops of one size that is the same up to the last
    ring.)

    Example: a 64x64 crop with a cosine of 0.125 cycles per pixel (8 cycles per image, ring 8)
    and 81 bins (0.00625 cycles per pixel apart) peaks at bin 0.125 / 0.00625 = 20; the same
    texture on a 128x128 crop (ring 16) peaks at bin 20 too.
    """
    gray = to_grayscale(image)
    size = gray.shape[0]
    if gray.shape[1] != size or size < 6:
        raise ValueError(f"Durall's profile needs a square crop of at least 6x6 pixels, got {gray.shape}")
    # TODO 3.3: average log_magnitude_spectrum over rings 0..S//2 with azimuthal_average, place
    #   ring r at r / S cycles per pixel, resample with interp1d(kind="cubic",
    #   fill_value="extrapolate") at np.linspace(0, 0.5, n_bins), divide by the first value
    raise TodoError('3.3: average log_magnitude_spectrum over rings 0..S//2 with azimuthal_average, place ring r at r / S cycles per pixel, resample with interp1d(kind="cubic", fill_value="extrapolate") at np.linspace(0, 0.5, n_bins), divide by the first value (IMPLEMENTATION_GUIDE.md, 3.3 Durall\'s spectral profile)')


# ------------------------------------------------------------------------------------------------
# 3.13 Checkerboard amplitude
# ------------------------------------------------------------------------------------------------

def checkerboard_amplitude(image: np.ndarray) -> np.ndarray:
    """How strongly the image alternates from pixel to pixel, relative to its mean brightness.

    image: (H, W) or (H, W, 3), any size (odd too), the face crop at its own size (never resized:
    a resize moves the pixel grid the pattern lives on). With ``g`` the grayscale image and
    ``sx = (-1)**column``, ``sy = (-1)**row``, returns (3,) float64::

        [|sum(g * sx)|, |sum(g * sy)|, |sum(g * sx * sy)|] / sum(g)

    along the rows (columns alternating), down the columns, and on the diagonal; zeros when
    ``sum(g)`` is 0. For even sizes these are ``|F[0, W/2]|``, ``|F[H/2, 0]|`` and ``|F[H/2, W/2]|``
    over ``F[0, 0]`` of the 2-D DFT ``F`` (``np.fft.fft2``, not shifted): the Nyquist coefficients
    against DC. The absolute value makes the result independent of where the crop starts (an odd
    offset only flips the signs).

    Example: a flat patch of brightness v whose even columns and rows got gain (1 + 2m) and odd ones
    (1 - 2m), as an unbalanced stride-2 transposed convolution leaves it (m = 0.02, the benchmark's
    GANUpsample uses 0.012-0.025): pixel (y, x) = v (1 + 2m sx)(1 + 2m sy), so on an even-sized
    patch sum(g) = v H W, sum(g sx) = v H W 2m and sum(g sx sy) = v H W (2m)^2: the result is
    [0.04, 0.04, 0.0016]. A natural face crop of the benchmark gives about 0.006 along each axis
    (10^-2.2) and 0.0001 on the diagonal.
    """
    gray = to_grayscale(image)
    # TODO 3.13: build the alternating signs (+1, -1, +1, ...) over the columns and over the
    #   rows as 1-D arrays; the three signed sums are matrix products of the grayscale image with
    #   them (columns, rows, both), summed; divide their absolute values by the image's sum, or
    #   return zeros when that sum is 0
    raise TodoError("3.13: build the alternating signs (+1, -1, +1, ...) over the columns and over the rows as 1-D arrays; the three signed sums are matrix products of the grayscale image with them (columns, rows, both), summed; divide their absolute values by the image's sum, or return zeros when that sum is 0 (IMPLEMENTATION_GUIDE.md, 3.13 Checkerboard amplitude)")

