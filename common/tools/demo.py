"""``demo.py`` (``make demo``): the whole course pipeline end to end, offline, in a few minutes on a CPU.

1. generate a small *mini-forensics* benchmark (:mod:`common.synthetic`: talking heads made from
   real face photographs, with face-swap, GAN-upsampling, temporal-flicker and combined
   "Deepfake" fakes; identities split 70/15/15);
2. train a fast detector of each phase on it (each phase's ``train.py`` pipeline and the CPU
   recipe of ``compare_detectors.py``): phase 1's baseline CNN (frame), phase 2's temporal
   features (clip), phase 3's spectral logistic regression (spectral), each with MTCNN on every
   8th frame (``--detect-every 8``), the face tracking every later step uses;
3. phase 4 reads a pulse and a blink rate, which need clips of 10 s: a second, small benchmark of
   10-s clips (real and Physiological fakes) trains phase 4's combined biological detector, with
   the same face tracking;
4. fit the fusion of all four on the validation videos of both benchmarks
   (``multi_modal_detect.py --fit-fusion A --fit-fusion B``): on the short clips the biological
   detector cannot run, and the fusion is told so (a likelihood ratio of 1 for it, not a
   reassuring "found nothing");
5. run ``multi_modal_detect.py`` on one held-out clip per method (identities never seen in
   training), printing every modality's score and the fused verdict, and
   ``visualize_detection.py`` on each report (annotated video + summary figure with every
   detector's score over time);
6. where the fusion has its reference mode (phase 5's task 5.17), run ``multi_modal_detect.py`` on a
   held-out person's real clip twice: alone, and with that person's other real clips as
   ``--reference`` footage (known-real videos of the person, whose detector offsets are subtracted);
7. print the verdicts and where everything was written (``demo_output/`` by default).

It needs no dataset, no network and no GPU. It runs the reference solutions by default (a fresh
checkout's templates still have TODOs); ``--templates`` runs your own code instead once you have
finished the phases. ``--quick`` is a tiny version used by the tests (without phase 4: a handful
of 10-s clips cannot be split into people for training, validation and test).
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

from common.atomic import check_output_dir
from common.errors import ArgumentParser, CourseError
from common.fusion import load_fusion
from common.report import write_text_atomic


@dataclass(frozen=True)
class DemoSize:
    """How big the demo is: benchmark clips and their length, and per-model training epochs."""

    clips: int
    clip_frames: int
    epochs: dict
    signal_clips: int = 0
    """10-s clips of the phase-4 benchmark (0: no phase 4)."""


FULL = DemoSize(clips=240, clip_frames=16, epochs={"baseline": 10, "temporal_features": 40, "spectrum_logistic": 30,
                                                   "biological": 200}, signal_clips=36)
QUICK = DemoSize(clips=24, clip_frames=8, epochs={"baseline": 1, "temporal_features": 2, "spectrum_logistic": 2})
DEMO_MODELS = ("baseline", "temporal_features", "spectrum_logistic")
"""One fast detector per phase that mini-forensics' short clips can feed (see the module docstring)."""
SIGNAL_MODEL = "biological"
"""Phase 4's detector, trained on the 10-s benchmark."""
DEMO_METHODS = ("FaceSwap", "GANUpsample", "TemporalFlicker", "Deepfake")
SIGNAL_METHODS = ("Physiological",)
SIGNAL_FRAMES = 250
"""10 s at 25 frames per second: the window phase 4 reads."""
DETECT_EVERY = 8
"""MTCNN on every 8th frame of the 10-s clips (the others interpolated): their face tracks cost 6x less."""
FLAG_OF = {"baseline": "--visual-model", "temporal_features": "--temporal-model", "spectrum_logistic": "--frequency-model",
           SIGNAL_MODEL: "--biological"}


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="demo.py",
        description="End-to-end demo on generated data: benchmark -> a detector per phase -> fusion -> "
                    "multi_modal_detect -> visualize.",
    )
    parser.add_argument("--output-dir", default="demo_output", help="where everything is written (default demo_output/)")
    parser.add_argument("--quick", action="store_true", help="tiny version (used by the tests)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--templates", action="store_true",
                        help="run your templates instead of the reference solutions (finish the phases first)")
    parser.add_argument("--seed", type=int, default=0, help="benchmark and training seed")
    return parser


