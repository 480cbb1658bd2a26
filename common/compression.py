"""Re-encode test videos the way they travel: H.264 at FaceForensics++'s two qualities, or at half size.

Frequency cues are the first casualties of compression: H.264 quantises the high-frequency DCT
coefficients of every 4x4 / 8x8 block, exactly where an upsampling grid lives, and downscaling is
a low-pass filter. FaceForensics++ (Rossler et al. 2019) publishes every video at three qualities:
``raw``, ``c23`` (x264 constant rate factor 23, visually near-lossless, the usual benchmark) and
``c40`` (CRF 40, strongly compressed, as on many social networks). This module makes the same
variants of any test set, so a detector's AUC can be measured raw / CRF 23 / CRF 40 / half size:

* :data:`REENCODINGS` names the variants (``raw``, ``crf23``, ``crf40``, ``half``);
* :func:`reencode_video` decodes a video with :func:`common.video.iter_frames` and writes it again
  with :func:`common.video.write_video` (PyAV + libx264, yuv420p), optionally downscaled;
* :func:`reencode_records` does it for a list of dataset records and returns records that point at
  the new files (labels, groups and splits unchanged), reusing files already written.

``python <phase>/evaluate.py --reencode raw,crf23,crf40,half`` scores a checkpoint on each variant
(:mod:`common.tools.evaluate`). ``python <phase>/train.py --train-reencode crf23,crf40`` adds
re-encoded copies of every *training* video to the training set (:func:`training_copies`): the
compression a detector will meet becomes part of what it learns (FaceForensics++'s lesson).

Note that a re-encoded video is compressed *again*: the course's mini-forensics clips are already
H.264 at CRF 18, so ``crf23`` is a second, lossier generation (FaceForensics++ compresses its raw
frames once). ``half`` keeps the source's quality (CRF 18) and halves both sides with ``INTER_AREA``.
"""
from __future__ import annotations

import dataclasses
import itertools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from common.errors import CourseError


@dataclass(frozen=True)
class Reencoding:
    """One way to re-encode a video.

    Attributes:
        name: the variant's name (``--reencode`` value and folder name).
        crf: x264 constant rate factor (0 lossless .. 51; 23 is x264's default, 40 heavy).
        scale: factor applied to both sides before encoding (0.5 = half resolution); 1.0 keeps them.
        description: one line for reports.
    """

    name: str
    crf: int | None
    scale: float = 1.0
    description: str = ""

    @property
    def changes_video(self) -> bool:
        """False for ``raw`` (the original file is used as it is)."""
        return self.crf is not None


SOURCE_CRF = 18
"""The CRF of :func:`common.video.write_video` (and of mini-forensics): kept by the ``half`` variant."""

REENCODINGS: dict[str, Reencoding] = {
    "raw": Reencoding("raw", None, 1.0, "the test videos as they are"),
    "crf23": Reencoding("crf23", 23, 1.0, "H.264 CRF 23 (FaceForensics++ c23)"),
    "crf40": Reencoding("crf40", 40, 1.0, "H.264 CRF 40 (FaceForensics++ c40)"),
    "half": Reencoding("half", SOURCE_CRF, 0.5, f"half resolution (INTER_AREA), H.264 CRF {SOURCE_CRF}"),
}
"""The variants ``--reencode`` accepts, in the order of the course's tables."""


