"""``few_shot.py`` and ``active_learning.py``: how few labels does a detector need?

    python few_shot.py --model baseline --old-methods FaceSwap,GANUpsample,Deepfake --new-method TemporalFlicker \\
        [--shots 1,5,20] [--repeats 3] [--data-root runs/matrix/mini-forensics] [--output-dir runs/few_shot]
    python active_learning.py [--model spectrum_logistic] [--initial 6] [--batch 6] [--budget 60] [--repeats 3] \\
        [--data-root runs/matrix/mini-forensics] [--output-dir runs/active_learning]

Two questions the field asks once a detector exists (the course outline's meta-learning and
uncertainty sampling), answered on one mini-forensics split (identities 70/15/15, the same split
``train.py`` makes with ``--seed``):

**Few-shot adaptation.** A new manipulation appears; someone labels a handful of its videos. The
detector is first trained with its :data:`common.tools.compare.RECIPES` recipe on the real videos
and the fakes of the *old* manipulations (``train.py --train-methods``, exactly like
``method_matrix.py``). Then, for each k in ``--shots`` and each of ``--repeats`` draws, a copy is
fine-tuned on **k fake videos of the new manipulation and k real videos**, all drawn from the
*training* split (never validation or test), for a fixed number of gradient steps (``--steps``,
the same for every k) at a small learning rate (a tenth of the recipe's unless ``--lr``), batch-norm
statistics frozen (a batch of two videos would otherwise rewrite them). Reported: test video AUC
on the new manipulation (its test fakes against every real test video) and on the old ones (the
mean of their per-method AUCs: what fine-tuning made the detector forget), k = 0 being the
detector as trained. Written as ``few_shot.md``, ``few_shot.json`` and ``few_shot.png``.

**Active learning.** A pool of unlabelled videos (the training split: the real videos and the
fakes of ``--methods``) and a labelling budget. Start from ``--initial`` labelled videos (half
real, half fake, drawn at random); each round train the detector from scratch on the labelled
set (the recipe's learning rate and batch size, ``--epochs`` passes, no validation: the budget is
all the labels there are), score the test split, score the still unlabelled pool and label the
``--batch`` videos whose P(FAKE) is closest to 0.5 (:func:`pick_uncertain`: uncertainty sampling,
Lewis and Gale 1994); the baseline labels ``--batch`` videos at random (:func:`pick_random`)
from the same start.
Reported: test video AUC (all fakes against all reals) against the number of labels, for both
strategies, mean and spread over ``--repeats`` starts, and the AUC with every pool video labelled
as the ceiling. Written as ``active_learning.md``, ``.json`` and ``.png``.

Inputs are computed once (face crops, or spectral features) from one face cache (MTCNN once per
video) and addressed by video (:class:`InputBank`): no round re-detects a face or re-reads a video.
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import math
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import Subset

from common.atomic import check_output_dir
from common.errors import ArgumentParser, CourseError

DEFAULT_SHOTS = (1, 5, 20)
STRATEGIES = ("uncertainty", "random")


# --------------------------------------------------------------------------------------------
# choosing videos
# --------------------------------------------------------------------------------------------

def pick_uncertain(video_ids: Sequence[str], probabilities: Sequence[float], labelled: set[str] | Sequence[str],
                   batch: int) -> list[str]:
    """The ``batch`` not yet labelled videos whose P(FAKE) is closest to 0.5 (uncertainty sampling).

    ``video_ids`` and ``probabilities`` are parallel (N,) sequences (the detector's video
    probabilities of the pool); ``labelled`` holds ids never to pick again. Ties keep pool order.

    Example: ids a, b, c, d with P 0.9, 0.45, 0.7, 0.52 and b labelled, batch 2 -> [d, c]
    (distances 0.02 and 0.2; a is 0.4 away).
    """
    if len(video_ids) != len(probabilities):
        raise ValueError(f"{len(video_ids)} ids but {len(probabilities)} probabilities")
    done = set(labelled)
    candidates = [(abs(float(p) - 0.5), position) for position, (video, p) in enumerate(zip(video_ids, probabilities))
                  if video not in done]
    return [video_ids[position] for _, position in sorted(candidates)[:max(0, batch)]]


def pick_random(video_ids: Sequence[str], labelled: set[str] | Sequence[str], batch: int,
                rng: np.random.Generator) -> list[str]:
    """``batch`` not yet labelled videos drawn uniformly without replacement (the baseline strategy)."""
    done = set(labelled)
    candidates = [video for video in video_ids if video not in done]
    chosen = rng.choice(len(candidates), size=min(batch, len(candidates)), replace=False)
    return [candidates[int(position)] for position in chosen]


def draw_shots(splits: dict[str, list], new_method: str, k: int, seed: int, repeat: int) -> list:
    """k fake videos of ``new_method`` and k real videos, from ``splits["train"]`` only.

    The draws of one repeat are nested (the 5 shots hold the 1 shot), so that the curve over k
    measures more labels rather than other videos. Validation and test videos are never read.

    Example: a training split of 30 reals and 12 TemporalFlicker fakes, k = 5 -> 5 fakes + 5 reals.
    """
    train = splits["train"]
    fakes = sorted((r for r in train if r.label == 1 and r.method == new_method), key=lambda r: str(r.path))
    reals = sorted((r for r in train if r.label == 0), key=lambda r: str(r.path))
    if k > len(fakes) or k > len(reals):
        raise CourseError(f"--shots {k}: the training split has {len(fakes)} {new_method} fakes and {len(reals)} "
                          f"real videos")
    rng = np.random.default_rng([seed, repeat])
    return [fakes[int(i)] for i in rng.permutation(len(fakes))[:k]] + [reals[int(i)] for i in
                                                                         rng.permutation(len(reals))[:k]]


def draw_initial(video_ids: Sequence[str], labels: Sequence[int], n: int, rng: np.random.Generator) -> list[str]:
    """``n`` videos to start active learning with: ``n // 2`` real and the rest fake, at random."""
    reals = [v for v, label in zip(video_ids, labels) if label == 0]
    fakes = [v for v, label in zip(video_ids, labels) if label == 1]
    n_real = n // 2
    if n_real > len(reals) or n - n_real > len(fakes):
        raise CourseError(f"--initial {n}: the pool has {len(reals)} real and {len(fakes)} fake videos")
    return ([reals[int(i)] for i in rng.choice(len(reals), n_real, replace=False)]
            + [fakes[int(i)] for i in rng.choice(len(fakes), n - n_real, replace=False)])


