"""PyTorch datasets on top of :class:`common.datasets.VideoRecord` lists, and the on-disk caches.

Three views of the same videos, one per family of detectors in the course:

* :class:`VideoFramesDataset` decodes N evenly spaced frames per video (the DeepfakeBench and
  DFDC-winner protocol: 32 frames) for models that look at whole frames or clips.
* :class:`FaceCropDataset` serves one face crop at a time from a per-video ``.npz`` cache written
  once by a face-extraction step (detection is slow, training reads the crops many times).
* :class:`FeatureSequenceDataset` serves per-video sequences of per-frame features (T, D) for
  temporal models; :func:`collate_sequences` pads them into a batch with lengths and a mask.

Caches are written atomically (a temporary file renamed into place), so an interrupted
extraction never leaves a half-written file that a later run would trust. Labels are float
tensors (``1.0 = FAKE``) ready for ``BCEWithLogitsLoss``.
"""
from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, WeightedRandomSampler

from common.atomic import atomic_output
from common.datasets import VideoRecord
from common.errors import DatasetLayoutError
from common.video import sample_frames

Transform = Callable[[torch.Tensor], torch.Tensor]


# --------------------------------------------------------------------------------------------
# Naming cache files after records
# --------------------------------------------------------------------------------------------

def record_id(record: VideoRecord) -> str:
    """A file-name-safe id for a record's cache file, stable when the dataset folder moves.

    It joins the method, the video's stem and 8 hex digits of a hash of the last four path
    components (FF++ uses the name ``000_003.mp4`` for every method and compression).

    Example:
        >>> record = VideoRecord(Path("/d/Deepfakes/c23/videos/000_003.mp4"), 1, "Deepfakes", "g", None, "ff")
        >>> record_id(record)  # 'Deepfakes-000_003-' followed by 8 hex digits   # doctest: +SKIP
    """
    tail = "/".join(Path(record.path).parts[-4:])
    digest = hashlib.sha1(tail.encode("utf-8")).hexdigest()[:8]
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in f"{record.method}-{Path(record.path).stem}")
    return f"{safe}-{digest}"


def _atomic_savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``path`` (.npz, uncompressed) through a temporary file and a rename."""
    with atomic_output(path) as temporary:
        np.savez(temporary, **arrays)


def _load_npz(path: Path, required: Sequence[str], what: str) -> dict[str, np.ndarray]:
    """Read the arrays of a cache file; a one-line :class:`DatasetLayoutError` if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise DatasetLayoutError(f"{what} '{path}' does not exist")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError) as error:
        raise DatasetLayoutError(f"{what} '{path}' is not a readable .npz file: {error}") from None
    absent = [key for key in required if key not in arrays]
    if absent:
        raise DatasetLayoutError(f"{what} '{path}' lacks {', '.join(absent)} (expected {', '.join(required)})")
    return arrays


def _meta_array(meta: dict[str, Any]) -> np.ndarray:
    """Extra metadata stored as one JSON string (no pickles in caches)."""
    return np.array(json.dumps(meta, default=str))


def _check_label(label: int) -> int:
    if int(label) not in (0, 1):
        raise ValueError(f"label must be 0 (REAL) or 1 (FAKE), got {label}")
    return int(label)


# --------------------------------------------------------------------------------------------
# Face-crop cache
# --------------------------------------------------------------------------------------------

@dataclass
class FaceCache:
    """The face crops of one video as read from its cache file.

    Attributes:
        faces: (N, S, S, 3) uint8 RGB crops (N may be 0 when no face was found).
        frame_indices: (N,) int64, the frame each crop comes from.
        label: 1 FAKE, 0 REAL.
        meta: whatever keyword metadata the writer stored (e.g. ``group``, ``source``).
    """

    faces: np.ndarray
    frame_indices: np.ndarray
    label: int
    meta: dict = field(default_factory=dict)


def write_face_cache(path: str | Path, faces: np.ndarray, frame_indices: np.ndarray, label: int,
                     **meta: Any) -> Path:
    """Write one video's face crops to ``path`` (.npz), atomically.

    Args:
        path: destination file, e.g. ``cache_dir / f"{record_id(record)}.npz"``.
        faces: (N, S, S, 3) uint8 RGB crops, all the same square size S.
        frame_indices: (N,) integer frame index of each crop.
        label: 1 FAKE, 0 REAL.
        **meta: JSON-serialisable facts to keep beside the crops (``group=...``, ``path=...``).
    Returns:
        ``path`` as a Path.
    """
    faces = np.asarray(faces)
    frame_indices = np.asarray(frame_indices, dtype=np.int64).reshape(-1)
    if faces.dtype != np.uint8 or faces.ndim != 4 or faces.shape[3] != 3 or faces.shape[1] != faces.shape[2]:
        raise ValueError(f"faces must be an (N, S, S, 3) uint8 array, got {faces.shape} {faces.dtype}")
    if len(frame_indices) != len(faces):
        raise ValueError(f"frame_indices has {len(frame_indices)} entries for {len(faces)} faces")
    arrays = {"faces": faces, "frame_indices": frame_indices, "label": np.int64(_check_label(label)),
              "meta": _meta_array(meta)}
    _atomic_savez(Path(path), arrays)
    return Path(path)


