"""Colour consistency across the face boundary (provided with phase 4's face-consistency file, not
a graded task): ``boundary_colour_gap`` and its per-frame wrapper.

Oracles: hand-made images (one skin colour, a disk-shaped face tinted or not) whose colour
difference is worked with scikit-image's CIELAB conversion and Delta E (not OpenCV, which the
function uses), and band geometry worked by hand.
"""
import numpy as np
import pytest
from skimage.color import deltaE_cie76, rgb2lab

from phase4_biological_signals import template_face_consistency as m
from tests.tolerances import LAB_DELTA_E_VS_SKIMAGE

SKIN = (200, 150, 120)
TINTED = (230, 150, 120)


def disk_image(inside, outside, size=80, radius=20):
    yy, xx = np.mgrid[:size, :size]
    mask = (yy - size / 2) ** 2 + (xx - size / 2) ** 2 <= radius ** 2
    image = np.empty((size, size, 3), np.uint8)
    image[...] = outside
    image[mask] = inside
    return image, mask


def delta_e(a, b):
    lab = [rgb2lab(np.array([[c]], np.float64) / 255.0) for c in (a, b)]
    return float(deltaE_cie76(*lab)[0, 0])


def test_the_same_skin_on_both_sides_has_no_gap():
    image, mask = disk_image(SKIN, SKIN)
    assert m.boundary_colour_gap(image, mask) == pytest.approx(0.0, abs=1e-6)


def test_a_tinted_face_is_its_delta_e_from_the_skin_around_it():
    image, mask = disk_image(TINTED, SKIN)
    assert m.boundary_colour_gap(image, mask) == pytest.approx(delta_e(TINTED, SKIN), abs=LAB_DELTA_E_VS_SKIMAGE)


def test_only_the_bands_at_the_boundary_count():
    image, mask = disk_image(SKIN, SKIN)
    image[38:42, 38:42] = (0, 255, 0)            # the face's centre, 16 px from the boundary
    image[:3] = (0, 0, 255)                      # the image's top rows, 17 px outside
    assert m.boundary_colour_gap(image, mask, band_px=4) == pytest.approx(0.0, abs=1e-6)
    image, mask = disk_image(SKIN, SKIN)
    yy, xx = np.mgrid[:80, :80]
    ring = mask & ((yy - 40) ** 2 + (xx - 40) ** 2 > 17 ** 2)    # a 3-px band just inside the edge
    image[ring] = TINTED
    assert m.boundary_colour_gap(image, mask, band_px=4) > 0.5 * delta_e(TINTED, SKIN)


def test_empty_bands_give_nan():
    image, _ = disk_image(SKIN, SKIN)
    assert np.isnan(m.boundary_colour_gap(image, np.zeros((80, 80), bool)))
    assert np.isnan(m.boundary_colour_gap(image, np.ones((80, 80), bool)))


def test_per_frame_gaps_follow_the_inner_face_and_skip_failed_frames():
    from common.landmarks import series_from_mesh

    image, _ = disk_image(SKIN, SKIN)
    mesh = np.full((2, 478, 2), np.nan, np.float32)
    mesh[0] = 40.0
    # the inner face's eight points on a 24-px square around the centre: corners and edge midpoints
    square = [(28, 28), (40, 28), (52, 28), (52, 40), (52, 52), (40, 52), (28, 52), (28, 40)]
    for index, point in zip(m.INNER_FACE, square):
        mesh[0, index] = point
    series = series_from_mesh(mesh)
    image[28:53, 28:53] = TINTED                 # exactly the hull (fillConvexPoly includes its edges)
    gaps = m.boundary_colour_gaps(np.stack([image, image]), series)
    assert gaps[0] == pytest.approx(delta_e(TINTED, SKIN), abs=LAB_DELTA_E_VS_SKIMAGE)
    assert np.isnan(gaps[1]), "a frame without landmarks has no gap"
