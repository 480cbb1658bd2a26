"""common/compression.py: re-encoding test videos (H.264 CRF, half resolution) and evaluate.py --reencode.

Oracles: PyAV's own reading of the written files (codec, size, frame count), the PSNR against the
source frames (more compression, lower PSNR), and the variant table's names worked by hand.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import av
import numpy as np
import pytest

from common.compression import REENCODINGS, mean_psnr, parse_reencodings, reencode_records, reencode_video, scaled_size
from common.datasets import VideoRecord
from common.errors import CourseError


def textured_clip(path: Path, frames: int = 12, size: tuple[int, int] = (96, 128)) -> np.ndarray:
    """A moving, detailed clip (noise texture drifting one pixel a frame), written at CRF 18."""
    from common.video import write_video

    rng = np.random.default_rng(0)
    texture = rng.integers(0, 256, size=(size[0], size[1] + frames, 3), dtype=np.uint8)
    clip = np.stack([texture[:, t:t + size[1]] for t in range(frames)])
    write_video(path, clip, fps=25.0)
    return clip


def decoded(path: Path) -> tuple[str, np.ndarray]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(stream)])
        return stream.codec_context.name, frames


def test_parse_reencodings_by_name_and_crf():
    assert [r.name for r in parse_reencodings("raw,crf23, crf40 ,half")] == ["raw", "crf23", "crf40", "half"]
    assert [(r.crf, r.scale) for r in parse_reencodings("crf23,half,crf30,crf23")] == [(23, 1.0), (18, 0.5), (30, 1.0)]
    assert not REENCODINGS["raw"].changes_video and REENCODINGS["crf40"].changes_video
    for bad in ("", "crf99", "jpeg"):
        with pytest.raises(CourseError):
            parse_reencodings(bad)


def test_scaled_size_rounds_and_keeps_two_pixels():
    assert scaled_size(128, 96, 0.5) == (64, 48)
    assert scaled_size(127, 95, 0.5) == (64, 48)
    assert scaled_size(3, 3, 0.1) == (2, 2)


def test_reencoding_is_h264_and_a_higher_crf_loses_more(tmp_path):
    clip = textured_clip(tmp_path / "source.mp4")
    _, source = decoded(tmp_path / "source.mp4")
    quality = {}
    for crf in (23, 40):
        out = reencode_video(tmp_path / "source.mp4", tmp_path / f"crf{crf}.mp4", crf=crf)
        codec, frames = decoded(out)
        assert codec == "h264" and frames.shape == clip.shape, "same frames, same size, H.264"
        quality[crf] = (mean_psnr(source, frames), out.stat().st_size)
    assert quality[40][0] < quality[23][0] - 3, f"CRF 40 must be clearly worse than CRF 23 (PSNR {quality})"
    assert quality[40][1] < quality[23][1], "and smaller"


def test_half_resolution_halves_both_sides(tmp_path):
    textured_clip(tmp_path / "source.mp4", frames=5, size=(96, 130))
    _, frames = decoded(reencode_video(tmp_path / "source.mp4", tmp_path / "half.mp4", crf=18, scale=0.5))
    assert frames.shape == (5, 48, 66, 3), "130 x 96 -> 65 x 48, stored 66 x 48 (even sides for yuv420p)"


def test_reencode_records_keeps_everything_but_the_path_and_reuses_files(tmp_path):
    root = tmp_path / "data"
    textured_clip(root / "videos" / "test" / "a.avi", frames=4)
    record = VideoRecord(root / "videos" / "test" / "a.avi", 1, "GANUpsample", "g1", "test", "synthetic", {"k": 1})
    assert reencode_records([record], REENCODINGS["raw"], root, tmp_path / "out") == [record]
    (new,) = reencode_records([record], REENCODINGS["crf40"], root, tmp_path / "out")
    assert new.path == tmp_path / "out" / "crf40" / "videos" / "test" / "a.mp4" and new.path.is_file()
    assert dataclasses.replace(new, path=record.path) == record and new.extra == {"k": 1}
    stamp = new.path.stat().st_mtime_ns
    reencode_records([record], REENCODINGS["crf40"], root, tmp_path / "out")
    assert new.path.stat().st_mtime_ns == stamp, "an up-to-date copy is reused, not encoded again"


def test_bad_arguments_are_refused(tmp_path):
    textured_clip(tmp_path / "source.mp4", frames=2)
    with pytest.raises(ValueError):
        reencode_video(tmp_path / "source.mp4", tmp_path / "x.mp4", crf=60)
    with pytest.raises(ValueError):
        reencode_video(tmp_path / "source.mp4", tmp_path / "x.mp4", crf=23, scale=1.5)
    with pytest.raises(ValueError):
        mean_psnr(np.zeros((2, 2)), np.zeros((3, 3)))
    assert mean_psnr(np.ones((2, 2)), np.ones((2, 2))) == float("inf")


def test_evaluate_refuses_a_bad_reencoding_or_figures_before_any_output(tmp_path):
    from common.tools.evaluate import main

    output = tmp_path / "eval"
    common = ["--checkpoint", str(tmp_path / "missing.pt"), "--test-data", str(tmp_path), "--output-dir", str(output)]
    with pytest.raises(CourseError, match="unknown re-encoding 'jpeg'"):
        main(common + ["--reencode", "raw,jpeg"], phase="phase3_frequency_analysis")
    with pytest.raises(CourseError, match="draws no figures"):
        main(common + ["--figures", str(tmp_path / "figures")], phase="phase1_cnn_detection")
    assert not output.exists() and not (tmp_path / "figures").exists()


def _frame_times(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        return sorted(float(frame.time) for frame in container.decode(video=0))


def test_reencoding_keeps_each_frames_time(tmp_path):
    """A phone's variable frame rate (25 fps, then 12.5 fps) survives a re-encoding: every frame stays
    at the time it was written (PyAV's decode of both files is the oracle); a constant-rate clip stays
    at k / 25 s. Before, every frame moved to index / average rate."""
    from common.video import write_video
    from tests.tolerances import VIDEO_TIMESTAMP_ATOL_S

    clip = textured_clip(tmp_path / "cfr.mp4")
    times = np.concatenate([np.arange(6) / 25, 0.24 + np.arange(1, 7) * 0.08])
    write_video(tmp_path / "vfr.mp4", clip, fps=25.0, timestamps_s=times)
    for name, expected in (("cfr", np.arange(12) / 25), ("vfr", times)):
        out = reencode_video(tmp_path / f"{name}.mp4", tmp_path / f"{name}_crf23.mp4", crf=23)
        np.testing.assert_allclose(_frame_times(out), expected, atol=VIDEO_TIMESTAMP_ATOL_S)
        assert decoded(out)[1].shape == clip.shape
