"""Tests of the mini-forensics synthetic benchmark against oracles that are not the generator.

Oracles: facenet-pytorch's MTCNN (a real face detector), the EAR formula worked by hand, numpy's
FFT and scipy's Butterworth filter (rPPG), PyAV (decoding), human blink physiology, JSON.
"""
from __future__ import annotations

import json
import warnings

import av
import numpy as np
import pytest
from scipy import signal

from common.errors import CourseError, run_cli
from common.synthetic import IDENTITIES, METHODS, ClipTruth, make_clip, write_benchmark
from common.synthetic.__main__ import main as cli_main
from common.synthetic.physiology import draw_blink_schedule
from common.video import write_video
from tests.tolerances import (SYNTH_BLINK_DURATION_S, SYNTH_BLINK_RATE_PER_MIN, SYNTH_EAR_BLINK_MAX,
                              SYNTH_EAR_CLOSED_MAX, SYNTH_EAR_OPEN, SYNTH_FLICKER_DIFFERENCE_RATIO,
                              SYNTH_MIN_BOX_IOU, SYNTH_MIN_DETECTION_RATE, SYNTH_PULSE_BPM_TOLERANCE,
                              SYNTH_SWAP_MIN_CHANGE, SYNTH_SWAP_NOISE_RATIO_MAX, SYNTH_UPSAMPLING_ENERGY_RATIO)

pytestmark = pytest.mark.foundation

FPS = 25.0
MANIFEST_CLIP_KEYS = {"file", "clip_id", "label", "method", "identity", "group", "split", "n_frames", "size",
                      "heart_rate_bpm", "blink_times_s", "truth", "original"}


@pytest.fixture(scope="module")
def long_real_clip():
    """A 10-s real clip (250 frames at 25 fps) with at least two blinks."""
    return make_clip("real", seed=4, n_frames=250, identity="lfw_023")


@pytest.fixture(scope="module")
def short_clips():
    """The same 24-frame scene under every method (same seed: same face, motion, noise)."""
    return {method: make_clip(method, seed=11, n_frames=24, identity="astronaut", source_identity=None
                              if method not in ("FaceSwap", "Deepfake") else "lfw_040") for method in METHODS}


def _gray(frames: np.ndarray) -> np.ndarray:
    return frames.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def _iou(a, b) -> float:
    x1, y1, x2, y2 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def _hand_ear(points: np.ndarray) -> np.ndarray:
    """EAR = (|p2-p6| + |p3-p5|) / (2 |p1-p4|), written out here from the paper's formula."""
    p1, p2, p3, p4, p5, p6 = (points[..., i, :] for i in range(6))
    dist = lambda a, b: np.sqrt(((a - b) ** 2).sum(axis=-1))  # noqa: E731
    return (dist(p2, p6) + dist(p3, p5)) / (2.0 * dist(p1, p4))


def _inner_box(box, shrink: float = 0.2) -> tuple[slice, slice]:
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    return (slice(int(round(y1 + shrink * h)), int(round(y2 - shrink * h))),
            slice(int(round(x1 + shrink * w)), int(round(x2 - shrink * w))))


# --- determinism -----------------------------------------------------------------------------

def test_same_seed_gives_identical_clip_and_different_seed_a_different_one():
    first = make_clip("Deepfake", seed=5, n_frames=12, size=96)
    again = make_clip("Deepfake", seed=5, n_frames=12, size=96)
    other = make_clip("Deepfake", seed=6, n_frames=12, size=96)
    assert np.array_equal(first.frames, again.frames), "same seed must give byte-identical frames"
    assert np.array_equal(first.truth.mask, again.truth.mask), "same seed must give the same mask"
    assert first.truth.identity == again.truth.identity and first.truth.source_identity == again.truth.source_identity
    assert not np.array_equal(first.frames, other.frames), "a different seed must give different frames"
    assert first.frames.shape == (12, 96, 96, 3) and first.frames.dtype == np.uint8


