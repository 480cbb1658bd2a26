"""cross_dataset.py (common.tools.cross_dataset): arguments, the benchmarks' face pools, the AUC
table worked by hand, and one-line errors before anything is written. The measured table itself
is in the guide ("A second dataset"); a full run trains six detectors (about half an hour)."""
from __future__ import annotations

from pathlib import Path

import pytest

from common.errors import CourseError, run_cli
from common.synthetic import IDENTITIES, get_variant

pytestmark = pytest.mark.foundation


def test_detectors_and_directions_are_checked():
    from common.tools.cross_dataset import parse_detectors, parse_directions

    assert parse_detectors("baseline, baseline+sbi,baseline") == ["baseline", "baseline+sbi"]
    with pytest.raises(CourseError, match="transfer"):
        parse_detectors("transfer")
    with pytest.raises(CourseError, match="spectrum_logistic\\+sbi"):
        parse_detectors("spectrum_logistic+sbi")
    assert parse_directions("ff:celeb,celeb:ff,ff:celeb") == [("ff", "celeb"), ("celeb", "ff")]
    for bad in ("ff:ff", "ff", "ff:dfdc", ""):
        with pytest.raises(CourseError, match="--directions"):
            parse_directions(bad)


def test_the_ff_benchmark_gives_up_every_celeb_face():
    from common.tools.cross_dataset import benchmark_pool

    pool = benchmark_pool("ff")
    assert len(pool) == 52 and not set(pool) & set(get_variant("celeb").identities)
    assert set(pool) | set(get_variant("celeb").identities) == set(IDENTITIES)
    assert benchmark_pool("celeb") is None  # its own 50 faces


def test_video_aucs_by_hand():
    from common.tools.cross_dataset import video_aucs

    videos = [{"label": 0, "score": 0.1, "method": "real"}, {"label": 0, "score": 0.4, "method": "real"},
              {"label": 1, "score": 0.3, "method": "FaceSwap"}, {"label": 1, "score": 0.9, "method": "FaceSwap"},
              {"label": 1, "score": 0.8, "method": "Deepfake"}]
    # all fakes: of the 2 x 3 (real, fake) pairs, only (0.4, 0.3) is misordered -> 5/6;
    # FaceSwap: 3 of 4 pairs ordered; Deepfake 2 of 2; GANUpsample has no fake video.
    assert video_aucs(videos, ["FaceSwap", "Deepfake", "GANUpsample"]) == {
        "all fakes": round(5 / 6, 3), "FaceSwap": 0.75, "Deepfake": 1.0, "GANUpsample": None}


def test_markdown_has_one_row_per_direction_and_one_in_dataset_row_per_training():
    from common.tools.cross_dataset import format_markdown

    aucs = lambda x: {"all fakes": x, "FaceSwap": x, "Deepfake": None}  # noqa: E731
    result = {"in_dataset": aucs(0.99), "cross_test_split": aucs(0.8), "cross_all": aucs(0.75)}
    rows = [{"detector": "baseline", "train": "ff", "test": "celeb", "result": result}]
    table = format_markdown(rows, ["FaceSwap", "Deepfake"])
    assert "| baseline | ff -> celeb | 0.990 | 0.800 | 0.750 | 0.750 | - |" in table
    assert table.splitlines()[-1] == "| baseline | ff | 0.990 | 0.990 | - |"
    del result["cross_all"]  # only the other variant's test split was scored: per method from it
    table = format_markdown(rows, ["FaceSwap", "Deepfake"])
    assert "| baseline | ff -> celeb | 0.990 | 0.800 | 0.800 | - |" in table and "all videos" not in table


def test_bad_arguments_are_one_line_and_write_nothing(tmp_path, capsys):
    from common.tools.cross_dataset import main

    out = tmp_path / "cross"
    for argv in (["--models", "nope"], ["--directions", "ff:ff"], ["--methods", "FaceSwap"], ["--clips", "3"],
                 ["--detect-every", "0"], ["--models", "checkerboard", "--fusion"]):
        with pytest.raises(SystemExit) as exit_info:
            run_cli(main, argv + ["--output-dir", str(out)])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1, err
    assert not out.exists()