def train_detectors(output_dir: Path, size: DemoSize, device: str, seed: int, quiet: bool) -> dict[str, dict]:
    """Generate the benchmark and train one detector per phase on its training split.

    Returns:
        ``{model: training summary}`` (:func:`common.tools.train.train`: checkpoint, test metrics...).
    """
    from common.experiment import ensure_synthetic_benchmark
    from common.tools.compare import RECIPES, train_with_recipe

    benchmark = ensure_synthetic_benchmark(
        output_dir / "mini-forensics", n_clips=size.clips, n_frames=size.clip_frames, seed=seed, progress=not quiet,
        methods=DEMO_METHODS)
    (output_dir / "detectors").mkdir(parents=True, exist_ok=True)
    summaries = {}
    for model in DEMO_MODELS:
        print(f"      training {model} ({RECIPES[model].phase}/train.py)")
        summaries[model] = train_with_recipe(model, benchmark, output_dir / "training" / model,
                                             output_dir / "detectors" / f"{model}.pt", device=device, seed=seed,
                                             quiet=quiet, epochs=size.epochs[model], frames=size.clip_frames,
                                             extra=("--detect-every", str(DETECT_EVERY)))  # as the demo finds faces
    if size.signal_clips:
        signal_benchmark = ensure_synthetic_benchmark(
            output_dir / "mini-forensics-10s", n_clips=size.signal_clips, n_frames=SIGNAL_FRAMES, seed=seed,
            progress=not quiet, methods=SIGNAL_METHODS)
        print(f"      training {SIGNAL_MODEL} ({RECIPES[SIGNAL_MODEL].phase}/train.py) on 10-s clips")
        summaries[SIGNAL_MODEL] = train_with_recipe(
            SIGNAL_MODEL, signal_benchmark, output_dir / "training" / SIGNAL_MODEL,
            output_dir / "detectors" / f"{SIGNAL_MODEL}.pt", device=device, seed=seed, quiet=quiet,
            epochs=size.epochs[SIGNAL_MODEL], extra=("--detect-every", str(DETECT_EVERY)))
    return summaries


def detector_flags(trained: dict[str, dict]) -> list[str]:
    """``multi_modal_detect.py``'s flags for the trained detectors: ``["--visual-model", path, ...]``."""
    return [item for model, summary in trained.items() for item in (FLAG_OF[model], str(summary["checkpoint"]))]


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


def fit_demo_fusion(flags: list[str], benchmarks: list[Path], fusion_path: Path, device: str, seed: int,
                    quiet: bool) -> Path | None:
    """``multi_modal_detect.py --fit-fusion`` on the benchmarks' validation videos; ``None`` (the
    mean of probabilities is used) when the validation split is too small to fit one."""
    from common.tools import multi_modal

    roots = [item for benchmark in benchmarks for item in ("--fit-fusion", str(benchmark))]
    try:
        multi_modal.main([*flags, *roots, "--fusion-model", str(fusion_path), "--split-seed", str(seed),
                          "--detect-every", str(DETECT_EVERY), "--device", device, *(["--quiet"] if quiet else [])])
    except CourseError as error:
        print(f"      no fusion fitted ({error}): the fused score is the mean of the calibrated probabilities")
        return None
    return fusion_path


def analyse_and_draw(clips: dict[str, Path], flags: list[str], fusion: Path | None, output_dir: Path,
                     device: str) -> dict[str, dict]:
    """Run ``multi_modal_detect`` and ``visualize_detection`` (library ``main``s) on each clip.

    Returns:
        ``{name: {"clip", "report", "video", "summary", "verdict", "score"}}``.
    """
    from common.tools import multi_modal, visualize

    results = {}
    for name, clip in clips.items():
        report = output_dir / "reports" / f"{name}_{clip.stem}.json"
        annotated = output_dir / "annotated" / f"{name}_{clip.stem}.mp4"
        summary = output_dir / "plots" / f"{name}_{clip.stem}.png"
        for folder in (report.parent, annotated.parent, summary.parent):
            folder.mkdir(parents=True, exist_ok=True)
        truth = "REAL" if name == "real" else f"FAKE ({name})"
        print(f"  {clip.name}, truly {truth}:")
        multi_modal.main([*flags, *(["--fusion-model", str(fusion)] if fusion else []), "--input", str(clip),
                          "--output", str(report), "--detect-every", str(DETECT_EVERY), "--device", device,
                          "--quiet"])
        visualize.main(["--video", str(clip), "--predictions", str(report), "--output", str(annotated),
                        "--summary", str(summary)])
        written = json.loads(report.read_text())
        results[name] = {"clip": clip, "report": report, "video": annotated, "summary": summary,
                         "verdict": written["verdict"], "score": written["video_score"]}
    return results


def probability(result: dict) -> str:
    """A result's fused probability to three decimals, ``-`` when no detector could score the clip."""
    return "-" if result["score"] is None else f"{result['score']:.3f}"


def reference_pair(benchmark: Path) -> tuple[Path, list[Path]] | None:
    """A held-out person with two or more real clips: ``(first clip, [the others])``, the others being
    its reference footage; None when no person of the test split has two."""
    manifest = json.loads((benchmark / "manifest.json").read_text())
    by_person: dict[str, list[Path]] = {}
    for clip in manifest["clips"]:
        if clip["split"] == "test" and clip["label"] == 0:
            by_person.setdefault(clip["group"], []).append(benchmark / clip["file"])
    return next(((clips[0], clips[1:]) for clips in by_person.values() if len(clips) >= 2), None)


