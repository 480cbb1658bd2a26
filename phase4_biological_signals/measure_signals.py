"""Measure phase 4's signals against the mini-forensics ground truth: heart-rate error and blink-count error.

    python phase4_biological_signals/measure_signals.py --solutions [--clips 16] [--frames 250] [--size 128]

Renders real clips of the identities held out for testing (``common.synthetic.assign_splits``,
seed 0: people no detector was trained on), finds face-mesh landmarks on every frame
(:class:`common.landmarks.FaceMeshLandmarker`) and, for comparison, takes the perfect ground-truth
landmarks (:func:`common.landmarks.truth_landmarks`); then

* heart rate: POS on the three skin regions' mean colour, detrended, band-passed, Welch peak
  (``pulse_measurements``, tasks 4.4-4.7), against ``truth.heart_rate_bpm``: mean absolute error;
* blinks: ``detect_blinks`` on the EAR curve (tasks 4.1-4.2) against the blinks the clip was drawn
  with (``truth.blink_times_s``): mean absolute count error and the share of clips counted exactly.

Prints one table. Each clip takes a few seconds (rendering dominates).

    python phase4_biological_signals/measure_signals.py --solutions --benchmark runs/phase4/mini-forensics

With ``--benchmark`` (a mini-forensics folder of real and Physiological clips of 10 s, e.g. the one
``phase4_biological_signals/train.py --dataset synthetic --synthetic-frames 250`` writes) it instead
measures the detectors' features: face-mesh landmarks on every frame of every clip, the blink (3),
pulse (3) and biological (9) features of each clip, a standardised logistic regression
(scikit-learn) fitted on the train and val identities, and the video AUC on the held-out test
identities, per feature set.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root

import numpy as np  # noqa: E402

from common.errors import ArgumentParser, CourseError, run_cli  # noqa: E402
from grader import tree  # noqa: E402


def measure(n_clips: int, n_frames: int, size: int, seed: int = 0) -> dict:
    """``{"facemesh": {...}, "truth": {...}}``, each with ``hr_mae_bpm``, ``hr_errors``,
    ``blink_count_mae``, ``blink_exact_share``, ``landmark_failures``; plus ``clips``."""
    from common.landmarks import FaceMeshLandmarker, truth_landmarks
    from common.synthetic import IDENTITIES, assign_splits, make_clip
    from phase4_biological_signals.template_blink_detection import detect_blinks, ear_curve
    from phase4_biological_signals.template_pulse_detection import pulse_measurements, region_mean_rgb

    held_out = [name for name, split in assign_splits(list(IDENTITIES), seed).items() if split == "test"]
    results = {name: {"hr_errors": [], "blink_errors": [], "landmark_failures": 0} for name in ("facemesh", "truth")}
    for k in range(n_clips):
        clip = make_clip("real", seed=1000 + k, n_frames=n_frames, size=size, identity=held_out[k % len(held_out)])
        fps = clip.truth.fps
        with FaceMeshLandmarker() as landmarker:
            sources = {"facemesh": landmarker.detect(clip.frames), "truth": truth_landmarks(clip.truth)}
        for name, series in sources.items():
            pulse = pulse_measurements(region_mean_rgb(clip.frames, series), fps)
            results[name]["hr_errors"].append(abs(pulse["hr_bpm"] - clip.truth.heart_rate_bpm))
            found = len(detect_blinks(ear_curve(series), fps))
            results[name]["blink_errors"].append(found - len(clip.truth.blink_times_s))
            results[name]["landmark_failures"] += int((~series.ok).sum())
    for name, result in results.items():
        result["hr_mae_bpm"] = float(np.mean(result["hr_errors"]))
        result["blink_count_mae"] = float(np.mean(np.abs(result["blink_errors"])))
        result["blink_exact_share"] = float(np.mean(np.array(result["blink_errors"]) == 0))
    return {**results, "clips": n_clips, "frames": n_frames, "size": size}


def detector_aucs(benchmark: Path) -> dict:
    """Video AUCs of the blink, pulse and biological feature sets on a benchmark's test split."""
    import json

    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from common.landmarks import FaceMeshLandmarker
    from common.video import probe_video, read_all_frames
    from phase4_biological_signals.template_face_consistency import biological_features

    manifest = json.loads((benchmark / "manifest.json").read_text(encoding="utf-8"))
    rows = {"train": [], "test": []}
    for clip in manifest["clips"]:
        path = benchmark / clip["file"]
        frames = read_all_frames(path)
        with FaceMeshLandmarker() as landmarker:
            series = landmarker.detect(frames)
        features = biological_features(frames, series, float(probe_video(path).fps))
        rows["test" if clip["split"] == "test" else "train"].append((features, clip["label"], clip["method"]))
    sets = {"blink": slice(0, 3), "pulse": slice(3, 6), "biological": slice(0, 9)}
    x_train = np.array([f for f, _, _ in rows["train"]])
    y_train = np.array([y for _, y, _ in rows["train"]])
    x_test = np.array([f for f, _, _ in rows["test"]])
    y_test = np.array([y for _, y, _ in rows["test"]])
    aucs = {}
    for name, columns in sets.items():
        model = make_pipeline(StandardScaler(), LogisticRegression()).fit(x_train[:, columns], y_train)
        aucs[name] = float(roc_auc_score(y_test, model.decision_function(x_test[:, columns])))
    return {"aucs": aucs, "train": len(y_train), "test": len(y_test), "test_fakes": int(y_test.sum()),
            "methods": sorted({m for _, _, m in rows["test"]})}


def main(argv=None) -> int:
    parser = ArgumentParser(prog="python phase4_biological_signals/measure_signals.py", description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--frames", type=int, default=250, help="frames per clip (250 = 10 s at 25 fps)")
    parser.add_argument("--size", type=int, default=128, help="frame side in pixels")
    parser.add_argument("--benchmark", default=None, help="a mini-forensics folder: measure the detectors' test AUCs instead")
    tree.add_tree_argument(parser)
    args = parser.parse_args(argv)
    tree.activate_from_args(args)
    if args.benchmark:
        if not (Path(args.benchmark) / "manifest.json").is_file():
            raise CourseError(f"'{args.benchmark}' is not a mini-forensics folder (no manifest.json)")
        found = detector_aucs(Path(args.benchmark))
        print(f"{found['train']} train+val videos, {found['test']} held-out test videos ({found['test_fakes']} fake; "
              f"methods {', '.join(found['methods'])})")
        for name, auc in found["aucs"].items():
            print(f"{name:<11} test video AUC {auc:.3f}")
        return 0
    if args.clips < 1 or args.frames < 50:
        raise CourseError(f"--clips must be >= 1 and --frames >= 50 (2 s), got {args.clips} and {args.frames}")
    result = measure(args.clips, args.frames, args.size)
    print(f"{result['clips']} real clips of {result['frames']} frames, {result['size']} px, held-out identities")
    print(f"{'landmarks':<10} {'HR MAE (bpm)':>12} {'HR max err':>10} {'blink |err|':>11} {'exact':>6} {'failed frames':>13}")
    for name in ("facemesh", "truth"):
        r = result[name]
        print(f"{name:<10} {r['hr_mae_bpm']:>12.2f} {max(r['hr_errors']):>10.2f} {r['blink_count_mae']:>11.2f} "
              f"{r['blink_exact_share']:>6.0%} {r['landmark_failures']:>13}")
    return 0


if __name__ == "__main__":
    run_cli(main)
