"""``method_matrix.py``: do detectors travel to manipulations they never saw? (train on A, test on B)

    python method_matrix.py [--models baseline,spectrum_logistic] [--methods FaceSwap,GANUpsample,...] \\
        [--data-root runs/matrix/mini-forensics] [--output-dir runs/matrix] [--reuse]

The field's first question about a detector is not its AUC on the manipulations it was trained
on but on the ones it was not (FaceForensics++ cross-manipulation tables; DeepfakeBench). For each
detector, on one mini-forensics split (identities 70/15/15, generated unless ``--data-root``):

1. **train on A, test on B**: for every method A, the detector is trained with its
   :data:`common.tools.compare.RECIPES` on the real training videos and the fakes of A only
   (``train.py --train-methods A``: validation, hence early stopping and calibration, sees only A
   too), then scored on every test video; the row gives the video AUC on each method B (B's test
   fakes against every real test video). The diagonal is the familiar in-domain number; the rest
   is what a new manipulation would meet;
2. **leave one out**: for every method B, trained on all the other methods, the AUC on B: the
   best one can hope for against a manipulation nobody has yet seen;
3. written as ``matrix.md`` and ``matrix.json`` and one heat map per detector
   (``matrix_<model>.png``).

All runs share one face cache (``<output-dir>/face_cache``): MTCNN runs once per video.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from common.atomic import check_output_dir
from common.errors import ArgumentParser, CourseError
from common.report import write_text_atomic
from common.tools.compare import RECIPES, parse_models, share_face_cache, train_with_recipe

DEFAULT_MODELS = ("baseline", "spectrum_logistic")
DEFAULT_METHODS = ("FaceSwap", "GANUpsample", "TemporalFlicker", "Deepfake")
"""Physiological is left out by default: its cues need 10-s clips, the matrix's clips are 16 frames."""


def build_parser() -> argparse.ArgumentParser:
    from grader.tree import add_tree_argument

    parser = ArgumentParser(prog="method_matrix.py",
                            description="Train each detector on one manipulation (and on all but one) "
                                        "and tabulate its video AUC on every manipulation.")
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS),
                        help=f"comma-separated registered models with a recipe: {', '.join(RECIPES)}")
    parser.add_argument("--methods", default=",".join(DEFAULT_METHODS),
                        help="comma-separated manipulations of the benchmark (at least two)")
    parser.add_argument("--data-root", default=None, help="a mini-forensics benchmark (default: generate one)")
    parser.add_argument("--clips", type=int, default=240, help="clips of a generated benchmark")
    parser.add_argument("--clip-frames", type=int, default=16, help="frames per generated clip")
    parser.add_argument("--output-dir", default="runs/matrix")
    parser.add_argument("--reuse", action="store_true", help="reuse runs already in --output-dir")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--quiet", action="store_true")
    add_tree_argument(parser)
    return parser


def parse_methods(text: str) -> list[str]:
    """``"FaceSwap,Deepfake"`` -> the list; a one-line error for an unknown method or fewer than two."""
    from common.synthetic import FAKE_METHODS

    methods = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in methods if name not in FAKE_METHODS]
    if unknown or len(set(methods)) < 2:
        raise CourseError(f"--methods: {', '.join(unknown) or 'give at least two'}: choose among "
                          f"{', '.join(FAKE_METHODS)}")
    return list(dict.fromkeys(methods))


def run_name(model: str, trained_on: list[str]) -> str:
    """Folder of one training run, e.g. ``baseline__FaceSwap+GANUpsample``."""
    return f"{model}__{'+'.join(trained_on)}"


def train_on(model: str, trained_on: list[str], data_root: Path, output_dir: Path, *, device: str, seed: int,
             quiet: bool, reuse: bool) -> dict[str, Any]:
    """Train ``model`` on the real videos and the fakes of ``trained_on``; its test report's ``per_method``."""
    run_dir = output_dir / run_name(model, trained_on)
    report_path = run_dir / "train_report.json"
    if reuse and report_path.is_file():
        report = json.loads(report_path.read_text())
        return {"per_method": report["test"]["per_method"], "seconds": None}
    share_face_cache(output_dir, run_dir)  # one MTCNN pass per video for every run
    started = time.perf_counter()
    report = train_with_recipe(model, data_root, run_dir, run_dir / f"{model}.pt", device=device, seed=seed,
                               quiet=quiet, extra=("--train-methods", ",".join(trained_on)))
    return {"per_method": report["test"]["per_method"], "seconds": round(time.perf_counter() - started, 1)}


def auc_of(per_method: dict[str, dict], method: str) -> float | None:
    entry = per_method.get(method)
    return None if entry is None or entry["roc_auc"] is None else round(float(entry["roc_auc"]), 3)


