"""Late fusion (common.fusion) around phase 5's tasks 5.15-5.16 (graded in tests/phase5/test_likelihood_ratio.py
and test_likelihood_mixture.py): log-odds worked by hand, each kind's prior, the mixture of the fitted kinds
against scipy's logsumexp, calibration on unseen videos, the report's parts adding up, missing detectors
explicit, and a fusion file that refuses other detectors. Needs the reference solutions (pytest --solutions)."""
import json
import math

import numpy as np
import pytest
from scipy.special import expit, logsumexp

from common.calibration import expected_calibration_error
from common.errors import CheckpointError, CourseError
from common.fusion import (FakeKind, fit_fusion, fit_kinds, load_fusion, log_odds_table, mean_fusion,
                           mixture_log_odds, save_fusion)
from tests.phase5.oracles import one_trace_each


def entry(name, score, status="ok", kind="frame", reason=None):
    return {"name": name, "kind": kind, "architecture": f"{name}_net", "sha256": name[0] * 64, "status": status,
            "video_score": score if status == "ok" else None, "reason": reason}


def test_log_odds_table_worked_by_hand_with_nan_where_a_detector_could_not_run():
    videos = [[entry("a", 0.9), entry("b", None, "could_not_run", reason="clip too short")],
              [entry("a", 0.5), entry("b", 0.1)], [entry("a", 1.0), entry("b", 0.0)]]
    table = log_odds_table(videos, ["a", "b"])
    np.testing.assert_allclose(table[:2], [[math.log(9), np.nan], [0.0, -math.log(9)]], rtol=1e-12)
    # 0 and 1 are clipped to 1e-4 and 1 - 1e-4 first
    np.testing.assert_allclose(table[2], [math.log(9999), -math.log(9999)], rtol=1e-12)


def test_the_mixture_is_scipys_logsumexp_of_prior_plus_summed_log_likelihood_ratios():
    # kind a claimed by detector 0, kind b by detector 1, which read only 2 of the 40 validation real videos:
    # b's prior is log(10/40) where it could not run and log(10/2) where it could
    kinds = [FakeKind("a", 0, 10, math.log(0.25), math.log(0.25), [1.0, 0.0], [0.0, 0.0]),
             FakeKind("b", 1, 10, math.log(0.25), math.log(5.0), [0.0, 2.0], [0.5, -1.0])]
    # video (3, -1): kind a 3 + 0 = 3; kind b 0.5 + (-2 - 1) = -2.5; b could not run on (3, nan): 0.5 + 0
    expected = [logsumexp([math.log(0.25) + 3, math.log(5.0) - 2.5]),
                logsumexp([math.log(0.25) + 3, math.log(0.25) + 0.5])]
    np.testing.assert_allclose(mixture_log_odds(kinds, np.array([[3.0, -1.0], [3.0, np.nan]])), expected, rtol=1e-12)
    assert mixture_log_odds(kinds[:1], np.array([[3.0, -1.0]]))[0] == pytest.approx(math.log(0.25) + 3)


def test_a_kinds_prior_is_its_share_among_the_videos_its_claimer_can_read():
    """A pulse-like detector (b) runs on 2 of the 6 real videos (10-s clips) and claims the 2 fakes it
    reads; a frame detector (a) runs everywhere and claims the other 2 fakes."""
    nan = np.nan
    table = np.array([[0.0, nan], [0.5, nan], [-0.5, nan], [0.2, nan], [0.1, -1.0], [-0.1, -1.2],   # real
                      [4.0, nan], [5.0, nan], [0.0, 3.0], [0.3, 2.5]])                              # fake
    labels = [0] * 6 + [1] * 4
    kinds = {kind.claimed_by: kind for kind in fit_kinds(table, labels, ["a", "b"])}
    assert (kinds["a"].n_fakes, kinds["b"].n_fakes) == (2, 2)
    assert kinds["b"].prior_log_odds == pytest.approx(math.log(2 / 6))
    assert kinds["b"].readable_prior_log_odds == pytest.approx(math.log(2 / 2))
    assert kinds["b"].prior(np.array([0.0, 1.0])) == pytest.approx(0.0)
    assert kinds["b"].prior(np.array([0.0, nan])) == pytest.approx(math.log(2 / 6))
    assert kinds["a"].readable_prior_log_odds == kinds["a"].prior_log_odds == pytest.approx(math.log(2 / 6))


