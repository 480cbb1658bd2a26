"""The JSON analysis report written by ``detect_video.py``: its schema, validation and atomic writing.

A report answers "is this video a deepfake, and why do we think so?" in a form that a person can
read and a program can check. It keeps everything needed to reproduce or audit the verdict: which
file was analysed (with its :class:`common.video.VideoInfo`), which checkpoint scored it (path,
SHA-256, architecture, decision threshold), the software versions, every sampled frame with its
faces and scores, every sampled frame *without* a face listed explicitly with the reason (a common
complaint about DeepfakeBench is that such frames are skipped silently), how the frame scores were
aggregated, and how long each stage took.

The full field-by-field description is in ``docs/report_schema.md``; :data:`SCHEMA_NAME` and
:data:`SCHEMA_VERSION` identify it inside the file. :func:`validate_report` is a small hand-written
validator (no ``jsonschema`` dependency): it returns a list of problems, each naming the JSON path
of the field, and :func:`check_report` raises a one-line :class:`~common.errors.CourseError` when
that list is not empty. ``visualize_detection.py`` reads reports through :func:`read_report`, so a
hand-edited or foreign JSON file is refused with a clear message instead of a ``KeyError``.

Verdicts: ``"FAKE"`` when the video score is at or above the threshold, ``"REAL"`` below it, and
``"NO_FACE"`` when not one sampled frame contained a face (then ``video_score`` is ``null``). A
video without faces is not an error: the tool exits with status 0 and the report says so.
"""
from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from common.atomic import atomic_output
from common.errors import CourseError

SCHEMA_NAME = "deepfake-course-report"
SCHEMA_VERSION = 2
"""Version 2 (several detectors of any kind, a ``detectors`` section); version 1 reports (one
frame-level detector) are still read and validated."""

VERDICTS = ("REAL", "FAKE", "NO_FACE", "UNDECIDED")
FRAME_STATUSES = ("face", "no_face", "decode_failed")
FACE_POLICIES = ("track", "max", "largest")
DETECTOR_STATUSES = ("ok", "no_face", "could_not_run")
INPUT_KINDS = ("video", "image")
TIMING_STAGES = ("decode", "faces", "model", "total")


class ReportError(CourseError):
    """A report file is missing, is not JSON, or does not follow the report schema."""


# --------------------------------------------------------------------------------------------
# Verdict
# --------------------------------------------------------------------------------------------


def verdict_for(video_score: float | None, threshold: float) -> str:
    """Turn a video score into ``"FAKE"``, ``"REAL"`` or ``"NO_FACE"``.

    Args:
        video_score: the video's probability of FAKE in [0, 1], or ``None`` when no face was found.
        threshold: decision threshold in [0, 1]; a score equal to it counts as FAKE.

    Example:
        >>> verdict_for(0.7, 0.5), verdict_for(0.2, 0.5), verdict_for(None, 0.5)
        ('FAKE', 'REAL', 'NO_FACE')
    """
    if video_score is None:
        return "NO_FACE"
    return "FAKE" if video_score >= threshold else "REAL"


