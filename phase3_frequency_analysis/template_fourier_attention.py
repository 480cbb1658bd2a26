# Exercise file generated from the reference solution: fill in every TODO (see IMPLEMENTATION_GUIDE.md).
"""Fourier attention: channel weights from each feature map's magnitude spectrum, on InceptionV3.

Idea. Upsampling generators leave periodic, high-frequency traces (tasks 3.1-3.7 measure them on
pixels). Course seed 000 moves the same idea inside a CNN: take the 2-D FFT of every channel of a
feature map, summarise its magnitude spectrum, and turn the summaries into attention weights that
re-scale the channels, so that channels whose spectra look suspicious count more. It is the
squeeze-and-excitation recipe (Hu et al. 2018: squeeze each channel to one number, a small MLP
"excites" a weight per channel, the channels are multiplied by their weights) with a spectral
squeeze; FcaNet (Qin et al. 2021) showed that SE's average pooling is the lowest DCT frequency and
gains by using more frequencies.

The seed's TensorFlow layer gets three things wrong (the guide, section 3.9, works them through):
``tf.signal.fft2d`` transforms the *last two* axes, which in Keras' NHWC layout are width and
channels, not height and width; ``tf.signal.fftshift`` without ``axes`` also rolls the batch and
channel axes, so one image's weights come from another image of the batch; and the softmax that
follows normalises the channels to weights summing to 1 (about 1/2048 each: the features shrink
2048-fold), while a literal port to PyTorch's NCHW layout (mean over the spatial axes, keepdims,
softmax over the last axis) takes the softmax of a single value, which is always 1: the layer then
does nothing at all. The correct layer, built here in four tasks:

* 3.8 the magnitude spectrum of every channel over the *spatial* axes, and one number per channel:
  the mean log-magnitude of its non-DC frequencies;
* 3.9 :class:`FourierAttention`: an MLP turns those numbers into weights ``2 * sigmoid(.)`` in
  (0, 2), one per sample and channel, starting at exactly 1 (the identity);
* 3.10 :class:`FourierInception`: seed 000's model, InceptionV3's convolutional part (torchvision)
  + Fourier attention + global average pooling + a dense layer with dropout + one logit;
* 3.11 its two-stage schedule: the backbone frozen (head and attention learn), then its last
  Inception blocks unfrozen at a lower learning rate, as the seed's ``fine_tune_model`` does.

Shapes: feature maps are NCHW ``(B, C, H, W)`` float tensors; images enter the model as
``(B, 3, S, S)`` float32 normalised to [-1, 1] (mean 0.5, std 0.5: the input the Google InceptionV3
weights were trained on), S >= 75 px (InceptionV3's smallest input).

Papers: J. Hu, L. Shen, G. Sun, "Squeeze-and-Excitation Networks", CVPR 2018; Z. Qin, P. Zhang,
F. Wu, X. Li, "FcaNet: Frequency Channel Attention Networks", ICCV 2021; C. Szegedy et al.,
"Rethinking the Inception Architecture for Computer Vision", CVPR 2016; R. Durall, M. Keuper,
J. Keuper, "Watch your Up-Convolution", CVPR 2020 (the seed's inspiration).

Guide: IMPLEMENTATION_GUIDE.md, phase 3 (3.8-3.11).
"""
from __future__ import annotations

from grader.todo import TodoError

from collections import OrderedDict
from typing import Any

import torch
from torch import nn

from common.errors import CheckpointError

MIN_INPUT_SIZE = 75
"""InceptionV3's smallest input side in pixels (its stride-2 stages need at least 75)."""

INCEPTION_BLOCKS = ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "Conv2d_3b_1x1", "Conv2d_4a_3x3",
                    "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d",
                    "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c")
"""The 16 blocks with weights of torchvision's InceptionV3, input to output (the two max-pools have none)."""

