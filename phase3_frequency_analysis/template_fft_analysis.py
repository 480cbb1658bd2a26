# Exercise file generated from the reference solution: fill in every TODO (see IMPLEMENTATION_GUIDE.md).
"""FFT analysis: the radially averaged power spectrum of a face (Durall et al., CVPR 2020).

Idea. A generator that upsamples (transposed convolutions, nearest-neighbour, zero insertion)
cannot reproduce the natural fall-off of image spectra: it leaves too much, or periodic, energy at
high spatial frequencies. Averaging the 2-D power spectrum over rings of equal frequency turns an
image into a short 1-D profile ("azimuthal average") where that excess is easy to see and where a
simple classifier (logistic regression, SVM) separates real from fake.

Paper: R. Durall, M. Keuper, J. Keuper, "Watch your Up-Convolution: CNN Based Generative Deep
Neural Networks are Failing to Reproduce Spectral Distributions", CVPR 2020.

Guide: IMPLEMENTATION_GUIDE.md, phase 3.
"""
from __future__ import annotations

from grader.todo import TodoError

import numpy as np


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
