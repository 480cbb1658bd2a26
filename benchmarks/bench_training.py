"""Benchmark: training throughput of the phase-1 detectors through the shared loop, against memory.

    python benchmarks/bench_training.py [--device auto] [--quick]

Is the input pipeline the bottleneck? For each phase-1 detector this prints, from one run, the
training images per second of

1. **the shared loop** exactly as ``train.py`` runs it: the face cache on disk
   (``common.faces.build_face_cache``), ``common.engine.make_dataset`` with the training transform
   (task 1.9's ``forensic`` augmentation, and ``none``), a DataLoader, :func:`common.training.fit`
   for one epoch (its validation set is 8 real and 8 fake crops, a negligible share of the epoch);
2. **the same model fed from memory**: every crop already a normalised tensor on the device, the
   same batch size, optimiser (AdamW) and loss, no loading and no augmentation;

and the ratio (aim: 80% or more of the from-memory rate). The crops come from a generated
mini-forensics benchmark (48 clips of 16 frames, MTCNN once, not timed). Nothing here is a timed
test: the figures go into the README and the issue notes.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import Subset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grader import tree  # noqa: E402

tree.activate("solutions")

from common import models  # noqa: E402
from common.device import resolve_device, seed_everything  # noqa: E402
from common.engine import cache_faces, make_dataset  # noqa: E402
from common.experiment import load_records, split_for_training  # noqa: E402
from common.preprocessing import model_preprocessing  # noqa: E402
from common.synthetic import write_benchmark  # noqa: E402
from common.training import TrainConfig, fit  # noqa: E402

DETECTORS = (("baseline", 64), ("mesonet", 128), ("xceptionnet", 128))
"""(registered phase-1 model, input size): sizes a CPU can train in seconds per epoch."""
BATCH_SIZE = 32


def from_memory(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, device: torch.device,
                batch_size: int = BATCH_SIZE) -> float:
    """Images per second of one pass of training steps over tensors already on ``device``."""
    model.to(device).train()
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    if device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for start in range(0, len(images), batch_size):
        chosen = order[start:start + batch_size]
        optimiser.zero_grad(set_to_none=True)
        loss = loss_fn(model(images[chosen]).reshape(-1), labels[chosen])
        loss.backward()
        optimiser.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return len(images) / (time.perf_counter() - started)


def through_the_loop(model: torch.nn.Module, train_set, val_set, device: torch.device, workers: int) -> float:
    """Images per second of one epoch of :func:`common.training.fit` (validation on 16 crops included)."""
    config = TrainConfig(epochs=1, batch_size=BATCH_SIZE, lr=1e-3, num_workers=workers, progress=False, seed=0)
    result = fit(model, train_set, val_set, config=config, device=device)
    return len(train_set) / result.history[0]["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--quick", action="store_true", help="the baseline only, 24 clips (smoke run)")
    args = parser.parse_args()
    device = resolve_device(args.device)
    detectors = DETECTORS[:1] if args.quick else DETECTORS
    print(f"device: {device}; torch threads: {torch.get_num_threads()}; batch {BATCH_SIZE}; one epoch each")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "mini-forensics"
        write_benchmark(root, n_clips=24 if args.quick else 48, n_frames=16, size=128, methods=["FaceSwap"],
                        progress=False)
        _, records = load_records("synthetic", root)
        splits = split_for_training(records, seed=0)
        train_records = splits["train"] + splits["test"]  # more crops to time; nothing is evaluated here
        print(f"{'detector':12s} {'size':>4s} {'crops':>6s} {'memory img/s':>13s} "
              f"{'loop img/s (augment, workers)':>32s}  loop / memory")
        for name, size in detectors:
            row = models.get_spec(name)
            config = models.model_config(name, input_size=size)
            prep = model_preprocessing(row, config, size=size, n_frames=16)
            cache_dir, _ = cache_faces(row, prep, train_records + splits["val"], Path(folder) / "faces",
                                       device=device, progress=False)
            validation = make_dataset(row, prep, cache_dir, splits["val"])
            val_set = Subset(validation, [i for label in (0, 1)
                                          for i in [j for j, y in enumerate(validation.labels) if y == label][:8]])
            plain = make_dataset(row, prep, cache_dir, train_records)
            images = torch.stack([plain[i][0] for i in range(len(plain))])  # resized and normalised
            labels = torch.tensor([float(plain[i][1]) for i in range(len(plain))])
            seed_everything(0)
            memory = from_memory(models.build_model(name, **config), images.to(device), labels.to(device), device)
            cells = []
            for augment, workers in (("none", 0), ("forensic", 0), ("forensic", 1)):
                train_set = make_dataset(row, prep, cache_dir, train_records,
                                         transform=prep.train_transform(augment, 0))
                seed_everything(0)
                rate = through_the_loop(models.build_model(name, **config), train_set, val_set, device, workers)
                cells.append(f"{augment}/{workers}: {rate:6.0f} ({rate / memory:4.0%})")
            print(f"{name:12s} {size:4d} {len(plain):6d} {memory:13.0f}  " + "  ".join(cells))


if __name__ == "__main__":
    main()
