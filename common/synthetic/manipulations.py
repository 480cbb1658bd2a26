"""The manipulations of the mini-forensics benchmark, one per family of detection cue.

Method names follow the FaceForensics++ habit of naming a fake by how it was made:

* ``FaceSwap``: another identity's inner face (eyes, nose, mouth), aligned on the 5 landmarks by a
  least-squares similarity (Umeyama 1991), is blended into the target face with a narrow feather
  and only partial colour correction, leaving a blending boundary and a colour mismatch
  (the cue of Face X-ray, Li et al. 2020, and of CNN detectors such as XceptionNet). Like the face
  of a real swap pipeline, which is synthesised at a fixed low resolution and warped back into the
  frame, the swapped face is rendered at 1/1.6 to 1/2.6 of the frame's resolution: it is smoother
  than the skin around it and lacks the camera's noise (the face-warping artifacts of Li & Lyu
  2019, "Exposing DeepFake Videos By Detecting Face Warping Artifacts").
* ``GANUpsample``: the face region is downsampled by 2 and upsampled again by zero insertion and a
  slightly unbalanced 4-tap kernel, like a transposed convolution, which leaves a checkerboard and
  so periodic peaks in the spectrum at half the sampling rate (Odena et al. 2016; Durall et al.
  2020; Frank et al. 2020).
* ``TemporalFlicker``: the face region is shifted by a random sub-pixel amount and its brightness
  changed on every frame independently, as a frame-by-frame face generator does (temporal
  inconsistency, the cue of recurrent/3D detectors).
* ``Physiological``: no or rare blinks (Li et al. 2018, "In Ictu Oculi") and a missing pulse or a
  forehead whose pulse is out of phase with the cheeks (FakeCatcher, Ciftci et al. 2020).
* ``Deepfake``: a combination, as a real face-swap pipeline produces: FaceSwap + GANUpsample +
  TemporalFlicker on the swapped region.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from common.errors import CourseError

METHODS: tuple[str, ...] = ("real", "FaceSwap", "GANUpsample", "TemporalFlicker", "Physiological", "Deepfake")
"""Every method name; "real" is the pristine clip (label 0), all others are fakes (label 1)."""

FAKE_METHODS: tuple[str, ...] = METHODS[1:]


@dataclass(frozen=True)
class Recipe:
    """Which manipulations a method applies."""

    swap: bool = False
    low_resolution: bool = False
    upsample: bool = False
    flicker: bool = False
    physiological: bool = False


RECIPES: dict[str, Recipe] = {
    "real": Recipe(),
    "FaceSwap": Recipe(swap=True, low_resolution=True),
    "GANUpsample": Recipe(upsample=True),
    "TemporalFlicker": Recipe(flicker=True),
    "Physiological": Recipe(physiological=True),
    "Deepfake": Recipe(swap=True, upsample=True, flicker=True),
}


def check_method(method: str) -> None:
    """Raise :class:`CourseError` unless ``method`` is one of :data:`METHODS`."""
    if method not in METHODS:
        raise CourseError(f"unknown method {method!r}: choose from {', '.join(METHODS)}")


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation) mapping points onto points.

    source, target: (N, 2) corresponding points.  Returns M (2, 3) float64 with
    target ~= source @ M[:, :2].T + M[:, 2] (Umeyama 1991, without reflection).
    Example: points scaled by 2 and shifted by (1, 0) give M = [[2, 0, 1], [0, 2, 0]].
    """
    source, target = np.asarray(source, np.float64), np.asarray(target, np.float64)
    source_mean, target_mean = source.mean(axis=0), target.mean(axis=0)
    a, b = source - source_mean, target - target_mean
    covariance = b.T @ a / len(source)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.sign(np.linalg.det(u @ vt)) or 1.0
    correction = np.diag([1.0, sign])
    rotation = u @ correction @ vt
    scale = np.trace(np.diag(singular) @ correction) / a.var(axis=0).sum()
    linear = scale * rotation
    return np.concatenate([linear, (target_mean - linear @ source_mean)[:, None]], axis=1)


def swap_region(size: int, landmarks: np.ndarray) -> np.ndarray:
    """Hard mask (size, size) bool of the inner face swapped in: eyebrows to below the mouth.

    An ellipse aligned with the eyes, centred 40% of the way from the eyes' midpoint to the mouth's,
    with semi-axes one interocular distance across and one eye-to-mouth distance down, so that
    both eyes (with their eyelids) lie well inside it.
    """
    eyes_mid = (landmarks[0] + landmarks[1]) / 2
    mouth_mid = (landmarks[3] + landmarks[4]) / 2
    axis = (landmarks[1] - landmarks[0]) / np.linalg.norm(landmarks[1] - landmarks[0])
    normal = np.array([-axis[1], axis[0]])
    centre = 0.6 * eyes_mid + 0.4 * mouth_mid
    semi_across = 1.0 * np.linalg.norm(landmarks[1] - landmarks[0])
    semi_down = 1.0 * np.linalg.norm(mouth_mid - eyes_mid)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    offset = np.stack([xs - centre[0], ys - centre[1]], axis=-1)
    return (offset @ axis / semi_across) ** 2 + (offset @ normal / semi_down) ** 2 <= 1.0


