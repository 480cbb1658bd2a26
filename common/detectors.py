"""One detector interface for every phase, in the shape of pytorch-grad-cam's ``BaseCAM``.

:class:`Detector` owns the machinery: loading a checkpoint safely (the registry rebuilds the
network), the preprocessing it was trained with, batched inference with autocast on CUDA, and
the report entry. A subclass adds only what differs between kinds of detectors:

* :meth:`Detector.frame_plan` - which frames it needs (:class:`common.face_track.FramePlan`);
* :meth:`Detector.crop_spec` - which face crops (:class:`common.face_track.CropSpec`);
* :meth:`Detector.score` - how it turns a :class:`common.face_track.FaceTrack` into a
  :class:`DetectorResult` (per-frame or per-window scores and a video score).

Kinds implemented here: ``frame`` (:class:`FrameDetector`: every face of N evenly spaced frames,
one crop each), ``clip`` (:class:`ClipDetector`: a contiguous run of the main face's crops turned
into one input) and ``spectral`` (:class:`SpectralDetector`: a frame detector on the crop at its own
size, through a spectral feature function). The ``signal`` and ``fusion`` kinds of phases 4-5
subclass :class:`Detector` the same way and register their class in :data:`DETECTOR_CLASSES`.

Every detector of one ``detect_video.py`` run reads the same face track, so a video is decoded
once and its faces are found once whatever the number of detectors
(:func:`common.tools.detect.analyse_video`).
"""
from __future__ import annotations

import hashlib
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from common.calibration import Calibration, checkpoint_calibration
from common.checkpoint import recorded_detect_every
from common.errors import CheckpointError, CourseError
from common.face_track import CropSpec, FaceTrack, FramePlan
from common.metrics import AGGREGATIONS, aggregate_scores
from common.preprocessing import Preprocessing, checkpoint_preprocessing
from common.registry import Model
from common.report import FACE_POLICIES, SIGNAL_SCALARS, SIGNAL_SERIES
from common.video import is_variable_rate

CPU_BATCH_ELEMENTS = 3 * 2 ** 17
"""On the CPU a forward pass gets at most this many input values (about one 299-px face, 32 faces of
64 px): measured on this course's 2-core machine, big batches of big crops are slower per face."""


