"""Task 2.5: coarse-to-fine Lucas-Kanade for motions of several pixels, against the truth and OpenCV."""
import cv2
import numpy as np
import pytest

from phase2_temporal_analysis import template_optical_flow as flow
from tests.phase2.flow_textures import moved, smooth_texture, translation
from tests.tolerances import FLOW_VS_OPENCV_PX, FLOW_VS_TRUTH_PX

pytestmark = pytest.mark.task("2.5")


@pytest.mark.parametrize("dx, dy", [(6.3, -4.7), (-5.2, 3.9), (0.45, 0.3)])
def test_large_and_small_motions(dx, dy):
    texture = smooth_texture(seed=1)
    estimate = flow.pyramid_lucas_kanade(texture, moved(texture, translation(dx, dy)), (64.0, 64.0), levels=3)
    np.testing.assert_allclose(estimate, [dx, dy], atol=FLOW_VS_TRUTH_PX)


def test_one_level_cannot_follow_six_pixels_but_three_can():
    # On this texture plain Lucas-Kanade (one level) converges to a wrong match 12 px away.
    texture = smooth_texture(seed=3)
    following = moved(texture, translation(6.3, -4.7))
    single = flow.pyramid_lucas_kanade(texture, following, (64.0, 64.0), levels=1)
    assert np.linalg.norm(single - [6.3, -4.7]) > 1.0, "one level is plain Lucas-Kanade: it should fail here"
    np.testing.assert_allclose(flow.pyramid_lucas_kanade(texture, following, (64.0, 64.0), levels=3), [6.3, -4.7],
                               atol=FLOW_VS_TRUTH_PX, err_msg="start on the coarsest level, double the flow per level")


def test_agrees_with_opencv_calcOpticalFlowPyrLK():
    texture = smooth_texture(seed=5)
    following = moved(texture, translation(-4.4, -2.6))
    point = (60.0, 70.0)
    ours = flow.pyramid_lucas_kanade(texture, following, point, levels=3)
    theirs, status, _ = cv2.calcOpticalFlowPyrLK(texture.astype(np.uint8), following.astype(np.uint8),
                                                np.float32([point]), None, winSize=(21, 21), maxLevel=2)
    assert status[0, 0] == 1
    np.testing.assert_allclose(ours, theirs[0] - point, atol=FLOW_VS_OPENCV_PX)


def test_two_iterations_per_level_suffice_when_each_level_starts_from_the_doubled_flow():
    # Each finer level starts from twice the coarser answer, which is already within a fraction of a
    # pixel: two iterations per level reach 0.1 px. A wrong scaling between levels (a guess 4x the
    # flow) leaves the finest level several pixels off after two iterations (measured 3.7 px).
    texture = smooth_texture(seed=1)
    following = moved(texture, translation(6.3, -4.7))
    np.testing.assert_allclose(flow.pyramid_lucas_kanade(texture, following, (64.0, 64.0), levels=3, iterations=2),
                               [6.3, -4.7], atol=FLOW_VS_TRUTH_PX)
