"""Two small CNN face classifiers: MesoNet-4 and the tutorial baseline.

Idea. Once a face is cropped (tasks 1.1-1.2), detecting a deepfake is binary image classification:
one logit per face, ``sigmoid(logit) = P(FAKE)``. Before reaching for a 22-million-parameter
Xception, build the two small networks every deepfake paper compares against:

* **MesoNet-4** - a deliberately tiny network (27,977 trainable parameters at 256x256) that looks
  at *mesoscopic* detail: coarser than JPEG noise, finer than the face's semantics, which is where
  face-swap blending and upsampling leave their traces. Four conv/BatchNorm/max-pool blocks shrink
  a 256 px face to 8x8x16 = 1024 numbers; a two-layer dense head turns them into one logit.
* **A baseline CNN** - the three conv/pool layers + dense head that every tutorial starts with
  (course seed 004). It is the yardstick: a detector that cannot beat it has learnt nothing
  clever. Almost all of its million parameters sit in the first dense layer, which is why
  MesoNet's aggressive pooling keeps it so much smaller.

Shapes: images enter the networks as (B, 3, S, S) float32, normalised with the model's mean/std
(see ``common.models.input_spec``); every network returns (B,) logits (no final sigmoid: the loss,
``BCEWithLogitsLoss``, applies it in a numerically stable way).

Paper: D. Afchar, V. Nozick, J. Yamagishi, I. Echizen, "MesoNet: a Compact Facial Video Forgery
Detection Network", IEEE WIFS 2018.

Guide: IMPLEMENTATION_GUIDE.md, phase 1 (1.7 Classic baselines).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


def meso_block(in_channels: int, out_channels: int, kernel_size: int, pool: int) -> nn.Sequential:
    """One MesoNet block: 'same' convolution -> ReLU -> BatchNorm -> max-pool.

    Args:
        in_channels, out_channels: channels before / after the convolution.
        kernel_size: odd square kernel (3 or 5); padding ``kernel_size // 2`` keeps H and W.
        pool: max-pool window and stride (2 or 4); divides H and W by ``pool``.

    Returns:
        ``nn.Sequential(conv, relu, bn, pool)``: (B, in, H, W) -> (B, out, H / pool, W / pool).
        The order (ReLU before BatchNorm) is the one of the authors' Keras code.

    Example: ``meso_block(3, 8, 3, 2)`` has 3*3*3*8 + 8 = 224 conv parameters and 2*8 = 16
    BatchNorm parameters (scale and shift).
    """
    # BEGIN SOLUTION 1.7: one nn.Sequential of a 'same' convolution (padding kernel_size // 2 keeps H and W), ReLU, BatchNorm over out_channels and a max-pool of window pool, in that order
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2),
        nn.ReLU(inplace=True),
        nn.BatchNorm2d(out_channels),
        nn.MaxPool2d(pool),
    )
    # END SOLUTION


class MesoNet4(nn.Module):
    """MesoNet-4 (Afchar et al. 2018): four conv blocks and a two-layer dense head.

    Layers (input 256x256x3, as in the paper)::

        block 1: conv 3x3,  8 filters -> BN -> max-pool 2   -> 128x128x8
        block 2: conv 5x5,  8 filters -> BN -> max-pool 2   ->  64x64x8
        block 3: conv 5x5, 16 filters -> BN -> max-pool 2   ->  32x32x16
        block 4: conv 5x5, 16 filters -> BN -> max-pool 4   ->   8x8x16
        flatten (1024) -> dropout 0.5 -> dense 16 -> LeakyReLU(0.1) -> dropout 0.5 -> dense 1

    27,977 trainable parameters at 256 px. The dense layer fixes the input size, so the network is
    built for one ``input_size`` (a multiple of 32; the flattened size is 16 * (input_size/32)^2).

    Args:
        input_size: side S of the square input, a multiple of 32 (256 in the paper).
        dropout: dropout probability before each dense layer (0.5 in the paper).

    Shapes: forward (B, 3, S, S) float32 -> (B,) logits (the paper's final sigmoid is left to the
    loss, ``BCEWithLogitsLoss``, which is numerically safer).
    """

    def __init__(self, input_size: int = 256, dropout: float = 0.5) -> None:
        super().__init__()
        if input_size % 32 != 0 or input_size < 32:
            raise ValueError(f"MesoNet4 needs an input size that is a multiple of 32, got {input_size}")
        self.input_size = input_size
        # BEGIN SOLUTION 1.7: self.features: four meso_blocks (filters 8, 8, 16, 16; kernels 3, 5, 5, 5; pools 2, 2, 2, 4); self.classifier: flatten, dropout, dense to 16 units, LeakyReLU with slope 0.1, dropout, dense to 1 logit (the blocks divide the side by 32)
        self.features = nn.Sequential(
            meso_block(3, 8, 3, 2),
            meso_block(8, 8, 5, 2),
            meso_block(8, 16, 5, 2),
            meso_block(16, 16, 5, 4),
        )
        flat = 16 * (input_size // 32) ** 2
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(flat, 16),
            nn.LeakyReLU(0.1),
            nn.Dropout(dropout),
            nn.Linear(16, 1),
        )
        # END SOLUTION

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) float32 -> (B,) logits."""
        return self.classifier(self.features(images)).squeeze(1)


