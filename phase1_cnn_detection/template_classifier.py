# Exercise file generated from the reference solution: fill in every TODO (see IMPLEMENTATION_GUIDE.md).
"""Binary face classifiers: two small CNNs, transfer learning, and forensic data augmentation.

Idea. Once a face is cropped (tasks 1.1-1.2), detecting a deepfake is binary image classification:
one logit per face, ``sigmoid(logit) = P(FAKE)``. This file builds three such classifiers and the
augmentation that keeps them honest:

* **MesoNet-4** (task 1.7) - Afchar, Nozick, Yamagishi, Echizen, "MesoNet: a Compact Facial Video
  Forgery Detection Network", WIFS 2018. A deliberately tiny network (27,977 trainable parameters
  at 256x256) that looks at *mesoscopic* detail: coarser than JPEG noise, finer than the face's
  semantics, which is where face-swap blending and upsampling leave their traces.
* **A baseline CNN** (task 1.7) - the three conv/pool layers + dense head that every tutorial
  starts with (course seed 004). It is the yardstick: a detector that cannot beat it has learnt
  nothing clever.
* **Transfer learning** (task 1.8) - an ImageNet backbone (torchvision ResNet / EfficientNet) with a
  new one-logit head. Train the head first with the backbone frozen, then unfreeze the last few
  blocks and fine-tune them with a *smaller* learning rate than the head (course seeds 000/001 do
  this with InceptionV3): low-level filters are generic, the top blocks are task-specific.
* **Forensic augmentation** (task 1.9) - flips, small rotations, brightness/contrast, blur and JPEG
  re-compression. Social networks re-encode every upload, so a detector that only ever saw pristine
  pixels fails on the first re-compressed video (FaceForensics++ c23 -> c40 costs Xception 15
  points of accuracy). The augmentation is reproducible from a seed.

Shapes: images enter the networks as (B, 3, S, S) float32, normalised with the model's mean/std
(see ``common.models.input_spec``); every network returns (B,) logits.

Guide: IMPLEMENTATION_GUIDE.md, sections 1.7 Classic baselines, 1.8 Transfer learning, 1.9 Augmentation.
"""
from __future__ import annotations

from grader.todo import TodoError

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np
import torch
from torch import nn

from common.errors import CheckpointError

# =============================================================================================
# Task 1.7 - MesoNet-4 and a baseline CNN
# =============================================================================================


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
    # TODO 1.7: nn.Conv2d(in, out, kernel_size, padding=kernel_size // 2), nn.ReLU,
    #   nn.BatchNorm2d(out), nn.MaxPool2d(pool) in one nn.Sequential
    raise TodoError('1.7: nn.Conv2d(in, out, kernel_size, padding=kernel_size // 2), nn.ReLU, nn.BatchNorm2d(out), nn.MaxPool2d(pool) in one nn.Sequential (IMPLEMENTATION_GUIDE.md, 1.7 Classic baselines)')


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
        # TODO 1.7: self.features = four meso_block's (filters 8, 8, 16, 16; kernels 3, 5, 5, 5;
        #   pools 2, 2, 2, 4); self.classifier = Flatten, Dropout, Linear(16 * (input_size // 32)
        #   ** 2, 16), LeakyReLU(0.1), Dropout, Linear(16, 1)
        raise TodoError("1.7: self.features = four meso_block's (filters 8, 8, 16, 16; kernels 3, 5, 5, 5; pools 2, 2, 2, 4); self.classifier = Flatten, Dropout, Linear(16 * (input_size // 32) ** 2, 16), LeakyReLU(0.1), Dropout, Linear(16, 1) (IMPLEMENTATION_GUIDE.md, 1.7 Classic baselines)")

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) float32 -> (B,) logits."""
        return self.classifier(self.features(images)).squeeze(1)


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
        # TODO 1.7: one nn.Sequential of [Conv2d(c_in, c_out, 3, padding=1), ReLU, MaxPool2d(2)]
        #   per entry of channels (c_in starts at 3); then Flatten, Linear(channels[-1] *
        #   (input_size // 2**len(channels)) ** 2, hidden), ReLU, Dropout, Linear(hidden, 1)
        raise TodoError('1.7: one nn.Sequential of [Conv2d(c_in, c_out, 3, padding=1), ReLU, MaxPool2d(2)] per entry of channels (c_in starts at 3); then Flatten, Linear(channels[-1] * (input_size // 2**len(channels)) ** 2, hidden), ReLU, Dropout, Linear(hidden, 1) (IMPLEMENTATION_GUIDE.md, 1.7 Classic baselines)')

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) float32 -> (B,) logits."""
        return self.classifier(self.features(images)).squeeze(1)


