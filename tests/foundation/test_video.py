"""Tests of common/video.py: sampling, iteration, the H.264 writer and the errors for bad files.

The clips are written in a temporary folder. Frame ``k`` carries its own index as a bar code (8
black/white blocks across the top half, one bit each), which survives H.264 compression and
shrinking, so the oracle for "is this frame ``k``?" is the frame's own pixels, never our code.
"""
from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

import common.video as video
from common.errors import VideoError
from common.video import (
    SampledFrames,
    VideoInfo,
    iter_frames,
    probe_video,
    read_all_frames,
    sample_frames,
    sample_indices,
    to_rgb_uint8,
    write_video,
)
from tests.tolerances import (
    VIDEO_RESIZE_MEAN_ABS_LEVELS,
    VIDEO_ROUNDTRIP_MAX_ABS_LEVELS,
    VIDEO_ROUNDTRIP_MEAN_ABS_LEVELS,
    VIDEO_TIMESTAMP_ATOL_S,
)

pytestmark = pytest.mark.foundation

WIDTH, HEIGHT, FPS, FRAME_COUNT = 64, 48, 30, 60
BITS = 8


# --- helpers ---------------------------------------------------------------------------------


def coded_frame(index: int, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """(H, W, 3) uint8 RGB frame: top half = index in binary (white block = 1), bottom = gradient."""
    frame = np.zeros((height, width, 3), dtype=np.uint8)
    block = width // BITS
    for bit in range(BITS):
        if (index >> bit) & 1:
            frame[: height // 2, bit * block:(bit + 1) * block] = 255
    frame[height // 2:] = np.linspace(20, 200, width).astype(np.uint8)[None, :, None]
    return frame


def read_code(frame: np.ndarray) -> int:
    """The index written into a (possibly compressed or shrunk) coded frame."""
    height, width = frame.shape[:2]
    block = width / BITS
    top = frame[: height // 2].astype(float)
    bits = [top[:, round(b * block):round((b + 1) * block)].mean() > 127 for b in range(BITS)]
    return sum(1 << b for b, on in enumerate(bits) if on)


def write_with_pyav(path: Path, frames, fps: int = FPS, options: dict | None = None,
                    container_options: dict | None = None) -> Path:
    """Write an H.264 mp4 directly with PyAV (to control x264 options our writer does not expose)."""
    with av.open(str(path), "w", options=container_options or {}) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = options or {}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def assert_one_line_naming(error: pytest.ExceptionInfo, path: Path) -> None:
    message = str(error.value)
    assert "\n" not in message, f"error message must be one line, got {message!r}"
    assert path.name in message, f"error message must name the file {path.name!r}: {message!r}"


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """60 coded frames, 64x48, 30 fps, written by write_video."""
    folder = tmp_path_factory.mktemp("clip")
    return write_video(folder / "coded.mp4", (coded_frame(k) for k in range(FRAME_COUNT)), fps=FPS)


@pytest.fixture(scope="module")
def frequent_keyframes_clip(tmp_path_factory) -> Path:
    """150 coded frames with a keyframe every 10 frames (so sample_frames has keyframes to jump to)."""
    folder = tmp_path_factory.mktemp("keyframes")
    frames = (coded_frame(k) for k in range(150))
    return write_with_pyav(folder / "gop10.mp4", frames, options={"g": "10", "keyint_min": "10"})


# --- sample_indices --------------------------------------------------------------------------


def test_sample_indices_matches_the_worked_examples():
    assert sample_indices(300, 4).tolist() == [0, 99, 199, 299], "floor of linspace(0, 299, 4)"
    assert sample_indices(5, 32).tolist() == [0, 1, 2, 3, 4], "short videos must give every frame"
    assert sample_indices(0, 32).tolist() == [], "an empty video has no frames to sample"
    assert sample_indices(10, 1).tolist() == [0], "n=1 takes the first frame (linspace's start)"
    assert sample_indices(31, 23)[11] == 15, "11 * 30 / 22 = 15 exactly; float linspace gives 14.99.."


def test_sample_indices_equal_floor_of_numpy_linspace_for_many_lengths():
    for frame_count in range(1, 700, 7):
        for n in (1, 2, 3, 8, 16, 32, 64):
            got = sample_indices(frame_count, n)
            if frame_count <= n:
                expected = np.arange(frame_count)
            else:  # +1e-9 undoes float error such as 14.999999999999998 for an exact 15
                expected = np.floor(np.linspace(0, frame_count - 1, n) + 1e-9).astype(np.int64)
            assert got.dtype == np.int64, f"indices must be int64, got {got.dtype}"
            assert np.array_equal(got, expected), f"frame_count={frame_count} n={n}: {got} != {expected}"
            assert np.all(np.diff(got) > 0), f"indices must be unique and sorted: {got}"


def test_sample_indices_rejects_negative_counts_and_zero_n():
    with pytest.raises(ValueError):
        sample_indices(-1, 4)
    with pytest.raises(ValueError):
        sample_indices(10, 0)


# --- writing ---------------------------------------------------------------------------------


def test_written_file_is_an_h264_mp4_that_pyav_decodes(clip):
    with av.open(str(clip)) as container:
        assert "mp4" in container.format.name, f"container should be mp4, got {container.format.name}"
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264", f"codec should be h264, got {stream.codec_context.name}"
        assert stream.codec_context.pix_fmt == "yuv420p", "pixel format should be yuv420p (playable)"
        decoded = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
    assert len(decoded) == FRAME_COUNT, f"PyAV decoded {len(decoded)} frames, {FRAME_COUNT} were written"
    assert [read_code(f) for f in decoded] == list(range(FRAME_COUNT)), "frames out of order or lost"


def test_round_trip_reads_back_what_was_written_within_compression_tolerance(clip):
    written = np.stack([coded_frame(k) for k in range(FRAME_COUNT)]).astype(int)
    read = read_all_frames(clip)
    assert read.shape == written.shape and read.dtype == np.uint8, f"got {read.shape} {read.dtype}"
    difference = np.abs(read.astype(int) - written)
    assert difference.mean() <= VIDEO_ROUNDTRIP_MEAN_ABS_LEVELS, f"mean error {difference.mean():.2f} levels"
    assert difference.max() <= VIDEO_ROUNDTRIP_MAX_ABS_LEVELS, f"max error {difference.max()} levels"


def test_round_trip_keeps_rgb_channel_order(tmp_path):
    red = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    red[..., 0] = 220
    frame = read_all_frames(write_video(tmp_path / "red.mp4", [red] * 3, fps=10))[0]
    assert frame[..., 0].mean() > 180 and frame[..., 2].mean() < 40, (
        f"a red frame came back as mean RGB {frame.reshape(-1, 3).mean(0).round()} (BGR swap?)"
    )


def test_write_video_accepts_grayscale_frames(tmp_path):
    grays = [np.full((HEIGHT, WIDTH), level, np.uint8) for level in (30, 120, 210)]
    frames = read_all_frames(write_video(tmp_path / "gray.mp4", grays, fps=10))
    for level, frame in zip((30, 120, 210), frames):
        assert abs(frame.mean() - level) <= VIDEO_ROUNDTRIP_MEAN_ABS_LEVELS, f"gray {level} read as {frame.mean():.1f}"
        assert np.abs(frame[..., 0].astype(int) - frame[..., 2]).max() <= 2, "gray input must give R = G = B"


def test_write_video_accepts_rgba_frames_by_dropping_alpha(tmp_path):
    rgb = coded_frame(5)
    alpha = np.random.default_rng(0).integers(0, 256, (HEIGHT, WIDTH, 1), dtype=np.uint8)
    rgba = np.concatenate([rgb, alpha], axis=2)
    frame = read_all_frames(write_video(tmp_path / "rgba.mp4", [rgba] * 2, fps=10))[0]
    error = np.abs(frame.astype(int) - rgb).mean()
    assert error <= VIDEO_ROUNDTRIP_MEAN_ABS_LEVELS, f"RGBA must store its RGB unchanged; error {error:.2f}"


def test_write_video_pads_an_odd_frame_size_to_even_by_repeating_the_edge(tmp_path):
    odd = coded_frame(9, width=63, height=47)
    path = write_video(tmp_path / "odd.mp4", [odd] * 3, fps=10)
    info = probe_video(path)
    assert (info.width, info.height) == (64, 48), f"63x47 should be stored as 64x48, got {info.width}x{info.height}"
    frame = read_all_frames(path)[0].astype(int)
    assert np.abs(frame[:47, :63] - odd).mean() <= VIDEO_ROUNDTRIP_MEAN_ABS_LEVELS, "picture moved or changed"
    assert np.abs(frame[47, :63] - odd[46]).mean() <= VIDEO_ROUNDTRIP_MEAN_ABS_LEVELS, "padded row != last row"
    assert np.abs(frame[:47, 63] - odd[:, 62]).mean() <= VIDEO_ROUNDTRIP_MEAN_ABS_LEVELS, "padded column != last column"


def test_write_video_keeps_a_fractional_frame_rate(tmp_path):
    path = write_video(tmp_path / "ntsc.mp4", [coded_frame(k) for k in range(6)], fps=30000 / 1001)
    with av.open(str(path)) as container:
        rate = container.streams.video[0].average_rate
    assert rate == Fraction(30000, 1001), f"29.97 fps (30000/1001) stored as {rate}"


def test_failed_write_leaves_no_file_behind(tmp_path):
    def frames_then_wrong_size():  # 80 frames: past x264's look-ahead, so packets were written
        for k in range(80):
            yield coded_frame(k)
        yield np.zeros((HEIGHT + 2, WIDTH, 3), np.uint8)

    with pytest.raises(VideoError) as error:
        write_video(tmp_path / "broken.mp4", frames_then_wrong_size(), fps=FPS)
    assert_one_line_naming(error, tmp_path / "broken.mp4")
    assert "frame 80" in str(error.value), f"message should name the bad frame: {error.value}"
    assert list(tmp_path.iterdir()) == [], f"files left behind: {list(tmp_path.iterdir())}"


def test_failed_write_keeps_the_previous_file(tmp_path):
    path = write_video(tmp_path / "keep.mp4", [coded_frame(k) for k in range(4)], fps=FPS)
    before = path.read_bytes()
    with pytest.raises(VideoError):
        write_video(path, [coded_frame(0), np.zeros((2, 2, 3), np.uint8)], fps=FPS)
    assert path.read_bytes() == before, "a failed write must not touch the existing output"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.mp4"], "temporary file left behind"


def test_write_video_rejects_an_empty_sequence(tmp_path):
    with pytest.raises(VideoError) as error:
        write_video(tmp_path / "empty.mp4", [], fps=FPS)
    assert_one_line_naming(error, tmp_path / "empty.mp4")
    assert not (tmp_path / "empty.mp4").exists()


def test_write_video_rejects_a_folder_that_cannot_be_written(tmp_path):
    not_a_folder = tmp_path / "plain_file"
    not_a_folder.write_text("x")
    target = not_a_folder / "out.mp4"
    with pytest.raises(VideoError) as error:
        write_video(target, [coded_frame(0)], fps=FPS)
    assert_one_line_naming(error, target)


def test_write_video_rejects_bad_frames_and_fps(tmp_path):
    target = tmp_path / "bad.mp4"
    for frames, fps in (([np.zeros((4, 4, 2), np.uint8)], FPS), ([np.full((4, 4), 3.0)], FPS),
                        ([coded_frame(0)], 0)):
        with pytest.raises(VideoError) as error:
            write_video(target, frames, fps=fps)
        assert_one_line_naming(error, target)
    assert list(tmp_path.iterdir()) == []


# --- to_rgb_uint8 ----------------------------------------------------------------------------


def test_to_rgb_uint8_converts_gray_float_bool_uint16_and_alpha():
    assert to_rgb_uint8(np.array([[0.0, 0.5, 1.0]])).tolist() == [[[0] * 3, [128] * 3, [255] * 3]]
    assert to_rgb_uint8(np.array([[True, False]])).tolist() == [[[255] * 3, [0] * 3]]
    assert to_rgb_uint8(np.array([[65535, 257]], np.uint16)).tolist() == [[[255] * 3, [1] * 3]]
    assert to_rgb_uint8(np.array([[[7], [9]]], np.uint8)).tolist() == [[[7] * 3, [9] * 3]]
    assert to_rgb_uint8(np.array([[[1, 2, 3, 4]]], np.uint8)).tolist() == [[[1, 2, 3]]]
    assert to_rgb_uint8(np.array([[[1, 2, 3]]], np.int64)).dtype == np.uint8
    rgb = coded_frame(3)
    assert to_rgb_uint8(rgb) is rgb or np.array_equal(to_rgb_uint8(rgb), rgb), "RGB uint8 must pass unchanged"


def test_to_rgb_uint8_rejects_out_of_range_values_and_bad_shapes():
    for bad in (np.full((2, 2), 1.5), np.full((2, 2), -3), np.zeros((2, 2, 2)), np.zeros(5),
                np.zeros((3, 2, 2, 3)), np.full((2, 2), np.nan)):
        with pytest.raises(ValueError):
            to_rgb_uint8(bad)


# --- probing ---------------------------------------------------------------------------------


def test_probe_video_reports_what_was_written(clip):
    info = probe_video(clip)
    assert isinstance(info, VideoInfo)
    assert (info.width, info.height) == (WIDTH, HEIGHT), f"size {info.width}x{info.height}"
    assert info.frame_count == FRAME_COUNT, f"frame_count {info.frame_count}, wrote {FRAME_COUNT}"
    assert info.fps == pytest.approx(FPS), f"fps {info.fps}"
    assert info.duration_s == pytest.approx(FRAME_COUNT / FPS, abs=VIDEO_TIMESTAMP_ATOL_S)
    assert info.codec == "h264"
    as_dict = json.loads(json.dumps(info.to_dict()))
    assert as_dict["path"] == str(clip) and as_dict["frame_count"] == FRAME_COUNT, as_dict


def test_probe_video_counts_frames_when_the_container_has_no_count(tmp_path):
    path = tmp_path / "nocount.mkv"  # Matroska stores no per-stream frame count
    write_video(path, (coded_frame(k) for k in range(25)), fps=25)
    with av.open(str(path)) as container:
        assert container.streams.video[0].frames == 0, "test premise: mkv gives no frame count"
    assert probe_video(path).frame_count == 25


def _rotated_clip(path: Path, degrees: int, frames: np.ndarray) -> Path:
    """An H.264 clip whose display matrix turns its stored pictures ``degrees`` counter-clockwise, as
    a phone stores a portrait video (PyAV's ``set_display_rotation``)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        stream.set_display_rotation(degrees)
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.mark.parametrize("degrees", [90, -90, 180])
def test_a_rotated_video_is_read_as_players_show_it_like_opencv(degrees, tmp_path):
    stored = np.stack([coded_frame(k) for k in range(4)])  # 48 x 64, landscape, each frame's index coded
    path = _rotated_clip(tmp_path / f"turned{degrees}.mp4", degrees, stored)
    capture = cv2.VideoCapture(str(path))  # OpenCV applies the display matrix (CAP_PROP_ORIENTATION_AUTO)
    shown = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        shown.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    capture.release()
    ours = read_all_frames(path)
    assert ours.shape == np.shape(shown), f"read {ours.shape}, OpenCV shows {np.shape(shown)}"
    assert np.abs(ours.astype(int) - np.array(shown, dtype=int)).mean() <= VIDEO_ROUNDTRIP_MEAN_ABS_LEVELS
    info = probe_video(path)
    assert (info.height, info.width) == ours.shape[1:3] and info.rotation_deg == (degrees % 360)
    assert sample_frames(path, n=2).frames.shape[1:3] == ours.shape[1:3]


# --- sampling --------------------------------------------------------------------------------


def test_sample_frames_returns_exactly_the_evenly_spaced_frames(clip):
    sampled = sample_frames(clip, n=8)
    expected = np.floor(np.linspace(0, FRAME_COUNT - 1, 8) + 1e-9).astype(int)
    assert isinstance(sampled, SampledFrames)
    assert sampled.frames.shape == (8, HEIGHT, WIDTH, 3) and sampled.frames.dtype == np.uint8
    assert sampled.indices.tolist() == expected.tolist(), f"indices {sampled.indices}"
    assert [read_code(f) for f in sampled.frames] == expected.tolist(), "pixels are not the requested frames"
    assert sampled.missing == []


def test_sample_frames_timestamps_are_index_over_fps(clip):
    sampled = sample_frames(clip, n=7)
    np.testing.assert_allclose(sampled.timestamps_s, sampled.indices / FPS, atol=VIDEO_TIMESTAMP_ATOL_S,
                               err_msg="timestamp of frame i must be i / fps")


def test_sample_frames_all_frames_when_the_clip_is_shorter_than_n(clip):
    sampled = sample_frames(clip, n=100)
    assert [read_code(f) for f in sampled.frames] == list(range(FRAME_COUNT))


def test_sample_frames_explicit_indices_are_sorted_deduplicated_and_past_end_reported_missing(clip):
    sampled = sample_frames(clip, indices=[59, 3, 17, 3, 500])
    assert sampled.indices.tolist() == [3, 17, 59]
    assert [read_code(f) for f in sampled.frames] == [3, 17, 59], "pixels are not the requested frames"
    assert sampled.missing == [500], f"index past the end must be reported missing, got {sampled.missing}"


def test_sample_frames_raises_when_no_requested_frame_decodes(clip):
    with pytest.raises(VideoError) as error:
        sample_frames(clip, indices=[1000, 2000])
    assert_one_line_naming(error, clip)


def test_sample_frames_gives_the_same_frames_with_and_without_keyframe_jumps(
        frequent_keyframes_clip, monkeypatch):
    wanted = [2, 45, 46, 99, 140, 149]
    monkeypatch.setattr(video, "SEEK_AHEAD_FRAMES", 0)  # jump whenever a keyframe lies ahead
    jumping = sample_frames(frequent_keyframes_clip, indices=wanted)
    monkeypatch.setattr(video, "SEEK_AHEAD_FRAMES", 10**9)  # never jump: one forward pass
    forward = sample_frames(frequent_keyframes_clip, indices=wanted)
    for name, sampled in (("with jumps", jumping), ("forward only", forward)):
        assert [read_code(f) for f in sampled.frames] == wanted, f"{name}: wrong frames decoded"
        np.testing.assert_allclose(sampled.timestamps_s, np.array(wanted) / FPS, atol=VIDEO_TIMESTAMP_ATOL_S)


def test_sample_frames_pixels_equal_a_plain_pyav_decode_of_a_clip_with_b_frames(frequent_keyframes_clip):
    with av.open(str(frequent_keyframes_clip)) as container:
        stream = container.streams.video[0]
        packets = [(p.pts, p.dts) for p in container.demux(stream) if p.size]
    assert any(pts != dts for pts, dts in packets), "test premise: the clip has reordered (B) frames"
    with av.open(str(frequent_keyframes_clip)) as container:
        every_frame = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    wanted = [1, 2, 3, 57, 58, 130]  # skipping unwanted B-frames must not change any pixel
    sampled = sample_frames(frequent_keyframes_clip, indices=wanted)
    for index, frame in zip(sampled.indices, sampled.frames):
        assert np.array_equal(frame, every_frame[index]), f"frame {index} differs from a full decode"
    assert sampled.indices.tolist() == wanted


def test_sample_frames_max_side_shrinks_keeping_the_aspect_ratio(clip):
    small = sample_frames(clip, n=4, max_side=32)
    assert small.frames.shape == (4, 24, 32, 3), f"64x48 with max_side=32 must be 32x24, got {small.frames.shape}"
    assert [read_code(f) for f in small.frames] == small.indices.tolist(), "shrunk frames lost their content"
    untouched = sample_frames(clip, n=4, max_side=200)
    assert untouched.frames.shape == (4, HEIGHT, WIDTH, 3), "frames smaller than max_side must not be enlarged"


def test_sample_frames_max_side_averages_pixels_like_inter_area(tmp_path):
    stripes = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    stripes[:, ::2] = 200  # 1-pixel stripes: averaging gives flat gray, picking pixels keeps stripes
    path = write_video(tmp_path / "stripes.mp4", [stripes] * 3, fps=FPS, crf=0)
    full = sample_frames(path, n=1).frames[0].astype(float)
    small = sample_frames(path, n=1, max_side=32).frames[0].astype(float)
    block_mean = full.reshape(24, 2, 32, 2, 3).mean(axis=(1, 3))
    error = np.abs(small - block_mean).mean()
    assert error <= VIDEO_RESIZE_MEAN_ABS_LEVELS, f"halving should average 2x2 blocks (INTER_AREA); error {error:.2f}"


def test_sample_frames_reports_frames_lost_to_truncation_as_missing(tmp_path):
    rng = np.random.default_rng(0)
    noisy = [np.clip(coded_frame(k).astype(int) + rng.integers(-40, 40, (HEIGHT, WIDTH, 3)), 0, 255)
             .astype(np.uint8) for k in range(40)]
    # faststart puts the index first, so cutting the file keeps the index but loses late frames
    whole = write_with_pyav(tmp_path / "whole.mp4", noisy, container_options={"movflags": "faststart"})
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    sampled = sample_frames(cut, n=8)
    requested = sample_indices(40, 8).tolist()
    assert sampled.missing, "the second half of the frames cannot decode and must be reported"
    assert sorted(sampled.indices.tolist() + sampled.missing) == requested, "a frame was dropped silently"
    assert [read_code(f) for f in sampled.frames] == sampled.indices.tolist(), "wrong frames returned"
    assert sampled.indices.max() < min(sampled.missing), "the frames lost are the late ones"


def test_sample_frames_reads_an_opencv_written_mjpeg_avi(tmp_path):
    path = tmp_path / "opencv.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (WIDTH, HEIGHT))
    for k in range(20):
        writer.write(cv2.cvtColor(coded_frame(k), cv2.COLOR_RGB2BGR))
    writer.release()
    sampled = sample_frames(path, n=5)
    assert [read_code(f) for f in sampled.frames] == sample_indices(20, 5).tolist()
    assert sampled.info.codec == "mjpeg" and sampled.info.frame_count == 20


def test_sample_frames_reads_a_raw_h264_stream_that_has_no_timestamps(tmp_path):
    path = write_video(tmp_path / "raw.h264", (coded_frame(k) for k in range(40)), fps=np.float32(25))
    with av.open(str(path)) as container:
        assert container.streams.video[0].frames == 0, "test premise: a raw stream has no frame count"
    sampled = sample_frames(path, n=6)
    assert [read_code(f) for f in sampled.frames] == sample_indices(40, 6).tolist(), "frames found by counting"
    np.testing.assert_allclose(sampled.timestamps_s, sampled.indices / 25, atol=VIDEO_TIMESTAMP_ATOL_S)


# --- iterating -------------------------------------------------------------------------------


def test_iter_frames_with_step_start_and_stop(clip):
    got = list(iter_frames(clip, step=7, start=5, stop=40))
    expected = list(range(5, 40, 7))
    assert [index for index, _, _ in got] == expected, f"indices {[i for i, _, _ in got]}"
    assert [read_code(frame) for _, _, frame in got] == expected, "pixels are not the yielded indices"
    assert [t for _, t, _ in got] == pytest.approx([i / FPS for i in expected], abs=VIDEO_TIMESTAMP_ATOL_S)


def test_iter_frames_from_a_late_start_jumps_to_the_right_frame(frequent_keyframes_clip):
    got = [(index, read_code(frame)) for index, _, frame in iter_frames(frequent_keyframes_clip, start=123, stop=126)]
    assert got == [(123, 123), (124, 124), (125, 125)], got


def test_iter_frames_with_max_side_yields_small_frames(clip):
    index, _, frame = next(iter_frames(clip, max_side=16))
    assert index == 0 and frame.shape == (12, 16, 3), f"got frame {index} of shape {frame.shape}"


def test_iter_frames_rejects_a_bad_file_when_called_not_later(tmp_path):
    missing = tmp_path / "absent.mp4"
    with pytest.raises(VideoError):
        iter_frames(missing)  # no next(): the check happens at the call


def test_read_all_frames_returns_every_frame_in_order(clip):
    frames = read_all_frames(clip, max_side=32)
    assert frames.shape == (FRAME_COUNT, 24, 32, 3)
    assert [read_code(f) for f in frames] == list(range(FRAME_COUNT))


# --- bad files -------------------------------------------------------------------------------


def make_bad_file(kind: str, folder: Path, clip: Path) -> Path:
    """Create one kind of unreadable video in ``folder``."""
    if kind == "missing":
        return folder / "does_not_exist.mp4"
    if kind == "directory":
        path = folder / "folder.mp4"
        path.mkdir()
        return path
    if kind == "zero_bytes":
        path = folder / "zero.mp4"
        path.write_bytes(b"")
        return path
    if kind == "text_renamed_mp4":
        path = folder / "notes.mp4"
        path.write_text("this is a text file, not a video\n" * 20)
        return path
    if kind == "truncated_mp4":  # our writer puts the index at the end: cutting loses it
        path = folder / "truncated.mp4"
        path.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
        return path
    if kind == "no_decodable_frame":  # intact container, every frame's data zeroed
        whole = write_with_pyav(folder / "whole.mp4", [coded_frame(k) for k in range(10)],
                                container_options={"movflags": "faststart"})
        data = bytearray(whole.read_bytes())
        payload = data.index(b"mdat") + 4
        data[payload:] = bytes(len(data) - payload)
        path = folder / "zeroed.mp4"
        path.write_bytes(bytes(data))
        return path
    raise AssertionError(kind)


BAD_KINDS = ["missing", "directory", "zero_bytes", "text_renamed_mp4", "truncated_mp4", "no_decodable_frame"]
READERS = {
    "probe_video": probe_video,
    "sample_frames": sample_frames,
    "iter_frames": iter_frames,
    "read_all_frames": read_all_frames,
}


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_every_reader_raises_a_one_line_video_error_naming_the_bad_file(kind, tmp_path, clip, capfd):
    path = make_bad_file(kind, tmp_path, clip)
    capfd.readouterr()
    for name, reader in READERS.items():
        with pytest.raises(VideoError) as error:
            reader(path)
        assert_one_line_naming(error, path)
    assert capfd.readouterr().err == "", "FFmpeg/OpenCV log noise reached stderr"


def test_bad_file_messages_say_the_cause(tmp_path, clip):
    expectations = {"missing": "no such file", "directory": "directory", "zero_bytes": "empty (0 bytes)",
                    "text_renamed_mp4": "not a readable video", "truncated_mp4": "not a readable video",
                    "no_decodable_frame": "no decodable video frame"}
    for kind, cause in expectations.items():
        folder = tmp_path / kind
        folder.mkdir()
        with pytest.raises(VideoError) as error:
            probe_video(make_bad_file(kind, folder, clip))
        assert cause in str(error.value), f"{kind}: message should say {cause!r}: {error.value}"


# --- variable frame rate -----------------------------------------------------------------------


def test_constant_rate_positions_matches_the_worked_example():
    """10 fps for 0.4 s, then 5 fps: the grid at 7 fps drops frame 2 and holds frame 6 (by hand)."""
    positions, fps = video.constant_rate_positions([0, .1, .2, .3, .4, .6, .8, 1.0])
    assert positions.tolist() == [0, 1, 3, 4, 5, 6, 6, 7] and fps == pytest.approx(7.0)


def test_constant_rate_positions_equal_the_nearest_frame_found_by_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(50):
        times = np.cumsum(rng.choice([1 / 30, 1 / 24, 1 / 15], size=int(rng.integers(2, 120))))
        positions, fps = video.constant_rate_positions(times)
        grid = np.linspace(times[0], times[-1], len(times))
        nearest = [int(np.argmin(np.abs(times - g))) for g in grid]   # argmin: the earlier frame on a tie
        assert positions.tolist() == nearest
        assert fps == pytest.approx((len(times) - 1) / (times[-1] - times[0]))


def test_constant_rate_positions_keep_a_constant_rate_run_and_unknown_timestamps():
    at_ntsc = np.round(np.arange(300) * 1001 / 30000, 3)   # 29.97 fps rounded to milliseconds (MKV's clock)
    positions, fps = video.constant_rate_positions(at_ntsc)
    assert positions.tolist() == list(range(300)) and fps == pytest.approx(30000 / 1001, rel=1e-3)
    for unknown in ([0.0, 0.0, 0.1], [0.2, 0.1], [5.0]):
        positions, fps = video.constant_rate_positions(unknown)
        assert positions.tolist() == list(range(len(unknown))) and fps is None


def test_is_variable_rate_tells_a_phone_from_clock_rounding():
    assert video.is_variable_rate(np.concatenate([np.arange(60) / 30, 2 + np.arange(30) / 15]))
    assert not video.is_variable_rate(np.round(np.arange(300) * 1001 / 30000, 3)), "MKV's millisecond clock"
    assert not video.is_variable_rate(np.arange(50) / 25)
    for unknown in ([0.0, 0.0, 0.1], [0.2, 0.1], [5.0]):
        assert not video.is_variable_rate(unknown)


def test_write_video_writes_a_variable_frame_rate_that_pyav_reads_back(tmp_path):
    """30 fps for 1 s, then 15 fps for 1 s (a phone in dim light): each frame's time, read by a plain
    PyAV decode and by sample_frames, is the one written."""
    times = np.concatenate([np.arange(30) / 30, 1 + np.arange(15) / 15])
    path = write_video(tmp_path / "vfr.mp4", (coded_frame(k) for k in range(len(times))), fps=30, timestamps_s=times)
    with av.open(str(path)) as container:
        decoded = sorted((float(frame.time), read_code(frame.to_ndarray(format="rgb24")))
                         for frame in container.decode(video=0))
    np.testing.assert_allclose([t for t, _ in decoded], times, atol=VIDEO_TIMESTAMP_ATOL_S)
    assert [code for _, code in decoded] == list(range(len(times)))
    sampled = sample_frames(path, indices=range(len(times)))
    np.testing.assert_allclose(sampled.timestamps_s, times, atol=VIDEO_TIMESTAMP_ATOL_S)
    np.testing.assert_allclose(video.frame_timestamps(path), times, atol=VIDEO_TIMESTAMP_ATOL_S,
                               err_msg="the times read by demuxing alone")


def test_write_video_refuses_timestamps_that_do_not_fit_the_frames(tmp_path):
    path = tmp_path / "vfr.mp4"
    late_mistake = (t for t in (0.0, 0.1, 0.2, 0.15))   # a generator is checked frame by frame
    for count, times, says in ((3, [0.0, 0.1], "more frames than timestamps_s (only 2)"),
                               (2, [0.0, 0.1, 0.2], "more timestamps_s than the 2 frames"),
                               (2, [0.1, 0.1], "strictly increasing"), (2, [-0.1, 0.1], "0 or more"),
                               (5, late_mistake, "got 0.15 s")):
        with pytest.raises(VideoError) as error:
            write_video(path, (coded_frame(k) for k in range(count)), fps=30, timestamps_s=times)
        assert says in str(error.value)
        assert_one_line_naming(error, path)
        assert not path.exists(), "no half-written video"
