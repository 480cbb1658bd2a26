# Exercise file generated from the reference solution: fill in every TODO (see IMPLEMENTATION_GUIDE.md).
"""Frozen-backbone feature extraction: ImageNet CNNs as fixed per-frame feature extractors.

Idea. A network trained on ImageNet has learned general image features; cutting off its
classifier turns it into a function from an image to a vector ("off-the-shelf CNN features",
Razavian et al. 2014). Frozen (no gradients, eval mode), it is run once over every face crop and
the vectors are cached; cheap models are then trained on top: a linear probe per frame, or a
temporal model over the (T, D) sequence of a video (phase 2: CNN + LSTM, Guera & Delp 2018, used
an ImageNet InceptionV3 exactly like this).

Each backbone comes with the preprocessing its weights were trained with:

    backbone       input   normalisation                           feature (dim)
    resnet50       224     ImageNet mean/std                       global average pool (2048)
    inception_v3   299     [-1, 1]  (mean = std = 0.5)             global average pool (2048)
    vgg16          224     ImageNet mean/std                       fc7 after its ReLU (4096)
    xception       299     [-1, 1]  (mean = std = 0.5)             global average pool (2048)

ImageNet mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225). For VGG16 we take fc7, the classic
4096-d descriptor (the 512-d pooled conv5 map is the cheaper alternative). Inception-v3 and
Xception were trained by Google on images scaled to [-1, 1]; torchvision feeds Inception
ImageNet-normalised images and converts them back to [-1, 1] inside the model
(``transform_input=True``); we build it with ``transform_input=False`` and scale to [-1, 1]
ourselves, which is the same computation. Xception is timm's ``legacy_xception`` (the weights of
task 1.4's network).

Face crops (already square and tight) are resized straight to the input size, without the
"resize 256 then centre-crop 224" of ImageNet evaluation, which would cut off the face's border.

Papers: A. S. Razavian et al., "CNN Features off-the-shelf", CVPR workshops 2014. D. Guera,
E. Delp, "Deepfake Video Detection Using Recurrent Neural Networks", AVSS 2018.

Guide: IMPLEMENTATION_GUIDE.md, phase 1 (1.6 Feature extraction).
"""
from __future__ import annotations

from grader.todo import TodoError

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from common.device import autocast_for, resolve_device
from common.errors import CourseError
from common.torch_data import FeatureCache, read_feature_cache, write_feature_cache

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
SIGNED_UNIT_MEAN = (0.5, 0.5, 0.5)  # (x - 0.5) / 0.5 maps [0, 1] to [-1, 1]
SIGNED_UNIT_STD = (0.5, 0.5, 0.5)


@dataclass(frozen=True)
class BackboneSpec:
    """What a backbone expects and what it gives.

    name: registry name. input_size: side in pixels of the square input. mean, std: per-channel
    RGB normalisation of [0, 1] pixels. feature_dim: length D of the feature vector.
    """

    name: str
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    feature_dim: int


BACKBONES: dict[str, BackboneSpec] = {
    "resnet50": BackboneSpec("resnet50", 224, IMAGENET_MEAN, IMAGENET_STD, 2048),
    "inception_v3": BackboneSpec("inception_v3", 299, SIGNED_UNIT_MEAN, SIGNED_UNIT_STD, 2048),
    "vgg16": BackboneSpec("vgg16", 224, IMAGENET_MEAN, IMAGENET_STD, 4096),
    "xception": BackboneSpec("xception", 299, SIGNED_UNIT_MEAN, SIGNED_UNIT_STD, 2048),
}


def backbone_spec(name: str) -> BackboneSpec:
    """The :class:`BackboneSpec` of ``name``; a one-line :class:`CourseError` for an unknown name."""
    if name not in BACKBONES:
        raise CourseError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    return BACKBONES[name]


# ------------------------------------------------------------------------------------------------
# Provided: building the ImageNet networks (random or pretrained weights)
# ------------------------------------------------------------------------------------------------

def _download_error(name: str, error: Exception) -> CourseError:
    return CourseError(f"could not download the ImageNet weights of {name} ({type(error).__name__}); "
                       f"pretrained=False works offline")


