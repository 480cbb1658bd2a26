"""visualize_detection.py: a playable annotated video of the right length and size, boxes coloured by score."""
from __future__ import annotations

import copy
import json

import av
import numpy as np
import pytest
import torch

from tests.tolerances import TOOLS_GRADCAM_ATOL

pytestmark = pytest.mark.usefixtures("solutions_tree")


def _decode_all(path) -> tuple[list[np.ndarray], str]:
    with av.open(str(path)) as container:
        codec = container.streams.video[0].codec_context.name
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    return frames, codec


def _with_scores(report: dict, probability: float) -> dict:
    """The same report with every face scored ``probability`` (scores, video score and verdict kept consistent)."""
    edited = copy.deepcopy(report)
    detector = edited["detectors"][0]
    for frame in edited["frames"]:
        for face in frame["faces"]:
            face["scores"][detector["name"]] = probability
    for entry in detector["frame_scores"]:
        if entry["fake_probability"] is not None:
            entry["fake_probability"] = probability
    for entry in detector.get("track_scores", []):
        entry["fake_probability"] = probability
    edited["video_score"] = detector["video_score"] = probability
    edited["verdict"] = detector["verdict"] = "FAKE" if probability >= edited["threshold"] else "REAL"
    return edited


def _as_version_1(report: dict) -> dict:
    """A version-2 report of one frame detector rewritten as version 1 (one model, scores on the frames)."""
    detector = report["detectors"][0]
    scores = {entry["index"]: entry for entry in detector["frame_scores"]}
    frames = []
    for frame in report["frames"]:
        faces = [{key: face[key] for key in ("box", "crop_box", "landmarks", "face_probability")}
                 | {"fake_probability": face["scores"][detector["name"]]} for face in frame["faces"]]
        frames.append({**{k: frame[k] for k in ("index", "timestamp_s", "status", "reason")}, "faces": faces,
                       "fake_probability": scores[frame["index"]]["fake_probability"],
                       "scored_face": scores[frame["index"]]["scored_face"]})
    summary = {k: report["summary"][k] for k in ("frames_sampled", "frames_with_face", "frames_without_face",
                                                 "frames_not_decoded", "frames_with_several_faces")}
    summary["faces_scored"] = report["summary"]["faces_found"]
    model = {k: detector[k] for k in ("architecture", "checkpoint", "sha256", "threshold", "input_size", "created",
                                      "validation_metrics")}
    settings = {**report["settings"], "frames_requested": len(frames)}
    return {**{k: report[k] for k in ("schema", "created", "tree", "input", "versions", "video_score", "verdict",
                                      "threshold", "threshold_overridden", "aggregation", "timings_s")},
            "schema_version": 1, "model": model, "settings": settings, "frames": frames, "summary": summary}


def _edge_colour(frame: np.ndarray, box: list[float], scale: float = 1.0) -> np.ndarray:
    """Mean RGB along the left and right edges of a drawn box (2 px wide lines), away from the corners.
    ``scale``: output pixels per source pixel."""
    x1, y1, x2, y2 = (int(round(v * scale)) for v in box)
    rows = slice(y1 + 4, y2 - 4)
    edge = np.concatenate([frame[rows, x1 - 1:x1 + 1], frame[rows, x2 - 1:x2 + 1]], axis=1)
    return edge.reshape(-1, 3).mean(axis=0)


def test_annotated_video_decodes_with_the_source_frame_count_and_size(detected, clip_files, tmp_path):
    from common.tools.visualize import main

    output = tmp_path / "annotated.mp4"
    assert main(["--video", str(clip_files["real"].path), "--predictions", str(detected["real"]),
                 "--output", str(output)]) == 0
    frames, codec = _decode_all(output)
    assert codec == "h264", f"the annotated video is {codec}, not a playable H.264 stream"
    assert len(frames) == 24, f"annotated video has {len(frames)} frames, the source has 24"
    assert frames[0].shape == (384, 384, 3), (
        f"a 128-px video should be enlarged 3x (shortest side >= 360 px) for readable labels, got {frames[0].shape}")


def test_min_side_zero_keeps_the_source_size(detected, clip_files, tmp_path):
    from common.tools.visualize import main

    output = tmp_path / "annotated.mp4"
    assert main(["--video", str(clip_files["real"].path), "--predictions", str(detected["real"]),
                 "--output", str(output), "--min-side", "0"]) == 0
    frames, _ = _decode_all(output)
    assert frames[0].shape == (128, 128, 3), f"--min-side 0 must keep the source size, got {frames[0].shape}"