BACKBONE_CHILDREN = INCEPTION_BLOCKS[:3] + ("maxpool1",) + INCEPTION_BLOCKS[3:5] + ("maxpool2",) + INCEPTION_BLOCKS[5:]
"""torchvision's InceptionV3 children from the input to ``Mixed_7c`` (its convolutional part), in order."""

FEATURE_CHANNELS = 2048
"""Channels of ``Mixed_7c``, InceptionV3's last feature map."""


# ------------------------------------------------------------------------------------------------
# 3.8 The magnitude spectrum of every channel
# ------------------------------------------------------------------------------------------------

def channel_magnitude_spectrum(features: torch.Tensor) -> torch.Tensor:
    """Centred magnitude spectrum of every channel of a batch of feature maps.

    features: (B, C, H, W) real, or any (..., H, W) (e.g. (T, B, C, H, W) for a clip). Returns the
    same shape in float32: ``|fftshift(fft2(x))|`` over the two spatial axes only (dims -2 and -1,
    the last two; never the batch or channel axes), with ``norm="ortho"`` (the
    transform divided by sqrt(H W), so a map's energy is the same in both domains and the values do
    not grow with the map's size). DC sits at (H//2, W//2). Computed in float32 whatever the input's
    dtype (``torch.fft`` has no half-precision kernel for most sizes).

    Example: a 4x4 map of 3s has DC 3 * 16 / sqrt(16) = 12 at (2, 2) and 0 elsewhere; the
    checkerboard ``(-1) ** (y + x)`` puts 16 / 4 = 4 at (0, 0), the frequency (-0.5, -0.5) cycles
    per pixel after the shift.
    """
    # TODO 3.8: torch.fft.fft2 of the float32 maps over dim=(-2, -1) with norm="ortho",
    #   torch.fft.fftshift over the same two dims, then the absolute value
    raise TodoError('3.8: torch.fft.fft2 of the float32 maps over dim=(-2, -1) with norm="ortho", torch.fft.fftshift over the same two dims, then the absolute value (IMPLEMENTATION_GUIDE.md, 3.8 Magnitude spectrum of feature maps)')


def spectral_descriptor(features: torch.Tensor) -> torch.Tensor:
    """One number per sample and channel: the mean ``log(1 + |F|)`` over its non-DC frequencies.

    features: (B, C, H, W), or any (..., H, W). Returns (B, C) (the leading axes) float32. With
    ``spectrum = channel_magnitude_spectrum``::

        descriptor[b, c] = (sum over (u, v) of log1p(spectrum[b, c, u, v]) - log1p(DC)) / (H W - 1)

    where DC is ``spectrum[b, c, H//2, W//2]``; a 1x1 map (no frequency but DC) gives 0. Leaving DC
    out makes the descriptor blind to a channel's mean (its brightness); the log compresses the
    huge range of spectral magnitudes, as in task 3.1.

    Properties (the tests check them): unchanged when a constant is added to a map, when a map is
    shifted circularly, flipped or negated (each only moves or re-phases spectral lines), and the
    descriptor of one sample never depends on another sample of the batch.

    Example: the 4x4 map ``cos(pi x / 2)`` (rows [1, 0, -1, 0]) has |F| = 2 at the two frequencies
    (0, +-0.25) and 0 elsewhere, DC included: 2 log(3) / 15 ~ 0.1465. A constant map gives 0.
    """
    height, width = features.shape[-2:]
    # TODO 3.8: log1p of channel_magnitude_spectrum, sum over the two spatial dims, subtract the
    #   log1p of the DC entry [..., H//2, W//2], divide by max(H*W - 1, 1)
    raise TodoError('3.8: log1p of channel_magnitude_spectrum, sum over the two spatial dims, subtract the log1p of the DC entry [..., H//2, W//2], divide by max(H*W - 1, 1) (IMPLEMENTATION_GUIDE.md, 3.8 Magnitude spectrum of feature maps)')


# ------------------------------------------------------------------------------------------------
# 3.9 The Fourier attention layer
# ------------------------------------------------------------------------------------------------

