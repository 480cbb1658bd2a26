"""3-D convolutional networks: convolve over time as well as space.

Idea. A 2-D convolution slides a (k, k) kernel over an image; a 3-D convolution slides a (kt, k, k)
kernel over a stack of frames, so a single filter can respond to *change*: a face edge that
moves, a brightness that flickers. Tran et al. (2015) showed that 3x3x3 kernels everywhere (C3D)
learn good video features; Tran et al. (2018) put them in residual blocks (R3D-18, a ResNet-18 with
every 3x3 convolution made 3x3x3), the network torchvision ships with Kinetics-400 weights.

Input layout, PyTorch's for video: (batch, channels, time, height, width) = (B, 3, T, S, S).

    C3D-small (this course's CPU-sized C3D, task 2.9), for T = 16, S = 64:
    conv3d 3->16, 3x3x3 pad 1, BN, ReLU; max-pool (1, 2, 2)      -> (B, 16, 16, 32, 32)
    conv3d 16->32, BN, ReLU; max-pool (2, 2, 2)                   -> (B, 32, 8, 16, 16)
    conv3d 32->64, BN, ReLU; max-pool (2, 2, 2)                   -> (B, 64, 4, 8, 8)
    conv3d 64->64, BN, ReLU; global average pool                  -> (B, 64)
    dropout, linear 64 -> 1                                       -> (B,) logits

The first pool keeps time (as C3D does) so that the first layers see every frame pair.

    R3D-18 (task 2.10), torchvision's ``r3d_18`` layout and parameter names:
    stem: conv3d 3->64, kernel (3, 7, 7), stride (1, 2, 2), padding (1, 3, 3), no bias; BN; ReLU
    layer1..layer4: two BasicBlocks each, 64/128/256/512 channels, stride 1/2/2/2 (time too);
      BasicBlock: conv1 = [conv3d 3x3x3 (stride s, pad 1, no bias), BN, ReLU],
                  conv2 = [conv3d 3x3x3 (pad 1, no bias), BN], plus the shortcut, then ReLU;
      the shortcut is ``downsample`` = [conv3d 1x1x1 stride s, no bias; BN] when the shape changes
    avgpool: adaptive average pool to (1, 1, 1); fc: linear 512 -> num_classes.

Papers: D. Tran et al., "Learning Spatiotemporal Features with 3D Convolutional Networks", ICCV
2015 (C3D); D. Tran et al., "A Closer Look at Spatiotemporal Convolutions for Action Recognition",
CVPR 2018 (R3D, R(2+1)D); K. Hara et al., "Can Spatiotemporal 3D CNNs Retrace the History of 2D
CNNs and ImageNet?", CVPR 2018.

Guide: IMPLEMENTATION_GUIDE.md, phase 2 (2.9, 2.10).
"""
from __future__ import annotations

import torch
from torch import nn

from common.errors import CourseError


# ------------------------------------------------------------------------------------------------
# Task 2.9: a C3D for the CPU
# ------------------------------------------------------------------------------------------------

def conv3d_unit(in_channels: int, out_channels: int) -> nn.Sequential:
    """3x3x3 convolution (padding 1, keeps T, H, W) -> BatchNorm3d -> ReLU."""
    return nn.Sequential(nn.Conv3d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
                         nn.BatchNorm3d(out_channels), nn.ReLU(inplace=True))


class C3DSmall(nn.Module):
    """The module docstring's C3D-small: (B, 3, T, S, S) -> (B,) logits.

    Args:
        channels: output channels of the four 3-D convolution units.
        dropout: before the linear layer.

    Any T >= 4 and S >= 8 work (global pooling at the end); 16 frames of 64 px is the course's
    default, 181,425 parameters with the default channels (convolutions 181,008, batch norms 352, linear 65).
    """

    def __init__(self, channels: tuple[int, int, int, int] = (16, 32, 64, 64), dropout: float = 0.3) -> None:
        super().__init__()
        # BEGIN SOLUTION 2.9: self.features: conv3d_unit(3, c0), MaxPool3d((1, 2, 2)), conv3d_unit(c0, c1), MaxPool3d(2), conv3d_unit(c1, c2), MaxPool3d(2), conv3d_unit(c2, c3), AdaptiveAvgPool3d(1), Flatten; self.classifier: Dropout then Linear(c3, 1)
        c0, c1, c2, c3 = channels
        self.features = nn.Sequential(
            conv3d_unit(3, c0), nn.MaxPool3d((1, 2, 2)),
            conv3d_unit(c0, c1), nn.MaxPool3d(2),
            conv3d_unit(c1, c2), nn.MaxPool3d(2),
            conv3d_unit(c2, c3), nn.AdaptiveAvgPool3d(1), nn.Flatten(),
        )
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(c3, 1))
        # END SOLUTION

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, S, S) float32 -> (B,) logits."""
        return self.classifier(self.features(clips)).squeeze(1)


# ------------------------------------------------------------------------------------------------
# Task 2.10: R3D-18 from its blocks, loadable from torchvision
# ------------------------------------------------------------------------------------------------

def conv3x3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv3d:
    """torchvision's ``Conv3DSimple``: 3x3x3, padding 1, the same stride in time and space, no bias."""
    return nn.Conv3d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False)


