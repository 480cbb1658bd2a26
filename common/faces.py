"""Face-crop caches: the face track of every training video, written once, read at every epoch.

Face detection is the slow step of every face-based detector (MTCNN: ~10-90 ms per frame on a
CPU), while training reads each crop dozens of times. :func:`build_face_cache` therefore builds
each video's face track exactly as ``detect_video.py`` does (:func:`common.face_track.build_track`:
the detector's frame plan, decoded once, faces found once with the active exercise tree's
``FaceExtractor``, crops of ``scale`` times the face at ``size`` pixels) and writes one face per
planned frame (the ``largest``, or the main ``subject`` track's) to one ``.npz`` per video with
``common.torch_data.write_face_cache``. Training and detection therefore see the same inputs.

Nothing is dropped silently (DeepfakeBench's most common complaint): every cache file's metadata
lists the sampled frames in which no face was found (``no_face_indices``), the frames that could
not be decoded (``undecodable_indices``) and, for a video that cannot be read at all, the error.
The returned list carries the same facts per video (:class:`FaceCacheEntry`).

A cache file is reused when it was written for the same video file (path, size, modification
time) with the same settings (frames, crop size, scale, format version); anything else is redone.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import torch
from tqdm.auto import tqdm

from common.datasets import VideoRecord
from common.errors import VideoError
from common.face_track import DECODE_MAX_SIDE, CropSpec, FramePlan, build_track
from common.torch_data import record_id, write_face_cache

FACE_CACHE_VERSION = 2


@dataclass
class FaceCacheEntry:
    """What happened to one video.

    Attributes:
        video: the video path. cache_path: its ``.npz`` file. label: 1 FAKE, 0 REAL.
        n_sampled: frames requested. n_faces: crops written (one per frame with a face).
        no_face_indices: decoded frames where no face was found.
        undecodable_indices: requested frames that could not be decoded.
        error: why the whole video could not be read (then ``n_faces == 0``), else ``None``.
        reused: True when an up-to-date cache file was found and nothing was recomputed.
    """

    video: str
    cache_path: Path
    label: int
    n_sampled: int
    n_faces: int
    no_face_indices: list[int] = field(default_factory=list)
    undecodable_indices: list[int] = field(default_factory=list)
    error: str | None = None
    reused: bool = False


class FaceCacheResult(list):
    """The cache paths, one per record and in the records' order (a plain ``list[Path]``), with
    the per-video facts in :attr:`entries` and the totals from :meth:`summary`."""

    def __init__(self, entries: list[FaceCacheEntry]) -> None:
        super().__init__(entry.cache_path for entry in entries)
        self.entries = entries

    def summary(self) -> dict[str, Any]:
        """Totals for a report (JSON-serialisable).

        Returns:
            ``{"videos", "reused", "faces", "frames_without_face", "videos_with_missing_faces",
            "videos_without_any_face": [paths], "unreadable_videos": {path: error},
            "undecodable_frames"}``.
        """
        return {
            "videos": len(self.entries),
            "reused": sum(e.reused for e in self.entries),
            "faces": sum(e.n_faces for e in self.entries),
            "frames_without_face": sum(len(e.no_face_indices) for e in self.entries),
            "videos_with_missing_faces": sum(bool(e.no_face_indices) for e in self.entries),
            "videos_without_any_face": [e.video for e in self.entries if e.n_faces == 0],
            "unreadable_videos": {e.video: e.error for e in self.entries if e.error},
            "undecodable_frames": sum(len(e.undecodable_indices) for e in self.entries),
        }

    def describe(self) -> str:
        """One line for the console, e.g. ``faces: 1910 crops from 60 videos (60 reused); 10
        frames without a face in 2 videos; 0 videos without any face``."""
        s = self.summary()
        return (f"faces: {s['faces']} crops from {s['videos']} videos ({s['reused']} reused from the cache); "
                f"{s['frames_without_face']} frames without a face in {s['videos_with_missing_faces']} videos; "
                f"{len(s['videos_without_any_face'])} videos without any face; "
                f"{len(s['unreadable_videos'])} unreadable")


def face_cache_path(cache_dir: str | os.PathLike, record: VideoRecord) -> Path:
    """Where :func:`build_face_cache` writes a record's crops (the name FaceCropDataset looks for)."""
    return Path(cache_dir) / f"{record_id(record)}.npz"