# --------------------------------------------------------------------------------------------
# inputs, training and scoring
# --------------------------------------------------------------------------------------------

class InputBank:
    """Every input of a set of videos, made once and addressed by video.

    ``dataset`` yields ``(x, label, video_id)`` items and lists their ``video_ids`` (any
    :func:`common.engine.make_dataset` dataset; :meth:`cached` makes one from a face cache);
    ``records`` are the videos, their ids :func:`common.torch_data.record_id`. ``ids`` are the
    videos that gave at least one input (record order); ``labels[id]`` and ``methods[id]`` their
    truth; :meth:`subset` a Dataset of some videos' inputs.
    """

    def __init__(self, dataset: Any, records: Sequence) -> None:
        from common.torch_data import record_id

        self.dataset = dataset
        self.items_of: dict[str, list[int]] = {}
        for index, video in enumerate(dataset.video_ids):
            self.items_of.setdefault(str(video), []).append(index)
        by_id = {record_id(record): record for record in records}
        self.ids = [video for video in by_id if video in self.items_of]
        self.labels = {video: int(by_id[video].label) for video in self.ids}
        self.methods = {video: by_id[video].method for video in self.ids}

    @classmethod
    def cached(cls, row: Any, prep: Any, cache_dir: Path, records: Sequence) -> "InputBank":
        """The detector's inputs (face crops, clips or spectral features) of cached videos, computed once."""
        from common.engine import make_dataset

        return cls(make_dataset(row, prep, cache_dir, list(records), files_in_memory=len(records) + 8), records)

    def subset(self, ids: Sequence[str]) -> Subset:
        unknown = [video for video in ids if video not in self.items_of]
        if unknown:
            raise KeyError(f"videos without inputs in this bank: {unknown[:3]}")
        return Subset(self.dataset, [index for video in ids for index in self.items_of[video]])


def freeze_batch_norm(model: nn.Module) -> None:
    """Batch-norm layers keep their running statistics (eval mode) while the rest trains."""
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()


