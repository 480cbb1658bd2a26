# Exercise file generated from the reference solution: fill in every TODO (see IMPLEMENTATION_GUIDE.md).
"""Forensic data augmentation and the train / evaluation transforms of the face classifiers.

Idea. Every platform re-encodes what is uploaded. FaceForensics++ measured Xception at 95.7%
accuracy on lightly compressed videos (c23) and 81.0% on strongly compressed ones (c40): a
detector that only ever saw pristine pixels learns artefacts that compression erases, and fails on
the first re-compressed video. Forensic augmentation shows it faces that were flipped, slightly
rotated, re-lit, blurred and JPEG re-compressed, so it must find cues that survive them. The DFDC
winner (Seferbekov 2020) trained with the same family: JPEG quality 60-100, blur and noise, flips,
brightness/contrast and small shift-scale-rotations.

The chain (flip, rotation, brightness/contrast, blur, JPEG last, as a platform re-encodes the
finished video) is reproducible from a seed. Faces are (H, W, 3) uint8 RGB throughout; only
:func:`to_normalised_tensor` makes the (3, S, S) float32 tensor the networks take.
:class:`TrainTransform` = resize + random augmentation + normalisation; :class:`EvalTransform` =
resize + normalisation, no randomness.

Papers: A. Rossler et al., "FaceForensics++: Learning to Detect Manipulated Facial Images", ICCV
2019 (the c23 / c40 compression gap). B. Dolhansky et al., "The DeepFake Detection Challenge
(DFDC) Dataset", 2020, and S. Seferbekov's winning solution (its augmentation pipeline).

Guide: IMPLEMENTATION_GUIDE.md, phase 1 (1.9 Augmentation).
"""
from __future__ import annotations

from grader.todo import TodoError

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np
import torch


def as_uint8_face(image: np.ndarray | torch.Tensor) -> np.ndarray:
    """Accept a face as (H, W, 3) uint8 RGB, or as the (3, H, W) float tensor in [0, 1] that
    ``common.torch_data.FaceCropDataset`` serves; return (H, W, 3) uint8 RGB (contiguous)."""
    if isinstance(image, torch.Tensor):
        if image.ndim != 3 or image.shape[0] != 3:
            raise ValueError(f"expected a (3, H, W) tensor, got shape {tuple(image.shape)}")
        # NumPy, not torch: per-image torch ops pay for thread-pool start-up on a busy CPU.
        values = image.detach().cpu().float().numpy().transpose(1, 2, 0)
        return np.ascontiguousarray(np.clip(np.rint(values * 255.0), 0, 255).astype(np.uint8))
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB face, got {array.dtype} {array.shape}")
    return np.ascontiguousarray(array)


def horizontal_flip(face: np.ndarray) -> np.ndarray:
    """Mirror a face left-right. (H, W, 3) uint8 -> (H, W, 3) uint8 (a new array).

    Example: pixel (y, x) of the result is pixel (y, W - 1 - x) of the input.
    """
    # TODO 1.9: reverse the width (column) axis with a slice and return a contiguous copy
    #   (np.ascontiguousarray)
    raise TodoError('1.9: reverse the width (column) axis with a slice and return a contiguous copy (np.ascontiguousarray) (IMPLEMENTATION_GUIDE.md, 1.9 Augmentation)')


