"""``cross_dataset.py``: train on one dataset, test on another (FaceForensics++ -> Celeb-DF, offline).

    python cross_dataset.py [--models baseline,spectrum_logistic,baseline+sbi] \\
        [--methods FaceSwap,GANUpsample,TemporalFlicker,Deepfake] [--directions ff:celeb,celeb:ff] \\
        [--clips 240] [--clip-frames 16] [--cross-split test|all] [--fusion] [--output-dir runs/cross] [--reuse]

A detector's AUC on the test split of the dataset it was trained on says little about the next
dataset, made by other people, of other faces, with a better swap and other compression: the
field's standard test trains on FaceForensics++ and tests on Celeb-DF v2 (DeepfakeBench, Yan et al.
2023). Here the two datasets are the two variants of mini-forensics
(:mod:`common.synthetic.variants`): ``ff`` (the default way of making it) and ``celeb``
(Celeb-DF-like: other faces, 192-px frames, wide blending with full colour transfer, a sharper
swapped face, weaker flicker and checkerboard, CRF 23). The ``ff`` benchmark is generated from the
52 faces the ``celeb`` one never shows, so no face crosses from one dataset to the other.

For every detector and every direction A -> B:

1. the detector is trained on A with its fast CPU recipe (:data:`common.tools.compare.RECIPES`;
   ``NAME+sbi`` trains the same recipe on Self-Blended Images made from A's real videos,
   ``train.py --data-source sbi``) and scored on A's own test split (**in-dataset**);
2. the checkpoint is scored on B's test split (``evaluate.py --test-data B --split test``): the
   **cross-dataset** video AUC on the same videos as B's own in-dataset number, for all fakes and
   per manipulation; with ``--cross-split all`` on every video of B (no face of B was seen in
   training, so all of B is held out: more videos, a tighter estimate, but a face-detection pass
   over all of B for each crop setting, which costs far more than the training on a busy CPU);
3. with ``--fusion``, every detector trained on A runs together on A's validation and test videos
   and on B's test split, or all of B with ``--cross-split all`` (one face track per video,
   :func:`common.tools.compare.score_videos`);
   the late fusion (:mod:`common.fusion`) is fitted on A's validation videos only and scored like a
   detector: a fused detector that never saw B either;
4. the table is written as ``cross.md`` and ``cross.json`` in ``--output-dir``.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from common.atomic import check_output_dir
from common.errors import ArgumentParser, CourseError
from common.report import write_text_atomic
from common.tools.compare import RECIPES, train_with_recipe

DEFAULT_MODELS = ("baseline", "spectrum_logistic", "baseline+sbi")
DEFAULT_METHODS = ("FaceSwap", "GANUpsample", "TemporalFlicker", "Deepfake")
"""Physiological is left out by default: its cues need 10-s clips, these clips are 16 frames."""
DEFAULT_DIRECTIONS = (("ff", "celeb"), ("celeb", "ff"))
SBI_SUFFIX = "+sbi"
FUSION_ROW = "fusion"
"""The detector name of ``--fusion``'s rows."""


def build_parser() -> argparse.ArgumentParser:
    from grader.tree import add_tree_argument

    parser = ArgumentParser(prog="cross_dataset.py",
                            description="Train each detector on one mini-forensics variant and tabulate its "
                                        "video AUC on that variant's test split and on the other variant.")
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS),
                        help=f"comma-separated detectors with a recipe ({', '.join(RECIPES)}); NAME{SBI_SUFFIX} trains "
                             "a frame detector on Self-Blended Images")
    parser.add_argument("--methods", default=",".join(DEFAULT_METHODS),
                        help="comma-separated manipulations of both benchmarks")
    parser.add_argument("--directions", default=",".join(f"{a}:{b}" for a, b in DEFAULT_DIRECTIONS),
                        help="comma-separated TRAIN:TEST variant pairs (default ff:celeb,celeb:ff)")
    parser.add_argument("--fusion", action="store_true",
                        help="add a row per direction: the late fusion of all --models trained on A (fitted on A's "
                             "validation videos, never on B), scored on A's test split and on B's")
    parser.add_argument("--clips", type=int, default=240, help="clips of each generated benchmark")
    parser.add_argument("--clip-frames", type=int, default=16, help="frames per generated clip")
    parser.add_argument("--cross-split", default="test", choices=("test", "all"),
                        help="videos of the other variant to score: its test split (default) or all of them")
    parser.add_argument("--detect-every", type=int, default=1, metavar="K",
                        help="MTCNN on every K-th frame, faces interpolated between keyframes (train.py "
                             "--detect-every; default 1), in training and in scoring both variants: a detector reads "
                             "faces tracked as in its training")
    parser.add_argument("--output-dir", default="runs/cross")
    parser.add_argument("--reuse", action="store_true", help="reuse benchmarks, trainings and scores in --output-dir")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--quiet", action="store_true")
    add_tree_argument(parser)
    return parser


