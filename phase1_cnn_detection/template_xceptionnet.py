# Exercise file generated from the reference solution: fill in every TODO (see IMPLEMENTATION_GUIDE.md).
"""XceptionNet: depthwise separable convolutions with residual connections, the FaceForensics++ detector.

Idea. A normal 3x3 convolution mixes space and channels at once: C_in * C_out * 9 weights. Xception
("extreme Inception") factorises it into a *depthwise* 3x3 convolution that filters each channel
on its own (C_in * 9 weights) followed by a *pointwise* 1x1 convolution that mixes channels
(C_in * C_out weights): about 8-9 times fewer weights and multiply-adds for the same receptive
field. The network stacks 36 such convolutions in 14 blocks with residual shortcuts:

    entry flow   conv 3x3/2 (32) -> conv 3x3 (64) -> 3 blocks 128, 256, 728 channels, each /2
    middle flow  8 identical blocks of 3 separable convs at 728 channels (identity shortcuts)
    exit flow    a block 728 -> 1024 (/2), then separable convs 1536 and 2048, global average pool

FaceForensics++ (Rossler et al. 2019) fine-tuned it from ImageNet weights on face crops and it is
still the baseline every deepfake paper compares with (DeepfakeBench: AUC 0.96 on FF++ c23). Here
the ImageNet 1000-class head is replaced by one logit: the score of FAKE is ``sigmoid(logit)``.

Input: (B, 3, 299, 299) float32, RGB scaled to [-1, 1], i.e. normalised with mean = std = 0.5
(``x = (pixel / 255 - 0.5) / 0.5``), the preprocessing of the original Keras/ImageNet weights.
Any size from about 71 px works (the global pool adapts), which keeps tests fast.

Papers: F. Chollet, "Xception: Deep Learning with Depthwise Separable Convolutions", CVPR 2017.
A. Rossler et al., "FaceForensics++: Learning to Detect Manipulated Facial Images", ICCV 2019.

Guide: IMPLEMENTATION_GUIDE.md, phase 1 (1.3 Depthwise separable convolution, 1.4 XceptionNet).
"""
from __future__ import annotations

from grader.todo import TodoError

import re

import torch
import torch.nn.functional as F
from torch import nn

from common.errors import CheckpointError, CourseError

INPUT_SIZE = 299
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)
FEATURE_DIM = 2048


# ------------------------------------------------------------------------------------------------
# Task 1.3: the depthwise separable convolution
# ------------------------------------------------------------------------------------------------