def detector_verdict(status: str, video_score: float | None, threshold: float) -> str:
    """A detector's verdict: from its score when it ran, ``NO_FACE`` when it found no face, and
    ``UNDECIDED`` when it could not run (e.g. a clip too short); the report says why."""
    if status == "could_not_run":
        return "UNDECIDED"
    return verdict_for(video_score, threshold)


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Checker:
    """Collects problems as ``"<json path>: <what is wrong>"`` strings."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def mapping(self, parent: Any, key: str, where: str) -> dict | None:
        value = self.field(parent, key, where)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.add(f"{where}.{key}", f"must be an object, got {type(value).__name__}")
            return None
        return dict(value)

    def field(self, parent: Mapping, key: str, where: str, *, nullable: bool = False) -> Any:
        if key not in parent:
            self.add(f"{where}.{key}", "is missing")
            return None
        value = parent[key]
        if value is None and not nullable:
            self.add(f"{where}.{key}", "must not be null")
        return value

    def number(self, parent: Mapping, key: str, where: str, *, low: float | None = None,
               high: float | None = None, nullable: bool = False) -> float | None:
        value = self.field(parent, key, where, nullable=nullable)
        if value is None:
            return None
        if not _is_number(value):
            self.add(f"{where}.{key}", f"must be a finite number, got {value!r}")
            return None
        if (low is not None and value < low) or (high is not None and value > high):
            self.add(f"{where}.{key}", f"must lie in [{low}, {high}], got {value!r}")
        return float(value)

    def integer(self, parent: Mapping, key: str, where: str, *, low: int | None = None) -> int | None:
        value = self.field(parent, key, where)
        if value is None:
            return None
        if not _is_int(value):
            self.add(f"{where}.{key}", f"must be an integer, got {value!r}")
            return None
        if low is not None and value < low:
            self.add(f"{where}.{key}", f"must be >= {low}, got {value}")
        return value

    def string(self, parent: Mapping, key: str, where: str, *, choices: tuple[str, ...] | None = None,
               nullable: bool = False) -> str | None:
        value = self.field(parent, key, where, nullable=nullable)
        if value is None:
            return None
        if not isinstance(value, str):
            self.add(f"{where}.{key}", f"must be a string, got {value!r}")
            return None
        if choices is not None and value not in choices:
            self.add(f"{where}.{key}", f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    def array(self, parent: Mapping, key: str, where: str) -> list | None:
        value = self.field(parent, key, where)
        if value is None:
            return None
        if not isinstance(value, list):
            self.add(f"{where}.{key}", f"must be an array, got {type(value).__name__}")
            return None
        return value


def _check_video(check: _Checker, video: dict, where: str) -> None:
    check.string(video, "path", where)
    check.number(video, "fps", where, low=0.0)
    check.integer(video, "frame_count", where, low=0)
    check.integer(video, "width", where, low=1)
    check.integer(video, "height", where, low=1)
    check.number(video, "duration_s", where, low=0.0)
    check.string(video, "codec", where)


def _check_sha256(check: _Checker, parent: dict, where: str) -> None:
    sha = check.string(parent, "sha256", where)
    if sha is not None and (len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha)):
        check.add(f"{where}.sha256", "must be 64 lowercase hexadecimal digits")


def _check_model(check: _Checker, model: dict, where: str) -> None:
    check.string(model, "architecture", where)
    check.string(model, "checkpoint", where)
    _check_sha256(check, model, where)
    check.number(model, "threshold", where, low=0.0, high=1.0)
    if model.get("kind") != "fusion":  # a fusion reads scores, not face crops
        check.integer(model, "input_size", where, low=1)


def _check_face(check: _Checker, face: Any, where: str, video: dict | None) -> None:
    if not isinstance(face, Mapping):
        check.add(where, "must be an object")
        return
    box = check.array(face, "box", where)
    if box is not None:
        if len(box) != 4 or not all(_is_number(v) for v in box):
            check.add(f"{where}.box", f"must be [x1, y1, x2, y2] numbers, got {box!r}")
        elif not (box[0] < box[2] and box[1] < box[3]):
            check.add(f"{where}.box", f"must have x1 < x2 and y1 < y2, got {box!r}")
        elif video and _is_int(video.get("width")) and _is_int(video.get("height")):
            if box[0] < 0 or box[1] < 0 or box[2] > video["width"] or box[3] > video["height"]:
                check.add(f"{where}.box", f"lies outside the {video['width']}x{video['height']} frame: {box!r}")
    crop_box = face.get("crop_box")
    if crop_box is not None and (not isinstance(crop_box, list) or len(crop_box) != 4
                                 or not all(_is_number(v) for v in crop_box)):
        check.add(f"{where}.crop_box", f"must be [x1, y1, x2, y2] numbers, got {crop_box!r}")
    check.number(face, "face_probability", where, low=0.0, high=1.0)
    check.number(face, "fake_probability", where, low=0.0, high=1.0)


def _check_frame(check: _Checker, frame: Any, where: str, video: dict | None) -> None:
    if not isinstance(frame, Mapping):
        check.add(where, "must be an object")
        return
    check.integer(frame, "index", where, low=0)
    check.number(frame, "timestamp_s", where, low=0.0, nullable=True)
    status = check.string(frame, "status", where, choices=FRAME_STATUSES)
    faces = check.array(frame, "faces", where)
    score = check.number(frame, "fake_probability", where, low=0.0, high=1.0, nullable=True)
    reason = check.string(frame, "reason", where, nullable=True)
    for i, face in enumerate(faces or []):
        _check_face(check, face, f"{where}.faces[{i}]", video)
    if status == "face":
        if not faces:
            check.add(f"{where}.faces", "a frame with status 'face' must list at least one face")
        if score is None:
            check.add(f"{where}.fake_probability", "a frame with status 'face' must have a score")
    elif status in ("no_face", "decode_failed"):
        if faces:
            check.add(f"{where}.faces", f"a frame with status {status!r} must list no faces")
        if score is not None:
            check.add(f"{where}.fake_probability", f"a frame with status {status!r} must have a null score")
        if not reason:
            check.add(f"{where}.reason", f"a frame with status {status!r} must say why")


def _check_consistency(check: _Checker, report: Mapping, frames: list, model: dict | None) -> None:
    """Cross-field rules: the verdict follows the score, the listed frame counts add up."""
    score = report.get("video_score")
    threshold = report.get("threshold")
    verdict = report.get("verdict")
    if _is_number(threshold) and verdict in VERDICTS and (score is None or _is_number(score)):
        expected = verdict_for(score, threshold)
        if verdict != expected:
            check.add("verdict", f"is {verdict!r} but video_score {score!r} at threshold {threshold!r} gives {expected!r}")
    if model and _is_number(model.get("threshold")) and _is_number(threshold) and not report.get("threshold_overridden"):
        if abs(model["threshold"] - threshold) > 1e-12:
            check.add("threshold", "differs from model.threshold but threshold_overridden is not true")
    well_formed = [f for f in frames if isinstance(f, Mapping)]
    with_face = [f for f in well_formed if f.get("status") == "face"]
    if not with_face and score is not None:
        check.add("video_score", "must be null when no frame has a face")
    if with_face and score is None:
        check.add("video_score", "must be a number when some frame has a face")
    indices = [f.get("index") for f in well_formed if _is_int(f.get("index"))]
    if any(later <= earlier for earlier, later in zip(indices, indices[1:])):
        check.add("frames", "frame indices must be strictly increasing")
    summary = report.get("summary")
    if isinstance(summary, Mapping):
        counts = {
            "frames_sampled": len(well_formed),
            "frames_with_face": len(with_face),
            "frames_without_face": sum(f.get("status") == "no_face" for f in well_formed),
            "frames_not_decoded": sum(f.get("status") == "decode_failed" for f in well_formed),
            "faces_scored": sum(len(f.get("faces") or []) for f in well_formed),
        }
        for key, expected in counts.items():
            if summary.get(key) != expected:
                check.add(f"summary.{key}", f"is {summary.get(key)!r} but the frames list gives {expected}")


def validate_report(report: Any) -> list[str]:
    """Check a report (the parsed JSON) against the schema of ``docs/report_schema.md``.

    Args:
        report: the object loaded from a report file.

    Returns:
        A list of problems, each ``"<json path>: <what is wrong>"``; empty when the report is valid.

    Example:
        >>> validate_report({"schema": "something else"})[0]
        "schema: must be 'deepfake-course-report', got 'something else'"
    """
    check = _Checker()
    if not isinstance(report, Mapping):
        return [f"(top level): must be an object, got {type(report).__name__}"]
    if report.get("schema") != SCHEMA_NAME:
        return [f"schema: must be {SCHEMA_NAME!r}, got {report.get('schema')!r}"]
    version = report.get("schema_version")
    if not _is_int(version) or version > SCHEMA_VERSION or version < 1:
        return [f"schema_version: this code reads versions 1 to {SCHEMA_VERSION}, got {version!r}"]
    if version == 2:
        return _validate_v2(report)
    video = _check_common_sections(check, report, version=1)
    model = check.mapping(report, "model", "")
    if model is not None:
        _check_model(check, model, "model")
    settings = report.get("settings")
    if isinstance(settings, Mapping):
        check.integer(settings, "frames_requested", "settings", low=1)
    frames = check.array(report, "frames", "") or []
    for i, frame in enumerate(frames):
        _check_frame(check, frame, f"frames[{i}]", video)
    summary = check.mapping(report, "summary", "")
    if summary is not None:
        for key in ("frames_sampled", "frames_with_face", "frames_without_face", "frames_not_decoded",
                    "faces_scored", "frames_with_several_faces"):
            check.integer(summary, key, "summary", low=0)
    check.number(report, "video_score", "", low=0.0, high=1.0, nullable=True)
    check.string(report, "verdict", "", choices=VERDICTS)
    check.number(report, "threshold", "", low=0.0, high=1.0)
    check.string(report, "aggregation", "")
    timings = check.mapping(report, "timings_s", "")
    if timings is not None:
        for stage in TIMING_STAGES:
            check.number(timings, stage, "timings_s", low=0.0)
    _check_consistency(check, report, frames, model)
    return [problem.lstrip(".") for problem in check.problems]


def _check_common_sections(check: _Checker, report: Mapping, version: int) -> dict | None:
    """``created``, ``tree``, ``input`` (with ``kind`` from version 2), ``versions`` and the shared
    ``settings``; returns the input's video info (or ``None``)."""
    check.string(report, "created", "")
    check.string(report, "tree", "")
    input_section = check.mapping(report, "input", "")
    video = None
    if input_section is not None:
        check.string(input_section, "path", "input")
        if version >= 2:
            check.string(input_section, "kind", "input", choices=INPUT_KINDS)
        if "sha256" in input_section:  # written from 2026-12-03 on: the analysed file's hash
            _check_sha256(check, input_section, "input")
        video = check.mapping(input_section, "video", "input")
        if video is not None:
            _check_video(check, video, "input.video")
    versions = check.mapping(report, "versions", "")
    if versions is not None:
        for key in ("python", "torch", "numpy"):
            check.string(versions, key, "versions")
    settings = check.mapping(report, "settings", "")
    if settings is not None:
        check.string(settings, "face_policy", "settings", choices=FACE_POLICIES)
        check.string(settings, "device", "settings")
    return video


