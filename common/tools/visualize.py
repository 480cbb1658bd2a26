"""``visualize_detection.py``: draw a detection report onto its video, and a one-page summary figure.

FaceForensics++'s ``detect_from_video.py`` showed what a frame-level detector sees: every face
boxed, green for real and red for fake, with the probabilities written beside it. This tool does
the same from a report written by ``detect_video.py`` (so the detector does not run twice), works
headless (no display), and writes a playable H.264 ``.mp4`` with :func:`common.video.write_video`.

What each output frame shows:

* every face of the report boxed, coloured by its probability of FAKE from green (0) through
  yellow (0.5) to red (1), with the probability written above the box;
* a header line: the frame number, which sampled frame the boxes come from, and the video verdict;
* a timeline along the bottom: one bar per sampled frame (height and colour = frame score, grey
  for frames without a face), the decision threshold as a dashed line, and a white marker at the
  current frame.

The detector only looked at the sampled frames (32 by default). A frame between two sampled frames
carries the result of the *nearest* sampled frame (ties go to the earlier one); the header says
which one (``boxes from frame 38``). Boxes therefore lag behind fast head motion between samples.

Optional Grad-CAM (Selvaraju et al. 2017, "Grad-CAM: Visual Explanations from Deep Networks via
Gradient-based Localization"): the gradient of the FAKE logit with respect to the last convolution
layer's feature maps weights those maps; their weighted sum, rectified, is a coarse map of the face
regions that pushed the score towards FAKE. It is drawn as a JET heat map over each face crop. The
maps come from the course's one Grad-CAM, task 5.10 (``grad_cam`` in
``phase5_advanced_methods/template_explainability.py``, yours or the reference solution's with
``--solutions``, borrowed through :mod:`common.exercises`); the phase-5 tests check it against
pytorch-grad-cam. The summary PNG shows the score timeline, for each signal detector (phase 4) its
eye aspect ratio with the blink threshold and its pulse over time (the report's ``signals``), and,
with ``--gradcam``, a few face crops with their heat maps.
"""
from __future__ import annotations

import argparse
import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from common.atomic import atomic_output, same_file
from common.errors import ArgumentParser, CourseError
from common.images import image_info, read_image
from common.report import read_report
from common.video import VideoInfo, iter_frames, probe_video, sample_frames, write_video

if TYPE_CHECKING:
    from torch import nn

GREY = (150, 150, 150)
WHITE = (255, 255, 255)
VIDEO_OUTPUTS = (".mp4", ".mkv", ".mov", ".avi")
IMAGE_OUTPUTS = (".png", ".jpg", ".jpeg")
DEFAULT_MIN_SIDE = 360
"""Videos whose shortest side is below this are enlarged before drawing (labels need ~360 px)."""

# --------------------------------------------------------------------------------------------
# Colours and geometry
# --------------------------------------------------------------------------------------------


def score_colour(fake_probability: float) -> tuple[int, int, int]:
    """RGB colour of a probability of FAKE: green (0) -> yellow (0.5) -> red (1).

    Args:
        fake_probability: in [0, 1] (values outside are clipped).

    Returns:
        ``(r, g, b)`` ints in 0..255.

    Example:
        >>> score_colour(0.0), score_colour(0.5), score_colour(1.0)
        ((0, 255, 0), (255, 255, 0), (255, 0, 0))
    """
    p = min(max(float(fake_probability), 0.0), 1.0)
    red = round(255 * min(1.0, 2.0 * p))
    green = round(255 * min(1.0, 2.0 * (1.0 - p)))
    return red, green, 0


def nearest_sampled_position(sampled_indices: np.ndarray, index: int) -> int:
    """Position in ``sampled_indices`` of the sampled frame nearest to frame ``index``.

    Ties (a frame exactly half-way) go to the earlier sampled frame.

    Args:
        sampled_indices: ``(N,)`` strictly increasing frame indices, N >= 1.
        index: any frame index.

    Example:
        >>> nearest_sampled_position(np.array([0, 10, 20]), 14), nearest_sampled_position(np.array([0, 10, 20]), 15)
        (1, 1)
    """
    right = int(np.searchsorted(sampled_indices, index, side="left"))
    if right == 0:
        return 0
    if right >= len(sampled_indices):
        return len(sampled_indices) - 1
    before, after = sampled_indices[right - 1], sampled_indices[right]
    return right - 1 if index - before <= after - index else right


def _scaled_box(box: Sequence[float], scale: float, width: int, height: int) -> tuple[int, int, int, int]:
    """Integer pixel box scaled by ``scale`` and clipped to a ``width`` x ``height`` frame."""
    x1, y1, x2, y2 = (float(v) * scale for v in box)
    return (int(np.clip(round(x1), 0, width - 1)), int(np.clip(round(y1), 0, height - 1)),
            int(np.clip(round(x2), 0, width - 1)), int(np.clip(round(y2), 0, height - 1)))


def _text_scale(width: int, height: int) -> tuple[float, int]:
    """cv2 font scale and line thickness that stay readable from 64 px to 4K frames."""
    scale = max(0.3, min(width, height) / 720.0)
    return scale, max(1, round(scale * 1.5))