def analyse_with_references(clip: Path, references: list[Path], flags: list[str], fusion: Path, output_dir: Path,
                            device: str) -> dict[str, dict]:
    """``multi_modal_detect`` on one real clip alone and with ``references`` (``--reference``).

    Returns:
        ``{"alone": {"report", "verdict", "score", "offsets"}, "with_references": {...}}``; ``offsets``:
        each detector's person offset (log-odds) subtracted, for the detectors that read a reference.
    """
    from common.tools import multi_modal

    results = {}
    for name, extra in (("alone", []), ("with_references", [f for r in references for f in ("--reference", str(r))])):
        report = output_dir / "reports" / f"reference_{name}_{clip.stem}.json"
        multi_modal.main([*flags, "--fusion-model", str(fusion), "--input", str(clip), *extra, "--output", str(report),
                          "--detect-every", str(DETECT_EVERY), "--device", device, "--quiet"])
        written = json.loads(report.read_text())
        offsets = {c["name"]: c["person_offset"] for c in written["detectors"][-1]["contributions"]
                   if c.get("person_offset") is not None and c.get("references_read")}
        results[name] = {"report": report, "verdict": written["verdict"], "score": written["video_score"],
                         "offsets": offsets}
    return results


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python demo.py [--quick] [--output-dir demo_output] [--device auto] [--templates]``."""
    from grader import tree

    args = build_parser().parse_args(argv)
    tree.activate(None if args.templates else "solutions")
    output_dir = Path(args.output_dir)
    check_output_dir(output_dir)
    if not output_dir.parent.is_dir():
        raise CourseError(f"cannot write the demo: folder '{output_dir.parent}' does not exist")
    output_dir.mkdir(exist_ok=True)
    size = QUICK if args.quick else FULL
    started = time.perf_counter()
    print(f"[1/4] mini-forensics benchmark ({', '.join(DEMO_METHODS)}) and a detector per phase in {output_dir}/")
    trained = train_detectors(output_dir, size, args.device, args.seed, quiet=args.quick)
    checkpoints = [Path(summary["checkpoint"]) for summary in trained.values()]
    flags = detector_flags(trained)
    benchmarks = [output_dir / "mini-forensics"] + ([output_dir / "mini-forensics-10s"] if size.signal_clips else [])
    print("[2/4] fusion fitted on the validation videos" + (" of both benchmarks" if size.signal_clips else ""))
    fusion = fit_demo_fusion(flags, benchmarks, output_dir / "detectors" / "fusion.json", args.device, args.seed,
                             quiet=args.quick)
    clips = held_out_clips(output_dir / "mini-forensics")
    if size.signal_clips:
        signal_clips = held_out_clips(output_dir / "mini-forensics-10s")
        clips.update({f"{method}": path for method, path in signal_clips.items() if method != "real"})
    print(f"[3/4] multi_modal_detect.py + visualize_detection.py on held-out clips: {', '.join(clips)}")
    results = analyse_and_draw(clips, flags, fusion, output_dir, args.device)
    pair = reference_pair(output_dir / "mini-forensics") if fusion and load_fusion(fusion).reference else None
    referenced = None
    if pair:
        print(f"      reference footage: {pair[0].name} alone and with {', '.join(p.name for p in pair[1])} "
              "(the same person, known real)")
        referenced = analyse_with_references(*pair, flags, fusion, output_dir, args.device)
    seconds = time.perf_counter() - started
    print(f"[4/4] done in {seconds:.0f} s")
    for model, summary in trained.items():
        test = (summary.get("test") or {}).get("video", {})
        if test.get("roc_auc") is not None:
            print(f"  {model}: held-out test split, video AUC {test['roc_auc']:.3f} ({summary['checkpoint']})")
    for name, result in results.items():
        score = probability(result)
        truth = "REAL" if name == "real" else f"FAKE ({name})"
        print(f"  {result['clip'].name}, truly {truth}: fused verdict {result['verdict']} (probability {score})")
        print(f"      report {result['report']}\n      video  {result['video']}\n      plot   {result['summary']}")
    if referenced:
        alone, with_references = referenced["alone"], referenced["with_references"]
        print(f"  {pair[0].name}, truly REAL: fused verdict {alone['verdict']} (probability {probability(alone)}) "
              f"alone, {with_references['verdict']} ({probability(with_references)}) with {len(pair[1])} known-real "
              f"video(s) of the person as reference\n      the person's offsets, subtracted in either direction: "
              + ", ".join(f"{name} {offset:+.2f}" for name, offset in with_references["offsets"].items())
              + f" (log-odds)\n      reports {alone['report']}, {with_references['report']}")
    print("  Each detector sees its own trace; the fusion weighs them (IMPLEMENTATION_GUIDE.md, 'All detectors on\n"
          "  one split'). One clip can be misjudged: a held-out AUC measures a detector, one verdict does not.")
    write_text_atomic(output_dir / "demo_summary.json", json.dumps(
        {"seconds": round(seconds, 1), "checkpoints": [str(c) for c in checkpoints],
         "fusion": str(fusion) if fusion else None,
         "test": {model: summary.get("test") for model, summary in trained.items()},
         "results": {k: {kk: str(vv) for kk, vv in v.items()} for k, v in results.items()},
         "reference": None if not referenced else
         {"clip": str(pair[0]), "references": [str(p) for p in pair[1]],
          **{k: {kk: str(vv) if isinstance(vv, Path) else vv for kk, vv in v.items()} for k, v in referenced.items()}}},
        indent=2, default=str))
    return 0