def _check_face_v2(check: _Checker, face: Any, where: str, video: dict | None, names: set[str]) -> None:
    if not isinstance(face, Mapping):
        check.add(where, "must be an object")
        return
    _check_face(check, {**face, "fake_probability": 0.0}, where, video)
    scores = check.mapping(face, "scores", where)
    for name, value in (scores or {}).items():
        if name not in names:
            check.add(f"{where}.scores.{name}", "names no detector of the report")
        elif not _is_number(value) or not 0.0 <= value <= 1.0:
            check.add(f"{where}.scores.{name}", f"must be a probability in [0, 1], got {value!r}")


def _check_detector(check: _Checker, entry: Any, where: str, frame_indices: set[int], track_ids: set) -> None:
    if not isinstance(entry, Mapping):
        check.add(where, "must be an object")
        return
    check.string(entry, "name", where)
    check.string(entry, "kind", where)
    _check_model(check, entry, where)
    status = check.string(entry, "status", where, choices=DETECTOR_STATUSES)
    score = check.number(entry, "video_score", where, low=0.0, high=1.0, nullable=True)
    verdict = check.string(entry, "verdict", where, choices=VERDICTS)
    threshold = entry.get("threshold")
    if status == "ok" and score is None:
        check.add(f"{where}.video_score", "a detector with status 'ok' must have a score")
    if status != "ok" and score is not None:
        check.add(f"{where}.video_score", f"a detector with status {status!r} must have a null score")
    if status != "ok" and not entry.get("reason"):
        check.add(f"{where}.reason", f"a detector with status {status!r} must say why")
    if status in DETECTOR_STATUSES and verdict in VERDICTS and _is_number(threshold):
        expected = detector_verdict(status, score, threshold)
        if verdict != expected:
            check.add(f"{where}.verdict", f"is {verdict!r} but status {status!r}, score {score!r} and threshold "
                                          f"{threshold!r} give {expected!r}")
    for i, frame in enumerate(entry.get("frame_scores") or []):
        if not isinstance(frame, Mapping) or frame.get("index") not in frame_indices:
            check.add(f"{where}.frame_scores[{i}]", "must name a frame listed in frames")
            continue
        check.number(frame, "fake_probability", f"{where}.frame_scores[{i}]", low=0.0, high=1.0, nullable=True)
    for i, scored in enumerate(entry.get("track_scores") or []):
        if not isinstance(scored, Mapping) or scored.get("track_id") not in track_ids:
            check.add(f"{where}.track_scores[{i}]", "must name a track listed in tracks")
            continue
        check.number(scored, "fake_probability", f"{where}.track_scores[{i}]", low=0.0, high=1.0)
    chosen = entry.get("verdict_track")
    if chosen is not None:
        scored = {s.get("track_id"): s for s in entry.get("track_scores") or [] if isinstance(s, Mapping)}
        if chosen not in scored or not scored[chosen].get("scored"):
            check.add(f"{where}.verdict_track", f"must name one of its scored (persistent) tracks, got {chosen!r}")
        else:
            raw = entry.get("raw_video_score")
            if status == "ok" and scored[chosen].get("fake_probability") != (score if raw is None else raw):
                check.add(f"{where}.video_score", "must be the (raw) score of verdict_track")
    for i, window in enumerate(entry.get("window_scores") or []):
        if not isinstance(window, Mapping):
            check.add(f"{where}.window_scores[{i}]", "must be an object")
            continue
        check.integer(window, "start", f"{where}.window_scores[{i}]", low=0)
        check.integer(window, "stop", f"{where}.window_scores[{i}]", low=0)
        check.number(window, "fake_probability", f"{where}.window_scores[{i}]", low=0.0, high=1.0, nullable=True)
    if entry.get("signals") is not None:
        _check_signals(check, entry["signals"], f"{where}.signals")


