"""``detect_video.py``: score one video (or a folder of videos) with a trained frame-level detector.

The protocol is the one of DeepfakeBench (Yan et al. 2023) and of the DFDC winning solution
(Seferbekov 2020), the two reference pipelines for frame-level detectors:

1. **decode** ``--frames`` evenly spaced frames (32 by default) with :func:`common.video.sample_frames`;
2. **find the faces** of each frame with the exercise tree's ``FaceExtractor`` (MTCNN on frames
   shrunk to at most 960 px, square crops 1.3 times the face, at the model's input size);
3. **score every face** with the checkpoint's network in batches (``sigmoid(logit)`` = probability
   of FAKE; fp16 autocast on CUDA);
4. **aggregate**: a frame's score is the *maximum* over its faces (``--face-policy max``: one
   manipulated face makes the frame suspicious, whoever else is in the shot) or the score of the
   *largest* face (``--face-policy largest``: the main speaker); the video score aggregates the
   frame scores with ``mean`` (DeepfakeBench), ``median``, ``max`` or ``confident`` (the DFDC
   winner's strategy, :func:`common.metrics.confident_strategy`);
5. **decide**: FAKE when the video score is at or above the checkpoint's threshold (the Youden
   threshold chosen on validation data when it was trained), unless ``--threshold`` overrides it.

Nothing is dropped silently. A sampled frame without a face, or one that could not be decoded, is
listed in the report with ``status`` ``no_face`` / ``decode_failed`` and a ``reason``. A video in
which no sampled frame has a face gets the verdict ``NO_FACE`` and a ``null`` score; that is a
valid answer, not an error (exit status 0).

Memory stays bounded for any resolution and any ``--frames``: frames are decoded in chunks of
:data:`CHUNK_FRAMES`, each shrunk so its longer side is at most :data:`DECODE_MAX_SIDE` pixels
(a 4000x3000 frame is decoded to 1920x1440; faces are still found and cropped at the model's
input size, which is far smaller). Boxes in the report are in pixels of the *original* video.

The report format is documented in ``docs/report_schema.md`` and checked by
:func:`common.report.validate_report` before it is written (atomically). A folder input writes one
report per video into the output folder plus ``summary.csv``.
"""
from __future__ import annotations

import argparse
import csv
import datetime as _dt
import hashlib
import io
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from common.errors import CheckpointError, CourseError, VideoError
from common.metrics import AGGREGATIONS, aggregate_scores
from common.report import (FACE_POLICIES, SCHEMA_NAME, SCHEMA_VERSION, verdict_for, write_report,
                           write_text_atomic)
from common.video import probe_video, sample_frames, sample_indices

#: Frames decoded and processed together; bounds memory whatever ``--frames`` is.
CHUNK_FRAMES = 16
#: Frames are decoded at most this large (longer side, pixels); boxes are mapped back to the original.
DECODE_MAX_SIDE = 1920
SUMMARY_COLUMNS = ("video", "verdict", "video_score", "threshold", "frames_sampled", "frames_with_face",
                   "frames_without_face", "report", "error")


# --------------------------------------------------------------------------------------------
# The detector: network + face extractor + preprocessing
# --------------------------------------------------------------------------------------------


