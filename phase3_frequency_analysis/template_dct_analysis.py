# Exercise file generated from the reference solution: fill in every TODO (see IMPLEMENTATION_GUIDE.md).
"""DCT analysis: the 8x8 block DCT of JPEG, Frank et al.'s log-DCT input, and a JPEG's history.

Idea. The discrete cosine transform (DCT-II) writes a block of pixels as a sum of cosines of
increasing frequency. JPEG cuts every image into 8x8 blocks, takes their DCT and divides each
coefficient (u, v) by a step from its quantisation table, so the coefficients of a JPEG are
whole multiples of those steps. Three uses in forensics, one task each:

* 3.4 the block DCT exactly as JPEG computes it: level shift by 128, orthonormal DCT-II per block;
* 3.5 Frank et al.'s input for a classifier: the DCT of the whole image, ``log(|x| + 1e-12)``, and
  each coefficient standardised with the mean and standard deviation of the *training* images
  (GAN upsampling shows up as a grid of bright coefficients);
* 3.6 the statistics of each coefficient over the blocks: JPEG empties the high frequencies, and an
  image compressed twice at different qualities has a histogram with periodic gaps (Lukas and
  Fridrich 2003; Popescu and Farid 2004), a cue that a face was edited and saved again.

Papers: J. Frank, T. Eisenhofer, L. Schonherr, A. Fischer, D. Kolossa, T. Holz, "Leveraging
Frequency Analysis for Deep Fake Image Recognition", ICML 2020; G. K. Wallace, "The JPEG still
picture compression standard", 1992; A. C. Popescu, H. Farid, "Statistical tools for digital
forensics", 2004.

Guide: IMPLEMENTATION_GUIDE.md, phase 3.
"""
from __future__ import annotations

from grader.todo import TodoError

import numpy as np
import scipy.fft

from phase3_frequency_analysis.template_fft_analysis import to_grayscale

BLOCK = 8

# ------------------------------------------------------------------------------------------------
# 3.4 The 8x8 block DCT of JPEG
# ------------------------------------------------------------------------------------------------


def dct_matrix(n: int = BLOCK) -> np.ndarray:
    """The orthonormal DCT-II matrix C, (n, n) float64: the DCT of a vector x is ``C @ x``.

    ``C[u, x] = a(u) * cos((2x + 1) u pi / (2n))`` with ``a(0) = sqrt(1/n)`` and
    ``a(u) = sqrt(2/n)`` for u > 0, so ``C @ C.T`` is the identity (the inverse DCT is ``C.T``).
    Row u is the cosine of u half-periods across the block.

    Example: n = 2 -> [[1/sqrt2, 1/sqrt2], [cos(pi/4), cos(3pi/4)]] = [[0.707, 0.707], [0.707, -0.707]].
    """
    # TODO 3.4: build u (rows) and x (columns) with np.arange and broadcasting, evaluate the
    #   cosine, and scale row 0 by sqrt(1/n) and the other rows by sqrt(2/n)
    raise TodoError('3.4: build u (rows) and x (columns) with np.arange and broadcasting, evaluate the cosine, and scale row 0 by sqrt(1/n) and the other rows by sqrt(2/n) (IMPLEMENTATION_GUIDE.md, 3.4 JPEG 8x8 block DCT)')


