"""compare_detectors.py's table (common.tools.compare): AUCs per manipulation against scikit-learn,
a detector that could not run counted as no evidence, and one-line errors for unknown models."""
import numpy as np
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score

from common.errors import CourseError
from common.tools.compare import format_markdown, main, parse_models, share_face_cache, table_row
from tests.tolerances import GAP_RESAMPLING_ATOL


def test_unknown_models_are_refused_in_one_line():
    assert parse_models("baseline, temporal_features") == ["baseline", "temporal_features"]
    with pytest.raises(CourseError, match="xception_huge"):
        parse_models("baseline,xception_huge")


def test_row_against_scikit_learn_with_a_video_the_detector_could_not_score():
    rows = [{"label": 0, "method": "real"}, {"label": 0, "method": "real"}, {"label": 0, "method": "real"},
            {"label": 1, "method": "FaceSwap"}, {"label": 1, "method": "FaceSwap"},
            {"label": 1, "method": "TemporalFlicker"}, {"label": 1, "method": "TemporalFlicker"}]
    scores = [0.1, 0.6, None, 0.9, 0.7, 0.2, None]
    row = table_row("d", scores, rows)
    used = [0.1, 0.6, 0.5, 0.9, 0.7, 0.2, 0.5]
    assert row["could_not_run"] == 2
    assert row["all_fakes_auc"] == pytest.approx(roc_auc_score([r["label"] for r in rows], used))
    assert row["per_method"]["FaceSwap"] == pytest.approx(roc_auc_score([0, 0, 0, 1, 1], used[:5]))
    assert row["per_method"]["TemporalFlicker"] == pytest.approx(roc_auc_score([0, 0, 0, 1, 1], used[:3] + used[5:]))
    assert row["accuracy_at_0.5"] == pytest.approx(np.mean((np.array(used) >= 0.5) == [r["label"] for r in rows]))
    assert row["accuracy_best_threshold"] >= row["accuracy_at_0.5"]
    assert row["brier"] == pytest.approx(brier_score_loss([r["label"] for r in rows], used))
    table = format_markdown([row], ["FaceSwap", "TemporalFlicker"], {"d": 12.4})
    assert "| d | 1.000 | 0.417 |" in table and "| 2 | 12 |" in table


def test_training_runs_share_one_face_cache(tmp_path):
    share_face_cache(tmp_path, tmp_path / "pulse")
    share_face_cache(tmp_path, tmp_path / "blink")
    (tmp_path / "pulse" / "face_cache" / "faces_96px").mkdir()
    assert (tmp_path / "blink" / "face_cache" / "faces_96px").is_dir(), "what one run caches, the next finds"
    share_face_cache(tmp_path, tmp_path / "pulse")  # a second call leaves the link as it is