class FourierAttention(nn.Module):
    """Channel attention from magnitude spectra: (B, C, H, W) -> (B, C, H, W).

    ``weights = 2 * sigmoid(gate(spectral_descriptor(x)))``, one weight per sample and channel in
    (0, 2), and the output is ``x * weights[:, :, None, None]``. ``gate`` is the SE-style MLP
    ``Linear(C, C // reduction) -> ReLU -> Linear(C // reduction, C)``; its last layer starts at
    zero, so a new layer has every weight exactly 1 and is the identity: placed on a pretrained
    backbone it changes nothing until training teaches it to.

    Why not the seed's softmax: a softmax over C channels makes weights that sum to 1 (each about
    1 / C, the features shrink C-fold) and makes channels compete; a sigmoid gate lets each channel
    be kept or damped on its own, and the factor 2 centres the weights on 1.

    Args:
        channels: C, the feature maps' channels.
        reduction: the MLP's bottleneck factor (SE's 16).

    Example::

        layer = FourierAttention(2048)
        out = layer(torch.randn(4, 2048, 8, 8))        # (4, 2048, 8, 8); equal to the input at first
        weights = layer.attention_weights(features)    # (4, 2048), each in (0, 2)
    """

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.channels = channels
        self.gate = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels))
        nn.init.zeros_(self.gate[2].weight)
        nn.init.zeros_(self.gate[2].bias)

    def attention_weights(self, features: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, C) float32 weights in (0, 2): ``2 * sigmoid(gate(spectral_descriptor(x)))``."""
        # TODO 3.9: feed spectral_descriptor(features) through self.gate and map the result into
        #   (0, 2) with twice a sigmoid
        raise TodoError('3.9: feed spectral_descriptor(features) through self.gate and map the result into (0, 2) with twice a sigmoid (IMPLEMENTATION_GUIDE.md, 3.9 Fourier attention layer)')

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, C, H, W): every channel of every sample times its weight (input dtype kept)."""
        # TODO 3.9: multiply the maps by attention_weights broadcast over the two spatial axes
        #   ([:, :, None, None]), cast to the maps' dtype
        raise TodoError("3.9: multiply the maps by attention_weights broadcast over the two spatial axes ([:, :, None, None]), cast to the maps' dtype (IMPLEMENTATION_GUIDE.md, 3.9 Fourier attention layer)")


# ------------------------------------------------------------------------------------------------
# 3.10 Seed 000's model: InceptionV3 + Fourier attention + dense head
# ------------------------------------------------------------------------------------------------

def inception_backbone(pretrained: bool = False) -> nn.Sequential:
    """InceptionV3's convolutional part (torchvision), input to ``Mixed_7c``, as one ``nn.Sequential``.

    The children are named as in torchvision (:data:`BACKBONE_CHILDREN`), so torchvision's weights
    and their names carry over. ``pretrained=True`` loads the ImageNet weights through the weights
    API (``Inception_V3_Weights.IMAGENET1K_V1``, downloaded once into the torch hub cache); without
    them the weights are PyTorch's default initialisation (``init_weights=False``: torchvision's
    truncated-normal one takes seconds and matters little before BatchNorm). The auxiliary
    classifier and the 1000-class layer are dropped either way.

    Shapes: (B, 3, S, S) -> (B, 2048, h, w); h = w = 8 at S = 299, 3 at 160, 1 at 96.

    Raises:
        CheckpointError: ``pretrained=True`` and the weights cannot be loaded (offline, not cached).
    """
    import torchvision.models as tvm

    try:
        if pretrained:
            network = tvm.inception_v3(weights=tvm.Inception_V3_Weights.IMAGENET1K_V1, aux_logits=False)
        else:
            network = tvm.inception_v3(weights=None, aux_logits=False, init_weights=False)
    except (OSError, RuntimeError) as error:  # URLError is an OSError
        raise CheckpointError(f"could not load the ImageNet weights of InceptionV3 ({type(error).__name__}: "
                              f"{str(error).splitlines()[0][:120]}); use pretrained=False offline") from None
    return nn.Sequential(OrderedDict((name, getattr(network, name)) for name in BACKBONE_CHILDREN))