def test_clip_shapes_labels_and_masks_follow_the_contract(short_clips):
    for method, clip in short_clips.items():
        truth = clip.truth
        T, H, W = clip.frames.shape[:3]
        assert truth.label == (0 if method == "real" else 1), f"{method}: label must be 1 FAKE / 0 REAL"
        assert truth.boxes.shape == (T, 4) and truth.eye_landmarks.shape == (T, 2, 6, 2)
        assert truth.eye_openness.shape == (T,) and truth.blink_frames.dtype == bool
        assert truth.mask.shape == (T, H, W) and truth.mask.dtype == np.float32
        assert 0.0 <= truth.mask.min() and truth.mask.max() <= 1.0, f"{method}: mask outside [0, 1]"
        if method == "real":
            assert truth.mask.max() == 0.0, "a real clip's mask must be all zeros"
        else:
            assert truth.mask.max() > 0.9, f"{method}: a fake's mask must mark the manipulated face"
    assert short_clips["FaceSwap"].truth.source_identity == "lfw_040"


def test_bad_arguments_raise_course_error_with_one_line_message():
    for kwargs in ({"method": "NotAMethod"}, {"identity": "nobody"}, {"size": 8}, {"n_frames": 0}):
        with pytest.raises(CourseError) as error:
            make_clip(**{"method": "real", **kwargs})
        assert "\n" not in str(error.value), "error messages must be one line"


# --- the real detector finds the faces ----------------------------------------------------------

def test_mtcnn_finds_the_face_in_real_and_manipulated_clips_where_the_truth_box_is():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from facenet_pytorch import MTCNN
    detector = MTCNN(keep_all=True, device="cpu")
    found, total, ious = 0, 0, []
    for seed, identity in ((21, "grace_hopper"), (22, "lfw_007")):
        for method in METHODS:
            clip = make_clip(method, seed=seed, n_frames=20, identity=identity)
            frames = [0, 13]  # 2 frames x 6 methods x 2 seeds = 24 frames
            boxes, _ = detector.detect([clip.frames[k] for k in frames])
            for j, k in enumerate(frames):
                total += 1
                if boxes[j] is None:
                    continue
                best = max(_iou(np.asarray(b, float), clip.truth.boxes[k]) for b in boxes[j])
                ious.append(best)
                found += best >= SYNTH_MIN_BOX_IOU
    assert found / total >= SYNTH_MIN_DETECTION_RATE, (
        f"MTCNN found the truth face in only {found}/{total} frames (IoUs {np.round(ious, 2)})")


# --- blinks ---------------------------------------------------------------------------------------

def test_blink_schedule_has_human_rates_and_durations():
    lo_rate, hi_rate = SYNTH_BLINK_RATE_PER_MIN
    for seed, rate in enumerate((10.0, 17.0, 30.0)):
        schedule = draw_blink_schedule(np.random.default_rng(seed), 600.0, FPS, rate)
        measured = len(schedule.start_s) / 10.0  # blinks per minute over 10 minutes
        assert lo_rate * 0.8 <= measured <= hi_rate * 1.2, f"rate {rate}/min produced {measured}/min"
        gaps = np.diff(schedule.start_s)
        assert (gaps > schedule.duration_s[:-1]).all(), "blinks must not overlap"
        assert np.std(gaps) > 0.2 * np.mean(gaps), "inter-blink intervals must be random, not periodic"
    clip_truth = make_clip("real", seed=4, n_frames=250, identity="lfw_023").truth
    assert lo_rate <= clip_truth.blink_rate_per_min <= hi_rate
    durations = clip_truth.blink_durations_s
    assert len(durations) >= 1, "this 10-s clip is expected to contain blinks"
    assert ((durations >= SYNTH_BLINK_DURATION_S[0]) & (durations <= SYNTH_BLINK_DURATION_S[1])).all(), durations


def test_blink_frames_and_times_agree(long_real_clip):
    truth = long_real_clip.truth
    times = np.arange(truth.n_frames) / truth.fps
    for start, duration in zip(truth.blink_times_s, truth.blink_durations_s):
        during = (times >= start) & (times < start + duration)
        assert truth.blink_frames[during].any(), f"blink at {start:.2f}s has no blink frame"
    in_some_blink = np.zeros(truth.n_frames, bool)
    for start, duration in zip(truth.blink_times_s, truth.blink_durations_s):
        in_some_blink |= (times >= start) & (times < start + duration)
    assert not truth.blink_frames[~in_some_blink].any(), "blink frames outside every listed blink"
    assert (truth.eye_openness[~in_some_blink] == 1.0).all(), "eyes must be fully open between blinks"


