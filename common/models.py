"""The model registry: one name per detector, how to build it, and what its input looks like.

Every tool (``train.py``, ``evaluate.py``, ``detect_video.py``) builds networks through
:func:`build_model` and reads trained ones back through :func:`load_detector`, in the spirit of
timm's ``create_model(name, ...)``: one way to build a model, a registry of names, and the input
configuration (size and normalisation) stored beside the architecture.

The networks themselves are exercises, so a name resolves to a module of the *active exercise
tree* (see :mod:`grader.tree`): ``"xceptionnet"`` builds ``phase1_cnn_detection.template_xceptionnet``
from your templates, or from the reference solutions under ``--solutions``.

Phase 1 names::

    xceptionnet   Xception (Chollet 2017) as in FaceForensics++    299 px, mean/std 0.5
    efficientnet  EfficientNet-B4 (Tan & Le 2019), DFDC winner      380 px, ImageNet statistics
    mesonet       MesoNet-4 (Afchar et al. 2018)                    256 px, pixels / 255
    baseline      the tutorial CNN (3 conv/pool layers + dense)     128 px, mean/std 0.5
    transfer      torchvision backbone + new head, partial unfreeze 224 px, ImageNet statistics

Later phases add their detectors with :func:`register_model`.
"""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from common.checkpoint import Checkpoint, load_checkpoint, load_state_into
from common.device import resolve_device
from common.errors import CheckpointError, CourseError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
HALF = (0.5, 0.5, 0.5)


@dataclass(frozen=True)
class ModelSpec:
    """How to build one registered detector and feed it.

    Attributes:
        name: registry name (``--model`` of the tools).
        module: exercise module, e.g. ``"phase1_cnn_detection.template_classifier"``.
        builder: name of the class or function in ``module`` that returns the ``nn.Module``.
        input_size: default side S of the square face crop, in pixels.
        mean, std: per-channel normalisation of [0, 1] RGB inputs.
        default_config: keyword arguments of ``builder`` unless overridden.
        sized: whether ``builder`` takes ``input_size`` (networks with a dense layer after the
            convolutions are built for one input size).
        description: one line for ``--help`` and the README.
    """

    name: str
    module: str
    builder: str
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    default_config: dict = field(default_factory=dict)
    sized: bool = False
    description: str = ""


_REGISTRY: dict[str, ModelSpec] = {}
MODEL_NAMES: tuple[str, ...] = ()
"""Names of every registered detector, in registration order."""


def register_model(spec: ModelSpec) -> ModelSpec:
    """Add a detector to the registry (later phases call this). Re-registering a name replaces it."""
    global MODEL_NAMES
    _REGISTRY[spec.name] = spec
    MODEL_NAMES = tuple(_REGISTRY)
    return spec


register_model(ModelSpec(
    "xceptionnet", "phase1_cnn_detection.template_xceptionnet", "build_xception", 299, HALF, HALF,
    {"pretrained": False, "num_classes": 1}, description="Xception, the FaceForensics++ baseline"))
register_model(ModelSpec(
    "efficientnet", "phase1_cnn_detection.template_efficientnet", "build_efficientnet", 380, IMAGENET_MEAN,
    IMAGENET_STD, {"pretrained": False, "num_classes": 1}, description="EfficientNet-B4, the DFDC winner's backbone"))
register_model(ModelSpec(
    "mesonet", "phase1_cnn_detection.template_classifier", "MesoNet4", 256, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0),
    {"input_size": 256}, sized=True, description="MesoNet-4, 27,977 parameters (Afchar et al. 2018)"))
register_model(ModelSpec(
    "baseline", "phase1_cnn_detection.template_classifier", "BaselineCNN", 128, HALF, HALF,
    {"input_size": 128}, sized=True, description="3 conv/pool layers + dense head (the tutorial baseline)"))
register_model(ModelSpec(
    "transfer", "phase1_cnn_detection.template_classifier", "TransferDetector", 224, IMAGENET_MEAN, IMAGENET_STD,
    {"backbone": "resnet18", "pretrained": False, "unfrozen_blocks": 2},
    description="torchvision backbone + new head, last blocks unfrozen"))