def test_the_fusion_is_fitted_on_the_training_variants_validation_videos_only(tmp_path, monkeypatch):
    """fuse_and_score's wiring, with the scoring replaced: one detector that separates A's validation
    videos is weighted by the fusion fitted there, and the fused scores of A's test split and of B's
    are ranked as scikit-learn ranks them; B's labels never reach the fit."""
    import json
    from types import SimpleNamespace

    import numpy as np
    from sklearn.metrics import roc_auc_score

    from common import experiment, fusion
    from common.tools import compare, cross_dataset, detect

    def record(split, label, method, score):
        return SimpleNamespace(split=split, label=label, method=method, path=f"{split}-{score}.mp4", group=str(score),
                               score=score)

    own = [record("val", y, m, s) for y, m, s in [(0, "real", .1), (0, "real", .2), (0, "real", .3),
                                                   (1, "FaceSwap", .7), (1, "FaceSwap", .8), (1, "FaceSwap", .9)]]
    own += [record("test", y, m, s) for y, m, s in [(0, "real", .2), (1, "FaceSwap", .6), (1, "GANUpsample", .4)]]
    other = [record("test", y, m, s) for y, m, s in [(0, "real", .35), (0, "real", .5), (1, "FaceSwap", .45),
                                                     (1, "GANUpsample", .95)]] + [record("train", 1, "FaceSwap", .99)]
    roots = {"ff": tmp_path / "ff", "celeb": tmp_path / "celeb"}
    monkeypatch.setattr(experiment, "load_records", lambda kind, root: (None, own if root == roots["ff"] else other))
    monkeypatch.setattr(experiment, "split_for_training",
                        lambda records, seed: {s: [r for r in records if r.split == s] for s in ("train", "val", "test")})
    monkeypatch.setattr(detect, "load_detectors", lambda checkpoints, device: ["d"])

    def entries(r):
        return [{"name": "d", "kind": "frame", "architecture": "a", "sha256": "0", "status": "ok", "video_score": r.score}]

    tracked = []
    monkeypatch.setattr(compare, "score_videos", lambda detectors, records, **kw: tracked.append(kw["detect_every"])
                        or [{"label": r.label, "method": r.method, "group": r.group, "entries": entries(r)}
                            for r in records])
    fitted = []
    real_fit = fusion.fit_fusion
    monkeypatch.setattr(fusion, "fit_fusion", lambda e, labels: fitted.append(list(labels)) or real_fit(e, labels))

    result = cross_dataset.fuse_and_score(["baseline", "checkerboard"], "ff", "celeb", roots, tmp_path,
                                          ["FaceSwap", "GANUpsample"], device="cpu", seed=0, quiet=True, detect_every=4)
    assert fitted == [[0, 0, 0, 1, 1, 1]], "fitted once, on the training variant's validation videos"
    assert tracked == [4, 4, 4], "validation, test and the other variant tracked as in the detectors' training"
    model = fusion.load_fusion(tmp_path / "fusion__on_ff" / "fusion.json")
    assert model.kinds[0].slopes[0] > 0, "the FAKE videos score higher: a rising likelihood ratio"
    cross = [r for r in other if r.split == "test"]
    scores = [model.fuse(entries(r))["video_score"] for r in cross]
    assert result["n_cross_test"] == 4 and result["n_in_dataset"] == 3
    assert result["cross_test_split"]["all fakes"] == pytest.approx(
        round(roc_auc_score([r.label for r in cross], scores), 3))
    assert result["cross_test_split"]["GANUpsample"] == pytest.approx(1.0)
    assert np.isfinite(result["in_dataset"]["all fakes"])
    assert result["unreadable_videos"] == {"val": 0, "test": 0, "cross": 0}

    every = cross_dataset.fuse_and_score(["baseline", "checkerboard"], "ff", "celeb", roots, tmp_path,
                                         ["FaceSwap", "GANUpsample"], device="cpu", seed=0, quiet=True,
                                         cross_split="all")
    assert every["n_cross_all"] == 5 and every["n_cross_test"] == 4, "all of B, and its test split within it"
    assert every["cross_test_split"] == result["cross_test_split"]
    written = json.loads((tmp_path / "fusion__on_ff" / "scores_on_celeb.json").read_text())
    assert [v["label"] for v in written] == [r.label for r in other]
    np.testing.assert_allclose([v["score"] for v in written], [model.fuse(entries(r))["video_score"] for r in other])
    interval = every["cross_interval"]
    assert interval["people"] == 5 and interval["low"] <= roc_auc_score(
        [v["label"] for v in written], [v["score"] for v in written]) <= interval["high"]


def test_the_other_variant_is_scored_with_the_training_face_tracking_and_rescored_when_it_differs(
        tmp_path, monkeypatch):
    """train_and_score hands its --detect-every to evaluate.py, and --reuse keeps an evaluation only when
    it was tracked that way: faces found on keyframes jitter differently from faces found on every
    frame, and the clip detectors read that jitter (guide, "A second dataset")."""
    import json
    from types import SimpleNamespace

    from common import experiment
    from common.tools import cross_dataset, evaluate

    run_dir = tmp_path / "flow_statistics__on_ff"
    run_dir.mkdir()
    (run_dir / "flow_statistics.pt").write_bytes(b"trained")
    (run_dir / "train_report.json").write_text(json.dumps({"test": {"videos": []}}))
    calls = []

    def fake_evaluate(argv, phase):
        calls.append(argv[argv.index("--detect-every") + 1])
        out = Path(argv[argv.index("--output-dir") + 1])
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps({"detect_every": int(calls[-1]), "videos": []}))
        return 0

    monkeypatch.setattr(evaluate, "main", fake_evaluate)
    video = SimpleNamespace(split="test", path="v.mp4", method="real")
    monkeypatch.setattr(experiment, "load_records", lambda kind, root: (None, [video]))
    monkeypatch.setattr(cross_dataset, "video_aucs", lambda videos, methods: {})
    roots = {"ff": tmp_path / "ff", "celeb": tmp_path / "celeb"}

    def score(every):
        cross_dataset.train_and_score("flow_statistics", "ff", "celeb", roots, tmp_path, ["FaceSwap"], device="cpu",
                                      seed=0, quiet=True, reuse=True, cross_split="all", detect_every=every)

    score(4)
    score(4)
    score(1)
    assert calls == ["4", "1"], "scored with the given tracking; reused only when it was tracked the same way"