def build_imagenet_model(name: str, pretrained: bool = False) -> nn.Module:
    """The full ImageNet classifier ``name`` (with its 1000-class head), random or pretrained.

    resnet50: ``ResNet50_Weights.IMAGENET1K_V2``; inception_v3: ``Inception_V3_Weights.IMAGENET1K_V1``
    (built with ``aux_logits=False, transform_input=False``); vgg16: ``VGG16_Weights.IMAGENET1K_V1``;
    xception: ``timm.create_model("legacy_xception", num_classes=0)`` (already headless: its
    forward gives the pooled 2048-d vector). Pretrained weights are downloaded once into the torch
    hub cache; a failed download raises a one-line :class:`CourseError`.
    """
    models = torchvision.models
    backbone_spec(name)
    try:
        if name == "resnet50":
            return models.resnet50(weights=models.ResNet50_Weights.IMAGENET1K_V2 if pretrained else None)
        if name == "inception_v3":
            weights = models.Inception_V3_Weights.IMAGENET1K_V1 if pretrained else None
            return models.inception_v3(weights=weights, aux_logits=False, transform_input=False,
                                       init_weights=not pretrained)
        if name == "vgg16":
            return models.vgg16(weights=models.VGG16_Weights.IMAGENET1K_V1 if pretrained else None)
        import timm

        return timm.create_model("legacy_xception", pretrained=pretrained, num_classes=0)
    except Exception as error:  # only a download can fail here: many exception types
        if pretrained:
            raise _download_error(name, error) from error
        raise


# ------------------------------------------------------------------------------------------------
# Task 1.6: headless, frozen, preprocessed, batched
# ------------------------------------------------------------------------------------------------

def strip_classifier(model: nn.Module, name: str) -> nn.Module:
    """Cut the ImageNet classifier off, in place, so that ``model(x)`` returns the feature vector.

    resnet50, inception_v3: the last layer ``fc`` becomes ``nn.Identity()`` (the output is the
    global average pool, 2048). vgg16: ``classifier`` keeps its first five layers, fc6 -> ReLU ->
    Dropout -> fc7 -> ReLU (4096). xception: timm built it with ``num_classes=0``, nothing to cut.

    Returns:
        ``model``, whose forward maps (B, 3, S, S) to (B, D).
    """
    # TODO 1.6: resnet50 / inception_v3: replace the fc layer with nn.Identity; vgg16: keep its
    #   classifier only up to fc7's ReLU (the first five modules); xception: nothing to do
    raise TodoError("1.6: resnet50 / inception_v3: replace the fc layer with nn.Identity; vgg16: keep its classifier only up to fc7's ReLU (the first five modules); xception: nothing to do (IMPLEMENTATION_GUIDE.md, 1.6 Feature extraction)")


def freeze(model: nn.Module) -> nn.Module:
    """Make a network a fixed function, in place: no parameter requires a gradient and it is in eval
    mode (BatchNorm uses its running statistics, dropout is off). Returns ``model``."""
    # TODO 1.6: call requires_grad_(False) on every parameter and switch the model to eval mode
    raise TodoError('1.6: call requires_grad_(False) on every parameter and switch the model to eval mode (IMPLEMENTATION_GUIDE.md, 1.6 Feature extraction)')


def preprocess_images(images: Sequence[np.ndarray] | np.ndarray, spec: BackboneSpec,
                      image_size: int | None = None) -> torch.Tensor:
    """Face crops -> the normalised input batch of a backbone.

    Args:
        images: N images (H, W, 3) uint8 RGB (sizes may differ), or one (N, H, W, 3) uint8 array.
        spec: the backbone's :class:`BackboneSpec`.
        image_size: side S of the network input; default ``spec.input_size``.

    Returns:
        (N, 3, S, S) float32: pixels / 255, resized to S x S (bilinear, antialiased when shrinking:
        ``F.interpolate(..., mode="bilinear", align_corners=False, antialias=True)``, the same
        resampling as torchvision's ``Resize`` on tensors), then ``(x - mean) / std`` per channel.

    Example:
        For inception_v3 (mean = std = 0.5) a black pixel becomes -1.0 and a white one +1.0; for
        resnet50 a pixel of value 128 in the red channel becomes (128/255 - 0.485) / 0.229 = 0.074.
    """
    size = image_size or spec.input_size
    mean = torch.tensor(spec.mean, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(spec.std, dtype=torch.float32).view(1, 3, 1, 1)
    batch = []
    for number, image in enumerate(images):
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"image {number} must be an (H, W, 3) uint8 RGB array, got {image.shape} {image.dtype}")
        # TODO 1.6: turn the image into a (1, 3, H, W) float32 tensor in [0, 1]
        #   (torch.from_numpy, channels first); only if it is not size x size, resize it with
        #   F.interpolate (bilinear, antialiased, corners not aligned); normalise it with mean and
        #   std and append it to batch
        raise TodoError('1.6: turn the image into a (1, 3, H, W) float32 tensor in [0, 1] (torch.from_numpy, channels first); only if it is not size x size, resize it with F.interpolate (bilinear, antialiased, corners not aligned); normalise it with mean and std and append it to batch (IMPLEMENTATION_GUIDE.md, 1.6 Feature extraction)')
    if not batch:
        return torch.zeros((0, 3, size, size), dtype=torch.float32)
    return torch.cat(batch)