def train_steps(model: nn.Module, dataset: Any, *, steps: int, lr: float, batch_size: int, seed: int,
                device: str | torch.device = "cpu", frozen_norm: bool = False) -> nn.Module:
    """``steps`` Adam steps of class-balanced BCE on random batches of ``dataset`` items ``(x, label, id)``.

    No validation, no early stopping: with a handful of labelled videos there is nothing to
    validate on. ``frozen_norm`` keeps batch-norm statistics (fine-tuning). Returns ``model`` in eval mode.
    """
    from common.device import autocast_for, resolve_device
    from common.training import compute_pos_weight

    device = resolve_device(device)
    torch.manual_seed(seed)
    items = [dataset[i] for i in range(len(dataset))]  # a few thousand inputs at most: stacked once
    inputs_all = torch.stack([item[0] for item in items])
    targets_all = torch.stack([torch.as_tensor(item[1], dtype=torch.float32) for item in items])
    labels = targets_all.numpy().astype(int)
    loss_function = nn.BCEWithLogitsLoss(pos_weight=torch.tensor(compute_pos_weight(labels), device=device))
    model.to(device).train()
    if frozen_norm:
        freeze_batch_norm(model)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    scaler = torch.amp.GradScaler("cuda", enabled=device.type == "cuda")
    generator = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        chosen = torch.randperm(len(dataset), generator=generator)[:batch_size]
        inputs, targets = inputs_all[chosen].to(device), targets_all[chosen].to(device)
        with autocast_for(device):
            logits = model(inputs).reshape(-1)
        loss = loss_function(logits.float(), targets)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    return model.eval()


def score_videos(model: nn.Module, bank: InputBank, ids: Sequence[str] | None = None, *,
                 device: str | torch.device = "cpu") -> dict[str, float]:
    """``{video id: P(FAKE)}``: the mean of the model's input probabilities of each video (all of the bank's by default)."""
    from common.metrics import video_scores
    from common.training import predict

    chosen = list(bank.ids if ids is None else ids)
    subset = bank.subset(chosen)
    labels, scores = predict(model, subset, device=device, batch_size=256)
    videos = [str(bank.dataset.video_ids[index]) for index in subset.indices]
    video_ids, _, video_probabilities = video_scores(zip(videos, labels, scores), "mean")
    return {str(video): float(p) for video, p in zip(video_ids, video_probabilities)}


def auc_table(scores: dict[str, float], bank: InputBank) -> dict[str, Any]:
    """``{"per_method": {method: AUC}, "all_fakes": AUC}`` of video probabilities against the bank's truth."""
    from common.experiment import per_method_metrics
    from common.metrics import binary_metrics

    videos = [{"label": bank.labels[v], "method": bank.methods[v], "score": s} for v, s in scores.items()]
    per_method = {m: e["roc_auc"] for m, e in per_method_metrics(videos).items()}
    labels = np.array([v["label"] for v in videos])
    overall = binary_metrics(labels, np.array([v["score"] for v in videos]), 0.5)["roc_auc"] \
        if 0 < labels.sum() < len(labels) else None
    return {"per_method": per_method, "all_fakes": None if overall is None else float(overall)}


def recipe_settings(model: str) -> tuple[Any, dict, Any, float, int]:
    """``(row, config, preprocessing, lr, batch size)`` of ``model``'s :data:`~common.tools.compare.RECIPES` recipe."""
    from common import models
    from common.tools import train
    from common.tools.compare import RECIPES

    recipe = RECIPES[model]
    args = train.build_parser(recipe.phase).parse_args(["--dataset", "synthetic", "--model", model, *recipe.flags])
    config, prep = train._model_settings(args)
    row = models.get_spec(model)
    return dataclasses.replace(row, config={**row.config, **config}), config, prep, float(args.lr), int(args.batch_size)


def _mean_spread(values: list[float | None]) -> dict[str, Any]:
    kept = [v for v in values if v is not None]
    if not kept:
        return {"mean": None, "std": None, "n": 0}
    return {"mean": round(float(np.mean(kept)), 4), "std": round(float(np.std(kept)), 4), "n": len(kept)}