def count_trainable_parameters(model: nn.Module) -> int:
    """Number of scalar parameters with ``requires_grad`` (what the MesoNet paper reports)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# =============================================================================================
# Task 1.8 - Transfer learning with partial unfreezing
# =============================================================================================

BACKBONES = ("resnet18", "resnet34", "resnet50", "efficientnet_b0")
"""torchvision backbones :class:`TransferDetector` can use."""


def backbone_stages(name: str, pretrained: bool = False) -> tuple[list[nn.Module], int]:
    """Build a torchvision backbone and cut it into stages, from the input to the output.

    Args:
        name: one of :data:`BACKBONES`.
        pretrained: load torchvision's ImageNet weights (downloaded once into the torch hub cache;
            without network they must already be there).

    Returns:
        ``(stages, feature_dim)``: the stages in order (ResNet: stem, layer1..layer4 = 5 stages;
        EfficientNet-B0: its 9 ``features`` blocks) and the number of channels of the last stage
        (ResNet-18/34: 512, ResNet-50: 2048, EfficientNet-B0: 1280). The classification layer is
        dropped.

    Raises:
        ValueError: unknown name. CheckpointError: ``pretrained=True`` and the weights cannot be
        loaded (no network and not cached).
    """
    import torchvision.models as tvm

    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    builder = getattr(tvm, name)
    try:
        model = builder(weights="DEFAULT" if pretrained else None)
    except (OSError, RuntimeError) as error:  # URLError is an OSError
        raise CheckpointError(f"could not load the ImageNet weights of {name} ({type(error).__name__}: "
                              f"{str(error).splitlines()[0][:120]}); use pretrained=False offline") from None
    if name.startswith("resnet"):
        stem = nn.Sequential(model.conv1, model.bn1, model.relu, model.maxpool)
        return [stem, model.layer1, model.layer2, model.layer3, model.layer4], model.fc.in_features
    return list(model.features), model.classifier[1].in_features


class TransferDetector(nn.Module):
    """An ImageNet backbone with a new one-logit head, trained in two steps.

    Step 1 - the backbone is frozen (``freeze_backbone``, done by the constructor): only the head
    learns, so the random head cannot wreck the pretrained filters with large early gradients.
    Step 2 - ``unfreeze_last(n)`` lets the last ``n`` stages learn too, and ``param_groups(lr)``
    gives them a smaller learning rate (``lr * backbone_lr_factor``) than the head.

    Frozen stages also keep their BatchNorm statistics: :meth:`train` leaves them in eval mode.

    Args:
        backbone: one of :data:`BACKBONES`.
        pretrained: start from ImageNet weights (see :func:`backbone_stages`).
        dropout: dropout before the head's linear layer.
        unfrozen_blocks: stages to unfreeze right away (0 = only the head trains).

    Attributes:
        stages: ``nn.ModuleList`` of the backbone stages (input to output).
        head: ``nn.Sequential(Flatten, Dropout, Linear(feature_dim, 1))``.

    Shapes: forward (B, 3, S, S) float32 (ImageNet-normalised) -> (B,) logits.

    Example::

        model = TransferDetector("resnet18", pretrained=True)   # head only
        model.unfreeze_last(2)                                  # + layer3, layer4
        optimizer = torch.optim.AdamW(model.param_groups(lr=1e-3))  # backbone at 1e-4
    """

    def __init__(self, backbone: str = "resnet18", pretrained: bool = False, dropout: float = 0.2,
                 unfrozen_blocks: int = 0) -> None:
        super().__init__()
        stages, feature_dim = backbone_stages(backbone, pretrained)
        self.backbone_name = backbone
        self.stages = nn.ModuleList(stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(feature_dim, 1))
        self.freeze_backbone()
        if unfrozen_blocks:
            self.unfreeze_last(unfrozen_blocks)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) float32 -> (B,) logits."""
        features = images
        for stage in self.stages:
            features = stage(features)
        return self.head(self.pool(features)).squeeze(1)

    def freeze_backbone(self) -> None:
        """Stop every backbone parameter from learning; the head stays trainable.

        After it, ``p.requires_grad`` is False for every parameter of ``self.stages`` (autograd
        then computes no gradient for them, and the optimiser never sees them) and True for the
        head's.
        """
        # TODO 1.8: set requires_grad = False on every parameter of self.stages and True on
        #   every parameter of self.head
        raise TodoError('1.8: set requires_grad = False on every parameter of self.stages and True on every parameter of self.head (IMPLEMENTATION_GUIDE.md, 1.8 Transfer learning)')

    def unfreeze_last(self, n_blocks: int) -> None:
        """Let the last ``n_blocks`` backbone stages learn again (the others stay frozen).

        Args:
            n_blocks: 0 .. ``len(self.stages)``; 0 freezes the whole backbone again, the maximum
                fine-tunes everything. Counting starts at the output: ``unfreeze_last(1)`` on a
                ResNet unfreezes ``layer4``.

        Raises:
            ValueError: ``n_blocks`` outside 0 .. ``len(self.stages)``.
        """
        if not 0 <= n_blocks <= len(self.stages):
            raise ValueError(f"n_blocks must be between 0 and {len(self.stages)} for {self.backbone_name}, got {n_blocks}")
        # TODO 1.8: freeze the whole backbone first, then set requires_grad = True on the
        #   parameters of the last n_blocks stages (careful: self.stages[-0:] is every stage)
        raise TodoError('1.8: freeze the whole backbone first, then set requires_grad = True on the parameters of the last n_blocks stages (careful: self.stages[-0:] is every stage) (IMPLEMENTATION_GUIDE.md, 1.8 Transfer learning)')

    def param_groups(self, lr: float, backbone_lr_factor: float = 0.1) -> list[dict]:
        """Optimiser parameter groups: the head at ``lr``, unfrozen backbone stages at a lower lr.

        Args:
            lr: learning rate of the head.
            backbone_lr_factor: the unfrozen backbone parameters learn at ``lr * backbone_lr_factor``.

        Returns:
            ``[{"params": [...head...], "lr": lr, "name": "head"},
            {"params": [...unfrozen backbone...], "lr": lr * backbone_lr_factor, "name": "backbone"}]``;
            the second group is left out when the whole backbone is frozen. Together the groups
            hold exactly the parameters with ``requires_grad`` (frozen ones are left out), each once.
            Pass the list to any ``torch.optim`` optimiser or to ``common.training.fit(param_groups=...)``.
        """
        # TODO 1.8: collect the head's parameters and the backbone parameters that require a
        #   gradient; return one dict per non-empty group with keys "params", "lr" and "name"
        raise TodoError('1.8: collect the head\'s parameters and the backbone parameters that require a gradient; return one dict per non-empty group with keys "params", "lr" and "name" (IMPLEMENTATION_GUIDE.md, 1.8 Transfer learning)')

    def train(self, mode: bool = True) -> "TransferDetector":
        """Like ``nn.Module.train``, but fully frozen stages stay in eval mode (fixed BN statistics)."""
        super().train(mode)
        for stage in self.stages:
            if not any(p.requires_grad for p in stage.parameters()):
                stage.eval()
        return self