def parse_detectors(text: str) -> list[str]:
    """``"baseline,baseline+sbi"`` -> the list; a one-line error for a model without a recipe."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name.removesuffix(SBI_SUFFIX) not in RECIPES]
    if not names or unknown:
        raise CourseError(f"--models: {', '.join(unknown) or 'none given'}: choose among {', '.join(RECIPES)} "
                          f"(a frame detector may take {SBI_SUFFIX})")
    sbi_not_frame = [name for name in names if name.endswith(SBI_SUFFIX)
                     and RECIPES[name.removesuffix(SBI_SUFFIX)].phase != "phase1_cnn_detection"]
    if sbi_not_frame:
        raise CourseError(f"--models: {', '.join(sbi_not_frame)}: Self-Blended Images train frame (phase 1) detectors")
    return list(dict.fromkeys(names))


def parse_directions(text: str) -> list[tuple[str, str]]:
    """``"ff:celeb,celeb:ff"`` -> ``[("ff", "celeb"), ("celeb", "ff")]``; one-line error otherwise."""
    from common.synthetic import VARIANTS

    pairs = []
    for item in (part.strip() for part in text.split(",") if part.strip()):
        train, _, test = item.partition(":")
        if train not in VARIANTS or test not in VARIANTS or train == test:
            raise CourseError(f"--directions: {item!r}: give TRAIN:TEST, two different variants of "
                              f"{', '.join(VARIANTS)}")
        pairs.append((train, test))
    if not pairs:
        raise CourseError("--directions: give at least one TRAIN:TEST pair, e.g. ff:celeb")
    return list(dict.fromkeys(pairs))


def benchmark_pool(variant: str) -> list[str] | None:
    """Faces a cross-dataset benchmark of ``variant`` uses: the default variant gives up every face a
    second variant shows (``disjoint_identities``); the others use their own (None)."""
    from common.synthetic import DEFAULT_VARIANT, VARIANTS

    if variant != DEFAULT_VARIANT:
        return None
    taken = {name for other in VARIANTS if other != variant for name in VARIANTS[other].identities}
    return [name for name in VARIANTS[variant].identities if name not in taken]


def ensure_variant_benchmark(root: Path, variant: str, *, n_clips: int, n_frames: int, methods: list[str],
                             seed: int, progress: bool, reuse: bool) -> Path:
    """The benchmark of ``variant`` at ``root``: reused when ``reuse`` and its manifest says so, else written."""
    from common.synthetic import write_benchmark

    manifest = root / "manifest.json"
    if reuse and manifest.is_file() and json.loads(manifest.read_text()).get("variant", "ff") == variant:
        return root
    print(f"generating the {variant} variant of mini-forensics ({n_clips} clips of {n_frames} frames) in {root}",
          flush=True)
    write_benchmark(root, n_clips=n_clips, seed=seed, n_frames=n_frames, methods=methods, progress=progress,
                    variant=variant, identities=benchmark_pool(variant))
    return root


def video_aucs(videos: list[dict], methods: list[str]) -> dict[str, float | None]:
    """Video AUC of all fakes and of each method (its fakes against every real video, as
    :func:`common.experiment.per_method_metrics` computes it) from per-video entries with ``label``,
    ``score`` and ``method``; None where a class is missing."""
    from common.experiment import per_method_metrics
    from common.metrics import binary_metrics

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(float(value), 3)

    labels = [v["label"] for v in videos]
    overall = binary_metrics(labels, [v["score"] for v in videos], 0.5)["roc_auc"] if len(set(labels)) == 2 else None
    per_method = per_method_metrics(videos)
    return {"all fakes": rounded(overall),
            **{method: rounded(per_method.get(method, {}).get("roc_auc")) for method in methods}}


def _shared_cache(output_dir: Path, variant: str) -> Path:
    cache = output_dir / f"face_cache_{variant}"
    cache.mkdir(parents=True, exist_ok=True)
    return cache


def trained_checkpoint(detector: str, train_variant: str, output_dir: Path) -> Path:
    """Where :func:`train_and_score` keeps ``detector``'s checkpoint trained on ``train_variant``."""
    return output_dir / f"{detector.replace('+', '_')}__on_{train_variant}" / f"{detector.removesuffix(SBI_SUFFIX)}.pt"