def rotate(face: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rotate a face about its centre, counter-clockwise by ``angle_deg`` degrees.

    (H, W, 3) uint8 -> (H, W, 3) uint8, same size; bilinear interpolation, the border filled by
    reflection (``cv2.BORDER_REFLECT_101``) so no black corners appear for the network to learn.
    The centre is ((W - 1) / 2, (H - 1) / 2) in pixel coordinates.
    """
    height, width = face.shape[:2]
    # TODO 1.9: build the rotation about the pixel centre with cv2.getRotationMatrix2D (angle in
    #   degrees, no scaling) and apply it with cv2.warpAffine at the same size, bilinear, border
    #   BORDER_REFLECT_101
    raise TodoError('1.9: build the rotation about the pixel centre with cv2.getRotationMatrix2D (angle in degrees, no scaling) and apply it with cv2.warpAffine at the same size, bilinear, border BORDER_REFLECT_101 (IMPLEMENTATION_GUIDE.md, 1.9 Augmentation)')


def adjust_brightness_contrast(face: np.ndarray, brightness: float, contrast: float) -> np.ndarray:
    """Scale the contrast about mid-grey 128, then shift the brightness.

    ``out = clip(round(contrast * (x - 128) + 128 + brightness), 0, 255)`` per pixel and channel.

    Args:
        face: (H, W, 3) uint8.
        brightness: shift in grey levels (e.g. -20 .. 20).
        contrast: factor (1 = unchanged, 0.8 = flatter, 1.2 = punchier).

    Returns:
        (H, W, 3) uint8.

    Example: x = 200, contrast 1.5, brightness -10: 1.5 * 72 + 128 - 10 = 226.
    """
    # TODO 1.9: compute in float32, np.rint, clip to [0, 255], cast back to uint8
    raise TodoError('1.9: compute in float32, np.rint, clip to [0, 255], cast back to uint8 (IMPLEMENTATION_GUIDE.md, 1.9 Augmentation)')


def gaussian_blur(face: np.ndarray, sigma: float) -> np.ndarray:
    """Blur with a Gaussian of standard deviation ``sigma`` pixels (kernel size chosen by OpenCV).

    (H, W, 3) uint8 -> (H, W, 3) uint8; ``cv2.GaussianBlur(face, (0, 0), sigma)`` with reflected
    borders. Mimics the softening of a resized or out-of-focus video.
    """
    # TODO 1.9: cv2.GaussianBlur, letting OpenCV derive the kernel size from sigma (the same
    #   sigma in x and y) and reflecting the border
    raise TodoError('1.9: cv2.GaussianBlur, letting OpenCV derive the kernel size from sigma (the same sigma in x and y) and reflecting the border (IMPLEMENTATION_GUIDE.md, 1.9 Augmentation)')


def jpeg_recompress(face: np.ndarray, quality: int) -> np.ndarray:
    """Encode a face as JPEG at ``quality`` (1-100) and decode it again, as an upload would.

    (H, W, 3) uint8 RGB -> (H, W, 3) uint8 RGB. OpenCV's codec works in BGR order, so the face is
    converted to BGR before ``cv2.imencode(".jpg", ..., [cv2.IMWRITE_JPEG_QUALITY, quality])`` and
    back to RGB after ``cv2.imdecode`` (otherwise the red and blue channels would be compressed as
    if they were each other, with the wrong chroma weights).
    """
    # TODO 1.9: convert to BGR with cv2.cvtColor, encode as .jpg with cv2.imencode at that
    #   quality (IMWRITE_JPEG_QUALITY), decode with cv2.imdecode as a colour image and convert
    #   back to RGB; raise if encoding fails
    raise TodoError('1.9: convert to BGR with cv2.cvtColor, encode as .jpg with cv2.imencode at that quality (IMWRITE_JPEG_QUALITY), decode with cv2.imdecode as a colour image and convert back to RGB; raise if encoding fails (IMPLEMENTATION_GUIDE.md, 1.9 Augmentation)')


@dataclass(frozen=True)
class AugmentationConfig:
    """How often and how strongly each augmentation is applied (all ranges inclusive).

    Attributes:
        flip_p: probability of a horizontal flip.
        rotation_p, max_rotation_deg: probability of a rotation by a uniform angle in
            [-max_rotation_deg, max_rotation_deg].
        color_p, brightness, contrast: probability of a brightness/contrast change with a uniform
            shift in [-brightness, brightness] grey levels and factor in [1 - contrast, 1 + contrast].
        blur_p, blur_sigma: probability of a Gaussian blur with sigma uniform in ``blur_sigma``.
        jpeg_p, jpeg_quality: probability of JPEG re-compression with an integer quality uniform in
            ``jpeg_quality`` (both ends included).
    """

    flip_p: float = 0.5
    rotation_p: float = 0.3
    max_rotation_deg: float = 10.0
    color_p: float = 0.5
    brightness: float = 20.0
    contrast: float = 0.2
    blur_p: float = 0.2
    blur_sigma: tuple[float, float] = (0.3, 1.5)
    jpeg_p: float = 0.5
    jpeg_quality: tuple[int, int] = (60, 95)


def random_forensic_augmentation(face: np.ndarray, rng: np.random.Generator,
                                 config: AugmentationConfig = AugmentationConfig()) -> np.ndarray:
    """Apply a random chain of augmentations to one face, drawing every choice from ``rng``.

    Order: flip, rotation, brightness/contrast, blur, JPEG (last, as a platform re-encodes the
    finished video). For each step draw ``rng.random() < p`` first; only when it is applied draw
    its strength (``rng.uniform`` for angle, shift, factor and sigma; ``rng.integers(lo, hi + 1)``
    for the JPEG quality). Same rng state and face -> same output.

    Args:
        face: (H, W, 3) uint8 RGB.
        rng: a ``np.random.Generator`` (e.g. ``np.random.default_rng(seed)``).
        config: probabilities and ranges.

    Returns:
        (H, W, 3) uint8 RGB.
    """
    # TODO 1.9: for each step in order, draw rng.random() < p; if applied, draw its strength and
    #   call horizontal_flip / rotate / adjust_brightness_contrast / gaussian_blur /
    #   jpeg_recompress
    raise TodoError('1.9: for each step in order, draw rng.random() < p; if applied, draw its strength and call horizontal_flip / rotate / adjust_brightness_contrast / gaussian_blur / jpeg_recompress (IMPLEMENTATION_GUIDE.md, 1.9 Augmentation)')


def resize_face(face: np.ndarray, size: int) -> np.ndarray:
    """Resize (H, W, 3) uint8 to (size, size, 3): ``INTER_AREA`` to shrink, ``INTER_LINEAR`` to grow."""
    if face.shape[0] == size and face.shape[1] == size:
        return face
    shrinking = face.shape[0] > size or face.shape[1] > size
    return cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def to_normalised_tensor(face: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """(H, W, 3) uint8 RGB -> (3, H, W) float32 tensor ``(x / 255 - mean[c]) / std[c]`` per channel.

    Done in NumPy and wrapped at the end: this runs once per face in the data loader, where many
    tiny torch operations cost more than the arithmetic.

    Example: with ImageNet statistics mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225) a
    white pixel becomes (2.249, 2.429, 2.640).
    """
    # TODO 1.9: work in NumPy float32: scale to [0, 1], normalise every channel with its mean
    #   and std (broadcast (3,) arrays over the last axis), move the channels first and wrap the
    #   contiguous result with torch.from_numpy
    raise TodoError('1.9: work in NumPy float32: scale to [0, 1], normalise every channel with its mean and std (broadcast (3,) arrays over the last axis), move the channels first and wrap the contiguous result with torch.from_numpy (IMPLEMENTATION_GUIDE.md, 1.9 Augmentation)')


class TrainTransform:
    """Training transform: resize -> random forensic augmentation -> normalised tensor.

    Deterministic by seed: two transforms built with the same seed give the same outputs for the
    same sequence of faces. In a DataLoader worker the generator is re-seeded with
    ``(seed, worker_id)`` on first use, so workers do not repeat each other's draws.

    Args:
        size: output side S in pixels.
        mean, std: per-channel normalisation (see ``common.models.input_spec``).
        seed: seed of the augmentation's random generator.
        config: an :class:`AugmentationConfig`.

    Call: (H, W, 3) uint8 face (or a (3, H, W) float tensor in [0, 1]) -> (3, S, S) float32.
    """

    def __init__(self, size: int, mean: Sequence[float] = (0.5, 0.5, 0.5), std: Sequence[float] = (0.5, 0.5, 0.5),
                 seed: int = 0, config: AugmentationConfig = AugmentationConfig()) -> None:
        self.size, self.mean, self.std, self.seed, self.config = int(size), tuple(mean), tuple(std), int(seed), config
        self.rng = np.random.default_rng(self.seed)
        self._worker: int | None = None

    def _generator(self) -> np.random.Generator:
        info = torch.utils.data.get_worker_info()
        if info is not None and self._worker != info.id:
            self._worker = info.id
            self.rng = np.random.default_rng([self.seed, info.id])
        return self.rng

    def __call__(self, face: np.ndarray | torch.Tensor) -> torch.Tensor:
        resized = resize_face(as_uint8_face(face), self.size)
        augmented = random_forensic_augmentation(resized, self._generator(), self.config)
        return to_normalised_tensor(augmented, self.mean, self.std)


class EvalTransform:
    """Evaluation transform: resize -> normalised tensor (no randomness).

    Call: (H, W, 3) uint8 face (or a (3, H, W) float tensor in [0, 1]) -> (3, S, S) float32.
    """

    def __init__(self, size: int, mean: Sequence[float] = (0.5, 0.5, 0.5), std: Sequence[float] = (0.5, 0.5, 0.5)) -> None:
        self.size, self.mean, self.std = int(size), tuple(mean), tuple(std)

    def __call__(self, face: np.ndarray | torch.Tensor) -> torch.Tensor:
        return to_normalised_tensor(resize_face(as_uint8_face(face), self.size), self.mean, self.std)
