"""Task 2.4: iterative Lucas-Kanade on one level, against known sub-pixel motions and OpenCV."""
import cv2
import numpy as np
import pytest

from phase2_temporal_analysis import template_optical_flow as flow
from tests.phase2.flow_textures import moved, smooth_texture, translation
from tests.tolerances import FLOW_VS_OPENCV_PX, FLOW_VS_TRUTH_PX

pytestmark = pytest.mark.task("2.4")

CENTRE = (64.0, 64.0)


@pytest.mark.parametrize("dx, dy", [(0.4, -0.25), (-0.7, 0.55), (1.3, 0.7)])
def test_known_subpixel_translations(dx, dy):
    texture = smooth_texture()
    estimate = flow.lucas_kanade(texture, moved(texture, translation(dx, dy)), CENTRE)
    assert estimate.shape == (2,)
    np.testing.assert_allclose(estimate, [dx, dy], atol=FLOW_VS_TRUTH_PX,
                               err_msg="the window moved by (dx, dy): check the sign of It and of the right-hand side")


def test_agrees_with_opencv_pyramid_lk_without_pyramid():
    texture = smooth_texture(seed=4)
    following = moved(texture, translation(-0.9, 0.35))
    for point in [(40.0, 50.0), (70.5, 80.25), (90.0, 35.0)]:
        ours = flow.lucas_kanade(texture, following, point)
        theirs, status, _ = cv2.calcOpticalFlowPyrLK(texture.astype(np.uint8), following.astype(np.uint8),
                                                    np.float32([point]), None, winSize=(21, 21), maxLevel=0)
        assert status[0, 0] == 1
        np.testing.assert_allclose(ours, theirs[0] - point, atol=FLOW_VS_OPENCV_PX)


def test_still_frames_give_zero_and_the_initial_guess_is_used():
    texture = smooth_texture(seed=2)
    np.testing.assert_allclose(flow.lucas_kanade(texture, texture, CENTRE), [0.0, 0.0], atol=1e-6)
    # One iteration from the right answer stays there; from zero, one linearised step falls short
    # of a 3-pixel motion (measured 1.8 px), and iterating gets there.
    following = moved(texture, translation(3.0, 2.0))
    from_truth = flow.lucas_kanade(texture, following, CENTRE, iterations=1, initial=(3.0, 2.0))
    np.testing.assert_allclose(from_truth, [3.0, 2.0], atol=FLOW_VS_TRUTH_PX)
    one_step = flow.lucas_kanade(texture, following, CENTRE, iterations=1)
    assert np.linalg.norm(one_step - [3.0, 2.0]) > 0.5
    np.testing.assert_allclose(flow.lucas_kanade(texture, following, CENTRE, iterations=20), [3.0, 2.0],
                               atol=FLOW_VS_TRUTH_PX, err_msg="iterate: re-sample the window at the improved position")


def test_one_linearised_step_is_already_close_for_a_small_motion():
    # On a smooth texture the first solve of the normal equations lands within a tenth of a pixel of
    # a 1.4-px motion (measured 0.06): a wrong structure matrix G cannot, even if iterating would
    # still converge (the fixed point does not depend on G).
    texture = smooth_texture(seed=2)
    following = moved(texture, translation(1.2, -0.8))
    np.testing.assert_allclose(flow.lucas_kanade(texture, following, CENTRE, iterations=1), [1.2, -0.8],
                               atol=FLOW_VS_TRUTH_PX)