def _cell(summary: dict[str, Any]) -> str:
    if summary["mean"] is None:
        return "-"
    return f"{summary['mean']:.3f} ± {summary['std']:.3f}" if summary["n"] > 1 else f"{summary['mean']:.3f}"


def _write_text(path: Path, text: str) -> None:
    from common.atomic import atomic_output

    with atomic_output(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def _save_figure(figure: Any, path: Path) -> None:
    from common.atomic import atomic_output

    with atomic_output(path) as temporary:
        figure.savefig(temporary, dpi=120, format="png")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# --------------------------------------------------------------------------------------------
# argument checks shared by both tools
# --------------------------------------------------------------------------------------------

def _common_arguments(parser: argparse.ArgumentParser, output_dir: str) -> None:
    from grader.tree import add_tree_argument

    parser.add_argument("--data-root", default=None, help="a mini-forensics benchmark (default: generate one)")
    parser.add_argument("--clips", type=int, default=240, help="clips of a generated benchmark")
    parser.add_argument("--clip-frames", type=int, default=16, help="frames per generated clip")
    parser.add_argument("--output-dir", default=output_dir)
    parser.add_argument("--repeats", type=int, default=3, help="draws of the labelled videos (mean and spread)")
    parser.add_argument("--seed", type=int, default=0, help="split seed (train.py's) and first draw")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--quiet", action="store_true")
    add_tree_argument(parser)


def _check_common(args: argparse.Namespace, model: str) -> Path:
    """One-line errors before anything is written; returns the output folder (not yet created)."""
    from common.device import resolve_device
    from common.tools.compare import parse_models
    from common.tools.detect import check_output_folder

    if len(parse_models(model)) != 1:
        raise CourseError(f"--model: give one model, got '{model}'")
    for name in ("repeats", "clip_frames"):
        if getattr(args, name) < 1:
            raise CourseError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.clips < 20:
        raise CourseError(f"--clips must be at least 20, got {args.clips}")
    if args.data_root and not Path(args.data_root).is_dir():
        raise CourseError(f"--data-root '{args.data_root}': no such benchmark folder")
    resolve_device(args.device)
    output_dir = Path(args.output_dir)
    check_output_dir(output_dir)
    check_output_folder(output_dir.parent if str(output_dir.parent) else Path("."), f"output folder '{output_dir}'")
    return output_dir


def _benchmark(args: argparse.Namespace, output_dir: Path, methods: Sequence[str]) -> tuple[Path, dict[str, list]]:
    """The benchmark (given or generated) and its train/val/test split (train.py's, same seed)."""
    from common.experiment import ensure_synthetic_benchmark, load_records, split_for_training

    data_root = Path(args.data_root) if args.data_root else ensure_synthetic_benchmark(
        output_dir / "mini-forensics", n_clips=args.clips, n_frames=args.clip_frames, seed=args.seed,
        progress=not args.quiet, methods=tuple(methods))
    _, records = load_records("synthetic", data_root)
    return data_root, split_for_training(records, args.seed)


# --------------------------------------------------------------------------------------------
# few-shot adaptation
# --------------------------------------------------------------------------------------------

def few_shot_parser() -> argparse.ArgumentParser:
    from common.tools.matrix import DEFAULT_METHODS

    parser = ArgumentParser(prog="few_shot.py",
                            description="Train a detector on some manipulations, fine-tune it on k videos "
                                        "of a new one, and plot its AUC on the new and old ones against k.")
    parser.add_argument("--model", default="baseline", help="a registered model with a recipe (compare_detectors.py)")
    parser.add_argument("--old-methods", default=",".join(m for m in DEFAULT_METHODS if m != "TemporalFlicker"),
                        help="manipulations the detector is trained on first")
    parser.add_argument("--new-method", default="TemporalFlicker", help="the manipulation it adapts to")
    parser.add_argument("--shots", default=",".join(map(str, DEFAULT_SHOTS)),
                        help="comma-separated k: fake videos of the new manipulation (and as many real ones)")
    parser.add_argument("--steps", type=int, default=30, help="fine-tuning gradient steps (the same for every k)")
    parser.add_argument("--lr", type=float, default=None, help="fine-tuning learning rate (default: recipe's / 10)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--reuse", action="store_true", help="reuse the trained detector already in --output-dir")
    _common_arguments(parser, "runs/few_shot")
    return parser


def parse_shots(text: str) -> list[int]:
    """``"1,5,20"`` -> ``[1, 5, 20]`` (sorted, unique); a one-line error for anything but positive integers."""
    try:
        shots = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise CourseError(f"--shots '{text}': give comma-separated positive integers, e.g. 1,5,20") from None
    if not shots or shots[0] < 1:
        raise CourseError(f"--shots '{text}': give comma-separated positive integers, e.g. 1,5,20")
    return shots


def few_shot_markdown(result: dict[str, Any]) -> str:
    new, old = result["new_method"], result["old_methods"]
    lines = [f"{result['model']} trained on {', '.join(old)}; fine-tuned on k {new} fakes + k real training videos "
             f"({result['steps']} steps, lr {result['lr']:g}); test video AUC, mean ± sd over {result['repeats']} "
             f"draws", "", f"| k | {new} (new) | old (mean of {len(old)}) | " + " | ".join(old) + " |",
             "|---:|---:|---:|" + "---:|" * len(old)]
    for row in result["rows"]:
        lines.append(f"| {row['k']} | {_cell(row['new'])} | {_cell(row['old'])} | "
                     + " | ".join(_cell(row["per_method"][m]) for m in old) + " |")
    return "\n".join(lines) + "\n"


def few_shot_figure(result: dict[str, Any], path: Path) -> Path:
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(5.5, 3.8))
    positions = range(len(result["rows"]))
    for key, label, marker in (("new", f"{result['new_method']} (new)", "o"), ("old", "old manipulations", "s")):
        means = [np.nan if r[key]["mean"] is None else r[key]["mean"] for r in result["rows"]]
        spreads = [0.0 if r[key]["std"] is None else r[key]["std"] for r in result["rows"]]
        axes.errorbar(positions, means, yerr=spreads, marker=marker, capsize=3, label=label)
    axes.axhline(0.5, color="grey", lw=0.8, ls=":")
    axes.set_xticks(list(positions), [str(r["k"]) for r in result["rows"]])
    axes.set_xlabel("k labelled videos of the new manipulation (+ k real)")
    axes.set_ylabel("test video AUC")
    axes.set_ylim(0.0, 1.02)
    axes.set_title(f"{result['model']}: few-shot adaptation")
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    _save_figure(figure, path)
    plt.close(figure)
    return path