def swap_face(target_rgb: np.ndarray, target_landmarks: np.ndarray, source_rgb: np.ndarray,
              source_alpha: np.ndarray, source_landmarks: np.ndarray, *, colour_correction: float,
              feather: float, colour_transfer: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    """Blend a source face's inner region into a target face (both sprites of the same size).

    target_rgb, source_rgb: (S, S, 3) float32 0..255; landmarks (5, 2); source_alpha (S, S).
    colour_correction in [0, 1]: fraction of the colour difference (inside the region) corrected;
    0 leaves the source's colour. colour_transfer: "mean" corrects the difference of mean colours;
    "full" also matches each channel's standard deviation (Reinhard et al. 2001 colour transfer,
    in RGB): a source channel of mean 120 and std 20 on a target of mean 150 and std 10 maps 140
    to 150 + (140 - 120) * 10 / 20 = 160. feather: Gaussian sigma of the mask edge in pixels.
    Returns (swapped rgb (S, S, 3) float32, blending mask (S, S) float32 in [0, 1]).
    """
    size = target_rgb.shape[0]
    to_target = similarity_transform(source_landmarks, target_landmarks)
    aligned = cv2.warpAffine(source_rgb, to_target, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    aligned_alpha = cv2.warpAffine(source_alpha, to_target, (size, size), flags=cv2.INTER_LINEAR)
    region = swap_region(size, target_landmarks)
    mask = cv2.GaussianBlur(region.astype(np.float32), (0, 0), feather) * np.clip(aligned_alpha, 0, 1)
    mask = np.where(mask > 0.995, 1.0, np.where(mask < 0.005, 0.0, mask)).astype(np.float32)
    inside = region & (aligned_alpha > 0.5)
    if inside.any() and colour_transfer == "full":
        source_mean, source_std = aligned[inside].mean(axis=0), aligned[inside].std(axis=0) + 1e-3
        target_mean, target_std = target_rgb[inside].mean(axis=0), target_rgb[inside].std(axis=0)
        transferred = (aligned - source_mean) * (target_std / source_std) + target_mean
        aligned = aligned + colour_correction * (transferred - aligned)
    elif inside.any():
        shift = target_rgb[inside].mean(axis=0) - aligned[inside].mean(axis=0)
        aligned = aligned + colour_correction * shift[None, None, :]
    swapped = target_rgb * (1 - mask[..., None]) + aligned * mask[..., None]
    return np.clip(swapped, 0, 255).astype(np.float32), mask


def transposed_conv_kernel(mismatch: float) -> np.ndarray:
    """4-tap kernel of a stride-2 transposed convolution, (4,) float32.

    [0.25, 0.75, 0.75, 0.25] interpolates exactly (even and odd outputs both get total weight 1);
    ``mismatch`` moves weight between them: even outputs get 1 + 2*mismatch, odd 1 - 2*mismatch,
    the uneven overlap that makes the checkerboard artifacts of GAN generators. The taps sum to 2
    because zero insertion leaves only every other input sample non-zero.
    """
    m = mismatch
    return np.array([0.25 + m, 0.75 - m, 0.75 + m, 0.25 - m], dtype=np.float32)


def gan_upsample(frame: np.ndarray, mismatch: float) -> np.ndarray:
    """Downsample an (H, W, 3) float32 frame by 2 and upsample it like a GAN generator.

    Area downsampling, zero insertion (every other row and column), then the separable
    :func:`transposed_conv_kernel`. A period-2 gain pattern results: peaks at frequency 0.5
    cycles/pixel. Odd sizes: the last row/column is copied from the input. Returns a new array.
    """
    height, width = frame.shape[:2]
    even_h, even_w = height - height % 2, width - width % 2
    low = cv2.resize(frame[:even_h, :even_w], (even_w // 2, even_h // 2), interpolation=cv2.INTER_AREA)
    zeros = np.zeros((even_h, even_w, frame.shape[2]), dtype=np.float32)
    zeros[::2, ::2] = low
    kernel = transposed_conv_kernel(mismatch)
    # anchor 2: output 2i = 0.25 low[i-1] + 0.75 low[i], output 2i+1 = 0.75 low[i] + 0.25 low[i+1],
    # which keeps the upsampled image aligned with the original pixel grid.
    upsampled = cv2.sepFilter2D(zeros, -1, kernel, kernel, anchor=(2, 2), borderType=cv2.BORDER_REFLECT)
    result = frame.copy()
    result[:even_h, :even_w] = upsampled
    return result


def render_at_lower_resolution(frame: np.ndarray, factor: float) -> np.ndarray:
    """The (H, W, 3) float32 frame as a generator working at 1/``factor`` of its resolution gives it back.

    Area downsampling to (round(H / factor), round(W / factor)), then bilinear upsampling to (H, W):
    detail and sensor noise finer than ``factor`` pixels are gone. Returns a new array.
    """
    height, width = frame.shape[:2]
    small_size = (max(1, round(width / factor)), max(1, round(height / factor)))
    small = cv2.resize(frame, small_size, interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def jitter_frame(frame: np.ndarray, dx: float, dy: float, gain: float) -> np.ndarray:
    """The frame shifted by (dx, dy) pixels (bilinear) and multiplied by ``gain``; a new array."""
    height, width = frame.shape[:2]
    shift = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]])
    moved = cv2.warpAffine(frame, shift, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return moved * np.float32(gain)


def blend_into(frame: np.ndarray, other: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """frame * (1 - mask) + other * mask, in place on ``frame``. mask: (H, W) in [0, 1]."""
    weight = mask[..., None]
    frame *= 1.0 - weight
    frame += other * weight
    return frame
