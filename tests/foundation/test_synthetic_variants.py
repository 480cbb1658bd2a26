"""Tests of the second, Celeb-DF-like variant of mini-forensics (``variant="celeb"``).

Oracles that are not the generator: SHA-256 digests of default clips and of a default clip plan
computed with the generator as it was before variants existed (commit d4efb44), so the default
variant is unchanged byte for byte; set algebra on identity names; PyAV (decoding) and x264's own
settings record inside the written stream (its CRF); JSON; an affine colour map whose inverse the
mean-and-spread colour transfer must find exactly.
"""
from __future__ import annotations

import hashlib
import json

import av
import numpy as np
import pytest

from common.errors import CourseError, run_cli
from common.experiment import ensure_synthetic_benchmark, synthetic_folder_name
from common.synthetic import IDENTITIES, VARIANTS, disjoint_identities, get_variant, make_clip, write_benchmark
from common.synthetic.__main__ import main as cli_main
from common.synthetic.benchmark import plan_clips
from common.synthetic.manipulations import swap_face
from tests.tolerances import SYNTH_COLOUR_TRANSFER_ATOL

pytestmark = pytest.mark.foundation

# sha256 of make_clip(method, seed=3, n_frames=4, size=64).frames.tobytes(), computed before the
# variants were added (commit d4efb44): the default variant must still render these exact bytes.
DEFAULT_CLIP_SHA256 = {
    "real": "ccff87461394f1b2110660b50955f2d5ad92eed7d63489cd7b09b58dbefd8fc3",
    "FaceSwap": "ff263a9afb5eff19706f9b12035609e0f267ee373a55b20c31541a4d2a62e09c",
    "Deepfake": "7a88c9e969ee055f3bdaffcf6871e51417a4eb30dab950c8cde9912df0cb952a",
}
# sha256 of json.dumps(plan_clips(20, 0, ["FaceSwap", "GANUpsample", "Deepfake", "TemporalFlicker"], 0.5)),
# also computed before the change: splits, identities, swap sources and seeds of a default benchmark.
DEFAULT_PLAN_SHA256 = "d9cc930c156bf628fdf491c5e8935d2f6e992842c37433522d58e2bced0c641a"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, f"expected one error line, got {err!r}"
    return err


# --- the default variant is unchanged ---------------------------------------------------------

def test_default_variant_renders_the_same_bytes_as_before_variants_existed():
    for method, digest in DEFAULT_CLIP_SHA256.items():
        clip = make_clip(method, seed=3, n_frames=4, size=64)
        assert _sha256(clip.frames.tobytes()) == digest, f"the default {method} clip changed"
        named = make_clip(method, seed=3, n_frames=4, size=64, variant="ff")
        assert np.array_equal(named.frames, clip.frames), "variant='ff' must be the default"


def test_default_clip_plan_is_unchanged():
    plan = plan_clips(20, 0, ["FaceSwap", "GANUpsample", "Deepfake", "TemporalFlicker"], 0.5)
    assert _sha256(json.dumps(plan).encode()) == DEFAULT_PLAN_SHA256
    assert plan_clips(20, 0, ["FaceSwap"], 0.5, list(IDENTITIES)) == plan_clips(20, 0, ["FaceSwap"], 0.5)


# --- identities ----------------------------------------------------------------------------------

def test_celeb_identities_are_real_faces_disjoint_from_the_ff_side_of_a_cross_test():
    celeb = set(get_variant("celeb").identities)
    ff_side = set(disjoint_identities("ff", "celeb"))
    assert len(celeb) == 50 and len(ff_side) == 52
    assert not celeb & ff_side, "a face of the celeb variant appears in the ff benchmark of a cross test"
    assert celeb | ff_side == set(IDENTITIES), "every shipped face is used by one side"
    assert celeb == {f"lfw_{i:03d}" for i in range(1, 100, 2)}
    assert {"astronaut", "grace_hopper"} <= ff_side


def test_celeb_clips_show_and_swap_only_celeb_faces():
    celeb = set(get_variant("celeb").identities)
    for seed in range(4):
        truth = make_clip("FaceSwap", seed=seed, n_frames=1, size=64, variant="celeb").truth
        assert truth.identity in celeb and truth.source_identity in celeb
        assert truth.identity != truth.source_identity
    with pytest.raises(CourseError, match="celeb"):
        make_clip("real", n_frames=1, variant="celeb", identity="astronaut")


# --- frame size, colour transfer, compression ----------------------------------------------------

def test_frame_size_is_the_variants_unless_requested():
    assert make_clip("real", seed=1, n_frames=1, variant="celeb").frames.shape == (1, 192, 192, 3)
    assert make_clip("real", seed=1, n_frames=1).frames.shape == (1, 128, 128, 3)
    assert make_clip("GANUpsample", seed=1, n_frames=2, size=96, variant="celeb").frames.shape == (2, 96, 96, 3)