def parse_reencodings(text: str, option: str = "--reencode", *, names: Sequence[str] | None = None) -> list[Reencoding]:
    """``"raw,crf23,crf40,half"`` -> the :class:`Reencoding` of each name, in the given order.

    Also accepts ``crfN`` for any N in 0..51 (e.g. ``crf30``). Duplicates are dropped. ``option``
    names the command-line option in the error messages; ``names`` restricts the named variants
    (default: all of :data:`REENCODINGS`).

    Raises:
        CourseError: an empty list or an unknown name (one line listing the known ones).

    Example:
        >>> [r.name for r in parse_reencodings("raw, crf40")]
        ['raw', 'crf40']
    """
    known = {name: REENCODINGS[name] for name in (names if names is not None else REENCODINGS)}
    wanted = [part.strip() for part in str(text).split(",") if part.strip()]
    if not wanted:
        raise CourseError(f"{option} needs at least one of {', '.join(known)}")
    chosen: list[Reencoding] = []
    for name in wanted:
        variant = known.get(name)
        if variant is None and name.startswith("crf") and name[3:].isdigit() and 0 <= int(name[3:]) <= 51:
            variant = Reencoding(name, int(name[3:]), 1.0, f"H.264 CRF {int(name[3:])}")
        if variant is None:
            raise CourseError(f"{option}: unknown re-encoding '{name}': choose from {', '.join(known)} (or crfN, N = 0..51)")
        if variant not in chosen:
            chosen.append(variant)
    return chosen


def scaled_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """``(width, height)`` times ``scale``, rounded, at least 2 pixels each.

    Example: ``scaled_size(128, 96, 0.5)`` -> ``(64, 48)``; ``scaled_size(127, 95, 0.5)`` -> ``(64, 48)``.
    """
    return max(2, int(round(width * scale))), max(2, int(round(height * scale)))


def reencode_video(source: str | os.PathLike, destination: str | os.PathLike, *, crf: int,
                   scale: float = 1.0) -> Path:
    """Decode ``source`` and write it to ``destination`` as H.264 at ``crf``, optionally resized.

    Every frame is read (:func:`common.video.iter_frames`, one at a time), resized by ``scale`` with
    ``cv2.INTER_AREA`` when ``scale != 1`` (an area average: the anti-aliased way to shrink), and
    written by :func:`common.video.write_video` at its own decoded time (libx264, yuv420p; an odd
    side is padded to even by repeating the last row or column): a phone's variable frame rate, or
    the gap of a frame that failed to decode, stays where it was instead of every later frame moving
    to ``index / fps``. The write is atomic.

    Args:
        source: a video file.
        destination: the new file (``.mp4``); its folder is created.
        crf: 0..51.
        scale: in (0, 1]; 0.5 halves both sides.

    Returns:
        ``Path(destination)``.

    Raises:
        VideoError: the source cannot be read or the destination cannot be written.
        ValueError: ``crf`` or ``scale`` out of range.
    """
    from common.video import iter_frames, probe_video, write_video

    if not 0 <= int(crf) <= 51:
        raise ValueError(f"crf must be in 0..51, got {crf}")
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1], got {scale}")
    info = probe_video(source)
    size = scaled_size(info.width, info.height, scale)

    # one decoding pass feeds both the frames and their times; write_video reads them in step
    for_frames, for_times = itertools.tee(iter_frames(source))
    frames = (frame if scale == 1 else cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
              for _, _, frame in for_frames)
    return write_video(destination, frames, info.fps, crf=int(crf),
                       timestamps_s=(timestamp for _, timestamp, _ in for_times))


def reencoded_path(record_path: str | os.PathLike, data_root: str | os.PathLike, output_root: str | os.PathLike,
                   variant: Reencoding, *, tag: bool = False) -> Path:
    """Where a video's re-encoded copy goes: ``output_root/<variant>/<path relative to data_root>``
    (``.mp4``), or ``output_root/<variant>/<file name>`` for a video outside ``data_root``.

    ``tag=True`` also puts the variant in the file name (``clip_001.mp4`` -> ``clip_001.crf23.mp4``),
    so that a copy that sits beside its original in one training set gets its own face-cache id
    (:func:`common.torch_data.record_id` reads only the last four path components and the stem)."""
    path = Path(record_path)
    try:
        relative = path.resolve().relative_to(Path(data_root).resolve())
    except ValueError:
        relative = Path(path.name)
    relative = relative.with_name(f"{relative.stem}.{variant.name}.mp4") if tag else relative.with_suffix(".mp4")
    return Path(output_root) / variant.name / relative