# =============================================================================================
# Task 1.9 - Forensic data augmentation
# =============================================================================================


def as_uint8_face(image: np.ndarray | torch.Tensor) -> np.ndarray:
    """Accept a face as (H, W, 3) uint8 RGB, or as the (3, H, W) float tensor in [0, 1] that
    ``common.torch_data.FaceCropDataset`` serves; return (H, W, 3) uint8 RGB (contiguous)."""
    if isinstance(image, torch.Tensor):
        if image.ndim != 3 or image.shape[0] != 3:
            raise ValueError(f"expected a (3, H, W) tensor, got shape {tuple(image.shape)}")
        # NumPy, not torch: per-image torch ops pay for thread-pool start-up on a busy CPU.
        values = image.detach().cpu().float().numpy().transpose(1, 2, 0)
        return np.ascontiguousarray(np.clip(np.rint(values * 255.0), 0, 255).astype(np.uint8))
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB face, got {array.dtype} {array.shape}")
    return np.ascontiguousarray(array)


def horizontal_flip(face: np.ndarray) -> np.ndarray:
    """Mirror a face left-right. (H, W, 3) uint8 -> (H, W, 3) uint8 (a new array).

    Example: pixel (y, x) of the result is pixel (y, W - 1 - x) of the input.
    """
    # TODO 1.9: reverse the column axis (face[:, ::-1]) and return a contiguous copy
    raise TodoError('1.9: reverse the column axis (face[:, ::-1]) and return a contiguous copy (IMPLEMENTATION_GUIDE.md, 1.9 Augmentation)')


