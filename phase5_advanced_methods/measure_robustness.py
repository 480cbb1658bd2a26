"""Measure a trained frame detector's robustness: accuracy against the PGD budget, before and after
adversarial training, and whether the attack survives H.264 re-encoding.

    python phase5_advanced_methods/measure_robustness.py --solutions \\
        --checkpoint runs/phase5/attention_cnn_best.pt --data-root runs/phase5/mini-forensics

Reads the checkpoint's face caches (the crops ``train.py`` cached, so the same frames and the same
held-out identities: ``common.experiment.split_for_training`` with the checkpoint's seed) and then

1. clean detector: PGD (L-inf, ``--steps`` steps of eps/4, no random start; task 5.8) on
   ``--faces-per-video`` evenly spaced faces of every test video, at eps 0, 1/255, 2/255, 4/255 and
   8/255; accuracy at P(FAKE) = 0.5 (``robustness_curve``, task 5.9);
2. the same faces after H.264: every test video's attacked faces are written as one clip with
   libx264 (``--crf``, ``common.video.write_video``) and decoded again before scoring, as an
   upload would (``h264_roundtrip``);
3. adversarially trained detector: a copy fine-tuned for ``--epochs`` epochs on PGD faces of the
   training videos (``adversarial_training_step``, eps ``--train-eps``, task 5.9), then 1 and 2.

Prints one table and writes ``robustness.json`` and ``robustness.png`` into ``--output-dir``.
"""
import copy
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root

import numpy as np  # noqa: E402

from common.errors import ArgumentParser, CourseError, run_cli  # noqa: E402
from grader import tree  # noqa: E402


def check_inputs(checkpoint_path: Path, data_root: Path, output_dir: Path) -> None:
    """One-line errors, before any folder is made: a missing checkpoint, one that is not a frame
    detector, a folder that is not a mini-forensics benchmark, an output folder that cannot be one."""
    from common.atomic import check_output_dir
    from common.checkpoint import load_checkpoint
    from common.models import get_spec

    if not checkpoint_path.is_file():
        raise CourseError(f"checkpoint '{checkpoint_path}' does not exist")
    check_frame_detector(get_spec(load_checkpoint(checkpoint_path).architecture), checkpoint_path)
    if not (data_root / "videos").is_dir():
        raise CourseError(f"'{data_root}' is not a mini-forensics folder (no videos/)")
    check_output_dir(output_dir)


def check_frame_detector(row, checkpoint_path: Path) -> None:
    """Raise a one-line CourseError unless ``row`` (the checkpoint's registry row) is a frame detector:
    these scripts read single faces."""
    if row.kind != "frame":
        raise CourseError(f"checkpoint '{checkpoint_path}' is a {row.kind} detector; this measures frame detectors")


def held_out_faces(checkpoint_path: Path, data_root: Path, split: str, per_video: int, seed: int):
    """``(faces (N, S, S, 3) uint8, labels (N,), video index (N,))`` of one split from the face cache."""
    from common.checkpoint import load_checkpoint
    from common.engine import cache_faces
    from common.experiment import load_records, split_for_training
    from common.models import get_spec
    from common.preprocessing import checkpoint_preprocessing
    from common.torch_data import read_face_cache, record_id

    checkpoint = load_checkpoint(checkpoint_path)
    prep = checkpoint_preprocessing(checkpoint)
    row = get_spec(checkpoint.architecture)
    check_frame_detector(row, checkpoint_path)
    _, records = load_records("synthetic", data_root)
    records = split_for_training(records, seed)[split]
    cache_root = checkpoint.extra.get("face_cache_root") or data_root.parent / "face_cache"
    cache_dir, _ = cache_faces(row, prep, records, cache_root, progress=False)
    faces, labels, videos = [], [], []
    for number, record in enumerate(records):
        cache = read_face_cache(cache_dir / f"{record_id(record)}.npz")
        if len(cache.faces) == 0:
            continue
        chosen = np.unique(np.linspace(0, len(cache.faces) - 1, per_video).round().astype(int))
        faces.append(cache.faces[chosen])
        labels += [cache.label] * len(chosen)
        videos += [number] * len(chosen)
    return np.concatenate(faces), np.array(labels), np.array(videos)


def _tensor(faces: np.ndarray):
    import torch

    return torch.from_numpy(faces).permute(0, 3, 1, 2).float() / 255.0


def _uint8(images) -> np.ndarray:
    return (images.permute(0, 2, 3, 1).numpy() * 255.0).round().clip(0, 255).astype(np.uint8)


def curves(model, faces, labels, videos, epsilons, steps, mean, std, crf):
    """``(accuracy before H.264, accuracy after H.264)`` per eps (PGD without random start)."""
    import torch

    from phase5_advanced_methods.template_adversarial_training import accuracy, h264_roundtrip, pgd

    model.eval()
    images, targets = _tensor(faces), torch.from_numpy(labels)
    before, after = [], []
    for eps in epsilons:
        attacked = []
        for start in range(0, len(images), 64):
            batch = images[start:start + 64]
            if eps > 0:
                batch = pgd(model, batch, targets[start:start + 64], eps=eps, alpha=eps / 4, steps=steps,
                            random_start=False, mean=mean, std=std)
            attacked.append(batch)
        attacked = torch.cat(attacked)
        # what is stored is 8-bit: round the attack to pixel levels before scoring either way
        stored = _uint8(attacked)
        before.append(accuracy(model, _tensor(stored), targets, mean, std))
        decoded = np.concatenate([h264_roundtrip(stored[videos == v], crf=crf) for v in np.unique(videos)])
        after.append(accuracy(model, _tensor(decoded), targets, mean, std))
    return before, after