def fuse_and_score(detectors: list[str], train_variant: str, test_variant: str, roots: dict[str, Path],
                   output_dir: Path, methods: list[str], *, device: str, seed: int, quiet: bool,
                   cross_split: str = "test", detect_every: int = 1) -> dict[str, Any]:
    """The late fusion of ``detectors`` (already trained on ``train_variant``), fitted on that variant's
    validation videos and scored on its test split (in-dataset) and on ``test_variant``'s
    ``cross_split`` ("test", or "all" its videos; the test split's figures are reported either way),
    every video's face track found on every ``detect_every``-th frame, as in the detectors' training.

    Every video is tracked once and scored by all detectors together, as ``multi_modal_detect.py``
    does; the fusion model is written to ``<output-dir>/fusion__on_<train variant>/fusion.json``.
    Returns the same keys as :func:`train_and_score` (``train_seconds`` None).
    """
    from common.experiment import load_records, split_for_training
    from common.fusion import fit_fusion, save_fusion
    from common.tools.compare import score_videos
    from common.tools.detect import load_detectors
    from grader.tree import active_name

    loaded = load_detectors([trained_checkpoint(d, train_variant, output_dir) for d in detectors], device)
    _, own = load_records("synthetic", roots[train_variant])
    splits = split_for_training(own, seed)
    _, other = load_records("synthetic", roots[test_variant])
    chosen = {"val": splits["val"], "test": splits["test"],
              "cross": [r for r in other if cross_split == "all" or r.split == "test"]}
    rows = {name: score_videos(loaded, records, progress=not quiet, tree=active_name(), detect_every=detect_every)
            for name, records in chosen.items()}
    unreadable = {name: sum(row["entries"] is None for row in rows[name]) for name in rows}
    scored = {name: [row for row in rows[name] if row["entries"] is not None] for name in rows}
    scored_records = {name: [record for record, row in zip(chosen[name], rows[name]) if row["entries"] is not None]
                      for name in rows}
    fusion = fit_fusion([row["entries"] for row in scored["val"]], [row["label"] for row in scored["val"]])
    fusion_dir = output_dir / f"fusion__on_{train_variant}"
    fusion_dir.mkdir(parents=True, exist_ok=True)
    save_fusion(fusion_dir / "fusion.json", fusion)

    def fused(videos: list[dict]) -> list[dict]:
        return [{"label": row["label"], "method": row["method"], "score": fusion.fuse(row["entries"])["video_score"],
                 "group": row.get("group"), "video": row.get("video")} for row in videos]

    cross_test = [row for row, record in zip(scored["cross"], scored_records["cross"]) if record.split == "test"]
    cross = fused(scored["cross"] if cross_split == "all" else cross_test)
    result = {"in_dataset": video_aucs(fused(scored["test"]), methods),
              "cross_test_split": video_aucs(fused(cross_test), methods),
              "n_cross_test": len(cross_test), "n_in_dataset": len(scored["test"]), "train_seconds": None,
              "unreadable_videos": unreadable, "cross_interval": people_interval(cross)}
    if cross_split == "all":
        result.update(cross_all=video_aucs(cross, methods), n_cross_all=len(cross))
    write_text_atomic(fusion_dir / f"scores_on_{test_variant}.json", json.dumps(cross, indent=1) + "\n")
    return result


def people_interval(videos: list[dict]) -> dict[str, Any]:
    """95 % interval of the all-fakes video AUC over the people of ``videos`` (each with ``label``, ``score``,
    ``group``): :func:`common.metrics.person_bootstrap`, how far the figure would move on as many other people."""
    from common.metrics import person_bootstrap, rank_auc

    return person_bootstrap(rank_auc, [v["group"] for v in videos], [v["label"] for v in videos],
                            [v["score"] for v in videos])