class SeparableConv2d(nn.Module):
    """Depthwise k x k convolution (one filter per input channel) followed by a pointwise 1x1 convolution.

    Args:
        in_channels, out_channels: C_in and C_out.
        kernel_size, stride, padding: of the depthwise convolution (3, 1, 1 keep the size).

    Attributes:
        depthwise: ``nn.Conv2d(C_in, C_in, k, stride, padding, groups=C_in, bias=False)``,
            weight shape (C_in, 1, k, k).
        pointwise: ``nn.Conv2d(C_in, C_out, 1, bias=False)``, weight shape (C_out, C_in, 1, 1).
        (No biases: a BatchNorm always follows.)

    Shapes: (B, C_in, H, W) float32 -> (B, C_out, H', W') with H' = (H + 2p - k) // stride + 1.

    Example: C_in = 728, C_out = 728, k = 3: 728 * 9 + 728 * 728 = 536,536 weights against
    728 * 728 * 9 = 4,769,856 for a full 3x3 convolution (8.9 times fewer).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 padding: int = 1) -> None:
        super().__init__()
        # TODO 1.3: self.depthwise: an nn.Conv2d with one k x k filter per input channel (groups
        #   = in_channels, channels unchanged) using the given kernel size, stride and padding;
        #   self.pointwise: a 1x1 nn.Conv2d from in_channels to out_channels; neither has a bias
        raise TodoError('1.3: self.depthwise: an nn.Conv2d with one k x k filter per input channel (groups = in_channels, channels unchanged) using the given kernel size, stride and padding; self.pointwise: a 1x1 nn.Conv2d from in_channels to out_channels; neither has a bias (IMPLEMENTATION_GUIDE.md, 1.3 Depthwise separable convolution)')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # TODO 1.3: filter each channel with the depthwise convolution, then mix the channels
        #   with the pointwise one
        raise TodoError('1.3: filter each channel with the depthwise convolution, then mix the channels with the pointwise one (IMPLEMENTATION_GUIDE.md, 1.3 Depthwise separable convolution)')


# ------------------------------------------------------------------------------------------------
# Task 1.4: the blocks and the three flows
# ------------------------------------------------------------------------------------------------

class Block(nn.Module):
    """One Xception block: ``reps`` x (ReLU -> SeparableConv2d 3x3 -> BatchNorm), then an optional
    3x3 max-pool with stride 2, plus a residual shortcut.

    Args:
        in_channels, out_channels: C_in and C_out of the block.
        reps: number of separable convolutions (2 in the entry/exit flow, 3 in the middle flow).
        stride: 2 ends the block with ``nn.MaxPool2d(3, 2, padding=1)`` (halves H and W); 1 does not.
        start_with_relu: ``False`` for the first block only (its input already went through a ReLU).
        grow_first: ``True``: the first conv goes C_in -> C_out and the others C_out -> C_out;
            ``False`` (exit block): all convs stay at C_in and the last one goes C_in -> C_out.

    Attributes (the names matter: :func:`load_timm_xception_state_dict` maps weights onto them):
        convs: ``nn.ModuleList`` of ``reps`` :class:`SeparableConv2d` (3x3, stride 1, padding 1).
        norms: ``nn.ModuleList`` of ``reps`` ``nn.BatchNorm2d``.
        pool: ``nn.MaxPool2d(3, stride, padding=1)`` or ``None`` when stride is 1.
        shortcut: ``nn.Sequential(nn.Conv2d(C_in, C_out, 1, stride, bias=False), nn.BatchNorm2d(C_out))``
            when the shape changes (C_out != C_in or stride != 1), else ``None`` (identity).
        start_with_relu: the flag above.

    Shapes: (B, C_in, H, W) -> (B, C_out, ceil(H / stride), ceil(W / stride)).

    Example: ``Block(728, 728, reps=3)`` is a middle-flow block: output = input + three
    ReLU-SepConv-BN units of the input.
    """

    def __init__(self, in_channels: int, out_channels: int, reps: int, stride: int = 1,
                 start_with_relu: bool = True, grow_first: bool = True) -> None:
        super().__init__()
        self.start_with_relu = start_with_relu
        # TODO 1.4: work out the (C_in, C_out) of the reps separable convs (grow_first: the
        #   first conv changes the channels, else the last one); self.convs (3x3 SeparableConv2d,
        #   padding 1) and self.norms (a BatchNorm2d per conv output) as nn.ModuleList; self.pool:
        #   a 3x3 max-pool with the block's stride (padding 1) only when stride != 1;
        #   self.shortcut: a strided 1x1 conv without bias then BatchNorm only when the channels
        #   or the stride change; None otherwise
        raise TodoError("1.4: work out the (C_in, C_out) of the reps separable convs (grow_first: the first conv changes the channels, else the last one); self.convs (3x3 SeparableConv2d, padding 1) and self.norms (a BatchNorm2d per conv output) as nn.ModuleList; self.pool: a 3x3 max-pool with the block's stride (padding 1) only when stride != 1; self.shortcut: a strided 1x1 conv without bias then BatchNorm only when the channels or the stride change; None otherwise (IMPLEMENTATION_GUIDE.md, 1.4 XceptionNet)")

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        # TODO 1.4: run the units in order, each a ReLU (not in place: the shortcut still needs
        #   the inputs; skipped for the first unit when start_with_relu is False) then its conv
        #   and norm; max-pool if the block has a pool; add the residual: the inputs themselves,
        #   or the shortcut applied to them
        raise TodoError('1.4: run the units in order, each a ReLU (not in place: the shortcut still needs the inputs; skipped for the first unit when start_with_relu is False) then its conv and norm; max-pool if the block has a pool; add the residual: the inputs themselves, or the shortcut applied to them (IMPLEMENTATION_GUIDE.md, 1.4 XceptionNet)')


class XceptionNet(nn.Module):
    """Xception (Chollet 2017) with a detection head.

    Args:
        num_classes: 1 (default) gives one logit per image (FAKE score = sigmoid(logit)); C > 1
            gives C logits (1000 to load ImageNet weights with their head).
        dropout: dropout probability before the final linear layer (0 = none; FaceForensics++
            used 0.5 when fine-tuning).

    Attributes (the names matter for :func:`load_timm_xception_state_dict`):
        conv1 ``Conv2d(3, 32, 3, stride 2, no padding, no bias)``, bn1,
        conv2 ``Conv2d(32, 64, 3, no padding, no bias)``, bn2 (entry stem, each followed by ReLU);
        entry_flow ``nn.Sequential`` of 3 :class:`Block`: 64->128, 128->256, 256->728, 2 reps,
            stride 2 (the first with ``start_with_relu=False``);
        middle_flow ``nn.Sequential`` of 8 ``Block(728, 728, 3)``;
        exit_block ``Block(728, 1024, 2, stride=2, grow_first=False)``;
        conv3 ``SeparableConv2d(1024, 1536)``, bn3, conv4 ``SeparableConv2d(1536, 2048)``, bn4
            (each followed by ReLU); then global average pooling;
        fc ``Linear(2048, num_classes)``.

    Shapes: forward (B, 3, H, W) float32 in [-1, 1] -> (B,) logits when num_classes == 1, else
    (B, num_classes). features: -> (B, 2048).

    Example:
        >>> model = XceptionNet().eval()
        >>> model(torch.zeros(2, 3, 299, 299)).shape
        torch.Size([2])
    """

    def __init__(self, num_classes: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        self.num_classes = num_classes
        # TODO 1.4: build the stem (conv1, bn1, conv2, bn2), self.entry_flow (3 Blocks),
        #   self.middle_flow (8 Blocks), self.exit_block and the exit convolutions (conv3, bn3,
        #   conv4, bn4) exactly as listed in the class docstring
        raise TodoError('1.4: build the stem (conv1, bn1, conv2, bn2), self.entry_flow (3 Blocks), self.middle_flow (8 Blocks), self.exit_block and the exit convolutions (conv3, bn3, conv4, bn4) exactly as listed in the class docstring (IMPLEMENTATION_GUIDE.md, 1.4 XceptionNet)')
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(FEATURE_DIM, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) float32 in [-1, 1] -> (B, 2048): the globally average-pooled last feature map."""
        # TODO 1.4: stem (conv1, bn1, ReLU, conv2, bn2, ReLU) -> entry_flow -> middle_flow ->
        #   exit_block -> conv3, bn3, ReLU -> conv4, bn4, ReLU -> mean over H and W
        raise TodoError('1.4: stem (conv1, bn1, ReLU, conv2, bn2, ReLU) -> entry_flow -> middle_flow -> exit_block -> conv3, bn3, ReLU -> conv4, bn4, ReLU -> mean over H and W (IMPLEMENTATION_GUIDE.md, 1.4 XceptionNet)')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> logits (B,) for one class, (B, num_classes) otherwise."""
        logits = self.fc(self.dropout(self.features(x)))
        return logits.squeeze(1) if self.num_classes == 1 else logits


# ------------------------------------------------------------------------------------------------
# Provided: loading timm's ImageNet weights (legacy_xception) into this architecture
# ------------------------------------------------------------------------------------------------

_BLOCK_KEY = re.compile(r"^block(?P<block>\d+)\.(?P<rest>.+)$")
_REP_KEY = re.compile(r"^rep\.(?P<index>\d+)\.(?P<rest>.+)$")


def _block_path(number: int) -> str:
    """timm's block1..block12 -> our entry_flow.0-2, middle_flow.0-7, exit_block."""
    if 1 <= number <= 3:
        return f"entry_flow.{number - 1}"
    if 4 <= number <= 11:
        return f"middle_flow.{number - 4}"
    if number == 12:
        return "exit_block"
    raise CheckpointError(f"timm Xception state_dict has block{number}; Xception has block1..block12")