SIGNAL_SERIES = ("ear", "pulse")
"""Per-frame series a signal detector's entry may carry in ``signals`` (EAR, rPPG pulse)."""
SIGNAL_SCALARS = ("ear_threshold", "hr_bpm")
"""Numbers about those series: the blink threshold on the EAR, the pulse's heart rate."""


def _check_signals(check: _Checker, signals: Any, where: str) -> None:
    """A signal detector's time series: ``fps`` > 0, ``frame_indices`` (T non-decreasing integers:
    a variable-frame-rate window can read a frame twice), ``times_s`` (T strictly increasing seconds;
    absent from older reports), each series of :data:`SIGNAL_SERIES` T numbers or nulls, the scalars
    numbers or null, and ``blinks`` [start, stop) pairs inside the window."""
    if not isinstance(signals, Mapping):
        check.add(where, "must be an object")
        return
    check.number(signals, "fps", where, low=1e-6)
    indices = check.array(signals, "frame_indices", where)
    if indices is None:
        return
    if not all(_is_int(i) and i >= 0 for i in indices) or any(b < a for a, b in zip(indices, indices[1:])):
        check.add(f"{where}.frame_indices", "must be non-decreasing frame indices")
        return
    if "times_s" in signals:
        times = check.array(signals, "times_s", where)
        if times is not None and (len(times) != len(indices) or not all(_is_number(t) for t in times)
                                  or any(b <= a for a, b in zip(times, times[1:]))):
            check.add(f"{where}.times_s",
                      f"must be {len(indices)} strictly increasing times in seconds, one per frame index")
    for key in SIGNAL_SERIES:
        if key not in signals:
            continue
        values = check.array(signals, key, where)
        if values is None:
            continue
        if len(values) != len(indices):
            check.add(f"{where}.{key}", f"has {len(values)} values for {len(indices)} frame_indices")
        if not all(v is None or _is_number(v) for v in values):
            check.add(f"{where}.{key}", "must hold numbers or null (where landmarks failed)")
    for key in SIGNAL_SCALARS:
        if key in signals:
            check.number(signals, key, where, nullable=True)
    window = set(indices)
    for k, pair in enumerate(signals.get("blinks") or []):
        if not (isinstance(pair, list) and len(pair) == 2 and all(_is_int(v) for v in pair)
                and pair[0] in window and pair[0] < pair[1] and pair[1] - 1 in window):
            check.add(f"{where}.blinks[{k}]", "must be a [start, stop) pair of frame indices of the window")