class FourierInception(nn.Module):
    """Seed 000's detector: InceptionV3 -> Fourier attention -> global average pool -> dense -> one logit.

    Layers: ``backbone`` (:func:`inception_backbone`, (B, 3, S, S) -> (B, 2048, h, w)), ``attention``
    (:class:`FourierAttention` over the 2048 channels), then ``head``:
    ``Dropout(dropout) -> Linear(2048, hidden) -> ReLU -> Dropout(dropout) -> Linear(hidden, 1)``.

    Training in two stages (task 3.11, as the seed): the constructor freezes the backbone
    (``unfrozen_blocks=0``: the attention and the head learn), ``unfreeze_last(n)`` then opens the
    last n Inception blocks, which :meth:`param_groups` give a smaller learning rate. Frozen blocks
    keep their BatchNorm statistics (:meth:`train`). ``unfrozen_blocks=None`` (the default) picks
    2 blocks for a pretrained backbone and all 16 for a random one (nothing to preserve).

    Args:
        pretrained: ImageNet weights for the backbone (see :func:`inception_backbone`).
        hidden: units of the dense layer.
        dropout: dropout probability before each linear layer of the head.
        unfrozen_blocks: 0 .. 16, or None (see above).
        reduction: the attention MLP's bottleneck factor.

    Shapes: forward (B, 3, S, S) float32 in [-1, 1], S >= 75 -> (B,) logits.
    """

    def __init__(self, pretrained: bool = False, hidden: int = 256, dropout: float = 0.5,
                 unfrozen_blocks: int | None = None, reduction: int = 16) -> None:
        super().__init__()
        self.backbone = inception_backbone(pretrained)
        self.attention = FourierAttention(FEATURE_CHANNELS, reduction)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(FEATURE_CHANNELS, hidden), nn.ReLU(),
                                  nn.Dropout(dropout), nn.Linear(hidden, 1))
        if unfrozen_blocks is None:
            unfrozen_blocks = 2 if pretrained else len(INCEPTION_BLOCKS)
        if unfrozen_blocks != len(INCEPTION_BLOCKS):  # a new module already trains everything
            self.unfreeze_last(unfrozen_blocks)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) -> (B,) logits: backbone, attention, mean over the two spatial axes, head."""
        if min(images.shape[-2:]) < MIN_INPUT_SIZE:
            raise ValueError(f"InceptionV3 needs inputs of at least {MIN_INPUT_SIZE}x{MIN_INPUT_SIZE} pixels, "
                             f"got {tuple(images.shape[-2:])}")
        # TODO 3.10: run self.backbone, then self.attention on its maps, average over the
        #   spatial dims (2, 3), run self.head and drop the last axis of its (B, 1) output
        raise TodoError('3.10: run self.backbone, then self.attention on its maps, average over the spatial dims (2, 3), run self.head and drop the last axis of its (B, 1) output (IMPLEMENTATION_GUIDE.md, 3.10 InceptionV3 with Fourier attention)')

    # -------------------------------------------------------------------------- 3.11 the schedule

    def blocks(self) -> list[nn.Module]:
        """The 16 Inception blocks with weights, input to output (:data:`INCEPTION_BLOCKS`)."""
        return [getattr(self.backbone, name) for name in INCEPTION_BLOCKS]

    def freeze_backbone(self) -> None:
        """Stage 1: no backbone parameter learns; the attention's and the head's all do."""
        # TODO 3.11: requires_grad = False on every parameter of self.backbone, True on every
        #   parameter of self.attention and self.head
        raise TodoError('3.11: requires_grad = False on every parameter of self.backbone, True on every parameter of self.attention and self.head (IMPLEMENTATION_GUIDE.md, 3.11 Frozen, then partially unfrozen)')

    def unfreeze_last(self, n_blocks: int) -> None:
        """Stage 2: the last ``n_blocks`` Inception blocks learn again, the earlier ones stay frozen.

        ``unfreeze_last(0)`` is :meth:`freeze_backbone`; ``unfreeze_last(2)`` opens Mixed_7b and
        Mixed_7c (the seed's ``layers[100:]`` in Keras' flat list of layers is the same idea);
        ``unfreeze_last(16)`` the whole backbone.

        Raises:
            ValueError: ``n_blocks`` outside 0 .. 16.
        """
        if not 0 <= n_blocks <= len(INCEPTION_BLOCKS):
            raise ValueError(f"n_blocks must be between 0 and {len(INCEPTION_BLOCKS)}, got {n_blocks}")
        # TODO 3.11: freeze_backbone() first, then requires_grad = True on the parameters of the
        #   last n_blocks of self.blocks() (careful: a slice [-0:] is every block)
        raise TodoError('3.11: freeze_backbone() first, then requires_grad = True on the parameters of the last n_blocks of self.blocks() (careful: a slice [-0:] is every block) (IMPLEMENTATION_GUIDE.md, 3.11 Frozen, then partially unfrozen)')

    def param_groups(self, lr: float, backbone_lr_factor: float = 0.1) -> list[dict]:
        """Optimiser groups: attention and head at ``lr``, the unfrozen backbone at ``lr * backbone_lr_factor``.

        Frozen parameters are left out; the backbone group is left out when nothing of it learns.
        ``common.tools.train`` uses this for every model that has it.
        """
        top = [p for p in [*self.attention.parameters(), *self.head.parameters()] if p.requires_grad]
        backbone = [p for p in self.backbone.parameters() if p.requires_grad]
        groups = [{"params": top, "lr": lr, "name": "head"}]
        if backbone:
            groups.append({"params": backbone, "lr": lr * backbone_lr_factor, "name": "backbone"})
        return groups

    def train(self, mode: bool = True) -> "FourierInception":
        """Like ``nn.Module.train``, but fully frozen blocks stay in eval mode (fixed BatchNorm statistics)."""
        super().train(mode)
        for block in self.blocks():
            if not any(p.requires_grad for p in block.parameters()):
                block.eval()
        return self


def train_two_stage(model: FourierInception, train_set: Any, val_set: Any, *, stage1: Any, stage2: Any,
                    unfreeze: int = 2, backbone_lr_factor: float = 0.1, device: str = "auto",
                    checkpoint_path: Any = None, architecture: str = "fourier_inception",
                    model_config: dict | None = None) -> tuple[Any, Any]:
    """Seed 000's schedule with the course's loop: stage 1 frozen, stage 2 partially unfrozen.

    1. ``model.freeze_backbone()``, then ``common.training.fit`` with ``stage1`` (a
       :class:`common.training.TrainConfig`): the attention and head learn on top of fixed features;
    2. ``model.unfreeze_last(unfreeze)``, then ``fit`` again with ``stage2`` and
       ``param_groups=model.param_groups(stage2.lr, backbone_lr_factor)``: the last blocks adapt at
       a smaller learning rate (the seed recompiles with Adam at 1e-4).

    Each ``fit`` keeps its best epoch; the second starts from the first's best weights and writes
    ``checkpoint_path`` (when given). Returns the two :class:`common.training.TrainResult`.
    """
    from common.training import fit

    # TODO 3.11: freeze_backbone and fit with stage1 (no checkpoint); then
    #   unfreeze_last(unfreeze) and fit with stage2, param_groups from
    #   model.param_groups(stage2.lr, backbone_lr_factor), and the checkpoint arguments
    raise TodoError('3.11: freeze_backbone and fit with stage1 (no checkpoint); then unfreeze_last(unfreeze) and fit with stage2, param_groups from model.param_groups(stage2.lr, backbone_lr_factor), and the checkpoint arguments (IMPLEMENTATION_GUIDE.md, 3.11 Frozen, then partially unfrozen)')