def timm_to_course_key(key: str) -> str:
    """Name of a timm ``legacy_xception`` state_dict entry in :class:`XceptionNet`.

    The mapping (timm -> ours):
        conv1/bn1/conv2/bn2/bn3/bn4/fc.*      -> unchanged
        conv3|conv4.conv1.weight              -> conv3|conv4.depthwise.weight
        conv3|conv4.pointwise.weight          -> unchanged
        blockN.skip.weight, blockN.skipbn.*   -> <block>.shortcut.0.weight, <block>.shortcut.1.*
        blockN.rep.K.conv1.weight             -> <block>.convs.i.depthwise.weight
        blockN.rep.K.pointwise.weight         -> <block>.convs.i.pointwise.weight
        blockN.rep.K.<batchnorm entry>        -> <block>.norms.i.<batchnorm entry>
    where <block> is entry_flow.(N-1) for N = 1..3, middle_flow.(N-4) for N = 4..11 and
    exit_block for N = 12. timm keeps each block as one ``nn.Sequential`` ``rep`` of
    [ReLU, SeparableConv, BatchNorm] triples (+ a final MaxPool); block1 has no leading ReLU, so
    its indices start one lower. Hence unit i = (K + offset) // 3, a convolution when
    (K + offset) % 3 == 1 and a BatchNorm when it is 2, with offset 1 for block1 and 0 otherwise.

    Example:
        >>> timm_to_course_key("block5.rep.4.conv1.weight")
        'middle_flow.1.convs.1.depthwise.weight'
    """
    if key.startswith(("conv3.", "conv4.")):
        return key.replace(".conv1.", ".depthwise.")
    block = _BLOCK_KEY.match(key)
    if block is None:
        return key
    number, rest = int(block.group("block")), block.group("rest")
    prefix = _block_path(number)
    if rest.startswith("skip."):
        return f"{prefix}.shortcut.0.{rest[len('skip.'):]}"
    if rest.startswith("skipbn."):
        return f"{prefix}.shortcut.1.{rest[len('skipbn.'):]}"
    rep = _REP_KEY.match(rest)
    if rep is None:
        raise CheckpointError(f"unexpected key {key!r} in a timm Xception state_dict")
    position = int(rep.group("index")) + (1 if number == 1 else 0)
    unit, kind = divmod(position, 3)
    tail = rep.group("rest")
    if kind == 1:
        return f"{prefix}.convs.{unit}.{tail.replace('conv1.', 'depthwise.')}"
    if kind == 2:
        return f"{prefix}.norms.{unit}.{tail}"
    raise CheckpointError(f"key {key!r}: rep index {rep.group('index')} is neither a convolution nor a BatchNorm")


