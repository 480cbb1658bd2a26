"""Cross-fitting (common.cross_fit, compare_detectors.py --cross-fit): person folds against scikit-learn's
GroupKFold, fold benchmarks that reuse the face cache, every training and validation video scored once by
a model that never saw its person, test videos never, and calibrations fitted on those scores only."""
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.model_selection import GroupKFold

from common.calibration import Calibration, fit_platt, fit_two_sided
from common.cross_fit import (fold_splits, out_of_fold_calibration, person_folds, recalibrated,
                              write_split_benchmark)
from common.datasets import load_synthetic
from common.errors import CourseError
from common.torch_data import record_id


def _records(sizes):
    return [SimpleNamespace(path=f"{person}_{i}.mp4", group=person, label=i % 2)
            for person, size in sizes.items() for i in range(size)]


def test_person_folds_worked_by_hand_and_against_group_kfold():
    folds = person_folds(_records({"a": 3, "b": 2, "c": 2, "d": 1}), 2)
    assert [sorted({r.group for r in fold}) for fold in folds] == [["a", "d"], ["b", "c"]]
    rng = np.random.default_rng(0)
    sizes = {f"p{i:02d}": int(rng.integers(1, 9)) for i in range(23)}
    records = _records(sizes)
    for k in (2, 3, 5):
        folds = person_folds(records, k)
        people = [{r.group for r in fold} for fold in folds]
        assert all(not (a & b) for i, a in enumerate(people) for b in people[i + 1:]), "no person in two folds"
        assert sorted(r.path for fold in folds for r in fold) == sorted(r.path for r in records)
        groups = [r.group for r in records]
        oracle = sorted(len(test) for _, test in GroupKFold(k).split(np.zeros(len(records)), groups=groups))
        assert sorted(len(fold) for fold in folds) == oracle, "the same greedy balance as scikit-learn's"
    with pytest.raises(CourseError, match="folds"):
        person_folds(records, 1)
    with pytest.raises(CourseError, match="folds"):
        person_folds(_records({"a": 1, "b": 1}), 3)


def test_each_fold_scores_its_own_people_once_and_validates_on_the_next():
    folds = [[SimpleNamespace(path=f"{k}.mp4", group=str(k))] for k in range(3)]
    split = fold_splits(folds, 2)
    assert [r.path for r in split["test"]] == ["2.mp4"] and [r.path for r in split["val"]] == ["0.mp4"]
    assert [r.path for r in split["train"]] == ["1.mp4"]
    assert sorted(r.path for k in range(3) for r in fold_splits(folds, k)["test"]) == ["0.mp4", "1.mp4", "2.mp4"]
    with pytest.raises(CourseError, match="fold 3"):
        fold_splits(folds, 3)


def _benchmark(root: Path, people: dict[str, str]) -> Path:
    """A mini-forensics manifest over empty video files: person -> split, a real and a fake clip each."""
    clips = []
    for person, split in people.items():
        for label, method in ((0, "real"), (1, "FaceSwap")):
            clip_id = f"{method}-{person}"
            (root / "videos" / split).mkdir(parents=True, exist_ok=True)
            (root / "truth").mkdir(exist_ok=True)
            (root / "videos" / split / f"{clip_id}.mp4").write_bytes(b"")
            clips.append({"file": f"videos/{split}/{clip_id}.mp4", "clip_id": clip_id, "label": label,
                          "method": method, "identity": person, "group": person, "split": split,
                          "n_frames": 8, "size": 64, "heart_rate_bpm": None, "blink_times_s": [],
                          "truth": f"truth/{clip_id}.npz"})
    (root / "manifest.json").write_text(json.dumps({"name": "mini-forensics", "version": 1, "seed": 0,
                                                    "fps": 25.0, "clips": clips}))
    return root


def test_a_fold_benchmark_reassigns_splits_and_keeps_the_face_cache_names(tmp_path):
    data_root = _benchmark(tmp_path / "data" / "mini-forensics",
                           {"p1": "train", "p2": "train", "p3": "val", "p4": "test"})
    records = load_synthetic(data_root)
    by_person = {p: [r for r in records if r.group == p] for p in ("p1", "p2", "p3", "p4")}
    fold_root = write_split_benchmark(data_root, tmp_path / "fold0" / "mini-forensics",
                                      {"train": by_person["p3"], "val": by_person["p1"], "test": by_person["p2"]})
    fold = load_synthetic(fold_root)
    assert {(r.group, r.split) for r in fold} == {("p3", "train"), ("p1", "val"), ("p2", "test")}
    assert len(fold) == 6, "the original test person is not in any fold"
    original = {r.extra["clip_id"]: record_id(r) for r in records}
    assert all(record_id(r) == original[r.extra["clip_id"]] for r in fold), "the same face-cache files"


