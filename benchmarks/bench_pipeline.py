"""Benchmark: ``detect_video.py``'s pipeline against the naive way, stage by stage (prints figures).

    python benchmarks/bench_pipeline.py [--device auto] [--frames 32] [--quick]

From one run, on a 10-second 1280x720 H.264 talking-head clip it generates (a mini-forensics face
rendered at 360 px, enlarged 2x and set on a textured 720p background):

1. seconds per stage (decode/sample, face detection, crops, model, report) and end to end, for a
   phase-1 CNN alone (XceptionNet at 299 px, untrained weights: speed does not depend on them) and
   for a two-detector run (the CNN and phase 2's frame-difference clip detector on one face track);
2. the same work done the naive way in the same run, as seeds 001 and 003 do: every frame decoded,
   one MTCNN call per sampled frame at full size, one model call per face; the ratio overall and
   for the face stage;
3. how the cost grows with the video's length at a fixed number of sampled frames (10 s against
   60 s) and with the number of sampled frames (16, 32, 64);
4. videos per hour for a folder of clips (the next video decoded and its faces found by a worker
   thread while this one is scored, against one at a time), and the peak resident memory.

The reports of both ways name the same faces (checked: box IoU >= 0.75 on every sampled frame,
the minimum printed) before any figure is printed. ``--quick`` uses a 4-second 640x360 clip and fewer repeats (a
smoke run). Nothing here is a timed test: the figures go into the README and the issue notes.
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grader import tree  # noqa: E402

tree.activate("solutions")

from common import exercises  # noqa: E402
from common.checkpoint import save_checkpoint  # noqa: E402
from common.device import autocast_for, resolve_device  # noqa: E402
from common.face_track import box_overlap  # noqa: E402
from common.models import build_model  # noqa: E402
from common.preprocessing import Preprocessing  # noqa: E402
from common.tools.detect import analyse_folder, analyse_video, load_detectors, make_face_detector  # noqa: E402
from common.video import iter_frames, sample_indices, write_video  # noqa: E402

STAGES = ("decode", "faces", "crops", "model", "report", "total")
SAME_FACE_MIN_IOU = 0.75
"""MTCNN on a frame shrunk to 960 px and on the full 1280 px frame: boxes of the same face overlap by
this much or more (measured 0.8-0.9: the detector's box size varies with the scale it sees)."""


KEYFRAME_EVERY = 32
"""``--detect-every`` of the keyframe row: MTCNN on the video's frames 0, 32, 64, ... and its last (9 of a
10-s clip's 250), the faces of the 32 sampled frames interpolated between them. Keyframes are video frame
numbers, so K must exceed the sampled frames' spacing (about 8 here) to save detections."""


def talking_head_clip(path: Path, seconds: float, width: int, height: int, fps: float = 25.0) -> Path:
    """A real-photograph talking head (mini-forensics, 360 px) enlarged 2x on a textured frame."""
    from common.synthetic import make_clip

    n_frames = int(round(seconds * fps))
    side = min(height, 720) // 2
    clip = make_clip("real", seed=3, n_frames=min(n_frames, 250), size=side, identity="astronaut")
    rng = np.random.default_rng(0)
    background = cv2.GaussianBlur(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), (0, 0), 4)
    x0, y0 = (width - 2 * side) // 2, (height - 2 * side) // 2

    def frames():
        for number in range(n_frames):
            frame = background.copy()
            face = clip.frames[number % len(clip.frames)]
            frame[y0:y0 + 2 * side, x0:x0 + 2 * side] = cv2.resize(face, (2 * side, 2 * side),
                                                                   interpolation=cv2.INTER_LINEAR)
            yield frame

    return write_video(path, frames(), fps=fps)


def checkpoints(folder: Path) -> tuple[Path, Path]:
    """An XceptionNet (299 px) and a frame-difference checkpoint with initial weights."""
    torch.manual_seed(0)
    xception = save_checkpoint(folder / "xception.pt", build_model("xceptionnet"), architecture="xceptionnet",
                               model_config={"pretrained": False, "num_classes": 1})
    flicker = save_checkpoint(folder / "flicker.pt", build_model("frame_difference"), architecture="frame_difference",
                              model_config={})
    return xception, flicker