def load_timm_xception_state_dict(model: XceptionNet, state_dict: dict[str, torch.Tensor]) -> XceptionNet:
    """Copy the weights of timm's ``legacy_xception`` into ``model``, renaming keys by :func:`timm_to_course_key`.

    Every backbone tensor must find its place with the same shape (a strict load). The head
    ``fc.*`` is copied when its shape matches (``num_classes=1000``); otherwise ``model`` keeps its
    freshly initialised head (the usual fine-tuning start: ImageNet backbone, new one-logit head).

    Args:
        model: an :class:`XceptionNet`. state_dict: ``timm.create_model("legacy_xception").state_dict()``.

    Returns:
        ``model`` (loaded in place).

    Raises:
        CheckpointError: a key is missing or unexpected, or a shape differs.
    """
    own = model.state_dict()
    mapped = {timm_to_course_key(key): value for key, value in state_dict.items()}
    for key in ("fc.weight", "fc.bias"):
        if key in mapped and mapped[key].shape != own[key].shape:
            mapped[key] = own[key]  # different head: keep ours
    missing = sorted(set(own) - set(mapped))
    unexpected = sorted(set(mapped) - set(own))
    if missing or unexpected:
        raise CheckpointError(f"timm Xception weights do not fit XceptionNet: missing {missing[:3]}, unexpected {unexpected[:3]}")
    wrong = [key for key in own if own[key].shape != mapped[key].shape]
    if wrong:
        raise CheckpointError(f"timm Xception weights do not fit XceptionNet: {wrong[0]} is {tuple(mapped[wrong[0]].shape)}, "
                              f"expected {tuple(own[wrong[0]].shape)}")
    model.load_state_dict(mapped, strict=True)
    return model


def build_xception(num_classes: int = 1, pretrained: bool = False, dropout: float = 0.0) -> XceptionNet:
    """An :class:`XceptionNet`, optionally with ImageNet weights.

    Args:
        num_classes: 1 for detection (one logit), 1000 for ImageNet.
        pretrained: ``True`` downloads timm's ``legacy_xception`` ImageNet weights (once; they are
            then cached under ``~/.cache``) and maps them with :func:`load_timm_xception_state_dict`.
            Needs the network the first time; ``False`` (random weights) works offline.
        dropout: see :class:`XceptionNet`.

    Raises:
        CourseError: the weights could not be downloaded.
    """
    model = XceptionNet(num_classes=num_classes, dropout=dropout)
    if pretrained:
        import timm

        try:
            reference = timm.create_model("legacy_xception", pretrained=True, num_classes=1000)
        except Exception as error:  # network / hub errors come in many types (OSError, HTTPError, RuntimeError)
            raise CourseError(f"could not download the ImageNet weights of legacy_xception through timm "
                              f"({type(error).__name__}); pretrained=False works offline") from error
        load_timm_xception_state_dict(model, reference.state_dict())
    return model