def few_shot(args: argparse.Namespace) -> dict[str, Any]:
    """The few-shot experiment of the module docstring for parsed arguments; returns what few_shot.json holds."""
    from common.engine import cache_faces
    from common.models import get_spec, load_detector
    from common.preprocessing import checkpoint_preprocessing
    from common.tools.compare import RECIPES
    from common.tools.matrix import parse_methods, run_name, train_on
    from common.torch_data import record_id

    started = time.perf_counter()
    model_name = args.model.strip()
    output_dir = _check_common(args, model_name)
    new = args.new_method.strip()
    if new in [m.strip() for m in args.old_methods.split(",")]:
        raise CourseError(f"--new-method {new} is among --old-methods: a new manipulation must be unseen")
    methods = parse_methods(f"{args.old_methods},{new}")
    old = [m for m in methods if m != new]
    if new not in methods or not old:
        raise CourseError("--old-methods: give at least one manipulation besides --new-method")
    shots = parse_shots(args.shots)
    if args.steps < 1 or args.batch_size < 1 or (args.lr is not None and not args.lr > 0):
        raise CourseError("--steps and --batch-size must be at least 1 and --lr positive")
    data_root, splits = _benchmark(args, output_dir, methods)
    missing = sorted(set(methods) - {r.method for r in splits["train"] if r.label == 1})
    if missing:
        raise CourseError(f"the benchmark's training split has no {', '.join(missing)} fakes")
    for k in shots:
        draw_shots(splits, new, k, args.seed, 0)  # enough videos for every k, before anything is written
    output_dir.mkdir(parents=True, exist_ok=True)

    train_on(model_name, old, data_root, output_dir, device=args.device, seed=args.seed, quiet=args.quiet,
             reuse=args.reuse)
    base, checkpoint = load_detector(output_dir / run_name(model_name, old) / f"{model_name}.pt", args.device)
    row = get_spec(model_name)
    row = dataclasses.replace(row, config={**row.config, **checkpoint.model_config})
    prep = checkpoint_preprocessing(checkpoint)
    recipe_lr = float(dict(zip(RECIPES[model_name].flags[::2], RECIPES[model_name].flags[1::2])).get("--lr", 1e-3))
    lr = args.lr if args.lr is not None else recipe_lr / 10
    candidates = [r for r in splits["train"] if r.label == 0 or r.method == new]
    cache_dir, _ = cache_faces(row, prep, candidates + splits["test"], output_dir / "face_cache", device=args.device,
                               progress=not args.quiet)
    pool = InputBank.cached(row, prep, cache_dir, candidates)
    test = InputBank.cached(row, prep, cache_dir, splits["test"])

    def measured(model: nn.Module) -> dict[str, Any]:
        aucs = auc_table(score_videos(model, test, device=args.device), test)["per_method"]
        kept = [aucs.get(m) for m in old if aucs.get(m) is not None]
        return {"new": aucs.get(new), "old": float(np.mean(kept)) if kept else None, "per_method": aucs}

    runs = [{"k": 0, "repeat": None, "videos": [], **measured(base)}]
    print(f"k=0 (as trained): {new} {_fmt(runs[0]['new'])}, old {_fmt(runs[0]['old'])}", flush=True)
    for k in shots:
        for repeat in range(args.repeats):
            drawn = draw_shots(splits, new, k, args.seed, repeat)
            ids = [record_id(r) for r in drawn if record_id(r) in pool.items_of]  # a video without a face
            # has no input: it is left out, and the json lists the videos each draw used
            model = train_steps(copy.deepcopy(base), pool.subset(ids), steps=args.steps, lr=lr,
                                batch_size=args.batch_size, seed=args.seed * 1000 + repeat, device=args.device,
                                frozen_norm=True)
            runs.append({"k": k, "repeat": repeat, "videos": ids, **measured(model)})
            print(f"k={k} draw {repeat}: {new} {_fmt(runs[-1]['new'])}, old {_fmt(runs[-1]['old'])}", flush=True)
    rows = []
    for k in [0, *shots]:
        chosen = [r for r in runs if r["k"] == k]
        rows.append({"k": k, "new": _mean_spread([r["new"] for r in chosen]),
                     "old": _mean_spread([r["old"] for r in chosen]),
                     "per_method": {m: _mean_spread([r["per_method"].get(m) for r in chosen]) for m in old}})
    result = {"model": model_name, "old_methods": old, "new_method": new, "shots": shots, "repeats": args.repeats,
              "steps": args.steps, "lr": lr, "batch_size": args.batch_size, "data_root": str(data_root),
              "seed": args.seed, "test_videos": len(test.ids),
              "note": "each k: k fakes of the new method and k real videos from the training split",
              "rows": rows, "runs": runs, "seconds": round(time.perf_counter() - started, 1)}
    markdown = few_shot_markdown(result)
    _write_text(output_dir / "few_shot.json", json.dumps(result, indent=2) + "\n")
    _write_text(output_dir / "few_shot.md", markdown)
    few_shot_figure(result, output_dir / "few_shot.png")
    print(markdown)
    print(f"wrote {output_dir / 'few_shot.md'}, few_shot.json and few_shot.png ({result['seconds']:.0f} s)")
    return result


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def few_shot_main(argv: list[str] | None = None) -> int:
    from grader.tree import activate_from_args

    args = few_shot_parser().parse_args(argv)
    activate_from_args(args)
    few_shot(args)
    return 0


