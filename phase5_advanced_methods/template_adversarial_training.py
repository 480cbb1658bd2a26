# Exercise file generated from the reference solution: fill in every TODO (see IMPLEMENTATION_GUIDE.md).
"""Adversarial examples: invisible perturbations that flip a detector, and training that resists them.

Idea. A detector is a differentiable function of the pixels, so the gradient of its loss says how to
change every pixel to make it wrong. The fast gradient sign method (FGSM; Goodfellow, Shlens &
Szegedy, ICLR 2015) takes one step of size eps along the sign of that gradient; projected gradient
descent (PGD; Madry et al., "Towards Deep Learning Models Resistant to Adversarial Attacks", ICLR
2018) takes many small steps from a random start inside the L-infinity ball of radius eps, projecting
back into the ball (and into the valid pixel range) after each. Madry et al.'s adversarial training
trains on PGD examples instead of clean ones.

Hussain et al. ("Adversarial Deepfakes", WACV 2021) fooled XceptionNet and MesoNet this way
(eps 16/255) - even after the video was compressed again, with an attack made robust to it.

Conventions (those of torchattacks 3.5.1, the oracle of the tests):

* images are in [0, 1], (B, 3, H, W), BEFORE the model's normalisation: the budget eps is in pixel
  units (eps = 8/255 changes every 8-bit level by at most 8), and the normalisation
  ``(x - mean) / std`` is applied inside :func:`detector_loss`;
* the detector returns one logit per image (FAKE = 1); its loss is the binary cross-entropy, which
  equals torchattacks' cross-entropy on the two logits (0, logit).

Guide: IMPLEMENTATION_GUIDE.md, phase 5 (5.8 FGSM and PGD, 5.9 Adversarial training and robustness).
"""
from __future__ import annotations

from grader.todo import TodoError

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

EPSILONS = (0.0, 1 / 255, 2 / 255, 4 / 255, 8 / 255)
"""The budgets of the robustness curve (in [0, 1] pixel units)."""


def normalise(images: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """(x - mean) / std per channel: (B, 3, H, W) in [0, 1] -> the model's input."""
    mean_t = torch.as_tensor(mean, dtype=images.dtype, device=images.device).view(1, -1, 1, 1)
    std_t = torch.as_tensor(std, dtype=images.dtype, device=images.device).view(1, -1, 1, 1)
    return (images - mean_t) / std_t


def detector_loss(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, mean: Sequence[float],
                  std: Sequence[float]) -> torch.Tensor:
    """Mean binary cross-entropy of the model's FAKE logits on [0, 1] images (normalised here)."""
    logits = model(normalise(images, mean, std)).reshape(len(images))
    return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))


def input_gradient(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, mean: Sequence[float],
                   std: Sequence[float]) -> torch.Tensor:
    """d loss / d images, (B, 3, H, W) (the model's own parameters get no gradient)."""
    images = images.clone().detach().requires_grad_(True)
    return torch.autograd.grad(detector_loss(model, images, labels, mean, std), images)[0]


def fgsm(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, eps: float = 8 / 255,
         mean: Sequence[float] = (0.0, 0.0, 0.0), std: Sequence[float] = (1.0, 1.0, 1.0)) -> torch.Tensor:
    """FGSM: one step of eps along the sign of the loss gradient, clamped to [0, 1].

    images: (B, 3, H, W) float in [0, 1]; labels: (B,) 0 = REAL, 1 = FAKE. Returns the adversarial
    images (B, 3, H, W), detached, with |adv - images| <= eps everywhere and values in [0, 1].

    Example: a pixel at 0.5 whose gradient is positive becomes 0.5 + 8/255 = 0.5314; one at 1.0 with
    a positive gradient stays 1.0 (clamped).
    """
    # TODO 5.8: take input_gradient of the loss, add eps times its sign to the images, clamp to
    #   [0, 1] and detach
    raise TodoError('5.8: take input_gradient of the loss, add eps times its sign to the images, clamp to [0, 1] and detach (IMPLEMENTATION_GUIDE.md, 5.8 FGSM and PGD)')