def _validate_v2(report: Mapping) -> list[str]:
    """Schema version 2: ``frames`` (the union of every detector's frames, faces with their
    per-detector ``scores``), ``detectors`` (one entry each) and the top-level verdict, taken from
    the detector named by ``decided_by``."""
    check = _Checker()
    video = _check_common_sections(check, report, version=2)
    detectors = check.array(report, "detectors", "") or []
    names = {d.get("name") for d in detectors if isinstance(d, Mapping)}
    if len(names) != len(detectors):
        check.add("detectors", "every detector needs a distinct name")
    frames = check.array(report, "frames", "") or []
    for i, frame in enumerate(frames):
        if not isinstance(frame, Mapping):
            check.add(f"frames[{i}]", "must be an object")
            continue
        check.integer(frame, "index", f"frames[{i}]", low=0)
        status = check.string(frame, "status", f"frames[{i}]", choices=FRAME_STATUSES)
        faces = check.array(frame, "faces", f"frames[{i}]") or []
        for k, face in enumerate(faces):
            _check_face_v2(check, face, f"frames[{i}].faces[{k}]", video, names)
        if status == "face" and not faces:
            check.add(f"frames[{i}].faces", "a frame with status 'face' must list at least one face")
        if status in ("no_face", "decode_failed") and (faces or not frame.get("reason")):
            check.add(f"frames[{i}]", f"a frame with status {status!r} must list no faces and say why")
    indices = [f.get("index") for f in frames if isinstance(f, Mapping) and _is_int(f.get("index"))]
    if any(later <= earlier for earlier, later in zip(indices, indices[1:])):
        check.add("frames", "frame indices must be strictly increasing")
    tracks = check.array(report, "tracks", "") or []
    track_ids = {t.get("track_id") for t in tracks if isinstance(t, Mapping)}
    face_tracks = {face.get("track_id") for f in frames if isinstance(f, Mapping)
                   for face in f.get("faces") or [] if isinstance(face, Mapping)}
    if face_tracks != track_ids:
        check.add("tracks", f"must list exactly the faces' track ids {sorted(face_tracks, key=str)}, "
                            f"got {sorted(track_ids, key=str)}")
    if tracks and sum(bool(t.get("subject")) for t in tracks if isinstance(t, Mapping)) != 1:
        check.add("tracks", "exactly one track must be the subject")
    for i, entry in enumerate(detectors):
        _check_detector(check, entry, f"detectors[{i}]", set(indices), track_ids)
    decided_by = check.string(report, "decided_by", "")
    chosen = next((d for d in detectors if isinstance(d, Mapping) and d.get("name") == decided_by), None)
    if decided_by is not None and chosen is None:
        check.add("decided_by", f"names no detector of the report: {decided_by!r}")
    score = check.number(report, "video_score", "", low=0.0, high=1.0, nullable=True)
    verdict = check.string(report, "verdict", "", choices=VERDICTS)
    check.number(report, "threshold", "", low=0.0, high=1.0)
    if chosen is not None:
        for key, value in (("video_score", score), ("verdict", verdict), ("threshold", report.get("threshold"))):
            if chosen.get(key) != value:
                check.add(key, f"is {value!r} but the deciding detector {decided_by!r} says {chosen.get(key)!r}")
    summary = check.mapping(report, "summary", "")
    if summary is not None:
        counts = {"frames_sampled": len(frames),
                  "frames_with_face": sum(isinstance(f, Mapping) and f.get("status") == "face" for f in frames),
                  "frames_without_face": sum(isinstance(f, Mapping) and f.get("status") == "no_face" for f in frames),
                  "frames_not_decoded": sum(isinstance(f, Mapping) and f.get("status") == "decode_failed" for f in frames)}
        for key, expected in counts.items():
            if summary.get(key) != expected:
                check.add(f"summary.{key}", f"is {summary.get(key)!r} but the frames list gives {expected}")
    timings = check.mapping(report, "timings_s", "")
    if timings is not None:
        for stage in TIMING_STAGES:
            check.number(timings, stage, "timings_s", low=0.0)
    return [problem.lstrip(".") for problem in check.problems]


