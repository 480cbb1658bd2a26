# Exercise file generated from the reference solution: fill in every TODO (see IMPLEMENTATION_GUIDE.md).
"""A patch classifier: judge every small patch of the face, then average the patches' verdicts.

Idea. The baseline CNN of task 1.7 ends in a dense layer over its whole feature map: its verdict
can depend on the face as a whole, so it can learn *who* looks fake, as well as *what* looks fake.
Its training fakes show some people's faces and not others'. Dong et al. (CVPR 2023) call this
*implicit identity leakage*. The course's benchmark shows it: on real videos of people it never
saw, 87 % of the variance of the baseline's log-odds lies between people (the guide's "All
detectors on one split"). Chai et al. (ECCV 2020) cut the classifier short instead. Each output
sees only a small patch of the image, its *receptive field*. A 1x1 convolution classifies every
patch, and the image's logit is the mean of the patch logits. The traces of blending and
upsampling are local, and a patch is too small to hold a whole face.

The network here is the baseline's three conv/pool blocks with the baseline's head applied to each
position of the feature map (as 1x1 convolutions) instead of once to the flattened map. The two
networks differ only in what one decision may look at.

Receptive field (Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional Neural
Networks", Distill 2019). Layer l has kernel k_l and stride s_l. Let r be the side of the input
region one output sees, and j the input distance between neighbouring outputs (the jump). Start
from r_0 = 1, j_0 = 1; then r_l = r_(l-1) + (k_l - 1) * j_(l-1) and j_l = j_(l-1) * s_l.

Shapes: images (B, 3, S, S) float32, normalised with the model's mean/std; ``patch_logits`` gives
(B, S/8, S/8), ``forward`` (B,) logits. Any S that is a multiple of 8 works: nothing fixes the size.

Paper: L. Chai, D. Bau, S.-N. Lim, P. Isola, "What Makes Fake Images Detectable? Understanding
Properties that Generalize", ECCV 2020.

Guide: IMPLEMENTATION_GUIDE.md, phase 1 (1.12 Patch classifier).
"""
from __future__ import annotations

from grader.todo import TodoError

from typing import Sequence

import torch
from torch import nn

from phase1_cnn_detection.template_classifier import conv_pool_blocks


def receptive_field(layers: Sequence[tuple[int, int]]) -> tuple[int, int]:
    """Receptive field side and jump, in input pixels, of the last layer of a stack.

    Args:
        layers: ``(kernel, stride)`` of each layer, input first. A 3x3 'same' convolution is
            (3, 1), a 2x2 max-pool (2, 2), a 1x1 convolution or a ReLU (1, 1).

    Returns:
        ``(size, jump)``: the side of the input square one output position sees, and how far
        apart in the input two neighbouring output positions are.

    Example: conv 3x3, max-pool 2, conv 3x3: (3, 1) -> (4, 2) -> (4 + 2 * 2, 2) = (8, 2).
    """
    # TODO 1.12: start from size 1 and jump 1; for each layer in order, grow the size by (kernel
    #   - 1) times the current jump, then multiply the jump by the stride
    raise TodoError('1.12: start from size 1 and jump 1; for each layer in order, grow the size by (kernel - 1) times the current jump, then multiply the jump by the stride (IMPLEMENTATION_GUIDE.md, 1.12 Patch classifier)')


class PatchClassifier(nn.Module):
    """The baseline CNN's blocks with its head applied to each patch (Chai et al. 2020).

    Layers, for ``channels=(16, 32, 64)``::

        [conv 3x3 'same' -> ReLU -> max-pool 2] x 3      (S -> S/8, 3 -> 64 channels)
        conv 1x1 to ``hidden`` -> ReLU -> dropout -> conv 1x1 to 1   (one logit per position)
        mean over the S/8 x S/8 positions                               (one logit per image)

    Each position's logit sees a 22 x 22 pixel patch, 8 pixels from the next
    (:meth:`receptive_field`).

    Args:
        channels: filters of each conv block (as ``BaselineCNN``).
        hidden: channels of the hidden 1x1 layer (the baseline's hidden units).
        dropout: dropout probability before the last 1x1 layer.

    Example: with the defaults the network has 448 + 4,640 + 18,496 (blocks) + 4,160 + 65 (the
    1x1 head) = 27,809 parameters at any input size, against the baseline's 1,072,289 at 128 px
    (almost all of which sit in its dense layer over the whole map).
    """

    def __init__(self, channels: Sequence[int] = (16, 32, 64), hidden: int = 64, dropout: float = 0.5) -> None:
        super().__init__()
        # TODO 1.12: self.features: the baseline's blocks (conv_pool_blocks of task 1.7);
        #   self.head: a 1x1 convolution from the last block's channels to hidden, ReLU, dropout,
        #   a 1x1 convolution to 1 channel
        raise TodoError("1.12: self.features: the baseline's blocks (conv_pool_blocks of task 1.7); self.head: a 1x1 convolution from the last block's channels to hidden, ReLU, dropout, a 1x1 convolution to 1 channel (IMPLEMENTATION_GUIDE.md, 1.12 Patch classifier)")

    def receptive_field(self) -> tuple[int, int]:
        """``(size, jump)`` of one patch logit, from the layers themselves (:func:`receptive_field`)."""
        geometry = []
        for layer in [*self.features, *self.head]:
            if isinstance(layer, (nn.Conv2d, nn.MaxPool2d)):
                kernel, stride = layer.kernel_size, layer.stride
                geometry.append((kernel[0] if isinstance(kernel, tuple) else kernel,
                                 stride[0] if isinstance(stride, tuple) else stride))
        return receptive_field(geometry)

    def patch_logits(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) float32 -> (B, S/8, S/8): the logit of FAKE of each patch (a map to look at)."""
        # TODO 1.12: the blocks, then the 1x1 head; drop the channel axis of the single logit
        raise TodoError('1.12: the blocks, then the 1x1 head; drop the channel axis of the single logit (IMPLEMENTATION_GUIDE.md, 1.12 Patch classifier)')

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) float32 -> (B,) logits: the mean of the patch logits."""
        # TODO 1.12: average the patch logits over both spatial axes
        raise TodoError('1.12: average the patch logits over both spatial axes (IMPLEMENTATION_GUIDE.md, 1.12 Patch classifier)')
