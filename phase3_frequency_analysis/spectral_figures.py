"""Figures of phase 3 (provided): what real and fake faces look like in the frequency domain.

Three pictures, each from the functions of your tasks, each computed per class (REAL 0, FAKE 1):

* ``mean_spectra.png``: the mean centred log power spectrum (task 3.1) of the real faces, of the
  fake faces, and their difference. Crops of different sizes are centre-cropped to the smallest
  side first, so every spectrum has the same frequency grid (no resizing: that would move the
  frequencies). An upsampling grid shows as bright spots and lines at the border (Nyquist).
* ``radial_profiles.png``: Durall's profile (task 3.3) of each crop at its own size, on one axis of
  cycles per pixel; the mean of each class with a band of +- one standard deviation.
* ``dct_histograms.png``: histograms of a few 8x8 block-DCT coefficients (tasks 3.4, 3.6), in units
  of ``step``, each class normalised to sum 1: compression and upsampling change their shape.

``python phase3_frequency_analysis/evaluate.py --checkpoint CKPT --test-data ROOT --figures DIR``
draws them from the evaluated test faces (a spectral checkpoint reads the crops at their own size;
a frame checkpoint's crops were resized to its input size, which the titles say).

Guide: IMPLEMENTATION_GUIDE.md, phase 3 ("Phase 3 figures").
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from common.metrics import save_figure
from phase3_frequency_analysis.template_dct_analysis import block_dct, coefficient_histogram
from phase3_frequency_analysis.template_fft_analysis import durall_profile, log_power_spectrum

CLASS_NAMES = {0: "real", 1: "fake"}
DCT_COEFFICIENTS = ((0, 1), (1, 0), (1, 1), (2, 2), (4, 4), (7, 7))
"""(u, v) frequencies drawn by :func:`plot_dct_histograms`: low, middle and the highest."""


def centre_crop(image: np.ndarray, side: int) -> np.ndarray:
    """The central ``side`` x ``side`` square of an (H, W) or (H, W, C) image (H, W >= side).

    Example: a 7x7 image and side 3 -> rows and columns 2..4.
    """
    height, width = image.shape[:2]
    if side > min(height, width):
        raise ValueError(f"cannot take a {side}-pixel centre from a {height}x{width} image")
    top, left = (height - side) // 2, (width - side) // 2
    return image[top:top + side, left:left + side]


def _by_class(crops: Sequence[np.ndarray], labels: Sequence[int]) -> dict[int, list[np.ndarray]]:
    if len(crops) != len(labels):
        raise ValueError(f"{len(crops)} crops but {len(labels)} labels")
    groups: dict[int, list[np.ndarray]] = {}
    for crop, label in zip(crops, labels):
        groups.setdefault(int(label), []).append(np.asarray(crop))
    return groups


def mean_log_spectra(crops: Sequence[np.ndarray], labels: Sequence[int]) -> tuple[dict[int, np.ndarray], int]:
    """Mean centred log power spectrum per class, on one frequency grid.

    crops: square face crops (S_i, S_i, 3) of any sizes; labels: 0/1 per crop. Every crop is
    centre-cropped to the smallest side S among them, then ``log_power_spectrum`` (task 3.1).
    Returns ``({label: (S, S) mean spectrum}, S)``.
    """
    side = min(min(np.asarray(c).shape[:2]) for c in crops)
    spectra = {label: np.mean([log_power_spectrum(centre_crop(c, side)) for c in group], axis=0)
               for label, group in sorted(_by_class(crops, labels).items())}
    return spectra, side


def profile_statistics(crops: Sequence[np.ndarray], labels: Sequence[int],
                       n_bins: int = 64) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Durall's profile (task 3.3) of every crop at its own size: ``{label: (mean, std)}``, each (n_bins,).

    Bin i is ``0.5 i / (n_bins - 1)`` cycles per pixel; the standard deviation is over the crops
    of the class (``ddof=0``).
    """
    statistics = {}
    for label, group in sorted(_by_class(crops, labels).items()):
        profiles = np.stack([durall_profile(crop, n_bins) for crop in group])
        statistics[label] = (profiles.mean(axis=0), profiles.std(axis=0))
    return statistics


def dct_histograms(crops: Sequence[np.ndarray], labels: Sequence[int],
                   coefficients: Sequence[tuple[int, int]] = DCT_COEFFICIENTS, step: float = 2.0,
                   max_abs: int = 30) -> dict[int, np.ndarray]:
    """Histograms of 8x8 block-DCT coefficients per class: ``{label: (K, 2 max_abs + 1)}``.

    Every crop's blocks (task 3.4) are pooled per class; row k is ``coefficient_histogram`` (task
    3.6) of ``coefficients[k]`` in units of ``step``, divided by its sum (a distribution; zeros
    when no value falls within ``max_abs``). Column j is the value ``(j - max_abs) * step``.
    """
    histograms = {}
    for label, group in sorted(_by_class(crops, labels).items()):
        blocks = np.concatenate([block_dct(crop).reshape(-1, 8, 8) for crop in group])
        rows = []
        for u, v in coefficients:
            counts = coefficient_histogram(blocks, u, v, step, max_abs).astype(np.float64)
            rows.append(counts / counts.sum() if counts.sum() > 0 else counts)
        histograms[label] = np.stack(rows)
    return histograms


# ------------------------------------------------------------------------------------------------
# Drawing (matplotlib, Agg: no display needed)
# ------------------------------------------------------------------------------------------------