def test_a_bad_detect_every_is_refused_before_anything_is_written(tmp_path, capsys):
    with pytest.raises(CourseError, match="--detect-every"):
        main(["--detect-every", "0", "--output-dir", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()


class _Detector:
    def __init__(self, sha256):
        self.sha256 = sha256

    def describe(self):
        return {"name": f"d{self.sha256}", "sha256": self.sha256}


def test_saved_scores_are_reused_per_checkpoint_and_only_new_detectors_run(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from common.tools import compare

    runs = []

    def fake_score_videos(detectors, records, **kwargs):  # what analyse_video would report, one entry each
        runs.append(([d.sha256 for d in detectors], [r.path for r in records]))
        return [{"video": str(r.path), "label": r.label, "method": r.method,
                 "entries": [{"name": f"d{d.sha256}", "sha256": d.sha256, "video_score": 0.25} for d in detectors]}
                for r in records]

    monkeypatch.setattr(compare, "score_videos", fake_score_videos)
    splits = {"val": [SimpleNamespace(path="v.mp4", label=1, method="FaceSwap", group="p1")],
              "test": [SimpleNamespace(path="t.mp4", label=0, method="real", group="p2")]}
    path = tmp_path / "scores.json"
    assert compare.load_scores(path, 8) == {}, "nothing saved yet"
    first = compare.score_or_reuse([_Detector("x")], splits, {}, progress=False, tree="solutions", detect_every=8)
    compare.save_scores(path, [_Detector("x")], 8, first)
    assert runs == [(["x"], ["v.mp4"]), (["x"], ["t.mp4"])]
    runs.clear()
    both = compare.score_or_reuse([_Detector("x"), _Detector("y")], splits, compare.load_scores(path, 8),
                                  progress=False, tree="solutions", detect_every=8)
    assert runs == [(["y"], ["v.mp4"]), (["y"], ["t.mp4"])], "x was scored before: only y runs"
    assert [e["sha256"] for e in both["val"][0]["entries"]] == ["x", "y"], "entries in the detectors' order"
    assert both["val"][0]["entries"][0] == first["val"][0]["entries"][0]
    assert compare.load_scores(path, 1) == {}, "other face tracks: score again"
    runs.clear()
    compare.score_or_reuse([_Detector("x")], splits, compare.load_scores(path, 8), progress=False,
                           tree="solutions", detect_every=8)
    assert runs == [], "everything reused: nothing runs"


def test_loaded_checkpoints_are_checked_in_one_line(tmp_path):
    from common.tools.compare import parse_loads

    from common import models
    from common.checkpoint import save_checkpoint

    checkpoint, pulse = tmp_path / "bio.pt", tmp_path / "pulse.pt"
    for path, name in ((checkpoint, "biological"), (pulse, "pulse")):
        save_checkpoint(path, models.build_model(name), architecture=name, model_config=models.model_config(name))
    assert parse_loads([f"biological={checkpoint}"], ["baseline", "biological"]) == {"biological": checkpoint}
    for bad, message in ((f"pulse={checkpoint}", "MODEL one of --models"), ("biological", "MODEL=CHECKPOINT"),
                         (f"biological={tmp_path / 'missing.pt'}", "no such checkpoint"),
                         (f"biological={pulse}", "the checkpoint holds pulse, not biological")):
        with pytest.raises(CourseError, match=message):
            parse_loads([bad], ["baseline", "biological"])


def test_specialists_train_on_the_fakes_their_cue_can_see(tmp_path, monkeypatch):
    from common.synthetic.manipulations import FAKE_METHODS
    from common.tools import compare

    calls = {}
    monkeypatch.setattr(compare, "train_with_recipe",
                        lambda model, *args, extra=(), **kwargs: calls.__setitem__(model, extra))
    compare.train_or_reuse("biological", tmp_path / "data", tmp_path, device="cpu", seed=0, reuse=False,
                           quiet=True, detect_every=8, specialist=True)
    compare.train_or_reuse("baseline", tmp_path / "data", tmp_path, device="cpu", seed=0, reuse=False,
                           quiet=True, detect_every=8)
    assert calls["biological"] == ("--detect-every", "8", "--train-methods", "Physiological")
    assert calls["baseline"] == ("--detect-every", "8"), "without --specialists: every fake"
    for model, recipe in compare.RECIPES.items():
        assert recipe.sees and set(recipe.sees) <= set(FAKE_METHODS), model


def test_every_recipe_is_a_registered_model_of_its_phase_with_flags_its_train_py_accepts():
    from common.registry import models_of_phase
    from common.tools import compare, train

    for model, recipe in compare.RECIPES.items():
        assert model in models_of_phase(recipe.phase), f"{model} is not registered by {recipe.phase}"
        args = train.build_parser(recipe.phase).parse_args(["--dataset", "synthetic", "--model", model,
                                                            *recipe.flags])
        assert args.model == model and args.phase == recipe.phase


def test_person_offsets_worked_by_hand_from_real_videos_only():
    from common.tools.compare import format_person_offsets, person_offsets

    def row(label, group, score, status="ok"):
        return {"label": label, "group": group, "entries": [{"name": "d", "status": status, "video_score": score}]}

    rows = [row(0, "A", 0.9), row(0, "A", 0.9), row(0, "B", 0.5),
            row(1, "A", 0.99),                     # a FAKE video: not a false alarm, left out
            row(0, "C", None, status="error")]     # could not run: no person C
    logit = np.log(0.9 / 0.1)
    offsets = person_offsets(rows, ["d"])
    assert offsets["d"] == pytest.approx({"A": logit - 2 * logit / 3, "B": -2 * logit / 3})
    assert "| d | +0.7 | -1.5 | 1.00 |" in format_person_offsets(offsets, {"d": 1.0})


def test_between_person_share_worked_by_hand():
    from common.tools.compare import between_person_share

    def row(group, logit):
        return {"label": 0, "group": group, "entries": [{"name": "d", "status": "ok",
                                                         "video_score": 1 / (1 + np.exp(-logit))}]}

    rows = [row("A", 1.0), row("A", 3.0), row("B", 5.0), row("B", 7.0)]
    assert between_person_share(rows, ["d"])["d"] == pytest.approx(16 / 20, abs=1e-9)
    same = [row("A", 1.0), row("A", 3.0), row("B", 1.0), row("B", 3.0)]
    assert between_person_share(same, ["d"])["d"] == pytest.approx(0.0, abs=1e-9), "equal people: no share"


def test_fusion_against_the_best_single_detector_worked_by_hand():
    from common.tools.compare import format_intervals, fusion_against_best

    def row(label, method, group, d1, d2):
        return {"label": label, "method": method, "group": group,
                "entries": [{"name": "d1", "status": "ok", "video_score": d1},
                            {"name": "d2", "status": "ok", "video_score": d2}]}

    rows = [row(0, "real", "A", 0.1, 0.5), row(0, "real", "B", 0.2, 0.5), row(0, "real", "C", 0.3, 0.5),
            row(1, "FaceSwap", "A", 0.9, 0.5), row(1, "FaceSwap", "B", 0.25, 0.5)]
    table = [table_row("d1", [r["entries"][0]["video_score"] for r in rows], rows),
             table_row("d2", [r["entries"][1]["video_score"] for r in rows], rows)]
    # d1 orders 5 of the 6 (fake, real) pairs right (5/6); the fusion puts the second fake below every
    # real video (3/6): -1/3, and below d1 in every resample of the people, so the interval stays <= 0
    fused = [0.1, 0.2, 0.3, 0.9, 0.05]
    result = fusion_against_best(rows, fused, table, ["FaceSwap"], ["d1", "d2"])["FaceSwap"]
    assert result["best"] == "d1" and result["people"] == 3
    assert result["difference"] == pytest.approx(0.5 - 5 / 6)
    assert result["low"] <= result["difference"] <= result["high"] <= 0.0
    same = fusion_against_best(rows, [r["entries"][0]["video_score"] for r in rows], table, ["FaceSwap"],
                               ["d1", "d2"])["FaceSwap"]
    assert same["difference"] == same["low"] == same["high"] == 0.0, "the best detector itself: no difference"
    markdown = format_intervals(table, {"FaceSwap": result})
    assert "over the 3 people" in markdown and "| FaceSwap | d1 | -0.333 |" in markdown


def _verdict_rows(calibrated, raw, labels, methods, groups, status=None):
    status = status or ["ok"] * len(labels)
    return [{"label": y, "method": m, "group": g,
             "entries": [{"name": "baseline", "status": s, "video_score": p, "raw_video_score": r}]}
            for p, r, y, m, g, s in zip(calibrated, raw, labels, methods, groups, status)]


def test_verdict_bars_worked_by_hand_on_an_experts_own_videos():
    """Issue 17's bars on the real videos and the expert's own fakes: a TemporalFlicker fake (not among
    the baseline's manipulations) and a video it could not run on are left out; the rest is the
    docstring's example: 2 of 4 right at a calibrated 0.5, 4 of 4 at a raw 0.5, 3 of 4 at the best
    threshold, ECE (0.1 + 0.6 + 0.2 + 0.6) / 4."""
    from common.tools.compare import format_verdict_table, verdict_table

    rows = _verdict_rows([0.9, 0.4, 0.2, 0.6, 0.99, 0.7], [0.8, 0.6, 0.4, 0.3, 0.9, 0.9], [1, 1, 0, 0, 1, 0],
                         ["FaceSwap", "Deepfake", "real", "real", "TemporalFlicker", "real"], list("ABCDEF"),
                         ["ok"] * 5 + ["error"])
    row, = verdict_table(rows, ["baseline"], specialists=True)
    assert (row["videos"], row["people"]) == (4, 4)
    assert row["auc"] == pytest.approx(roc_auc_score([1, 1, 0, 0], [0.9, 0.4, 0.2, 0.6]))
    assert (row["accuracy_stored"], row["accuracy_raw_0.5"], row["accuracy_best"]) == (0.5, 1.0, 0.75)
    assert row["ece"] == pytest.approx(0.375)
    assert row["misses"] == ["0.500 below a raw 0.5", "0.250 from the oracle", "ECE above 0.05"]
    everything, = verdict_table(rows, ["baseline"], specialists=False)
    assert everything["videos"] == 5, "a generalist is judged on every fake"
    never = _verdict_rows([0.5], [0.5], [0], ["real"], ["A"], ["error"])
    nothing, = verdict_table(never, ["baseline"], specialists=True)
    assert nothing["misses"] == ["it ran on none of these videos"], "a detector that never ran is reported"
    assert "| baseline | 0 | 0 | - | - | - | - | - | - | - | it ran on none of these videos |" in format_verdict_table(
        [nothing], "t")
    assert "| baseline | 4 | 4 | 0.750 | 0.500 | 1.000 | 0.750 | 0.375 |" in format_verdict_table([row], "t")
    # By chance alone: the stored 0.5 and a raw 0.5 disagree on two videos, the FAKE at 0.4 (raw 0.6) and
    # the REAL at 0.6 (raw 0.3); each moves the difference by +1 or -1 video, and it is below 0 only when
    # both go to the raw 0.5: the first drawn FAKE (0.4) and the second REAL (0.4), 0.16 of test sets.
    assert row["bars_if_calibrated"]["below_raw"] == pytest.approx(0.16, abs=GAP_RESAMPLING_ATOL)
    assert "Bars missed: 3; a perfectly calibrated detector would miss" in format_verdict_table([row], "t")


def test_verdict_bars_met_and_the_ece_of_as_many_people_drawn_from_a_pool():
    """A detector right and sure about everyone meets every bar; with a pool of people the row gives the
    ECE of as many people drawn from it: here 2 of the pool's 3 people (one video each, FAKE at 0.9, REAL
    at 0.1, REAL at 0.9: the pairs' ECEs are 0.1, 0.4 and 0.5, common.calibration's example)."""
    from common.tools.compare import format_verdict_table, verdict_table

    rows = _verdict_rows([0.999, 0.001], [0.9, 0.1], [1, 0], ["FaceSwap", "real"], ["A", "B"])
    pool = _verdict_rows([0.9, 0.1, 0.9], [0.9, 0.1, 0.9], [1, 0, 0], ["FaceSwap", "real", "real"], ["P", "Q", "R"])
    row, = verdict_table(rows, ["baseline"], specialists=True, pool_rows=pool)
    assert row["misses"] == [] and row["ece"] == pytest.approx(0.001)
    drawn = row["ece_of_people_drawn"]
    assert drawn["pool_people"] == 3
    assert drawn["p5"] == pytest.approx(0.1) and drawn["p95"] == pytest.approx(0.5) and 0.1 < drawn["mean"] < 0.5
    assert drawn["share_within_bar"] == 0.0, "no pair of the pool has an ECE of 0.05 or less"
    table = format_verdict_table([row], "title")
    assert table.startswith("title") and "| met |" in table and ", 0.00 |" in table
    assert "Bars missed: 0; a perfectly calibrated detector would miss 0.0 of them" in table, \
        "a detector sure and right about everyone leaves chance nothing to miss"


def test_scores_with_reference_footage_are_the_fusions_own_per_video_verdicts_never_self_referenced():
    """The batch path of compare_detectors.py (each video against the other real videos of its person in the
    set) against the per-video path of multi_modal_detect.py --reference (LateFusion.fuse with references),
    whose arithmetic tests/foundation/test_fusion.py works by hand."""
    from scipy.special import expit

    from common.fusion import fit_fusion
    from common.tools.compare import reference_rows, reference_scores
    from tests.foundation.test_fusion import people_videos, two_entries

    x, labels, people = people_videos(40, seed=0)
    fusion = fit_fusion(two_entries(x), labels, people=people)
    x, labels, people = people_videos(8, seed=3)
    rows = [{"label": int(y), "group": p, "method": "FaceSwap" if y else "real", "entries": e}
            for y, p, e in zip(labels, people, two_entries(x))]
    singles, fused = reference_scores(rows, fusion)
    for v, row in enumerate(rows):
        references = [other["entries"] for j, other in enumerate(rows)
                      if j != v and other["label"] == 0 and other["group"] == row["group"]]
        by_hand = fusion.fuse(row["entries"], references)
        assert fused[v] == pytest.approx(by_hand["video_score"])
        assert singles["a + reference"][v] == pytest.approx(float(expit(by_hand["contributions"][0]["log_odds"])))
    plain = [table_row(name, [float(expit(v)) for v in x[:, d]], rows) for d, name in enumerate("ab")]
    section = reference_rows(rows, ["a", "b"], singles, fused, ["FaceSwap"], plain)
    assert [row["detector"] for row in section["rows"]] == ["a + reference", "b + reference", "fusion + reference"]
    assert section["people_with_references"] == 8
    assert section["against_best_plain"]["FaceSwap"]["best"] in ("a", "b")