def _put_text(frame: np.ndarray, text: str, origin: tuple[int, int], colour, scale: float, thickness: int) -> None:
    """Text on a darkened backdrop so it reads on any background (drawn in place).

    A backdrop rather than a thicker black copy of the text: OpenCV 5 renders a thicker stroke with
    wider glyphs, so such an outline would not line up with the text.
    """
    (text_width, text_height), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    height, width = frame.shape[:2]
    x, y = origin
    rows = slice(max(0, y - text_height - 3), max(0, min(height, y + baseline + 1)))
    cols = slice(max(0, x - 2), max(0, min(width, x + text_width + 2)))
    frame[rows, cols] = (frame[rows, cols] * 0.35).astype(frame.dtype)
    cv2.putText(frame, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thickness, cv2.LINE_AA)


# --------------------------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------------------------


def overlay_heatmap(frame: np.ndarray, heatmap: np.ndarray, box: tuple[int, int, int, int],
                    alpha: float = 0.45) -> None:
    """Blend a Grad-CAM map (JET colours) into ``frame`` inside ``box`` (in place).

    Args:
        frame: ``(H, W, 3)`` uint8 RGB.
        heatmap: ``(h, w)`` float in [0, 1], any size (resized to the box).
        box: integer ``(x1, y1, x2, y2)`` inside the frame.
        alpha: weight of the heat map colours.
    """
    x1, y1, x2, y2 = box
    if x2 <= x1 or y2 <= y1:
        return
    resized = cv2.resize(heatmap.astype(np.float32), (x2 - x1, y2 - y1), interpolation=cv2.INTER_LINEAR)
    colours = cv2.applyColorMap(np.uint8(np.clip(resized, 0, 1) * 255), cv2.COLORMAP_JET)
    colours = cv2.cvtColor(colours, cv2.COLOR_BGR2RGB)
    region = frame[y1:y2, x1:x2].astype(np.float32)
    frame[y1:y2, x1:x2] = np.uint8(np.clip((1 - alpha) * region + alpha * colours, 0, 255))


def face_label(face: dict) -> str:
    """What a box says: the probability of FAKE (not a verdict), the face's track, or why it is not scored.

    Example:
        >>> face_label({"fake_probability": 0.03, "track_id": 0})
        'P(fake) 0.03 #0'
        >>> face_label({"fake_probability": 0.97, "track_id": 2, "minor": True})
        'minor #2'
    """
    track = f" #{face['track_id']}" if face.get("track_id") is not None else ""
    if face.get("minor"):
        return f"minor{track}"
    probability = face.get("fake_probability")
    return f"face{track}" if probability is None else f"P(fake) {probability:.2f}{track}"


def label_origin(box: tuple[int, int, int, int], text_size: tuple[int, int], frame_size: tuple[int, int],
                 top_limit: int, bottom_limit: int) -> tuple[int, int]:
    """Where a box's label goes (its baseline's left end): above the box when it clears the header
    (rows above ``top_limit``), else below the box when it clears the timeline (rows from
    ``bottom_limit``), else inside the box's top; always inside the frame.

    Example: a box touching the top of a 384 px frame whose header ends at row 30 gets its label
    below the box: ``label_origin((10, 0, 100, 90), (80, 14), (384, 384), 30, 330)`` is ``(10, 110)``.
    """
    x1, y1, _, y2 = box
    text_width, text_height = text_size
    width, height = frame_size
    x = int(min(max(x1, 0), max(width - text_width - 2, 0)))
    if y1 - 6 - text_height >= top_limit:
        return x, y1 - 6
    if y2 + 6 + text_height <= bottom_limit:
        return x, y2 + 6 + text_height
    return x, min(max(y1 + 6 + text_height, top_limit + text_height), height - 4)


def draw_faces(frame: np.ndarray, faces: Sequence[dict], scale: float = 1.0,
               heatmaps: Sequence[np.ndarray | None] | None = None) -> None:
    """Box each face in ``frame`` (in place), coloured by its probability of FAKE, labelled with it.

    Args:
        frame: ``(H, W, 3)`` uint8 RGB.
        faces: the ``faces`` entries of one report frame (``box`` in original-video pixels,
            ``fake_probability``, grey when ``None``; ``track_id``; ``minor``: a brief or doubtful
            detection that is not scored, drawn grey and thin; ``crop_box`` is used for heat maps).
        scale: output pixels per original pixel (1.0 unless the output was shrunk).
        heatmaps: optional Grad-CAM map per face (or ``None`` for a face without one).
    """
    height, width = frame.shape[:2]
    text_scale, thickness = _text_scale(width, height)
    for position, face in enumerate(faces):
        heatmap = heatmaps[position] if heatmaps is not None and position < len(heatmaps) else None
        if heatmap is not None:
            overlay_heatmap(frame, heatmap, _scaled_box(face.get("crop_box", face["box"]), scale, width, height))
        probability = face.get("fake_probability")
        colour = GREY if probability is None or face.get("minor") else score_colour(probability)
        box = _scaled_box(face["box"], scale, width, height)
        line = 1 if face.get("minor") else max(2, thickness + 1)
        cv2.rectangle(frame, box[:2], box[2:], colour, line, cv2.LINE_AA)
        label = face_label(face)
        (text_width, text_height), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, text_scale, thickness)
        origin = label_origin(box, (text_width, text_height), (width, height), header_bottom(width, height),
                              height - timeline_height(height))
        _put_text(frame, label, origin, colour, text_scale, thickness)


