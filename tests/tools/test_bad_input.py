"""Bad input for the tools: every mistake gives ONE line on stderr and exit status 2, never a traceback,
and an output file is either complete or absent.

Corpus: missing, empty, truncated and non-video files; videos with zero frames, one frame, no face,
several faces, a 4000x3000 resolution, grayscale and alpha pixel formats; checkpoints that are not
checkpoints, are for another model, or are untrusted pickles; ``--device cuda`` without a GPU; an
unwritable output and an output folder that does not exist; broken or mismatched predictions.
"""
from __future__ import annotations

import functools
import json
import os
import pickle
import subprocess
import sys
import tracemalloc
from pathlib import Path

import av
import pytest
import torch

from tests.tolerances import TOOLS_FACE_BOX_MIN_IOU

pytestmark = pytest.mark.usefixtures("solutions_tree")

ROOT = Path(__file__).resolve().parents[2]


def _exit_code_and_stderr(main, argv, capsys) -> tuple[int, str]:
    from common.errors import run_cli

    with pytest.raises(SystemExit) as stopped:
        run_cli(main, argv)
    return stopped.value.code, capsys.readouterr().err


def _assert_one_line_error(code: int, err: str, *expected_words: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2, f"expected exit status 2, got {code}; stderr: {err!r}"
    assert len(lines) == 1 and lines[0].startswith("error: "), f"expected one 'error: ...' line, got {err!r}"
    for word in expected_words:
        assert word.lower() in lines[0].lower(), f"the message should mention {word!r}: {lines[0]!r}"


def _detect(argv_tail, clip, checkpoint, output, capsys):
    from common.tools.detect import main

    argv = ["--input", str(clip), "--model", str(checkpoint), "--output", str(output), "--device", "cpu", "--quiet",
            "--frames", "4", *argv_tail]
    return _exit_code_and_stderr(main, argv, capsys)


def _iou(a, b) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _no_stray_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# --------------------------------------------------------------------------------------------
# Videos that cannot be analysed
# --------------------------------------------------------------------------------------------


def _zero_frame_video(path: Path) -> Path:
    """An mp4 with an H.264 stream header and no frame at all."""
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
    return path


@pytest.mark.parametrize("case", ["missing", "empty", "text", "truncated", "zero_frames", "folder_with_no_video"])
def test_unreadable_video_gives_one_line_and_writes_nothing(case, clip_files, tiny_checkpoint, tmp_path, capsys):
    source = tmp_path / f"{case}.mp4"
    if case == "empty":
        source.write_bytes(b"")
    elif case == "text":
        source.write_text("this is not a video\n" * 50)
    elif case == "truncated":
        data = clip_files["real"].path.read_bytes()
        source.write_bytes(data[: len(data) // 3])
    elif case == "zero_frames":
        _zero_frame_video(source)
    elif case == "folder_with_no_video":
        source = tmp_path / "empty_folder"
        source.mkdir()
        (source / "notes.txt").write_text("no videos here")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    output = out_dir / ("reports" if case == "folder_with_no_video" else "report.json")
    code, err = _detect([], source, tiny_checkpoint, output, capsys)
    _assert_one_line_error(code, err, source.name)
    assert not (output.is_file() or (output.is_dir() and any(output.iterdir()))), "a failed run left an output behind"
    assert _no_stray_files(out_dir) == [], "a failed run left temporary files behind"


def test_one_frame_video_is_analysed(clip_files, tiny_checkpoint, tmp_path, capsys):
    output = tmp_path / "one.json"
    code, err = _detect([], clip_files["one_frame"].path, tiny_checkpoint, output, capsys)
    assert code == 0, f"a one-frame video must be analysed, got exit {code}: {err}"
    assert [f["index"] for f in json.loads(output.read_text())["frames"]] == [0], "the single frame must be reported"


def test_video_without_faces_is_reported_as_no_face_with_exit_0(clip_files, tiny_checkpoint, tmp_path, capsys):
    from common.report import validate_report

    output = tmp_path / "no_face.json"
    code, err = _detect([], clip_files["no_face"].path, tiny_checkpoint, output, capsys)
    assert code == 0, f"no face is an answer, not an error: exit {code}, {err}"
    report = json.loads(output.read_text())
    assert validate_report(report) == [], "the NO_FACE report breaks the schema"
    assert report["verdict"] == "NO_FACE" and report["video_score"] is None, "verdict must be NO_FACE with a null score"
    assert all(f["status"] == "no_face" and f["reason"] for f in report["frames"]), "each faceless frame needs a reason"
    assert report["summary"]["frames_without_face"] == 4, "every sampled frame must be listed as without a face"


def test_several_faces_are_all_boxed(detected):
    report = json.loads(detected["two_faces"].read_text())
    assert report["summary"]["faces_found"] > report["summary"]["frames_with_face"], "the second face was dropped"
    scored = [face for frame in report["frames"] for face in frame["faces"] if "tiny_baseline" in face["scores"]]
    assert len(scored) == report["summary"]["faces_found"], "every face found must be scored"


@pytest.mark.parametrize("pix_fmt, codec, suffix", [("gray", "ffv1", ".mkv"), ("rgba", "png", ".mov")])
def test_grayscale_and_alpha_videos_are_analysed(pix_fmt, codec, suffix, clip_files, tiny_checkpoint, tmp_path, capsys):
    from common.video import write_video

    frames = clip_files["real"].frames[:6]
    source = write_video(tmp_path / f"clip{suffix}", frames, fps=25, codec=codec, pix_fmt=pix_fmt)
    with av.open(str(source)) as container:
        assert container.streams.video[0].codec_context.pix_fmt == pix_fmt, "the test video has the wrong pixel format"
    output = tmp_path / "report.json"
    code, err = _detect([], source, tiny_checkpoint, output, capsys)
    assert code == 0, f"a {pix_fmt} video must be analysed: exit {code}, {err}"
    report = json.loads(output.read_text())
    assert report["summary"]["frames_with_face"] >= 3, f"faces were not found in the {pix_fmt} video"


def test_huge_resolution_is_downscaled_for_detection_and_memory_stays_bounded(clip_files, tiny_checkpoint, tmp_path):
    """A 4000x3000 video (MJPEG, fast to write): boxes come back in original pixels and the frames held
    in memory stay far below the 16 x 36 MB a chunk of full-size frames would take."""
    import cv2

    from common.detectors import Detector
    from common.tools.detect import analyse_video
    from common.video import write_video

    small = clip_files["real"].frames[:3]
    big = [cv2.resize(frame, (4000, 3000), interpolation=cv2.INTER_LINEAR) for frame in small]
    source = write_video(tmp_path / "huge.avi", big, fps=25, codec="mjpeg", pix_fmt="yuvj420p")
    del big
    detector = Detector.load(tiny_checkpoint, "cpu", frames=3)
    tracemalloc.start()
    try:
        report = analyse_video(source, detector)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 250e6, f"analysing 3 frames of 4000x3000 peaked at {peak / 1e6:.0f} MB of traced memory"
    truth = clip_files["real"].boxes[0, 0] * (4000 / 128)
    box = report["frames"][0]["faces"][0]["box"]
    overlap = _iou(box, truth)
    assert overlap >= TOOLS_FACE_BOX_MIN_IOU, f"box {box} is not where the face is in original pixels ({truth}): IoU {overlap:.2f}"


# --------------------------------------------------------------------------------------------
# Checkpoints, devices, outputs
# --------------------------------------------------------------------------------------------


class _Payload:
    """Any class that is not a tensor: weights-only loading must refuse to unpickle it."""


def test_bad_checkpoints_give_one_line(clip_files, tiny_checkpoint, tmp_path, capsys):
    from common.checkpoint import save_checkpoint
    from common.models import build_model

    text = tmp_path / "notes.pt"
    text.write_text("not a checkpoint")
    unsafe = tmp_path / "unsafe.pt"
    torch.save({"model": _Payload()}, unsafe)
    raw_pickle = tmp_path / "raw.pt"
    raw_pickle.write_bytes(pickle.dumps({"model": _Payload()}))
    other = tmp_path / "other.pt"
    stored = torch.load(tiny_checkpoint, weights_only=True)
    save_checkpoint(other, build_model("mesonet", input_size=64), architecture="baseline",
                    model_config=stored["model_config"])  # says baseline, holds MesoNet weights
    fusion = tmp_path / "fusion.json"
    fusion.write_text(json.dumps({"format": "deepfake-course-fusion", "version": 5}))
    output = tmp_path / "report.json"
    for checkpoint, words in [(tmp_path / "missing.pt", ["missing.pt"]), (text, ["notes.pt"]), (unsafe, ["safety"]),
                              (raw_pickle, ["raw.pt"]), (other, ["other.pt", "does not fit"]),
                              (fusion, ["fusion.json", "a fusion model", "multi_modal_detect.py --fusion-model"])]:
        code, err = _detect([], clip_files["real"].path, checkpoint, output, capsys)
        _assert_one_line_error(code, err, *words)
        assert not output.exists(), f"a report was written although the checkpoint {checkpoint.name} is bad"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_cuda_without_gpu_gives_one_line(clip_files, tiny_checkpoint, tmp_path, capsys):
    from common.tools.detect import main

    code, err = _exit_code_and_stderr(main, ["--input", str(clip_files["real"].path), "--model", str(tiny_checkpoint),
                                             "--output", str(tmp_path / "r.json"), "--device", "cuda"], capsys)
    _assert_one_line_error(code, err, "cuda")


def _unwritable_folder(tmp_path: Path) -> Path:
    """A folder this process cannot create files in (root ignores permission bits: use sysfs)."""
    if os.geteuid() == 0:
        return Path("/sys")
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o500)
    return folder


def test_unwritable_or_missing_output_folder_fails_before_any_work(clip_files, tiny_checkpoint, tmp_path, capsys):
    for output, words in [(_unwritable_folder(tmp_path) / "report.json", ["cannot write"]),
                          (tmp_path / "no" / "such" / "folder" / "report.json", ["does not exist"])]:
        code, err = _detect([], clip_files["real"].path, tiny_checkpoint, output, capsys)
        _assert_one_line_error(code, err, *words)
        assert not output.exists(), f"{output} was created"


def test_an_existing_report_is_kept_when_the_new_run_fails(clip_files, tiny_checkpoint, tmp_path, capsys):
    output = tmp_path / "report.json"
    output.write_text('{"previous": true}')
    broken = tmp_path / "broken.mp4"
    broken.write_text("not a video")
    code, _ = _detect([], broken, tiny_checkpoint, output, capsys)
    assert code == 2 and output.read_text() == '{"previous": true}', "a failed run must leave the old report untouched"


# --------------------------------------------------------------------------------------------
# visualize_detection.py
# --------------------------------------------------------------------------------------------


def test_visualize_bad_inputs_give_one_line(detected, clip_files, tiny_checkpoint, tmp_path, capsys):
    from common.checkpoint import save_checkpoint
    from common.models import build_model
    from common.tools.visualize import main

    real, report = clip_files["real"].path, detected["real"]
    not_json = tmp_path / "bad.json"
    not_json.write_text("{ this is not json")
    not_report = tmp_path / "other.json"
    not_report.write_text(json.dumps({"predictions": [0.1, 0.9]}))
    broken = json.loads(report.read_text())
    broken["frames"][0]["faces"] = [] if broken["frames"][0]["faces"] else [{"box": [1, 1, 2, 2]}]
    inconsistent = tmp_path / "inconsistent.json"
    inconsistent.write_text(json.dumps(broken))
    text_video = tmp_path / "text.mp4"
    text_video.write_text("not a video")
    good_out = tmp_path / "out.mp4"
    retrained = tmp_path / "retrained.pt"
    stored = torch.load(tiny_checkpoint, weights_only=True)
    save_checkpoint(retrained, build_model("baseline", **stored["model_config"]), architecture="baseline",
                    model_config=stored["model_config"])
    cases = [
        (["--video", str(tmp_path / "missing.mp4"), "--predictions", str(report)], ["missing.mp4"]),
        (["--video", str(text_video), "--predictions", str(report)], ["text.mp4"]),
        (["--video", str(real), "--predictions", str(tmp_path / "missing.json")], ["missing.json"]),
        (["--video", str(real), "--predictions", str(not_json)], ["not valid JSON"]),
        (["--video", str(real), "--predictions", str(not_report)], ["schema"]),
        (["--video", str(real), "--predictions", str(inconsistent)], ["frames[0]"]),
        (["--video", str(clip_files["two_faces"].path), "--predictions", str(report)], ["128x128"]),
        # the same size and length, another video: only the report's input.sha256 tells them apart
        (["--video", str(clip_files["fake"].path), "--predictions", str(report)], ["fake.mp4", "SHA-256"]),
        (["--video", str(real), "--predictions", str(report), "--gradcam", "--model", str(tmp_path / "none.pt")],
         ["none.pt"]),
        # a checkpoint of the same architecture, other weights: its maps would explain another model
        (["--video", str(real), "--predictions", str(report), "--gradcam", "--model", str(retrained)],
         ["retrained.pt", "not the checkpoint whose scores the report holds"]),
    ]
    for argv, words in cases:
        code, err = _exit_code_and_stderr(main, [*argv, "--output", str(good_out)], capsys)
        _assert_one_line_error(code, err, *words)
        assert not good_out.exists(), f"an annotated video was written for bad input {argv}"
    for output, words in [(tmp_path / "nowhere" / "a.mp4", ["does not exist"]), (tmp_path / "a.txt", ["suffix"])]:
        code, err = _exit_code_and_stderr(main, ["--video", str(real), "--predictions", str(report), "--output",
                                                 str(output)], capsys)
        _assert_one_line_error(code, err, *words)
    assert _no_stray_files(tmp_path) == [], "temporary files were left behind"


def test_visualize_never_writes_over_the_video_or_the_report_it_reads(detected, clip_files, tmp_path, capsys):
    import shutil

    from common.tools.visualize import main

    video, report = tmp_path / "evidence.mp4", tmp_path / "evidence.json"
    shutil.copy(clip_files["real"].path, video)
    shutil.copy(detected["real"], report)
    before = video.read_bytes(), report.read_bytes()
    (tmp_path / "link.mp4").symlink_to(video)
    cases = [(["--output", str(video)], "it is the video being annotated"),
             (["--output", str(tmp_path / "link.mp4")], "it is the video being annotated"),
             (["--output", str(tmp_path / "out.mp4"), "--summary", str(tmp_path / "out.mp4")], "it is the annotated video")]
    for extra, words in cases:
        code, err = _exit_code_and_stderr(main, ["--video", str(video), "--predictions", str(report), *extra], capsys)
        _assert_one_line_error(code, err, words)
    assert (video.read_bytes(), report.read_bytes()) == before, "an input was overwritten"
    assert not (tmp_path / "out.mp4").exists()


# --------------------------------------------------------------------------------------------
# Real processes: the scripts as a user runs them
# --------------------------------------------------------------------------------------------


def _run_script(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / script), *args, "--solutions"], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


def test_detect_video_script_reports_a_missing_video_in_one_line(tiny_checkpoint, tmp_path):
    result = _run_script("detect_video.py", "--input", str(tmp_path / "suspicious_video.mp4"), "--model",
                         str(tiny_checkpoint), "--output", str(tmp_path / "analysis_report.json"))
    assert result.returncode == 2, f"exit status {result.returncode}; stderr {result.stderr!r}"
    assert result.stderr.count("\n") == 1 and "suspicious_video.mp4" in result.stderr, f"stderr was {result.stderr!r}"


def test_visualize_script_reports_bad_predictions_in_one_line(clip_files, tmp_path):
    predictions = tmp_path / "predictions.json"
    predictions.write_text("[1, 2, 3]")
    result = _run_script("visualize_detection.py", "--video", str(clip_files["real"].path), "--predictions",
                         str(predictions), "--output", str(tmp_path / "annotated_video.mp4"))
    assert result.returncode == 2, f"exit status {result.returncode}; stderr {result.stderr!r}"
    assert result.stderr.count("\n") == 1 and "predictions.json" in result.stderr, f"stderr was {result.stderr!r}"


def test_folder_input_with_a_bad_checkpoint_or_a_json_output_creates_nothing(clip_files, tiny_checkpoint, tmp_path,
                                                                            capsys):
    """Every argument is checked, and every detector loaded, before any output folder is made."""
    import shutil

    folder = tmp_path / "videos"
    folder.mkdir()
    shutil.copy(clip_files["real"].path, folder / "real.mp4")
    for checkpoint, output, words in [(tmp_path / "missing.pt", tmp_path / "reports", ["missing.pt"]),
                                      (tiny_checkpoint, tmp_path / "out.json", ["out.json", "folder"])]:
        code, err = _detect([], folder, checkpoint, output, capsys)
        _assert_one_line_error(code, err, *words)
        assert not output.exists(), f"a failed run left {output.name} behind"
    (folder / "real.json").write_text("the user's own notes on real.mp4")
    code, err = _detect([], folder, tiny_checkpoint, folder, capsys)  # reports among the videos
    _assert_one_line_error(code, err, "is the input folder")
    assert sorted(p.name for p in folder.iterdir()) == ["real.json", "real.mp4"]
    assert (folder / "real.json").read_text() == "the user's own notes on real.mp4"


def test_an_unfinished_exercise_in_any_tool_is_one_line_naming_the_task(capsys):
    """run_cli turns a TodoError met anywhere into one ``error: TODO <task> <file>:<line>`` line."""
    from grader.todo import TodoError

    def tool(argv):
        raise TodoError("1.1: cut the square crop (IMPLEMENTATION_GUIDE.md, 1.1 Square face crop)")

    code, err = _exit_code_and_stderr(tool, [], capsys)
    assert code == 2, "an unfinished task is a user-level stop: exit 2"
    assert err.startswith("error: TODO 1.1 ") and len(err.strip().splitlines()) == 1, f"expected one TODO line: {err!r}"


EVERY_TOOL = ["common.tools.train", "common.tools.evaluate", "common.tools.detect", "common.tools.visualize",
              "common.tools.compare", "common.tools.matrix", "common.tools.cross_dataset", "common.tools.demo",
              "common.tools.multi_modal", "common.tools.adapt:few_shot_main", "common.tools.adapt:active_learning_main",
              "common.synthetic.__main__", "phase2_temporal_analysis/measure_jitter.py",
              "phase4_biological_signals/measure_signals.py", "phase5_advanced_methods/explain_faces.py",
              "phase5_advanced_methods/measure_robustness.py"]


def _tool_main(module: str):
    """A tool's ``main``: ``package.module[:function]``, or a phase script loaded from its file."""
    import importlib

    from tests.tools.conftest import load_script

    if module.endswith(".py"):
        return load_script(module).main
    name, _, function = module.partition(":")
    return getattr(importlib.import_module(name), function or "main")


@pytest.mark.parametrize("module", EVERY_TOOL)
def test_a_mistyped_flag_is_one_line_in_every_tool_not_a_usage_block(module, tmp_path, capsys, monkeypatch):
    """argparse's own answer to ``--ouptut`` is its usage block (a dozen lines) above ``prog: error: ...``;
    every tool's parser answers with one ``error:`` line naming the mistake (the flag, or the required
    arguments argparse checks first) and pointing at ``--help``."""
    monkeypatch.chdir(tmp_path)
    code, err = _exit_code_and_stderr(_tool_main(module), ["--ouptut", "x"], capsys)
    _assert_one_line_error(code, err, "--help")
    assert "unrecognized arguments: --ouptut" in err or "the following arguments are required" in err, err
    assert list(tmp_path.iterdir()) == [], "a parser mistake creates nothing"


@pytest.mark.parametrize("argv, words", [
    (["--calibration", "isotonic"], ["argument --calibration: invalid choice: 'isotonic'", "'platt', 'two-sided'"]),
    (["--epochs", "three"], ["argument --epochs: invalid int value: 'three'"]),
])
def test_a_bad_choice_or_number_is_one_line_naming_the_flag_and_the_choices(argv, words, tmp_path, capsys,
                                                                            monkeypatch):
    from common.tools.train import main

    monkeypatch.chdir(tmp_path)
    code, err = _exit_code_and_stderr(main, ["--dataset", "synthetic", *argv, "--solutions"], capsys)
    _assert_one_line_error(code, err, *words, "see python phase1_cnn_detection/train.py --help")
    assert list(tmp_path.iterdir()) == []


def test_help_still_prints_the_full_usage_and_exits_0(capsys):
    from common.tools.detect import main

    with pytest.raises(SystemExit) as stopped:
        main(["--help"])
    out = capsys.readouterr().out
    assert stopped.value.code == 0 and out.startswith("usage: detect_video.py") and "--input" in out


@pytest.mark.parametrize("flag, value, words", [("--frames", "0", ["--frames"]), ("--clips", "0", ["--clips"]),
                                                ("--detect-every", "0", ["--detect-every"]),
                                                ("--threshold", "1.5", ["--threshold"])])
def test_out_of_range_numbers_give_one_line_before_any_output(flag, value, words, clip_files, tiny_checkpoint, tmp_path,
                                                               capsys):
    output = tmp_path / "report.json"
    code, err = _detect([flag, value], clip_files["real"].path, tiny_checkpoint, output, capsys)
    _assert_one_line_error(code, err, *words)
    assert not output.exists()


@pytest.mark.parametrize("module, arguments", [
    ("common.tools.train", ["--dataset", "synthetic", "--model", "mesonet"]),
    ("common.tools.evaluate", ["--checkpoint", "CKPT", "--test-data", "DATA"]),
    ("common.tools.compare", ["--models", "checkerboard"]),
    ("common.tools.matrix", ["--models", "checkerboard"]),
    ("common.tools.cross_dataset", []),
    ("common.tools.demo", []),
    ("common.tools.adapt:few_shot_main", []),
    ("common.tools.adapt:active_learning_main", []),
])
@pytest.mark.parametrize("below", ["", "runs"])
def test_an_output_folder_that_is_a_file_is_one_line_before_any_work(module, arguments, below, tiny_checkpoint,
                                                                      tmp_path, capsys):
    import importlib

    notes = tmp_path / "notes.txt"
    notes.write_text("keep me")
    folder = notes / below if below else notes
    argv = [str(tiny_checkpoint) if a == "CKPT" else str(tmp_path) if a == "DATA" else a for a in arguments]
    tree = [] if module == "common.tools.demo" else ["--solutions"]
    name, _, function = module.partition(":")
    main = getattr(importlib.import_module(name), function or "main")
    code, err = _exit_code_and_stderr(main, [*argv, "--output-dir", str(folder), *tree], capsys)
    _assert_one_line_error(code, err, "notes.txt' is a file, not a folder")
    assert notes.read_text() == "keep me" and sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("module, arguments, flag", [
    ("common.tools.train", ["--dataset", "synthetic", "--model", "blink"], "--synthetic-frames 250"),
    ("common.tools.compare", ["--models", "baseline,pulse"], "--clip-frames 250"),
    ("common.tools.matrix", ["--models", "biological", "--methods", "FaceSwap,Physiological"], "--clip-frames 250"),
])
def test_clips_too_short_for_a_signal_window_are_one_line_before_any_work(module, arguments, flag, tmp_path, capsys):
    """A signal detector reads a 10-s window (8 s needed); the tools generate 16-frame clips (0.64 s) by
    default. That was an error only after the benchmark was generated and every face found."""
    import importlib

    output = tmp_path / "run"
    main = importlib.import_module(module).main
    if module == "common.tools.train":
        main = functools.partial(main, phase="phase4_biological_signals")
    code, err = _exit_code_and_stderr(main, [*arguments, "--output-dir", str(output), "--solutions"], capsys)
    _assert_one_line_error(code, err, "10-s window", "8 s or more", "0.6 s", flag)
    assert not output.exists(), "nothing generated, nothing written"


def test_a_benchmark_of_short_clips_is_refused_for_a_signal_detector(tmp_path, capsys):
    from common.synthetic import write_benchmark
    from common.tools.train import main

    root = tmp_path / "mini"
    write_benchmark(root, n_clips=4, n_frames=12, size=64, progress=False)
    output = tmp_path / "run"
    code, err = _exit_code_and_stderr(functools.partial(main, phase="phase4_biological_signals"),
                                      ["--dataset", "synthetic", "--data-root", str(root), "--model", "pulse",
                                       "--output-dir", str(output), "--solutions"], capsys)
    _assert_one_line_error(code, err, "10-s window", "0.5 s", "--frames 250")
    assert not output.exists()
    from common.experiment import check_clips_hold_the_window

    check_clips_hold_the_window(["pulse"], root, window_s=0.4)  # 0.32 s of 0.48: fine

    from common.checkpoint import save_checkpoint
    from common.models import build_model
    from common.tools.evaluate import main as evaluate

    config = {"n_features": 3, "window_s": 10.0}
    checkpoint = save_checkpoint(tmp_path / "blink.pt", build_model("blink", **config), architecture="blink",
                                 model_config=config, threshold=0.5)
    code, err = _exit_code_and_stderr(functools.partial(evaluate, phase="phase4_biological_signals"),
                                      ["--checkpoint", str(checkpoint), "--test-data", str(root), "--solutions"], capsys)
    _assert_one_line_error(code, err, "10-s window", "0.5 s")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blink.pt", "mini"], "no eval folder, no face cache"