def block_dct(image: np.ndarray) -> np.ndarray:
    """JPEG's 8x8 block DCT of an image's luma.

    image: (H, W) or (H, W, 3) with values 0..255. The grayscale image is level-shifted
    (``- 128``, so a mid-grey block has a zero DC term), cropped to whole blocks (the last
    ``H % 8`` rows and ``W % 8`` columns are dropped), cut into blocks ``[8 by : 8 by + 8,
    8 bx : 8 bx + 8]`` and each block B transformed as ``C @ B @ C.T`` with ``C = dct_matrix(8)``.

    Returns (H // 8, W // 8, 8, 8) float64: ``[by, bx, u, v]`` is coefficient (u = vertical
    frequency, v = horizontal frequency) of block (by, bx); equal to
    ``scipy.fft.dctn(block - 128, norm="ortho")``.

    Example: a constant block of 130 has DC = 8 * (130 - 128) = 16 (orthonormal: sum / 8) and all
    63 other coefficients 0.
    """
    gray = to_grayscale(image)
    rows, cols = gray.shape[0] // BLOCK, gray.shape[1] // BLOCK
    # TODO 3.4: subtract 128, crop to rows*8 x cols*8, reshape to (rows, 8, cols, 8) and
    #   transpose to (rows, cols, 8, 8), then apply C @ block @ C.T to every block (np.einsum or
    #   matmul broadcasting)
    raise TodoError('3.4: subtract 128, crop to rows*8 x cols*8, reshape to (rows, 8, cols, 8) and transpose to (rows, cols, 8, 8), then apply C @ block @ C.T to every block (np.einsum or matmul broadcasting) (IMPLEMENTATION_GUIDE.md, 3.4 JPEG 8x8 block DCT)')


# ------------------------------------------------------------------------------------------------
# 3.5 Frank et al.'s log-DCT input
# ------------------------------------------------------------------------------------------------

FRANK_EPS = 1e-12


def log_dct_spectrum(image: np.ndarray, eps: float = FRANK_EPS) -> np.ndarray:
    """Frank et al.'s input: the log-magnitude DCT of the *whole* image, per channel.

    image: (H, W) or (H, W, C), any real values (no level shift, no blocks). The 2-D orthonormal
    DCT-II over the two image axes (``scipy.fft.dctn(image, axes=(0, 1), norm="ortho")``; each
    colour channel separately), then ``log(|x| + eps)`` (natural log). Returns float64 of the
    image's shape; entry [0, 0] is the DC term, frequencies grow down and to the right.

    Example: a 4x4 image of ones has DCT 4 at [0, 0] (sum / sqrt(16)) and 0 elsewhere:
    log(4) ~ 1.386 at [0, 0] and log(1e-12) ~ -27.63 at the 15 other coefficients.
    """
    # TODO 3.5: scipy.fft.dctn over axes (0, 1) with norm="ortho" on float64 values, then
    #   np.log(np.abs(...) + eps)
    raise TodoError('3.5: scipy.fft.dctn over axes (0, 1) with norm="ortho" on float64 values, then np.log(np.abs(...) + eps) (IMPLEMENTATION_GUIDE.md, 3.5 Frank\'s log-DCT input)')


