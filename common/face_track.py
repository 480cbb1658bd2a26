"""One face track per video: decode each needed frame once, find its faces once, crop once per size.

Every detector of the course looks at faces, but each wants other frames and other crops:

* a **frame** detector wants N evenly spaced frames (32 in DeepfakeBench and the DFDC winner);
* a **clip** detector wants a contiguous run of frames (a frame difference or an LSTM needs
  neighbouring frames, not frames a second apart), read at the rate it was trained at;
* a **signal** detector wants a window of several seconds (blinks: 10 s or more; a pulse: 8-10 s);
* a **spectral** detector wants the face crop at its own size (resizing destroys the spectrum).

Each says what it needs with a :class:`FramePlan` and a :class:`CropSpec`. :func:`build_track`
takes the *union* of the plans, decodes those frames once (in chunks, so memory stays bounded),
runs the face detector once per decoded frame (batched MTCNN), links the faces of consecutive
frames into tracks (same ``track_id`` for the same face), and cuts every face once per crop
specification asked for. Detectors then read their frames and crops from the :class:`FaceTrack`.
Training caches are written from the same track (:mod:`common.faces`), so a detector is trained
on exactly the inputs it sees at detection time.

Nothing is dropped silently: every planned frame is in the track, with the status ``face``,
``no_face`` (the detector found nothing) or ``decode_failed`` (corrupt or truncated data).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from common import exercises
from common.errors import VideoError
from common.datasets import is_image_file
from common.video import (SampledFrames, VideoInfo, frame_timestamps, is_variable_rate, nearest_frames, probe_video,
                          sample_frames, sample_indices)

PLAN_MODES = ("spaced", "contiguous", "window")
#: Frames decoded and processed together; bounds memory whatever the plans ask for.
CHUNK_FRAMES = 16
#: With keyframe detection, chunks are this long (each chunk's last frame is a keyframe).
KEYFRAME_CHUNK = 32
#: Frames are decoded at most this large (longer side, pixels); boxes are mapped back to the original.
DECODE_MAX_SIDE = 1920
#: ``--detect-every K`` counts frames of a video at this rate: the face detector runs every K / 25 s.
KEYFRAME_RATE = 25.0


def keyframe_step(detect_every: int, fps: float) -> int:
    """Video frames between two keyframes for ``--detect-every K`` in a video at ``fps``.

    The faces between keyframes are interpolated, and a clip detector reads that interpolation (the
    tracker's jitter) as much as the face's motion. So K keeps its meaning *in time* at any frame
    rate: every K / 25 s, ``round(K * fps / 25)`` frames, at least 1; K = 1 (every frame) stays 1.
    Example: K = 8 is 8 frames at 25 fps, 16 at 50, 10 at 30 (0.32 s each); unknown rate: K.
    """
    if detect_every <= 1 or not fps or fps <= 0:
        return int(detect_every)
    return max(1, int(round(detect_every * fps / KEYFRAME_RATE)))


@dataclass(frozen=True, eq=False)
class Keyframes:
    """The video frames the face detector runs on (``--detect-every K``); faces between two of them
    are interpolated (:func:`detect_on_keyframes`).

    A constant-rate video: frame numbers 0, ``every``, 2 ``every``, ... and its ``last`` frame
    (``every`` = :func:`keyframe_step`, K / 25 s). A variable-frame-rate video (``numbers`` set by
    :meth:`of_video`): the frame nearest each multiple of K / 25 s by the frames' times, and the last,
    so that keyframes stay K / 25 s apart where the rate changes; a face between two of them is
    interpolated by time (``times_s``), not by frame number.

    Example: 30 fps for 2 s, then 15 fps (frames 0-89), K = 8: keyframes every 0.32 s at frames 0,
    10, 19, 29, 38, 48, 58, 64, 68, 73, 78, 83, 88 and 89 (10 frames apart, then about 5); by the
    average rate (22.6 fps) it would be every 7 frames, 0.23 s in the 30-fps stretch.
    """

    every: int = 1
    last: int | None = None
    numbers: np.ndarray | None = None
    times_s: np.ndarray | None = None

    @classmethod
    def of_video(cls, detect_every: int, fps: float, last: int, times_s: np.ndarray | None = None) -> "Keyframes":
        """The keyframes of a video of frames 0..``last`` at ``fps`` (its frames' times ``times_s``, or
        ``None``): by time when the rate varies (:func:`common.video.is_variable_rate`), else every
        :func:`keyframe_step` frames."""
        every = keyframe_step(detect_every, fps)
        if every <= 1 or times_s is None or len(times_s) != last + 1 or not is_variable_rate(times_s):
            return cls(every, last)
        times = np.asarray(times_s, np.float64)
        period = detect_every / KEYFRAME_RATE
        grid = times[0] + period * np.arange(int(np.floor((times[-1] - times[0]) / period + 1e-9)) + 1)
        return cls(every, last, np.unique(np.r_[0, nearest_frames(times, grid), last]).astype(np.int64), times)

    @property
    def by_time(self) -> bool:
        """Whether the keyframes were chosen by the frames' times (a variable-rate video)."""
        return self.numbers is not None

    def contains(self, index: int) -> bool:
        """Whether the face detector runs on frame ``index`` (every frame when ``every`` is 1)."""
        if self.every <= 1:
            return True
        if self.numbers is not None:
            position = int(np.searchsorted(self.numbers, index))
            return position < len(self.numbers) and int(self.numbers[position]) == index
        return index % self.every == 0 or index == self.last

    def anchors(self, index: int) -> tuple[int, int]:
        """The two keyframes around frame ``index`` (itself twice when it is one)."""
        if self.contains(index):
            return index, index
        if self.numbers is not None:
            position = int(np.searchsorted(self.numbers, index))
            return int(self.numbers[position - 1]), int(self.numbers[min(position, len(self.numbers) - 1)])
        left = index // self.every * self.every
        right = left + self.every
        return left, right if self.last is None else min(right, self.last)

    def weight(self, index: int, left: int, right: int) -> float:
        """How far frame ``index`` lies from keyframe ``left`` to ``right`` (0 to 1): by time on a
        variable-rate video, by frame number otherwise."""
        if self.times_s is not None:
            return float((self.times_s[index] - self.times_s[left]) / (self.times_s[right] - self.times_s[left]))
        return float(index - left) / float(right - left)

    def snap(self, indices: np.ndarray) -> np.ndarray:
        """Increasing frame ``indices`` moved to their nearest keyframe when no two of them could meet
        at one (they are at least the widest gap between keyframes apart); closer frames are kept
        (:func:`snap_to_keyframes`)."""
        indices = np.asarray(indices, np.int64)
        if self.numbers is None:
            return snap_to_keyframes(indices, self.every, self.last if self.last is not None else int(indices.max()))
        if self.every <= 1 or len(indices) < 2 or int(np.min(np.diff(indices))) < int(np.max(np.diff(self.numbers))):
            return indices
        after = np.clip(np.searchsorted(self.numbers, indices), 1, len(self.numbers) - 1)
        left, right = self.numbers[after - 1], self.numbers[after]
        return np.unique(np.where(indices - left < right - indices, left, right)).astype(np.int64)


def _schedule(every: "int | Keyframes", last: int | None) -> Keyframes:
    """``every`` as a :class:`Keyframes` (an int: every that many frames and the ``last``)."""
    return every if isinstance(every, Keyframes) else Keyframes(int(every), last)


@dataclass(frozen=True)
class FramePlan:
    """Which frames of a video a detector needs.

    Attributes:
        mode: ``"spaced"`` (``count`` evenly spaced frames over the whole video),
            ``"contiguous"`` (``clips`` runs of ``count`` consecutive frames, evenly spread), or
            ``"window"`` (every frame of ``seconds`` seconds in the middle of the video).
        count: frames (spaced) or frames per clip (contiguous).
        clips: contiguous runs (contiguous mode).
        seconds: window length in seconds (window mode).
        rate: contiguous mode: the frame rate a clip detector was trained at, or ``None`` to read
            ``count`` consecutive frames whatever the video's rate. With a rate, a run takes every
            k-th frame, ``k = round(video fps / rate)`` (:meth:`stride`): at 50 fps every other
            frame, so that one step spans 40 ms as it did in training at 25 fps. On a
            variable-frame-rate video the step follows the frames' times (:meth:`runs_by_time`).

    Example: a 100-frame video at 25 fps.

        >>> FramePlan("spaced", count=4).indices(100, 25.0).tolist()
        [0, 33, 66, 99]
        >>> FramePlan("contiguous", count=3, clips=2).indices(100, 25.0).tolist()
        [0, 1, 2, 97, 98, 99]
        >>> FramePlan("contiguous", count=3).indices(100, 25.0).tolist()      # one clip: the middle
        [48, 49, 50]
        >>> FramePlan("window", seconds=0.2).indices(100, 25.0).tolist()    # 5 frames in the middle
        [47, 48, 49, 50, 51]
        >>> FramePlan("contiguous", count=3, rate=25.0).indices(100, 50.0).tolist()   # every 2nd at 50 fps
        [47, 49, 51]
    """

    mode: str
    count: int = 32
    clips: int = 1
    seconds: float = 0.0
    rate: float | None = None

    def __post_init__(self) -> None:
        if self.mode not in PLAN_MODES:
            raise ValueError(f"frame plan mode must be one of {', '.join(PLAN_MODES)}, got {self.mode!r}")
        if self.count < 1 or self.clips < 1 or (self.mode == "window" and self.seconds <= 0):
            raise ValueError(f"a frame plan needs count >= 1, clips >= 1 and seconds > 0 for a window: {self}")
        if self.rate is not None and (self.mode != "contiguous" or not self.rate > 0):
            raise ValueError(f"a frame plan's rate needs the contiguous mode and a positive rate: {self}")

    def stride(self, fps: float) -> int:
        """Video frames per step of a clip (contiguous mode) in a video at ``fps``: the whole number
        that brings the step nearest the training rate's, never below 1 (a frame is never shown
        twice). Example at a rate of 25: 1 at 24, 25 or 30 fps, 2 at 50 or 60, 5 at 120; always 1
        without a rate or when the video's rate is unknown."""
        if self.rate is None or not fps or fps <= 0:
            return 1
        return max(1, int(round(fps / self.rate)))

    def indices(self, frame_count: int, fps: float, detect_every: "int | Keyframes" = 1,
                timestamps_s: np.ndarray | None = None) -> np.ndarray:
        """The frame indices this plan wants in a video of ``frame_count`` frames at ``fps``.

        A video shorter than the plan gives every frame it has (the detector sees how many). With
        keyframe detection (``detect_every``: K > 1 frames, or the track's :class:`Keyframes`), spaced
        frames at least K apart are moved to the nearest keyframe (:func:`snap_to_keyframes`): each
        is then detected, not interpolated between two keyframes that would cost two detections. Example: 4 frames of 100 with K = 8
        are [0, 32, 64, 99] instead of [0, 33, 66, 99].

        ``timestamps_s``: every frame's time (:func:`common.video.frame_timestamps`), or ``None``. A
        window on a variable-frame-rate video then holds the frames of ``seconds`` seconds around the
        video's middle time (:meth:`window_by_time`), not ``seconds x average fps`` frames, which
        would span less or more where the rate differs from the average; a clip with a ``rate``
        steps by the frames' times (:meth:`runs_by_time`).
        """
        if frame_count < 1:
            return np.zeros(0, np.int64)
        if self.mode == "spaced":
            return _schedule(detect_every, frame_count - 1).snap(sample_indices(frame_count, self.count))
        if self.mode == "window":
            if _variable_rate(timestamps_s, frame_count):
                return self.window_by_time(np.asarray(timestamps_s, np.float64))
            length = min(frame_count, max(1, int(round(self.seconds * fps))))
            start = (frame_count - length) // 2
            return np.arange(start, start + length, dtype=np.int64)
        return np.unique(np.concatenate(self.runs(frame_count, fps, detect_every, timestamps_s))).astype(np.int64)

    def window_by_time(self, timestamps_s: np.ndarray) -> np.ndarray:
        """The frames whose times lie in ``[c - seconds / 2, c + seconds / 2)``, ``c`` the middle of the
        video's first and last times (every frame when the video is shorter).

        Example: 30 fps for 2 s (frames 0-59), then 15 fps (frames 60-89, up to 3.93 s): the middle is
        1.97 s, a 2-s window [0.97, 2.97) s holds frames 29-74; by the average rate (22.6 fps) it would
        be 45 frames, 22-66, which span 1.67 s.
        """
        centre = (timestamps_s[0] + timestamps_s[-1]) / 2
        inside = (timestamps_s >= centre - self.seconds / 2 - 1e-9) & (timestamps_s < centre + self.seconds / 2 - 1e-9)
        return np.flatnonzero(inside).astype(np.int64)

    def runs(self, frame_count: int, fps: float, detect_every: "int | Keyframes" = 1,
             timestamps_s: np.ndarray | None = None) -> list[np.ndarray]:
        """The plan's frames as separate runs: one per clip (contiguous), one window, or one per frame
        (``timestamps_s``: as :meth:`indices`)."""
        if frame_count < 1:
            return []
        if self.mode != "contiguous":
            wanted = self.indices(frame_count, fps, detect_every, timestamps_s)
            return [wanted[i:i + 1] for i in range(len(wanted))] if self.mode == "spaced" else [wanted]
        if self.rate is not None and _variable_rate(timestamps_s, frame_count):
            return self.runs_by_time(np.asarray(timestamps_s, np.float64))
        step = self.stride(fps)
        samples = min(self.count, (frame_count - 1) // step + 1)
        span = (samples - 1) * step + 1  # video frames from a clip's first sample to its last
        if self.clips == 1:  # one clip: the middle of the video (its start is often a fade or a title)
            starts = [(frame_count - span) // 2]
        else:
            starts = sample_indices(frame_count - span + 1, self.clips).tolist()
        return [np.arange(s, s + span, step, dtype=np.int64) for s in starts]

    def runs_by_time(self, timestamps_s: np.ndarray) -> list[np.ndarray]:
        """Clips of a variable-frame-rate video (contiguous mode with a ``rate``): from its first frame,
        each next frame is the later frame whose time is nearest ``1 / rate`` s after the one before
        (a tie goes to the earlier frame), so every step is the :meth:`stride` of the stretch it lies
        in and no frame is shown twice. One clip starts at the frame nearest ``(count - 1) / (2 rate)``
        s before the video's middle time; several start at times spread evenly from the first frame's
        to ``(count - 1) / rate`` s before the last. A clip that reaches the last frame stops there.

        Example at a rate of 25: 30 fps for 1 s (frames 0-29 at k / 30 s), then 60 fps (frames 30-89,
        up to 2 s). One clip of 6: the middle is 1 s, the start 0.9 s (frame 27); steps of +1 at 30
        fps and +2 at 60 fps: frames [27, 28, 29, 30, 32, 34]. By the average rate (44.5 fps, stride
        2) it would be [39, 41, ..., 49]: 67-ms steps across the 30-fps stretch.
        """
        times = np.asarray(timestamps_s, np.float64)
        step_s, last = 1.0 / float(self.rate), len(times) - 1
        span_s = (self.count - 1) * step_s
        if self.clips == 1:
            starts_s = [(times[0] + times[-1]) / 2 - span_s / 2]
        else:
            starts_s = np.linspace(times[0], max(times[0], times[-1] - span_s), self.clips).tolist()
        runs = []
        for start_s in starts_s:
            run = [int(nearest_frames(times, [start_s])[0])]
            while len(run) < self.count and run[-1] < last:
                target = times[run[-1]] + step_s
                after = min(max(int(np.searchsorted(times, target)), run[-1] + 1), last)
                before = max(after - 1, run[-1] + 1)
                run.append(before if abs(times[before] - target) <= abs(times[after] - target) else after)
            runs.append(np.asarray(run, np.int64))
        return runs

    def to_dict(self) -> dict[str, Any]:
        plan = {"mode": self.mode, "count": self.count, "clips": self.clips, "seconds": self.seconds}
        return plan if self.rate is None else {**plan, "rate": float(self.rate)}


def _variable_rate(timestamps_s: np.ndarray | None, frame_count: int) -> bool:
    """Whether ``timestamps_s`` (one per frame, or ``None``) are those of a variable-frame-rate video."""
    return timestamps_s is not None and len(timestamps_s) == frame_count and is_variable_rate(timestamps_s)


def _reads_times(plan: FramePlan) -> bool:
    """Whether a plan needs the frames' times: a window, or a clip read at its training rate."""
    return plan.mode == "window" or plan.rate is not None


def snap_to_keyframes(indices: np.ndarray, every: int, last: int) -> np.ndarray:
    """Increasing frame ``indices`` moved to the nearest keyframe (a multiple of ``every``, or the
    ``last`` frame) when they are at least ``every`` apart; closer frames are returned as they are
    (interpolating between the keyframes around them is then the cheaper way to their faces).

    Two frames ``every`` or more apart never move to the same keyframe, so none is lost.
    Example: ``snap_to_keyframes([0, 33, 66, 99], 8, 99)`` is ``[0, 32, 64, 99]``;
    ``snap_to_keyframes([0, 5, 10], 8, 10)`` is ``[0, 5, 10]`` (5 apart: kept).
    """
    indices = np.asarray(indices, np.int64)
    if every <= 1 or len(indices) < 2 or int(np.min(np.diff(indices))) < every:
        return indices
    snapped = []
    for index in indices.tolist():
        nearest = min((index + every // 2) // every * every, last // every * every)
        snapped.append(last if abs(last - index) < abs(nearest - index) else nearest)
    return np.unique(np.asarray(snapped, np.int64))


@dataclass(frozen=True)
class CropSpec:
    """How a face is cut out: a square of ``scale`` times the face box, resized to ``size`` pixels
    (``size=None``: kept at its own size, for spectral detectors), or five-point aligned (``align``)."""

    size: int | None
    scale: float = 1.3
    align: bool = False

    def cut(self, frame: np.ndarray, box: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """The (S, S, 3) uint8 crop of one face from its (decoded) frame."""
        if self.align:
            return exercises.align_face(frame, landmarks, self.size or 256, self.scale)
        if self.size is None:
            x1, y1, x2, y2 = exercises.square_crop_box(box, self.scale, frame.shape)
            return np.ascontiguousarray(frame[y1:y2, x1:x2])
        return exercises.crop_face(frame, box, self.size, self.scale)


@dataclass
class TrackedFace:
    """One face in one frame. Boxes and landmarks are in pixels of the *original* video.

    Attributes:
        box: [x1, y1, x2, y2]. crop_box: the square cut for crops (scale of the first crop spec).
        landmarks: (5, 2) eyes, nose, mouth corners. probability: the face detector's.
        track_id: the same number for the same face across frames.
        crops: one (S, S, 3) uint8 crop per :class:`CropSpec` asked for.
        interpolated: placed between two detected keyframes, not detected in this frame
            (:func:`detect_on_keyframes`).
    """

    box: list[float]
    crop_box: list[float]
    landmarks: np.ndarray
    probability: float
    track_id: int | None = None
    crops: dict[CropSpec, np.ndarray] = field(default_factory=dict)
    interpolated: bool = False

    @property
    def area(self) -> float:
        return max(self.box[2] - self.box[0], 0.0) * max(self.box[3] - self.box[1], 0.0)


@dataclass
class TrackedFrame:
    """One planned frame: ``status`` is ``face``, ``no_face`` or ``decode_failed`` (with ``reason``)."""

    index: int
    timestamp_s: float
    status: str
    faces: list[TrackedFace] = field(default_factory=list)
    reason: str | None = None


#: A track is *minor* (reported, not scored into a verdict) when it is seen in fewer sampled frames
#: than MIN_TRACK_FRAMES (or than MIN_TRACK_SHARE of the frames with a face, whichever is more),
MIN_TRACK_FRAMES = 3
MIN_TRACK_SHARE = 0.25
#: or when its mean box area is below MIN_AREA_RATIO of the subject's,
MIN_AREA_RATIO = 0.25
#: or when it touches the frame border with a mean detector probability below BORDER_MIN_PROBABILITY.
BORDER_MIN_PROBABILITY = 0.98


@dataclass
class Track:
    """One face followed across frames (all its faces share ``track_id``).

    Attributes:
        frames: the frame indices where it was found. mean_area: its mean box area in original
            pixels squared. mean_probability: the face detector's mean probability.
        touches_border: some box of it reaches the frame's edge.
        subject: the main face (the most persistent track; ties: the larger).
        minor: a brief, small or doubtful detection, not scored into a verdict; ``reason`` says why.
    """

    track_id: int
    frames: list[int]
    mean_area: float
    mean_probability: float
    touches_border: bool
    subject: bool = False
    minor: bool = False
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"track_id": self.track_id, "frames": self.frames, "n_frames": len(self.frames),
                "mean_area": round(self.mean_area, 1), "mean_probability": round(self.mean_probability, 6),
                "touches_border": self.touches_border, "subject": self.subject, "minor": self.minor,
                "reason": self.reason}


def summarise_tracks(frames: Sequence[TrackedFrame], width: int, height: int) -> list[Track]:
    """The tracks of linked faces, the subject named and the minor ones marked (see the constants above).

    Example: over 8 frames with a face, a track seen in 2 of them is minor ("seen in 2 of 8 frames
    with a face; a persistent track needs 3"), and so is one a tenth the subject's size.
    """
    faces: dict[int, list[TrackedFace]] = {}
    seen_in: dict[int, list[int]] = {}
    for frame in frames:
        for face in frame.faces:
            faces.setdefault(face.track_id, []).append(face)
            seen_in.setdefault(face.track_id, []).append(frame.index)
    if not faces:
        return []
    tracks = []
    for track_id, members in faces.items():
        border = any(f.box[0] <= 1 or f.box[1] <= 1 or f.box[2] >= width - 1 or f.box[3] >= height - 1 for f in members)
        tracks.append(Track(int(track_id), seen_in[track_id], float(np.mean([f.area for f in members])),
                            float(np.mean([f.probability for f in members])), bool(border)))
    subject = max(tracks, key=lambda track: (len(track.frames), track.mean_area))
    subject.subject = True
    with_face = sum(bool(frame.faces) for frame in frames)
    needed = max(min(MIN_TRACK_FRAMES, with_face), int(np.ceil(MIN_TRACK_SHARE * with_face)))
    for track in tracks:
        if track.subject:
            continue
        if len(track.frames) < needed:
            track.reason = (f"seen in {len(track.frames)} of {with_face} frames with a face; "
                            f"a persistent track needs {needed}")
        elif track.mean_area < MIN_AREA_RATIO * subject.mean_area:
            track.reason = (f"{track.mean_area / subject.mean_area:.0%} of the main face's area "
                            f"(less than {MIN_AREA_RATIO:.0%})")
        elif track.touches_border and track.mean_probability < BORDER_MIN_PROBABILITY:
            track.reason = (f"touches the frame border with face probability {track.mean_probability:.3f} "
                            f"(below {BORDER_MIN_PROBABILITY})")
        track.minor = track.reason is not None
    return sorted(tracks, key=lambda track: track.track_id)


@dataclass
class FaceTrack:
    """The faces of one video over the union of the detectors' frame plans.

    Attributes:
        path, info: the video and its :class:`common.video.VideoInfo`.
        frames: one :class:`TrackedFrame` per planned frame, by increasing index.
        settings: face-detector settings (for the report).
        timings_s: seconds spent decoding (``decode``), finding faces (``faces``) and cutting the
            crops (``crops``).
        frames_decoded, frames_detected: how many frames went through the decoder and the face detector.
        faces_interpolated: faces placed by interpolation between two detected keyframes
            (``detect_every`` > 1), not by the detector itself.
        frame_times_s: every frame's time, read when a plan is a window or a clip with a rate, or the
            faces are found on keyframes (on a variable-rate video all are chosen by time:
            :meth:`FramePlan.indices`, :class:`Keyframes`), else ``None``.
        keyframes: the frames the face detector ran on (:class:`Keyframes`).
    """

    path: Path
    info: VideoInfo
    frames: list[TrackedFrame]
    settings: dict[str, Any]
    timings_s: dict[str, float]
    frames_decoded: int = 0
    frames_detected: int = 0
    faces_interpolated: int = 0
    frame_times_s: np.ndarray | None = field(default=None, repr=False)
    keyframes: Keyframes | None = field(default=None, repr=False)
    _tracks: list[Track] | None = field(default=None, repr=False)

    @property
    def detect_every(self) -> int:
        """The ``--detect-every`` K the track was built with (frames of a 25-fps video)."""
        return int(self.settings.get("detect_every", 1))

    @property
    def keyframe_step(self) -> int:
        """Video frames between two keyframes (:func:`keyframe_step`; plans read their frames with
        it: :meth:`FramePlan.indices`)."""
        return int(self.settings.get("keyframe_step", self.detect_every))

    @property
    def keyframe_schedule(self) -> Keyframes:
        """The track's :class:`Keyframes` (plans read their frames with it: :meth:`FramePlan.indices`);
        every :attr:`keyframe_step` frames for a track built without one."""
        if self.keyframes is not None:
            return self.keyframes
        return Keyframes(self.keyframe_step, self.info.frame_count - 1)

    def frames_at(self, indices: Sequence[int] | np.ndarray) -> list[TrackedFrame]:
        """The tracked frames of ``indices`` (each must be part of the track)."""
        by_index = {frame.index: frame for frame in self.frames}
        return [by_index[int(i)] for i in indices]

    def tracks(self) -> list[Track]:
        """Every face track, the subject named and the minor ones marked (:func:`summarise_tracks`;
        worked out once, on first use: the track's frames do not change after :func:`build_track`)."""
        if self._tracks is None:
            self._tracks = summarise_tracks(self.frames, self.info.width, self.info.height)
        return self._tracks

    def subject_track_id(self) -> int | None:
        """The main face: the track seen in the most frames (ties: the larger mean area); None if no face."""
        return next((track.track_id for track in self.tracks() if track.subject), None)

    def face_per_frame(self, indices: Sequence[int] | np.ndarray, policy: str) -> list[TrackedFace | None]:
        """One face per frame of ``indices``: the ``largest`` face, or the ``subject`` track's face."""
        subject = self.subject_track_id() if policy == "subject" else None
        chosen: list[TrackedFace | None] = []
        for frame in self.frames_at(indices):
            if policy == "largest":
                chosen.append(frame.faces[0] if frame.faces else None)
            else:
                chosen.append(next((face for face in frame.faces if face.track_id == subject), None))
        return chosen


def _box_in_original(box: np.ndarray, factor: float, width: int, height: int) -> list[float]:
    """A box in decoded pixels -> original-video pixels, clipped to the frame."""
    x1, y1, x2, y2 = (float(v) / factor for v in box)
    x1, x2 = min(max(x1, 0.0), width - 1.0), min(max(x2, 0.0), float(width))
    y1, y2 = min(max(y1, 0.0), height - 1.0), min(max(y2, 0.0), float(height))
    return [round(x1, 2), round(y1, 2), round(max(x2, x1 + 1.0), 2), round(max(y2, y1 + 1.0), 2)]


def _still_image(path: Path, max_side: int) -> SampledFrames:
    """An image as the one decoded frame of a one-frame video (shrunk to ``max_side`` like video frames)."""
    import cv2

    from common.images import image_info, read_image

    image = read_image(path)
    info = image_info(path, image)
    factor = min(1.0, max_side / max(image.shape[:2]))
    if factor < 1.0:
        size = (max(1, round(image.shape[1] * factor)), max(1, round(image.shape[0] * factor)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return SampledFrames(frames=image[None], indices=np.zeros(1, np.int64), timestamps_s=np.zeros(1), info=info,
                         missing=[])


def _not_decoded(index: int, fps: float) -> TrackedFrame:
    return TrackedFrame(int(index), round(index / fps, 6) if fps else 0.0, "decode_failed",
                        reason="this frame could not be decoded (corrupt or truncated data)")


def plan_union(plans: Sequence[FramePlan], info: VideoInfo, detect_every: "int | Keyframes" = 1,
               timestamps_s: np.ndarray | None = None) -> np.ndarray:
    """Sorted unique frame indices wanted by any of ``plans`` (:meth:`FramePlan.indices`)."""
    wanted = [plan.indices(info.frame_count, info.fps, detect_every, timestamps_s) for plan in plans]
    return np.unique(np.concatenate(wanted)).astype(np.int64) if wanted else np.zeros(0, np.int64)


#: Two keyframes' faces are taken for the same face, and the frames between them interpolated,
#: when their boxes overlap by this IoU or more (and both keyframes hold the same number of faces).
INTERPOLATE_MIN_IOU = 0.6


@dataclass
class KeyframeFace:
    """A face in a decoded frame's pixels: detected, or interpolated between two keyframes."""

    box: np.ndarray
    landmarks: np.ndarray
    probability: float
    interpolated: bool = False


def is_keyframe(index: int, every: "int | Keyframes", last: int | None) -> bool:
    """Whether the face detector runs on frame ``index``: every ``every``-th frame of the *video*
    (frame numbers 0, every, 2*every, ...) and its ``last`` frame; every frame when ``every`` is 1.

    Keyframes are fixed frame numbers, not positions among the frames some plan happens to want,
    so a frame's face depends only on the video, the frame and ``every``: never on which other
    detectors share the track. Example: with ``every=4`` and ``last=9``, frames 0, 4, 8, 9 are keyframes.
    """
    return _schedule(every, last).contains(index)


def keyframe_anchors(index: int, every: "int | Keyframes", last: int | None) -> tuple[int, int]:
    """The two keyframes around frame ``index`` (itself twice when it is one).

    Example: ``keyframe_anchors(6, 4, 9)`` is ``(4, 8)``; ``keyframe_anchors(9, 4, 9)`` is ``(9, 9)``;
    ``keyframe_anchors(10, 4, 10)`` is ``(10, 10)``; ``keyframe_anchors(9, 4, 10)`` is ``(8, 10)``.
    """
    return _schedule(every, last).anchors(index)


def frames_with_anchors(wanted: np.ndarray, every: "int | Keyframes", last: int | None) -> np.ndarray:
    """``wanted`` frame numbers plus the keyframes around each one (:func:`keyframe_anchors`): what
    must be decoded so that every wanted frame can be interpolated between its own keyframes.

    Example: ``frames_with_anchors([5, 6, 12], 4, 99)`` is ``[4, 5, 6, 8, 12]``.
    """
    wanted, schedule = np.asarray(wanted, np.int64), _schedule(every, last)
    if schedule.every <= 1 or len(wanted) == 0:
        return wanted
    anchors = {a for index in wanted.tolist() for a in schedule.anchors(int(index))}
    return np.array(sorted(anchors | set(wanted.tolist())), np.int64)


def keyframe_chunks(indices: np.ndarray, every: "int | Keyframes", last: int | None,
                    size: int) -> list[np.ndarray]:
    """``indices`` cut into runs of at least ``size`` frames (the last may be shorter), each ending on
    a keyframe, so that no frame is separated from the keyframe after it.

    Example: ``keyframe_chunks([0, 1, 2, 3, 4, 5, 6, 7, 8], 4, 8, 2)`` is ``[[0, 1, 2, 3, 4], [5, 6, 7, 8]]``.
    """
    chunks, start, schedule = [], 0, _schedule(every, last)
    for position, index in enumerate(np.asarray(indices).tolist()):
        if position + 1 - start >= size and schedule.contains(int(index)):
            chunks.append(np.asarray(indices[start:position + 1], np.int64))
            start = position + 1
    if start < len(indices):
        chunks.append(np.asarray(indices[start:], np.int64))
    return chunks


def pair_faces(first: Sequence[KeyframeFace], second: Sequence[KeyframeFace],
               min_iou: float = INTERPOLATE_MIN_IOU) -> list[tuple[int, int]] | None:
    """Match every face of ``first`` to one of ``second`` by box IoU, best first; ``None`` when the
    counts differ or some face finds no partner with IoU >= ``min_iou`` (then the frames between two
    keyframes are detected, not interpolated)."""
    if len(first) != len(second):
        return None
    candidates = sorted(((box_overlap(a.box, b.box), i, j) for i, a in enumerate(first) for j, b in enumerate(second)),
                        reverse=True)
    pairs, used_first, used_second = [], set(), set()
    for overlap, i, j in candidates:
        if overlap >= min_iou and i not in used_first and j not in used_second:
            pairs.append((i, j))
            used_first.add(i)
            used_second.add(j)
    return pairs if len(pairs) == len(first) else None


def interpolate_face(a: KeyframeFace, b: KeyframeFace, weight: float) -> KeyframeFace:
    """The face a fraction ``weight`` (0 = at ``a``, 1 = at ``b``) of the way between two keyframes:
    box and landmarks linear, probability the lower of the two.

    Example: boxes [0, 0, 10, 10] and [10, 0, 20, 10] at weight 0.5 give [5, 0, 15, 10].
    """
    return KeyframeFace(box=(1 - weight) * np.asarray(a.box, np.float64) + weight * np.asarray(b.box, np.float64),
                        landmarks=(1 - weight) * np.asarray(a.landmarks, np.float64)
                        + weight * np.asarray(b.landmarks, np.float64),
                        probability=min(float(a.probability), float(b.probability)), interpolated=True)


def _keyframe_faces(result: Any) -> list[KeyframeFace]:
    return [KeyframeFace(np.asarray(face.box, np.float64), np.asarray(face.landmarks, np.float64), float(face.probability))
            for face in result.faces]


def detect_on_keyframes(extractor: Any, frames: np.ndarray, indices: np.ndarray, every: "int | Keyframes" = 1,
                        last: int | None = None, known: dict[int, list[KeyframeFace]] | None = None
                        ) -> tuple[list[list[KeyframeFace]], int]:
    """Faces of each of ``frames`` (one chunk, frame numbers ``indices`` increasing), detecting only some.

    With ``every`` = 1 the detector runs on every frame. Otherwise it runs on the keyframes among
    them (:func:`is_keyframe`: frame numbers that are multiples of ``every``, and the video's
    ``last`` frame); a frame between two keyframes whose faces pair up (:func:`pair_faces`: same
    count, box IoU >= ``INTERPOLATE_MIN_IOU``) gets each face interpolated linearly in frame number
    (:func:`interpolate_face`; in time when ``every`` is a variable-rate video's :class:`Keyframes`);
    where they do not (a face appears, leaves, or jumps) or a keyframe is missing from the chunk, the
    frame is detected too, so a disagreement never produces a guessed face. This is the DFDC-era
    trick of detecting on a subset of frames and tracking between them.

    Args:
        known: faces of keyframes detected in an earlier chunk, by frame number (read, and updated
            with this chunk's keyframes so the caller can carry the last one on).

    Returns:
        (faces per frame, in the frames' pixels, largest first for detected frames; number of
        frames the detector ran on).
    """
    found: dict[int, list[KeyframeFace]] = known if known is not None else {}  # keyframes, by frame number
    numbers = [int(i) for i in indices]
    schedule = _schedule(every, last)

    def detect(positions: list[int]) -> dict[int, list[KeyframeFace]]:
        if not positions:
            return {}
        results = extractor.extract(frames[positions], frame_indices=[numbers[p] for p in positions])
        return {numbers[p]: _keyframe_faces(r) for p, r in zip(positions, results)}

    keys = [p for p, number in enumerate(numbers) if schedule.contains(number) and number not in found]
    found.update(detect(keys))
    faces = {number: found[number] for number in numbers if number in found}
    undecided: list[int] = []
    for p, number in enumerate(numbers):
        if number in faces:
            continue
        left, right = schedule.anchors(number)
        pairs = pair_faces(found[left], found[right]) if left in found and right in found else None
        if pairs is None:
            undecided.append(p)
            continue
        weight = schedule.weight(number, left, right)
        faces[number] = [interpolate_face(found[left][i], found[right][j], weight) for i, j in pairs]
    faces.update(detect(undecided))
    return [faces[number] for number in numbers], len(keys) + len(undecided)


def build_track(video_path: str | Path, plans: Sequence[FramePlan], crop_specs: Sequence[CropSpec],
                extractor: Any, *, chunk_frames: int = CHUNK_FRAMES,
                decode_max_side: int = DECODE_MAX_SIDE, detect_every: int = 1) -> FaceTrack:
    """Decode the frames of every plan once, find their faces once, cut each face once per spec.

    Args:
        video_path: the video.
        plans: the frame plans of every detector that will read this track.
        crop_specs: every crop specification they need (duplicates are cut once).
        extractor: the face detector (:func:`common.exercises.face_extractor`, ``select="all"``):
            ``extract(frames, frame_indices=...) -> [FrameFaces]``, largest face first.
        chunk_frames: frames decoded and detected together (bounds memory).
        decode_max_side: larger frames are decoded shrunk to this longer side.
        detect_every: K: run the face detector on the video's frames numbered 0, k, 2k, ... (and
            its last), ``k = keyframe_step(K, fps)`` (K frames at 25 fps, 2K at 50: every K / 25 s),
            decoding those around each planned frame, and interpolate the faces in between when both
            neighbours agree (:func:`detect_on_keyframes`); 1 = every planned frame. A frame's face
            then does not depend on the other plans.

    Returns:
        The :class:`FaceTrack`.

    Raises:
        VideoError: the file is not a readable video, or none of the planned frames decodes.
    """
    path = Path(video_path)
    timings = {"decode": 0.0, "faces": 0.0, "crops": 0.0}
    tick = time.perf_counter()
    still = _still_image(path, decode_max_side) if is_image_file(path) else None
    info = still.info if still else probe_video(path)
    if info.frame_count < 1:
        raise VideoError(f"cannot read video '{path}': it has no frames")
    if detect_every < 1:
        raise ValueError(f"detect_every must be >= 1, got {detect_every}")
    last = info.frame_count - 1
    reads_times = detect_every > 1 or any(_reads_times(plan) for plan in plans)
    times = frame_timestamps(path) if not still and reads_times else None
    keyframes = Keyframes(1, last) if still else Keyframes.of_video(detect_every, info.fps, last, times)
    step = keyframes.every
    wanted = plan_union(plans, info, keyframes, times)
    to_decode = frames_with_anchors(wanted, keyframes, last)  # keyframes a wanted frame lies between
    keep = set(wanted.tolist())
    timings["decode"] += time.perf_counter() - tick
    specs = list(dict.fromkeys(crop_specs))
    box_scale = specs[0].scale if specs else 1.3
    frames: list[TrackedFrame] = []
    decoded = detected = interpolated = 0
    if step > 1:  # each chunk ends on a keyframe: longer chunks hold more frames per keyframe
        chunk_frames = max(chunk_frames, KEYFRAME_CHUNK)
    known: dict[int, list[KeyframeFace]] = {}  # the last chunk's last keyframe, for the next chunk
    for chunk_indices in keyframe_chunks(to_decode, keyframes, last, chunk_frames):
        tick = time.perf_counter()
        try:
            chunk = still if still else sample_frames(path, indices=chunk_indices, max_side=decode_max_side)
        except VideoError:
            chunk = None  # not one frame of this chunk decodes: each is listed below
        timings["decode"] += time.perf_counter() - tick
        if chunk is None or len(chunk.indices) == 0:
            frames.extend(_not_decoded(i, info.fps) for i in chunk_indices.tolist() if i in keep)
            known = {}
            continue
        decoded += len(chunk.indices)
        factor = chunk.frames.shape[2] / info.width
        tick = time.perf_counter()
        results, ran = detect_on_keyframes(extractor, chunk.frames, chunk.indices, keyframes, last, known)
        known = {number: found for number, found in known.items() if number == int(chunk.indices[-1])}
        detected += ran
        timings["faces"] += time.perf_counter() - tick
        tick = time.perf_counter()
        for index, timestamp, frame, result in zip(chunk.indices.tolist(), chunk.timestamps_s.tolist(),
                                                   chunk.frames, results):
            if index not in keep:  # a keyframe decoded only to interpolate a wanted frame next to it
                continue
            faces = []
            for face in result:
                crop_box = exercises.square_crop_box(face.box, box_scale, frame.shape)
                faces.append(TrackedFace(
                    box=_box_in_original(face.box, factor, info.width, info.height),
                    crop_box=[round(float(v) / factor, 2) for v in crop_box],
                    landmarks=np.round(np.asarray(face.landmarks, np.float64) / factor, 2),
                    probability=round(min(max(float(face.probability), 0.0), 1.0), 6),
                    crops={spec: spec.cut(frame, face.box, face.landmarks) for spec in specs},
                    interpolated=face.interpolated))
                interpolated += face.interpolated
            reason = None if faces else (f"no face with detector probability >= "
                                         f"{getattr(extractor, 'min_probability', 0.9):g} in this frame")
            frames.append(TrackedFrame(int(index), round(float(max(timestamp, 0.0)), 6),
                                       "face" if faces else "no_face", faces, reason))
        frames.extend(_not_decoded(i, info.fps) for i in chunk.missing if i in keep)
        timings["crops"] += time.perf_counter() - tick
    frames.sort(key=lambda frame: frame.index)
    if frames and all(frame.status == "decode_failed" for frame in frames):
        raise VideoError(f"cannot read video '{path}': none of the {len(wanted)} planned frames could be decoded")
    link_tracks(frames)
    settings = {"input_kind": "image" if still else "video", "face_scale": box_scale, "min_face_probability": float(getattr(extractor, "min_probability", 0.9)),
                "detection_max_side": int(getattr(extractor, "max_detection_side", 0)),
                "decode_max_side": int(decode_max_side), "detect_every": int(detect_every),
                "keyframe_step": int(step), **({"keyframes_by_time": True} if keyframes.by_time else {})}
    return FaceTrack(path, info, frames, settings, timings, decoded, detected, interpolated, frame_times_s=times,
                     keyframes=keyframes)


def box_overlap(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two [x1, y1, x2, y2] boxes, in [0, 1].

    Example: two 10 x 10 boxes shifted by 5 px overlap on 50 of 150 px: ``box_overlap([0, 0, 10, 10],
    [5, 0, 15, 10])`` is 1/3.
    """
    inner_w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    inner_h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inner = inner_w * inner_h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inner
    return inner / union if union > 0 else 0.0


def landmark_distance(face: TrackedFace, earlier: TrackedFace) -> float:
    """Mean distance between the five landmarks of two faces, in units of the earlier face's box
    diagonal (0: the same points; about 0.1: a head that moved a little between sampled frames)."""
    diagonal = float(np.hypot(earlier.box[2] - earlier.box[0], earlier.box[3] - earlier.box[1])) or 1.0
    return float(np.linalg.norm(np.asarray(face.landmarks) - np.asarray(earlier.landmarks), axis=1).mean() / diagonal)


#: A face continues a track when its box overlaps the track's last box by this IoU ...
TRACK_MIN_IOU = 0.3
#: ... or when its landmarks lie within this many box diagonals of the track's last landmarks.
TRACK_MAX_LANDMARK_DISTANCE = 0.25


def link_tracks(frames: Sequence[TrackedFrame], min_iou: float = TRACK_MIN_IOU,
                max_landmark_distance: float = TRACK_MAX_LANDMARK_DISTANCE) -> None:
    """Give every face a ``track_id``, in place: the same number for the same face across frames.

    Frames are visited in order; each face is compared with the *last* face of every track so far
    (not only the previous frame's: a face missed in one frame, or a frame without faces, does not
    end a track). A pair matches when the boxes overlap by ``min_iou`` or more, or the landmarks are
    within ``max_landmark_distance`` box diagonals; matches are made best first (highest IoU minus
    landmark distance), each track and each face once per frame. An unmatched face starts a new
    track. A face that leaves the frame and comes back where it was keeps its track; one that comes
    back elsewhere starts a new track (the report then lists two tracks for one person).
    """
    last: dict[int, TrackedFace] = {}
    next_id = 0
    for frame in frames:
        pairs = []
        for position, face in enumerate(frame.faces):
            for track_id, earlier in last.items():
                overlap, distance = box_overlap(face.box, earlier.box), landmark_distance(face, earlier)
                if overlap >= min_iou or distance <= max_landmark_distance:
                    pairs.append((overlap - distance, position, track_id))
        matched_faces: set[int] = set()
        matched_tracks: set[int] = set()
        for _, position, track_id in sorted(pairs, key=lambda pair: -pair[0]):
            if position not in matched_faces and track_id not in matched_tracks:
                frame.faces[position].track_id = track_id
                matched_faces.add(position)
                matched_tracks.add(track_id)
        for position, face in enumerate(frame.faces):
            if position not in matched_faces:
                face.track_id, next_id = next_id, next_id + 1
            last[face.track_id] = face
