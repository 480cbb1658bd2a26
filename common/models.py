"""Build registered detectors and read trained ones back: one way to make a model, as timm's ``create_model``.

Every tool (``train.py``, ``evaluate.py``, ``detect_video.py``) builds networks through
:func:`build_model` and reads trained ones back through :func:`load_detector`. The rows come from
the phases' ``MODELS`` lists (:mod:`common.registry`): each says the model's kind, its exercise file
and builder, its input size and normalisation, and its default builder arguments.

The networks themselves are exercises, so a name resolves to a module of the *active exercise
tree* (see :mod:`grader.tree`): ``"xceptionnet"`` builds ``phase1_cnn_detection.template_xceptionnet``
from your templates, or from the reference solutions under ``--solutions``. A checkpoint records
the registry name and the builder arguments it was trained with, so loading it rebuilds the model.
"""
from __future__ import annotations

import importlib
import os
from typing import Any

import torch
from torch import nn

from common.checkpoint import Checkpoint, load_checkpoint, load_state_into
from common.device import resolve_device
from common.errors import CheckpointError, CourseError
from common.registry import Model, all_models

_REGISTRY: dict[str, Model] = all_models()
MODEL_NAMES: tuple[str, ...] = tuple(_REGISTRY)
"""Names of every registered detector, in phase order."""


def get_spec(architecture: str) -> Model:
    """The registry row (:class:`common.registry.Model`) of a registered name; a one-line :class:`CourseError` otherwise."""
    if architecture not in _REGISTRY:
        raise CourseError(f"unknown model '{architecture}': choose one of {', '.join(MODEL_NAMES)}")
    return _REGISTRY[architecture]


def model_config(architecture: str, input_size: int | None = None, **overrides: Any) -> dict:
    """The full keyword arguments that :func:`build_model` will use: defaults, then ``overrides``.

    ``input_size`` is passed to networks that take it (``sized``) and ignored by the others, whose
    size is only a preprocessing choice.
    """
    spec = get_spec(architecture)
    config = {**spec.config, **overrides}
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
    arguments = {**spec.config, **config}
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


def model_features(spec: Model):
    """The registry row's ``features`` function (from its exercise file in the active tree): it turns
    a clip's crops (clip detectors) or one un-resized crop (spectral detectors) into the network's
    input. ``None`` when the row has none."""
    if not spec.features:
        return None
    module = importlib.import_module(spec.module)
    function = getattr(module, spec.features, None)
    if function is None:
        raise CourseError(f"model '{spec.name}': {spec.module} has no {spec.features}")
    return function