def as_entries(x):
    return [[entry(name, float(expit(v))) for name, v in zip("abc", row)] for row in x]


@pytest.fixture(scope="module")
def one_trace_fusion():
    x, kind = one_trace_each(300, 100, seed=0)
    return fit_fusion(as_entries(x), (kind >= 0).astype(int))


def test_the_fused_probability_is_calibrated_on_unseen_videos(one_trace_fusion):
    x, kind = one_trace_each(1000, 333, seed=2)
    probabilities = [one_trace_fusion.calibration.apply(p)
                     for p in one_trace_fusion.raw_probability(log_odds_table(as_entries(x), list("abc")))]
    assert expected_calibration_error((kind >= 0).astype(int).tolist(), probabilities) < 0.05


def test_fuse_reports_the_most_likely_kind_and_contributions_that_add_up(one_trace_fusion):
    x, _ = one_trace_each(1, 0, seed=3)
    x[0] = [0.1, 3.5, -0.2]  # looks like b's kind
    entries = as_entries(x)[0]
    entries[2] = entry("c", None, "could_not_run", reason="no pulse window")
    result = one_trace_fusion.fuse(entries)
    assert result["most_like"] == "b"
    shares = {k["claimed_by"]: k["share"] for k in result["kinds"]}
    assert sum(shares.values()) == pytest.approx(1.0) and shares["b"] > 0.9
    top = next(k for k in result["kinds"] if k["claimed_by"] == "b")
    added = top["prior_log_odds"] + sum(c["contribution"] for c in result["contributions"]) - math.log(top["share"])
    assert added == pytest.approx(result["log_odds"]), "log-odds = prior + contributions - log(share) of the top kind"
    assert result["raw_video_score"] == pytest.approx(expit(result["log_odds"]))
    assert result["video_score"] == pytest.approx(one_trace_fusion.calibration.apply(result["raw_video_score"]))
    missing = [c for c in result["contributions"] if not c["contributed"]]
    assert [(c["name"], c["reason"], c["contribution"]) for c in missing] == [("c", "no pulse window", 0.0)]


def test_a_detector_that_could_not_look_neither_clears_the_video_nor_accuses_it(one_trace_fusion):
    """Only a sees kind a's fakes. Where a could not run, the video is not fused as the confident REAL of a
    video where a looked and found nothing, nor as a fake: a's likelihood ratio is 1 for every kind."""
    x, kind = one_trace_each(200, 0, seed=4)
    looked = [one_trace_fusion.fuse(e)["video_score"] for e in as_entries(x)]
    blind = [one_trace_fusion.fuse([entry("a", None, "no_face", reason="no face"), *e[1:]])["video_score"]
             for e in as_entries(x)]
    assert np.median(blind) > np.median(looked), "not cleared: a's silence is not a's 'REAL'"
    x_fakes, _ = one_trace_each(0, 200, seed=5)
    fakes_a = [one_trace_fusion.fuse(e)["video_score"] for e in as_entries(x_fakes[:200])]
    assert np.median(blind) < np.median(fakes_a), "not accused either"


def test_fusion_file_round_trip_and_refusal_of_other_detectors_and_older_versions(tmp_path, one_trace_fusion):
    path = save_fusion(tmp_path / "fusion.json", one_trace_fusion)
    loaded = load_fusion(path)
    assert loaded.to_dict() == one_trace_fusion.to_dict()
    entries = as_entries(np.zeros((1, 3)))[0]
    assert loaded.fuse(entries) == one_trace_fusion.fuse(entries)
    loaded.check_detectors(entries, str(path))
    with pytest.raises(CheckpointError, match="was fitted on"):
        loaded.check_detectors([entries[1], entries[0], entries[2]], str(path))
    (tmp_path / "other.json").write_text('{"format": "something else"}')
    with pytest.raises(CheckpointError, match="not a fusion model"):
        load_fusion(tmp_path / "other.json")
    old = {**json.loads(path.read_text()), "version": 4}
    (tmp_path / "old.json").write_text(json.dumps(old))
    with pytest.raises(CheckpointError, match="version 4, this course reads 5"):
        load_fusion(tmp_path / "old.json")