def get_spec(architecture: str) -> ModelSpec:
    """The :class:`ModelSpec` of a registered name; a one-line :class:`CourseError` otherwise."""
    if architecture not in _REGISTRY:
        raise CourseError(f"unknown model '{architecture}': choose one of {', '.join(MODEL_NAMES)}")
    return _REGISTRY[architecture]


def model_config(architecture: str, input_size: int | None = None, **overrides: Any) -> dict:
    """The full keyword arguments that :func:`build_model` will use: defaults, then ``overrides``.

    ``input_size`` is passed to networks that take it (``sized``) and ignored by the others, whose
    size is only a preprocessing choice.
    """
    spec = get_spec(architecture)
    config = {**spec.default_config, **overrides}
    if spec.sized and input_size is not None:
        config["input_size"] = int(input_size)
    return config


def build_model(architecture: str, **config: Any) -> nn.Module:
    """Build a registered detector from the active exercise tree.

    Args:
        architecture: one of :data:`MODEL_NAMES`.
        **config: keyword arguments of the network's builder; missing ones take the registry's
            defaults (e.g. ``build_model("mesonet", input_size=128)``).

    Returns:
        The ``nn.Module`` (on the CPU, in training mode). It maps (B, 3, S, S) float32 to (B,) or
        (B, 1) logits.

    Raises:
        CourseError: unknown name, or a builder that does not accept a keyword.
    """
    spec = get_spec(architecture)
    module = importlib.import_module(spec.module)
    builder = getattr(module, spec.builder, None)
    if builder is None:
        raise CourseError(f"model '{architecture}': {spec.module} has no {spec.builder}")
    arguments = {**spec.default_config, **config}
    try:
        return builder(**arguments)
    except TypeError as error:
        if "unexpected keyword" in str(error) or "got an unexpected" in str(error):
            raise CourseError(f"model '{architecture}' does not accept these settings {sorted(arguments)}: {error}") from None
        raise


def input_spec(architecture: str, config: dict | None = None) -> tuple[int, tuple[float, ...], tuple[float, ...]]:
    """``(size, mean, std)``: the square input side in pixels and the [0, 1] RGB normalisation.

    Args:
        architecture: a registered name.
        config: the model's config; a sized network's ``input_size`` there wins over the default.

    Example:
        >>> input_spec("mesonet", {"input_size": 128})
        (128, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    """
    spec = get_spec(architecture)
    size = spec.input_size
    if spec.sized and config and "input_size" in config:
        size = int(config["input_size"])
    return size, tuple(spec.mean), tuple(spec.std)


def load_detector(checkpoint_path: str | os.PathLike, device: str | torch.device = "auto",
                  expected_architecture: str | None = None) -> tuple[nn.Module, Checkpoint]:
    """Rebuild a trained detector from a checkpoint written by ``common.checkpoint.save_checkpoint``.

    The architecture and its config are read from the checkpoint's metadata; the file is opened
    with ``torch.load(weights_only=True)`` (no code runs). Pretrained-weight downloads are switched
    off while rebuilding (``pretrained=False``): the checkpoint holds the trained weights.

    Args:
        checkpoint_path: the ``.pt`` file.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``... (see :func:`common.device.resolve_device`).
        expected_architecture: when given, a checkpoint of another model is refused.

    Returns:
        ``(model, checkpoint)``: the network on ``device`` in eval mode, and the
        :class:`~common.checkpoint.Checkpoint` (metrics, threshold, training config, extra).

    Raises:
        CheckpointError: missing/corrupt/foreign file, another architecture than expected, an
            architecture this registry does not know, or weights that do not fit.
        DeviceError: the device is not available.
    """
    chosen = resolve_device(device)
    checkpoint = load_checkpoint(checkpoint_path, expected_architecture=expected_architecture, map_location="cpu")
    if checkpoint.architecture not in _REGISTRY:
        raise CheckpointError(f"checkpoint {checkpoint.path} is for architecture '{checkpoint.architecture}', "
                              f"which is not a registered model ({', '.join(MODEL_NAMES)})")
    config = dict(checkpoint.model_config)
    if "pretrained" in config:
        config["pretrained"] = False
    model = build_model(checkpoint.architecture, **config)
    load_state_into(model, checkpoint)
    return model.to(chosen).eval(), checkpoint