def check_report(report: Any, source: str = "report") -> None:
    """Raise :class:`ReportError` (one line) when :func:`validate_report` finds any problem.

    The message names ``source``, the number of problems and the first one.
    """
    problems = validate_report(report)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ReportError(f"{source} is not a valid detection report: {problems[0]}{more}")


# --------------------------------------------------------------------------------------------
# Reading and writing
# --------------------------------------------------------------------------------------------


def write_json_atomic(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as indented JSON to ``path`` atomically (temporary file, then ``os.replace``).

    The destination folder must exist; the file is either the complete new JSON or left as it was.

    Raises:
        CourseError: the folder does not exist or cannot be written (one line).
    """
    path = Path(path)
    text = json.dumps(data, indent=2, allow_nan=False) + "\n"
    write_text_atomic(path, text)
    return path


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; see :func:`write_json_atomic`."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise CourseError(f"cannot write '{path}': folder '{folder}' does not exist")
    if path.is_dir():
        raise CourseError(f"cannot write '{path}': it is a folder")
    try:
        with atomic_output(path) as temporary:
            temporary.write_text(text, encoding="utf-8")
    except OSError as error:
        raise CourseError(f"cannot write '{path}': {error.strerror or error}") from None
    return path


def write_report(path: str | os.PathLike, report: Mapping) -> Path:
    """Validate ``report`` and write it atomically as JSON. Returns ``Path(path)``.

    Raises:
        ReportError: the report breaks the schema (a bug in the producer; nothing is written).
        CourseError: the destination cannot be written.
    """
    check_report(report, source="the report being written")
    return write_json_atomic(path, report)


def read_report(path: str | os.PathLike) -> dict:
    """Load and validate a report written by ``detect_video.py``.

    Args:
        path: the JSON file.

    Returns:
        The report as a dict.

    Raises:
        ReportError: missing file, not JSON, or not a valid report (one line naming the file).
    """
    path = Path(path)
    if not path.exists():
        raise ReportError(f"cannot read predictions '{path}': no such file")
    if path.is_dir():
        raise ReportError(f"cannot read predictions '{path}': is a folder, not a JSON report")
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ReportError(f"cannot read predictions '{path}': not a text (JSON) file") from None
    except json.JSONDecodeError as error:
        raise ReportError(f"cannot read predictions '{path}': not valid JSON ({error.msg} at line {error.lineno})") from None
    check_report(report, source=f"predictions '{path}'")
    return report