def test_too_few_validation_videos_is_one_line_and_the_fallback_is_the_mean():
    with pytest.raises(CourseError, match="at least 2 real and 2 fake"):
        fit_fusion(as_entries(np.zeros((3, 3))), [0, 1, 0])
    nobody = [[entry("a", None, "no_face")] for _ in range(4)]
    with pytest.raises(CourseError, match="some detector could score"):
        fit_fusion(nobody, [0, 0, 1, 1])
    result = mean_fusion([entry("a", 0.8), entry("b", 0.2), entry("c", None, "no_face", reason="no face")])
    assert result["video_score"] == pytest.approx(0.5)
    assert [c["contributed"] for c in result["contributions"]] == [True, True, False]
    assert mean_fusion([entry("c", None, "no_face", reason="no face")])["video_score"] is None


# --- the reference mode (task 5.17 through common.fusion) -------------------------------------------

def people_videos(n_people, seed, fakes_per_person=2, reals_per_person=3):
    """Detector a (a CNN whose false alarms follow the person) adds the person's offset, N(0, 2^2), to
    every video of that person; b does not. Fakes of kind a: +3 on a; of kind b: +3 on b. Returns the
    (N, 2) log-odds, labels and people."""
    rng = np.random.default_rng(seed)
    rows, labels, people = [], [], []
    for p in range(n_people):
        offset = rng.normal(0.0, 2.0)
        for v in range(reals_per_person + fakes_per_person):
            fake = v >= reals_per_person
            row = [offset + rng.normal(), rng.normal()]
            if fake:
                row[v % 2] += 3.0
            rows.append(row)
            labels.append(int(fake))
            people.append(f"p{p}")
    return np.array(rows), np.array(labels), people


def two_entries(x):
    return [[entry(name, float(expit(v))) for name, v in zip("ab", row)] for row in x]


@pytest.fixture(scope="module")
def with_reference():
    x, labels, people = people_videos(60, seed=0)
    return fit_fusion(two_entries(x), labels, people=people)


def test_the_reference_mode_learns_which_detector_follows_the_person(with_reference):
    reference = with_reference.reference
    assert reference is not None
    share = reference.validation["between_person_share"]
    assert share["a"] > 0.7 and share["b"] < 0.1, "a's real-video spread is mostly the person, b's none"
    assert reference.validation["people_with_references"] == 60


def test_corrected_by_other_videos_never_uses_a_video_as_its_own_reference():
    from common.fusion import corrected_by_other_videos

    table = np.array([[4.0], [2.0], [0.0], [9.0]])      # p: two real videos and a fake; q: one real video
    corrected = corrected_by_other_videos(table, [0, 0, 1, 0], ["p", "p", "p", "q"], np.array([0.0]),
                                          np.array([1.0]), np.array([1.0]))
    # one reference each (shrinkage 1 / 2): 4 - 2/2, 2 - 4/2; the fake has both references: 0 - (2/3) * 3;
    # q's only real video has no other: left as it is
    np.testing.assert_allclose(corrected[:, 0], [3.0, 0.0, -2.0, 9.0])


def test_with_references_the_fused_verdicts_stop_following_the_person(with_reference):
    x, labels, people = people_videos(60, seed=1)
    entries = two_entries(x)
    who = np.array(people)
    plain, referenced = [], []
    for v in range(len(entries)):
        references = [entries[j] for j in np.flatnonzero((labels == 0) & (who == who[v])) if j != v]
        plain.append(with_reference.fuse(entries[v])["video_score"])
        referenced.append(with_reference.fuse(entries[v], references)["video_score"])
    from sklearn.metrics import roc_auc_score

    fakes_a = np.array([(i % 5) == 4 for i in range(len(labels))])  # the 5th video of each person: a's kind
    keep = (labels == 0) | fakes_a
    before, after = (roc_auc_score(labels[keep], np.array(s)[keep]) for s in (plain, referenced))
    assert after > before + 0.1, f"kind a: {before:.3f} -> {after:.3f}"