def adversarially_train(model, faces, labels, epochs, eps, steps, mean, std, lr, seed):
    """A copy of ``model`` fine-tuned with PGD faces (Madry et al.), Adam, batches of 32."""
    import torch

    from phase5_advanced_methods.template_adversarial_training import adversarial_training_step

    torch.manual_seed(seed)
    robust = copy.deepcopy(model)
    optimizer = torch.optim.Adam(robust.parameters(), lr=lr)
    images, targets = _tensor(faces), torch.from_numpy(labels)
    generator = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        order = torch.randperm(len(images), generator=generator)
        losses = [adversarial_training_step(robust, optimizer, images[order[k:k + 32]], targets[order[k:k + 32]],
                                            eps=eps, alpha=eps / 2, steps=steps, mean=mean, std=std)
                  for k in range(0, len(images), 32)]
        print(f"adversarial training epoch {epoch + 1}/{epochs}: loss {np.mean(losses):.4f}", flush=True)
    return robust.eval()


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from common.metrics import save_figure

    figure, axis = plt.subplots(figsize=(6, 4))
    levels = [eps * 255 for eps in results["epsilons"]]
    for name, colour in (("clean-trained", "tab:red"), ("adversarially trained", "tab:blue")):
        axis.plot(levels, results[name]["before_h264"], "o-", color=colour, label=f"{name}")
        axis.plot(levels, results[name]["after_h264"], "s--", color=colour, label=f"{name}, after H.264")
    axis.set_xlabel("PGD budget eps (8-bit levels)")
    axis.set_ylabel("face accuracy (held-out identities)")
    axis.set_ylim(0, 1.02)
    axis.legend(fontsize=8)
    figure.tight_layout()
    save_figure(figure, path)


def main(argv=None) -> int:
    parser = ArgumentParser(prog="python phase5_advanced_methods/measure_robustness.py",
                            description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", required=True, help="a frame detector trained by train.py")
    parser.add_argument("--data-root", required=True, help="the mini-forensics folder it was trained on")
    parser.add_argument("--seed", type=int, default=0, help="the split seed of the training run")
    parser.add_argument("--faces-per-video", type=int, default=4)
    parser.add_argument("--steps", type=int, default=10, help="PGD steps of the evaluation attack")
    parser.add_argument("--epochs", type=int, default=3, help="adversarial fine-tuning epochs")
    parser.add_argument("--train-eps", type=float, default=4.0, help="adversarial training budget in 8-bit levels")
    parser.add_argument("--train-steps", type=int, default=3, help="PGD steps per adversarial training batch")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--crf", type=int, default=23, help="x264 constant rate factor of the re-encoding")
    parser.add_argument("--output-dir", default="runs/phase5/robustness")
    tree.add_tree_argument(parser)
    args = parser.parse_args(argv)
    tree.activate_from_args(args)
    checkpoint, data_root, output = Path(args.checkpoint), Path(args.data_root), Path(args.output_dir)
    check_inputs(checkpoint, data_root, output)
    output.mkdir(parents=True, exist_ok=True)

    from common.models import load_detector
    from common.preprocessing import checkpoint_preprocessing
    from common.report import write_text_atomic
    from phase5_advanced_methods.template_adversarial_training import EPSILONS

    started = time.time()
    model, loaded = load_detector(checkpoint, "cpu")
    prep = checkpoint_preprocessing(loaded)
    test = held_out_faces(checkpoint, data_root, "test", args.faces_per_video, args.seed)
    train = held_out_faces(checkpoint, data_root, "train", args.faces_per_video, args.seed)
    results = {"checkpoint": str(checkpoint), "test_faces": int(len(test[0])), "train_faces": int(len(train[0])),
               "epsilons": list(EPSILONS), "settings": {k: v for k, v in vars(args).items() if isinstance(v, (int, float, str))}}
    before, after = curves(model, *test, EPSILONS, args.steps, prep.mean, prep.std, args.crf)
    results["clean-trained"] = {"before_h264": before, "after_h264": after}
    robust = adversarially_train(model, train[0], train[1], args.epochs, args.train_eps / 255, args.train_steps,
                                 prep.mean, prep.std, args.lr, args.seed)
    before, after = curves(robust, *test, EPSILONS, args.steps, prep.mean, prep.std, args.crf)
    results["adversarially trained"] = {"before_h264": before, "after_h264": after}
    results["seconds"] = round(time.time() - started, 1)
    write_text_atomic(output / "robustness.json", json.dumps(results, indent=2))
    plot(results, output / "robustness.png")
    print(f"{results['test_faces']} test faces of held-out identities; PGD {args.steps} steps; H.264 crf {args.crf}")
    print("eps (levels)            " + "  ".join(f"{eps * 255:5.0f}" for eps in EPSILONS))
    for name in ("clean-trained", "adversarially trained"):
        for stage in ("before_h264", "after_h264"):
            print(f"{name[:13]:13} {stage:10} " + "  ".join(f"{value:5.3f}" for value in results[name][stage]))
    print(f"written: {output / 'robustness.json'}, {output / 'robustness.png'} ({results['seconds']} s)")
    return 0


if __name__ == "__main__":
    run_cli(main)