def reencode_records(records: Sequence, variant: Reencoding, data_root: str | os.PathLike,
                     output_root: str | os.PathLike, *, progress: bool = False, tag: bool = False) -> list:
    """Re-encode every record's video; return copies of the records that point at the new files.

    ``raw`` returns the records unchanged. A re-encoded file newer than its source is reused, so a
    second evaluation does not encode again. Labels, methods, groups, splits and ``extra`` are kept
    (``dataclasses.replace`` of :class:`common.datasets.VideoRecord`).

    Args:
        records: the videos (``VideoRecord``).
        variant: one of :data:`REENCODINGS` (or from :func:`parse_reencodings`).
        data_root: the dataset folder (to keep the sub-folders, e.g. ``videos/test/``).
        output_root: where the variants' folders go.
        progress: print one line per variant.
        tag: put the variant in the file names (:func:`reencoded_path`).
    """
    if not variant.changes_video:
        return list(records)
    written = []
    for record in records:
        target = reencoded_path(record.path, data_root, output_root, variant, tag=tag)
        if not (target.is_file() and target.stat().st_mtime_ns >= Path(record.path).stat().st_mtime_ns):
            reencode_video(record.path, target, crf=variant.crf, scale=variant.scale)
        written.append(dataclasses.replace(record, path=target))
    if progress:
        print(f"re-encoded {len(written)} videos: {variant.description} -> {Path(output_root) / variant.name}")
    return written


def parse_training_reencodings(text: str) -> list[Reencoding]:
    """The ``--train-reencode`` list: :func:`parse_reencodings` without ``raw`` (the training videos
    themselves are always in the training set, a ``raw`` copy would only count them twice).

    Example:
        >>> [r.name for r in parse_training_reencodings("crf23,crf40")]
        ['crf23', 'crf40']
    """
    if "raw" in [part.strip() for part in str(text).split(",")]:
        raise CourseError("--train-reencode: 'raw' is not a re-encoding (the original training videos are always "
                          "used): list only crf23, crf40, half or crfN")
    return parse_reencodings(text, option="--train-reencode", names=[n for n, v in REENCODINGS.items() if v.changes_video])


def training_copies(records: Sequence, variants: Sequence[Reencoding], data_root: str | os.PathLike,
                    output_root: str | os.PathLike, *, progress: bool = False) -> list:
    """Compression as a training augmentation: one re-encoded copy of every record per variant.

    Each copy is a record with the original's label, method, group (identity) and split, pointing
    at ``output_root/<variant>/<path relative to data_root, variant in the name>`` (written
    atomically, reused while newer than its source, so a second training run encodes nothing).
    Give it the *training* records only: validation picks the epoch and calibrates the scores,
    so it must see the data the detector will be deployed on as it comes; the test split measures.

    Args:
        records: the training videos (``VideoRecord``).
        variants: from :func:`parse_training_reencodings` (no ``raw``).
        data_root: the dataset folder.
        output_root: the copies' folder, e.g. ``<output-dir>/train_reencoded``.
        progress: one line per variant.

    Returns:
        ``len(records) * len(variants)`` records, variant by variant, in the order of ``records``.

    Example: 170 training videos and ``crf23,crf40`` -> 340 copies; the training set holds 510.
    """
    copies: list = []
    for variant in variants:
        if not variant.changes_video:
            raise CourseError("training copies need a re-encoding, not 'raw'")
        copies += reencode_records(records, variant, data_root, output_root, progress=progress, tag=True)
    return copies


def mean_psnr(original: np.ndarray, changed: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two uint8 frame stacks of one shape (``inf`` when equal).

    ``10 log10(255^2 / MSE)`` over every pixel. Measured on three mini-forensics test clips (already
    CRF 18) re-encoded once more: 41-44 dB at CRF 18, 37-42 dB at CRF 23, 28-34 dB at CRF 40.
    """
    a = np.asarray(original, dtype=np.float64)
    b = np.asarray(changed, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} and {b.shape}")
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)
