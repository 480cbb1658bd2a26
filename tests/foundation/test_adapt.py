"""few_shot.py and active_learning.py (common.tools.adapt): the uncertainty picker worked by hand,
the few-shot draws and the active-learning pool confined to the training split, one-line errors
with nothing written, and (slow, 1-2 min on idle cores: `pytest --solutions -m slow`) both tools end to end
on a tiny benchmark, their tables checked against the runs' own records and scikit-learn."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score
from torch import nn

from common.datasets import VideoRecord
from common.errors import CourseError
from tests.tolerances import ADAPT_AUC_ROUNDING_ATOL

ROOT = Path(__file__).resolve().parents[2]


def _record(name: str, label: int, method: str, split: str = "train") -> VideoRecord:
    return VideoRecord(Path(f"{split}/{name}.mp4"), label, method, group=name, split=None, dataset="synthetic")


# ------------------------------------------------------------------ choosing videos

def test_uncertainty_picks_the_probabilities_nearest_one_half_by_hand():
    from common.tools.adapt import pick_uncertain

    # distances to 0.5: a 0.40, b 0.05 (labelled), c 0.20, d 0.02, e 0.30
    ids, probabilities = ["a", "b", "c", "d", "e"], [0.9, 0.45, 0.7, 0.52, 0.2]
    assert pick_uncertain(ids, probabilities, {"b"}, 2) == ["d", "c"]
    assert pick_uncertain(ids, probabilities, {"b"}, 1) == ["d"]
    assert pick_uncertain(ids, probabilities, set(), 2) == ["d", "b"]
    assert pick_uncertain(ids, probabilities, {"b", "d"}, 10) == ["c", "e", "a"], "never a labelled video"
    assert pick_uncertain(["x", "y"], [0.6, 0.4], set(), 1) == ["x"], "a tie keeps pool order"


def test_random_choice_never_repeats_or_picks_a_labelled_video():
    from common.tools.adapt import pick_random

    ids = [f"v{i}" for i in range(20)]
    labelled = {f"v{i}" for i in range(0, 20, 2)}
    picked = pick_random(ids, labelled, 6, np.random.default_rng(0))
    assert len(picked) == len(set(picked)) == 6 and not set(picked) & labelled and set(picked) <= set(ids)
    assert sorted(pick_random(ids, labelled, 50, np.random.default_rng(1))) == sorted(set(ids) - labelled)


def _splits():
    splits = {}
    for split in ("train", "val", "test"):
        splits[split] = ([_record(f"{split}_real{i}", 0, "real", split) for i in range(6)]
                         + [_record(f"{split}_flick{i}", 1, "TemporalFlicker", split) for i in range(4)]
                         + [_record(f"{split}_swap{i}", 1, "FaceSwap", split) for i in range(4)])
    return splits


def test_few_shot_draws_k_new_fakes_and_k_reals_from_the_training_split_only():
    from common.tools.adapt import draw_shots

    splits = _splits()
    for repeat in range(3):
        previous: set = set()
        for k in (1, 2, 4):
            drawn = draw_shots(splits, "TemporalFlicker", k, seed=0, repeat=repeat)
            assert all(r in splits["train"] for r in drawn), "validation and test videos are never drawn"
            assert sorted(r.method for r in drawn) == ["TemporalFlicker"] * k + ["real"] * k
            assert previous <= set(map(str, (r.path for r in drawn))), "the draws of one repeat are nested"
            previous = set(map(str, (r.path for r in drawn)))
    assert ({str(r.path) for r in draw_shots(splits, "TemporalFlicker", 2, 0, 0)}
            != {str(r.path) for r in draw_shots(splits, "TemporalFlicker", 2, 0, 1)}), "repeats draw other videos"
    with pytest.raises(CourseError, match="4 TemporalFlicker fakes"):
        draw_shots(splits, "TemporalFlicker", 5, 0, 0)


def test_parse_shots():
    from common.tools.adapt import parse_shots

    assert parse_shots("20,1,5,5") == [1, 5, 20]
    for bad in ("0,5", "one", "", "-1"):
        with pytest.raises(CourseError, match="--shots"):
            parse_shots(bad)


class _OneFeature(torch.utils.data.Dataset):
    """One input per video: its scalar feature ``(x (1,), label, video_id)``."""

    def __init__(self, rows):
        self.items = [(torch.tensor([x], dtype=torch.float32), torch.tensor(float(label)), video)
                      for video, label, x in rows]
        self.video_ids = [video for video, _, _ in rows]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]


def test_active_learning_labels_the_least_certain_training_videos_and_nothing_else():
    """A fixed detector P(FAKE) = sigmoid(x): the pool videos with x nearest 0 are the least certain.
    Pool (training split) x: r0 -3, r1 -0.2, r2 -1, f0 2.5, f1 0.1, f2 1.5, f3 -0.6; the test videos
    (x 0.01, 0.02: more uncertain than any) must never be picked."""
    from common.tools.adapt import InputBank, learning_curve

    pool_rows = [("r0", 0, -3.0), ("r1", 0, -0.2), ("r2", 0, -1.0), ("f0", 1, 2.5), ("f1", 1, 0.1), ("f2", 1, 1.5),
                 ("f3", 1, -0.6)]
    test_rows = [("t0", 0, 0.01), ("t1", 1, 0.02), ("t2", 0, -2.0), ("t3", 1, 2.0)]

    def bank(rows, split):
        from common.torch_data import record_id

        records = [_record(name, label, "real" if label == 0 else "FaceSwap", split) for name, label, _ in rows]
        renamed = [(record_id(r), label, x) for r, (_, label, x) in zip(records, rows)]
        return InputBank(_OneFeature(renamed), records), {record_id(r): name for r, (name, _, _) in zip(records, rows)}

    pool, pool_names = bank(pool_rows, "train")
    test, _ = bank(test_rows, "test")
    detector = nn.Linear(1, 1)
    with torch.no_grad():
        detector.weight.fill_(1.0)
        detector.bias.fill_(0.0)
    trained_on = []
    start = [i for i in pool.ids if pool_names[i] in ("r0", "f0")]
    curve = learning_curve("uncertainty", start, pool, test, budget=6, batch=2,
                           train=lambda ids: trained_on.append(list(ids)) or detector,
                           rng=np.random.default_rng(0), device="cpu")
    assert [[pool_names[v] for v in entry["picked"]] for entry in curve] == [["f1", "r1"], ["f3", "r2"], []]
    assert [entry["labels"] for entry in curve] == [2, 4, 6] and [entry["fakes"] for entry in curve] == [1, 2, 3]
    assert [len(ids) for ids in trained_on] == [2, 4, 6] and all(set(ids) <= set(pool.ids) for ids in trained_on)
    assert curve[0]["auc"] == pytest.approx(roc_auc_score([0, 1, 0, 1], [0.01, 0.02, -2.0, 2.0]))
    randomly = learning_curve("random", start, pool, test, budget=7, batch=3, train=lambda ids: detector,
                              rng=np.random.default_rng(0), device="cpu")
    picked = [v for entry in randomly for v in entry["picked"]]
    assert sorted(picked) == sorted(set(pool.ids) - set(start)), "random choice labels each pool video once"


# ------------------------------------------------------------------ bad input

@pytest.mark.parametrize("tool, argv, words", [
    ("few_shot.py", ["--shots", "0,5"], "--shots"),
    ("active_learning.py", ["--initial", "6", "--budget", "6"], "--budget"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, tool, argv, words):
    output = tmp_path / "out"
    run = subprocess.run([sys.executable, str(ROOT / tool), *argv, "--output-dir", str(output), "--quiet"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and words in lines[0], run.stderr
    assert list(tmp_path.iterdir()) == [], "nothing written"


@pytest.mark.parametrize("tool, argv, words", [
    ("few_shot", ["--new-method", "FaceSwap", "--old-methods", "FaceSwap,Deepfake"], "unseen"),
    ("few_shot", ["--new-method", "Swap"], "Swap"),
    ("few_shot", ["--model", "transfer"], "transfer"),
    ("few_shot", ["--steps", "0"], "--steps"),
    ("few_shot", ["--data-root", "no/such/folder"], "no such"),
    ("active_learning", ["--repeats", "0"], "--repeats"),
    ("active_learning", ["--batch", "0"], "--batch"),
    ("active_learning", ["--methods", "FaceSwap"], "at least two"),
])
def test_bad_arguments_are_refused_before_anything_is_written(tmp_path, tool, argv, words):
    from common.tools import adapt

    output = tmp_path / "out"
    args = getattr(adapt, f"{tool}_parser")().parse_args([*argv, "--output-dir", str(output), "--quiet"])
    with pytest.raises(CourseError, match=words):
        getattr(adapt, tool)(args)
    assert not output.exists()


# ------------------------------------------------------------------ end to end (slow)

@pytest.fixture(scope="module")
def tiny_benchmark(tmp_path_factory) -> Path:
    from common.experiment import ensure_synthetic_benchmark

    return ensure_synthetic_benchmark(tmp_path_factory.mktemp("adapt") / "mini-forensics", n_clips=30, n_frames=8,
                                      seed=0, progress=False, methods=("FaceSwap", "GANUpsample"))


def _train_ids(data_root: Path) -> tuple[set[str], dict[str, VideoRecord]]:
    from common.experiment import load_records, split_for_training
    from common.torch_data import record_id

    _, records = load_records("synthetic", data_root)
    splits = split_for_training(records, 0)
    return {record_id(r) for r in splits["train"]}, {record_id(r): r for r in records}


@pytest.mark.slow
def test_few_shot_end_to_end(tiny_benchmark, tmp_path):
    from common.tools.adapt import few_shot_main

    output = tmp_path / "few"
    too_many = ["--shots", "1,99", "--output-dir", str(output)]
    with pytest.raises(CourseError, match="--shots 99"):
        few_shot_main(["--model", "spectrum_logistic", "--old-methods", "FaceSwap", "--new-method", "GANUpsample",
                       "--data-root", str(tiny_benchmark), *too_many, "--solutions"])
    assert not output.exists(), "a k larger than the training split is refused before anything is written"
    with pytest.raises(CourseError, match="no TemporalFlicker fakes"):
        few_shot_main(["--model", "spectrum_logistic", "--old-methods", "FaceSwap", "--new-method", "TemporalFlicker",
                       "--data-root", str(tiny_benchmark), "--output-dir", str(output), "--solutions"])
    assert not output.exists(), "a manipulation the benchmark lacks is refused before anything is written"
    assert few_shot_main(["--model", "spectrum_logistic", "--old-methods", "FaceSwap", "--new-method", "GANUpsample",
                          "--shots", "1,2", "--repeats", "2", "--steps", "5", "--data-root", str(tiny_benchmark),
                          "--output-dir", str(output), "--device", "cpu", "--quiet", "--solutions"]) == 0
    written = json.loads((output / "few_shot.json").read_text())
    assert [row["k"] for row in written["rows"]] == [0, 1, 2]
    assert [row["new"]["n"] for row in written["rows"]] == [1, 2, 2]
    train_ids, records = _train_ids(tiny_benchmark)
    for run in written["runs"][1:]:
        methods = sorted(records[v].method for v in run["videos"])
        assert set(run["videos"]) <= train_ids and methods == ["GANUpsample"] * run["k"] + ["real"] * run["k"]
    base = json.loads((output / "spectrum_logistic__FaceSwap" / "train_report.json").read_text())
    chosen = [v for v in base["test"]["videos"] if v["method"] in ("real", "GANUpsample")]
    assert written["rows"][0]["new"]["mean"] == pytest.approx(
        roc_auc_score([v["label"] for v in chosen], [v["score"] for v in chosen]), abs=ADAPT_AUC_ROUNDING_ATOL), \
        "k = 0 is the trained detector's own test AUC"
    table = (output / "few_shot.md").read_text()
    assert "| 0 |" in table and "| 2 |" in table and (output / "few_shot.png").stat().st_size > 0


@pytest.mark.slow
def test_active_learning_end_to_end(tiny_benchmark, tmp_path):
    from common.tools.adapt import active_learning_main

    output = tmp_path / "active"
    assert active_learning_main(["--methods", "FaceSwap,GANUpsample", "--initial", "2", "--batch", "2", "--budget", "6", "--repeats", "2", "--epochs", "3",
                                 "--data-root", str(tiny_benchmark), "--output-dir", str(output), "--device", "cpu",
                                 "--quiet", "--solutions"]) == 0
    written = json.loads((output / "active_learning.json").read_text())
    assert [row["labels"] for row in written["rows"]] == [2, 4, 6]
    train_ids, _ = _train_ids(tiny_benchmark)
    for strategy in ("uncertainty", "random"):
        for curve in written["curves"][strategy]:
            picked = [v for entry in curve for v in entry["picked"]]
            assert len(picked) == len(set(picked)) == 4 and set(picked) <= train_ids
    assert written["rows"][0]["uncertainty"] == written["rows"][0]["random"], "both strategies start alike"
    assert (output / "active_learning.png").stat().st_size > 0
    assert len((output / "active_learning.md").read_text().splitlines()) == 2 + 2 + 3 + 1 + 2