def timeline_height(height: int) -> int:
    """Height in pixels of the score timeline drawn along the bottom of a frame of this height."""
    return max(12, min(120, height // 7))


def draw_timeline(frame: np.ndarray, sampled_indices: np.ndarray, frame_scores: Sequence[float | None],
                  frame_count: int, current_index: int, threshold: float) -> None:
    """Draw the per-frame score timeline along the bottom of ``frame`` (in place).

    Args:
        frame: ``(H, W, 3)`` uint8 RGB.
        sampled_indices: ``(N,)`` indices of the sampled frames.
        frame_scores: N frame scores (probability of FAKE) or ``None`` for frames without a face.
        frame_count: frames in the whole video (sets the horizontal scale).
        current_index: the frame being drawn, marked by a white vertical line.
        threshold: decision threshold, a dashed horizontal line.
    """
    height, width = frame.shape[:2]
    strip = timeline_height(height)
    top = height - strip
    frame[top:] = (frame[top:].astype(np.float32) * 0.35).astype(np.uint8)
    span = max(frame_count - 1, 1)

    def x_of(index: int) -> int:
        return int(round(index / span * (width - 1)))

    def y_of(score: float) -> int:
        return int(round(height - 1 - score * (strip - 3)))

    bar = max(1, width // max(4 * len(sampled_indices), 1))
    for index, score in zip(sampled_indices, frame_scores):
        x = x_of(int(index))
        if score is None:
            cv2.line(frame, (x, height - 1), (x, height - 3), GREY, bar)
        else:
            cv2.rectangle(frame, (x - bar // 2, y_of(score)), (x + bar // 2, height - 1), score_colour(score), -1)
    y_threshold = y_of(threshold)
    for x in range(0, width, 8):
        cv2.line(frame, (x, y_threshold), (min(x + 4, width - 1), y_threshold), WHITE, 1)
    x_now = x_of(current_index)
    cv2.line(frame, (x_now, top), (x_now, height - 1), WHITE, max(1, width // 320))


def header_bottom(width: int, height: int) -> int:
    """The first row below the header line of :func:`draw_header` (face labels stay below it)."""
    text_scale, thickness = _text_scale(width, height)
    _, baseline = cv2.getTextSize("frame", cv2.FONT_HERSHEY_SIMPLEX, text_scale * 0.8, thickness)
    return int(4 + 22 * text_scale) + baseline + 2


def draw_header(frame: np.ndarray, text: str) -> None:
    """Write one status line at the top-left of ``frame`` (in place)."""
    height, width = frame.shape[:2]
    text_scale, thickness = _text_scale(width, height)
    _put_text(frame, text, (4, int(4 + 22 * text_scale)), WHITE, text_scale * 0.8, thickness)


# --------------------------------------------------------------------------------------------
# The report as drawing instructions
# --------------------------------------------------------------------------------------------


def drawn_detector(report: dict) -> dict | None:
    """The detector whose face scores are drawn (report version 2): the deciding detector when it
    scores frames, else the first frame detector; ``None`` when no detector scores frames."""
    detectors = report.get("detectors", [])
    frame_detectors = [d for d in detectors if d.get("frame_scores") is not None]
    deciding = [d for d in frame_detectors if d["name"] == report.get("decided_by")]
    return (deciding or frame_detectors or [None])[0]


def drawing_report(report: dict) -> dict:
    """A report in the shape the drawing reads (version 1): the frames one detector scored, each face
    with its ``fake_probability``. Version 1 reports are returned as they are.

    For version 2 (several detectors): the frames and face scores of :func:`drawn_detector`; the
    verdict, score and threshold stay the report's (the deciding detector's). Without a frame
    detector every planned frame is drawn with grey, unscored boxes.
    """
    if report.get("schema_version", 1) == 1:
        return report
    detector = drawn_detector(report)
    scored = {entry["index"]: entry for entry in detector["frame_scores"]} if detector else None
    minor = {track["track_id"] for track in report.get("tracks", []) if track.get("minor")}
    frames = []
    for frame in report["frames"]:
        if scored is not None and frame["index"] not in scored:
            continue
        name = detector["name"] if detector else None
        faces = [{**face, "fake_probability": face.get("scores", {}).get(name), "minor": face.get("track_id") in minor}
                 for face in frame["faces"]]
        score = scored[frame["index"]]["fake_probability"] if scored is not None else None
        frames.append({**frame, "faces": faces, "fake_probability": score})
    return {**report, "frames": frames}


@dataclass
class ReportView:
    """The parts of a report the drawing needs, as arrays.

    Attributes:
        sampled_indices: ``(N,)`` frame indices the detector looked at.
        frames: the N report frame entries (dicts), in the same order.
        frame_scores: N frame scores, ``None`` where the frame had no face.
        threshold, verdict, video_score: from the report.
    """

    sampled_indices: np.ndarray
    frames: list[dict]
    frame_scores: list[float | None]
    threshold: float
    verdict: str
    video_score: float | None

    @classmethod
    def from_report(cls, report: dict) -> "ReportView":
        frames = list(drawing_report(report)["frames"])
        return cls(
            sampled_indices=np.asarray([f["index"] for f in frames], dtype=np.int64),
            frames=frames,
            frame_scores=[f["fake_probability"] for f in frames],
            threshold=float(report["threshold"]),
            verdict=str(report["verdict"]),
            video_score=report["video_score"],
        )

    def verdict_text(self) -> str:
        if self.video_score is None:
            return "no face found"
        return f"{self.verdict} {self.video_score:.2f} (thr {self.threshold:.3g})"


def check_report_matches_video(report: dict, info: VideoInfo, video_path: Path) -> None:
    """Refuse a report that was written for another video (one-line error): one of another size or
    length, or one whose SHA-256 differs from the report's ``input.sha256`` (reports written from
    2026-12-03 on carry it; it tells apart two videos of the same size and length)."""
    from common.detectors import sha256_of

    reported = report["input"]["video"]
    if (reported["width"], reported["height"]) != (info.width, info.height):
        raise CourseError(
            f"predictions were made on a {reported['width']}x{reported['height']} video but "
            f"'{video_path}' is {info.width}x{info.height}; pass the video the report was written for"
        )
    if report["frames"] and report["frames"][-1]["index"] >= info.frame_count:
        raise CourseError(
            f"predictions refer to frame {report['frames'][-1]['index']} but '{video_path}' has "
            f"{info.frame_count} frames; pass the video the report was written for"
        )
    reported_hash = report["input"].get("sha256")
    if reported_hash is not None and sha256_of(video_path) != reported_hash:
        raise CourseError(f"'{video_path}' is not the video the report was written for (its SHA-256 differs from "
                          f"the report's input.sha256, '{report['input']['path']}'); pass the analysed video")


def enlargement_factor(width: int, height: int, min_side: int | None) -> int:
    """Whole-number factor that brings the shortest side to at least ``min_side`` pixels (1 if it is
    already there or ``min_side`` is None or 0). Example: 128x128 with min_side 360 -> 3."""
    if not min_side or min(width, height) >= min_side:
        return 1
    return int(np.ceil(min_side / min(width, height)))


def enlarge(frame: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement by a whole-number factor: every source pixel becomes a
    ``factor`` x ``factor`` block, so no detail is invented or smoothed away (the frame stays
    evidence), and annotation text has room to be readable."""
    if factor == 1:
        return frame
    return np.ascontiguousarray(np.repeat(np.repeat(frame, factor, axis=0), factor, axis=1))


def source_info(path: str | Path, still: bool) -> VideoInfo:
    """The :class:`VideoInfo` of the analysed video, or the one-frame info of an image."""
    return image_info(path, read_image(path)) if still else probe_video(path)


def source_frames(path: str | Path, still: bool, max_side: int | None) -> Iterator[tuple[int, float, np.ndarray]]:
    """``(index, timestamp_s, RGB frame)`` of every decodable frame of the video, or ``(0, 0.0, image)``
    for an image."""
    if still:
        image = read_image(path)
        if max_side is not None and max(image.shape[:2]) > max_side:
            factor = max_side / max(image.shape[:2])
            size = (max(1, round(image.shape[1] * factor)), max(1, round(image.shape[0] * factor)))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        yield 0, 0.0, image
        return
    yield from iter_frames(path, max_side=max_side)


def annotate_frames(video_path: str | Path, report: dict, *, max_side: int | None = None,
                    min_side: int | None = None,
                    heatmaps: dict[int, list[np.ndarray | None]] | None = None
                    ) -> Iterator[tuple[float, np.ndarray]]:
    """Yield every frame of the video with the report drawn on it, and its time.

    Args:
        video_path: the analysed video.
        report: a validated report (see :func:`common.report.read_report`).
        max_side: shrink output frames so the longest side is at most this (None: original size).
        min_side: enlarge small frames by a whole-number factor (:func:`enlarge`) so the shortest
            side is at least this (None or 0: never enlarge).
        heatmaps: optional Grad-CAM maps, ``{sampled frame index: [map per face]}``.

    Yields:
        ``(timestamp_s, frame)``: the decoded time in seconds and the ``(H, W, 3)`` uint8 RGB frame,
        one per decodable video frame (the video is written at those times: a variable frame rate,
        or a frame that failed to decode, keeps every other frame where it was).
    """
    view = ReportView.from_report(report)
    still = report["input"].get("kind") == "image"
    info = source_info(video_path, still)
    for index, timestamp, frame in source_frames(video_path, still, max_side):
        frame = np.ascontiguousarray(frame)
        frame = enlarge(frame, enlargement_factor(frame.shape[1], frame.shape[0], min_side))
        scale = frame.shape[1] / info.width
        if len(view.sampled_indices):
            position = nearest_sampled_position(view.sampled_indices, index)
            entry = view.frames[position]
            sampled_index = int(view.sampled_indices[position])
            face_maps = heatmaps.get(sampled_index) if heatmaps else None
            draw_faces(frame, entry["faces"], scale=scale, heatmaps=face_maps)
            note = f"boxes from frame {sampled_index}"
            if entry["status"] != "face":
                note = f"frame {sampled_index}: {entry['status'].replace('_', ' ')}"
        else:
            note = "no sampled frame"
        draw_header(frame, f"frame {index} | {note} | video {view.verdict_text()}")
        if not still:  # one image has no timeline
            draw_timeline(frame, view.sampled_indices, view.frame_scores, info.frame_count, index, view.threshold)
        yield timestamp, frame


# --------------------------------------------------------------------------------------------
# Grad-CAM
# --------------------------------------------------------------------------------------------


def last_conv_layer(model: "nn.Module") -> "nn.Module":
    """The last ``nn.Conv2d`` of ``model`` in module order: the usual Grad-CAM target layer.

    Its feature maps are the most semantic ones that still have a spatial layout (for Xception,
    the exit flow's last separable convolution; for EfficientNet, the final 1x1 head convolution).

    Raises:
        CourseError: the model has no 2-D convolution (Grad-CAM needs spatial feature maps).
    """
    from torch import nn

    convolutions = [module for module in model.modules() if isinstance(module, nn.Conv2d)]
    if not convolutions:
        raise CourseError(f"Grad-CAM needs a convolutional model; {type(model).__name__} has no Conv2d layer")
    return convolutions[-1]


def face_input(frame: np.ndarray, crop_box: Sequence[float], size: int, mean: Sequence[float],
               std: Sequence[float]) -> np.ndarray:
    """Cut ``crop_box`` out of ``frame`` and resize it to ``size`` x ``size`` (uint8 RGB)."""
    height, width = frame.shape[:2]
    x1, y1, x2, y2 = _scaled_box(crop_box, 1.0, width + 1, height + 1)
    crop = frame[y1:max(y2, y1 + 1), x1:max(x2, x1 + 1)]
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA if crop.shape[0] > size else cv2.INTER_LINEAR)


def _disable_inplace_activations(model) -> None:
    """Switch ``inplace=True`` activations (e.g. ``nn.ReLU(inplace=True)``) to out-of-place, in place.

    Grad-CAM keeps a reference to the target layer's output; an in-place ReLU right after that
    layer would overwrite it (and the gradient hook would see the ReLU's output instead), which
    silently changes the map. The network computes the same values either way.
    """
    for module in model.modules():
        if hasattr(module, "inplace") and module.inplace is True:
            module.inplace = False


def gradcam_maps(model, crops: np.ndarray, prep, device) -> np.ndarray:
    """Grad-CAM maps of the FAKE logit for a batch of face crops.

    Args:
        model: a detector returning one logit per image (shape ``(B,)`` or ``(B, 1)``).
        crops: ``(B, S, S, 3)`` uint8 RGB face crops at the model's input size.
        prep: the model's :class:`common.preprocessing.Preprocessing` (its normalisation).
        device: the model's device.

    Returns:
        ``(B, S, S)`` float32 maps in [0, 1] (each min-max scaled, as pytorch-grad-cam presents them).
    """
    import torch

    from common import exercises

    class _OneLogit(torch.nn.Module):
        """Present ``(B, 1)`` outputs as ``(B,)`` so each sample's target is its FAKE logit."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return self.inner(x).reshape(x.shape[0], -1)[:, 0]

    _disable_inplace_activations(model)
    wrapped = _OneLogit(model).eval()
    tensor = prep.normalise(crops, "cpu")
    maps = exercises.grad_cam(wrapped, tensor.to(device), last_conv_layer(model))
    return np.asarray(maps, dtype=np.float32)


def compute_heatmaps(video_path: str | Path, report: dict, checkpoint_path: str | Path, device: str = "auto",
                     batch_size: int = 16) -> tuple[dict[int, list[np.ndarray | None]], list[tuple[np.ndarray, np.ndarray, float]]]:
    """Grad-CAM map of every face in the report, computed with the checkpoint's model.

    Args:
        video_path: the analysed video.
        report: its report (faces carry ``crop_box``).
        checkpoint_path: the detector checkpoint (normally the one named in the report).
        device: ``auto``, ``cpu``, ``cuda`` ...
        batch_size: faces per Grad-CAM batch.

    Returns:
        ``({sampled frame index: [map per face]}, examples)`` where ``examples`` lists
        ``(crop, map, fake_probability)`` for the summary figure.
    """
    from common.device import resolve_device
    from common.models import load_detector
    from common.preprocessing import checkpoint_preprocessing

    chosen = resolve_device(device)
    model, checkpoint = load_detector(checkpoint_path, chosen)
    prep = checkpoint_preprocessing(checkpoint)
    size, mean, std = prep.size, prep.mean, prep.std
    wanted = [f for f in drawing_report(report)["frames"] if f["status"] == "face"]
    maps: dict[int, list[np.ndarray | None]] = {}
    examples: list[tuple[np.ndarray, np.ndarray, float]] = []
    for start in range(0, len(wanted), batch_size):
        chunk = wanted[start:start + batch_size]
        if report["input"].get("kind") == "image":
            by_index = {0: read_image(video_path)}
        else:
            sampled = sample_frames(video_path, indices=[f["index"] for f in chunk])
            by_index = dict(zip(sampled.indices.tolist(), sampled.frames))
        crops, owners = [], []
        for entry in chunk:
            frame = by_index.get(entry["index"])
            for face in entry["faces"]:
                if frame is not None:
                    crops.append(face_input(frame, face.get("crop_box", face["box"]), size, mean, std))
                    owners.append((entry["index"], face["fake_probability"]))
        if not crops:
            continue
        batch = np.stack(crops)
        cams = gradcam_maps(model, batch, prep, chosen)
        for crop, cam, (index, probability) in zip(batch, cams, owners):
            maps.setdefault(index, []).append(cam)
            examples.append((crop, cam, probability))
    return maps, examples


# --------------------------------------------------------------------------------------------
# Summary figure
# --------------------------------------------------------------------------------------------


def plot_summary(report: dict, path: str | Path, examples: Sequence[tuple[np.ndarray, np.ndarray, float]] = (),
                 n_examples: int = 4) -> Path:
    """Save a PNG with the score timeline and, when given, face crops with Grad-CAM maps.

    Args:
        report: a validated report.
        path: output ``.png`` (written atomically).
        examples: ``(crop (S,S,3) uint8, map (S,S) float, fake probability)`` triples.
        n_examples: how many examples to show (the most FAKE ones and the most REAL ones).

    Returns:
        ``Path(path)``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from common.metrics import save_figure

    view = ReportView.from_report(report)
    chosen = _chosen_examples(examples, n_examples)
    panels = signal_panels(report)
    rows = 1 + len(panels) + (1 if chosen else 0)
    figure = plt.figure(figsize=(10, 3.2 * rows))
    axis = figure.add_subplot(rows, 1, 1)
    times = frame_times_s(view.frames, float(report["input"]["video"]["fps"]) or 1.0)
    scored = [(t, s) for t, s in zip(times, view.frame_scores) if s is not None]
    if scored:
        axis.plot([t for t, _ in scored], [s for _, s in scored], "o-", color="tab:red", label="frame score (P(FAKE))")
    missing = [t for t, s in zip(times, view.frame_scores) if s is None]
    if missing and (report.get("schema_version", 1) == 1 or drawn_detector(report) is not None):
        axis.plot(missing, [0.0] * len(missing), "x", color="grey", label="no face")
    axis.axhline(view.threshold, linestyle="--", color="black", label=f"threshold {view.threshold:.3g}")
    if view.video_score is not None:
        axis.axhline(view.video_score, color="tab:blue", alpha=0.6,
                     label=f"video score {view.video_score:.2f} ({report['aggregation']})")
    axis.set_ylim(-0.1, 1.1)
    axis.set_xlabel("time (s)")
    axis.set_ylabel("P(FAKE)")
    axis.set_title(f"{Path(report['input']['path']).name}: {view.verdict_text()}")
    axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, borderaxespad=0.0)  # off the data
    for row, panel in enumerate(panels, start=2):
        _plot_signal_panel(figure.add_subplot(rows, 1, row), panel)
    for position, (crop, cam, probability) in enumerate(chosen):
        sub = figure.add_subplot(rows, len(chosen), (rows - 1) * len(chosen) + position + 1)
        blended = crop.astype(np.float32) / 255.0
        colours = cv2.cvtColor(cv2.applyColorMap(np.uint8(np.clip(cam, 0, 1) * 255), cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
        sub.imshow(np.clip(0.55 * blended + 0.45 * colours / 255.0, 0, 1))
        sub.set_title(f"P(FAKE) {probability:.2f}", fontsize=9)
        sub.axis("off")
    figure.tight_layout()
    return save_figure(figure, path)


def frame_times_s(frames: Sequence[dict], fps: float) -> list[float]:
    """Each report frame's time in seconds: its decoded ``timestamp_s`` (right at a variable frame
    rate too), or ``index / fps`` where the report has none.
    Example: indices 0, 10, 20 at 0.0 s, 0.5 s and no timestamp, 25 fps -> [0.0, 0.5, 0.8]."""
    return [frame["index"] / fps if frame.get("timestamp_s") is None else float(frame["timestamp_s"]) for frame in frames]


def signal_panels(report: dict) -> list[dict]:
    """The extra panels of the summary figure: one per time series of each signal detector's
    ``signals`` (report schema, "A signal detector's time series"), EAR first, then the pulse.

    Each panel is ``{"detector", "series" ("ear" or "pulse"), "times_s" (T,), "values" (T,) float
    (NaN where landmarks failed), "threshold" (the EAR's blink threshold or None), "blinks_s"
    [(start, stop)] seconds, "hr_bpm"}``. Example: a report with one ``blink`` detector whose window
    has an EAR curve gives one panel; a ``biological`` detector gives two (EAR and pulse).
    """
    panels = []
    for detector in report.get("detectors", []):
        signals = detector.get("signals")
        if not signals:
            continue
        fps = float(signals["fps"])
        indices = list(signals["frame_indices"])
        times = np.asarray(signals.get("times_s") or np.asarray(indices, np.float64) / fps, np.float64)
        first_time = {index: times[k] for k, index in reversed(list(enumerate(indices)))}
        last_time = {index: times[k] for k, index in enumerate(indices)}
        for key in ("ear", "pulse"):
            if signals.get(key) is None:
                continue
            values = np.array([np.nan if v is None else v for v in signals[key]], np.float64)
            panels.append({"detector": detector["name"], "series": key, "times_s": times, "values": values,
                           "threshold": signals.get("ear_threshold") if key == "ear" else None,
                           "blinks_s": [(first_time[a], last_time[b - 1] + 1 / fps)
                                        for a, b in signals.get("blinks") or []] if key == "ear" else [],
                           "hr_bpm": signals.get("hr_bpm") if key == "pulse" else None})
    return panels


def _plot_signal_panel(axis, panel: dict) -> None:
    """Draw one :func:`signal_panels` panel: the EAR with its blink threshold and the blinks shaded,
    or the pulse with its heart rate in the title."""
    if panel["series"] == "ear":
        axis.plot(panel["times_s"], panel["values"], color="tab:blue", label="eye aspect ratio")
        if panel["threshold"] is not None:
            axis.axhline(panel["threshold"], linestyle="--", color="black", label=f"blink threshold {panel['threshold']:.3f}")
        for k, (start, stop) in enumerate(panel["blinks_s"]):
            axis.axvspan(start, stop, color="tab:orange", alpha=0.3, label="blink" if k == 0 else None)
        axis.set_ylabel("EAR")
        axis.set_title(f"{panel['detector']}: eye aspect ratio, {len(panel['blinks_s'])} blink(s)", fontsize=10)
    else:
        axis.plot(panel["times_s"], panel["values"], color="tab:red", label="rPPG pulse (POS)")
        axis.set_ylabel("pulse (a.u.)")
        rate = f", heart rate {panel['hr_bpm']:.0f} bpm" if panel["hr_bpm"] is not None else ""
        axis.set_title(f"{panel['detector']}: pulse{rate}", fontsize=10)
    missing = panel["times_s"][~np.isfinite(panel["values"])]
    if len(missing):
        axis.plot(missing, np.full(len(missing), np.nanmin(panel["values"]) if np.isfinite(panel["values"]).any() else 0.0),
                  "x", color="grey", label="no landmarks")
    axis.set_xlabel("time (s)")
    axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, borderaxespad=0.0)


def _chosen_examples(examples: Sequence, n: int) -> list:
    """Up to ``n`` examples: half the most FAKE-scored, the rest the most REAL-scored."""
    ordered = sorted(examples, key=lambda item: -item[2])
    if len(ordered) <= n:
        return list(ordered)
    top = math.ceil(n / 2)
    return ordered[:top] + ordered[len(ordered) - (n - top):]


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from grader.tree import add_tree_argument

    parser = ArgumentParser(
        prog="visualize_detection.py",
        description="Draw a detect_video.py report onto its video (boxes coloured by P(FAKE), score timeline).",
    )
    parser.add_argument("--video", required=True, help="the analysed video (or image)")
    parser.add_argument("--predictions", required=True, help="the JSON report written by detect_video.py")
    parser.add_argument("--output", required=True, help="annotated video to write (.mp4, H.264), or an image (.png, .jpg) for an image report")
    parser.add_argument("--summary", default=None, help="also write a PNG summary figure here")
    parser.add_argument("--gradcam", action="store_true", help="overlay Grad-CAM heat maps on the faces (needs --model)")
    parser.add_argument("--model", default=None, help="checkpoint for --gradcam (default: the one named in the report)")
    parser.add_argument("--device", default="auto", help="device for --gradcam: auto, cpu, cuda, cuda:N, mps")
    parser.add_argument("--max-side", type=int, default=None,
                        help="shrink output frames so the longest side is at most this many pixels")
    parser.add_argument("--min-side", type=int, default=DEFAULT_MIN_SIDE,
                        help="enlarge smaller videos (nearest neighbour, whole-number factor) so the shortest "
                             f"side is at least this many pixels and the labels are readable; 0: keep the size "
                             f"(default {DEFAULT_MIN_SIDE})")
    add_tree_argument(parser)
    return parser


def _check_output_path(path: Path, suffixes: tuple[str, ...], what: str, inputs: dict[str, Path]) -> None:
    """One-line errors for an output whose folder is missing, is a folder, has a wrong suffix, or is one of
    the ``inputs`` (``{"video being annotated": path, ...}``): writing it would destroy the evidence."""
    for name, source in inputs.items():
        if same_file(path, source):
            raise CourseError(f"cannot write {what} '{path}': it is the {name}; write to another file")
    if path.is_dir():
        raise CourseError(f"cannot write {what} '{path}': it is a folder")
    if not path.parent.is_dir():
        raise CourseError(f"cannot write {what} '{path}': folder '{path.parent}' does not exist")
    if path.suffix.lower() not in suffixes:
        raise CourseError(f"cannot write {what} '{path}': use one of the suffixes {', '.join(suffixes)}")


def visualize(video: str | Path, predictions: str | Path, output: str | Path, *, summary: str | Path | None = None,
              gradcam: bool = False, model: str | Path | None = None, device: str = "auto",
              max_side: int | None = None, min_side: int | None = DEFAULT_MIN_SIDE) -> dict:
    """Library entry point of ``visualize_detection.py``: write the annotated video (and summary).

    ``max_side`` shrinks large videos, ``min_side`` enlarges small ones (see :func:`annotate_frames`).

    Returns:
        ``{"video": Path, "summary": Path | None, "frames_written": int}``.

    Raises:
        CourseError (one line): bad video, bad report, a report for another video, an unwritable
            output, a missing checkpoint for ``--gradcam``.
    """
    video, output = Path(video), Path(output)
    inputs = {"video being annotated": video, "report being drawn": Path(predictions)}
    _check_output_path(output, VIDEO_OUTPUTS + IMAGE_OUTPUTS, "annotated video", inputs)
    if summary is not None:
        _check_output_path(Path(summary), (".png",), "summary figure", {**inputs, "annotated video": output})
    if max_side is not None and max_side < 16:
        raise CourseError(f"--max-side must be at least 16 pixels, got {max_side}")
    if min_side is not None and not 0 <= min_side <= 4096:
        raise CourseError(f"--min-side must be between 0 and 4096 pixels, got {min_side}")
    if max_side is not None and min_side and min_side > max_side:
        raise CourseError(f"--min-side {min_side} is larger than --max-side {max_side}")
    report = read_report(predictions)
    still = report["input"].get("kind") == "image"
    wanted = IMAGE_OUTPUTS if still else VIDEO_OUTPUTS
    if output.suffix.lower() not in wanted:
        raise CourseError(f"cannot write '{output}': the report is for {'an image' if still else 'a video'}; "
                          f"use one of the suffixes {', '.join(wanted)}")
    info = source_info(video, still)
    check_report_matches_video(report, info, video)
    heatmaps, examples = None, []
    if gradcam:
        checkpoint = model or _drawn_checkpoint(report)
        if not Path(checkpoint).is_file():
            raise CourseError(f"--gradcam needs the detector checkpoint; '{checkpoint}' does not exist (pass --model)")
        _check_explains_the_drawn_scores(report, checkpoint)
        heatmaps, examples = compute_heatmaps(video, report, checkpoint, device=device)
    counter = _Counter()
    annotated = counter.count(annotate_frames(video, report, max_side=max_side, min_side=min_side, heatmaps=heatmaps))
    if still:
        write_image(output, next(annotated)[1])
    else:  # one pass feeds the frames and their times; write_video reads them in step
        for_frames, for_times = itertools.tee(annotated)
        write_video(output, (frame for _, frame in for_frames), fps=info.fps,
                    timestamps_s=(timestamp for timestamp, _ in for_times))
    summary_path = plot_summary(report, summary, examples) if summary is not None else None
    return {"video": output, "summary": summary_path, "frames_written": counter.n}


def write_image(path: Path, image: np.ndarray) -> Path:
    """Write an RGB image atomically (the format from the suffix)."""
    with atomic_output(path) as temporary:
        if not cv2.imwrite(str(temporary), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
            raise CourseError(f"cannot write image '{path}'")
    return path


def _drawn_checkpoint(report: dict) -> str:
    """The checkpoint of the detector whose scores are drawn (Grad-CAM needs a frame detector)."""
    if report.get("schema_version", 1) == 1:
        return report["model"]["checkpoint"]
    detector = drawn_detector(report)
    if detector is None:
        raise CourseError("--gradcam needs a frame detector in the report; this one has none")
    return detector["checkpoint"]


def _check_explains_the_drawn_scores(report: dict, checkpoint: str | Path) -> None:
    """Refuse a Grad-CAM checkpoint other than the one whose scores are drawn (one-line error): its maps
    would explain another model's decisions. Found by SHA-256, so a checkpoint retrained since the
    report under the same name is refused too."""
    from common.detectors import sha256_of

    drawn = report["model"] if report.get("schema_version", 1) == 1 else drawn_detector(report)
    if sha256_of(checkpoint) != drawn["sha256"]:
        raise CourseError(f"--gradcam: '{checkpoint}' is not the checkpoint whose scores the report holds (its "
                          f"SHA-256 differs from {drawn['checkpoint']}'s in the report; was it retrained since?)")


class _Counter:
    """Counts the frames flowing through a generator."""

    def __init__(self) -> None:
        self.n = 0

    def count(self, frames: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        for frame in frames:
            self.n += 1
            yield frame


def main(argv: list[str] | None = None) -> int:
    """Command line: see ``python visualize_detection.py --help``."""
    from grader.tree import activate_from_args

    args = build_parser().parse_args(argv)
    activate_from_args(args)
    if args.gradcam is False and args.model is not None:
        raise CourseError("--model is only used with --gradcam")
    result = visualize(args.video, args.predictions, args.output, summary=args.summary, gradcam=args.gradcam,
                       model=args.model, device=args.device, max_side=args.max_side,
                       min_side=args.min_side)
    print(f"annotated video: {result['video']} ({result['frames_written']} frames)")
    if result["summary"] is not None:
        print(f"summary figure:  {result['summary']}")
    return 0
