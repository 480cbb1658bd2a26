"""``demo.py`` (``make demo``): the whole course pipeline end to end, offline, in a few minutes on a CPU.

1. generate a small *mini-forensics* benchmark (:mod:`common.synthetic`: talking heads made from
   real face photographs, with face-swap and GAN-upsampling fakes; identities split 70/15/15);
2. train a phase-1 detector on it briefly (``phase1_cnn_detection/train.py``'s library functions:
   face cache with MTCNN, validation AUC, safe checkpoint, Youden threshold);
3. run ``detect_video.py`` on one held-out clip per method, REAL, FaceSwap and GANUpsample
   (identities never seen in training), and ``visualize_detection.py`` on each (annotated video +
   summary figure);
4. print the verdicts and where everything was written (``demo_output/`` by default).

It needs no dataset, no network and no GPU. It runs the reference solutions by default (a fresh
checkout's templates still have TODOs); ``--templates`` runs your own code instead once you have
finished phase 1. ``--quick`` is a tiny version (about a minute) used by the tests.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

from common.errors import CourseError


@dataclass(frozen=True)
class DemoSize:
    """How big the demo is: benchmark clips and their length, frames per video, training epochs."""

    clips: int
    clip_frames: int
    train_frames: int
    epochs: int
    detect_frames: int


FULL = DemoSize(clips=240, clip_frames=16, train_frames=16, epochs=15, detect_frames=16)
QUICK = DemoSize(clips=16, clip_frames=12, train_frames=4, epochs=1, detect_frames=6)
DEMO_MODEL = "baseline"
# Both spatial manipulations of mini-forensics (train.py's synthetic default): face swaps, whose
# face is rendered at a lower resolution and blended in, and GAN upsampling with its periodic grid.
DEMO_METHODS = ("FaceSwap", "GANUpsample")
# Face crops at about their size in the 128-px clips: resampling them would smooth away the
# pixel-level cues (sensor noise, the upsampling grid) the detector must learn.
DEMO_IMAGE_SIZE = 64


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="demo.py",
        description="End-to-end demo on generated data: benchmark -> training -> detect_video -> visualize.",
    )
    parser.add_argument("--output-dir", default="demo_output", help="where everything is written (default demo_output/)")
    parser.add_argument("--quick", action="store_true", help="tiny version (about a minute; used by the tests)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--templates", action="store_true",
                        help="run your templates instead of the reference solutions (finish phase 1 first)")
    parser.add_argument("--seed", type=int, default=0, help="benchmark and training seed")
    return parser


def train_detector(output_dir: Path, size: DemoSize, device: str, seed: int, quiet: bool) -> dict:
    """Generate the benchmark and train the demo detector with ``phase1_cnn_detection/train.py``'s pipeline.

    Returns:
        The training summary of :func:`common.tools.train.train` (checkpoint path, metrics...).
    """
    from common.experiment import ensure_synthetic_benchmark
    from common.tools import train

    benchmark = ensure_synthetic_benchmark(
        output_dir / "mini-forensics", n_clips=size.clips, n_frames=size.clip_frames, seed=seed, progress=not quiet,
        methods=DEMO_METHODS)
    argv = ["--dataset", "synthetic", "--data-root", str(benchmark), "--model", DEMO_MODEL,
            "--image-size", str(DEMO_IMAGE_SIZE), "--epochs", str(size.epochs), "--batch-size", "32",
            "--frames", str(size.train_frames), "--device", device, "--output-dir", str(output_dir / "training"),
            "--checkpoint", str(output_dir / "demo_detector.pt"), "--seed", str(seed),
            "--patience", str(max(size.epochs, 1)), "--no-augment"]
    if quiet:
        argv.append("--quiet")
    return train.train(train.build_parser("phase1_cnn_detection").parse_args(argv))


def held_out_clips(benchmark: Path) -> dict[str, Path]:
    """The first clip of each method in the benchmark's test split (identities unseen in training):
    ``{"real": path, "FaceSwap": path, ...}``, REAL first. A REAL and at least one FAKE are required."""
    manifest = json.loads((benchmark / "manifest.json").read_text())
    chosen: dict[str, Path] = {}
    for clip in manifest["clips"]:
        if clip["split"] == "test" and clip["method"] not in chosen:
            chosen[clip["method"]] = benchmark / clip["file"]
    if "real" not in chosen or len(chosen) < 2:
        raise CourseError(f"the benchmark in '{benchmark}' has no REAL and FAKE clip in its test split; "
                          "delete it and run the demo again")
    fakes = sorted(method for method in chosen if method != "real")
    return {"real": chosen["real"], **{method: chosen[method] for method in fakes}}


def analyse_and_draw(clips: dict[str, Path], checkpoint: Path, output_dir: Path, size: DemoSize,
                     device: str) -> dict[str, dict]:
    """Run ``detect_video`` and ``visualize_detection`` (library ``main``s) on each clip.

    Returns:
        ``{name: {"clip", "report", "video", "summary", "verdict", "score"}}``.
    """
    from common.tools import detect, visualize

    results = {}
    for name, clip in clips.items():
        report = output_dir / "reports" / f"{name}_{clip.stem}.json"
        annotated = output_dir / "annotated" / f"{name}_{clip.stem}.mp4"
        summary = output_dir / "plots" / f"{name}_{clip.stem}.png"
        for folder in (report.parent, annotated.parent, summary.parent):
            folder.mkdir(parents=True, exist_ok=True)
        detect.main(["--input", str(clip), "--model", str(checkpoint), "--output", str(report),
                     "--frames", str(size.detect_frames), "--device", device, "--quiet"])
        visualize.main(["--video", str(clip), "--predictions", str(report), "--output", str(annotated),
                        "--summary", str(summary)])
        written = json.loads(report.read_text())
        results[name] = {"clip": clip, "report": report, "video": annotated, "summary": summary,
                         "verdict": written["verdict"], "score": written["video_score"]}
    return results


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python demo.py [--quick] [--output-dir demo_output] [--device auto] [--templates]``."""
    from grader import tree

    args = build_parser().parse_args(argv)
    tree.activate(None if args.templates else "solutions")
    output_dir = Path(args.output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise CourseError(f"--output-dir '{output_dir}' is a file")
    if not output_dir.parent.is_dir():
        raise CourseError(f"cannot write the demo: folder '{output_dir.parent}' does not exist")
    output_dir.mkdir(exist_ok=True)
    size = QUICK if args.quick else FULL
    started = time.perf_counter()
    print(f"[1/3] mini-forensics benchmark and {DEMO_MODEL} detector ({size.epochs} epochs) in {output_dir}/")
    training = train_detector(output_dir, size, args.device, args.seed, quiet=args.quick)
    clips = held_out_clips(output_dir / "mini-forensics")
    print(f"[2/3] detect_video.py + visualize_detection.py on held-out clips: {', '.join(clips)}")
    results = analyse_and_draw(clips, Path(training["checkpoint"]), output_dir, size, args.device)
    seconds = time.perf_counter() - started
    print(f"[3/3] done in {seconds:.0f} s")
    test = (training.get("test") or {}).get("video", {})
    if test.get("roc_auc") is not None:
        print(f"  detector: {training['checkpoint']} (held-out test split: video AUC {test['roc_auc']:.3f})")
    for name, result in results.items():
        score = "-" if result["score"] is None else f"{result['score']:.3f}"
        truth = "REAL" if name == "real" else f"FAKE ({name})"
        print(f"  {result['clip'].name}, truly {truth}: verdict {result['verdict']} (score {score})")
        print(f"      report {result['report']}\n      video  {result['video']}\n      plot   {result['summary']}")
    print("  One clip can be misjudged: the held-out AUC measures the detector, and the calibration, fitted on\n"
          "  validation people, does not always fit new ones (IMPLEMENTATION_GUIDE.md, 'Calibrated verdicts').")
    (output_dir / "demo_summary.json").write_text(json.dumps(
        {"seconds": round(seconds, 1), "checkpoint": training["checkpoint"], "test": training.get("test"),
         "results": {k: {kk: str(vv) for kk, vv in v.items()} for k, v in results.items()}}, indent=2, default=str))
    return 0