def _entry(raw, status="ok"):
    return {"name": "d", "status": status, "raw_video_score": raw, "video_score": raw}


def test_out_of_fold_calibration_leaves_out_failed_entries_and_an_experts_other_fakes():
    raw = [0.2, 0.35, 0.3, 0.6, 0.7, 0.9]
    labels = [0, 0, 1, 0, 1, 1]
    methods = ["real", "real", "FaceSwap", "real", "FaceSwap", "FaceSwap"]
    entries = [_entry(r) for r in raw] + [_entry(0.99), _entry(None, "error"), None]
    fitted = out_of_fold_calibration(entries, labels + [1, 1, 0], methods + ["GANUpsample", "FaceSwap", "real"],
                                     sees=("FaceSwap",))
    assert fitted.n_videos == 6, "the GANUpsample fake, the failed entry and the missing one are left out"
    expected = fit_platt(raw, labels)
    assert fitted.method == "platt" and (fitted.a, fitted.b) == pytest.approx((expected.a, expected.b))
    # a checkpoint calibrated two-sided is refitted two-sided
    two = out_of_fold_calibration(entries, labels + [1, 1, 0], methods + ["GANUpsample", "FaceSwap", "real"],
                                  sees=("FaceSwap",), method="two-sided")
    expected = fit_two_sided(raw, labels)
    assert (two.a, two.b, two.a_below) == pytest.approx((expected.a, expected.b, expected.a_below))
    every = out_of_fold_calibration(entries, labels + [1, 1, 0], methods + ["GANUpsample", "FaceSwap", "real"])
    assert every.n_videos == 7, "without sees, every fake counts"


def test_recalibrated_entry_worked_by_hand():
    entry = {"name": "d", "status": "ok", "raw_video_score": 0.75, "video_score": 0.6, "verdict": "FAKE"}
    doubled = recalibrated(entry, Calibration(2.0, 0.0, 10))  # logit(0.75) = ln 3; sigmoid(2 ln 3) = 9 / 10
    assert doubled["video_score"] == pytest.approx(0.9) and doubled["verdict"] == "FAKE"
    lowered = recalibrated(entry, Calibration(1.0, -np.log(3) - np.log(2), 10))  # odds 3 / 6 = 1/2 -> 1/3
    assert lowered["video_score"] == pytest.approx(1 / 3) and lowered["verdict"] == "REAL"
    assert entry["video_score"] == 0.6, "the original entry is left as it was"
    failed = {"name": "d", "status": "error", "raw_video_score": None, "video_score": None}
    assert recalibrated(failed, Calibration(2.0, 0.0, 10)) == failed


class _FoldDetector:
    """Stands for a loaded fold checkpoint: its path is its SHA-256."""

    def __init__(self, checkpoint):
        self.checkpoint = str(checkpoint)

    def describe(self):
        return {"sha256": self.checkpoint, "name": Path(self.checkpoint).stem}


