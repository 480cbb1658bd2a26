"""The landmark interface (common/landmarks.py, provided plumbing, not a graded task).

Oracles: the astronaut's eye boxes annotated by hand on scikit-image's 512x512 image (lids and
corners, read off a 5x enlargement with a 10-px grid), her fringe (the forehead region must be
the skin below it, as light as her cheeks), and the mini-forensics ground truth (the
adapter must carry its eye points unchanged).
"""
import cv2
import numpy as np
import pytest
from skimage import data

from common.landmarks import NO_FACE, REGIONS, FaceMeshLandmarker, region_mask, truth_landmarks
from tests.tolerances import FOREHEAD_CHEEKS_LIGHTNESS_GAP


@pytest.fixture(scope="module")
def astronaut_series():
    with FaceMeshLandmarker(static_image_mode=True) as landmarker:
        return landmarker.detect([data.astronaut(), np.zeros((64, 64, 3), np.uint8)])


# x0, y0, x1, y1 in pixels: the subject's right eye (image left), then the left eye
ASTRONAUT_EYE_BOXES = ((188, 90, 220, 110), (233, 93, 262, 112))


def test_face_mesh_eye_points_fall_inside_the_astronauts_eyes(astronaut_series):
    assert astronaut_series.ok[0], "the face mesh found no face on the astronaut"
    for eye, (x0, y0, x1, y1) in zip(astronaut_series.eyes[0], ASTRONAUT_EYE_BOXES):
        inside = (eye[:, 0] >= x0) & (eye[:, 0] <= x1) & (eye[:, 1] >= y0) & (eye[:, 1] <= y1)
        assert inside.all(), f"eye points {eye.round(1).tolist()} leave the hand-annotated eye box {(x0, y0, x1, y1)}"


def test_a_frame_without_a_face_is_reported_not_dropped(astronaut_series):
    assert len(astronaut_series) == 2 and astronaut_series.ok.tolist() == [True, False]
    assert astronaut_series.reasons[1] == NO_FACE and astronaut_series.failed_frames == [1]
    assert np.isnan(astronaut_series.eyes[1]).all(), "a failed frame's points are NaN"
    assert not region_mask(astronaut_series, 1, "forehead", (64, 64)).any()


def test_skin_regions_are_skin_between_eyes_and_mouth(astronaut_series):
    image = data.astronaut()
    masks = {name: region_mask(astronaut_series, 0, name, image.shape[:2]) for name in REGIONS}
    eyes_y = astronaut_series.eyes[0, :, :, 1].mean()
    rows = {name: np.flatnonzero(mask.any(axis=1)) for name, mask in masks.items()}
    assert all(mask.sum() > 100 for mask in masks.values()), "every region covers some skin"
    assert rows["forehead"].max() < eyes_y < rows["right_cheek"].min(), "forehead above the eyes, cheeks below"
    for name, mask in masks.items():
        red, green, blue = image[mask].mean(axis=0)
        assert red > green > blue, f"{name}: mean colour {image[mask].mean(axis=0)} is not skin-like (R > G > B)"


def test_forehead_region_is_skin_below_the_fringe(astronaut_series):
    """The astronaut's fringe covers her upper forehead (seen on a 4x enlargement: the hair reaches
    down to about 20 px above the eyes): the forehead region must be the bare skin below it, as
    light as her cheeks, not hair. A hull up to the mesh's hairline points (10, 109, 338) is about
    50 lightness levels darker than the cheeks here and averages the pulse away."""
    image = data.astronaut()
    lightness = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)[..., 0].astype(np.float64)  # L* scaled to 0-255
    mean_l = {name: lightness[region_mask(astronaut_series, 0, name, image.shape[:2])].mean() for name in REGIONS}
    cheeks = (mean_l["right_cheek"] + mean_l["left_cheek"]) / 2
    assert abs(mean_l["forehead"] - cheeks) < FOREHEAD_CHEEKS_LIGHTNESS_GAP, (
        f"forehead lightness {mean_l['forehead']:.0f} against the cheeks' {cheeks:.0f}: the region reaches the hair")


def test_truth_adapter_keeps_the_eye_points_and_marks_every_frame_ok():
    from common.synthetic import make_clip

    clip = make_clip("real", seed=4, n_frames=6, size=128)
    series = truth_landmarks(clip.truth)
    np.testing.assert_array_equal(series.eyes, clip.truth.eye_landmarks)
    assert series.ok.all() and series.mesh is None and series.source == "truth"
    for name in REGIONS:
        mask = region_mask(series, 0, name, (128, 128))
        assert mask.sum() > 20, f"{name} is too small on a 128-px clip"
