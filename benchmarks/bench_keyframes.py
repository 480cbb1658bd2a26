"""Benchmark: face detection on keyframes (``--detect-every K``) against MTCNN on every frame (prints figures).

    python benchmarks/bench_keyframes.py [--clips 12] [--every 8] [--fps 25]

On ``--clips`` generated 10-s mini-forensics clips (250 frames at 25 fps, 128 px; 500 at ``--fps 50``),
for the three kinds of frame plan (a frame CNN's 16 evenly spaced frames, a clip detector's 16-frame
clip read at 25 fps, a signal detector's 10-s window), each built alone and all three on one shared
track, with MTCNN on the video's keyframes, K / 25 s apart (``common.face_track.keyframe_step``):

1. frames through MTCNN per clip with keyframes and with every frame (the naive baseline), and
   their ratio;
2. how close the keyframe boxes stay to MTCNN run on the same frame (IoU, lowest and mean);
3. whether a plan's faces depend on the plans sharing its track: the largest box difference, in
   pixels, between the plan built alone and on the shared track (0 up to MTCNN's own arithmetic:
   it batches the keyframes differently).

Nothing here is a timed test: the figures go into the guide and the issue notes.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grader import tree  # noqa: E402

tree.activate("solutions")

from common import exercises  # noqa: E402
from common.face_track import CropSpec, FramePlan, box_overlap, build_track  # noqa: E402
from common.synthetic import write_benchmark  # noqa: E402

PLANS = {"frame CNN, 16 spaced frames": FramePlan("spaced", count=16),
         "clip, 16 frames at 25 fps": FramePlan("contiguous", count=16, rate=25.0),
         "signal, 10-s window": FramePlan("window", seconds=10.0)}


def first_face_boxes(track, indices) -> list:
    """The largest face's box of each of ``indices`` (None where the frame has no face)."""
    return [frame.faces[0].box if frame.faces else None for frame in track.frames_at(indices)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=12)
    parser.add_argument("--every", type=int, default=8, help="K of --detect-every")
    parser.add_argument("--fps", type=float, default=25.0, help="frame rate of the generated clips (10 s each)")
    args = parser.parse_args()
    spec = CropSpec(64, 1.3)
    extractor = exercises.face_extractor("cpu", size=64, select="all")
    with tempfile.TemporaryDirectory() as folder:
        n_frames = int(round(10 * args.fps))
        write_benchmark(Path(folder), n_clips=args.clips, seed=3, n_frames=n_frames, fps=args.fps, progress=False)
        clips = sorted(Path(folder).rglob("*.mp4"))
        rows = {name: {"keyframes": [], "every": [], "iou": [], "shared_px": []} for name in PLANS}
        shared_detected, tick = [], time.perf_counter()
        for clip in clips:
            truth = build_track(clip, [FramePlan("window", seconds=10.0)], [spec], extractor)  # every frame
            shared = build_track(clip, list(PLANS.values()), [spec], extractor, detect_every=args.every)
            shared_detected.append(shared.frames_detected)
            for name, plan in PLANS.items():
                alone = build_track(clip, [plan], [spec], extractor, detect_every=args.every)
                rows[name]["keyframes"].append(alone.frames_detected)
                rows[name]["every"].append(len(plan.indices(alone.info.frame_count, alone.info.fps)))
                wanted = [frame.index for frame in alone.frames]
                mine, theirs = first_face_boxes(alone, wanted), first_face_boxes(shared, wanted)
                reference = first_face_boxes(truth, wanted)
                rows[name]["shared_px"] += [float(np.max(np.abs(np.subtract(a, b))))
                                            for a, b in zip(mine, theirs) if a is not None and b is not None]
                rows[name]["iou"] += [box_overlap(a, b) for a, b in zip(mine, reference)
                                      if a is not None and b is not None]
    print(f"{len(clips)} clips of {n_frames} frames at {args.fps:g} fps, K = {args.every} (keyframes every "
          f"{shared.keyframe_step} frames), {time.perf_counter() - tick:.0f} s")
    print(f"{'plan':<30} {'MTCNN frames/clip, K':>21} {'every frame':>12} {'ratio':>6} "
          f"{'IoU min':>8} {'IoU mean':>9} {'alone vs shared, px':>20}")
    for name, row in rows.items():
        keyframes, every = np.mean(row["keyframes"]), np.mean(row["every"])
        print(f"{name:<30} {keyframes:>21.1f} {every:>12.1f} {every / keyframes:>5.1f}x "
              f"{min(row['iou']):>8.3f} {np.mean(row['iou']):>9.3f} {max(row['shared_px']):>20.2f}")
    print(f"all three on one track: MTCNN on {np.mean(shared_detected):.1f} frames per clip "
          f"(every frame: {len(PLANS['signal, 10-s window'].indices(n_frames, args.fps))})")


if __name__ == "__main__":
    main()
