"""Task 4.9: the angle between two orientations against scipy's Rotation, and Yang et al.'s inner
face / whole head disagreement on landmarks projected from two known poses."""
import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from phase4_biological_signals import template_face_consistency as consistency
from tests.tolerances import ROTATION_ANGLE_ATOL_DEG

pytestmark = pytest.mark.task("4.9")

OUTLINE = (152, 10, 234, 454, 172, 397)


def project(indices, rotation, camera, translation=(0.0, 0.0, 600.0)):
    model = np.array([consistency.FACE_MODEL_3D[i] for i in indices], np.float64)
    rvec, _ = cv2.Rodrigues(rotation)
    points, _ = cv2.projectPoints(model, rvec, np.asarray(translation, np.float64), camera, np.zeros(4))
    return dict(zip(indices, points.reshape(-1, 2)))


@pytest.mark.parametrize("seed", range(4))
def test_rotation_angle_matches_scipy(seed):
    a, b = Rotation.random(2, random_state=seed)
    expected = np.degrees((a.inv() * b).magnitude())
    assert consistency.rotation_angle_deg(a.as_matrix(), b.as_matrix()) == pytest.approx(expected, abs=ROTATION_ANGLE_ATOL_DEG)


def test_rotation_angle_worked_examples():
    turn = Rotation.from_euler("y", 10, degrees=True).as_matrix()
    assert consistency.rotation_angle_deg(np.eye(3), turn) == pytest.approx(10.0, abs=ROTATION_ANGLE_ATOL_DEG)
    assert consistency.rotation_angle_deg(turn, turn) == pytest.approx(0.0, abs=ROTATION_ANGLE_ATOL_DEG)
    half_turn = Rotation.from_euler("z", 180, degrees=True).as_matrix()
    assert consistency.rotation_angle_deg(np.eye(3), half_turn) == pytest.approx(180.0, abs=ROTATION_ANGLE_ATOL_DEG), \
        "clip the cosine: rounding can push it just below -1"


def test_a_rigid_face_has_no_disagreement():
    camera = consistency.camera_matrix(640, 480)
    pose = Rotation.from_euler("yx", [25, -10], degrees=True).as_matrix()
    points = project(consistency.WHOLE_FACE, pose, camera)
    assert consistency.pose_disagreement(points, camera) == pytest.approx(0.0, abs=1e-3)


@pytest.mark.parametrize("degrees", [5.0, 12.0])
def test_an_inner_face_turned_against_the_outline_disagrees_by_that_angle(degrees):
    camera = consistency.camera_matrix(640, 480)
    head = Rotation.from_euler("yx", [10, 5], degrees=True)
    pasted = Rotation.from_euler("y", degrees, degrees=True) * head
    points = {**project(OUTLINE, head.as_matrix(), camera),
              **project(consistency.INNER_FACE, pasted.as_matrix(), camera)}
    found = consistency.pose_disagreement(points, camera, whole=OUTLINE)
    assert found == pytest.approx(degrees, abs=1e-3), "inner pose vs outline pose: the pasted face's extra turn"


def test_the_same_orientation_is_zero_degrees_never_nan():
    """R^T R is the identity up to rounding, so (trace - 1) / 2 can come out a hair above 1, where
    arccos is NaN: the cosine must be clipped to [-1, 1]."""
    from scipy.spatial.transform import Rotation

    rotations = Rotation.random(200, random_state=11).as_matrix()
    angles = [consistency.rotation_angle_deg(r, r) for r in rotations]
    assert not np.isnan(angles).any()
    assert max(angles) < 1e-5
