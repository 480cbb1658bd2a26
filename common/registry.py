"""The model registry: one row per detector, declared by its phase beside its tasks.

Each phase's ``__init__.py`` lists its detectors in ``MODELS`` next to ``TASKS``, one literal row
per model, in the spirit of timm's ``default_cfg``: everything needed to build the network and to
feed it lives in one place::

    MODELS = [
        Model("xceptionnet", kind="frame", file="template_xceptionnet.py", builder="build_xception",
              input_size=299, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5),
              config={"pretrained": False, "num_classes": 1}, description="Xception (FF++ baseline)"),
    ]

The rows are read *without importing* the phase package (like ``TASKS``, see
:mod:`grader.tasks`) and always from the reference solutions' copy, the canonical one that a
student does not edit; the network itself is built from the *active* exercise tree
(:mod:`common.models`). This module imports neither torch nor any exercise, so listing the models
is instant.

Kinds (what a detector looks at; :mod:`common.detectors` has one class per kind):

    frame     one face crop per sampled frame (XceptionNet, EfficientNet, MesoNet, capsules...)
    clip      a contiguous run of a tracked face's crops (frame differences, LSTM, 3-D CNN...)
    signal    a window of several seconds at the video's own rate, with landmarks (blinks, pulse)
    spectral  the face crop without resizing (resizing destroys the spectrum)
    fusion    the other detectors' scores
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("frame", "clip", "signal", "spectral", "fusion")
CLIP_LAYOUTS = ("features", "sequence", "volume")


@dataclass(frozen=True)
class Model:
    """One registered detector.

    Attributes:
        name: registry name (``--model`` of ``train.py``), e.g. ``"xceptionnet"``.
        kind: one of :data:`KINDS`.
        file: the exercise file of its phase that defines ``builder``.
        builder: class or function of ``file`` that returns the ``nn.Module``.
        input_size: side S of the square face crop in pixels.
        mean, std: per-channel normalisation of [0, 1] RGB crops.
        config: keyword arguments of ``builder`` (defaults; a checkpoint stores the ones it used).
        sized: whether ``builder`` takes ``input_size`` (a dense layer after the convolutions fixes it).
        description: one line for ``--help`` and the README.
        frames: frame detectors: evenly spaced frames per video (32, as DeepfakeBench);
            clip detectors: frames per clip (a contiguous run read at ``clip_fps``).
        clip_fps: clip detectors: the rate their clips are read at, frames per second, whatever the
            video's (25: mini-forensics' rate, and most of FaceForensics++'s). A 50-fps video's clip
            takes every other frame, so one step spans 40 ms as in training (60 fps: 33 ms; every
            frame at 30 fps or less: :meth:`common.face_track.FramePlan.stride`).
        scale: crop margin, square side over face box side (1.3, as FaceForensics++).
        features: clip detectors: the function of ``file`` that turns a (T, S, S, 3) uint8 crop
            sequence into the network's input; ``None`` feeds the normalised crops.
        clip_layout: clip detectors without ``features``: how the normalised crops reach the
            network, ``"sequence"`` (``model(frames (B, T, 3, S, S), lengths (B,))``, clips padded
            with zeros after their real frames) or ``"volume"`` (``model(clips (B, 3, T, S, S))``,
            a short clip mirror-padded to ``frames``, as FTCN pads).
        trains: ``"all"`` the whole network, or ``"head"``: the network has a frozen ``encoder``
            (with an ``encode`` method) and a ``head``; training encodes every input once and fits
            only the head on the stored features (task 1.6's feature caching).
        phase: the phase package, filled in by :func:`all_models`.
    """

    name: str
    kind: str
    file: str
    builder: str
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    config: dict = field(default_factory=dict)
    sized: bool = False
    description: str = ""
    frames: int = 32
    clip_fps: float = 25.0
    scale: float = 1.3
    features: str | None = None
    clip_layout: str = "features"
    trains: str = "all"
    phase: str = ""

    @property
    def module(self) -> str:
        """The exercise module to import, e.g. ``"phase1_cnn_detection.template_xceptionnet"``."""
        return f"{self.phase}.{Path(self.file).stem}"


def _models_of_phase(init_file: Path, phase: str) -> list[Model]:
    """Read ``MODELS`` from a phase ``__init__.py`` without importing it (a literal list of ``Model`` calls)."""
    from grader.tasks import literal_calls

    rows = [Model(*args, **kwargs, phase=phase) for args, kwargs in literal_calls(init_file, "MODELS")]
    for row in rows:
        if row.kind not in KINDS:
            raise ValueError(f"{init_file}: model '{row.name}' has unknown kind '{row.kind}' ({', '.join(KINDS)})")
        if row.kind == "clip" and (row.clip_layout == "features") != bool(row.features):
            raise ValueError(f"{init_file}: clip model '{row.name}' needs either a features function or a "
                             f"clip_layout of 'sequence' or 'volume'")
        if row.clip_layout not in CLIP_LAYOUTS or row.trains not in ("all", "head"):
            raise ValueError(f"{init_file}: model '{row.name}': clip_layout must be one of {', '.join(CLIP_LAYOUTS)} "
                             f"and trains 'all' or 'head'")
    return rows


def all_models() -> dict[str, Model]:
    """Every registered detector of every phase, in phase order, keyed by name.

    Read from the reference solutions' phase ``__init__.py`` files (the canonical registry).
    """
    from grader import tree

    found: dict[str, Model] = {}
    for phase in tree.PHASES:
        init = tree.SOLUTIONS_ROOT / phase / "__init__.py"
        if not init.exists():
            continue
        for row in _models_of_phase(init, phase):
            if row.name in found:
                raise ValueError(f"model '{row.name}' is registered twice ({init})")
            found[row.name] = row
    return found


def models_of_phase(phase: str) -> dict[str, Model]:
    """The detectors one phase registers (for its ``train.py --model`` choices)."""
    return {name: row for name, row in all_models().items() if row.phase == phase}
