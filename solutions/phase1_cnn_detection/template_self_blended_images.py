"""Self-Blended Images (SBI): train a detector on real faces only, with fakes made from themselves.

Idea. A detector trained on the fakes of one benchmark learns that benchmark's fingerprints (the
upsampling grid of one generator, the colour of one swap) and drops to chance on a manipulation it
never saw. What every face swap shares is the *blend*: a face region pasted into a frame, with a
boundary where two slightly different images meet, a colour mismatch and a change of sharpness.
Shiohara and Yamasaki make that boundary the only thing to learn. From one real face they build a
*source* (the same face after a small colour, frequency and geometry change) and a *target* (the
face unchanged), a *mask* (the convex hull of the face landmarks, deformed and blurred) and blend
them::

    I = M * source + (1 - M) * target

The result is a pseudo-fake of the same person, same pose, same light, whose only artefacts are the
blending ones, so the network cannot cheat with identity or generator cues. Trained on
FaceForensics++'s real videos alone, their EfficientNet-B4 reaches video AUCs of 0.938 on Celeb-DF
v2 and 0.857 on DFDC-preview, above detectors trained on the benchmark's own fakes.

The pieces, as in the paper's Fig. 2:

* the mask generator (task 1.10): :func:`hull_mask` (the landmarks' convex hull, filled),
  :func:`deform_mask` (a random affine stretch and shift; :func:`elastic_deform` adds a smooth
  elastic wobble, provided), :func:`soften_mask` (Gaussian blur, peak back to 1) and
  :func:`blending_mask` (the chain, times a random blend ratio);
* the source-target generator and the blend (task 1.11): :func:`jitter_colour` (brightness,
  contrast, hue), :func:`change_frequency` (downscale-upscale, or sharpening), :func:`shift_scale`
  (a small translation and scaling), :func:`make_source` (the three in turn) and :func:`blend`.

:func:`self_blended_image` draws every random parameter from a seeded ``numpy.random.Generator``
(:func:`sample_mask_params`, :func:`sample_source_params`, provided) and returns the pseudo-fake and
its mask. Images are (H, W, 3) float32 RGB in [0, 1]; masks (H, W) float32 in [0, 1]; landmarks
(K, 2) float32 pixel coordinates, x then y. ``common.self_blended.SelfBlendedDataset`` serves these
pseudo-fakes to the shared training loop (``train.py --data-source sbi``).

Paper: K. Shiohara and T. Yamasaki, "Detecting Deepfakes with Self-Blended Images", CVPR 2022.
Guide: IMPLEMENTATION_GUIDE.md, phase 1 (1.10 SBI blending mask, 1.11 Self-blending).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

#: The paper's blend ratios: the mask's peak is one of these, full opacity half of the time.
BLEND_RATIOS = (0.25, 0.5, 0.75, 1.0, 1.0, 1.0)


# --------------------------------------------------------------------------------------------
# Task 1.10: the blending mask
# --------------------------------------------------------------------------------------------

def hull_mask(landmarks: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """The filled convex hull of the landmarks: 1.0 inside and on the hull, 0.0 outside.

    Args:
        landmarks: (K, 2) points in pixels, x (column) then y (row); K >= 3.
        shape: the image shape; only (H, W) = ``shape[:2]`` is used.
    Returns:
        (H, W) float32 of 0.0 and 1.0.

    Example:
        The points (1, 1), (3, 1), (3, 3), (1, 3) and (2, 2) on a 5 x 5 image: the hull is the
        square of the four corners (the centre point is inside it), so rows 1..3, columns 1..3 are
        1.0 (9 pixels) and the border ring is 0.0.
    """
    # BEGIN SOLUTION 1.10: make an (H, W) float32 zero image; round the points to an int32 array, take cv2.convexHull of them and fill that polygon with 1.0 with cv2.fillConvexPoly; return the image
    mask = np.zeros(tuple(shape[:2]), np.float32)
    hull = cv2.convexHull(np.round(np.asarray(landmarks, np.float64)).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, 1.0)
    return mask
    # END SOLUTION


def deform_mask(mask: np.ndarray, scale_x: float = 1.0, scale_y: float = 1.0, dx: float = 0.0,
                dy: float = 0.0) -> np.ndarray:
    """Stretch the mask about the image centre, then shift it: a random hull is never the exact face.

    The affine map sends a pixel (x, y) to (cx + scale_x * (x - cx) + dx, cy + scale_y * (y - cy) + dy),
    with (cx, cy) = ((W - 1) / 2, (H - 1) / 2) the image centre; bilinear interpolation, 0 outside.

    Args:
        mask: (H, W) float32 in [0, 1].
        scale_x, scale_y: stretch factors (1 keeps the size; 1.1 widens the mask by 10%).
        dx, dy: shift in pixels (positive: right, down).
    Returns:
        (H, W) float32 in [0, 1]; ``deform_mask(m)`` (all defaults) returns ``m`` unchanged.

    Example:
        On a 5 x 5 mask with one 1.0 at (row 2, column 2), ``dx=1, dy=-1`` moves it to (row 1, column 3).
    """
    mask = np.asarray(mask, np.float32)
    height, width = mask.shape[:2]
    # BEGIN SOLUTION 1.10: centre (cx, cy) = ((W - 1) / 2, (H - 1) / 2); the 2 x 3 matrix [[scale_x, 0, cx - scale_x * cx + dx], [0, scale_y, cy - scale_y * cy + dy]]; apply it with cv2.warpAffine (size (W, H), cv2.INTER_LINEAR, constant border 0)
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    matrix = np.array([[scale_x, 0.0, cx - scale_x * cx + dx],
                       [0.0, scale_y, cy - scale_y * cy + dy]], np.float64)
    return cv2.warpAffine(mask, matrix, (width, height), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    # END SOLUTION


def elastic_deform(mask: np.ndarray, rng: np.random.Generator, alpha: float = 0.0, sigma: float = 4.0) -> np.ndarray:
    """Provided: a smooth random wobble of the mask's outline (Simard et al. 2003's elastic distortion).

    Each pixel reads the mask at its position plus a random displacement field: uniform noise in
    [-1, 1] smoothed by a Gaussian of ``sigma`` pixels and scaled to at most ``alpha`` pixels.
    ``alpha = 0`` returns the mask unchanged. (H, W) float32 -> (H, W) float32 in [0, 1].
    """
    mask = np.asarray(mask, np.float32)
    if alpha <= 0:
        return mask
    height, width = mask.shape[:2]
    fields = []
    for _ in range(2):
        noise = cv2.GaussianBlur(rng.uniform(-1.0, 1.0, (height, width)).astype(np.float32), (0, 0), sigma)
        fields.append(noise * (alpha / max(float(np.abs(noise).max()), 1e-8)))
    grid_y, grid_x = np.mgrid[0:height, 0:width].astype(np.float32)
    return cv2.remap(mask, grid_x + fields[0], grid_y + fields[1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)


def soften_mask(mask: np.ndarray, kernel: int) -> np.ndarray:
    """Blur the mask's edge and bring its peak back to 1: the seam fades over ~``kernel`` pixels.

    Args:
        mask: (H, W) float32 in [0, 1].
        kernel: odd Gaussian kernel side in pixels (1 = no blur); sigma from the side (OpenCV's rule).
    Returns:
        (H, W) float32 in [0, 1]: ``cv2.GaussianBlur(mask, (kernel, kernel), 0)`` divided by its
        maximum; an all-zero mask stays all zero.

    Example:
        ``kernel=1`` returns a 0/1 mask unchanged; a single 1.0 pixel with ``kernel=3`` becomes the
        3 x 3 Gaussian [0.25, 0.5, 0.25] outer product, divided by its centre 0.25: centre 1.0,
        edge neighbours 0.5, corners 0.25.
    """
    mask = np.asarray(mask, np.float32)
    if kernel < 1 or kernel % 2 == 0:
        raise ValueError(f"kernel must be an odd number of pixels, got {kernel}")
    # BEGIN SOLUTION 1.10: blur with cv2.GaussianBlur(mask, (kernel, kernel), 0); divide by the blurred maximum when it is positive (an all-zero mask is returned as it is)
    blurred = cv2.GaussianBlur(mask, (kernel, kernel), 0)
    peak = float(blurred.max())
    return blurred / peak if peak > 0 else blurred
    # END SOLUTION


@dataclass(frozen=True)
class MaskParams:
    """The random choices behind one blending mask (see :func:`sample_mask_params`)."""

    scale_x: float = 1.0
    scale_y: float = 1.0
    dx: float = 0.0
    dy: float = 0.0
    elastic_alpha: float = 0.0
    kernel: int = 1
    ratio: float = 1.0


def sample_mask_params(rng: np.random.Generator, size: int) -> MaskParams:
    """Provided: random mask parameters for an image of side ``size`` pixels (the SBI ranges, scaled).

    Stretch 0.9-1.1 per axis, shift up to 3% of the side, an elastic wobble up to 2% of the side,
    a blur kernel of 5-25% of the side (odd), and a blend ratio from :data:`BLEND_RATIOS`.
    """
    low, high = max(1, size // 20), max(1, size // 4)
    kernel = int(rng.integers(low, high + 1)) | 1
    shift = 0.03 * size
    return MaskParams(scale_x=float(rng.uniform(0.9, 1.1)), scale_y=float(rng.uniform(0.9, 1.1)),
                      dx=float(rng.uniform(-shift, shift)), dy=float(rng.uniform(-shift, shift)),
                      elastic_alpha=float(rng.uniform(0.0, 0.02 * size)), kernel=kernel,
                      ratio=float(BLEND_RATIOS[int(rng.integers(len(BLEND_RATIOS)))]))


def blending_mask(landmarks: np.ndarray, shape: Sequence[int], params: MaskParams = MaskParams(),
                  rng: np.random.Generator | None = None) -> np.ndarray:
    """The SBI blending mask: hull -> deformation -> elastic wobble -> blur -> times the blend ratio.

    Args:
        landmarks: (K, 2) face landmarks in pixels (x, y), e.g. the face mesh's face oval
            (``common.self_blended.FACE_OVAL``).
        shape: the image shape ((H, W) used).
        params: the random choices (:class:`MaskParams`; the defaults change nothing).
        rng: the generator of the elastic field (needed only when ``params.elastic_alpha > 0``).
    Returns:
        (H, W) float32 in [0, ``params.ratio``]: ``ratio`` inside the face far from the seam, 0 far
        outside it.

    Example:
        With the default params the result is :func:`hull_mask` exactly; with ``ratio=0.5`` it is
        half of it.
    """
    if params.elastic_alpha > 0 and rng is None:
        raise ValueError("an elastic wobble (params.elastic_alpha > 0) needs a numpy Generator as rng")
    # BEGIN SOLUTION 1.10: hull_mask of the landmarks, then deform_mask with the params' stretch and shift, elastic_deform (only when params.elastic_alpha > 0), soften_mask with params.kernel; return it times params.ratio
    mask = hull_mask(landmarks, shape)
    mask = deform_mask(mask, params.scale_x, params.scale_y, params.dx, params.dy)
    if params.elastic_alpha > 0:
        mask = elastic_deform(mask, rng, params.elastic_alpha)
    return soften_mask(mask, params.kernel) * np.float32(params.ratio)
    # END SOLUTION


# --------------------------------------------------------------------------------------------
# Task 1.11: the source, the target and the blend
# --------------------------------------------------------------------------------------------

def jitter_colour(image: np.ndarray, brightness: float = 0.0, contrast: float = 1.0,
                  hue_degrees: float = 0.0) -> np.ndarray:
    """Change the colours of the source a little: hue, then contrast and brightness.

    1. Hue (only when ``hue_degrees != 0``): to HSV with ``cv2.cvtColor(image, cv2.COLOR_RGB2HSV)``
       (float32 input gives H in degrees 0..360), H + ``hue_degrees`` modulo 360, back to RGB.
    2. Contrast about the image's mean m (over all pixels and channels): (x - m) * contrast + m.
    3. Brightness: + ``brightness``; then clip to [0, 1].

    Args:
        image: (H, W, 3) float32 RGB in [0, 1].
    Returns:
        (H, W, 3) float32 in [0, 1]; the defaults return the input values exactly.

    Example:
        Pixels 0.2 and 0.6 (mean 0.4) with ``contrast=2, brightness=0.1`` become 0.1 and 0.9;
        pure red (1, 0, 0) with ``hue_degrees=120`` becomes pure green (0, 1, 0).
    """
    out = np.asarray(image, np.float32)
    # BEGIN SOLUTION 1.11: if hue_degrees is not 0, go to HSV (float32, H in degrees), add it to H modulo 360 and go back to RGB; then (out - mean) * contrast + mean + brightness with the mean over the whole image; clip to [0, 1], float32
    if hue_degrees != 0:
        hsv = cv2.cvtColor(np.ascontiguousarray(out), cv2.COLOR_RGB2HSV)
        hsv[..., 0] = np.mod(hsv[..., 0] + np.float32(hue_degrees), 360.0)
        out = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    mean = out.mean(dtype=np.float64)
    out = (out - mean) * contrast + mean + brightness
    return np.clip(out, 0.0, 1.0).astype(np.float32)
    # END SOLUTION


def change_frequency(image: np.ndarray, factor: float = 1.0, sharpen: float = 0.0) -> np.ndarray:
    """Change the source's sharpness: blur it by a downscale-upscale, or sharpen it.

    1. ``factor > 1``: resize to (round(W / factor), round(H / factor)) with ``cv2.INTER_AREA``,
       then back to (W, H) with ``cv2.INTER_LINEAR`` (the detail above the smaller size is gone).
    2. ``sharpen > 0``: unsharp masking, out + sharpen * (out - cv2.GaussianBlur(out, (3, 3), 0)),
       clipped to [0, 1].

    Args:
        image: (H, W, 3) float32 in [0, 1].
    Returns:
        (H, W, 3) float32; ``factor=1, sharpen=0`` returns the input values exactly; a constant image
        stays constant.

    Example:
        A 4 x 4 image whose left half is 0 and right half 1, ``factor=2``: the 2 x 2 image [0, 1]
        per row, upscaled bilinearly back to columns 0, 0.25, 0.75, 1.
    """
    out = np.asarray(image, np.float32)
    height, width = out.shape[:2]
    # BEGIN SOLUTION 1.11: when factor > 1, cv2.resize down to (round(W / factor), round(H / factor)) with INTER_AREA and back to (W, H) with INTER_LINEAR; when sharpen > 0, add sharpen times (out minus its 3 x 3 Gaussian blur) and clip to [0, 1]
    if factor > 1:
        small = cv2.resize(out, (max(1, round(width / factor)), max(1, round(height / factor))),
                           interpolation=cv2.INTER_AREA)
        out = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    if sharpen > 0:
        out = np.clip(out + sharpen * (out - cv2.GaussianBlur(out, (3, 3), 0)), 0.0, 1.0)
    return out.astype(np.float32)
    # END SOLUTION


def shift_scale(image: np.ndarray, dx: float = 0.0, dy: float = 0.0, scale: float = 1.0) -> np.ndarray:
    """Move and resize the source slightly, so its edges and the target's do not coincide.

    The map sends (x, y) to (cx + scale * (x - cx) + dx, cy + scale * (y - cy) + dy), (cx, cy) the
    image centre ((W - 1) / 2, (H - 1) / 2), as :func:`deform_mask`; bilinear, the border reflected
    (``cv2.BORDER_REFLECT``) so no black edge appears.

    Args:
        image: (H, W, 3) float32.
    Returns:
        (H, W, 3) float32; the defaults return the input values exactly.

    Example:
        ``dx=1``: column x of the result is column x - 1 of the input (column 0 reflects column 0).
    """
    out = np.asarray(image, np.float32)
    height, width = out.shape[:2]
    if dx == 0 and dy == 0 and scale == 1:
        return out.copy()
    # BEGIN SOLUTION 1.11: the 2 x 3 matrix [[scale, 0, cx - scale * cx + dx], [0, scale, cy - scale * cy + dy]] about the centre; cv2.warpAffine with size (W, H), cv2.INTER_LINEAR and cv2.BORDER_REFLECT
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    matrix = np.array([[scale, 0.0, cx - scale * cx + dx], [0.0, scale, cy - scale * cy + dy]], np.float64)
    return cv2.warpAffine(out, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    # END SOLUTION


@dataclass(frozen=True)
class SourceParams:
    """The random choices behind one source image (see :func:`sample_source_params`)."""

    brightness: float = 0.0
    contrast: float = 1.0
    hue_degrees: float = 0.0
    factor: float = 1.0
    sharpen: float = 0.0
    dx: float = 0.0
    dy: float = 0.0
    scale: float = 1.0


def sample_source_params(rng: np.random.Generator, size: int) -> SourceParams:
    """Provided: random source parameters, near the SBI paper's: brightness +-0.1, contrast 0.9-1.1
    (its RandomBrightnessContrast), hue +-2 degrees (a turn of 10 degrees already tints skin visibly
    red or green, a cue of its own); half of the time a downscale by 1.25-2 (the paper's 2-4 is for
    380-px crops), else a sharpening of 0-1; a shift of up to 3% of the side and a scale of 0.95-1.05."""
    downscale = bool(rng.random() < 0.5)
    shift = 0.03 * size
    return SourceParams(brightness=float(rng.uniform(-0.1, 0.1)), contrast=float(rng.uniform(0.9, 1.1)),
                        hue_degrees=float(rng.uniform(-2.0, 2.0)),
                        factor=float(rng.uniform(1.25, 2.0)) if downscale else 1.0,
                        sharpen=0.0 if downscale else float(rng.uniform(0.0, 1.0)),
                        dx=float(rng.uniform(-shift, shift)), dy=float(rng.uniform(-shift, shift)),
                        scale=float(rng.uniform(0.95, 1.05)))


def make_source(image: np.ndarray, params: SourceParams = SourceParams()) -> np.ndarray:
    """The source of a self-blend: :func:`jitter_colour`, then :func:`change_frequency`, then
    :func:`shift_scale`, each with its fields of ``params``. (H, W, 3) float32 -> (H, W, 3) float32;
    the default params return the input values exactly."""
    # BEGIN SOLUTION 1.11: apply jitter_colour (brightness, contrast, hue_degrees), then change_frequency (factor, sharpen), then shift_scale (dx, dy, scale) with the fields of params
    out = jitter_colour(image, params.brightness, params.contrast, params.hue_degrees)
    out = change_frequency(out, params.factor, params.sharpen)
    return shift_scale(out, params.dx, params.dy, params.scale)
    # END SOLUTION


def blend(source: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``I = M * source + (1 - M) * target``, the mask broadcast over the colour channels.

    Args:
        source, target: (H, W, 3) float32. mask: (H, W) float32 in [0, 1].
    Returns:
        (H, W, 3) float32. Where M = 0 the target is untouched, where M = 1 the source replaces it.

    Example:
        source 1.0, target 0.0 and M = [[0, 0.25], [0.5, 1]] give [[0, 0.25], [0.5, 1]] in each channel.
    """
    # BEGIN SOLUTION 1.11: add a channel axis to the mask (mask[..., None]) and return M * source + (1 - M) * target as float32
    weight = np.asarray(mask, np.float32)[..., None]
    blended = weight * np.asarray(source, np.float32) + (1.0 - weight) * np.asarray(target, np.float32)
    return blended.astype(np.float32)
    # END SOLUTION


def self_blended_image(image: np.ndarray, landmarks: np.ndarray,
                       rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Provided: one pseudo-fake from one real face (the whole SBI recipe, seeded).

    Args:
        image: (H, W, 3) RGB face, uint8 or float32 in [0, 1].
        landmarks: (K, 2) face landmarks in the image's pixels (x, y), e.g. the face oval.
        rng: the generator of every random choice (the same seed gives the same result).
    Returns:
        ``(blended, mask)``: (H, W, 3) float32 in [0, 1] and the (H, W) float32 mask used.
    """
    target = np.asarray(image)
    target = target.astype(np.float32) / 255.0 if target.dtype == np.uint8 else target.astype(np.float32)
    size = min(target.shape[:2])
    source = make_source(target, sample_source_params(rng, size))
    mask = blending_mask(landmarks, target.shape, sample_mask_params(rng, size), rng)
    return np.clip(blend(source, target, mask), 0.0, 1.0), mask