def _video_signature(path: Path) -> dict[str, Any]:
    """Identify the video file's version: absolute path, size in bytes, modification time in ns."""
    try:
        stat = path.stat()
        return {"path": str(path.resolve()), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    except OSError:
        return {"path": str(path.resolve()), "bytes": None, "mtime_ns": None}


def _settings(plan: FramePlan, size: int, scale: float, max_side: int | None, policy: str,
              detect_every: int = 1) -> dict[str, Any]:
    settings = {"version": FACE_CACHE_VERSION, "plan": plan.to_dict(), "size": int(size), "scale": float(scale),
                "max_side": max_side, "policy": policy}
    if detect_every != 1:  # absent for every-frame detection, so caches written before it stay valid
        settings["detect_every"] = int(detect_every)
        # video frame numbers, not positions in the plan (caches before 2026-12-02), K / 25 s apart at
        # any frame rate (before 2026-12-04: K frames apart), by the frames' times on a variable-rate
        # video (before 2026-12-04: every round(K x average fps / 25) frames)
        settings["keyframes"] = "video frame numbers, K / 25 s apart, by the frames' times at a variable rate"
    if plan.mode == "window":  # a variable-rate video's window by time (before 2026-12-04: seconds x average fps)
        settings["window"] = "by the frames' times"
    if plan.rate is not None:  # a variable-rate video's clip steps by time (before 2026-12-04: the average fps' stride)
        settings["clip_steps"] = "by the frames' times"
    return settings


def _read_meta(path: Path) -> dict | None:
    """The metadata of an existing cache file, or None when it is absent or unreadable."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            return json.loads(str(archive["meta"])) if "meta" in archive.files else None
    except (OSError, ValueError, KeyError, EOFError, json.JSONDecodeError):
        return None


def _entry_from_meta(record: VideoRecord, path: Path, meta: dict) -> FaceCacheEntry:
    return FaceCacheEntry(str(record.path), path, int(record.label), int(meta["n_sampled"]), int(meta["n_faces"]),
                          list(meta["no_face_indices"]), list(meta["undecodable_indices"]), meta.get("error"),
                          reused=True)


def _extract_video(record: VideoRecord, extractor: Any, plan: FramePlan, spec: CropSpec, max_side: int | None,
                   policy: str, detect_every: int = 1
                   ) -> tuple[np.ndarray, np.ndarray, list[int], list[int], str | None, list[int], list[float]]:
    """(faces (N, S, S, 3) uint8, frame indices (N,), no-face indices, undecodable indices, error,
    crop sides (N,): each crop's own side, smaller than S where a native crop was padded, and the
    decoded timestamp in seconds of every planned frame, in frame order)."""
    size = spec.size or 1
    empty = np.zeros((0, size, size, 3), np.uint8), np.zeros(0, np.int64)
    try:
        track = build_track(record.path, [plan], [spec], extractor, decode_max_side=max_side or DECODE_MAX_SIDE,
                            detect_every=detect_every)
    except VideoError as error:
        return (*empty, [], [], str(error), [], [])
    timestamps = [frame.timestamp_s for frame in track.frames]
    decoded = [frame.index for frame in track.frames if frame.status != "decode_failed"]
    undecodable = [frame.index for frame in track.frames if frame.status == "decode_failed"]
    chosen = track.face_per_frame(decoded, policy)
    with_face = [(index, face) for index, face in zip(decoded, chosen) if face is not None]
    no_face = [index for index, face in zip(decoded, chosen) if face is None]
    if not with_face:
        return (*empty, no_face, undecodable, None, [], timestamps)
    crops = [face.crops[spec] for _, face in with_face]
    indices = np.array([index for index, _ in with_face], dtype=np.int64)
    return stack_crops(crops), indices, no_face, undecodable, None, crop_sides(crops), timestamps


def stack_crops(crops: list[np.ndarray]) -> np.ndarray:
    """``(N, S, S, 3)`` uint8: square crops of one size stacked, or of several sizes zero-padded at the
    bottom-right to the largest (the sides are kept apart, see :func:`crop_sides`).

    Example: crops of 3 and 5 px give a (2, 5, 5, 3) array whose first crop fills [:3, :3].
    """
    side = max(crop.shape[0] for crop in crops)
    stacked = np.zeros((len(crops), side, side, 3), np.uint8)
    for number, crop in enumerate(crops):
        stacked[number, :crop.shape[0], :crop.shape[1]] = crop
    return stacked


def crop_sides(faces: list[np.ndarray] | np.ndarray) -> list[int]:
    """The side of each crop before :func:`stack_crops` padded it (equal sides: no padding)."""
    return [int(face.shape[0]) for face in faces]


def default_extractor(size: int, scale: float, device: str | torch.device = "auto") -> Any:
    """The active tree's ``FaceExtractor`` (task 1.1), every face of a frame, largest first."""
    from common import exercises

    return exercises.face_extractor(device, size=size, scale=scale, select="all", align=False, track=False)


def build_face_cache(records: Iterable[VideoRecord], cache_dir: str | os.PathLike, *, n_frames: int = 32,
                     size: int = 256, scale: float = 1.3, device: str | torch.device = "auto",
                     progress: bool = True, max_side: int | None = None, extractor: Any = None,
                     plan: FramePlan | None = None, policy: str = "largest", native: bool = False,
                     detect_every: int = 1) -> FaceCacheResult:
    """Detect and crop the faces of ``n_frames`` evenly spaced frames of every video; cache them.

    Args:
        records: the videos (from ``common.datasets.load_dataset``).
        cache_dir: folder of the ``.npz`` files (created); one file per record, named
            ``record_id(record) + ".npz"`` as ``FaceCropDataset(cache_dir, records)`` expects.
        n_frames: frames sampled per video (32 in DeepfakeBench and the DFDC winner).
        size: side S of the square crops in pixels.
        scale: crop margin, the square's side over the face box's longer side (1.3 in FF++).
        device: where MTCNN runs.
        progress: show a tqdm bar.
        max_side: downscale frames to at most this many pixels on the long side before detection
            and cropping (``None``: as ``detect_video.py``, 1920).
        plan: the frames to read (default: ``n_frames`` evenly spaced, a frame detector's plan);
            a clip detector passes its contiguous plan.
        policy: which face of a frame is kept: the ``largest``, or the main ``subject`` track's.
        native: keep each square crop at its own size (spectral detectors: resizing destroys the
            spectrum); crops are stored zero-padded to the largest, their sides in ``crop_sizes``.
        extractor: any object with ``extract(frames, frame_indices=...) -> list[FrameFaces]``;
            default :func:`default_extractor`, created only if some video needs work.
        detect_every: MTCNN on the video's frames 0, ``detect_every``, 2 x ``detect_every``, ...,
            the faces of the planned frames between two agreeing keyframes interpolated
            (:func:`common.face_track.detect_on_keyframes`); use the value the
            detector will run with (``detect_video.py --detect-every``).

    Returns:
        A :class:`FaceCacheResult`: the list of cache paths (one per record, in order), with
        ``.entries`` (one :class:`FaceCacheEntry` per video) and ``.summary()``.

    Each cache file's metadata holds ``group``, ``method``, ``video``, the settings, the video's
    signature, ``n_sampled``, ``n_faces``, ``no_face_indices``, ``undecodable_indices``, ``error`` and
    ``timestamps_s`` (the decoded time of every planned frame, in frame order: a signal detector puts
    a variable-frame-rate window on an even time grid with them). A video that cannot be read gets an
    empty cache with its error (and is reported), so that a rerun does not try it again until the
    file changes.

    Example::

        caches = build_face_cache(splits["train"], "runs/faces", n_frames=32, size=256)
        print(caches.describe())
        train_set = FaceCropDataset("runs/faces", splits["train"])
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    plan = plan or FramePlan("spaced", count=n_frames)
    spec = CropSpec(None if native else size, scale)
    settings = _settings(plan, 0 if native else size, scale, max_side, policy, detect_every)
    entries: list[FaceCacheEntry] = []
    for record in tqdm(list(records), desc="faces", unit="video", disable=not progress):
        path = face_cache_path(cache_dir, record)
        signature = _video_signature(Path(record.path))
        meta = _read_meta(path)
        if meta is not None and meta.get("settings") == settings and meta.get("video_signature") == signature:
            entries.append(_entry_from_meta(record, path, meta))
            continue
        if extractor is None:
            extractor = default_extractor(size, scale, device)
        faces, indices, no_face, undecodable, error, sides, timestamps = _extract_video(
            record, extractor, plan, spec, max_side, policy, detect_every)
        n_sampled = len(faces) + len(no_face) + len(undecodable) if error is None else plan.count
        entry = FaceCacheEntry(str(record.path), path, int(record.label), int(n_sampled), len(faces),
                               no_face, undecodable, error)
        write_face_cache(path, faces, indices, int(record.label), group=record.group, method=record.method,
                         video=str(record.path), settings=settings, video_signature=signature,
                         n_sampled=int(n_sampled), n_faces=len(faces), no_face_indices=no_face,
                         undecodable_indices=undecodable, error=error, crop_sizes=sides,
                         timestamps_s=timestamps)
        entries.append(entry)
    return FaceCacheResult(entries)


def entries_as_dicts(result: FaceCacheResult) -> list[dict[str, Any]]:
    """The per-video entries as JSON-serialisable dicts (for a report file)."""
    return [{**asdict(entry), "cache_path": str(entry.cache_path)} for entry in result.entries]