def ours(video: Path, detectors, face_detector, detect_every: int = 1) -> dict:
    report = analyse_video(video, detectors, face_detector=face_detector, tree="solutions", detect_every=detect_every)
    return report


def naive(video: Path, model: torch.nn.Module, prep: Preprocessing, frames: int, device: torch.device) -> tuple[dict, list]:
    """Every frame decoded; MTCNN on each sampled frame at full size, alone; the model on each face, alone."""
    timings = dict.fromkeys(STAGES, 0.0)
    started = time.perf_counter()
    tick = time.perf_counter()
    decoded = [frame for _, _, frame in iter_frames(video)]
    wanted = sample_indices(len(decoded), frames)
    timings["decode"] = time.perf_counter() - tick
    extractor = exercises.face_extractor(device, size=prep.size, scale=prep.scale, select="all",
                                         max_detection_side=4096, batch_size=1)
    boxes = []
    for index in wanted.tolist():
        tick = time.perf_counter()
        faces = extractor.extract([decoded[index]])[0].faces
        timings["faces"] += time.perf_counter() - tick
        boxes.append([face.box.tolist() for face in faces])
        for face in faces:
            tick = time.perf_counter()
            crop = exercises.crop_face(decoded[index], face.box, prep.size, prep.scale)
            timings["crops"] += time.perf_counter() - tick
            tick = time.perf_counter()
            with torch.inference_mode(), autocast_for(device):
                torch.sigmoid(model(prep.normalise(crop[None], device)))
            timings["model"] += time.perf_counter() - tick
    timings["total"] = time.perf_counter() - started
    return timings, boxes


def best_of(function, repeats: int):
    """(fastest result, its timings) over ``repeats`` runs; the function returns (timings, payload)."""
    runs = [function() for _ in range(repeats)]
    return min(runs, key=lambda run: run[0]["total"])