def read_face_cache(path: str | Path) -> FaceCache:
    """Read a file written by :func:`write_face_cache` (see :class:`FaceCache` for the fields)."""
    arrays = _load_npz(Path(path), ("faces", "frame_indices", "label"), "face cache")
    meta = json.loads(str(arrays["meta"])) if "meta" in arrays else {}
    return FaceCache(arrays["faces"], arrays["frame_indices"].astype(np.int64), int(arrays["label"]), meta)


def _face_to_tensor(face: np.ndarray) -> torch.Tensor:
    """(S, S, 3) uint8 -> (3, S, S) float32 in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(face)).permute(2, 0, 1).float().div_(255.0)


class FaceCropDataset(Dataset):
    """One item per cached face crop: ``(image, label, video_id)``.

    ``image`` is a (3, S, S) float32 tensor in [0, 1] (or whatever ``transform`` makes of it),
    ``label`` a float32 scalar tensor (1.0 FAKE) and ``video_id`` the cache file's stem.

    Args:
        cache_dir: folder of per-video ``.npz`` files written by :func:`write_face_cache`.
        records: when given, only these videos, read from ``cache_dir/<record_id(record)>.npz``
            (their ``group`` is used); otherwise every ``.npz`` in ``cache_dir`` (the group comes
            from the cache's ``group`` metadata, or the video id).
        transform: applied to each (3, S, S) image tensor.
        skip_missing: with ``records``, skip videos without a cache file instead of raising.

    Attributes (one entry per item, for samplers and group-aware splits):
        video_ids, groups, labels.

    Example:
        >>> data = FaceCropDataset("cache/faces", records)                  # doctest: +SKIP
        >>> image, label, video_id = data[0]                                # doctest: +SKIP
    """

    def __init__(self, cache_dir: str | Path, records: Iterable[VideoRecord] | None = None,
                 transform: Transform | None = None, *, skip_missing: bool = False,
                 files_in_memory: int = 8) -> None:
        self.cache_dir = Path(cache_dir)
        if not self.cache_dir.is_dir():
            raise DatasetLayoutError(f"face cache folder '{self.cache_dir}' does not exist")
        self.transform = transform
        self.files_in_memory = files_in_memory
        self._recent: OrderedDict[Path, np.ndarray] = OrderedDict()
        self.files: list[Path] = []
        self.video_ids: list[str] = []
        self.groups: list[str] = []
        self.labels: list[int] = []
        self._items: list[tuple[int, int]] = []  # (file number, face number)
        for path, group, label in self._videos(records, skip_missing):
            self._add_video(path, group, label)

    def _videos(self, records: Iterable[VideoRecord] | None,
                skip_missing: bool) -> list[tuple[Path, str | None, int | None]]:
        if records is None:
            return [(path, None, None) for path in sorted(self.cache_dir.glob("*.npz"))]
        videos, missing = [], []
        for record in records:
            path = self.cache_dir / f"{record_id(record)}.npz"
            if path.is_file():
                videos.append((path, record.group, record.label))
            else:
                missing.append(path.name)
        if missing and not skip_missing:
            raise DatasetLayoutError(
                f"face cache '{self.cache_dir}' lacks {len(missing)} video(s), e.g. {missing[0]} "
                "(run the face extraction first, or pass skip_missing=True)")
        return videos

    def _add_video(self, path: Path, group: str | None, label: int | None) -> None:
        with np.load(path, allow_pickle=False) as archive:  # reads the small arrays only
            if "frame_indices" not in archive.files or "label" not in archive.files:
                raise DatasetLayoutError(f"face cache '{path}' lacks frame_indices/label: not written by write_face_cache")
            count = len(archive["frame_indices"])
            cached_label = int(archive["label"])
            meta = json.loads(str(archive["meta"])) if "meta" in archive.files else {}
        if label is not None and label != cached_label:
            raise DatasetLayoutError(f"face cache '{path}' has label {cached_label} but its record says {label}")
        file_number = len(self.files)
        self.files.append(path)
        for face_number in range(count):
            self._items.append((file_number, face_number))
            self.video_ids.append(path.stem)
            self.groups.append(group or meta.get("group") or path.stem)
            self.labels.append(cached_label)

    def _faces_of(self, path: Path) -> np.ndarray:
        """The (N, S, S, 3) faces of one file, keeping the last few files in memory."""
        if path in self._recent:
            self._recent.move_to_end(path)
            return self._recent[path]
        faces = read_face_cache(path).faces
        self._recent[path] = faces
        if len(self._recent) > self.files_in_memory:
            self._recent.popitem(last=False)
        return faces

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, str]:
        file_number, face_number = self._items[index]
        image = _face_to_tensor(self._faces_of(self.files[file_number])[face_number])
        if self.transform is not None:
            image = self.transform(image)
        return image, torch.tensor(float(self.labels[index])), self.video_ids[index]


# --------------------------------------------------------------------------------------------
# Whole frames
# --------------------------------------------------------------------------------------------

class VideoFramesDataset(Dataset):
    """One item per video: ``n_frames`` evenly spaced frames, decoded on demand.

    Item (a dict):
        ``frames``: (N, 3, H, W) float32 in [0, 1] (then ``transform`` applied to the whole tensor),
        ``label``: float32 scalar tensor (1.0 FAKE), ``index``: (N,) int64 frame indices,
        ``path``: the video path as a string.

    Frames keep the video's size (at most ``max_side`` on the long side); videos of different
    sizes need a resizing ``transform`` or ``batch_size=1`` to be batched.

    Args:
        records: the videos.
        n_frames: frames per video (32 as in DeepfakeBench).
        max_side: longest side after downscaling, in pixels; ``None`` keeps the size.
        transform: applied to the (N, 3, H, W) tensor.
    """

    def __init__(self, records: Iterable[VideoRecord], n_frames: int = 32, max_side: int | None = None,
                 transform: Transform | None = None) -> None:
        self.records = list(records)
        self.n_frames = n_frames
        self.max_side = max_side
        self.transform = transform
        self.labels = [record.label for record in self.records]
        self.groups = [record.group for record in self.records]

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict[str, Any]:
        record = self.records[index]
        sampled = sample_frames(record.path, self.n_frames, max_side=self.max_side)
        frames = torch.from_numpy(np.ascontiguousarray(sampled.frames)).permute(0, 3, 1, 2).float().div_(255.0)
        if self.transform is not None:
            frames = self.transform(frames)
        return {
            "frames": frames,
            "label": torch.tensor(float(record.label)),
            "index": torch.as_tensor(np.asarray(sampled.indices), dtype=torch.int64),
            "path": str(record.path),
        }


# --------------------------------------------------------------------------------------------
# Feature sequences
# --------------------------------------------------------------------------------------------

@dataclass
class FeatureCache:
    """The per-frame features of one video: ``features`` (T, D) float32, ``frame_indices`` (T,)."""

    features: np.ndarray
    frame_indices: np.ndarray
    label: int
    meta: dict = field(default_factory=dict)


def write_feature_cache(path: str | Path, features: np.ndarray, frame_indices: np.ndarray, label: int,
                        **meta: Any) -> Path:
    """Write one video's (T, D) per-frame features to ``path`` (.npz), atomically.

    Args:
        path: destination file.
        features: (T, D) array, stored as float32.
        frame_indices: (T,) integer frame index of each row.
        label: 1 FAKE, 0 REAL.
        **meta: JSON-serialisable facts to keep (``group=...``, ``extractor=...``).
    Returns:
        ``path`` as a Path.
    """
    features = np.asarray(features, dtype=np.float32)
    frame_indices = np.asarray(frame_indices, dtype=np.int64).reshape(-1)
    if features.ndim != 2:
        raise ValueError(f"features must be a (T, D) array, got shape {features.shape}")
    if len(frame_indices) != len(features):
        raise ValueError(f"frame_indices has {len(frame_indices)} entries for {len(features)} feature rows")
    arrays = {"features": features, "frame_indices": frame_indices, "label": np.int64(_check_label(label)),
              "meta": _meta_array(meta)}
    _atomic_savez(Path(path), arrays)
    return Path(path)


def read_feature_cache(path: str | Path) -> FeatureCache:
    """Read a file written by :func:`write_feature_cache`."""
    arrays = _load_npz(Path(path), ("features", "frame_indices", "label"), "feature cache")
    meta = json.loads(str(arrays["meta"])) if "meta" in arrays else {}
    return FeatureCache(arrays["features"].astype(np.float32), arrays["frame_indices"].astype(np.int64),
                        int(arrays["label"]), meta)


class FeatureSequenceDataset(Dataset):
    """One item per video: its (T, D) feature sequence, for temporal models.

    Item (a dict): ``features`` (T, D) float32 tensor, ``label`` float32 scalar tensor (1.0 FAKE),
    ``video_id`` str. Batch items with :func:`collate_sequences` (T differs between videos).

    Args:
        source: a folder of ``.npz`` files written by :func:`write_feature_cache` (read lazily),
            or a list of ``(features (T, D) array, label)`` pairs held in memory.
    """

    def __init__(self, source: str | Path | Sequence[tuple[np.ndarray, int]]) -> None:
        self.files: list[Path] | None = None
        self.pairs: list[tuple[np.ndarray, int]] | None = None
        if isinstance(source, (str, Path)):
            folder = Path(source)
            if not folder.is_dir():
                raise DatasetLayoutError(f"feature cache folder '{folder}' does not exist")
            self.files = sorted(folder.glob("*.npz"))
            if not self.files:
                raise DatasetLayoutError(f"feature cache folder '{folder}' has no .npz files")
            self.video_ids = [path.stem for path in self.files]
            self.labels = [read_feature_cache(path).label for path in self.files]
        else:
            self.pairs = [(np.asarray(features, dtype=np.float32), _check_label(label)) for features, label in source]
            if any(features.ndim != 2 for features, _ in self.pairs):
                raise ValueError("every feature array must be (T, D)")
            self.video_ids = [f"sequence-{number}" for number in range(len(self.pairs))]
            self.labels = [label for _, label in self.pairs]

    def __len__(self) -> int:
        return len(self.video_ids)

    def __getitem__(self, index: int) -> dict[str, Any]:
        if self.files is not None:
            cache = read_feature_cache(self.files[index])
            features, label = cache.features, cache.label
        else:
            features, label = self.pairs[index]
        return {"features": torch.from_numpy(np.ascontiguousarray(features)),
                "label": torch.tensor(float(label)), "video_id": self.video_ids[index]}


def collate_sequences(batch: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Pad variable-length sequences into one batch.

    Args:
        batch: items of :class:`FeatureSequenceDataset` (``features`` (T_i, D), ``label``).
    Returns:
        ``features`` (B, Tmax, D) float32, zero after each sequence's end; ``lengths`` (B,) int64;
        ``mask`` (B, Tmax) bool, True at real steps; ``labels`` (B,) float32; ``video_ids`` list.

    Example:
        Lengths 2 and 3 with D = 1 give ``mask = [[True, True, False], [True, True, True]]``.
    """
    if not batch:
        raise ValueError("cannot collate an empty batch")
    dims = {item["features"].shape[1] for item in batch}
    if len(dims) != 1:
        raise ValueError(f"feature sequences of one batch must share D, got {sorted(dims)}")
    lengths = torch.tensor([item["features"].shape[0] for item in batch], dtype=torch.int64)
    longest = int(lengths.max())
    features = torch.zeros(len(batch), longest, dims.pop(), dtype=torch.float32)
    for row, item in enumerate(batch):
        features[row, : item["features"].shape[0]] = item["features"]
    mask = torch.arange(longest).unsqueeze(0) < lengths.unsqueeze(1)
    labels = torch.stack([torch.as_tensor(item["label"], dtype=torch.float32) for item in batch])
    return {"features": features, "lengths": lengths, "mask": mask, "labels": labels,
            "video_ids": [item.get("video_id") for item in batch]}


# --------------------------------------------------------------------------------------------
# Class balance
# --------------------------------------------------------------------------------------------

def balanced_sampler(labels: Sequence[int] | np.ndarray | torch.Tensor, *, num_samples: int | None = None,
                     seed: int | None = None) -> WeightedRandomSampler:
    """A sampler that draws REAL and FAKE items equally often (with replacement).

    Each item is weighted by ``1 / (number of items of its class)``, so each class present has
    the same total weight. Pass it as ``DataLoader(..., sampler=balanced_sampler(data.labels))``.

    Args:
        labels: (N,) labels, 0 or 1.
        num_samples: draws per epoch (default N).
        seed: seed of the sampler's own generator; ``None`` uses torch's global RNG.
    """
    labels = torch.as_tensor(np.asarray(labels)).long().reshape(-1)
    if len(labels) == 0:
        raise ValueError("balanced_sampler needs at least one label")
    counts = torch.bincount(labels, minlength=2).double()
    weights = 1.0 / counts[labels]
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    return WeightedRandomSampler(weights, num_samples or len(labels), replacement=True, generator=generator)