def test_cross_fit_scores_every_train_and_val_video_once_by_a_model_blind_to_its_person(tmp_path, monkeypatch):
    from common.tools import compare, detect

    people = {f"p{i}": "train" for i in range(6)} | {"p6": "val", "p7": "val", "p8": "test"}
    data_root = _benchmark(tmp_path / "data" / "mini-forensics", people)
    trained, scored_models = {}, []

    def fake_train(model, fold_root, fold_dir, **kwargs):  # remembers which people each fold model saw
        seen = {r.group for r in load_synthetic(fold_root) if r.split in ("train", "val")}
        checkpoint = fold_dir / f"{model}.pt"
        trained[str(checkpoint)] = seen
        return checkpoint, 0.0

    def fake_score(detectors, records, **kwargs):
        scored_models.extend(d.describe()["name"] for d in detectors)
        return [{"video": str(r.path), "label": r.label, "method": r.method, "group": r.group,
                 "entries": [{"name": d.describe()["name"], "sha256": d.checkpoint, "status": "ok",
                              "raw_video_score": 0.5, "seen": sorted(trained[d.checkpoint])} for d in detectors]}
                for r in records]

    monkeypatch.setattr(compare, "train_or_reuse", fake_train)
    monkeypatch.setattr(compare, "score_videos", fake_score)
    monkeypatch.setattr(detect, "load_detectors", lambda checkpoints, device: [_FoldDetector(c) for c in checkpoints])
    rows = compare.cross_fit_scores(["baseline"], data_root, tmp_path / "out", 4, device="cpu", seed=0, quiet=True,
                                    detect_every=8, specialists=False, reuse=False, tree="solutions")
    scored = sorted(Path(row["video"]).name for row in rows)
    expected = sorted(f"{m}-p{i}.mp4" for i in range(8) for m in ("real", "FaceSwap"))
    assert scored == expected, "every train and val video once, no test video"
    assert all(row["group"] not in row["entries"][0]["seen"] for row in rows), "never by a model that saw the person"
    assert sorted({row["fold"] for row in rows}) == [0, 1, 2, 3]
    assert all(f"fold{row['fold']}" in row["entries"][0]["sha256"] for row in rows), "scored by its own fold's model"
    assert (tmp_path / "out" / "cross_fit" / "scores.json").is_file()
    scored_models.clear()
    again = compare.cross_fit_scores(["baseline"], data_root, tmp_path / "out", 4, device="cpu", seed=0, quiet=True,
                                     detect_every=8, specialists=False, reuse=True, tree="solutions")
    assert [row["video"] for row in again] == [row["video"] for row in rows], "reused as saved"
    assert scored_models == [], "nothing scored again"
    more = compare.cross_fit_scores(["baseline", "checkerboard"], data_root, tmp_path / "out", 4, device="cpu", seed=0,
                                    quiet=True, detect_every=8, specialists=False, reuse=True, tree="solutions")
    assert set(scored_models) == {"checkerboard"}, "a detector added to the run is the only one scored"
    assert [row["entries"][0] for row in more] == [row["entries"][0] for row in rows], "baseline's entries reused"
    assert all(row["group"] not in row["entries"][1]["seen"] for row in more)


def test_a_copied_run_folder_keeps_its_cached_fold_scores(tmp_path, monkeypatch):
    import shutil

    from common.tools import compare, detect
    from common.tools.compare import fold_video_path

    assert fold_video_path("runs/c34/cross_fit/fold0/mini-forensics/videos/train/a.mp4", Path("copy/cross_fit")) == \
        str(Path("copy/cross_fit/fold0/mini-forensics/videos/train/a.mp4"))
    assert fold_video_path("data/videos/a.mp4", Path("copy/cross_fit")) == "data/videos/a.mp4"
    people = {f"p{i}": "train" for i in range(6)} | {"p6": "val", "p7": "val", "p8": "test"}
    data_root = _benchmark(tmp_path / "data" / "mini-forensics", people)
    scored_models = []

    def fake_score(detectors, records, **kwargs):  # a checkpoint's hash is its model and fold, wherever it lies
        scored_models.extend(d.describe()["name"] for d in detectors)
        return [{"video": str(r.path), "label": r.label, "method": r.method, "group": r.group,
                 "entries": [{"name": d.describe()["name"], "sha256": d.describe()["sha256"], "status": "ok",
                              "raw_video_score": 0.5} for d in detectors]} for r in records]

    class _Detector(_FoldDetector):
        def describe(self):
            return {"sha256": "/".join(Path(self.checkpoint).parts[-2:]), "name": Path(self.checkpoint).stem}

    monkeypatch.setattr(compare, "train_or_reuse", lambda model, fold_root, fold_dir, **kwargs: (fold_dir / f"{model}.pt", 0.0))
    monkeypatch.setattr(compare, "score_videos", fake_score)
    monkeypatch.setattr(detect, "load_detectors", lambda checkpoints, device: [_Detector(c) for c in checkpoints])
    settings = dict(device="cpu", seed=0, quiet=True, detect_every=8, specialists=False, tree="solutions")
    rows = compare.cross_fit_scores(["baseline"], data_root, tmp_path / "out", 3, reuse=False, **settings)
    shutil.copytree(tmp_path / "out", tmp_path / "copy", symlinks=True)
    scored_models.clear()
    again = compare.cross_fit_scores(["baseline"], data_root, tmp_path / "copy", 3, reuse=True, **settings)
    assert [row["video"] for row in again] == [row["video"].replace(str(tmp_path / "out"), str(tmp_path / "copy"))
                                               for row in rows], "the saved rows re-rooted in the copy"
    more = compare.cross_fit_scores(["baseline", "checkerboard"], data_root, tmp_path / "copy", 3, reuse=True,
                                    **settings)
    assert scored_models == ["checkerboard"] * 3, "in the copy, only the added detector is scored, once a fold"
    assert [row["entries"][0] for row in more] == [row["entries"][0] for row in rows], "baseline's entries reused"