def print_stages(rows: dict[str, dict]) -> None:
    print(f"{'run':44s}" + "".join(f"{stage:>9s}" for stage in STAGES))
    for name, timings in rows.items():
        print(f"{name:44s}" + "".join(f"{timings.get(stage, 0.0):9.3f}" for stage in STAGES))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--quick", action="store_true", help="a 4 s 640x360 clip, one repeat (smoke run)")
    parser.add_argument("--detect-every", type=int, default=KEYFRAME_EVERY,
                        help=f"K of the keyframe row (default {KEYFRAME_EVERY})")
    args = parser.parse_args()
    device = resolve_device(args.device)
    seconds, width, height, repeats = (4.0, 640, 360, 1) if args.quick else (10.0, 1280, 720, 3)
    print(f"device: {device}; torch threads: {torch.get_num_threads()}; clip {seconds:g} s {width}x{height} at 25 fps; "
          f"{args.frames} sampled frames; best of {repeats}")
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        tick = time.perf_counter()
        short = talking_head_clip(folder / "short.mp4", seconds, width, height)
        long = talking_head_clip(folder / "long.mp4", 6 * seconds, width, height)
        print(f"(clips written in {time.perf_counter() - tick:.0f} s)")
        xception_path, flicker_path = checkpoints(folder)
        cnn = load_detectors([xception_path], device, frames=args.frames)
        both = load_detectors([xception_path, flicker_path], device, frames=args.frames)
        face_detector = make_face_detector(cnn)
        ours(short, cnn, face_detector)  # warm-up: MTCNN and the model's first call

        def run_ours(video, detectors, frames=args.frames, detect_every=1):
            for detector in detectors:
                detector.frames = frames if detector.kind == "frame" else detector.frames
            report = ours(video, detectors, face_detector, detect_every)
            return report["timings_s"], report

        cnn_timings, cnn_report = best_of(lambda: run_ours(short, cnn), repeats)
        both_timings, _ = best_of(lambda: run_ours(short, both), repeats)
        naive_timings, naive_boxes = best_of(lambda: naive(short, cnn[0].model, cnn[0].prep, args.frames, device), 1)
        ours_boxes = [[face["box"] for face in frame["faces"]] for frame in cnn_report["frames"]]
        overlaps = []
        for mine, theirs in zip(ours_boxes, naive_boxes):
            assert len(mine) == len(theirs), f"the two ways found different numbers of faces: {mine} vs {theirs}"
            overlaps += [box_overlap(a, b) for a, b in zip(mine, theirs)]
        assert min(overlaps) >= SAME_FACE_MIN_IOU, f"the two ways found different faces (IoU {min(overlaps):.2f})"
        print(f"\n1-2. seconds per video and stage (both ways find the same faces: box IoU {min(overlaps):.2f} or "
              f"more, MTCNN on frames shrunk to 960 px against full size)")
        key_timings, key_report = best_of(lambda: run_ours(short, cnn, detect_every=args.detect_every), repeats)
        key_overlaps = [box_overlap(a["faces"][0]["box"], b["faces"][0]["box"])
                        for a, b in zip(cnn_report["frames"], key_report["frames"]) if a["faces"] and b["faces"]]
        print_stages({"ours: XceptionNet": cnn_timings,
                      f"ours: XceptionNet, --detect-every {args.detect_every}": key_timings,
                      "ours: XceptionNet + frame difference (one track)": both_timings,
                      "naive: every frame, MTCNN and model per frame": naive_timings})
        print(f"--detect-every {args.detect_every}: MTCNN on {key_report['summary']['frames_through_face_detector']} of "
              f"{len(key_report['frames'])} sampled frames, {key_report['summary']['faces_interpolated']} faces interpolated; "
              f"box IoU against MTCNN on every sampled frame: min {min(key_overlaps):.2f}, mean {np.mean(key_overlaps):.2f}; "
              f"face stage {cnn_timings['faces'] / key_timings['faces']:.1f}x faster, end to end / (decode + model) "
              f"{key_timings['total'] / (key_timings['decode'] + key_timings['model']):.2f}; naive / this: end to end "
              f"{naive_timings['total'] / key_timings['total']:.1f}x, face stage {naive_timings['faces'] / key_timings['faces']:.1f}x")
        print(f"naive / ours: end to end {naive_timings['total'] / cnn_timings['total']:.1f}x, "
              f"face stage {naive_timings['faces'] / cnn_timings['faces']:.1f}x, "
              f"decode {naive_timings['decode'] / cnn_timings['decode']:.1f}x")
        print(f"ours end to end / (decode + model): {cnn_timings['total'] / (cnn_timings['decode'] + cnn_timings['model']):.2f}")

        long_timings, _ = best_of(lambda: run_ours(long, cnn), repeats)
        print(f"\n3. length: {6 * seconds:g} s clip {long_timings['total']:.3f} s against {seconds:g} s clip "
              f"{cnn_timings['total']:.3f} s at {args.frames} frames: ratio {long_timings['total'] / cnn_timings['total']:.2f}")
        scaling = {}
        for frames in (16, 32, 64):
            scaling[frames] = best_of(lambda: run_ours(short, cnn, frames), repeats)[0]["total"]
        print("   sampled frames: " + ", ".join(f"{n}: {t:.3f} s" for n, t in scaling.items()) +
              f" (64 / 16: {scaling[64] / scaling[16]:.2f})")
        clips = folder / "folder"
        clips.mkdir()
        for number in range(4):
            (clips / f"clip{number}.mp4").symlink_to(short)
        for detector in cnn:
            detector.frames = args.frames
        per_video = {}
        for background in (False, True):
            tick = time.perf_counter()
            analyse_folder(clips, cnn, folder / f"reports_{background}", progress=False, face_detector=face_detector,
                           tree="solutions", background=background)
            per_video[background] = (time.perf_counter() - tick) / 4
        print(f"\n4. folder of 4 clips: {per_video[True]:.2f} s per video with the next video's faces found in a "
              f"background thread ({per_video[False]:.2f} s one at a time), {3600 / per_video[True]:.0f} videos per "
              f"hour; peak resident memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