def rotate(face: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rotate a face about its centre, counter-clockwise by ``angle_deg`` degrees.

    (H, W, 3) uint8 -> (H, W, 3) uint8, same size; bilinear interpolation, the border filled by
    reflection (``cv2.BORDER_REFLECT_101``) so no black corners appear for the network to learn.
    The centre is ((W - 1) / 2, (H - 1) / 2) in pixel coordinates.
    """
    height, width = face.shape[:2]
    # TODO 1.9: cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), angle_deg, 1.0),
    #   then cv2.warpAffine with INTER_LINEAR and BORDER_REFLECT_101
    raise TodoError('1.9: cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), angle_deg, 1.0), then cv2.warpAffine with INTER_LINEAR and BORDER_REFLECT_101 (IMPLEMENTATION_GUIDE.md, 1.9 Augmentation)')


def adjust_brightness_contrast(face: np.ndarray, brightness: float, contrast: float) -> np.ndarray:
    """Scale the contrast about mid-grey 128, then shift the brightness.

    ``out = clip(round(contrast * (x - 128) + 128 + brightness), 0, 255)`` per pixel and channel.

    Args:
        face: (H, W, 3) uint8.
        brightness: shift in grey levels (e.g. -20 .. 20).
        contrast: factor (1 = unchanged, 0.8 = flatter, 1.2 = punchier).

    Returns:
        (H, W, 3) uint8.

    Example: x = 200, contrast 1.5, brightness -10: 1.5 * 72 + 128 - 10 = 226.
    """
    # TODO 1.9: compute in float32, np.rint, clip to [0, 255], cast back to uint8
    raise TodoError('1.9: compute in float32, np.rint, clip to [0, 255], cast back to uint8 (IMPLEMENTATION_GUIDE.md, 1.9 Augmentation)')


def gaussian_blur(face: np.ndarray, sigma: float) -> np.ndarray:
    """Blur with a Gaussian of standard deviation ``sigma`` pixels (kernel size chosen by OpenCV).

    (H, W, 3) uint8 -> (H, W, 3) uint8; ``cv2.GaussianBlur(face, (0, 0), sigma)`` with reflected
    borders. Mimics the softening of a resized or out-of-focus video.
    """
    # TODO 1.9: cv2.GaussianBlur with ksize (0, 0), sigmaX = sigmaY = sigma, borderType
    #   BORDER_REFLECT_101
    raise TodoError('1.9: cv2.GaussianBlur with ksize (0, 0), sigmaX = sigmaY = sigma, borderType BORDER_REFLECT_101 (IMPLEMENTATION_GUIDE.md, 1.9 Augmentation)')


def jpeg_recompress(face: np.ndarray, quality: int) -> np.ndarray:
    """Encode a face as JPEG at ``quality`` (1-100) and decode it again, as an upload would.

    (H, W, 3) uint8 RGB -> (H, W, 3) uint8 RGB. OpenCV's codec works in BGR order, so the face is
    converted to BGR before ``cv2.imencode(".jpg", ..., [cv2.IMWRITE_JPEG_QUALITY, quality])`` and
    back to RGB after ``cv2.imdecode`` (otherwise the red and blue channels would be compressed as
    if they were each other, with the wrong chroma weights).
    """
    # TODO 1.9: cv2.cvtColor RGB->BGR, cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY,
    #   int(quality)]), cv2.imdecode(buffer, cv2.IMREAD_COLOR), then BGR->RGB
    raise TodoError('1.9: cv2.cvtColor RGB->BGR, cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)]), cv2.imdecode(buffer, cv2.IMREAD_COLOR), then BGR->RGB (IMPLEMENTATION_GUIDE.md, 1.9 Augmentation)')


@dataclass(frozen=True)
class AugmentationConfig:
    """How often and how strongly each augmentation is applied (all ranges inclusive).

    Attributes:
        flip_p: probability of a horizontal flip.
        rotation_p, max_rotation_deg: probability of a rotation by a uniform angle in
            [-max_rotation_deg, max_rotation_deg].
        color_p, brightness, contrast: probability of a brightness/contrast change with a uniform
            shift in [-brightness, brightness] grey levels and factor in [1 - contrast, 1 + contrast].
        blur_p, blur_sigma: probability of a Gaussian blur with sigma uniform in ``blur_sigma``.
        jpeg_p, jpeg_quality: probability of JPEG re-compression with an integer quality uniform in
            ``jpeg_quality`` (both ends included).
    """

    flip_p: float = 0.5
    rotation_p: float = 0.3
    max_rotation_deg: float = 10.0
    color_p: float = 0.5
    brightness: float = 20.0
    contrast: float = 0.2
    blur_p: float = 0.2
    blur_sigma: tuple[float, float] = (0.3, 1.5)
    jpeg_p: float = 0.5
    jpeg_quality: tuple[int, int] = (60, 95)


def random_forensic_augmentation(face: np.ndarray, rng: np.random.Generator,
                                 config: AugmentationConfig = AugmentationConfig()) -> np.ndarray:
    """Apply a random chain of augmentations to one face, drawing every choice from ``rng``.

    Order: flip, rotation, brightness/contrast, blur, JPEG (last, as a platform re-encodes the
    finished video). For each step draw ``rng.random() < p`` first; only when it is applied draw
    its strength (``rng.uniform`` for angle, shift, factor and sigma; ``rng.integers(lo, hi + 1)``
    for the JPEG quality). Same rng state and face -> same output.

    Args:
        face: (H, W, 3) uint8 RGB.
        rng: a ``np.random.Generator`` (e.g. ``np.random.default_rng(seed)``).
        config: probabilities and ranges.

    Returns:
        (H, W, 3) uint8 RGB.
    """
    # TODO 1.9: for each step in order, draw rng.random() < p; if applied, draw its strength and
    #   call horizontal_flip / rotate / adjust_brightness_contrast / gaussian_blur /
    #   jpeg_recompress
    raise TodoError('1.9: for each step in order, draw rng.random() < p; if applied, draw its strength and call horizontal_flip / rotate / adjust_brightness_contrast / gaussian_blur / jpeg_recompress (IMPLEMENTATION_GUIDE.md, 1.9 Augmentation)')


def resize_face(face: np.ndarray, size: int) -> np.ndarray:
    """Resize (H, W, 3) uint8 to (size, size, 3): ``INTER_AREA`` to shrink, ``INTER_LINEAR`` to grow."""
    if face.shape[0] == size and face.shape[1] == size:
        return face
    shrinking = face.shape[0] > size or face.shape[1] > size
    return cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def to_normalised_tensor(face: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """(H, W, 3) uint8 RGB -> (3, H, W) float32 tensor ``(x / 255 - mean[c]) / std[c]`` per channel.

    Done in NumPy and wrapped at the end: this runs once per face in the data loader, where many
    tiny torch operations cost more than the arithmetic.

    Example: with ImageNet statistics mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225) a
    white pixel becomes (2.249, 2.429, 2.640).
    """
    # TODO 1.9: in NumPy float32: face / 255, subtract mean and divide by std (arrays of shape
    #   (3,) broadcast over the channel axis), transpose to (3, H, W), torch.from_numpy
    raise TodoError('1.9: in NumPy float32: face / 255, subtract mean and divide by std (arrays of shape (3,) broadcast over the channel axis), transpose to (3, H, W), torch.from_numpy (IMPLEMENTATION_GUIDE.md, 1.9 Augmentation)')


class TrainTransform:
    """Training transform: resize -> random forensic augmentation -> normalised tensor.

    Deterministic by seed: two transforms built with the same seed give the same outputs for the
    same sequence of faces. In a DataLoader worker the generator is re-seeded with
    ``(seed, worker_id)`` on first use, so workers do not repeat each other's draws.

    Args:
        size: output side S in pixels.
        mean, std: per-channel normalisation (see ``common.models.input_spec``).
        seed: seed of the augmentation's random generator.
        config: an :class:`AugmentationConfig`.

    Call: (H, W, 3) uint8 face (or a (3, H, W) float tensor in [0, 1]) -> (3, S, S) float32.
    """

    def __init__(self, size: int, mean: Sequence[float] = (0.5, 0.5, 0.5), std: Sequence[float] = (0.5, 0.5, 0.5),
                 seed: int = 0, config: AugmentationConfig = AugmentationConfig()) -> None:
        self.size, self.mean, self.std, self.seed, self.config = int(size), tuple(mean), tuple(std), int(seed), config
        self.rng = np.random.default_rng(self.seed)
        self._worker: int | None = None

    def _generator(self) -> np.random.Generator:
        info = torch.utils.data.get_worker_info()
        if info is not None and self._worker != info.id:
            self._worker = info.id
            self.rng = np.random.default_rng([self.seed, info.id])
        return self.rng

    def __call__(self, face: np.ndarray | torch.Tensor) -> torch.Tensor:
        resized = resize_face(as_uint8_face(face), self.size)
        augmented = random_forensic_augmentation(resized, self._generator(), self.config)
        return to_normalised_tensor(augmented, self.mean, self.std)


class EvalTransform:
    """Evaluation transform: resize -> normalised tensor (no randomness).

    Call: (H, W, 3) uint8 face (or a (3, H, W) float tensor in [0, 1]) -> (3, S, S) float32.
    """

    def __init__(self, size: int, mean: Sequence[float] = (0.5, 0.5, 0.5), std: Sequence[float] = (0.5, 0.5, 0.5)) -> None:
        self.size, self.mean, self.std = int(size), tuple(mean), tuple(std)

    def __call__(self, face: np.ndarray | torch.Tensor) -> torch.Tensor:
        return to_normalised_tensor(resize_face(as_uint8_face(face), self.size), self.mean, self.std)