def train_and_score(detector: str, train_variant: str, test_variant: str, roots: dict[str, Path], output_dir: Path,
                    methods: list[str], *, device: str, seed: int, quiet: bool, reuse: bool,
                    cross_split: str = "test", detect_every: int = 1) -> dict[str, Any]:
    """Train ``detector`` on ``train_variant``; score it on its test split and on ``test_variant``'s
    ``cross_split`` ("test", or "all" its videos)."""
    from common.experiment import load_records
    from common.tools import evaluate
    from common.torch_data import record_id

    model = detector.removesuffix(SBI_SUFFIX)
    run_dir = output_dir / f"{detector.replace('+', '_')}__on_{train_variant}"
    checkpoint = trained_checkpoint(detector, train_variant, output_dir)
    report_path = run_dir / "train_report.json"
    seconds = None
    if not (reuse and report_path.is_file() and checkpoint.is_file()):
        run_dir.mkdir(parents=True, exist_ok=True)
        link = run_dir / "face_cache"
        if not link.exists():  # one MTCNN pass per video for every run on this variant
            os.symlink(os.path.relpath(_shared_cache(output_dir, train_variant), run_dir), link)
        extra = ("--data-source", "sbi") if detector.endswith(SBI_SUFFIX) else ()
        if detect_every != 1:
            extra += ("--detect-every", str(detect_every))
        started = time.perf_counter()
        train_with_recipe(model, roots[train_variant], run_dir, checkpoint, device=device, seed=seed, quiet=quiet,
                          extra=extra)
        seconds = round(time.perf_counter() - started, 1)
    trained = json.loads(report_path.read_text())
    in_dataset = video_aucs(trained["test"]["videos"], methods)

    eval_dir = run_dir / f"eval_on_{test_variant}" if cross_split == "all" else run_dir / f"eval_on_{test_variant}_test"
    metrics_path = eval_dir / "metrics.json"
    scored_with = json.loads(metrics_path.read_text()).get("detect_every", 1) if metrics_path.is_file() else None
    if not (reuse and scored_with == detect_every):
        argv = ["--checkpoint", str(checkpoint), "--test-data", str(roots[test_variant]), "--split", cross_split,
                "--output-dir", str(eval_dir), "--cache-dir", str(_shared_cache(output_dir, test_variant)),
                "--device", device, "--detect-every", str(detect_every)]
        evaluate.main(argv + (["--quiet"] if quiet else []), phase=RECIPES[model].phase)
    scored = json.loads(metrics_path.read_text())["videos"]
    _, records = load_records("synthetic", roots[test_variant])
    test_ids = {record_id(record) for record in records if record.split == "test"}
    result = {"in_dataset": in_dataset,
              "cross_test_split": video_aucs([v for v in scored if v["id"] in test_ids], methods),
              "n_cross_test": sum(v["id"] in test_ids for v in scored),
              "n_in_dataset": len(trained["test"]["videos"]), "train_seconds": seconds}
    if cross_split == "all":
        result.update(cross_all=video_aucs(scored, methods), n_cross_all=len(scored))
    return result


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def format_markdown(results: list[dict], methods: list[str]) -> str:
    """One row per detector and direction: in-dataset and cross-dataset video AUC, all fakes and per
    method (per method on all of the other variant when it was scored, else on its test split)."""
    columns = ["all fakes", *methods]
    every = all("cross_all" in row["result"] for row in results)
    lines = ["| detector | trained on -> tested on | in-dataset (all fakes) | cross, test split | "
             + ("cross, all videos | " if every else "") + " | ".join(f"cross {m}" for m in methods) + " |",
             "|---|---|---:|---:|" + ("---:|" if every else "") + "---:|" * len(methods)]
    for row in results:
        r = row["result"]
        per_method = r["cross_all"] if every else r["cross_test_split"]
        lines.append(f"| {row['detector']} | {row['train']} -> {row['test']} | {_cell(r['in_dataset']['all fakes'])} | "
                     f"{_cell(r['cross_test_split']['all fakes'])} | "
                     + (f"{_cell(r['cross_all']['all fakes'])} | " if every else "")
                     + " | ".join(_cell(per_method[c]) for c in columns[1:]) + " |")
    intervals = [row for row in results if row["result"].get("cross_interval")]
    if intervals:
        lines += ["", "The fusion on the other variant, all fakes, with its 95 % interval over that variant's people "
                      "(common.metrics.person_bootstrap):", ""]
        for row in intervals:
            r, interval = row["result"], row["result"]["cross_interval"]
            figure = r["cross_all"]["all fakes"] if "cross_all" in r else r["cross_test_split"]["all fakes"]
            videos = r.get("n_cross_all", r["n_cross_test"])
            span = "-" if interval["low"] is None else f"[{interval['low']:.3f}, {interval['high']:.3f}]"
            lines.append(f"- {row['detector']} {row['train']} -> {row['test']}: {_cell(figure)} {span} "
                         f"({videos} videos of {interval['people']} people)")
    lines += ["", "In-dataset per manipulation (the trained variant's own test split):", "",
              "| detector | trained on | " + " | ".join(columns) + " |", "|---|---|" + "---:|" * len(columns)]
    seen = set()
    for row in results:
        if (row["detector"], row["train"]) in seen:
            continue
        seen.add((row["detector"], row["train"]))
        lines.append(f"| {row['detector']} | {row['train']} | "
                     + " | ".join(_cell(row["result"]["in_dataset"][c]) for c in columns) + " |")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> list[dict]:
    """Check every argument, generate or reuse both benchmarks, train and score, write the tables."""
    from common.report import write_text_atomic
    from common.tools.detect import check_output_folder
    from common.tools.matrix import parse_methods

    detectors = parse_detectors(args.models)
    methods = parse_methods(args.methods)
    directions = parse_directions(args.directions)
    if args.detect_every < 1:
        raise CourseError(f"--detect-every must be at least 1, got {args.detect_every}")
    if args.fusion and len(detectors) < 2:
        raise CourseError(f"--fusion fuses several detectors: give at least two in --models, got {', '.join(detectors)}")
    if args.clips < 4 * len(methods) or args.clip_frames < 2:
        raise CourseError(f"--clips must be at least {4 * len(methods)} and --clip-frames at least 2")
    output_dir = Path(args.output_dir)
    check_output_folder(output_dir.parent if str(output_dir.parent) else Path("."), f"output folder '{output_dir}'")
    output_dir.mkdir(parents=True, exist_ok=True)
    variants = sorted({v for pair in directions for v in pair})
    roots = {variant: ensure_variant_benchmark(output_dir / f"mini-forensics-{variant}", variant, n_clips=args.clips,
                                               n_frames=args.clip_frames, methods=methods, seed=args.seed,
                                               progress=not args.quiet, reuse=args.reuse)
             for variant in variants}
    results = []
    for detector in detectors:
        for train_variant, test_variant in directions:
            result = train_and_score(detector, train_variant, test_variant, roots, output_dir, methods,
                                     device=args.device, seed=args.seed, quiet=args.quiet, reuse=args.reuse,
                                     cross_split=args.cross_split, detect_every=args.detect_every)
            results.append({"detector": detector, "train": train_variant, "test": test_variant, "result": result})
            print(f"{detector} {train_variant} -> {test_variant}: in-dataset {_cell(result['in_dataset']['all fakes'])}, "
                  f"cross {_cell(result['cross_test_split']['all fakes'])} (test split)", flush=True)
    if args.fusion:
        for train_variant, test_variant in directions:
            result = fuse_and_score(detectors, train_variant, test_variant, roots, output_dir, methods,
                                    device=args.device, seed=args.seed, quiet=args.quiet, cross_split=args.cross_split,
                                    detect_every=args.detect_every)
            if any(result["unreadable_videos"].values()):
                print(f"{FUSION_ROW} {train_variant} -> {test_variant}: videos that could not be read, left out: "
                      f"{result['unreadable_videos']}", flush=True)
            results.append({"detector": FUSION_ROW, "train": train_variant, "test": test_variant, "result": result})
            print(f"{FUSION_ROW} {train_variant} -> {test_variant}: in-dataset "
                  f"{_cell(result['in_dataset']['all fakes'])}, cross {_cell(result['cross_test_split']['all fakes'])} "
                  f"(test split)", flush=True)
    markdown = format_markdown(results, methods)
    write_text_atomic(output_dir / "cross.md", markdown + "\n")
    write_text_atomic(output_dir / "cross.json", json.dumps({"methods": methods, "seed": args.seed,
                                                             "roots": {k: str(v) for k, v in roots.items()},
                                                             "results": results}, indent=2))
    print(markdown)
    print(f"wrote {output_dir / 'cross.md'} and cross.json")
    return results


def main(argv: list[str] | None = None) -> int:
    from grader.tree import activate_from_args

    args = build_parser().parse_args(argv)
    activate_from_args(args)
    check_output_dir(args.output_dir)
    run(args)
    return 0


