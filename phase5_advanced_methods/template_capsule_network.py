# Exercise file generated from the reference solution: fill in every TODO (see IMPLEMENTATION_GUIDE.md).
"""Capsule-Forensics: capsules that vote on whether a face is real or fake.

Idea. A capsule (Sabour, Frosst & Hinton, "Dynamic Routing Between Capsules", NeurIPS 2017) is a
small group of neurons whose output is a *vector*: its direction describes what was seen, its
length (squashed into [0, 1)) how sure the capsule is that it is there. Lower capsules send
predictions to the upper ones, and "routing by agreement" sends each lower capsule's output
mostly to the upper capsules whose consensus it agrees with.

Capsule-Forensics (Nguyen, Yamagishi & Echizen, ICASSP 2019; its v2, "Use of a Capsule Network to
Detect Fake Images and Videos", arXiv 1910.12467) puts capsules on top of the first VGG19 blocks:

    face (B, 3, S, S) --VGG19 features[:19]--> (B, 256, S/8, S/8)
        --10 primary capsules: conv 256->64->16 + BN + ReLU, statistics pooling (mean, std over
          the positions: (B, 2, 16)), Conv1d 2->8 (k5, s2), Conv1d 8->1  ->  an 8-d vector each
        --squash--> u (B, 10, 8)
        --u_hat_ji = W_ji u_i (W: (2, 10, 4, 8); in training + 0.01 noise on W, 0.05 dropout on u_hat)
        --dynamic routing, 2 iterations--> two 4-d output capsules v_real, v_fake

The longer output capsule wins. This course's detectors return one logit, so the network returns
``log|v_fake| - log|v_real|``: its sigmoid is ``|v_fake| / (|v_real| + |v_fake|)``, the fake
capsule's share of the two lengths, and the course's binary cross-entropy on it is the two-class
cross-entropy over the capsule lengths (IMPLEMENTATION_GUIDE.md, 5.4 Capsule-Forensics).

Guide: IMPLEMENTATION_GUIDE.md, phase 5 (5.2 Squash, 5.3 Dynamic routing, 5.4 Capsule-Forensics).
"""
from __future__ import annotations

from grader.todo import TodoError

import torch
import torchvision
from torch import nn

VGG19_CUT = 19
"""VGG19 ``features[:19]`` (layers 0..18): conv blocks 1-3 (64, 128, 256 channels, each ending in a
2x2 max-pool), so 256 channels at 1/8 of the input side."""


LENGTH_FLOOR = 1e-12
"""Smallest capsule length the logit's log sees (a zero capsule would give log 0 = -inf)."""


def squash(s: torch.Tensor, dim: int = -1, eps: float = 1e-8) -> torch.Tensor:
    """Squash a capsule's vector: keep its direction, map its length into [0, 1).

        v = |s|^2 / (1 + |s|^2) * s / |s|

    s: any shape; ``dim`` is the capsule's vector axis. Returns a tensor of the same shape.
    ``eps`` keeps the zero vector at zero (and its gradient finite): divide by sqrt(|s|^2 + eps).

    Example: s = (3, 4): |s| = 5, |v| = 25 / 26 = 0.9615, v = 0.9615 * (0.6, 0.8) = (0.5769, 0.7692);
    s = (0.1, 0): |v| = 0.01 / 1.01 = 0.0099 (short vectors shrink towards zero).
    """
    # TODO 5.2: the squared length |s|^2 along dim (keepdim so it broadcasts); multiply s by
    #   |s|^2 / (1 + |s|^2) and divide it by its length sqrt(|s|^2 + eps)
    raise TodoError('5.2: the squared length |s|^2 along dim (keepdim so it broadcasts); multiply s by |s|^2 / (1 + |s|^2) and divide it by its length sqrt(|s|^2 + eps) (IMPLEMENTATION_GUIDE.md, 5.2 Squash)')