def pgd(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, eps: float = 8 / 255, alpha: float = 2 / 255,
        steps: int = 10, random_start: bool = True, mean: Sequence[float] = (0.0, 0.0, 0.0),
        std: Sequence[float] = (1.0, 1.0, 1.0)) -> torch.Tensor:
    """PGD under an L-infinity budget (Madry et al. 2018), in torchattacks' order of operations.

    1. Random start (when ``random_start``): add noise uniform in [-eps, eps] drawn with
       ``torch.empty_like(images).uniform_(-eps, eps)`` (the global generator, as torchattacks), then
       clamp to [0, 1].
    2. ``steps`` times: step alpha along the sign of the loss gradient at the current point; project:
       clip the perturbation (adv - images) to [-eps, eps]; clamp images + perturbation to [0, 1].

    Shapes and units as :func:`fgsm`. Example: eps = 8/255, alpha = 2/255: after 4 steps in the
    same direction a pixel has moved the full 8/255 and further steps leave it there.
    """
    adversarial = images.clone().detach()
    # TODO 5.8: with random_start add torch.empty_like(images).uniform_(-eps, eps) and clamp to
    #   [0, 1]; then each step: add alpha times the sign of input_gradient at the current point,
    #   clip the difference from the original images to [-eps, eps], add it back and clamp to [0,
    #   1] (detach each time)
    raise TodoError('5.8: with random_start add torch.empty_like(images).uniform_(-eps, eps) and clamp to [0, 1]; then each step: add alpha times the sign of input_gradient at the current point, clip the difference from the original images to [-eps, eps], add it back and clamp to [0, 1] (detach each time) (IMPLEMENTATION_GUIDE.md, 5.8 FGSM and PGD)')


def adversarial_training_step(model: nn.Module, optimizer: torch.optim.Optimizer, images: torch.Tensor,
                              labels: torch.Tensor, *, eps: float = 4 / 255, alpha: float = 1 / 255, steps: int = 5,
                              random_start: bool = True, mean: Sequence[float] = (0.0, 0.0, 0.0),
                              std: Sequence[float] = (1.0, 1.0, 1.0)) -> float:
    """One step of Madry et al.'s adversarial training on a batch; returns the loss (a float).

    The attack runs with the model in eval mode (BatchNorm statistics fixed, dropout off, as
    torchattacks does); the update runs in train mode on the PGD images only: zero the gradients,
    the loss on the adversarial batch, backward, optimizer step.
    """
    model.eval()
    # TODO 5.9: make the PGD images of the batch (eps, alpha, steps, random_start, mean, std);
    #   switch the model to train mode; zero the optimizer's gradients, compute detector_loss on
    #   the PGD images, backward and step; return the loss as a float
    raise TodoError("5.9: make the PGD images of the batch (eps, alpha, steps, random_start, mean, std); switch the model to train mode; zero the optimizer's gradients, compute detector_loss on the PGD images, backward and step; return the loss as a float (IMPLEMENTATION_GUIDE.md, 5.9 Adversarial training and robustness)")


@torch.no_grad()
def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, mean: Sequence[float],
             std: Sequence[float], threshold: float = 0.0) -> float:
    """Share of images whose verdict (logit > ``threshold``, i.e. P(FAKE) > sigmoid(threshold)) is the label."""
    logits = model(normalise(images, mean, std)).reshape(len(images))
    return float(((logits > threshold).long() == labels.long()).float().mean())


def robustness_curve(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                     epsilons: Sequence[float] = EPSILONS, *, steps: int = 10, random_start: bool = False,
                     mean: Sequence[float] = (0.0, 0.0, 0.0), std: Sequence[float] = (1.0, 1.0, 1.0),
                     batch_size: int = 64, threshold: float = 0.0) -> list[float]:
    """Accuracy under a PGD attack for each budget: one float per entry of ``epsilons``.

    For each eps: PGD with alpha = eps / 4 (so ``steps`` >= 4 can reach the boundary) on batches of
    ``batch_size``; eps = 0 is the clean accuracy (no attack). The model is put in eval mode.

    Example: a detector that is right on 90% of the faces and loses half of them at 4/255 gives a
    curve starting (0.90, ..., 0.45, ...); a flat curve means a robust detector.
    """
    model.eval()
    curve = []
    for eps in epsilons:
        # TODO 5.9: for each batch of images: unless eps is 0 replace it by its PGD images
        #   (alpha = eps / 4, steps, random_start, mean, std); count the right verdicts with
        #   accuracy() times the batch length; append the total right over the number of images
        raise TodoError('5.9: for each batch of images: unless eps is 0 replace it by its PGD images (alpha = eps / 4, steps, random_start, mean, std); count the right verdicts with accuracy() times the batch length; append the total right over the number of images (IMPLEMENTATION_GUIDE.md, 5.9 Adversarial training and robustness)')
    return curve


def h264_roundtrip(frames: np.ndarray, crf: int = 23, fps: float = 25.0) -> np.ndarray:
    """Encode (T, H, W, 3) uint8 RGB frames as H.264 (libx264 through :func:`common.video.write_video`)
    and decode them again: what an upload to a video site does to an attacked clip.

    Returns (T, H, W, 3) uint8 (H and W even; odd sides are padded by the writer and cut here).
    """
    import tempfile
    from pathlib import Path

    from common.video import read_all_frames, write_video

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clip.mp4"
        write_video(path, frames, fps=fps, crf=crf)
        decoded = read_all_frames(path)
    return np.ascontiguousarray(decoded[:, :frames.shape[1], :frames.shape[2]])
