"""Task 2.3: landmark jitter after removing the head's motion, checked against scipy's Procrustes."""
import numpy as np
import pytest
from scipy.spatial import procrustes

from phase2_temporal_analysis import template_temporal_features as temporal
from tests.tolerances import FLOAT64_EXACT, PROCRUSTES_VS_SCIPY

pytestmark = pytest.mark.task("2.3")

FIVE_POINTS = np.array([[30.0, 40.0], [70.0, 40.0], [50.0, 60.0], [35.0, 80.0], [65.0, 80.0]])


def similarity(points, degrees, scale, shift):
    angle = np.deg2rad(degrees)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return scale * points @ rotation.T + shift


def test_a_moving_turning_approaching_head_has_no_jitter():
    frames = np.stack([FIVE_POINTS, similarity(FIVE_POINTS, 10, 1.2, [3, -1]),
                       similarity(FIVE_POINTS, -25, 0.8, [-40, 12])])
    result = temporal.landmark_jitter(frames)
    assert result.shape == (2,)
    np.testing.assert_allclose(result, [0.0, 0.0], atol=1e-9)


def test_one_point_moved_against_the_others():
    # Nose moved 5 px right and nothing else: the best similarity cannot absorb it.
    moved = FIVE_POINTS.copy()
    moved[2, 0] += 5.0
    jitter = float(temporal.landmark_jitter(np.stack([FIVE_POINTS, moved]))[0])
    # The best translation alone leaves (4, -1, -1, -1, -1) px in x: RMS 2; rotation/scale can only lower it.
    assert 0.5 < jitter <= 2.0 + 1e-9


def test_matches_scipy_procrustes_in_pixels():
    rng = np.random.default_rng(7)
    frames = [FIVE_POINTS]
    for step in range(6):
        frames.append(similarity(frames[-1], rng.normal(0, 3), rng.uniform(0.95, 1.05), rng.normal(0, 2, 2))
                      + rng.normal(0, 0.8, size=(5, 2)))
    frames = np.stack(frames)
    expected = []
    for previous, current in zip(frames[:-1], frames[1:]):
        _, _, disparity = procrustes(current, previous)  # both standardised to unit norm: scale back
        norm_sq = ((current - current.mean(axis=0)) ** 2).sum()
        expected.append(np.sqrt(disparity * norm_sq / len(current)))
    np.testing.assert_allclose(temporal.landmark_jitter(frames), expected, **PROCRUSTES_VS_SCIPY)


def test_a_mirror_is_not_a_rotation():
    mirrored = FIVE_POINTS * [-1.0, 1.0]
    jitter = float(temporal.landmark_jitter(np.stack([FIVE_POINTS, mirrored]))[0])
    # A mirrored face cannot be reached by a rotation: the fit must leave a residual.
    assert jitter > 1.0
    np.testing.assert_allclose(temporal.landmark_jitter(np.stack([FIVE_POINTS, FIVE_POINTS])), [0.0], **FLOAT64_EXACT)