def dynamic_routing(predictions: torch.Tensor, iterations: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """Routing by agreement (Sabour et al. 2017, Procedure 1).

    predictions: u_hat, (B, n_out, n_in, d): input capsule i's prediction of output capsule j.
    Returns (outputs v (B, n_out, d), coupling c (B, n_out, n_in)) where ``c`` is the coupling of
    the last iteration: for each input capsule i, ``c[:, :, i]`` sums to one over the outputs.

    Each iteration: c = softmax(b) over the OUTPUT capsules (b starts at zero, so the first
    iteration couples uniformly); s_j = sum_i c_ji u_hat_ji; v_j = squash(s_j); then the
    agreement u_hat_ji . v_j is added to b_ji.

    Example: 1 iteration with n_out = 2 gives c = 0.5 everywhere and v_j = squash(0.5 * sum_i u_hat_ji).
    With two inputs predicting (1, 0) and (1, 0) for output 0 and (1, 0) and (-1, 0) for output 1, output 0 gets s = (1, 0), |v| = 0.5; output 1 gets s = 0, so a
    second iteration moves both inputs' coupling towards output 0 (agreement 0.5 against 0:
    c = sigmoid(0.5) = 0.622 for output 0).
    """
    # TODO 5.3: start the routing logits b at zeros of shape (B, n_out, n_in); each iteration: c
    #   = softmax of b over the output axis (dim 1), s = sum over the inputs of c times u_hat, v =
    #   squash(s), then add the agreement (u_hat dotted with v, over the last axis) to b
    raise TodoError('5.3: start the routing logits b at zeros of shape (B, n_out, n_in); each iteration: c = softmax of b over the output axis (dim 1), s = sum over the inputs of c times u_hat, v = squash(s), then add the agreement (u_hat dotted with v, over the last axis) to b (IMPLEMENTATION_GUIDE.md, 5.3 Dynamic routing)')


def vgg19_features(pretrained: bool = False) -> nn.Sequential:
    """VGG19's first ``VGG19_CUT`` feature layers (torchvision), ImageNet weights when ``pretrained``.

    (B, 3, S, S) -> (B, 256, S/8, S/8): three conv blocks (2 x 64, 2 x 128, 4 x 256 channels of 3x3
    convolutions + ReLU, each block ending in a 2x2 max-pool). 2,325,568 parameters.
    ``pretrained=True`` needs the torchvision weights in the local cache (no download offline).
    """
    # TODO 5.4: build torchvision.models.vgg19 with weights=VGG19_Weights.IMAGENET1K_V1 when
    #   pretrained (else None) and return its .features cut to the first VGG19_CUT layers
    raise TodoError('5.4: build torchvision.models.vgg19 with weights=VGG19_Weights.IMAGENET1K_V1 when pretrained (else None) and return its .features cut to the first VGG19_CUT layers (IMPLEMENTATION_GUIDE.md, 5.4 Capsule-Forensics)')


def statistics_pooling(x: torch.Tensor) -> torch.Tensor:
    """Mean and standard deviation of each channel over the positions: (B, C, H, W) -> (B, 2, C).

    Row 0 is the mean, row 1 the (unbiased, as ``torch.std``) standard deviation over the H * W
    positions. Example: a channel holding 1, 2, 3, 4 gives mean 2.5 and std 1.2910.
    """
    # TODO 5.4: flatten the positions to (B, C, H*W), take the mean and the std over that axis
    #   and stack them as the two rows of axis 1
    raise TodoError('5.4: flatten the positions to (B, C, H*W), take the mean and the std over that axis and stack them as the two rows of axis 1 (IMPLEMENTATION_GUIDE.md, 5.4 Capsule-Forensics)')


class PrimaryCapsule(nn.Module):
    """One primary capsule of Capsule-Forensics v2: (B, 256, h, w) -> (B, 8), before the squash."""

    def __init__(self, in_channels: int = 256, dim: int = 8) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
            nn.Conv2d(64, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU())
        self.vector = nn.Sequential(
            nn.Conv1d(2, 8, kernel_size=5, stride=2, padding=2), nn.BatchNorm1d(8), nn.ReLU(),
            nn.Conv1d(8, 1, kernel_size=3, padding=1))
        if dim != 8:
            raise ValueError("a Capsule-Forensics v2 primary capsule is 8-d (16 statistics, stride 2)")

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.vector(statistics_pooling(self.conv(features))).flatten(1)


class CapsuleForensics(nn.Module):
    """Capsule-Forensics v2 with one output logit (see the module docstring).

    Args:
        pretrained: start the VGG19 layers from ImageNet (torchvision weights API) and freeze its
            first ``frozen_layers`` layers (the paper fine-tunes only the last ones).
        n_primary: primary capsules (10). n_classes: output capsules (2: real, fake). class_dim: 4.
        routing_iterations: 2. routing_noise: std of the Gaussian noise added to the routing
            weights in training (0.01). prediction_dropout: dropout on u_hat in training (0.05).

    Shapes: forward (B, 3, S, S) float32, S a multiple of 8 (at least 16) -> (B,) logits
    ``log|v_fake| - log|v_real|``. :meth:`capsules` returns the output capsules (B, 2, 4).
    """

    REAL, FAKE = 0, 1

    def __init__(self, pretrained: bool = False, n_primary: int = 10, n_classes: int = 2, class_dim: int = 4,
                 routing_iterations: int = 2, routing_noise: float = 0.01, prediction_dropout: float = 0.05,
                 frozen_layers: int = 9) -> None:
        super().__init__()
        self.features = vgg19_features(pretrained)
        if pretrained:
            for layer in list(self.features)[:frozen_layers]:
                layer.requires_grad_(False)
        self.primary = nn.ModuleList(PrimaryCapsule() for _ in range(n_primary))
        generator = torch.Generator().manual_seed(0)
        self.routing_weights = nn.Parameter(torch.randn(n_classes, n_primary, class_dim, 8, generator=generator))  # N(0, 1) as v2
        self.routing_iterations = routing_iterations
        self.routing_noise = routing_noise
        self.dropout = nn.Dropout(prediction_dropout)

    def primary_capsules(self, x: torch.Tensor) -> torch.Tensor:
        """Squashed primary capsules u: (B, 3, S, S) -> (B, n_primary, 8)."""
        features = self.features(x)
        return squash(torch.stack([capsule(features) for capsule in self.primary], dim=1))

    def predictions(self, u: torch.Tensor) -> torch.Tensor:
        """u_hat_ji = W_ji u_i: (B, n_in, 8) -> (B, n_out, n_in, 4).

        In training mode (``self.training``) the routing weights are replaced by a draw of
        ``torch.normal(weights, routing_noise)`` (Gaussian noise of that std) first and the predictions go through ``self.dropout`` afterwards; in eval
        mode neither happens. Example: W_ji = identity rows (4 x 8) and u_i = (1, 2, ..., 8) give
        u_hat_ji = (1, 2, 3, 4) in eval mode.
        """
        # TODO 5.4: take self.routing_weights, in training draw noisy weights around them with
        #   torch.normal (std self.routing_noise); multiply each (4 x 8) weight by its input
        #   capsule (e.g. torch.einsum over 'jidk,bik->bjid'); in training apply self.dropout to
        #   the result
        raise TodoError("5.4: take self.routing_weights, in training draw noisy weights around them with torch.normal (std self.routing_noise); multiply each (4 x 8) weight by its input capsule (e.g. torch.einsum over 'jidk,bik->bjid'); in training apply self.dropout to the result (IMPLEMENTATION_GUIDE.md, 5.4 Capsule-Forensics)")

    def capsules(self, x: torch.Tensor) -> torch.Tensor:
        """The output capsules v (B, n_classes, class_dim): row REAL and row FAKE."""
        outputs, _ = dynamic_routing(self.predictions(self.primary_capsules(x)), self.routing_iterations)
        return outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = self.capsules(x)
        # TODO 5.4: the lengths of the two output capsules (norm over the last axis, clamped
        #   from below at LENGTH_FLOOR so the log stays finite); return log(length of FAKE) -
        #   log(length of REAL), shape (B,)
        raise TodoError('5.4: the lengths of the two output capsules (norm over the last axis, clamped from below at LENGTH_FLOOR so the log stays finite); return log(length of FAKE) - log(length of REAL), shape (B,) (IMPLEMENTATION_GUIDE.md, 5.4 Capsule-Forensics)')