def test_the_cross_validated_fusion_never_fits_on_the_fold_it_fuses(monkeypatch):
    from common.tools import compare
    import common.fusion

    fitted_on = []

    class _Fusion:
        reference = None

        def __init__(self, folds):
            self.folds = folds

        def fuse(self, entries):
            return {"video_score": 0.25 * len(self.folds)}

    def fake_fit(video_entries, labels, people):
        folds = {entries[0]["fold"] for entries in video_entries}
        fitted_on.append(folds)
        assert [entries[0]["fold"] for entries in video_entries] == [int(p[1:]) for p in people], "each video's person"
        return _Fusion(folds)

    monkeypatch.setattr(common.fusion, "fit_fusion", fake_fit)
    rows = [{"fold": k, "label": k % 2, "group": f"p{k}", "entries": [{"fold": k}]} for k in (0, 1, 2, 0, 1, 2)]
    fused = compare.cross_validated_fusion(rows)
    assert fitted_on == [{1, 2}, {0, 2}, {0, 1}], "each fold fused by a fusion fitted on the others only"
    assert fused == [0.5] * 6


def test_a_bad_cross_fit_is_refused_before_anything_is_written(tmp_path):
    from common.tools.compare import main

    with pytest.raises(CourseError, match="--cross-fit"):
        main(["--cross-fit", "1", "--output-dir", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()


def test_a_recalibrated_checkpoint_changes_only_its_calibration(tmp_path):
    import torch

    from common.checkpoint import load_checkpoint, save_checkpoint
    from common.cross_fit import write_recalibrated_checkpoint
    from common.models import build_model

    torch.manual_seed(0)
    model = build_model("checkerboard")
    source = save_checkpoint(tmp_path / "checkerboard.pt", model, architecture="checkerboard", model_config={},
                             threshold=0.4, extra={"calibration": {"method": "platt", "a": 1.0, "b": 0.0,
                                                                    "n_videos": 20, "aggregation": "mean"},
                                                   "kind": "spectral"})
    written = write_recalibrated_checkpoint(source, tmp_path / "cross_fit" / "checkerboard.pt",
                                            Calibration(2.5, -0.5, 600), "out-of-fold scores of 87 people (5 folds)")
    before, after = load_checkpoint(source), load_checkpoint(written)
    assert after.extra["calibration"]["a"] == 2.5 and after.extra["calibration"]["n_videos"] == 600
    assert after.extra["calibration"]["fitted_on"].startswith("out-of-fold")
    assert Calibration.from_dict(after.extra["calibration"]).apply(0.5) == pytest.approx(1 / (1 + np.exp(0.5)))
    assert before.extra["calibration"]["a"] == 1.0, "the source is left as it was"
    assert after.threshold == 0.4 and after.extra["kind"] == "spectral"
    assert all(torch.equal(before.state_dict[k], after.state_dict[k]) for k in before.state_dict)


def test_the_cross_validated_fusion_with_reference_footage_fits_on_the_other_folds_and_refers_within_the_fold():
    """Each person is in one fold: a video's references are the other real videos of its person (all in its
    fold), and the reference mode that corrects them is fitted on the other folds only."""
    from common.fusion import fit_fusion
    from common.tools import compare
    from tests.foundation.test_fusion import people_videos, two_entries

    x, labels, people = people_videos(30, seed=4)
    entries = two_entries(x)
    fold_of = {person: int(person[1:]) % 3 for person in people}
    rows = [{"fold": fold_of[p], "label": int(y), "group": p, "method": "FaceSwap" if y else "real", "entries": e}
            for e, y, p in zip(entries, labels, people)]
    fused, singles, referenced = compare.cross_validated_fusions(rows)
    assert set(singles) == {"a + reference", "b + reference"}
    for fold in range(3):
        others = [row for row in rows if row["fold"] != fold]
        fusion = fit_fusion([row["entries"] for row in others], [row["label"] for row in others],
                            people=[row["group"] for row in others])
        for v, row in enumerate(rows):
            if row["fold"] != fold:
                continue
            references = [other["entries"] for j, other in enumerate(rows)
                          if j != v and other["label"] == 0 and other["group"] == row["group"]]
            assert referenced[v] == pytest.approx(fusion.fuse(row["entries"], references)["video_score"])
            assert fused[v] == pytest.approx(fusion.fuse(row["entries"])["video_score"])