def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_mean_spectra(spectra: dict[int, np.ndarray], side: int, path: str | Path, note: str = "") -> Path:
    """Real, fake and fake - real mean log power spectra side by side (one colour scale for the first two)."""
    plt = _pyplot()
    labels = sorted(spectra)
    panels = [(f"{CLASS_NAMES.get(label, label)} (mean of log |F|^2)", spectra[label]) for label in labels]
    if len(labels) == 2:
        panels.append(("fake - real", spectra[labels[1]] - spectra[labels[0]]))
    figure, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.2), squeeze=False)
    low = min(spectra[label].min() for label in labels)
    high = max(spectra[label].max() for label in labels)
    for index, (axis, (title, image)) in enumerate(zip(axes[0], panels)):
        difference = index == 2
        limit = np.abs(image).max() if difference else None
        shown = axis.imshow(image, cmap="coolwarm" if difference else "viridis",
                            vmin=-limit if difference else low, vmax=limit if difference else high,
                            extent=(-0.5, 0.5, 0.5, -0.5))
        axis.set_title(title, fontsize=10)
        axis.set_xlabel("horizontal frequency (cycles / pixel)")
        axis.set_ylabel("vertical frequency (cycles / pixel)")
        figure.colorbar(shown, ax=axis, fraction=0.046, pad=0.04)
    figure.suptitle(f"Mean spectra of {side}x{side} face centres{note}")
    figure.tight_layout()
    save_figure(figure, path, dpi=110)
    plt.close(figure)
    return Path(path)


def plot_radial_profiles(statistics: dict[int, tuple[np.ndarray, np.ndarray]], path: str | Path, note: str = "") -> Path:
    """Mean Durall profile per class with a +- 1 standard deviation band."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6.5, 4.2))
    for label, (mean, std) in sorted(statistics.items()):
        frequencies = np.linspace(0, 0.5, len(mean))
        line, = axis.plot(frequencies, mean, label=CLASS_NAMES.get(label, str(label)))
        axis.fill_between(frequencies, mean - std, mean + std, color=line.get_color(), alpha=0.25)
    axis.set_xlabel("spatial frequency (cycles / pixel)")
    axis.set_ylabel("azimuthal mean of 20 ln|F|, / DC")
    axis.set_title(f"Durall profiles: mean +- 1 std{note}", fontsize=10)
    axis.legend()
    figure.tight_layout()
    save_figure(figure, path, dpi=110)
    plt.close(figure)
    return Path(path)


def plot_dct_histograms(histograms: dict[int, np.ndarray], path: str | Path,
                        coefficients: Sequence[tuple[int, int]] = DCT_COEFFICIENTS, step: float = 2.0,
                        note: str = "") -> Path:
    """One panel per coefficient, the classes' distributions overlaid (log scale: the tails matter)."""
    plt = _pyplot()
    columns = 3
    rows = int(np.ceil(len(coefficients) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.2 * rows), squeeze=False)
    for k, (u, v) in enumerate(coefficients):
        axis = axes[k // columns][k % columns]
        for label, table in sorted(histograms.items()):
            max_abs = (table.shape[1] - 1) // 2
            values = (np.arange(table.shape[1]) - max_abs) * step
            axis.step(values, np.maximum(table[k], 1e-5), where="mid", label=CLASS_NAMES.get(label, str(label)))
        axis.set_yscale("log")
        axis.set_title(f"DCT coefficient ({u}, {v})", fontsize=10)
        axis.set_xlabel("value (8x8 block DCT, levels)")
        axis.legend(fontsize=8)
    for k in range(len(coefficients), rows * columns):
        axes[k // columns][k % columns].axis("off")
    figure.suptitle(f"8x8 block-DCT coefficient histograms{note}")
    figure.tight_layout()
    save_figure(figure, path, dpi=110)
    plt.close(figure)
    return Path(path)


def write_figures(crops: Sequence[np.ndarray], labels: Sequence[int], output_dir: str | Path,
                  note: str = "") -> list[Path]:
    """Write ``mean_spectra.png``, ``radial_profiles.png`` and ``dct_histograms.png`` in ``output_dir``.

    crops: square RGB face crops (uint8, any sizes >= 8); labels: 0 REAL / 1 FAKE per crop;
    note: appended to every title (e.g. which videos). Returns the three paths.
    """
    if len(crops) == 0:
        raise ValueError("no face crops to draw")
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    spectra, side = mean_log_spectra(crops, labels)
    return [plot_mean_spectra(spectra, side, output / "mean_spectra.png", note),
            plot_radial_profiles(profile_statistics(crops, labels), output / "radial_profiles.png", note),
            plot_dct_histograms(dct_histograms(crops, labels), output / "dct_histograms.png", note=note)]


def cached_crops(cache_files: Sequence[str | Path], per_video: int | None = None) -> tuple[list[np.ndarray], list[int]]:
    """The face crops and labels stored in face-cache files (``common.faces.build_face_cache``).

    Native caches (spectral detectors) record each crop's side: the zero padding is cut off.
    ``per_video`` keeps at most that many evenly spaced crops of each video.
    """
    from common.torch_data import read_face_cache

    crops, labels = [], []
    for path in cache_files:
        cache = read_face_cache(path)
        sides = cache.meta.get("crop_sizes") or [cache.faces.shape[1]] * len(cache.faces)
        keep = range(len(cache.faces))
        if per_video is not None and len(cache.faces) > per_video:
            keep = np.linspace(0, len(cache.faces) - 1, per_video).round().astype(int)
        for index in keep:
            side = int(sides[index])
            crops.append(cache.faces[index][:side, :side])
            labels.append(int(cache.label))
    return crops, labels
