"""Benchmark: sampling 32 frames of a video with ``common.video.sample_frames`` vs simpler ways.

Run from the repository root:

    python benchmarks/bench_video.py            # 640x480, 300 frames, 32 sampled, best of 3

It writes a 640x480 H.264 clip of 300 frames (x264's default keyframe interval of 250 frames, so
the clip has keyframes at frames 0 and 250) into a temporary folder, then times, in the same run:

* ``sample_frames``: this course's sampler (forward decoding that skips unwanted non-reference
  frames, keyframe jumps only when they pay);
* naive seek-per-frame: ``cv2.VideoCapture.set(CAP_PROP_POS_FRAMES, i)`` then ``read()`` for each
  wanted frame, which re-decodes from the keyframe before every frame;
* OpenCV grab-and-skip: ``grab()`` every frame, ``retrieve()`` only the wanted ones;
* full decode: every frame to an RGB array with ``iter_frames`` (reported in frames per second).

Every method must return the same frame indices; the script checks the sampled frames against
the naive baseline's (within a small tolerance) before printing the table.

A second table shows when keyframe jumps pay: a longer clip (1,500 frames, 320x240, a keyframe
every 50 frames, as streaming encoders often use) sampled with ``sample_frames`` as is, and with
jumps switched off (``SEEK_AHEAD_FRAMES`` set beyond the clip's length: one forward pass).
Skip it with ``--no-long``.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import common.video as video  # noqa: E402
from common.video import iter_frames, probe_video, sample_frames, sample_indices, write_video  # noqa: E402


def moving_scene(frame_count: int, width: int, height: int, seed: int = 0) -> Iterator[np.ndarray]:
    """Yield a textured background panning sideways with a bright square crossing it.

    Texture (smoothed noise) gives the encoder realistic work; the motion keeps every frame
    different, as in real footage, without scene cuts (which would add keyframes).
    """
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, (height, width * 2, 3), dtype=np.uint8)
    texture = cv2.GaussianBlur(noise, (0, 0), sigmaX=3)
    for k in range(frame_count):
        offset = (2 * k) % width
        frame = np.ascontiguousarray(texture[:, offset:offset + width])
        x = int((width - 80) * k / max(frame_count - 1, 1))
        frame[height // 2 - 40:height // 2 + 40, x:x + 80] = (250, 220, 40)
        yield frame


def keyframe_indices(path: Path) -> list[int]:
    """Indices (presentation order) of the keyframes, read from the container's packets."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        packets = [(p.pts, p.is_keyframe) for p in container.demux(stream) if p.size > 0]
    ordered = sorted(pts for pts, _ in packets)
    return sorted(ordered.index(pts) for pts, key in packets if key)


def write_with_keyframe_interval(path: Path, frames: Iterator[np.ndarray], fps: float, interval: int) -> None:
    """Write H.264 with a fixed keyframe interval (``write_video`` keeps x264's default of 250)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=round(fps))
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "18", "g": str(interval), "keyint_min": str(interval)}
        for number, frame in enumerate(frames):
            if number == 0:
                stream.height, stream.width = frame.shape[:2]
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def forward_only_sample(path: Path, n: int):
    """``sample_frames`` with keyframe jumps switched off (one forward pass over the clip)."""
    saved = video.SEEK_AHEAD_FRAMES
    video.SEEK_AHEAD_FRAMES = 10**12
    try:
        return sample_frames(path, n)
    finally:
        video.SEEK_AHEAD_FRAMES = saved


def long_clip_table(n: int, repeats: int) -> None:
    """Time sampling on a 1,500-frame clip with a keyframe every 50 frames, jumps on and off."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "long.mp4"
        write_with_keyframe_interval(path, moving_scene(1500, 320, 240), fps=30, interval=50)
        info = probe_video(path)
        keyframes = keyframe_indices(path)
        timed = best_times({"jumps": lambda: sample_frames(path, n),
                            "forward": lambda: forward_only_sample(path, n)}, repeats)
        (jumps_s, jumps), (forward_s, forward) = timed["jumps"], timed["forward"]
        assert np.array_equal(jumps.frames, forward.frames), "jumps changed the decoded frames"
    print(f"\nlong clip: {info.width}x{info.height}, {info.frame_count} frames, "
          f"keyframes every {keyframes[1] - keyframes[0]} frames ({len(keyframes)} in all), {n} sampled")
    print(f"{'method':34s} {'time (s)':>9s} {'ours is x faster':>17s}")
    print(f"{'sample_frames (jumps when they pay)':34s} {jumps_s:9.3f} {1.0:17.1f}")
    print(f"{'sample_frames, forward pass only':34s} {forward_s:9.3f} {forward_s / jumps_s:17.1f}")


