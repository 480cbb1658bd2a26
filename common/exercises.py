"""The one place where the library borrows the student's code.

The tools run on the exercise tree that is active (your templates, or the reference solutions
with ``--solutions``; see :mod:`grader.tree`), so the face extractor you wrote in task 1.1, the
alignment of task 1.2 and the transforms of task 1.9 are the ones that train and run the
detectors. Every such borrowing goes through this module, so the rest of ``common/`` names no
exercise module (the model registry names each network's file in its row, see
:mod:`common.registry`). An unfinished exercise raises :class:`grader.todo.TodoError`, which every
tool turns into one ``error:`` line naming the task.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np


def face_extractor(device: Any = "auto", *, size: int = 256, scale: float = 1.3, select: str = "all",
                   align: bool = False, track: bool = False, **options: Any) -> Any:
    """Task 1.1's ``FaceExtractor`` (MTCNN over batches of frames, largest face first)."""
    from phase1_cnn_detection.template_face_extraction import FaceExtractor

    return FaceExtractor(device=device, size=size, scale=scale, select=select, align=align, track=track, **options)


def square_crop_box(box: Sequence[float], scale: float, frame_shape: Sequence[int]) -> tuple[int, int, int, int]:
    """Task 1.1: the square of ``scale`` times the face box, inside the frame."""
    from phase1_cnn_detection.template_face_extraction import square_crop_box as square

    return square(box, scale, frame_shape)


def crop_face(frame: np.ndarray, box: Sequence[float], size: int, scale: float = 1.3) -> np.ndarray:
    """Task 1.1: the square crop resized to ``size`` x ``size``."""
    from phase1_cnn_detection.template_face_extraction import crop_face as crop

    return crop(frame, box, size, scale)


def align_face(frame: np.ndarray, landmarks: np.ndarray, size: int, scale: float = 1.0) -> np.ndarray:
    """Task 1.2: the five-point aligned face."""
    from phase1_cnn_detection.template_face_extraction import align_face as align

    return align(frame, landmarks, size, scale)


def assign_track_ids(results: list) -> None:
    """Provided with task 1.1: link faces of consecutive frames into tracks (IoU), in place."""
    from phase1_cnn_detection.template_face_extraction import assign_track_ids as link

    link(results)


def eval_transform(size: int, mean: Sequence[float], std: Sequence[float]) -> Any:
    """Task 1.9's ``EvalTransform``: resize and normalise a face crop."""
    from phase1_cnn_detection.template_augmentation import EvalTransform

    return EvalTransform(size, mean, std)


def train_transform(size: int, mean: Sequence[float], std: Sequence[float], *, seed: int, mild: bool = False) -> Any:
    """Task 1.9's ``TrainTransform`` with forensic augmentation; ``mild`` keeps flip and
    brightness/contrast only (rotation, blur and JPEG resample or filter every pixel)."""
    from phase1_cnn_detection.template_augmentation import AugmentationConfig, TrainTransform

    config = AugmentationConfig(rotation_p=0.0, blur_p=0.0, jpeg_p=0.0) if mild else AugmentationConfig()
    return TrainTransform(size, mean, std, seed=seed, config=config)


def grad_cam(model: Any, images: Any, layer: Any) -> np.ndarray:
    """Task 5.10's Grad-CAM: ``(B, S, S)`` maps in [0, 1] of the FAKE logit at ``layer`` (the one
    Grad-CAM of the course, checked against pytorch-grad-cam by the phase-5 tests)."""
    from phase5_advanced_methods.template_explainability import grad_cam as cam

    return cam(model, images, layer)


def self_blended_image(image: np.ndarray, landmarks: np.ndarray,
                       rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Tasks 1.10-1.11: one Self-Blended Image (Shiohara & Yamasaki 2022) of a real face and its
    blending mask, ``(blended (H, W, 3) float32 in [0, 1], mask (H, W) float32)``, seeded by ``rng``."""
    from phase1_cnn_detection.template_self_blended_images import self_blended_image as sbi

    return sbi(image, landmarks, rng)


def fit_log_likelihood_ratio(x: np.ndarray, is_fake: np.ndarray, c: float) -> tuple[float, float]:
    """Task 5.15: one detector's log-likelihood ratio of one kind of fake against real, ``(slope, offset)``
    per unit of its log-odds (a logistic regression minus its prior log-odds; monotone)."""
    from phase5_advanced_methods.template_late_fusion import fit_log_likelihood_ratio as fit

    return fit(x, is_fake, c)


def claim_fakes(table: np.ndarray, labels: Sequence[int]) -> np.ndarray:
    """Task 5.16: for each fake (row of the (N, D) log-odds table), the detector whose z-score against the
    real videos is largest; -1 for real videos and for fakes no detector can claim."""
    from phase5_advanced_methods.template_late_fusion import claim_fakes as claim

    return claim(table, labels)


def mixture_log_odds(prior_log_odds: np.ndarray, log_likelihood_ratios: np.ndarray) -> np.ndarray:
    """Task 5.16: ``log sum_f exp(prior_f + log LR_f)`` per row of two (N, F) arrays."""
    from phase5_advanced_methods.template_late_fusion import mixture_log_odds as mixture

    return mixture(prior_log_odds, log_likelihood_ratios)


def person_variance_components(log_odds: np.ndarray, people: Sequence[str]) -> tuple[float, float, float]:
    """Task 5.17: ``(mu, between, within)`` of one detector's log-odds on real videos, a one-way random-effects
    model fitted by ANOVA (the mean, the variance of the person offsets, the videos' own variance)."""
    from phase5_advanced_methods.template_late_fusion import person_variance_components as components

    return components(log_odds, people)


def person_offset(reference_log_odds: np.ndarray, mu: float, between: float, within: float) -> tuple[float, float]:
    """Task 5.17: ``(offset, shrinkage)`` of a person for one detector, from its log-odds on reference videos."""
    from phase5_advanced_methods.template_late_fusion import person_offset as offset

    return offset(reference_log_odds, mu, between, within)
