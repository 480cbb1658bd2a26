"""Task 4.8: head pose with solvePnP, on landmarks projected from a known pose (cv2.projectPoints;
the rotation built with scipy from Euler angles)."""
import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from phase4_biological_signals import template_face_consistency as consistency
from tests.tolerances import HEAD_POSE_ROTATION_ATOL, HEAD_POSE_TRANSLATION_ATOL_MM

pytestmark = pytest.mark.task("4.8")

MODEL = np.array(list(consistency.FACE_MODEL_3D.values()), np.float64)


def project(rotation, translation, camera, model=MODEL):
    rvec, _ = cv2.Rodrigues(rotation)
    points, _ = cv2.projectPoints(model, rvec, np.asarray(translation, np.float64), camera, np.zeros(4))
    return points.reshape(-1, 2)


@pytest.mark.parametrize("yaw, pitch, roll", [(0, 0, 0), (20, -10, 5), (-35, 15, -12), (10, 25, 30)])
def test_pose_of_landmarks_projected_from_a_known_pose(yaw, pitch, roll):
    camera = consistency.camera_matrix(640, 480)
    rotation = Rotation.from_euler("yxz", [yaw, pitch, roll], degrees=True).as_matrix()
    translation = np.array([15.0, -10.0, 600.0])
    found_rotation, found_translation = consistency.head_pose(project(rotation, translation, camera), MODEL, camera)
    assert found_rotation.shape == (3, 3) and found_translation.shape == (3,)
    np.testing.assert_allclose(found_rotation, rotation, atol=HEAD_POSE_ROTATION_ATOL,
                               err_msg="the rotation matrix (cv2.Rodrigues of solvePnP's rvec)")
    np.testing.assert_allclose(found_translation, translation, atol=HEAD_POSE_TRANSLATION_ATOL_MM,
                               err_msg="the translation in model millimetres, the face 600 mm away")


def test_a_frontal_face_half_a_metre_away():
    camera = consistency.camera_matrix(200, 100)
    found_rotation, found_translation = consistency.head_pose(project(np.eye(3), [0, 0, 500], camera), MODEL, camera)
    np.testing.assert_allclose(found_rotation, np.eye(3), atol=HEAD_POSE_ROTATION_ATOL)
    np.testing.assert_allclose(found_translation, [0, 0, 500], atol=HEAD_POSE_TRANSLATION_ATOL_MM)
