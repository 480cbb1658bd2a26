"""Task 2.6: statistics of the face's flow against its surroundings, worked by hand and on real flow."""
import numpy as np
import pytest

from phase2_temporal_analysis import template_optical_flow as flow
from tests.phase2.flow_textures import moved, smooth_texture, translation
from tests.tolerances import FLOAT64_EXACT, FLOW_VS_TRUTH_PX

pytestmark = pytest.mark.task("2.6")


def face_mask(side=8):
    mask = np.zeros((side, side), dtype=bool)
    mask[2:6, 2:6] = True
    return mask


def test_worked_example_face_slides_over_a_still_head():
    field = np.zeros((8, 8, 2))
    field[face_mask()] = [1.0, 0.0]
    np.testing.assert_allclose(flow.flow_statistics(field, face_mask()), [1, 0, 1, 0, 0], **FLOAT64_EXACT)


def test_a_head_moving_as_one_body_has_no_mismatch_and_no_spread():
    field = np.broadcast_to([3.0, -4.0], (8, 8, 2)).copy()
    np.testing.assert_allclose(flow.flow_statistics(field, face_mask()), [5, 5, 0, 0, 0], **FLOAT64_EXACT)


def test_spread_and_speed_by_brute_force():
    rng = np.random.default_rng(0)
    field = rng.normal(size=(10, 12, 2))
    mask = rng.uniform(size=(10, 12)) < 0.4
    inside = [field[y, x] for y in range(10) for x in range(12) if mask[y, x]]
    outside = [field[y, x] for y in range(10) for x in range(12) if not mask[y, x]]

    def speed(vectors):
        return sum(np.hypot(*v) for v in vectors) / len(vectors)

    def spread(vectors):
        centre = sum(vectors) / len(vectors)
        return np.sqrt(sum(((v - centre) ** 2).sum() for v in vectors) / len(vectors))

    mismatch = np.hypot(*(sum(inside) / len(inside) - sum(outside) / len(outside)))
    np.testing.assert_allclose(flow.flow_statistics(field, mask),
                               [speed(inside), speed(outside), mismatch, spread(inside), spread(outside)], rtol=1e-10)


def test_on_farneback_flow_of_a_pasted_face_that_slides():
    # A texture whose central face region moves (1.5, 0) px while its surroundings stay: the
    # mismatch is the face's relative speed.
    texture = smooth_texture(side=96, seed=3)
    following = texture.copy()
    face = np.zeros((96, 96), dtype=bool)
    face[24:72, 24:72] = True
    following[face] = moved(texture, translation(1.5, 0.0))[face]
    statistics = flow.flow_statistics(flow.dense_flow(texture, following), flow.face_region_mask(96, 0.5))
    assert abs(statistics[2] - 1.5) < 0.3, "mismatch = 1.5 px (Farneback blurs the face's border a little)"
    assert statistics[1] < 0.3
    still = flow.flow_statistics(flow.dense_flow(texture, moved(texture, translation(1.5, 0.0))),
                                 flow.face_region_mask(96, 0.5))
    assert still[2] < FLOW_VS_TRUTH_PX, "a whole head moving: no mismatch"