def test_a_fused_report_says_what_each_reference_subtracted(with_reference):
    references = two_entries(np.array([[2.0, 0.1], [3.0, -0.1]]))
    result = with_reference.fuse(two_entries(np.array([[2.5, 0.0]]))[0], references)
    mu, between, within = with_reference.reference.components()
    a = result["contributions"][0]
    shrinkage = 2 * between[0] / (2 * between[0] + within[0])
    assert a["shrinkage"] == pytest.approx(shrinkage) and a["references_read"] == 2
    reference_log_odds = log_odds_table(references, ["a", "b"])[:, 0]
    assert a["person_offset"] == pytest.approx(shrinkage * (reference_log_odds.mean() - mu[0]))
    assert a["log_odds"] == pytest.approx(log_odds_table(two_entries(np.array([[2.5, 0.0]])), ["a", "b"])[0, 0]
                                          - a["person_offset"])
    assert result["reference"] == {"videos": 2}
    kinds = with_reference.reference.kinds
    assert result["log_odds"] == pytest.approx(
        mixture_log_odds(kinds, np.array([[c["log_odds"] for c in result["contributions"]]]))[0])


def test_the_reference_mode_round_trips_and_is_refused_where_it_was_not_fitted(tmp_path, with_reference,
                                                                                one_trace_fusion):
    loaded = load_fusion(save_fusion(tmp_path / "fusion.json", with_reference))
    entries, references = two_entries(np.array([[1.0, 0.0]]))[0], two_entries(np.array([[2.0, 0.5]]))
    assert loaded.fuse(entries, references) == with_reference.fuse(entries, references)
    assert one_trace_fusion.reference is None, "fitted without people: no reference mode"
    with pytest.raises(CourseError, match="no reference mode"):
        one_trace_fusion.fuse(as_entries(np.zeros((1, 3)))[0], [as_entries(np.zeros((1, 3)))[0]])
    x, labels, people = people_videos(6, seed=2, reals_per_person=1)
    assert fit_fusion(two_entries(x), labels, people=people).reference is None, \
        "one real video per person: nothing to tell the person from the video"


def test_while_task_5_17_is_a_todo_the_mixture_is_fitted_without_its_reference_mode(monkeypatch, tmp_path,
                                                                                     with_reference):
    """A student who has done 5.15-5.16 gets a working fusion; the file says why it has no reference mode,
    and references are refused with the task named."""
    import common.exercises
    from common.tools.multi_modal import check_fusion
    from grader.todo import TodoError

    def unfinished(*args, **kwargs):
        raise TodoError("5.17: split the spread into people and videos (IMPLEMENTATION_GUIDE.md, 5.17 ...)")

    monkeypatch.setattr(common.exercises, "person_variance_components", unfinished)
    x, labels, people = people_videos(60, seed=0)
    fusion = fit_fusion(two_entries(x), labels, people=people)
    assert fusion.reference is None
    assert fusion.validation["reference_not_fitted"].startswith("TODO 5.17 ")
    entries = two_entries(np.array([[1.0, 0.0]]))[0]
    assert fusion.fuse(entries) == with_reference.fuse(entries), "the same mixture as with 5.17 done"

    class Detector:                 # what check_fusion reads of a loaded detector
        def __init__(self, fingerprint):
            self.name, self.fingerprint = fingerprint["name"], fingerprint

        def describe(self):
            return dict(self.fingerprint)

    loaded = load_fusion(save_fusion(tmp_path / "fusion.json", fusion))
    detectors = [Detector(fingerprint) for fingerprint in loaded.detectors]
    check_fusion(loaded, detectors, tmp_path / "fusion.json", with_references=False)
    with pytest.raises(CourseError, match="task 5.17 was a TODO"):
        check_fusion(loaded, detectors, tmp_path / "fusion.json", with_references=True)