def test_ear_from_truth_landmarks_is_low_on_blink_frames_and_high_elsewhere(long_real_clip):
    truth = long_real_clip.truth
    ear = _hand_ear(truth.eye_landmarks.astype(np.float64)).mean(axis=1)  # (T,) mean of both eyes
    assert truth.blink_frames.sum() >= 2, "the fixture clip should contain blink frames"
    assert (ear[truth.blink_frames] < SYNTH_EAR_BLINK_MAX).all(), f"EAR on blink frames: {ear[truth.blink_frames]}"
    assert ear.min() < SYNTH_EAR_CLOSED_MAX, "a blink must close the eye (EAR near 0)"
    open_frames = truth.eye_openness == 1.0
    lo, hi = SYNTH_EAR_OPEN
    assert ((ear[open_frames] > lo) & (ear[open_frames] < hi)).all(), (
        f"open-eye EAR must be in ({lo}, {hi}), got {ear[open_frames].min():.3f}..{ear[open_frames].max():.3f}")


def test_blinks_are_painted_on_the_frames(long_real_clip):
    truth = long_real_clip.truth
    gray = _gray(long_real_clip.frames)
    closed = int(np.argmin(truth.eye_openness))
    open_frames = np.nonzero(truth.eye_openness == 1.0)[0]
    open_ = int(open_frames[np.argmin(np.abs(open_frames - closed))])  # the nearest open-eye frame
    def eye_patch_std(frame_index: int) -> float:
        points = truth.eye_landmarks[frame_index].reshape(-1, 2)
        x1, y1 = np.floor(points.min(axis=0)).astype(int)
        x2, y2 = np.ceil(points.max(axis=0)).astype(int)
        return float(gray[frame_index, y1 - 1:y2 + 2, x1:x2 + 1].std())
    assert eye_patch_std(closed) < eye_patch_std(open_), "a closed eye must look flatter (lid) than an open eye"


# --- pulse ----------------------------------------------------------------------------------------

def _heart_rate_from_video(frames: np.ndarray, truth: ClipTruth) -> float:
    """GREEN rPPG (Verkruysse 2008): mean green of the cheeks, band-pass 0.7-4 Hz, FFT peak."""
    green = []
    for k, (x1, y1, x2, y2) in enumerate(truth.boxes):
        top = truth.eye_landmarks[k, :, :, 1].max() + 0.1 * (y2 - y1)
        rows = slice(int(round(top)), int(round(y2 - 0.2 * (y2 - y1))))
        cols = slice(int(round(x1 + 0.2 * (x2 - x1))), int(round(x2 - 0.2 * (x2 - x1))))
        green.append(frames[k, rows, cols, 1].astype(np.float64).mean())
    green = np.asarray(green) - np.mean(green)
    b, a = signal.butter(3, [0.7, 4.0], btype="band", fs=truth.fps)
    filtered = signal.filtfilt(b, a, green)
    n_fft = 16 * len(filtered)
    spectrum = np.abs(np.fft.rfft(filtered * np.hanning(len(filtered)), n_fft))
    bpm = np.fft.rfftfreq(n_fft, 1.0 / truth.fps) * 60.0
    band = (bpm >= 42) & (bpm <= 240)
    return float(bpm[band][np.argmax(spectrum[band])])


def test_pulse_is_recoverable_from_the_written_mp4(long_real_clip, tmp_path):
    truth = long_real_clip.truth
    assert 50 <= truth.heart_rate_bpm <= 120
    path = write_video(tmp_path / "real.mp4", long_real_clip.frames, truth.fps)
    with av.open(str(path)) as container:
        decoded = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
    assert decoded.shape == long_real_clip.frames.shape
    estimate = _heart_rate_from_video(decoded, truth)
    assert abs(estimate - truth.heart_rate_bpm) <= SYNTH_PULSE_BPM_TOLERANCE, (
        f"FFT peak {estimate:.1f} bpm, truth {truth.heart_rate_bpm:.1f} bpm: the pulse did not survive H.264")
    green_amplitude = np.abs(truth.pulse).max()
    assert 0.5 <= green_amplitude <= 2.0, f"pulse amplitude {green_amplitude:.2f} gray levels is not realistic"


def test_physiological_fake_lacks_blinks_or_a_consistent_pulse():
    for seed in range(4):
        truth = make_clip("Physiological", seed=seed, n_frames=250, size=64).truth
        assert truth.blink_rate_per_min <= 4.0, "a Physiological fake must blink rarely or never"
        assert truth.pulse_mode in ("absent", "antiphase")
        if truth.pulse_mode == "absent":
            assert truth.heart_rate_bpm is None and not truth.pulse.any()


