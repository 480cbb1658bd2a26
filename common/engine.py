"""One train and one evaluate engine for every registered detector, whatever its kind.

The steps are the same for a frame-level CNN and for a clip-level temporal model; what differs is
read from the model's registry row (:mod:`common.registry`):

1. **inputs**: each video's face track is cached once (:func:`common.faces.build_face_cache`) with
   the detector's frame plan: N evenly spaced frames for a frame detector (its largest face), a
   contiguous clip for a clip detector (its main face's track) - the same plan and crops
   ``detect_video.py`` uses;
2. **datasets**: one item per face crop (frame) or per clip (:func:`make_dataset`);
3. **training**: :func:`common.training.fit` (class balance, validation AUC, early stopping,
   safe checkpoint with the Youden threshold);
4. **scores and metrics**: :func:`evaluate_detector` scores every input, aggregates per video and
   reports frame- (or clip-) and video-level metrics.

The command lines of every phase (``phaseN_.../train.py``, ``evaluate.py``) are thin layers over
:mod:`common.tools.train` and :mod:`common.tools.evaluate`, which call these functions.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from common.calibration import Calibration
from common.datasets import VideoRecord
from common.detectors import clip_input, constant_rate_window, spectral_input
from common.errors import CourseError, DatasetLayoutError
from common.experiment import per_method_metrics, report_from_scores
from common.face_track import FramePlan
from common.faces import FaceCacheResult, build_face_cache
from common.metrics import AGGREGATIONS
from common.preprocessing import Preprocessing
from common.registry import Model
from common.torch_data import FaceCropDataset, read_face_cache, record_id
from common.training import predict


def cache_plan(row: Model, prep: Preprocessing) -> tuple[FramePlan, str, str]:
    """``(frame plan, face policy, cache folder name)`` of a detector's training inputs.

    Example: a frame detector at 64 px on 16 frames reads ``faces_64px_16f_scale1.3``; a clip
    detector of 16 frames reads ``faces_64px_16f_scale1.3_clip``.
    """
    if row.kind == "frame":
        return FramePlan("spaced", count=prep.n_frames), "largest", prep.cache_folder_name()
    if row.kind == "clip":
        plan = FramePlan("contiguous", count=prep.n_frames, rate=prep.clip_fps)
        return plan, "subject", prep.cache_folder_name("_clip")
    if row.kind == "spectral":
        return FramePlan("spaced", count=prep.n_frames), "largest", f"faces_native_{prep.n_frames}f_scale{prep.scale:g}"
    if row.kind == "signal":
        seconds = float(row.config.get("window_s", 10.0))
        return FramePlan("window", seconds=seconds), "subject", f"faces_{prep.size}px_{seconds:g}s_scale{prep.scale:g}_signal"
    raise CourseError(f"model '{row.name}' is of kind '{row.kind}', which this engine cannot train yet")


def cache_faces(row: Model, prep: Preprocessing, records: Sequence[VideoRecord], cache_root: str | Path, *,
                device: str | torch.device = "cpu", progress: bool = True,
                detect_every: int = 1) -> tuple[Path, FaceCacheResult]:
    """Cache the face track of every video for this detector; returns ``(cache folder, result)``.

    ``detect_every``: K: MTCNN every K / 25 s (:func:`common.face_track.keyframe_step`), the faces
    between two agreeing keyframes interpolated (``detect_video.py --detect-every``; the cache
    records it)."""
    plan, policy, folder = cache_plan(row, prep)
    cache_dir = Path(cache_root) / folder
    result = build_face_cache(records, cache_dir, n_frames=prep.n_frames, size=prep.size, scale=prep.scale,
                              device=device, progress=progress, plan=plan, policy=policy,
                              native=row.kind == "spectral", detect_every=detect_every)
    return cache_dir, result


class ClipDataset(Dataset):
    """One item per video: its cached clip as the network's input, ``(x, label, video_id)``.

    A video whose clip has fewer than two faces cannot make a clip: it is left out here and listed
    in :attr:`skipped` (its cache entry already reports the frames without a face).
    """

    def __init__(self, row: Model, prep: Preprocessing, cache_dir: str | Path, records: Sequence[VideoRecord]):
        self.items: list[tuple[torch.Tensor, torch.Tensor, str]] = []
        self.video_ids: list[str] = []
        self.labels: list[int] = []
        self.frame_indices: list[int] = []
        self.skipped: list[str] = []
        for record in records:
            cache = read_face_cache(Path(cache_dir) / f"{record_id(record)}.npz")
            if len(cache.faces) < 2:
                self.skipped.append(str(record.path))
                continue
            video_id = f"{record_id(record)}"
            self.items.append((clip_input(row, prep, cache.faces), torch.tensor(float(cache.label)), video_id))
            self.video_ids.append(video_id)
            self.labels.append(int(cache.label))
            self.frame_indices.append(int(cache.frame_indices[0]))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, str]:
        return self.items[index]


class SpectralDataset(Dataset):
    """One item per cached face: the row's spectral features of the crop at its own size,
    ``(x (D,), label, video_id)``. Features are computed once, when the dataset is made."""

    def __init__(self, row: Model, cache_dir: str | Path, records: Sequence[VideoRecord]):
        self.items: list[tuple[torch.Tensor, torch.Tensor, str]] = []
        self.video_ids: list[str] = []
        self.labels: list[int] = []
        self.files: list[Path] = []
        for record in records:
            path = Path(cache_dir) / f"{record_id(record)}.npz"
            cache = read_face_cache(path)
            sides = cache.meta.get("crop_sizes") or [cache.faces.shape[1]] * len(cache.faces)
            self.files.append(path)
            for face, side in zip(cache.faces, sides):
                self.items.append((spectral_input(row, face[:side, :side]), torch.tensor(float(cache.label)),
                                   path.stem))
                self.video_ids.append(path.stem)
                self.labels.append(int(cache.label))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, str]:
        return self.items[index]


class EncodedDataset(Dataset):
    """A dataset whose inputs went once through a frozen encoder: ``(encoded input, label, video_id)``.

    For a row with ``trains="head"``: ``model.encode(*inputs)`` (e.g. a frozen CNN over every
    real frame of a clip, giving ``(T, D)`` features) is run once per item here, in batches, so
    that training the ``head`` costs nothing per epoch for the encoder (task 1.6's idea). An input
    that is a tuple keeps its other parts: ``(frames, length)`` becomes ``(features, length)``.
    """

    def __init__(self, model: nn.Module, dataset: Dataset, *, device: str | torch.device = "cpu",
                 batch_size: int = 32):
        from common.device import autocast_for, resolve_device

        device = resolve_device(device)
        self.items: list[tuple[Any, torch.Tensor, str]] = []
        loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False)
        model.eval().to(device)
        with torch.inference_mode():
            for inputs, labels, video_ids in loader:
                parts = list(inputs) if isinstance(inputs, (tuple, list)) else [inputs]
                with autocast_for(device):
                    encoded = model.encode(*[part.to(device) for part in parts]).float().cpu()
                for row in range(len(labels)):
                    item = (encoded[row], *[part[row] for part in parts[1:]])
                    self.items.append((item if len(item) > 1 else item[0], labels[row], video_ids[row]))
        self.labels = [int(label) for _, label, _ in self.items]
        self.video_ids = [video_id for _, _, video_id in self.items]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[Any, torch.Tensor, str]:
        return self.items[index]


def make_dataset(row: Model, prep: Preprocessing, cache_dir: str | Path, records: Sequence[VideoRecord], *,
                 transform: Any = None, files_in_memory: int = 8) -> Dataset:
    """The training or evaluation dataset of a detector: face crops (frame), clips (clip) or
    spectral feature vectors of un-resized crops (spectral)."""
    if row.kind == "clip":
        return ClipDataset(row, prep, cache_dir, records)
    if row.kind == "spectral":
        return SpectralDataset(row, cache_dir, records)
    if row.kind == "signal":
        return SignalDataset(row, cache_dir, records)
    return FaceCropDataset(cache_dir, records, transform=transform or prep.eval_transform(),
                           files_in_memory=files_in_memory)


@dataclass
class ScoredInputs:
    """Scores of a set of videos, one per face crop (frame) or per clip, in a fixed order.

    ``video_ids``, ``frame_indices``, ``labels``, ``scores`` are (N,) arrays (str, int64, int64,
    float64); ``video_paths`` maps a video id (cache file stem) to the video path.
    """

    video_ids: np.ndarray
    frame_indices: np.ndarray
    labels: np.ndarray
    scores: np.ndarray
    video_paths: dict[str, str]


def score_inputs(model: nn.Module, row: Model, prep: Preprocessing, cache_dir: str | Path,
                 records: Sequence[VideoRecord], *, device: str | torch.device = "cpu", batch_size: int = 64,
                 num_workers: int = 0) -> ScoredInputs:
    """Score every cached input of ``records`` with ``model`` (P(FAKE) per face crop or per clip)."""
    dataset = make_dataset(row, prep, cache_dir, records)
    if len(dataset) == 0:
        raise DatasetLayoutError(f"no face was found in any of the {len(records)} videos; nothing to score")
    labels, scores = predict(model, dataset, device=device, batch_size=batch_size, num_workers=num_workers)
    paths = {record_id(record): str(record.path) for record in records}
    if row.kind in ("clip", "signal"):
        frame_indices = np.asarray(dataset.frame_indices, dtype=np.int64)
    else:
        frame_indices = np.concatenate([read_face_cache(path).frame_indices for path in dataset.files])
    return ScoredInputs(np.asarray(dataset.video_ids, dtype=object), frame_indices.astype(np.int64),
                        labels.astype(np.int64), scores.astype(np.float64), paths)


def evaluate_detector(model: nn.Module, row: Model, records: Sequence[VideoRecord], prep: Preprocessing,
                      cache_root: str | Path, *, aggregation: str = "mean", threshold: float = 0.5,
                      device: str | torch.device = "cpu", batch_size: int = 64, progress: bool = True,
                      num_workers: int = 0, calibration: Calibration | None = None, detect_every: int = 1
                      ) -> tuple[dict[str, Any], ScoredInputs, FaceCacheResult]:
    """Cache, score and report: the library function behind every ``evaluate.py`` and train.py's test step.

    ``calibration``: the checkpoint's Platt scaling of video scores (video verdicts at calibrated 0.5).
    ``detect_every``: see :func:`cache_faces`.

    Returns:
        ``(report, scored, cache_result)``; ``report`` has ``frame`` (per face crop, or per clip),
        ``video``, ``aggregation``, ``videos`` (per-video scores) and ``faces`` (the cache summary:
        frames and videos without a face are listed, never dropped silently).
    """
    if aggregation not in AGGREGATIONS:
        raise CourseError(f"unknown aggregation '{aggregation}': choose one of {', '.join(AGGREGATIONS)}")
    cache_dir, caches = cache_faces(row, prep, records, cache_root, device=device, progress=progress,
                                    detect_every=detect_every)
    scored = score_inputs(model, row, prep, cache_dir, records, device=device, batch_size=batch_size,
                          num_workers=num_workers)
    report = report_from_scores(scored, aggregation, threshold, calibration)
    methods = {record_id(record): record.method for record in records}
    for video in report["videos"]:
        video["method"] = methods.get(video["id"])
    report["per_method"] = per_method_metrics(report["videos"])
    report["unit"] = {"clip": "clip", "signal": "window"}.get(row.kind, "frame")
    report["faces"] = caches.summary()
    return report, scored, caches


_SIGNAL_FEATURES: dict[tuple, tuple[torch.Tensor | None, str | None]] = {}
"""Signal features already computed in this process, per face-cache file (path, size, modification
time), detector row and window: a face mesh on every crop of a 10-s window is the slow part of a
signal detector's training, and cross-fitting (common.cross_fit) builds the same videos' datasets
once per fold."""


def _signal_features(row: Model, cache_path: Path, crops: list, fps: float, window_s: float
                     ) -> tuple[torch.Tensor | None, str | None]:
    """:func:`common.detectors.signal_input` of one cached window, computed once per process."""
    from common.detectors import signal_input

    stat = cache_path.stat()
    key = (str(cache_path.resolve()), stat.st_size, stat.st_mtime_ns, row.name, row.file, row.features,
           float(fps), float(window_s))
    if key not in _SIGNAL_FEATURES:
        features, reason, _ = signal_input(row, crops, fps, window_s)
        _SIGNAL_FEATURES[key] = (features, reason)
    return _SIGNAL_FEATURES[key]


class SignalDataset(Dataset):
    """One item per video for a signal detector: the row's features of its cached window,
    ``(x (D,), label, video_id)``, computed once here (face-mesh landmarks on every crop,
    :func:`common.detectors.signal_input`; once per process for a given cache file, row and window),
    on an even time grid when the cache holds the frames' timestamps (a variable-frame-rate video,
    :func:`common.detectors.constant_rate_window`).
    A window too short or without landmarks in most frames
    is left out and listed in :attr:`skipped` with its reason; when no video is left, one
    :class:`DatasetLayoutError` says why (mini-forensics: generate 10-s clips, ``--synthetic-frames 250``).
    """

    def __init__(self, row: Model, cache_dir: str | Path, records: Sequence[VideoRecord]):
        from common.video import probe_video

        self.items: list[tuple[torch.Tensor, torch.Tensor, str]] = []
        self.video_ids: list[str] = []
        self.labels: list[int] = []
        self.frame_indices: list[int] = []
        self.skipped: dict[str, str] = {}
        window_s = float(row.config.get("window_s", 10.0))
        for record in records:
            cache_path = Path(cache_dir) / f"{record_id(record)}.npz"
            cache = read_face_cache(cache_path)
            planned = sorted(set(cache.frame_indices.tolist()) | set(cache.meta.get("no_face_indices", []))
                             | set(cache.meta.get("undecodable_indices", [])))
            by_index = dict(zip(cache.frame_indices.tolist(), cache.faces))
            try:
                fps = float(probe_video(record.path).fps or 25.0)
            except CourseError as error:
                self.skipped[str(record.path)] = str(error)
                continue
            timestamps = cache.meta.get("timestamps_s")
            window = constant_rate_window([by_index.get(index) for index in planned], planned,
                                          timestamps if timestamps and len(timestamps) == len(planned) else None, fps)
            features, reason = _signal_features(row, cache_path, window.crops, window.fps, window_s)
            if features is None:
                self.skipped[str(record.path)] = reason
                continue
            self.items.append((features, torch.tensor(float(cache.label)), record_id(record)))
            self.video_ids.append(record_id(record))
            self.labels.append(int(cache.label))
            self.frame_indices.append(int(planned[0]))
        if records and not self.items:
            reason = next(iter(self.skipped.values()), "no window")
            raise DatasetLayoutError(f"model '{row.name}' could not score any of the {len(records)} videos: {reason} "
                                     f"(mini-forensics: generate clips of 10 s or more with --synthetic-frames 250)")

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, str]:
        return self.items[index]