def sha256_of(path: str | Path, block_size: int = 1 << 20) -> str:
    """SHA-256 of a file as 64 lowercase hex digits (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(block_size), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class Detector:
    """Everything needed to score faces: the network, its checkpoint, its input spec, MTCNN.

    Build it with :meth:`load`. Attributes: ``model`` (eval mode, on ``device``), ``checkpoint``
    (:class:`common.checkpoint.Checkpoint`), ``checkpoint_path``, ``sha256``, ``device``,
    ``size`` (input side S), ``mean`` / ``std`` (per-channel normalisation of [0, 1] values),
    ``extractor`` (the tree's ``FaceExtractor``, ``select="all"``).
    """

    model: torch.nn.Module
    checkpoint: Any
    checkpoint_path: Path
    sha256: str
    device: torch.device
    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    extractor: Any

    @classmethod
    def load(cls, checkpoint_path: str | Path, device: str = "auto") -> "Detector":
        """Load a checkpoint (weights only, architecture from its metadata) and build MTCNN.

        Raises:
            CheckpointError: missing, foreign, unsafe or mismatched checkpoint (one line).
            DeviceError: the device is not available (one line).
        """
        from common.device import resolve_device
        from common.models import load_detector
        from common.tools.phase1_evaluate import checkpoint_preprocessing
        from phase1_cnn_detection.template_face_extraction import FaceExtractor

        path = Path(checkpoint_path)
        if not path.is_file():
            raise CheckpointError(f"checkpoint '{path}': no such file" if not path.exists()
                                  else f"checkpoint '{path}': is a folder, not a checkpoint file")
        chosen = resolve_device(device)
        model, checkpoint = load_detector(path, chosen)
        model.eval()
        prep = checkpoint_preprocessing(checkpoint)  # what train.py stored, else the registry's
        extractor = FaceExtractor(device=chosen, size=prep.size, scale=prep.scale, select="all", track=False)
        return cls(model=model, checkpoint=checkpoint, checkpoint_path=path, sha256=sha256_of(path),
                   device=chosen, size=prep.size, mean=tuple(float(m) for m in prep.mean),
                   std=tuple(float(s) for s in prep.std), extractor=extractor)

    def score_crops(self, crops: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """Probability of FAKE for each face crop.

        Args:
            crops: ``(N, S, S, 3)`` uint8 RGB crops at the model's input size.
            batch_size: crops per forward pass.

        Returns:
            ``(N,)`` float64 probabilities in [0, 1].
        """
        from common.device import autocast_for

        if len(crops) == 0:
            return np.zeros(0, dtype=np.float64)
        mean = torch.tensor(self.mean, device=self.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, device=self.device).view(1, 3, 1, 1)
        scores = []
        with torch.inference_mode():
            for start in range(0, len(crops), batch_size):
                batch = torch.from_numpy(np.ascontiguousarray(crops[start:start + batch_size])).to(self.device)
                batch = (batch.permute(0, 3, 1, 2).float() / 255.0 - mean) / std
                with autocast_for(self.device):
                    logits = self.model(batch)
                scores.append(torch.sigmoid(logits.float().reshape(len(batch), -1)[:, 0]).cpu().numpy())
        return np.concatenate(scores).astype(np.float64)


# --------------------------------------------------------------------------------------------
# One video
# --------------------------------------------------------------------------------------------


def frame_score(faces: list[dict], policy: str) -> tuple[float | None, int | None]:
    """A frame's probability of FAKE from its scored faces, and which face gave it.

    Args:
        faces: report face entries (``fake_probability``, ``box``).
        policy: ``"max"`` (highest face score) or ``"largest"`` (the face with the largest box).

    Returns:
        ``(score, position in faces)``, or ``(None, None)`` when there is no face.

    Example:
        >>> faces = [{"box": [0, 0, 10, 10], "fake_probability": 0.2}, {"box": [0, 0, 5, 5], "fake_probability": 0.9}]
        >>> frame_score(faces, "max"), frame_score(faces, "largest")
        ((0.9, 1), (0.2, 0))
    """
    if not faces:
        return None, None
    if policy == "max":
        position = int(np.argmax([face["fake_probability"] for face in faces]))
    elif policy == "largest":
        areas = [(f["box"][2] - f["box"][0]) * (f["box"][3] - f["box"][1]) for f in faces]
        position = int(np.argmax(areas))
    else:
        raise ValueError(f"unknown face policy {policy!r}; choose one of {', '.join(FACE_POLICIES)}")
    return float(faces[position]["fake_probability"]), position


def _clipped_box(box: np.ndarray, factor: float, width: int, height: int) -> list[float]:
    """A detection box in decoded pixels -> original-video pixels, clipped to the frame."""
    x1, y1, x2, y2 = (float(v) / factor for v in box)
    x1, x2 = min(max(x1, 0.0), width - 1.0), min(max(x2, 0.0), float(width))
    y1, y2 = min(max(y1, 0.0), height - 1.0), min(max(y2, 0.0), float(height))
    return [round(x1, 2), round(y1, 2), round(max(x2, x1 + 1.0), 2), round(max(y2, y1 + 1.0), 2)]


def _versions() -> dict[str, str]:
    import av
    import cv2

    import common

    try:
        import facenet_pytorch
        facenet = getattr(facenet_pytorch, "__version__", "installed")
    except ImportError:  # pragma: no cover - the face extractor would have failed first
        facenet = "not installed"
    try:
        import torchvision
        torchvision_version = torchvision.__version__
    except ImportError:  # pragma: no cover
        torchvision_version = "not installed"
    return {"python": platform.python_version(), "torch": str(torch.__version__),
            "torchvision": str(torchvision_version), "numpy": np.__version__, "opencv": cv2.__version__,
            "av": av.__version__, "facenet_pytorch": str(facenet),
            "course": str(getattr(common, "__version__", "unversioned"))}


def _frame_entries(chunk, results, scores_by_face, factor: float, info, square_crop_box, detector,
                   policy: str) -> list[dict]:
    """Report entries for one decoded chunk (faces found, scored, boxes in original pixels)."""
    entries = []
    face_number = 0
    for index, timestamp, frame, result in zip(chunk.indices.tolist(), chunk.timestamps_s.tolist(),
                                               chunk.frames, results):
        faces = []
        for face in result.faces:
            crop_box = square_crop_box(face.box, detector.extractor.scale, frame.shape)
            faces.append({
                "box": _clipped_box(face.box, factor, info.width, info.height),
                "crop_box": [round(float(v) / factor, 2) for v in crop_box],
                "landmarks": [[round(float(x) / factor, 2), round(float(y) / factor, 2)] for x, y in face.landmarks],
                "face_probability": round(min(max(float(face.probability), 0.0), 1.0), 6),
                "fake_probability": float(scores_by_face[face_number]),
            })
            face_number += 1
        score, scored_face = frame_score(faces, policy)
        entries.append({
            "index": int(index),
            "timestamp_s": round(float(max(timestamp, 0.0)), 6),
            "status": "face" if faces else "no_face",
            "reason": None if faces else
            f"no face with MTCNN probability >= {detector.extractor.min_probability:g} in this frame",
            "faces": faces,
            "fake_probability": score,
            "scored_face": scored_face,
        })
    return entries


def analyse_video(video_path: str | Path, detector: Detector, *, frames: int = 32, aggregation: str = "mean",
                  threshold: float | None = None, face_policy: str = "max", batch_size: int = 64,
                  tree: str = "templates") -> dict:
    """Score one video and return its report (a JSON-ready dict; see ``docs/report_schema.md``).

    Args:
        video_path: the video file.
        detector: from :meth:`Detector.load`.
        frames: number of evenly spaced frames to analyse (>= 1).
        aggregation: one of :data:`common.metrics.AGGREGATIONS`.
        threshold: decision threshold in [0, 1]; ``None`` uses the checkpoint's.
        face_policy: ``"max"`` or ``"largest"`` (see :func:`frame_score`).
        batch_size: faces per forward pass.
        tree: name of the exercise tree (recorded in the report).

    Returns:
        The report dict (valid for :func:`common.report.validate_report`).

    Raises:
        VideoError: the file is not a readable video, or no requested frame decodes.
    """
    from phase1_cnn_detection.template_face_extraction import square_crop_box

    started = time.perf_counter()
    timings = {"decode": 0.0, "faces": 0.0, "model": 0.0}
    path = Path(video_path)
    tick = time.perf_counter()
    info = probe_video(path)
    if info.frame_count < 1:
        raise VideoError(f"cannot read video '{path}': it has no frames")
    wanted = sample_indices(info.frame_count, frames)
    timings["decode"] += time.perf_counter() - tick
    entries: list[dict] = []
    for start in range(0, len(wanted), CHUNK_FRAMES):
        tick = time.perf_counter()
        chunk_indices = wanted[start:start + CHUNK_FRAMES]
        try:
            chunk = sample_frames(path, indices=chunk_indices, max_side=DECODE_MAX_SIDE)
        except VideoError:
            chunk = None  # not one frame of this chunk decodes: listed below, frame by frame
        timings["decode"] += time.perf_counter() - tick
        if chunk is None or len(chunk.indices) == 0:
            entries.extend(_not_decoded(i, info.fps) for i in chunk_indices.tolist())
            continue
        factor = chunk.frames.shape[2] / info.width
        tick = time.perf_counter()
        results = detector.extractor.extract(chunk.frames, frame_indices=chunk.indices.tolist())
        timings["faces"] += time.perf_counter() - tick
        crops = [face.crop for result in results for face in result.faces]
        tick = time.perf_counter()
        scores = detector.score_crops(np.stack(crops) if crops else np.zeros((0, 1, 1, 3), np.uint8), batch_size)
        timings["model"] += time.perf_counter() - tick
        decoded = _frame_entries(chunk, results, scores, factor, info, square_crop_box, detector, face_policy)
        entries.extend(decoded + [_not_decoded(i, info.fps) for i in chunk.missing])
    entries.sort(key=lambda entry: entry["index"])
    if all(entry["status"] == "decode_failed" for entry in entries):
        raise VideoError(f"cannot read video '{path}': none of the {len(wanted)} sampled frames could be decoded")
    scored = [entry["fake_probability"] for entry in entries if entry["status"] == "face"]
    video_score = aggregate_scores(scored, aggregation) if scored else None
    chosen_threshold = float(detector.checkpoint.threshold if threshold is None else threshold)
    timings["total"] = time.perf_counter() - started
    return {
        "schema": SCHEMA_NAME,
        "schema_version": SCHEMA_VERSION,
        "created": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tree": tree,
        "input": {"path": str(path), "video": info.to_dict()},
        "model": {
            "architecture": detector.checkpoint.architecture,
            "checkpoint": str(detector.checkpoint_path),
            "sha256": detector.sha256,
            "threshold": float(detector.checkpoint.threshold),
            "input_size": detector.size,
            "created": str(detector.checkpoint.created),
            "validation_metrics": _plain_metrics(detector.checkpoint.metrics),
        },
        "versions": _versions(),
        "settings": {
            "frames_requested": int(frames),
            "face_policy": face_policy,
            "face_scale": detector.extractor.scale,
            "min_face_probability": detector.extractor.min_probability,
            "detection_max_side": detector.extractor.max_detection_side,
            "decode_max_side": DECODE_MAX_SIDE,
            "device": str(detector.device),
            "batch_size": int(batch_size),
        },
        "frames": entries,
        "summary": {
            "frames_sampled": len(entries),
            "frames_with_face": len(scored),
            "frames_without_face": sum(entry["status"] == "no_face" for entry in entries),
            "frames_not_decoded": sum(entry["status"] == "decode_failed" for entry in entries),
            "faces_scored": sum(len(entry["faces"]) for entry in entries),
            "frames_with_several_faces": sum(len(entry["faces"]) > 1 for entry in entries),
        },
        "video_score": video_score,
        "verdict": verdict_for(video_score, chosen_threshold),
        "threshold": chosen_threshold,
        "threshold_overridden": threshold is not None,
        "aggregation": aggregation,
        "timings_s": {stage: round(seconds, 4) for stage, seconds in timings.items()},
    }


def _not_decoded(index: int, fps: float) -> dict:
    return {"index": int(index), "timestamp_s": round(index / fps, 6), "status": "decode_failed",
            "reason": "this frame could not be decoded (corrupt or truncated data)", "faces": [],
            "fake_probability": None, "scored_face": None}


def _plain_metrics(metrics: dict) -> dict:
    """Keep the JSON-friendly numbers and strings of a checkpoint's validation metrics."""
    plain = {}
    for key, value in metrics.items():
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            if not isinstance(value, float) or np.isfinite(value):
                plain[str(key)] = value
    return plain


# --------------------------------------------------------------------------------------------
# Folders
# --------------------------------------------------------------------------------------------


def _report_names(videos: list[Path]) -> dict[Path, str]:
    """``<stem>.json`` per video, or ``<file name>.json`` where two videos share a stem."""
    stems = [video.stem for video in videos]
    return {video: (f"{video.stem}.json" if stems.count(video.stem) == 1 else f"{video.name}.json")
            for video in videos}


def summary_row(video: Path, report: dict | None, report_path: Path | None, error: str = "") -> dict:
    """One ``summary.csv`` row (see :data:`SUMMARY_COLUMNS`); ``report`` is None for a failed video."""
    if report is None:
        return {"video": str(video), "verdict": "ERROR", "video_score": "", "threshold": "", "frames_sampled": "",
                "frames_with_face": "", "frames_without_face": "", "report": "", "error": error}
    score = report["video_score"]
    return {"video": str(video), "verdict": report["verdict"], "video_score": "" if score is None else f"{score:.6f}",
            "threshold": f"{report['threshold']:.6f}", "frames_sampled": report["summary"]["frames_sampled"],
            "frames_with_face": report["summary"]["frames_with_face"],
            "frames_without_face": report["summary"]["frames_without_face"], "report": str(report_path), "error": ""}


def write_summary_csv(path: str | Path, rows: list[dict]) -> Path:
    """Write the folder summary (one row per video, columns :data:`SUMMARY_COLUMNS`) atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SUMMARY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return write_text_atomic(path, buffer.getvalue())


def analyse_folder(folder: str | Path, detector: Detector, output_dir: str | Path, *, progress: bool = True,
                   **options: Any) -> tuple[list[dict], Path]:
    """Analyse every video of ``folder`` (not recursive); write ``<name>.json`` reports and ``summary.csv``.

    A video that cannot be read does not stop the others: its row in the summary has verdict
    ``ERROR`` and the one-line reason.

    Returns:
        ``(summary rows, summary.csv path)``.

    Raises:
        CourseError: the folder holds no video file.
    """
    from common.datasets import list_videos

    folder, output_dir = Path(folder), Path(output_dir)
    videos = list_videos(folder)
    if not videos:
        raise CourseError(f"input folder '{folder}' contains no video files (.mp4, .avi, .mov, .mkv, .webm ...)")
    names = _report_names(videos)
    rows = []
    for video in tqdm(videos, desc="videos", unit="video", disable=not progress):
        try:
            report = analyse_video(video, detector, **options)
        except VideoError as error:
            rows.append(summary_row(video, None, None, str(error)))
            continue
        report_path = write_report(output_dir / names[video], report)
        rows.append(summary_row(video, report, report_path))
    return rows, write_summary_csv(output_dir / "summary.csv", rows)


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from grader.tree import add_tree_argument

    parser = argparse.ArgumentParser(
        prog="detect_video.py",
        description="Score a video (or every video of a folder) with a trained deepfake detector.",
    )
    parser.add_argument("--input", required=True, help="a video file, or a folder of videos")
    parser.add_argument("--model", required=True, help="checkpoint written by phase1_cnn_detection/train.py")
    parser.add_argument("--output", required=True,
                        help="report .json for a video; for a folder input, the folder for the reports and summary.csv")
    parser.add_argument("--frames", type=int, default=32, help="evenly spaced frames to analyse (default 32)")
    parser.add_argument("--aggregation", choices=AGGREGATIONS, default="mean",
                        help="frame scores -> video score (default mean; 'confident' is the DFDC winner's)")
    parser.add_argument("--face-policy", choices=FACE_POLICIES, default="max",
                        help="with several faces in a frame: the most FAKE one (max, default) or the largest")
    parser.add_argument("--threshold", type=float, default=None,
                        help="decision threshold on the video score (default: the checkpoint's)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--batch-size", type=int, default=64, help="faces per forward pass (default 64)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_tree_argument(parser)
    return parser


def _check_arguments(args: argparse.Namespace) -> None:
    if args.frames < 1:
        raise CourseError(f"--frames must be at least 1, got {args.frames}")
    if args.batch_size < 1:
        raise CourseError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
        raise CourseError(f"--threshold must lie in [0, 1], got {args.threshold}")


def check_output_folder(folder: Path, what: str) -> None:
    """Fail early (one line) when ``folder`` is missing or cannot be written, before any analysis."""
    if not folder.is_dir():
        raise CourseError(f"cannot write {what}: folder '{folder}' does not exist" if not folder.exists()
                          else f"cannot write {what}: '{folder}' is not a folder")
    probe = folder / f".write-test-{time.time_ns()}.tmp"
    try:
        probe.write_bytes(b"")
    except OSError as error:
        raise CourseError(f"cannot write {what} in '{folder}': {error.strerror or error}") from None
    probe.unlink(missing_ok=True)


def _single_output(output: Path) -> None:
    if output.is_dir():
        raise CourseError(f"--output '{output}' is a folder; give a .json file for a single video")
    if output.suffix.lower() != ".json":
        raise CourseError(f"--output '{output}' should be a .json file")
    check_output_folder(output.parent if str(output.parent) else Path("."), f"report '{output}'")


def _folder_output(output: Path) -> None:
    if output.exists() and not output.is_dir():
        raise CourseError(f"--output '{output}' is a file; for a folder input give a folder for the reports")
    check_output_folder(output.parent if str(output.parent) else Path("."), f"reports folder '{output}'")
    output.mkdir(exist_ok=True)


def _todo_as_course_error(error: NotImplementedError) -> CourseError:
    """An unfinished exercise met by a tool: one line naming the task, instead of a traceback."""
    from grader.todo import TodoError, todo_line
    from grader.tree import exercise_root

    if isinstance(error, TodoError):
        return CourseError(f"{todo_line(error, exercise_root())}; finish that task or run with --solutions")
    return CourseError(f"not implemented: {error}")


def main(argv: list[str] | None = None) -> int:
    """Command line: see ``python detect_video.py --help``. Exit 0 on success (verdict NO_FACE included)."""
    from grader.tree import activate_from_args, active_name

    args = build_parser().parse_args(argv)
    activate_from_args(args)
    _check_arguments(args)
    source, output = Path(args.input), Path(args.output)
    if not source.exists():
        raise VideoError(f"cannot read video '{source}': no such file or folder")
    (_folder_output if source.is_dir() else _single_output)(output)
    options = dict(frames=args.frames, aggregation=args.aggregation, threshold=args.threshold,
                   face_policy=args.face_policy, batch_size=args.batch_size, tree=active_name())
    try:
        detector = Detector.load(args.model, args.device)
        if source.is_dir():
            return _run_folder(source, detector, output, not args.quiet, options)
        report = analyse_video(source, detector, **options)
    except NotImplementedError as error:
        raise _todo_as_course_error(error) from None
    write_report(output, report)
    _print_verdict(report, output)
    return 0


def _run_folder(source: Path, detector: Detector, output: Path, progress: bool, options: dict) -> int:
    rows, summary_path = analyse_folder(source, detector, output, progress=progress, **options)
    for row in rows:
        score = row["video_score"] or "-"
        print(f"{row['verdict']:8s} {score:>9s}  {row['video']}")
    failed = [row for row in rows if row["verdict"] == "ERROR"]
    print(f"summary: {summary_path}")
    if failed:
        raise CourseError(f"{len(failed)} of {len(rows)} videos could not be analysed "
                          f"(first: {failed[0]['error']}); see {summary_path}")
    return 0


def _print_verdict(report: dict, output: Path) -> None:
    summary = report["summary"]
    if report["video_score"] is None:
        print(f"verdict: NO_FACE (no face in any of the {summary['frames_sampled']} sampled frames)")
    else:
        print(f"verdict: {report['verdict']} (video score {report['video_score']:.3f}, threshold "
              f"{report['threshold']:.3f}, {report['aggregation']} of {summary['frames_with_face']} frames; "
              f"{summary['frames_without_face']} without a face)")
    print(f"report: {output}")