def fit_standardiser(train_spectra: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-coefficient mean and standard deviation over a training set of log-DCT spectra.

    train_spectra: (N, ...) float, N training images' :func:`log_dct_spectrum` of one shape.
    Returns (mean, std), each of shape ``train_spectra.shape[1:]``: the mean and the population
    standard deviation (``ddof=0``, as Frank et al.'s ``np.var``) over the N images, coefficient by
    coefficient. Fit them on the training images only and reuse them for validation and test.

    Example: two 1x2 spectra [[1, 10]] and [[3, 30]] -> mean [[2, 20]], std [[1, 10]].
    """
    # TODO 3.5: mean and standard deviation over axis 0 (the images), np.mean / np.std with the
    #   default ddof=0
    raise TodoError("3.5: mean and standard deviation over axis 0 (the images), np.mean / np.std with the default ddof=0 (IMPLEMENTATION_GUIDE.md, 3.5 Frank's log-DCT input)")


def standardise(spectra: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``(spectra - mean) / std`` coefficient by coefficient (std from :func:`fit_standardiser`).

    spectra: (N, ...) or one spectrum of the fitted shape. Returns float64 of the same shape.

    Example: with mean [[2, 20]] and std [[1, 10]], [[5, 0]] -> [[3, -2]].
    """
    # TODO 3.5: subtract the mean and divide by the standard deviation (broadcasting over the
    #   leading image axis)
    raise TodoError("3.5: subtract the mean and divide by the standard deviation (broadcasting over the leading image axis) (IMPLEMENTATION_GUIDE.md, 3.5 Frank's log-DCT input)")


# ------------------------------------------------------------------------------------------------
# 3.6 Coefficient statistics and the double-compression cue
# ------------------------------------------------------------------------------------------------


def mean_abs_coefficients(coefficients: np.ndarray) -> np.ndarray:
    """Mean absolute value of each DCT frequency over all blocks.

    coefficients: (..., 8, 8) from :func:`block_dct` (any number of leading block axes). Returns
    (8, 8) float64: entry (u, v) is the mean of ``|coefficients[..., u, v]|`` over every block. A
    JPEG's map drops to zero towards (7, 7): its quantisation steps there are large.

    Example: two blocks whose (0, 1) coefficients are 3 and -5 give 4 at (0, 1).
    """
    coefficients = np.asarray(coefficients, dtype=np.float64)
    # TODO 3.6: take np.abs and average over every axis but the last two
    #   (axis=tuple(range(coefficients.ndim - 2)))
    raise TodoError('3.6: take np.abs and average over every axis but the last two (axis=tuple(range(coefficients.ndim - 2))) (IMPLEMENTATION_GUIDE.md, 3.6 DCT statistics and double JPEG)')


def coefficient_histogram(coefficients: np.ndarray, u: int, v: int, step: float, max_abs: int = 20) -> np.ndarray:
    """Histogram of one DCT frequency in units of a quantisation step.

    coefficients: (..., 8, 8) from :func:`block_dct`; (u, v): the frequency; step: the JPEG
    quantisation step of that frequency (e.g. 2 for (1, 0) at quality 90). Each block's value
    ``coefficients[..., u, v] / step`` is rounded to the nearest integer (``np.rint``); values
    beyond ``max_abs`` in magnitude are left out. Returns (2 * max_abs + 1,) int64: entry i counts
    the blocks whose rounded value is ``i - max_abs``.

    Example: values [0, 2.1, -3.9, 4.0, 9.0] with step 2 and max_abs 2 round to [0, 1, -2, 2, 4];
    4 is left out -> counts [1, 0, 1, 1, 1] for -2, -1, 0, 1, 2.
    """
    # TODO 3.6: take coefficients[..., u, v] / step, np.rint to integers, keep |k| <= max_abs,
    #   count with np.bincount(k + max_abs, minlength=2 * max_abs + 1)
    raise TodoError('3.6: take coefficients[..., u, v] / step, np.rint to integers, keep |k| <= max_abs, count with np.bincount(k + max_abs, minlength=2 * max_abs + 1) (IMPLEMENTATION_GUIDE.md, 3.6 DCT statistics and double JPEG)')


def double_compression_score(histogram: np.ndarray) -> float:
    """How far a coefficient histogram departs from its own smooth envelope (periodic gaps score high).

    histogram: (K,) counts, K >= 3, from :func:`coefficient_histogram`. The envelope of bin k is the
    mean of bins k-1, k, k+1; the score is the summed absolute departure from it over the interior
    bins, relative to their total count::

        score = sum_{k=1}^{K-2} |h[k] - (h[k-1] + h[k] + h[k+1]) / 3|  /  sum_{k=1}^{K-2} h[k]

    A single JPEG gives a smooth, peaked histogram (about 0.1-0.4 on a face); compressing twice
    with a larger step first leaves only every (q1 / q2)-th bin filled, and the score jumps to
    about 1 or more. 0.0 for an empty histogram.

    Example: [0, 3, 0, 3, 0] -> envelopes 1, 2, 1 for bins 1..3, departures 2, 2, 2 -> 6 / 6 = 1.0.
    """
    counts = np.asarray(histogram, dtype=np.float64)
    # TODO 3.6: the envelope of the interior bins h[1:-1] is (h[:-2] + h[1:-1] + h[2:]) / 3; sum
    #   |h[1:-1] - envelope| and divide by sum(h[1:-1]), or return 0.0 when that sum is 0
    raise TodoError('3.6: the envelope of the interior bins h[1:-1] is (h[:-2] + h[1:-1] + h[2:]) / 3; sum |h[1:-1] - envelope| and divide by sum(h[1:-1]), or return 0.0 when that sum is 0 (IMPLEMENTATION_GUIDE.md, 3.6 DCT statistics and double JPEG)')