@pytest.mark.parametrize("width, height, min_side, factor", [(128, 128, 360, 3), (640, 480, 360, 1),
                                                             (300, 200, 360, 2), (64, 96, 0, 1), (64, 96, None, 1)])
def test_enlargement_factor_is_the_smallest_whole_number_reaching_min_side(width, height, min_side, factor):
    from common.tools.visualize import enlargement_factor

    assert enlargement_factor(width, height, min_side) == factor


def test_enlarge_repeats_each_pixel_as_a_block_like_kron():
    from common.tools.visualize import enlarge

    frame = np.random.default_rng(0).integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    expected = np.kron(frame, np.ones((3, 3, 1), dtype=np.uint8))  # numpy's Kronecker product as the oracle
    np.testing.assert_array_equal(enlarge(frame, 3), expected)


def test_bad_min_side_is_one_line_error(detected, clip_files, tmp_path):
    from common.errors import CourseError
    from common.tools.visualize import main

    with pytest.raises(CourseError, match="--min-side"):
        main(["--video", str(clip_files["real"].path), "--predictions", str(detected["real"]),
              "--output", str(tmp_path / "a.mp4"), "--min-side", "-5"])
    assert not (tmp_path / "a.mp4").exists()


@pytest.mark.parametrize("probability, dominant", [(0.95, "red"), (0.05, "green")])
def test_face_box_colour_follows_its_fake_probability(detected, clip_files, tmp_path, probability, dominant):
    from common.tools.visualize import main

    report = _with_scores(json.loads(detected["real"].read_text()), probability)
    predictions = tmp_path / "edited.json"
    predictions.write_text(json.dumps(report))
    output = tmp_path / "coloured.mp4"
    assert main(["--video", str(clip_files["real"].path), "--predictions", str(predictions), "--output", str(output)]) == 0
    frames, _ = _decode_all(output)
    entry = next(f for f in report["frames"] if f["status"] == "face")
    scale = frames[0].shape[1] / 128
    red, green, blue = _edge_colour(frames[entry["index"]], entry["faces"][0]["box"], scale)
    if dominant == "red":
        assert red > 150 and red > 2 * green and red > 2 * blue, f"a P(FAKE)=0.95 box should be red, got RGB {red:.0f},{green:.0f},{blue:.0f}"
    else:
        assert green > 150 and green > 2 * red and green > 2 * blue, f"a P(FAKE)=0.05 box should be green, got RGB {red:.0f},{green:.0f},{blue:.0f}"


def test_frames_between_samples_carry_the_nearest_sampled_result():
    from common.tools.visualize import nearest_sampled_position

    sampled = np.array([0, 3, 6, 9, 13])
    # worked by hand: 1 -> 0, 2 -> 3, 4 -> 3, 11 -> 9 (tie goes to the earlier), 12 -> 13, 20 -> 13
    got = [int(sampled[nearest_sampled_position(sampled, i)]) for i in (1, 2, 4, 11, 12, 20)]
    assert got == [0, 3, 3, 9, 13, 13], f"nearest sampled frames are {got}"


def test_score_colour_runs_green_to_red():
    from common.tools.visualize import score_colour

    assert score_colour(0.0) == (0, 255, 0) and score_colour(1.0) == (255, 0, 0), "endpoints must be pure green / red"
    assert score_colour(0.25) == (128, 255, 0), "0.25 must be half-way from green to yellow"


def test_summary_png_is_written(detected, clip_files, tmp_path):
    import matplotlib.image

    from common.tools.visualize import main

    summary = tmp_path / "summary.png"
    assert main(["--video", str(clip_files["fake"].path), "--predictions", str(detected["fake"]),
                 "--output", str(tmp_path / "a.mp4"), "--summary", str(summary)]) == 0
    image = matplotlib.image.imread(summary)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 300, f"summary figure has shape {image.shape}"


