"""Independent reference computations shared by the phase-3 tests (never the course's code).

Each function is written differently from the exercise it checks: explicit loops over pixels and
rings, the DFT as matrix products, scipy's ``CubicSpline`` in place of ``interp1d``.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.interpolate import CubicSpline

BT601 = np.array([0.299, 0.587, 0.114])


def gray(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float64)
    return image @ BT601 if image.ndim == 3 else image


def centred_dft(image: np.ndarray) -> np.ndarray:
    """The 2-D DFT as two matrix products, rolled so that DC sits at (H//2, W//2)."""
    g = gray(image)
    height, width = g.shape
    rows = np.exp(-2j * np.pi * np.outer(np.arange(height), np.arange(height)) / height)
    cols = np.exp(-2j * np.pi * np.outer(np.arange(width), np.arange(width)) / width)
    return np.roll(rows @ g @ cols.T, (height // 2, width // 2), axis=(0, 1))


def ring_means(spectrum: np.ndarray, n_rings: int) -> np.ndarray:
    """Mean of the pixels whose rounded distance to (H//2, W//2) is r, for r < n_rings (a loop)."""
    height, width = spectrum.shape
    sums, counts = [0.0] * n_rings, [0] * n_rings
    for y in range(height):
        for x in range(width):
            r = int(round(math.hypot(y - height // 2, x - width // 2)))
            if r < n_rings:
                sums[r] += spectrum[y, x]
                counts[r] += 1
    return np.array([s / c for s, c in zip(sums, counts)])


def durall_profile(image: np.ndarray, n_bins: int) -> np.ndarray:
    """20 ln(|F| + 1e-8), ring means 0..S//2 at r/S cycles per pixel, not-a-knot cubic spline on
    [0, 0.5], divided by its value at 0."""
    g = gray(image)
    size = g.shape[0]
    spectrum = 20 * np.log(np.abs(centred_dft(g)) + 1e-8)
    rings = ring_means(spectrum, size // 2 + 1)
    spline = CubicSpline(np.arange(size // 2 + 1) / size, rings, bc_type="not-a-knot", extrapolate=True)
    profile = spline(np.linspace(0, 0.5, n_bins))
    return profile / profile[0]


def band_texture(size: int, seed: int, peak: float = 0.125, width: float = 0.01, floor: float = 0.05) -> np.ndarray:
    """Stationary noise whose power spectrum is the same function of cycles per pixel at any size:
    a Gaussian bump at ``peak`` cycles per pixel over a flat floor (gray levels around 128)."""
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.fftfreq(size)[None, :]
    gain = np.exp(-((np.hypot(fy, fx) - peak) / width) ** 2) + floor
    noise = np.fft.ifft2(np.fft.fft2(rng.normal(size=(size, size))) * gain).real
    return 128 + 40 * noise / noise.std()