def test_full_colour_transfer_inverts_an_affine_colour_change():
    # Source = 2 * target + 10 per channel: matching mean and spread per channel maps it back onto
    # the target exactly (up to the transfer's 1e-3 guard on the spread), wherever the mask is.
    rng = np.random.default_rng(0)
    size = 64
    target = rng.uniform(20, 100, size=(size, size, 3)).astype(np.float32)
    source = 2 * target + 10
    landmarks = np.array([[22, 26], [42, 26], [32, 34], [24, 44], [40, 44]], dtype=np.float32)
    alpha = np.ones((size, size), np.float32)
    full, mask = swap_face(target, landmarks, source, alpha, landmarks, colour_correction=1.0, feather=2.0,
                           colour_transfer="full")
    assert mask.max() == 1.0 and mask.min() == 0.0
    np.testing.assert_allclose(full, target, atol=SYNTH_COLOUR_TRANSFER_ATOL)
    shifted, _ = swap_face(target, landmarks, source, alpha, landmarks, colour_correction=1.0, feather=2.0)
    inside = mask == 1.0
    assert np.abs(shifted[inside] - target[inside]).mean() > 10, "the mean shift alone keeps the doubled contrast"


def _x264_crf(path) -> float:
    """The CRF x264 wrote into its own settings record (an SEI message in the stream)."""
    data = path.read_bytes()
    start = data.index(b"crf=") + 4
    return float(data[start:data.index(b" ", start)])


@pytest.fixture(scope="module")
def celeb_benchmark(tmp_path_factory):
    out = tmp_path_factory.mktemp("celeb")
    return out, write_benchmark(out, n_clips=8, n_frames=3, size=64, methods=["FaceSwap", "GANUpsample"],
                                seed=2, progress=False, variant="celeb")


def test_manifest_records_the_variant_and_its_faces(celeb_benchmark):
    out, manifest_path = celeb_benchmark
    manifest = json.loads(manifest_path.read_text())
    assert manifest["variant"] == "celeb"
    assert manifest["identities"] == sorted(get_variant("celeb").identities)
    for entry in manifest["clips"]:
        assert entry["identity"] in manifest["identities"] and entry["size"] == 64
    entry = manifest["clips"][0]
    with av.open(str(out / entry["file"])) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 3 and frames[0].shape == (64, 64, 3)
    assert _x264_crf(out / entry["file"]) == get_variant("celeb").crf == 23


def test_a_restricted_ff_benchmark_records_variant_and_identities_and_uses_crf_18(tmp_path):
    pool = disjoint_identities("ff", "celeb")
    manifest_path = write_benchmark(tmp_path, n_clips=6, n_frames=2, size=64, methods=["GANUpsample"],
                                    progress=False, identities=pool)
    manifest = json.loads(manifest_path.read_text())
    assert manifest["variant"] == "ff" and manifest["identities"] == sorted(pool)
    assert {e["identity"] for e in manifest["clips"]} <= set(pool)
    assert _x264_crf(tmp_path / manifest["clips"][0]["file"]) == 18


# --- errors ---------------------------------------------------------------------------------------

def test_unknown_variant_is_a_one_line_course_error(tmp_path, capsys):
    for call in (lambda: get_variant("dfdc"), lambda: make_clip("real", n_frames=1, variant="dfdc"),
                 lambda: write_benchmark(tmp_path / "w", n_clips=4, n_frames=1, variant="dfdc", progress=False)):
        with pytest.raises(CourseError) as error:
            call()
        assert "dfdc" in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "w").exists(), "nothing is written for a bad variant"
    for argv in (["--out", str(tmp_path / "c"), "--variant", "dfdc"],
                 ["--out", str(tmp_path / "c"), "--variant", "celeb", "--disjoint-from", "celeb"]):
        with pytest.raises(SystemExit) as exit_info:
            run_cli(cli_main, argv)
        assert exit_info.value.code == 2
        _one_line_error(capsys)
    assert not (tmp_path / "c").exists()
    with pytest.raises(CourseError, match="give at least 6"):
        write_benchmark(tmp_path / "few", n_clips=4, n_frames=1, identities=["lfw_001", "lfw_003"], progress=False)
    assert set(VARIANTS) == {"ff", "celeb"}


def test_ensure_synthetic_benchmark_refuses_a_folder_of_another_variant(celeb_benchmark):
    out, _ = celeb_benchmark
    assert ensure_synthetic_benchmark(out, n_clips=8, n_frames=3, variant="celeb") == out
    with pytest.raises(CourseError, match="'celeb' variant"):
        ensure_synthetic_benchmark(out, n_clips=8, n_frames=3)
    assert synthetic_folder_name() == "mini-forensics" and synthetic_folder_name("celeb") == "mini-forensics-celeb"