def _gradcam_by_hand(model: torch.nn.Module, images: torch.Tensor, layer: torch.nn.Module) -> np.ndarray:
    """Grad-CAM (Selvaraju et al. 2017) with autograd: channel weights = spatial mean of d logit / d A,
    map = ReLU(sum_k w_k A_k); then, as pytorch-grad-cam presents it, min-max scaled to [0, 1],
    resized bilinearly to the input size and min-max scaled again."""
    import cv2

    for module in model.modules():  # an in-place ReLU would overwrite the hooked activations
        if isinstance(module, torch.nn.ReLU):
            module.inplace = False
    stored = {}
    handle = layer.register_forward_hook(lambda module, inputs, output: stored.update(a=output))
    logits = model(images).reshape(len(images))
    handle.remove()
    grads = torch.autograd.grad(logits.sum(), stored["a"])[0]
    weights = grads.mean(dim=(2, 3), keepdim=True)
    maps = torch.relu((weights * stored["a"]).sum(dim=1)).detach().numpy()
    size = images.shape[-1]

    def min_max(values: np.ndarray) -> np.ndarray:
        values = values - values.min()
        return values / values.max() if values.max() > 0 else values

    return np.stack([min_max(cv2.resize(min_max(cam), (size, size))) for cam in maps])


def test_gradcam_maps_match_a_hand_computed_gradcam(tiny_checkpoint, clip_files):
    from common.models import load_detector
    from common.preprocessing import Preprocessing
    from common.tools.visualize import gradcam_maps, last_conv_layer

    model, _ = load_detector(tiny_checkpoint, "cpu")
    crops = np.ascontiguousarray(clip_files["fake"].frames[:3, 20:84, 32:96])  # (3, 64, 64, 3) around the face
    ours = gradcam_maps(model, crops, Preprocessing(64, (0.5,) * 3, (0.5,) * 3), torch.device("cpu"))
    images = (torch.from_numpy(crops).permute(0, 3, 1, 2).float() / 255.0 - 0.5) / 0.5
    expected = _gradcam_by_hand(model, images, last_conv_layer(model))
    assert ours.shape == (3, 64, 64), f"Grad-CAM maps have shape {ours.shape}"
    np.testing.assert_allclose(ours, expected, atol=TOOLS_GRADCAM_ATOL, err_msg="Grad-CAM differs from the hand computation")


def test_gradcam_option_writes_video_and_summary(detected, clip_files, tiny_checkpoint, tmp_path):
    from common.tools.visualize import main

    output, summary = tmp_path / "cam.mp4", tmp_path / "cam.png"
    assert main(["--video", str(clip_files["fake"].path), "--predictions", str(detected["fake"]), "--output", str(output),
                 "--gradcam", "--model", str(tiny_checkpoint), "--summary", str(summary), "--device", "cpu"]) == 0
    frames, _ = _decode_all(output)
    assert len(frames) == 24 and summary.stat().st_size > 0, "Grad-CAM run did not write the video and the summary"


def test_a_version_1_report_is_still_drawn(detected, clip_files, tmp_path):
    """Reports written before schema version 2 (one frame detector) stay readable and are drawn alike."""
    from common.report import validate_report
    from common.tools.visualize import main

    old = _as_version_1(_with_scores(json.loads(detected["real"].read_text()), 0.95))
    assert validate_report(old) == [], "the rewritten version-1 report should be valid"
    predictions = tmp_path / "v1.json"
    predictions.write_text(json.dumps(old))
    output = tmp_path / "v1.mp4"
    assert main(["--video", str(clip_files["real"].path), "--predictions", str(predictions), "--output", str(output)]) == 0
    frames, _ = _decode_all(output)
    entry = next(f for f in old["frames"] if f["status"] == "face")
    red, green, blue = _edge_colour(frames[entry["index"]], entry["faces"][0]["box"], frames[0].shape[1] / 128)
    assert red > 150 and red > 2 * green, f"the version-1 face scored 0.95 should be drawn red, got {red:.0f},{green:.0f}"


@pytest.mark.parametrize("box", [(40, 0, 200, 150), (40, 2, 300, 370), (300, 10, 383, 60)])
def test_a_label_near_the_top_stays_inside_the_frame_and_clear_of_the_header(box):
    """Boxes touching the top edge (one almost the whole frame): the label's rectangle must not
    overlap the header rows nor leave the 384 x 384 frame."""
    import cv2

    from common.tools.visualize import _text_scale, header_bottom, label_origin, timeline_height

    width = height = 384
    text_scale, thickness = _text_scale(width, height)
    (text_width, text_height), baseline = cv2.getTextSize("P(fake) 0.97 #0", cv2.FONT_HERSHEY_SIMPLEX, text_scale,
                                                          thickness)
    x, y = label_origin(box, (text_width, text_height), (width, height), header_bottom(width, height),
                        height - timeline_height(height))
    assert y - text_height >= header_bottom(width, height), "the label is hidden under the header"
    assert 0 <= x and x + text_width <= width and y + baseline <= height, "the label leaves the frame"