# --------------------------------------------------------------------------------------------
# active learning
# --------------------------------------------------------------------------------------------

def active_learning_parser() -> argparse.ArgumentParser:
    from common.tools.matrix import DEFAULT_METHODS

    parser = ArgumentParser(prog="active_learning.py",
                            description="Label the pool videos a detector is least sure of, round after "
                                        "round, and plot test AUC against labels beside random choice.")
    parser.add_argument("--model", default="spectrum_logistic",
                        help="a registered model with a recipe (compare_detectors.py); it is retrained every round")
    parser.add_argument("--methods", default=",".join(DEFAULT_METHODS),
                        help="manipulations whose fakes are in the pool and the test split (and in a generated "
                             "benchmark); real videos are always in")
    parser.add_argument("--initial", type=int, default=6, help="labelled videos to start with (half real)")
    parser.add_argument("--batch", type=int, default=6, help="videos labelled per round")
    parser.add_argument("--budget", type=int, default=60, help="labels in all (the last round's labelled set)")
    parser.add_argument("--epochs", type=int, default=30, help="passes over the labelled inputs per round")
    _common_arguments(parser, "runs/active_learning")
    return parser


def learning_curve(strategy: str, start: list[str], pool: InputBank, test: InputBank, *, budget: int, batch: int,
                   train: Any, rng: np.random.Generator, device: str) -> list[dict[str, Any]]:
    """One strategy's curve from ``start``: ``[{"labels", "fakes", "auc", "train_seconds", "picked"}]``, one
    entry per round.

    ``train(ids)`` returns a detector trained on those pool videos; ``pool`` is the only source of
    picks (the training split), ``test`` only scored.
    """
    labelled = list(start)
    curve = []
    while True:
        started = time.perf_counter()
        model = train(labelled)
        seconds = round(time.perf_counter() - started, 2)
        auc = auc_table(score_videos(model, test, device=device), test)["all_fakes"]
        entry = {"labels": len(labelled), "fakes": sum(pool.labels[v] for v in labelled), "auc": auc,
                 "train_seconds": seconds, "picked": []}
        curve.append(entry)
        done = set(labelled)
        unlabelled = [v for v in pool.ids if v not in done]
        if len(labelled) >= budget or not unlabelled:
            return curve
        size = min(batch, budget - len(labelled))
        if strategy == "uncertainty":
            probabilities = score_videos(model, pool, unlabelled, device=device)
            picked = pick_uncertain(unlabelled, [probabilities[v] for v in unlabelled], labelled, size)
        else:
            picked = pick_random(unlabelled, labelled, size, rng)
        entry["picked"] = picked
        labelled += picked


