"""cross_dataset.py (common.tools.cross_dataset): arguments, the benchmarks' face pools, the AUC
table worked by hand, and one-line errors before anything is written. The measured table itself
is in the guide ("A second dataset"); a full run trains six detectors (about half an hour)."""
from __future__ import annotations

import pytest

from common.errors import CourseError, run_cli
from common.synthetic import IDENTITIES, get_variant

pytestmark = pytest.mark.foundation


def test_detectors_and_directions_are_checked():
    from common.tools.cross_dataset import parse_detectors, parse_directions

    assert parse_detectors("baseline, baseline+sbi,baseline") == ["baseline", "baseline+sbi"]
    with pytest.raises(CourseError, match="mesonet"):
        parse_detectors("mesonet")
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
                 ["--detect-every", "0"]):
        with pytest.raises(SystemExit) as exit_info:
            run_cli(main, argv + ["--output-dir", str(out)])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1, err
    assert not out.exists()