def test_face_labels_give_a_probability_not_a_verdict_and_name_the_track():
    from common.tools.visualize import face_label

    assert face_label({"fake_probability": 0.0, "track_id": 0}) == "P(fake) 0.00 #0"
    assert face_label({"fake_probability": 0.95, "track_id": 1, "minor": True}) == "minor #1"
    assert face_label({"fake_probability": None, "track_id": 2}) == "face #2"


def test_signal_panels_place_a_variable_rate_window_on_its_sample_times():
    """A window resampled from a variable-frame-rate video reads frame 11 twice and skips frame 13: its
    panels use the report's sample times, and a blink over frames [11, 13) runs from frame 11's first
    sample (0.5 s) to the end of frame 12's (0.7 + 0.1 s), worked by hand."""
    from common.tools.visualize import signal_panels

    signals = {"fps": 10.0, "frame_indices": [10, 11, 11, 12, 14], "times_s": [0.4, 0.5, 0.6, 0.7, 0.8],
               "ear": [0.3, 0.1, 0.1, 0.1, 0.3], "ear_threshold": 0.2, "blinks": [[11, 13]]}
    (panel,) = signal_panels({"detectors": [{"name": "blink", "signals": signals}]})
    np.testing.assert_allclose(panel["times_s"], [0.4, 0.5, 0.6, 0.7, 0.8])
    np.testing.assert_allclose(panel["blinks_s"], [(0.5, 0.8)])
    older = {key: value for key, value in signals.items() if key != "times_s"}   # a report from before times_s
    (panel,) = signal_panels({"detectors": [{"name": "blink", "signals": older}]})
    np.testing.assert_allclose(panel["times_s"], [1.0, 1.1, 1.1, 1.2, 1.4])


def test_the_summary_timeline_places_frames_at_their_decoded_times():
    """A variable-frame-rate video's frame 10 can be shown at 0.5 s, not at 10 / 25 fps = 0.4 s."""
    from common.tools.visualize import frame_times_s

    frames = [{"index": 0, "timestamp_s": 0.0}, {"index": 10, "timestamp_s": 0.5}, {"index": 20, "timestamp_s": None}]
    assert frame_times_s(frames, 25.0) == pytest.approx([0.0, 0.5, 0.8])


def _frame_times(path) -> list[float]:
    with av.open(str(path)) as container:
        return sorted(float(frame.time) for frame in container.decode(video=0))


def test_the_annotated_video_shows_each_frame_at_its_own_time(clip_files, tiny_checkpoint, tmp_path):
    """A variable-frame-rate video (25 fps, then 12.5 fps) is annotated frame for frame at the times
    PyAV decodes from it; before, every frame moved to index / average rate and the second half
    played twice too fast."""
    from common.tools.detect import main as detect
    from common.tools.visualize import main
    from common.video import read_all_frames, write_video
    from tests.tolerances import VIDEO_TIMESTAMP_ATOL_S

    frames = read_all_frames(clip_files["real"].path)
    times = np.concatenate([np.arange(12) / 25, 0.44 + np.arange(1, len(frames) - 11) * 0.08])
    video = write_video(tmp_path / "vfr.mp4", frames, fps=25.0, timestamps_s=times)
    report, output = tmp_path / "vfr.json", tmp_path / "annotated.mp4"
    assert detect(["--input", str(video), "--model", str(tiny_checkpoint), "--output", str(report), "--frames", "8",
                   "--device", "cpu", "--quiet"]) == 0
    assert main(["--video", str(video), "--predictions", str(report), "--output", str(output)]) == 0
    np.testing.assert_allclose(_frame_times(output), _frame_times(video), atol=VIDEO_TIMESTAMP_ATOL_S)
    np.testing.assert_allclose(_frame_times(video), times, atol=VIDEO_TIMESTAMP_ATOL_S)