def active_learning_markdown(result: dict[str, Any]) -> str:
    lines = [f"{result['model']} retrained from scratch each round ({result['epochs']} epochs); test video AUC over "
             f"all fakes, mean ± sd over {result['repeats']} starts; pool {result['pool_videos']} training videos, "
             f"{result['test_videos']} test videos", "",
             "| labels | uncertainty | random | fakes labelled (unc. / rand.) |", "|---:|---:|---:|---:|"]
    for row in result["rows"]:
        lines.append(f"| {row['labels']} | {_cell(row['uncertainty'])} | {_cell(row['random'])} | "
                     f"{row['fakes']['uncertainty']:.1f} / {row['fakes']['random']:.1f} |")
    lines.append(f"| all {result['pool_videos']} | {_cell(result['all_labelled'])} | | |")
    lines.append("")
    lines.append(f"Fakes of {', '.join(result['methods'])}; start: {result['initial']} videos, then {result['batch']} "
                 f"a round.")
    return "\n".join(lines) + "\n"


def active_learning_figure(result: dict[str, Any], path: Path) -> Path:
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(5.5, 3.8))
    labels = [row["labels"] for row in result["rows"]]
    for strategy, marker in (("uncertainty", "o"), ("random", "s")):
        means = np.array([np.nan if r[strategy]["mean"] is None else r[strategy]["mean"] for r in result["rows"]])
        spreads = np.array([0.0 if r[strategy]["std"] is None else r[strategy]["std"] for r in result["rows"]])
        axes.plot(labels, means, marker=marker, label=f"{strategy} sampling")
        axes.fill_between(labels, means - spreads, means + spreads, alpha=0.2)
    if result["all_labelled"]["mean"] is not None:
        axes.axhline(result["all_labelled"]["mean"], color="grey", ls="--", lw=1,
                     label=f"all {result['pool_videos']} labelled")
    axes.set_xlabel("labelled training videos")
    axes.set_ylabel("test video AUC")
    axes.set_ylim(0.4, 1.02)
    axes.set_title(f"{result['model']}: active learning")
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    _save_figure(figure, path)
    plt.close(figure)
    return path