def sha256_of(path: str | Path, block_size: int = 1 << 20) -> str:
    """SHA-256 of a file as 64 lowercase hex digits (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(block_size), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class DetectorResult:
    """What one detector concluded about one video.

    Attributes:
        status: ``"ok"``, ``"no_face"`` (no face in any of its frames) or ``"could_not_run"``
            (e.g. a clip too short; ``reason`` says why). Only ``"ok"`` has a ``video_score``.
        video_score: probability of FAKE in [0, 1], or ``None``.
        frame_scores: frame detectors: one entry per planned frame, ``{"index", "fake_probability"
            (None without a face), "scored_face", "face_scores" (one per face of the frame)}``.
        window_scores: clip detectors: one entry per clip, ``{"start", "stop", "frames_with_face",
            "fake_probability" (None when it could not be scored), "reason"}``.
        track_scores: frame detectors with the ``track`` face policy: one entry per face track,
            ``{"track_id", "frames", "fake_probability", "scored"}`` (minor tracks are not scored).
        verdict_track: the track whose score is the video's (``track`` policy), else ``None``.
        reason: why there is no score.
        raw_video_score: the score before calibration (``video_score`` is then the calibrated
            probability), or ``None`` when the detector has no calibration for its aggregation.
        signals: signal detectors: their window's time series (EAR, pulse) for the report's plots
            (:func:`report_signals`), else ``None``.
    """

    status: str
    video_score: float | None
    frame_scores: list[dict] | None = None
    window_scores: list[dict] | None = None
    track_scores: list[dict] | None = None
    verdict_track: int | None = None
    reason: str | None = None
    raw_video_score: float | None = None
    signals: dict | None = None


@dataclass
class Detector:
    """A trained detector: network, registry row, checkpoint and preprocessing (build with :meth:`load`).

    Attributes:
        name: the name used in reports (the checkpoint's file stem unless given).
        row: the registry row (:class:`common.registry.Model`).
        model: the network, eval mode, on ``device``.
        checkpoint, checkpoint_path, sha256: the checkpoint and its file's hash.
        prep: the :class:`common.preprocessing.Preprocessing` it was trained with.
        frames: frames per video (frame detectors; ``--frames``).
        aggregation: frame or window scores -> video score (:data:`common.metrics.AGGREGATIONS`).
        face_policy: several faces: score each persistent face track and keep the most suspicious
            (``track``, the default), or per frame the most suspicious face (``max``) or the ``largest``.
        clips: clip detectors: contiguous clips scored per video, evenly spread over it (``--clips``;
            one, the middle of the video, by default); their window scores are the video's scores
            over time, aggregated into its score.
        threshold: decision threshold on the video probability: 0.5 for a calibrated checkpoint (its
            Platt scaling was fitted on validation videos), else the checkpoint's stored threshold;
            ``--threshold`` overrides either.
        calibration: the checkpoint's :class:`common.calibration.Calibration`, or ``None``.
        batch_size: inputs per forward pass.
    """

    kind = "base"
    #: whether one still image is enough (frame detectors); clips and signals need video frames
    runs_on_images = False

    name: str
    row: Model
    model: torch.nn.Module
    checkpoint: Any
    checkpoint_path: Path
    sha256: str
    device: torch.device
    prep: Preprocessing
    frames: int = 32
    aggregation: str = "mean"
    face_policy: str = "track"
    threshold: float = 0.5
    threshold_overridden: bool = False
    batch_size: int = 64
    clips: int = 1
    calibration: Calibration | None = None
    extra: dict = field(default_factory=dict)

    # ---------------------------------------------------------------- what a subclass adds

    def frame_plan(self) -> FramePlan:
        """Which frames this detector needs."""
        raise NotImplementedError

    def crop_spec(self) -> CropSpec:
        """Which face crop it reads (default: a square of ``prep.scale`` resized to ``prep.size``)."""
        return CropSpec(self.prep.size, self.prep.scale)

    def score(self, track: FaceTrack) -> DetectorResult:
        """Score one video from its face track."""
        raise NotImplementedError

    # ---------------------------------------------------------------- the machinery

    def run(self, track: FaceTrack) -> DetectorResult:
        """:meth:`score` the track, or say why this detector cannot run on it (a still image)."""
        if track.settings.get("input_kind") == "image" and not self.runs_on_images:
            return DetectorResult("could_not_run", None,
                                  reason=f"a {self.kind} detector needs consecutive video frames; the input is one image")
        result = self.score(track)
        if self.calibrates and result.video_score is not None:
            result.raw_video_score = result.video_score
            result.video_score = self.calibration.apply(result.video_score)
        return result

    @property
    def calibrates(self) -> bool:
        """Whether the video score is calibrated: a stored calibration made for this aggregation."""
        return self.calibration is not None and self.calibration.aggregation == self.aggregation

    @classmethod
    def load(cls, checkpoint_path: str | Path, device: str | torch.device = "auto", *, name: str | None = None,
             **settings: Any) -> "Detector":
        """Load a checkpoint (weights only; the architecture comes from its metadata and the registry)
        and return the detector of its kind (:data:`DETECTOR_CLASSES`).

        ``settings``: ``frames``, ``aggregation``, ``face_policy``, ``threshold`` (None: the
        checkpoint's), ``batch_size``, ``clips``.

        Raises:
            CheckpointError: missing, foreign, unsafe or mismatched checkpoint (one line).
            DeviceError: the device is not available (one line).
        """
        from common.device import resolve_device
        from common.models import get_spec, load_detector

        path = Path(checkpoint_path)
        if not path.is_file():
            raise CheckpointError(f"checkpoint '{path}': no such file" if not path.exists()
                                  else f"checkpoint '{path}': is a folder, not a checkpoint file")
        chosen = resolve_device(device)
        model, checkpoint = load_detector(path, chosen)
        row = get_spec(checkpoint.architecture)
        subclass = DETECTOR_CLASSES.get(row.kind)
        if subclass is None:
            raise CourseError(f"checkpoint '{path}': detectors of kind '{row.kind}' cannot run on a video yet")
        threshold = settings.pop("threshold", None)
        prep = checkpoint_preprocessing(checkpoint)
        calibration = checkpoint_calibration(checkpoint)
        calibrated = calibration is not None and calibration.aggregation == settings.get("aggregation", "mean")
        if settings.get("frames") is None or not issubclass(subclass, FrameDetector):
            settings["frames"] = prep.n_frames  # --frames is for frame detectors; a clip keeps its trained length
        settings = {key: value for key, value in settings.items() if value is not None}
        if chosen.type == "cuda" and row.kind == "frame":
            model = model.to(memory_format=torch.channels_last)  # NHWC: the layout cuDNN's fp16 kernels prefer
        return subclass(name=name or path.stem, row=row, model=model.eval(), checkpoint=checkpoint,
                        checkpoint_path=path, sha256=sha256_of(path), device=chosen, prep=prep,
                        threshold=float(threshold if threshold is not None else
                                        0.5 if calibrated else checkpoint.threshold),
                        threshold_overridden=threshold is not None, calibration=calibration, **settings)

    def predict(self, inputs: torch.Tensor | tuple[torch.Tensor, ...]) -> np.ndarray:
        """Probability of FAKE for each row of ``inputs`` (N, ...), in batches, fp16 autocast on CUDA
        (and, for frame detectors, channels-last images, as the network was converted at :meth:`load`).

        ``inputs`` is one tensor, or a tuple of tensors with N rows each that the network takes as
        separate arguments (a sequence model's ``(frames, lengths)``). Returns ``(N,)`` float64 in
        [0, 1]. Batches hold ``batch_size`` inputs on a GPU; on the CPU at most
        :data:`CPU_BATCH_ELEMENTS` input values (:meth:`batch_size_for`).
        """
        from common.device import autocast_for

        arguments = inputs if isinstance(inputs, tuple) else (inputs,)
        if len(arguments[0]) == 0:
            return np.zeros(0, dtype=np.float64)
        step = self.batch_size_for(arguments[0])
        scores = []
        with torch.inference_mode():
            for start in range(0, len(arguments[0]), step):
                batch = [argument[start:start + step].to(self.device) for argument in arguments]
                if self.device.type == "cuda" and self.row.kind == "frame" and batch[0].dim() == 4:
                    batch[0] = batch[0].contiguous(memory_format=torch.channels_last)
                with autocast_for(self.device):
                    logits = self.model(*batch)
                scores.append(torch.sigmoid(logits.float().reshape(len(batch[0]), -1)[:, 0]).cpu().numpy())
        return np.concatenate(scores).astype(np.float64)

    def batch_size_for(self, inputs: torch.Tensor) -> int:
        """Inputs per forward pass: ``batch_size`` on a GPU; on the CPU no more than fit
        :data:`CPU_BATCH_ELEMENTS` values, since a large network's activations for a big batch
        overflow the CPU's caches (measured on 2 cores: XceptionNet at 299 px 80 ms per face one at a
        time, 168 ms in batches of 16; the 64-px baseline 0.4 ms in batches of 16, 0.7 ms alone).

        Example: on the CPU, 299-px crops (268,203 values) go one at a time, 64-px crops (12,288
        values) 32 at a time, 65-number feature vectors ``batch_size`` at a time.
        """
        if self.device.type != "cpu":
            return self.batch_size
        return max(1, min(self.batch_size, CPU_BATCH_ELEMENTS // max(1, inputs[0].numel())))

    def score_crops(self, crops: list[np.ndarray]) -> np.ndarray:
        """Probability of FAKE of each ``(S, S, 3)`` uint8 crop, normalised as in training."""
        if len(crops) == 0:
            return np.zeros(0, dtype=np.float64)
        return self.predict(self.prep.normalise(np.stack(crops), "cpu"))

    def aggregate(self, scores: list[float]) -> float | None:
        """Frame or window scores -> the video's score (``None`` when there is none)."""
        return aggregate_scores(scores, self.aggregation) if scores else None

    def describe(self) -> dict[str, Any]:
        """The detector's identity and settings for the report."""
        return {
            "name": self.name, "kind": self.row.kind, "architecture": self.checkpoint.architecture,
            "checkpoint": str(self.checkpoint_path), "sha256": self.sha256,
            "threshold": float(self.threshold), "checkpoint_threshold": float(self.checkpoint.threshold),
            "threshold_overridden": bool(self.threshold_overridden),
            "input_size": int(self.prep.size), "created": str(self.checkpoint.created),
            "validation_metrics": plain_metrics(self.checkpoint.metrics),
            "frame_plan": self.frame_plan().to_dict(), "aggregation": self.aggregation,
            "calibration": self.calibration.to_dict() if self.calibrates else None,
            "trained_detect_every": self.trained_detect_every,
        }

    @property
    def trained_detect_every(self) -> int | None:
        """The ``--detect-every`` its checkpoint was trained with (None: a checkpoint that does not record it)."""
        return recorded_detect_every(self.checkpoint.extra)


class FrameDetector(Detector):
    """Scores every face of N evenly spaced frames.

    With ``face_policy="track"`` (the default) each persistent face track gets the aggregate of its
    faces' scores and the video's score is the most suspicious track's: one swapped person among
    real ones makes the video FAKE, while a brief, small or doubtful detection (a minor track: a
    mirrored head at the edge, a false face in the background) is reported but cannot decide. With
    ``max`` or ``largest`` a frame's score is its most suspicious or its largest face, and the video's
    aggregates the frame scores (the DeepfakeBench protocol, which keeps one face per frame).
    """

    kind = "frame"
    runs_on_images = True

    def frame_plan(self) -> FramePlan:
        return FramePlan("spaced", count=self.frames)

    def score(self, track: FaceTrack) -> DetectorResult:
        spec = self.crop_spec()
        plan = self.frame_plan().indices(track.info.frame_count, track.info.fps, track.keyframe_schedule)
        frames = track.frames_at(plan)
        crops = [face.crops[spec] for frame in frames for face in frame.faces]
        probabilities = iter(self.score_crops(crops))
        scored_faces = [[(face, float(next(probabilities))) for face in frame.faces] for frame in frames]
        if self.face_policy == "track":
            return self.score_tracks(frames, scored_faces, {t.track_id: t for t in track.tracks()})
        entries, scored = [], []
        for frame, pairs in zip(frames, scored_faces):
            face_scores = [score for _, score in pairs]
            score, position = frame_score(frame.faces, face_scores, self.face_policy)
            entries.append({"index": frame.index, "fake_probability": score, "scored_face": position,
                            "face_scores": face_scores})
            if score is not None:
                scored.append(score)
        if not scored:
            return DetectorResult("no_face", None, frame_scores=entries,
                                  reason=f"no face in any of the {len(frames)} planned frames")
        return DetectorResult("ok", self.aggregate(scored), frame_scores=entries)

    def score_tracks(self, frames: list, scored_faces: list[list[tuple[Any, float]]],
                     tracks: dict[int, Any]) -> DetectorResult:
        """The ``track`` policy: a score per track, the video's from the most suspicious persistent one.

        A frame's entry keeps its most suspicious face among the persistent tracks (for the timeline).
        """
        per_track: dict[int, list[float]] = {}
        entries = []
        for frame, pairs in zip(frames, scored_faces):
            for face, score in pairs:
                per_track.setdefault(face.track_id, []).append(score)
            kept = [(position, score) for position, (face, score) in enumerate(pairs) if not tracks[face.track_id].minor]
            best = max(kept, key=lambda item: item[1], default=(None, None))
            entries.append({"index": frame.index, "fake_probability": best[1], "scored_face": best[0],
                            "face_scores": [score for _, score in pairs]})
        track_scores = [{"track_id": track_id, "frames": len(scores), "fake_probability": self.aggregate(scores),
                         "scored": not tracks[track_id].minor} for track_id, scores in sorted(per_track.items())]
        persistent = [entry for entry in track_scores if entry["scored"]]
        if not persistent:
            reason = (f"no face in any of the {len(frames)} planned frames" if not track_scores else
                      "only minor face tracks (brief, small or doubtful detections) in the planned frames")
            return DetectorResult("no_face", None, frame_scores=entries, track_scores=track_scores, reason=reason)
        decisive = max(persistent, key=lambda entry: entry["fake_probability"])
        return DetectorResult("ok", decisive["fake_probability"], frame_scores=entries, track_scores=track_scores,
                              verdict_track=decisive["track_id"])


class ClipDetector(Detector):
    """Scores contiguous clips of the main face (the most persistent track): the registry row's
    ``features`` function turns the clip's crops into the network's input, or the normalised crops
    feed it as a padded sequence with its length or as a 3-D volume (the row's ``clip_layout``,
    :func:`clip_input`); a clip with fewer than two faces cannot be scored and says so.

    A clip is read at the frame rate the detector was trained at (``prep.clip_fps``, 25 fps): every
    k-th frame, ``k = round(video fps / 25)`` (:meth:`common.face_track.FramePlan.stride`), so that a
    50-fps video's clip steps 40 ms as the training clips did; the window entry gives ``frame_step``.
    On a variable-frame-rate video each step is chosen by the frames' times
    (:meth:`common.face_track.FramePlan.runs_by_time`) and the entry lists them (``frame_steps``).
    A checkpoint saved without a rate reads consecutive frames, as it was trained."""

    kind = "clip"

    def frame_plan(self) -> FramePlan:
        return FramePlan("contiguous", count=self.frames, clips=self.clips, rate=self.prep.clip_fps)

    def clip_input(self, crops: np.ndarray) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """``(T, S, S, 3)`` uint8 crops -> the network's input for one clip (no batch axis)."""
        return clip_input(self.row, self.prep, crops)

    def score(self, track: FaceTrack) -> DetectorResult:
        spec = self.crop_spec()
        windows, inputs, scorable = [], [], []
        plan = self.frame_plan()
        by_time = track.frame_times_s is not None and is_variable_rate(track.frame_times_s)
        for run in plan.runs(track.info.frame_count, track.info.fps, track.keyframe_schedule, track.frame_times_s):
            faces = [face for face in track.face_per_frame(run, "subject") if face is not None]
            frame_step = ({} if plan.rate is None else {"frame_steps": np.diff(run).tolist()} if by_time
                          else {"frame_step": plan.stride(track.info.fps)})
            entry = {"start": int(run[0]), "stop": int(run[-1]), "frames": len(run), "frames_with_face": len(faces),
                     **frame_step, "fake_probability": None, "reason": None}
            if len(faces) < 2:
                entry["reason"] = f"only {len(faces)} of {len(run)} frames of this clip have the main face"
            else:
                inputs.append(self.clip_input(np.stack([face.crops[spec] for face in faces])))
                scorable.append(entry)
            windows.append(entry)
        if not inputs:
            no_face = all(entry["frames_with_face"] == 0 for entry in windows)
            return DetectorResult("no_face" if no_face else "could_not_run", None, window_scores=windows,
                                  reason=windows[0]["reason"] if windows else "the video has no frames")
        for entry, probability in zip(scorable, self.predict(stack_inputs(inputs))):
            entry["fake_probability"] = float(probability)
        return DetectorResult("ok", self.aggregate([entry["fake_probability"] for entry in scorable]),
                              window_scores=windows)


class SpectralDetector(FrameDetector):
    """A frame detector that reads the face crop at its own size: resizing would resample the very
    frequencies it looks at (Durall et al. 2020: crop the face, never resize the image). The registry
    row's ``features`` function turns each crop into a spectral feature vector; the network scores
    the vectors; frames, tracks and the video score follow :class:`FrameDetector`."""

    kind = "spectral"

    def crop_spec(self) -> CropSpec:
        return CropSpec(None, self.prep.scale)

    def score_crops(self, crops: list[np.ndarray]) -> np.ndarray:
        if len(crops) == 0:
            return np.zeros(0, dtype=np.float64)
        return self.predict(torch.stack([spectral_input(self.row, crop) for crop in crops]))


def clip_input(row: Model, prep: Preprocessing, crops: np.ndarray) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """One clip's network input from its ``(T, S, S, 3)`` uint8 crops (T <= the row's clip length
    ``prep.n_frames``: frames without the face are left out). Training uses it too. By the row's
    ``clip_layout``:

    * ``features``: the row's ``features`` function of the crops (from its exercise file);
    * ``sequence``: ``(frames, length)``, the normalised crops ``(n_frames, 3, S, S)`` padded with
      zeros after the T real ones, and ``length = T`` (an int64 scalar tensor);
    * ``volume``: the normalised crops as ``(3, n_frames, S, S)``, mirror-padded in time when T is
      short (FTCN's padding: frames 0 1 2 -> 0 1 2 1 0 1 ...).

    Example: 14 crops of 64 px for a 16-frame ``sequence`` row give a (16, 3, 64, 64) tensor
    whose last 2 frames are zero, and length 14.
    """
    from common.models import model_features

    if row.clip_layout == "features":
        return torch.as_tensor(np.asarray(model_features(row)(crops), dtype=np.float32))
    frames = prep.normalise(crops[:prep.n_frames], "cpu")
    length = len(frames)
    if row.clip_layout == "sequence":
        padded = torch.zeros((prep.n_frames, *frames.shape[1:]), dtype=frames.dtype)
        padded[:length] = frames
        return padded, torch.tensor(length, dtype=torch.int64)
    return frames[mirror_indices(length, prep.n_frames)].permute(1, 0, 2, 3).contiguous()


def mirror_indices(length: int, steps: int) -> np.ndarray:
    """Indices that stretch ``length`` frames to ``steps`` by bouncing back and forth.

    Example: ``mirror_indices(3, 7)`` is [0, 1, 2, 1, 0, 1, 2]; ``mirror_indices(1, 3)`` [0, 0, 0].
    """
    if length <= 1:
        return np.zeros(steps, dtype=np.int64)
    period = 2 * (length - 1)
    phase = np.arange(steps) % period
    return np.where(phase < length, phase, period - phase).astype(np.int64)


def stack_inputs(inputs: list) -> torch.Tensor | tuple[torch.Tensor, ...]:
    """A list of single inputs (tensors, or tuples such as ``(frames, length)``) -> one batch:
    a stacked tensor, or a tuple of stacked tensors."""
    if isinstance(inputs[0], tuple):
        return tuple(torch.stack(parts) for parts in zip(*inputs))
    return torch.stack(inputs)


def spectral_input(row: Model, crop: np.ndarray) -> torch.Tensor:
    """One face's network input for a spectral detector: the row's ``features`` of the un-resized
    ``(S, S, 3)`` uint8 crop, a ``(D,)`` float32 vector. Training uses it too."""
    from common.models import model_features

    return torch.as_tensor(np.asarray(model_features(row)(crop), dtype=np.float32))


DETECTOR_CLASSES: dict[str, type[Detector]] = {"frame": FrameDetector, "clip": ClipDetector,
                                               "spectral": SpectralDetector}
"""The detector class of each registry kind."""


def frame_score(faces: list, face_scores: list[float], policy: str) -> tuple[float | None, int | None]:
    """A frame's probability of FAKE from its faces' scores, and which face gave it.

    Args:
        faces: the frame's faces (with ``box``), largest first.
        face_scores: one probability per face.
        policy: ``"max"`` (highest face score) or ``"largest"`` (the face with the largest box).

    Returns:
        ``(score, position in faces)``, or ``(None, None)`` when there is no face.

    Example:
        >>> class F:  # two faces: a large one scored 0.2, a small one scored 0.9
        ...     def __init__(self, box): self.box = box
        >>> frame_score([F([0, 0, 10, 10]), F([0, 0, 5, 5])], [0.2, 0.9], "max")
        (0.9, 1)
        >>> frame_score([F([0, 0, 10, 10]), F([0, 0, 5, 5])], [0.2, 0.9], "largest")
        (0.2, 0)
    """
    if not faces:
        return None, None
    if policy == "max":
        position = int(np.argmax(face_scores))
    elif policy == "largest":
        areas = [(f.box[2] - f.box[0]) * (f.box[3] - f.box[1]) for f in faces]
        position = int(np.argmax(areas))
    else:
        raise ValueError(f"unknown face policy {policy!r}; choose one of {', '.join(FACE_POLICIES)}")
    return float(face_scores[position]), position


def plain_metrics(metrics: dict) -> dict:
    """Keep the JSON-friendly numbers and strings of a checkpoint's validation metrics."""
    plain = {}
    for key, value in metrics.items():
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            if not isinstance(value, float) or np.isfinite(value):
                plain[str(key)] = value
    return plain


def check_settings(aggregation: str, face_policy: str) -> None:
    """One-line errors for an unknown aggregation or face policy."""
    if aggregation not in AGGREGATIONS:
        raise CourseError(f"unknown aggregation '{aggregation}': choose one of {', '.join(AGGREGATIONS)}")
    if face_policy not in FACE_POLICIES:
        raise CourseError(f"unknown face policy '{face_policy}': choose one of {', '.join(FACE_POLICIES)}")


# ---------------------------------------------------------------- signal detectors (phase 4)

#: A signal detector needs at least this share of its window (a 10-s window: 8 s of video).
MIN_SIGNAL_WINDOW_SHARE = 0.8
#: ... and landmarks in at least this share of the window's frames.
MIN_LANDMARK_SHARE = 0.5


def signal_input(row: Model, crops: list[np.ndarray | None], fps: float, window_s: float,
                 with_signals: bool = False) -> tuple[torch.Tensor | None, str | None, dict]:
    """One window's network input for a signal detector (training uses it too).

    ``crops``: the main face's ``(S, S, 3)`` uint8 crop for every frame of the window, ``None``
    where the frame has no face (it stays in the window as a frame without landmarks, so the time
    axis keeps the video's rate). Landmarks come from :class:`common.landmarks.FaceMeshLandmarker`;
    the row's ``features(crops, series, fps)`` turns them into a ``(D,)`` vector.

    Returns ``(features or None, reason or None, details)``: ``None`` with a reason when the window
    is shorter than :data:`MIN_SIGNAL_WINDOW_SHARE` of ``window_s`` or landmarks were found in fewer
    than :data:`MIN_LANDMARK_SHARE` of its frames; ``details`` has ``landmark_frames`` and
    ``failed_frames`` (positions in the window); ``None`` with a reason too when a feature comes out
    NaN or infinite (a degenerate signal: never scored as if it were a number); with ``with_signals`` (when the features
    were computed) ``signals``: the row's exercise file's provided ``window_signals(crops, series,
    fps)``, a dict of the window's time series (EAR, pulse; see :func:`report_signals`), or ``None``
    when the file has no such function.
    """
    from common.landmarks import FaceMeshLandmarker
    from common.models import model_features

    needed = MIN_SIGNAL_WINDOW_SHARE * window_s
    if len(crops) < needed * fps:
        return None, (f"the video gives {len(crops) / fps:.1f} s for a {window_s:g}-s window; detector "
                      f"'{row.name}' needs at least {needed:g} s"), {}
    shape = next((crop.shape for crop in crops if crop is not None), None)
    if shape is None:
        return None, "no face in any frame of the window", {}
    images = [crop if crop is not None else np.zeros(shape, np.uint8) for crop in crops]
    with FaceMeshLandmarker() as landmarker:
        series = landmarker.detect(images)
    for position, crop in enumerate(crops):
        if crop is None:
            series.ok[position], series.reasons[position] = False, "no face in this frame"
    details = {"landmark_frames": int(series.ok.sum()), "failed_frames": series.failed_frames}
    if series.ok.mean() < MIN_LANDMARK_SHARE:
        return None, (f"landmarks found in only {int(series.ok.sum())} of {len(crops)} frames of the window "
                      f"(at least {MIN_LANDMARK_SHARE:.0%} needed)"), details
    features = np.asarray(model_features(row)(np.stack(images), series, fps), dtype=np.float64)
    if not np.isfinite(features).all():
        bad = np.flatnonzero(~np.isfinite(features)).tolist()
        return None, (f"{len(bad)} of {features.size} signal features are not finite (NaN or infinite; feature "
                      f"positions {bad}): the window's signals are too degenerate to score"), details
    if with_signals:
        series_of = getattr(importlib.import_module(row.module), "window_signals", None)
        details["signals"] = series_of(np.stack(images), series, fps) if series_of is not None else None
    return torch.as_tensor(np.asarray(features, dtype=np.float32)), None, details


@dataclass
class SignalWindow:
    """A signal detector's window on an even time grid (:func:`constant_rate_window`).

    Attributes:
        crops: ``(S, S, 3)`` uint8 crop or ``None`` (no face) per sample.
        frame_indices: the video frame each sample was read from (non-decreasing: a variable-rate
            video's slow stretch holds a frame for two samples, its fast stretch skips some).
        times_s: each sample's time, seconds from the video's first frame (even spacing ``1 / fps``).
        fps: the grid's rate (the window's own mean rate).
        frames_held, frames_dropped: samples that repeat a frame, and frames of the window no sample
            reads (both 0 at a constant frame rate).
    """

    crops: list
    frame_indices: list[int]
    times_s: list[float]
    fps: float
    frames_held: int = 0
    frames_dropped: int = 0


def constant_rate_window(crops: list, frame_indices: list[int], timestamps_s: list[float] | None,
                         fps: float) -> SignalWindow:
    """A window of consecutive frames put on an even time grid before its signals are measured.

    ``crops``, ``frame_indices`` and ``timestamps_s`` (the frames' decoded timestamps, or ``None``
    when unknown) are per frame of the window; ``fps`` is the container's average rate, used only
    when the timestamps are unknown. A variable-frame-rate video's window is resampled by
    :func:`common.video.constant_rate_positions`, so that a pulse or a blink keeps its true frequency
    and duration; a constant-rate window comes back as it is.

    Example: frames 0-7 at [0, .1, .2, .3, .4, .6, .8, 1.0] s -> frames [0, 1, 3, 4, 5, 6, 6, 7] at
    7 fps, one frame held, one dropped.
    """
    from common.video import constant_rate_positions

    positions, grid_fps = (constant_rate_positions(timestamps_s) if timestamps_s is not None
                           else (np.arange(len(crops), dtype=np.int64), None))
    if grid_fps is None:
        return SignalWindow(list(crops), [int(i) for i in frame_indices], [int(i) / fps for i in frame_indices],
                            float(fps))
    return SignalWindow([crops[p] for p in positions], [int(frame_indices[p]) for p in positions],
                        [float(timestamps_s[0]) + k / grid_fps for k in range(len(positions))], grid_fps,
                        frames_held=int(np.sum(np.diff(positions) == 0)),
                        frames_dropped=len(crops) - len(np.unique(positions)))


def _json_number(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def report_signals(signals: dict, window: SignalWindow) -> dict:
    """The report's ``signals`` of a signal detector: its window's time series in JSON.

    ``signals``: what ``window_signals`` returned (``(T,)`` arrays for :data:`SIGNAL_SERIES`, numbers
    for :data:`SIGNAL_SCALARS`, ``blinks`` as ``(K, 2)`` [start, stop) positions in the window);
    ``window``: the :class:`SignalWindow` they were measured on (its rate, and the video frame and
    time of each of its T samples). Returns ``{"fps", "frame_indices", "times_s", ...}`` with NaN
    written as ``null`` and blinks as [start, stop) video frame indices.
    Example: ear [0.3, nan] of frames [40, 41] at 1.6 and 1.64 s, 25 fps -> {"fps": 25.0,
    "frame_indices": [40, 41], "times_s": [1.6, 1.64], "ear": [0.3, None]}.
    """
    frame_indices = window.frame_indices
    out: dict = {"fps": float(window.fps), "frame_indices": [int(i) for i in frame_indices],
                 "times_s": [round(float(t), 6) for t in window.times_s]}
    for key in SIGNAL_SERIES:
        if key in signals:
            values = np.asarray(signals[key], np.float64).reshape(-1)
            if len(values) != len(frame_indices):
                raise ValueError(f"signal '{key}' has {len(values)} values for {len(frame_indices)} frames")
            out[key] = [_json_number(v) for v in values]
    for key in SIGNAL_SCALARS:
        if key in signals:
            out[key] = _json_number(signals[key])
    if "blinks" in signals:
        out["blinks"] = [[int(frame_indices[start]), int(frame_indices[stop - 1]) + 1]
                         for start, stop in np.asarray(signals["blinks"], np.int64).reshape(-1, 2)]
    return out


class SignalDetector(Detector):
    """Reads a window of several seconds of the main face at the video's own frame rate (blinks,
    pulse, head pose), put on an even time grid when the video's frame rate varies
    (:func:`constant_rate_window`; the window entry says how many frames were held or dropped):
    dense landmarks on every crop of the window, the registry row's ``features``
    of them, one score for the window (:func:`signal_input`). A video too short for the window, or
    one where landmarks fail in most frames, gets ``could_not_run`` with the reason. A scored window
    also carries its time series (``signals``: the EAR and its blink threshold, the pulse, per frame;
    from the row's exercise file's ``window_signals``) for the report's plots."""

    kind = "signal"

    @property
    def window_s(self) -> float:
        """Seconds of video the detector reads (the checkpoint's ``window_s``)."""
        return float(self.checkpoint.model_config.get("window_s", self.row.config.get("window_s", 10.0)))

    def frame_plan(self) -> FramePlan:
        return FramePlan("window", seconds=self.window_s)

    def score(self, track: FaceTrack) -> DetectorResult:
        fps = float(track.info.fps or 25.0)
        runs = self.frame_plan().runs(track.info.frame_count, fps, track.keyframe_schedule, track.frame_times_s)
        if not runs:
            return DetectorResult("could_not_run", None, window_scores=[], reason="the video has no frames")
        run, spec = runs[0], self.crop_spec()
        faces = track.face_per_frame(run, "subject")
        entry = {"start": int(run[0]), "stop": int(run[-1]), "frames": len(run),
                 "frames_with_face": sum(face is not None for face in faces), "fake_probability": None, "reason": None}
        if entry["frames_with_face"] == 0:
            entry["reason"] = f"no face in any of the {len(run)} frames of the window"
            return DetectorResult("no_face", None, window_scores=[entry], reason=entry["reason"])
        window = constant_rate_window([face.crops[spec] if face is not None else None for face in faces],
                                      list(run), [frame.timestamp_s for frame in track.frames_at(run)], fps)
        entry.update(fps=round(window.fps, 6), frames_held=window.frames_held, frames_dropped=window.frames_dropped)
        features, reason, details = signal_input(self.row, window.crops, window.fps, self.window_s, with_signals=True)
        signals = details.pop("signals", None)
        entry.update(details)
        if features is None:
            entry["reason"] = reason
            return DetectorResult("could_not_run", None, window_scores=[entry], reason=reason)
        entry["fake_probability"] = float(self.predict(features[None])[0])
        return DetectorResult("ok", self.aggregate([entry["fake_probability"]]), window_scores=[entry],
                              signals=None if signals is None else report_signals(signals, window))


DETECTOR_CLASSES["signal"] = SignalDetector
