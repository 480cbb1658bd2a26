"""The registry rows and frame plans behind the detector interface (no exercise code needed).

Oracles: frame indices worked by hand, the literal rows of the phases' ``__init__.py``, and Python's
own ``ast`` reading of the same files.
"""
from __future__ import annotations

import ast

import numpy as np
import pytest


def test_every_phase_model_row_is_read_with_its_kind_and_module():
    from common.registry import KINDS, all_models

    rows = all_models()
    assert {"xceptionnet", "efficientnet", "mesonet", "baseline", "transfer", "frame_difference"} <= set(rows)
    assert all(row.kind in KINDS for row in rows.values()), "a model has an unknown kind"
    assert rows["frame_difference"].kind == "clip" and rows["frame_difference"].features == "clip_features"
    assert rows["xceptionnet"].module == "phase1_cnn_detection.template_xceptionnet"
    assert rows["mesonet"].input_size == 256 and rows["mesonet"].sized, "MesoNet's row lost its size"


def test_model_rows_come_from_the_solutions_tree_not_the_students():
    """A student who edits their own phase __init__.py does not change the registry."""
    from common.registry import all_models
    from grader import tree

    init = tree.SOLUTIONS_ROOT / "phase1_cnn_detection" / "__init__.py"
    module = ast.parse(init.read_text())
    names = [ast.literal_eval(call.args[0]) for node in module.body if isinstance(node, ast.Assign)
             and getattr(node.targets[0], "id", None) == "MODELS" for call in node.value.elts]
    assert [name for name, row in all_models().items() if row.phase == "phase1_cnn_detection"] == names


def test_registry_refuses_an_unknown_kind(tmp_path):
    from common.registry import _models_of_phase

    init = tmp_path / "__init__.py"
    init.write_text('MODELS = [Model("x", kind="telepathy", file="t.py", builder="B", input_size=8, '
                    'mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))]\n')
    with pytest.raises(ValueError, match="unknown kind 'telepathy'"):
        _models_of_phase(init, "phase9")


@pytest.mark.parametrize("plan, frame_count, fps, expected", [
    # spaced: floor(i * 23 / 7), worked by hand
    (dict(mode="spaced", count=8), 24, 25.0, [0, 3, 6, 9, 13, 16, 19, 23]),
    # one clip: the middle run, (24 - 8) // 2 = 8
    (dict(mode="contiguous", count=8), 24, 25.0, list(range(8, 16))),
    # two clips of 3 at the start and the end
    (dict(mode="contiguous", count=3, clips=2), 10, 25.0, [0, 1, 2, 7, 8, 9]),
    # a 0.2 s window at 25 fps is 5 frames, centred: (100 - 5) // 2 = 47
    (dict(mode="window", seconds=0.2), 100, 25.0, [47, 48, 49, 50, 51]),
    # a plan longer than the video takes every frame it has
    (dict(mode="contiguous", count=16), 5, 25.0, [0, 1, 2, 3, 4]),
    (dict(mode="window", seconds=10.0), 5, 25.0, [0, 1, 2, 3, 4]),
    # a clip read at 25 fps: every 2nd frame at 50 fps, 4 samples spanning 7 frames (middle: (24 - 7) // 2
    # = 8); every frame at 25 or 15 fps (a frame is never shown twice); a short video: what it holds
    (dict(mode="contiguous", count=4, rate=25.0), 24, 50.0, [8, 10, 12, 14]),
    (dict(mode="contiguous", count=4, rate=25.0), 24, 25.0, [10, 11, 12, 13]),
    (dict(mode="contiguous", count=4, rate=25.0), 24, 15.0, [10, 11, 12, 13]),
    (dict(mode="contiguous", count=4, rate=25.0), 5, 50.0, [0, 2, 4]),
])
def test_frame_plans_pick_the_frames_worked_by_hand(plan, frame_count, fps, expected):
    from common.face_track import FramePlan

    assert FramePlan(**plan).indices(frame_count, fps).tolist() == expected


def test_clip_runs_are_separate_and_the_union_of_plans_is_sorted_and_unique():
    from common.face_track import FramePlan, plan_union
    from common.video import VideoInfo

    runs = FramePlan("contiguous", count=3, clips=2).runs(10, 25.0)
    assert [run.tolist() for run in runs] == [[0, 1, 2], [7, 8, 9]], "each clip is one run"
    info = VideoInfo(path="v.mp4", fps=25.0, frame_count=24, width=8, height=8, duration_s=0.96, codec="h264")
    union = plan_union([FramePlan("spaced", count=8), FramePlan("contiguous", count=8)], info)
    assert union.tolist() == [0, 3, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 19, 23]
    assert np.all(np.diff(union) > 0), "the union must be strictly increasing"


def test_a_bad_plan_is_refused():
    from common.face_track import FramePlan

    with pytest.raises(ValueError, match="mode"):
        FramePlan("random")
    with pytest.raises(ValueError, match="seconds"):
        FramePlan("window")
    with pytest.raises(ValueError, match="rate"):
        FramePlan("spaced", count=8, rate=25.0)
    with pytest.raises(ValueError, match="rate"):
        FramePlan("contiguous", count=8, rate=0.0)


@pytest.mark.parametrize("fps, stride", [(24.0, 1), (25.0, 1), (30000 / 1001, 1), (15.0, 1), (50.0, 2), (60.0, 2),
                                         (120.0, 5), (0.0, 1)])