def active_learning(args: argparse.Namespace) -> dict[str, Any]:
    """The active-learning experiment of the module docstring; returns what active_learning.json holds."""
    from common.device import seed_everything
    from common.engine import cache_faces
    from common.models import build_model
    from common.tools.matrix import parse_methods

    started = time.perf_counter()
    model_name = args.model.strip()
    output_dir = _check_common(args, model_name)
    methods = parse_methods(args.methods)
    if args.initial < 2 or args.batch < 1 or args.epochs < 1 or args.budget <= args.initial:
        raise CourseError(f"--initial must be at least 2, --batch and --epochs at least 1, and --budget above "
                          f"--initial (got {args.initial}, {args.batch}, {args.epochs}, {args.budget})")
    row, config, prep, lr, batch_size = recipe_settings(model_name)
    data_root, splits = _benchmark(args, output_dir, methods)
    missing = sorted(set(methods) - {r.method for r in splits["train"] if r.label == 1})
    if missing:
        raise CourseError(f"--methods: the benchmark's training split has no {', '.join(missing)} fakes")
    splits = {name: [r for r in records if r.label == 0 or r.method in methods] for name, records in splits.items()}
    if args.budget > len(splits["train"]):
        raise CourseError(f"--budget {args.budget}: the pool has {len(splits['train'])} training videos")
    output_dir.mkdir(parents=True, exist_ok=True)
    cache_dir, _ = cache_faces(row, prep, splits["train"] + splits["test"], output_dir / "face_cache",
                               device=args.device, progress=not args.quiet)
    pool = InputBank.cached(row, prep, cache_dir, splits["train"])
    test = InputBank.cached(row, prep, cache_dir, splits["test"])
    if args.budget > len(pool.ids):
        raise CourseError(f"--budget {args.budget}: the pool has {len(pool.ids)} training videos")

    def train(ids: list[str]) -> nn.Module:
        seed_everything(args.seed)
        model = build_model(model_name, **config)
        data = pool.subset(ids)
        return train_steps(model, data, steps=args.epochs * math.ceil(len(data) / batch_size), lr=lr,
                           batch_size=batch_size, seed=args.seed, device=args.device)

    curves: dict[str, list] = {strategy: [] for strategy in STRATEGIES}
    for repeat in range(args.repeats):
        start = draw_initial(pool.ids, [pool.labels[v] for v in pool.ids], args.initial,
                             np.random.default_rng([args.seed, repeat]))
        for strategy in STRATEGIES:
            curve = learning_curve(strategy, start, pool, test, budget=args.budget, batch=args.batch, train=train,
                                   rng=np.random.default_rng([args.seed, repeat, 1]), device=args.device)
            curves[strategy].append(curve)
            print(f"start {repeat} {strategy}: " + ", ".join(f"{e['labels']}:{_fmt(e['auc'])}" for e in curve),
                  flush=True)
    ceiling = auc_table(score_videos(train(list(pool.ids)), test, device=args.device), test)["all_fakes"]
    rows = []
    for position, entry in enumerate(curves["uncertainty"][0]):
        rows.append({"labels": entry["labels"],
                     **{s: _mean_spread([c[position]["auc"] for c in curves[s]]) for s in STRATEGIES},
                     "fakes": {s: float(np.mean([c[position]["fakes"] for c in curves[s]])) for s in STRATEGIES}})
    result = {"model": model_name, "methods": methods, "initial": args.initial, "batch": args.batch, "budget": args.budget,
              "epochs": args.epochs, "lr": lr, "batch_size": batch_size, "repeats": args.repeats,
              "data_root": str(data_root), "seed": args.seed, "pool_videos": len(pool.ids),
              "test_videos": len(test.ids), "rows": rows, "all_labelled": _mean_spread([ceiling]),
              "curves": curves, "seconds": round(time.perf_counter() - started, 1)}
    markdown = active_learning_markdown(result)
    _write_text(output_dir / "active_learning.json", json.dumps(result, indent=2) + "\n")
    _write_text(output_dir / "active_learning.md", markdown)
    active_learning_figure(result, output_dir / "active_learning.png")
    print(markdown)
    print(f"wrote {output_dir / 'active_learning.md'}, active_learning.json and active_learning.png "
          f"({result['seconds']:.0f} s)")
    return result


def active_learning_main(argv: list[str] | None = None) -> int:
    from grader.tree import activate_from_args

    args = active_learning_parser().parse_args(argv)
    activate_from_args(args)
    active_learning(args)
    return 0