def conv_pool_blocks(channels: Sequence[int]) -> nn.Sequential:
    """The baseline's feature blocks: per entry of ``channels``, conv 3x3 'same' -> ReLU -> max-pool 2.

    Shapes: (B, 3, S, S) -> (B, channels[-1], S / 2^len(channels), S / 2^len(channels)).
    Example: ``conv_pool_blocks((16, 32))`` is conv(3 -> 16), ReLU, pool, conv(16 -> 32), ReLU, pool:
    a 64 px input leaves as (B, 32, 16, 16). Task 1.12's patch classifier reuses these blocks.
    """
    # BEGIN SOLUTION 1.7: for each entry of channels a 3x3 'same' convolution (the first from 3 input channels), ReLU and a 2x2 max-pool that halves the side, all in one nn.Sequential
    layers: list[nn.Module] = []
    in_channels = 3
    for out_channels in channels:
        layers += [nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
        in_channels = out_channels
    return nn.Sequential(*layers)
    # END SOLUTION


class BaselineCNN(nn.Module):
    """The tutorial baseline (course seed 004): conv/pool blocks, flatten, two dense layers.

    Layers, for ``channels=(16, 32, 64)``::

        [conv 3x3 'same' -> ReLU -> max-pool 2] x 3   (S -> S/8, 3 -> 64 channels)
        flatten -> dense ``hidden`` -> ReLU -> dropout -> dense 1

    Args:
        input_size: side S of the square input, a multiple of ``2 ** len(channels)``.
        channels: filters of each conv block.
        hidden: units of the hidden dense layer.
        dropout: dropout probability before the output layer.

    Shapes: forward (B, 3, S, S) float32 -> (B,) logits.

    Example: at S = 128 with the defaults the flattened features are 64 * 16 * 16 = 16,384 and the
    network has 448 + 4,640 + 18,496 (convs) + 1,048,640 + 65 (dense) = 1,072,289 parameters.
    """

    def __init__(self, input_size: int = 128, channels: Sequence[int] = (16, 32, 64), hidden: int = 64,
                 dropout: float = 0.5) -> None:
        super().__init__()
        reduction = 2 ** len(channels)
        if input_size % reduction != 0:
            raise ValueError(f"BaselineCNN with {len(channels)} pooling layers needs an input size that is a "
                             f"multiple of {reduction}, got {input_size}")
        self.input_size = input_size
        # BEGIN SOLUTION 1.7: self.features: conv_pool_blocks(channels); self.classifier: flatten, dense to hidden units, ReLU, dropout, dense to 1 logit
        self.features = conv_pool_blocks(channels)
        flat = channels[-1] * (input_size // reduction) ** 2
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(flat, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, 1),
        )
        # END SOLUTION

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) float32 -> (B,) logits."""
        return self.classifier(self.features(images)).squeeze(1)


def count_trainable_parameters(model: nn.Module) -> int:
    """Number of scalar parameters with ``requires_grad`` (what the MesoNet paper reports)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