def test_a_clip_steps_the_whole_number_of_frames_nearest_the_training_rate(fps, stride):
    from common.face_track import FramePlan

    assert FramePlan("contiguous", count=16, rate=25.0).stride(fps) == stride
    assert FramePlan("contiguous", count=16).stride(fps) == 1, "without a rate: consecutive frames"


@pytest.mark.parametrize("detect_every, fps, step", [(8, 25.0, 8), (8, 50.0, 16), (8, 30.0, 10), (8, 60.0, 19),
                                                    (4, 12.5, 2), (1, 50.0, 1), (8, 0.0, 8)])
def test_keyframes_are_as_far_apart_in_time_at_any_frame_rate(detect_every, fps, step):
    """--detect-every K is every K / 25 s: round(K * fps / 25) frames (worked by hand); 1 stays every frame."""
    from common.face_track import keyframe_step

    assert keyframe_step(detect_every, fps) == step


def test_a_window_on_a_variable_rate_video_holds_its_seconds_by_time():
    """30 fps for 2 s, then 15 fps: a 2-s window is [0.97, 2.97) s around the middle time, frames
    29-74 (worked by hand), where seconds x average rate would take 45 frames spanning 1.67 s; a
    constant-rate video (29.97 fps rounded to milliseconds) keeps the frame-count rule exactly."""
    from common.face_track import FramePlan

    vfr = np.concatenate([np.arange(60) / 30, 2 + np.arange(30) / 15])
    plan = FramePlan("window", seconds=2.0)
    assert plan.indices(90, 89 / vfr[-1], timestamps_s=vfr).tolist() == list(range(29, 75))
    assert plan.runs(90, 89 / vfr[-1], 8, vfr)[0].tolist() == list(range(29, 75)), "runs read the same window"
    assert plan.indices(90, 89 / vfr[-1]).tolist() == list(range(22, 67)), "without times: the frame count"
    ntsc = np.round(np.arange(300) * 1001 / 30000, 3)
    assert plan.indices(300, 30000 / 1001, timestamps_s=ntsc).tolist() == plan.indices(300, 30000 / 1001).tolist()


def test_a_clip_on_a_variable_rate_video_steps_by_the_frames_times():
    """30 fps for 1 s (frames 0-29), then 60 fps (frames 30-89, up to 2 s); a 6-sample clip at 25 fps,
    worked by hand: it starts at 0.9 s (frame 27, 0.1 s before the middle) and steps to the later frame
    nearest 40 ms on: +1 at 30 fps, +2 at 60 fps. By the average rate (44.5 fps, stride 2) it would be
    frames 39-49. Three clips start at 0 s, 0.9 s and 1.8 s. A constant-rate video's times (50 fps, and
    29.97 fps rounded to milliseconds) keep the stride rule exactly."""
    from common.face_track import FramePlan

    vfr = np.concatenate([np.arange(30) / 30, 1 + np.arange(1, 61) / 60])
    plan = FramePlan("contiguous", count=6, rate=25.0)
    assert [run.tolist() for run in plan.runs(90, 89 / vfr[-1], 8, vfr)] == [[27, 28, 29, 30, 32, 34]]
    assert plan.indices(90, 89 / vfr[-1], timestamps_s=vfr).tolist() == [27, 28, 29, 30, 32, 34]
    assert plan.runs(90, 89 / vfr[-1])[0].tolist() == list(range(39, 50, 2)), "without times: the average stride"
    three = FramePlan("contiguous", count=6, clips=3, rate=25.0)
    assert [run.tolist() for run in three.runs(90, 89 / vfr[-1], timestamps_s=vfr)] == [
        [0, 1, 2, 3, 4, 5], [27, 28, 29, 30, 32, 34], [77, 79, 81, 83, 85, 87]]
    assert FramePlan("contiguous", count=6).runs(90, 89 / vfr[-1], timestamps_s=vfr)[0].tolist() == list(range(42, 48)), \
        "a plan without a rate reads consecutive frames whatever the times"
    for frame_count, fps, times in ((100, 50.0, np.arange(100) / 50),
                                    (300, 30000 / 1001, np.round(np.arange(300) * 1001 / 30000, 3))):
        assert [r.tolist() for r in plan.runs(frame_count, fps, timestamps_s=times)] == \
            [r.tolist() for r in plan.runs(frame_count, fps)]


def test_a_plan_with_a_rate_is_its_own_cache_setting_and_one_without_is_unchanged():
    """Face caches compare the plan's dict: a clip read at 25 fps holds other frames of a 50-fps video
    than 16 consecutive ones, so its cache must not be reused; every older plan keeps its key."""
    from common.face_track import FramePlan

    assert FramePlan("contiguous", count=16).to_dict() == {"mode": "contiguous", "count": 16, "clips": 1,
                                                           "seconds": 0.0}
    assert FramePlan("contiguous", count=16, rate=25.0).to_dict()["rate"] == 25.0


def test_clip_detectors_store_their_rate_and_older_checkpoints_read_consecutive_frames():
    from common.models import get_spec
    from common.preprocessing import Preprocessing, model_preprocessing

    clip, frame = model_preprocessing(get_spec("temporal_features")), model_preprocessing(get_spec("baseline"))
    assert clip.clip_fps == 25.0 and frame.clip_fps is None
    assert Preprocessing.from_dict(clip.to_dict()) == clip and "clip_fps" not in frame.to_dict()
    stored_before = {key: value for key, value in clip.to_dict().items() if key != "clip_fps"}
    assert Preprocessing.from_dict(stored_before).clip_fps is None
    assert clip.with_frames(8).clip_fps == 25.0