def naive_seek_per_frame(path: Path, indices: np.ndarray) -> np.ndarray:
    """Seek OpenCV's capture to each wanted frame and read it (re-decodes from a keyframe each time)."""
    capture = cv2.VideoCapture(str(path))
    frames = []
    for index in indices:
        capture.set(cv2.CAP_PROP_POS_FRAMES, int(index))
        ok, bgr = capture.read()
        if not ok:
            raise RuntimeError(f"OpenCV could not read frame {index}")
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    capture.release()
    return np.stack(frames)


def opencv_grab_and_skip(path: Path, indices: np.ndarray) -> np.ndarray:
    """Grab (decode) every frame up to the last wanted one; retrieve (convert) only wanted ones."""
    capture = cv2.VideoCapture(str(path))
    wanted = set(int(i) for i in indices)
    frames = []
    for index in range(int(indices.max()) + 1):
        if not capture.grab():
            raise RuntimeError(f"OpenCV could not grab frame {index}")
        if index in wanted:
            ok, bgr = capture.retrieve()
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    capture.release()
    return np.stack(frames)


def full_decode(path: Path) -> int:
    """Decode every frame to RGB with ``iter_frames``; return how many there were."""
    return sum(1 for _ in iter_frames(path))


def best_times(methods: dict[str, Callable[[], object]], repeats: int) -> dict[str, tuple[float, object]]:
    """Fastest wall-clock time of each method over ``repeats`` rounds, and its last result.

    The methods take turns within each round, so a burst of load on the machine slows all of
    them rather than one.
    """
    best: dict[str, tuple[float, object]] = {name: (float("inf"), None) for name in methods}
    for _ in range(repeats):
        for name, function in methods.items():
            start = time.perf_counter()
            result = function()
            best[name] = (min(best[name][0], time.perf_counter() - start), result)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300, help="length of the test clip")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("-n", type=int, default=32, help="frames to sample")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs per method")
    parser.add_argument("--no-long", action="store_true", help="skip the long-clip table")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.mp4"
        start = time.perf_counter()
        write_video(path, moving_scene(args.frames, args.width, args.height), fps=args.fps)
        write_s = time.perf_counter() - start
        info = probe_video(path)
        indices = sample_indices(info.frame_count, args.n)
        print(f"clip: {info.width}x{info.height}, {info.frame_count} frames, {info.codec}, "
              f"keyframes at {keyframe_indices(path)}, written in {write_s:.2f} s")
        print(f"sampling {len(indices)} frames: {indices.tolist()}")

        timed = best_times({
            "ours": lambda: sample_frames(path, args.n),
            "naive": lambda: naive_seek_per_frame(path, indices),
            "grab": lambda: opencv_grab_and_skip(path, indices),
            "full": lambda: full_decode(path),
        }, args.repeats)
        (ours_s, ours), (naive_s, naive) = timed["ours"], timed["naive"]
        (grab_s, grab), (full_s, decoded) = timed["grab"], timed["full"]

        assert ours.missing == [] and np.array_equal(ours.indices, indices), "sample_frames lost frames"
        for name, other in (("naive seek", naive), ("grab-and-skip", grab)):
            difference = np.abs(ours.frames.astype(int) - other.astype(int)).mean()
            assert difference < 2.0, f"{name} returned other frames (mean abs difference {difference:.2f})"

    rows = [
        ("sample_frames (ours)", ours_s, f"{len(indices)} frames"),
        ("naive seek per frame (OpenCV)", naive_s, f"{len(indices)} frames"),
        ("grab-and-skip (OpenCV)", grab_s, f"{len(indices)} frames"),
        ("full decode to RGB (iter_frames)", full_s, f"{decoded} frames, {decoded / full_s:.0f} fps"),
    ]
    print(f"\n{'method':34s} {'time (s)':>9s} {'ours is x faster':>17s}  notes")
    for name, seconds, notes in rows:
        print(f"{name:34s} {seconds:9.3f} {seconds / ours_s:17.1f}  {notes}")
    if not args.no_long:
        long_clip_table(args.n, args.repeats)
    print(f"\n(best of {args.repeats} interleaved runs each; same process)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