class BasicBlock3d(nn.Module):
    """Residual block of R3D-18 (module docstring): ``relu(conv2(conv1(x)) + shortcut(x))``.

    ``conv1`` and ``conv2`` are ``nn.Sequential`` with the parameter names torchvision uses
    (``conv1.0`` the convolution, ``conv1.1`` its batch norm, ``conv1.2`` the ReLU); ``downsample``
    is ``None`` or [1x1x1 conv with the block's stride, BN].

    Shapes: (B, in_channels, T, H, W) -> (B, out_channels, T/s, H/s, W/s) (rounded up).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        # BEGIN SOLUTION 2.10: conv1 = Sequential(conv3x3x3 with the stride, BatchNorm3d, ReLU); conv2 = Sequential(conv3x3x3, BatchNorm3d); downsample = Sequential(1x1x1 Conv3d with the stride and no bias, BatchNorm3d) when the stride is not 1 or the channels change, else None
        self.conv1 = nn.Sequential(conv3x3x3(in_channels, out_channels, stride), nn.BatchNorm3d(out_channels),
                                   nn.ReLU(inplace=True))
        self.conv2 = nn.Sequential(conv3x3x3(out_channels, out_channels), nn.BatchNorm3d(out_channels))
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(nn.Conv3d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
                                            nn.BatchNorm3d(out_channels))
        # END SOLUTION
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        # BEGIN SOLUTION 2.10: conv2 of conv1 of x, plus the shortcut, through self.relu
        return self.relu(self.conv2(self.conv1(x)) + shortcut)
        # END SOLUTION


class R3D18(nn.Module):
    """R3D-18 (module docstring), parameter for parameter torchvision's ``r3d_18``.

    Args:
        num_classes: outputs of ``fc`` (400 for Kinetics weights, 1 for a detector).

    forward: (B, 3, T, S, S) -> (B, num_classes) logits, or (B,) when ``num_classes == 1``.
    """

    STAGES = ((64, 1), (128, 2), (256, 2), (512, 2))

    def __init__(self, num_classes: int = 1) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.stem = nn.Sequential(
            nn.Conv3d(3, 64, kernel_size=(3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False),
            nn.BatchNorm3d(64), nn.ReLU(inplace=True))
        in_channels = 64
        for number, (channels, stride) in enumerate(self.STAGES, start=1):
            setattr(self, f"layer{number}", nn.Sequential(BasicBlock3d(in_channels, channels, stride),
                                                          BasicBlock3d(channels, channels)))
            in_channels = channels
        self.avgpool = nn.AdaptiveAvgPool3d(1)
        self.fc = nn.Linear(512, num_classes)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        x = self.stem(clips)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        logits = self.fc(self.avgpool(x).flatten(1))
        return logits.squeeze(1) if self.num_classes == 1 else logits


def build_r3d18(num_classes: int = 1, pretrained: bool = False) -> R3D18:
    """R3D-18 for ``num_classes`` outputs; ``pretrained=True`` loads torchvision's Kinetics-400
    weights (``R3D_18_Weights.KINETICS400_V1``, downloaded once) into every layer but ``fc``, which
    stays new when ``num_classes != 400``.

    The Kinetics weights expect clips normalised with mean (0.43216, 0.394666, 0.37645) and std
    (0.22803, 0.22145, 0.216989), the registry row's statistics.
    """
    model = R3D18(num_classes)
    if pretrained:
        from torchvision.models.video import R3D_18_Weights, r3d_18

        try:
            reference = r3d_18(weights=R3D_18_Weights.KINETICS400_V1)
        except Exception as error:  # only the download can fail: many exception types
            raise CourseError(f"could not download the Kinetics-400 weights of r3d_18 ({type(error).__name__}); "
                              "pretrained=False works offline") from error
        state = reference.state_dict()
        if num_classes != 400:
            state = {key: value for key, value in state.items() if not key.startswith("fc.")}
        missing, unexpected = model.load_state_dict(state, strict=num_classes == 400)
        if unexpected or any(not key.startswith("fc.") for key in missing):
            raise CourseError(f"r3d_18 weights do not fit: missing {missing}, unexpected {unexpected}")
    return model
