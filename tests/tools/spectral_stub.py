"""A stand-in spectral feature function and network for the detector-interface tests (not graded).

``side_and_brightness`` returns the crop's side in hundreds of pixels and its mean level in [0, 1],
so a test can tell from the score whether the crop reached the detector at its own size.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn


def side_and_brightness(crop: np.ndarray) -> np.ndarray:
    return np.array([crop.shape[0] / 100.0, crop.mean() / 255.0], dtype=np.float32)


class TwoWeights(nn.Module):
    """logit = 1.5 * side/100 - 2 * brightness + 0.25."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)
        with torch.no_grad():
            self.linear.weight.copy_(torch.tensor([[1.5, -2.0]]))
            self.linear.bias.fill_(0.25)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear(features)
