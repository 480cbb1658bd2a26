# Exercise file generated from the reference solution: fill in every TODO (see IMPLEMENTATION_GUIDE.md).
"""EfficientNet-B4 as a deepfake detector: an ImageNet backbone with a new one-logit head.

Idea. EfficientNet (Tan & Le 2019) scales a small mobile network (inverted residual "MBConv"
blocks with squeeze-and-excitation) in depth, width and input resolution together. Its B4 member
(19M parameters, 380 px input) won the Deepfake Detection Challenge: the DFDC winner (Selim
Seferbekov) trained an ensemble of EfficientNet-B7s on 380 px face crops, and DeepfakeBench's
EfficientNet-B4 reaches AUC 0.957 on FF++ c23, on par with Xception. Transfer learning keeps the
pretrained convolutional backbone (its low-level filters are what reveal blending and resampling
traces) and replaces the 1000-class ImageNet classifier with a single logit:

    face (B, 3, 380, 380) -> backbone -> (B, 1792, 12, 12) -> global average -> (B, 1792)
                          -> Dropout(0.4) -> Linear(1792, 1) -> logit (B,)

Input: RGB in [0, 1] normalised with the ImageNet mean (0.485, 0.456, 0.406) and std
(0.229, 0.224, 0.225), the statistics the torchvision weights were trained with. Why 380 px: the
compound scaling rule gives B4 a resolution of 380 (B0 224 ... B7 600); the pretrained filters
expect objects at that scale, and the fine traces of a swap survive better at a higher resolution.
Being fully convolutional with a global pool, the network also runs on any size >= 32 px (the
backbone downsamples 32 times), which the tests use to stay fast.

Papers: M. Tan, Q. Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
Networks", ICML 2019. B. Dolhansky et al., "The DeepFake Detection Challenge (DFDC) Dataset", 2020.
Z. Yan et al., "DeepfakeBench", NeurIPS 2023 Datasets and Benchmarks.

Guide: IMPLEMENTATION_GUIDE.md, phase 1 (1.5 EfficientNet-B4).
"""
from __future__ import annotations

from grader.todo import TodoError

import torch
from torch import nn
from torchvision.models import EfficientNet_B4_Weights, efficientnet_b4

from common.errors import CourseError

INPUT_SIZE = 380
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
FEATURE_DIM = 1792


def torchvision_efficientnet_b4(pretrained: bool = False) -> nn.Module:
    """torchvision's EfficientNet-B4 (1000-class ImageNet head), random or ImageNet weights.

    ``pretrained=True`` uses ``EfficientNet_B4_Weights.IMAGENET1K_V1`` (downloaded once into the
    torch hub cache, ~75 MB). Raises a one-line :class:`CourseError` when that download fails.
    """
    if not pretrained:
        return efficientnet_b4(weights=None)
    try:
        return efficientnet_b4(weights=EfficientNet_B4_Weights.IMAGENET1K_V1)
    except Exception as error:  # URLError, OSError, RuntimeError ... depending on where the download broke
        raise CourseError(f"could not download the ImageNet weights of efficientnet_b4 through torchvision "
                          f"({type(error).__name__}); pretrained=False works offline") from error


class EfficientNetB4Detector(nn.Module):
    """EfficientNet-B4 backbone + Dropout + Linear(1792, 1).

    Args:
        pretrained: start from torchvision's ImageNet weights (needs the network once).
        dropout: dropout probability before the linear layer (0.4, torchvision's own B4 value).
        num_classes: 1 (default) for one logit per image; C > 1 for C logits.

    Attributes:
        backbone: torchvision's ``efficientnet_b4().features`` (the stem, 7 MBConv stages and the
            final 1x1 convolution to 1792 channels), its parameters untouched.
        pool: ``nn.AdaptiveAvgPool2d(1)``, global average pooling.
        head: ``nn.Sequential(nn.Dropout(dropout), nn.Linear(1792, num_classes))``.

    Shapes: forward (B, 3, H, W) float32 (ImageNet-normalised, H, W >= 32) -> (B,) logits
    ((B, C) when num_classes = C > 1); features -> (B, 1792).

    Example:
        >>> model = EfficientNetB4Detector().eval()
        >>> model(torch.zeros(2, 3, 380, 380)).shape
        torch.Size([2])
    """

    def __init__(self, pretrained: bool = False, dropout: float = 0.4, num_classes: int = 1) -> None:
        super().__init__()
        self.num_classes = num_classes
        reference = torchvision_efficientnet_b4(pretrained)
        # TODO 1.5: keep reference.features as self.backbone, a global average pool to 1x1
        #   (nn.AdaptiveAvgPool2d) as self.pool, and a new self.head: dropout, then a linear layer
        #   from FEATURE_DIM to num_classes; leave reference.classifier (the 1000-class ImageNet
        #   head) out
        raise TodoError('1.5: keep reference.features as self.backbone, a global average pool to 1x1 (nn.AdaptiveAvgPool2d) as self.pool, and a new self.head: dropout, then a linear layer from FEATURE_DIM to num_classes; leave reference.classifier (the 1000-class ImageNet head) out (IMPLEMENTATION_GUIDE.md, 1.5 EfficientNet-B4)')

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> (B, 1792): the pooled output of the backbone."""
        # TODO 1.5: run self.backbone, pool to (B, 1792, 1, 1) and flatten from dim 1
        raise TodoError('1.5: run self.backbone, pool to (B, 1792, 1, 1) and flatten from dim 1 (IMPLEMENTATION_GUIDE.md, 1.5 EfficientNet-B4)')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> logits (B,) (FAKE probability = sigmoid(logit)), or (B, C) for C classes."""
        # TODO 1.5: apply self.head to the pooled self.features(x); with a single class squeeze
        #   the class axis away so (B, 1) becomes (B,), otherwise return (B, C)
        raise TodoError('1.5: apply self.head to the pooled self.features(x); with a single class squeeze the class axis away so (B, 1) becomes (B,), otherwise return (B, C) (IMPLEMENTATION_GUIDE.md, 1.5 EfficientNet-B4)')


def build_efficientnet(num_classes: int = 1, pretrained: bool = False, dropout: float = 0.4) -> EfficientNetB4Detector:
    """An :class:`EfficientNetB4Detector` (the builder the model registry calls, like ``build_xception``)."""
    return EfficientNetB4Detector(pretrained=pretrained, dropout=dropout, num_classes=num_classes)