def model_matrix(model: str, methods: list[str], data_root: Path, output_dir: Path, *, device: str, seed: int,
                 quiet: bool, reuse: bool) -> dict[str, Any]:
    """``{"rows": {A: {B: auc}}, "leave_one_out": {B: auc}, "seconds": {...}}`` of one detector."""
    rows, leave_one_out, seconds = {}, {}, {}
    done: dict[tuple[str, ...], dict[str, Any]] = {}

    def trained(on: list[str]) -> dict[str, Any]:  # with two methods, "all but A" is "B": train it once
        if tuple(on) not in done:
            done[tuple(on)] = train_on(model, on, data_root, output_dir, device=device, seed=seed, quiet=quiet,
                                       reuse=reuse)
        return done[tuple(on)]

    for method in methods:
        result = trained([method])
        rows[method] = {tested: auc_of(result["per_method"], tested) for tested in methods}
        seconds[method] = result["seconds"]
        print(f"{model} trained on {method}: " + ", ".join(f"{b} {_cell(a)}" for b, a in rows[method].items()),
              flush=True)
    for method in methods:
        others = [m for m in methods if m != method]
        result = trained(others)
        leave_one_out[method] = auc_of(result["per_method"], method)
        seconds[f"all but {method}"] = result["seconds"]
        print(f"{model} trained on all but {method}: {method} {_cell(leave_one_out[method])}", flush=True)
    return {"rows": rows, "leave_one_out": leave_one_out, "seconds": seconds}


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def format_markdown(results: dict[str, dict], methods: list[str]) -> str:
    """One table per detector: rows trained on, columns tested on, and the leave-one-out row."""
    lines = []
    for model, result in results.items():
        lines += [f"### {model}", "", "| trained on \\ tested on | " + " | ".join(methods) + " |",
                  "|---|" + "---:|" * len(methods)]
        for trained, row in result["rows"].items():
            cells = [f"**{_cell(row[m])}**" if m == trained else _cell(row[m]) for m in methods]
            lines.append(f"| {trained} | " + " | ".join(cells) + " |")
        lines.append("| all the others (leave one out) | "
                     + " | ".join(_cell(result["leave_one_out"][m]) for m in methods) + " |")
        lines.append("")
    return "\n".join(lines)


def heat_map(model: str, result: dict[str, Any], methods: list[str], path: Path) -> Path:
    """The matrix as an image: rows trained on (and leave-one-out last), columns tested on, AUC in each cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from common.metrics import save_figure
    import numpy as np

    labels = [f"on {m}" for m in methods] + ["all others"]
    values = np.array([[np.nan if result["rows"][a][b] is None else result["rows"][a][b] for b in methods]
                       for a in methods] + [[np.nan if result["leave_one_out"][b] is None else result["leave_one_out"][b]
                                             for b in methods]])
    figure, axes = plt.subplots(figsize=(1.6 * len(methods) + 2.5, 0.7 * len(labels) + 1.5))
    image = axes.imshow(values, vmin=0.0, vmax=1.0, cmap="RdYlGn")
    axes.set_xticks(range(len(methods)), methods, rotation=30, ha="right")
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("tested on")
    axes.set_ylabel("trained on")
    for (row, column), value in np.ndenumerate(values):
        axes.text(column, row, "-" if np.isnan(value) else f"{value:.2f}", ha="center", va="center", fontsize=9)
    axes.set_title(f"{model}: video AUC per manipulation")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    figure.tight_layout()
    save_figure(figure, path)
    plt.close(figure)
    return path


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Check every argument, generate or load the benchmark, train every run, write the tables."""
    from common.experiment import check_clips_hold_the_window, ensure_synthetic_benchmark
    from common.tools.detect import check_output_folder

    models = parse_models(args.models)
    methods = parse_methods(args.methods)
    if args.clips < 4 * len(methods) or args.clip_frames < 2:
        raise CourseError(f"--clips must be at least {4 * len(methods)} and --clip-frames at least 2")
    if args.data_root and not Path(args.data_root).is_dir():
        raise CourseError(f"--data-root '{args.data_root}': no such benchmark folder")
    output_dir = Path(args.output_dir)
    check_clips_hold_the_window(models, Path(args.data_root) if args.data_root else output_dir / "mini-forensics",
                                generated_frames=None if args.data_root else args.clip_frames, flag="--clip-frames")
    check_output_folder(output_dir.parent if str(output_dir.parent) else Path("."), f"output folder '{output_dir}'")
    output_dir.mkdir(parents=True, exist_ok=True)
    data_root = Path(args.data_root) if args.data_root else ensure_synthetic_benchmark(
        output_dir / "mini-forensics", n_clips=args.clips, n_frames=args.clip_frames, seed=args.seed,
        progress=not args.quiet, methods=tuple(methods))
    results = {model: model_matrix(model, methods, data_root, output_dir, device=args.device, seed=args.seed,
                                   quiet=args.quiet, reuse=args.reuse) for model in models}
    markdown = format_markdown(results, methods)
    write_text_atomic(output_dir / "matrix.md", markdown + "\n")
    write_text_atomic(output_dir / "matrix.json", json.dumps({"methods": methods, "data_root": str(data_root),
                                                              "seed": args.seed, "results": results}, indent=2))
    for model, result in results.items():
        heat_map(model, result, methods, output_dir / f"matrix_{model}.png")
    print(markdown)
    print(f"wrote {output_dir / 'matrix.md'}, matrix.json and a heat map per detector")
    return results


def main(argv: list[str] | None = None) -> int:
    from grader.tree import activate_from_args

    args = build_parser().parse_args(argv)
    activate_from_args(args)
    check_output_dir(args.output_dir)
    run(args)
    return 0