class FrozenFeatureExtractor:
    """A frozen ImageNet backbone that turns face crops into feature vectors.

    Args:
        backbone: ``"resnet50"``, ``"inception_v3"``, ``"vgg16"`` or ``"xception"``.
        pretrained: ImageNet weights (downloaded once); ``False`` gives random weights (tests, offline).
        device: ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda"``, ...
        image_size: network input side; default the backbone's own (224 or 299).
        mixed_precision: fp16 autocast on CUDA (ignored elsewhere); features are returned as float32.

    Attributes:
        spec (:class:`BackboneSpec`), model (the headless frozen network), device, image_size,
        feature_dim.

    Example::

        extractor = FrozenFeatureExtractor("resnet50", pretrained=True)
        features = extractor.extract(crops, batch_size=64)      # (N, 2048) float32
    """

    def __init__(self, backbone: str = "resnet50", pretrained: bool = False, device: str | torch.device = "auto",
                 image_size: int | None = None, mixed_precision: bool = True) -> None:
        self.spec = backbone_spec(backbone)
        self.device = resolve_device(device)
        self.image_size = int(image_size or self.spec.input_size)
        self.mixed_precision = mixed_precision
        model = build_imagenet_model(backbone, pretrained)
        self.model = freeze(strip_classifier(model, backbone)).to(self.device)

    @property
    def feature_dim(self) -> int:
        return self.spec.feature_dim

    @property
    def name(self) -> str:
        return self.spec.name

    def extract(self, images: Sequence[np.ndarray] | np.ndarray, batch_size: int = 32) -> np.ndarray:
        """Feature vectors of N images.

        Args:
            images: N (H, W, 3) uint8 RGB images (see :func:`preprocess_images`).
            batch_size: images per forward pass (memory, not results: the features do not depend on it).

        Returns:
            (N, D) float32 numpy array, row i the features of image i; (0, D) for no images.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        images = list(images)
        chunks: list[np.ndarray] = [np.zeros((0, self.feature_dim), dtype=np.float32)]
        # TODO 1.6: under torch.inference_mode(), go through the images batch_size at a time:
        #   preprocess them with preprocess_images, move them to self.device, run self.model
        #   inside autocast_for (honouring self.mixed_precision), and append the features to
        #   chunks as float32 NumPy arrays
        raise TodoError('1.6: under torch.inference_mode(), go through the images batch_size at a time: preprocess them with preprocess_images, move them to self.device, run self.model inside autocast_for (honouring self.mixed_precision), and append the features to chunks as float32 NumPy arrays (IMPLEMENTATION_GUIDE.md, 1.6 Feature extraction)')
        return np.concatenate(chunks).astype(np.float32, copy=False)


def extract_video_features(frames: Sequence[np.ndarray] | np.ndarray, extractor: FrozenFeatureExtractor,
                           batch_size: int = 32) -> np.ndarray:
    """Per-frame features of one video's face crops.

    Args:
        frames: T face crops (H, W, 3) uint8 RGB, in time order.
        extractor: a :class:`FrozenFeatureExtractor`.
        batch_size: crops per forward pass.

    Returns:
        (T, D) float32, row t the features of frame t (the input of the temporal models of phase 2).
    """
    return extractor.extract(frames, batch_size=batch_size)


def cached_video_features(cache_path: str | Path, frames: Sequence[np.ndarray] | np.ndarray,
                          frame_indices: Sequence[int], label: int, extractor: FrozenFeatureExtractor,
                          batch_size: int = 32, **meta: Any) -> FeatureCache:
    """Features of one video, computed once and then read from its cache file.

    If ``cache_path`` exists and was written by the same backbone at the same input size, it is
    read; otherwise the features are extracted with :func:`extract_video_features` and written
    with :func:`common.torch_data.write_feature_cache` (atomically, with ``extractor`` and
    ``image_size`` in its metadata, plus ``**meta``).

    Args:
        cache_path: the video's ``.npz`` file. frames: T crops (H, W, 3) uint8 RGB.
        frame_indices: (T,) the frame index of each crop. label: 1 FAKE, 0 REAL.
        extractor, batch_size: see :func:`extract_video_features`.

    Returns:
        The :class:`common.torch_data.FeatureCache` (features (T, D) float32, frame_indices, label, meta).
    """
    cache_path = Path(cache_path)
    if cache_path.is_file():
        cached = read_feature_cache(cache_path)
        if (cached.meta.get("extractor") == extractor.name and cached.meta.get("image_size") == extractor.image_size
                and cached.features.shape[1:] == (extractor.feature_dim,)):
            return cached
    features = extract_video_features(frames, extractor, batch_size)
    write_feature_cache(cache_path, features, np.asarray(frame_indices), label, extractor=extractor.name,
                        image_size=extractor.image_size, **meta)
    return read_feature_cache(cache_path)