# --- manipulation cues --------------------------------------------------------------------------

def test_gan_upsampled_face_has_more_energy_at_half_the_sampling_rate(short_clips):
    def nyquist_share(clip) -> float:
        shares = []
        for k in range(0, clip.truth.n_frames, 6):
            rows, cols = _inner_box(clip.truth.boxes[k])
            patch = _gray(clip.frames[k, rows, cols])
            patch = patch[: patch.shape[0] // 2 * 2, : patch.shape[1] // 2 * 2]
            power = np.abs(np.fft.fft2(patch - patch.mean())) ** 2
            h, w = power.shape
            shares.append((power[h // 2, :].sum() + power[:, w // 2].sum()) / power.sum())
        return float(np.mean(shares))
    real, fake = nyquist_share(short_clips["real"]), nyquist_share(short_clips["GANUpsample"])
    assert fake > SYNTH_UPSAMPLING_ENERGY_RATIO * real, (
        f"upsampled face: {fake:.4f} of its energy at 0.5 cycles/pixel vs {real:.4f} for the real face")


def test_face_swap_changes_the_masked_face_and_not_the_background(short_clips):
    real, swap = short_clips["real"], short_clips["FaceSwap"]
    mask = swap.truth.mask
    difference = np.abs(real.frames.astype(int) - swap.frames.astype(int)).max(axis=-1)
    assert difference[mask == 0].max() == 0, "pixels outside the swap mask must be untouched"
    core = mask > 0.9
    assert core.sum() > 100, "the swap mask must cover the face"
    assert difference[core].mean() > SYNTH_SWAP_MIN_CHANGE, "the swapped face must differ from the original"


def _immerkaer_noise_sigma(gray: np.ndarray) -> float:
    """Noise standard deviation of a 2-D image by Immerkaer's formula (CVIU 1996), written out here:
    sigma = sqrt(pi / 2) / (6 (W - 2) (H - 2)) * sum |I * N|, N = [[1, -2, 1], [-2, 4, -2], [1, -2, 1]]."""
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)
    height, width = gray.shape
    response = signal.convolve2d(gray, kernel, mode="valid")
    return float(np.sqrt(np.pi / 2) / (6 * (width - 2) * (height - 2)) * np.abs(response).sum())


def test_face_swap_is_rendered_at_lower_resolution_without_sensor_noise(short_clips):
    real, swap = short_clips["real"], short_clips["FaceSwap"]
    ratios = []
    for k in range(0, swap.truth.n_frames, 6):
        rows, cols = np.where(swap.truth.mask[k] > 0.9)
        centre_row, centre_col = (rows.min() + rows.max()) // 2, (cols.min() + cols.max()) // 2
        half_height, half_width = (rows.max() - rows.min()) // 4, (cols.max() - cols.min()) // 4
        window = (slice(centre_row - half_height, centre_row + half_height),
                  slice(centre_col - half_width, centre_col + half_width))
        ratios.append(_immerkaer_noise_sigma(_gray(swap.frames[k][window]))
                      / _immerkaer_noise_sigma(_gray(real.frames[k][window])))
    assert max(ratios) < SYNTH_SWAP_NOISE_RATIO_MAX, (
        f"noise inside the swapped face / real face: {np.round(ratios, 2)}; the swap must lose the camera noise")


def test_temporal_flicker_raises_frame_to_frame_difference_of_the_face(short_clips):
    def face_difference(clip) -> float:
        gray = _gray(clip.frames)
        rows, cols = _inner_box(clip.truth.boxes.mean(axis=0), shrink=0.3)
        return float(np.abs(np.diff(gray[:, rows, cols], axis=0)).mean())
    real, fake = face_difference(short_clips["real"]), face_difference(short_clips["TemporalFlicker"])
    assert fake > SYNTH_FLICKER_DIFFERENCE_RATIO * real, (
        f"face frame-to-frame difference {fake:.2f} (flicker) vs {real:.2f} (real)")


# --- the benchmark on disk -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def written_benchmark(tmp_path_factory):
    out = tmp_path_factory.mktemp("mini_forensics")
    manifest_path = write_benchmark(out, n_clips=8, seed=3, n_frames=10, size=64, progress=False)
    return out, manifest_path


def test_every_fake_is_made_from_a_real_clip_of_its_split_like_faceforensics(written_benchmark):
    _, manifest_path = written_benchmark
    clips = {entry["clip_id"]: entry for entry in json.loads(manifest_path.read_text())["clips"]}
    fakes = [entry for entry in clips.values() if entry["label"] == 1]
    assert fakes, "the fixture benchmark must contain fakes"
    for fake in fakes:
        if fake["original"] is None:
            assert not any(c["label"] == 0 and c["split"] == fake["split"] for c in clips.values()), (
                "a fake may lack an original only in a split without real clips")
            continue
        original = clips[fake["original"]]
        assert original["label"] == 0, "a fake's original is a real clip"
        assert (original["identity"], original["split"]) == (fake["identity"], fake["split"]), (
            "a fake shares its original's identity and split: only the manipulation tells them apart")


def test_manifest_round_trip(written_benchmark):
    out, manifest_path = written_benchmark
    manifest = json.loads(manifest_path.read_text())
    assert set(manifest) == {"name", "version", "seed", "fps", "clips"}
    assert (manifest["name"], manifest["version"], manifest["seed"], manifest["fps"]) == ("mini-forensics", 1, 3, 25.0)
    assert len(manifest["clips"]) == 8
    splits_of_identity: dict[str, set] = {}
    for entry in manifest["clips"]:
        assert set(entry) == MANIFEST_CLIP_KEYS, f"manifest entry keys {sorted(entry)}"
        assert (out / entry["file"]).is_file() and (out / entry["truth"]).is_file()
        assert entry["file"] == f"videos/{entry['split']}/{entry['clip_id']}.mp4"
        truth = ClipTruth.load(out / entry["truth"])
        assert (truth.label, truth.method, truth.identity) == (entry["label"], entry["method"], entry["identity"])
        assert entry["label"] == (0 if entry["method"] == "real" else 1) and entry["group"] == entry["identity"]
        assert truth.heart_rate_bpm == entry["heart_rate_bpm"]
        assert np.allclose(truth.blink_times_s, entry["blink_times_s"], atol=1e-5)
        assert truth.mask.dtype == np.float32 and truth.mask.shape == (10, 64, 64)
        for name in filter(None, (truth.identity, truth.source_identity)):
            splits_of_identity.setdefault(name, set()).add(entry["split"])
    assert all(len(s) == 1 for s in splits_of_identity.values()), "an identity appears in two splits"
    assert {e["split"] for e in manifest["clips"]} == {"train", "val", "test"}
    assert sum(e["label"] for e in manifest["clips"]) == 4, "fake_fraction 0.5 of 8 clips"


def test_truth_save_load_round_trip(tmp_path, short_clips):
    truth = short_clips["Deepfake"].truth
    loaded = ClipTruth.load(truth.save(tmp_path / "t.npz"))
    assert loaded.metadata() == truth.metadata()
    for name in ("boxes", "eye_landmarks", "eye_openness", "blink_frames", "blink_times_s", "pulse", "mask"):
        assert np.array_equal(getattr(loaded, name), getattr(truth, name)), f"{name} changed in the round trip"
    with pytest.raises(CourseError):
        ClipTruth.load(tmp_path / "missing.npz")


def test_written_mp4_decodes_with_pyav_as_h264(written_benchmark):
    out, manifest_path = written_benchmark
    entry = json.loads(manifest_path.read_text())["clips"][0]
    with av.open(str(out / entry["file"])) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == entry["n_frames"] and frames[0].shape == (64, 64, 3)


def test_cli_rejects_bad_arguments_with_one_line_error(tmp_path, capsys):
    for argv in (["--out", str(tmp_path), "--clips", "0"], ["--out", str(tmp_path), "--methods", "Nope"]):
        with pytest.raises(SystemExit) as exit_info:
            run_cli(cli_main, argv)
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1, f"expected one error line, got {err!r}"
    assert not (tmp_path / "manifest.json").exists()


def test_identities_cover_the_shipped_faces():
    assert IDENTITIES[:2] == ["astronaut", "grace_hopper"] and len(IDENTITIES) == 102
    assert METHODS[0] == "real" and len(set(METHODS)) == len(METHODS) >= 6
