"""Landmark jitter (task 2.3) of the tracked main face on a benchmark's held-out test split.

    python phase2_temporal_analysis/measure_jitter.py --data-root runs/p2cmp/mini-forensics [--solutions]

For each test video: one contiguous 16-frame clip in its middle (the clip detectors' plan), the main
face's five MTCNN landmarks in each frame, ``landmark_jitter`` between consecutive frames, their
mean. Prints the mean jitter per manipulation and the video AUC of the mean jitter alone (no
training) against the real videos.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root

from common.errors import ArgumentParser, CourseError, run_cli  # noqa: E402


def main(argv=None) -> int:
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from common.exercises import face_extractor
    from common.experiment import load_records, split_for_training
    from common.face_track import CropSpec, FramePlan, build_track
    from grader.tree import add_tree_argument, activate_from_args

    parser = ArgumentParser(prog="python phase2_temporal_analysis/measure_jitter.py", description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", required=True, help="a mini-forensics benchmark")
    parser.add_argument("--frames", type=int, default=16, help="frames of the clip")
    parser.add_argument("--seed", type=int, default=0, help="the split (as train.py --seed)")
    add_tree_argument(parser)
    args = parser.parse_args(argv)
    activate_from_args(args)
    if not Path(args.data_root).is_dir():
        raise CourseError(f"--data-root '{args.data_root}': no such folder")
    from phase2_temporal_analysis.template_temporal_features import landmark_jitter

    _, records = load_records("synthetic", args.data_root)
    extractor = face_extractor("cpu", select="all")
    plan = FramePlan("contiguous", count=args.frames)
    rows = []
    for record in split_for_training(records, args.seed)["test"]:
        track = build_track(record.path, [plan], [CropSpec(64, 1.3)], extractor)
        run = plan.runs(track.info.frame_count, track.info.fps)[0]
        faces = [face for face in track.face_per_frame(run, "subject") if face is not None]
        if len(faces) < 2:
            print(f"  {record.path.name}: fewer than two frames with the face, not measured")
            continue
        rows.append((record.method, float(np.mean(landmark_jitter(np.stack([f.landmarks for f in faces]))))))
    real = [j for m, j in rows if m == "real"]
    for method in sorted({m for m, _ in rows}):
        values = [j for m, j in rows if m == method]
        line = f"{method:16s} {len(values):3d} videos, mean jitter {np.mean(values):.3f} px (median {np.median(values):.3f})"
        if method != "real" and real:
            line += f"; AUC against real {roc_auc_score([0] * len(real) + [1] * len(values), real + values):.3f}"
        print(line)
    return 0


if __name__ == "__main__":
    run_cli(main)
