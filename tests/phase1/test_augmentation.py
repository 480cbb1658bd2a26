"""Task 1.9: forensic data augmentation and the train / evaluation transforms.

Oracles: numpy / OpenCV / SciPy for each augmentation, and values computed by hand.
"""
import cv2
import numpy as np
import pytest
import torch
from scipy import ndimage
from skimage import data as skimage_data

from phase1_cnn_detection import template_augmentation as aug
from tests.tolerances import (
    AUGMENTATION_CHAIN_VS_ORACLE_MEAN_ABS_LEVELS,
    BLUR_VS_SCIPY_ATOL_LEVELS,
    BRIGHTNESS_SHIFT_READ_ATOL,
    CONTRAST_FACTOR_READ_ATOL,
    FLIP_COUNT_RANGE_OF_400,
    NORMALISED_TENSOR_ATOL,
    ROTATION_90_ATOL_LEVELS,
    ROTATION_ANGLE_READ_ATOL_DEG,
)


def astronaut_face(size: int = 64) -> np.ndarray:
    """A real, colourful face: Eileen Collins' face from scikit-image's astronaut photo, resized."""
    face = skimage_data.astronaut()[30:230, 140:340]  # (200, 200, 3) uint8 RGB around the face
    return cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA)


@pytest.mark.task("1.9")
def test_horizontal_flip_equals_numpy_fliplr():
    face = astronaut_face()
    flipped = aug.horizontal_flip(face)
    np.testing.assert_array_equal(flipped, np.fliplr(face), err_msg="a horizontal flip mirrors the columns")
    assert flipped.dtype == np.uint8 and flipped.shape == face.shape


@pytest.mark.parametrize("quality", [30, 75, 95])
@pytest.mark.task("1.9")
def test_jpeg_recompress_equals_opencv_encode_decode_at_that_quality(quality):
    face = astronaut_face()
    ok, buffer = cv2.imencode(".jpg", face[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    expected = cv2.imdecode(buffer, cv2.IMREAD_COLOR)[:, :, ::-1]
    np.testing.assert_array_equal(aug.jpeg_recompress(face, quality), expected,
                                  err_msg="encode RGB as BGR with cv2.imencode at that quality, decode, back to RGB")


@pytest.mark.task("1.9")
def test_rotation_by_90_degrees_turns_the_face_counter_clockwise():
    face = astronaut_face(33)  # odd size: the centre is a pixel and 90 degrees maps pixels onto pixels
    rotated = aug.rotate(face, 90.0).astype(int)
    difference = np.abs(rotated - np.rot90(face).astype(int)).max()
    assert difference <= ROTATION_90_ATOL_LEVELS, f"rotate(face, 90) differs from np.rot90 by {difference} levels"
    np.testing.assert_array_equal(aug.rotate(face, 0.0), face, err_msg="a 0 degree rotation must not change the face")


@pytest.mark.task("1.9")
def test_brightness_contrast_matches_values_worked_by_hand():
    face = np.array([[[0, 100, 128], [200, 250, 255]]], dtype=np.uint8)
    # contrast 1.5 about 128, then +(-10): 1.5*(x-128)+118
    expected = np.array([[[0, 76, 118], [226, 255, 255]]], dtype=np.uint8)
    np.testing.assert_array_equal(aug.adjust_brightness_contrast(face, -10.0, 1.5), expected,
                                  err_msg="out = clip(round(contrast * (x - 128) + 128 + brightness), 0, 255)")


@pytest.mark.task("1.9")
def test_gaussian_blur_matches_scipy_gaussian_filter():
    face = astronaut_face()
    sigma = 1.2
    radius = int(round(sigma * 3))  # OpenCV's kernel for uint8 with ksize (0, 0): 2 * round(3 sigma) + 1 taps
    expected = np.stack([ndimage.gaussian_filter(face[:, :, c].astype(float), sigma, mode="mirror",
                                                 truncate=radius / sigma) for c in range(3)], axis=2)
    difference = np.abs(aug.gaussian_blur(face, sigma).astype(float) - expected).max()
    assert difference <= BLUR_VS_SCIPY_ATOL_LEVELS, f"blur differs from a Gaussian of sigma {sigma} by {difference:.2f} levels"


@pytest.mark.task("1.9")
def test_normalised_tensor_is_channel_first_and_uses_mean_and_std():
    face = np.zeros((2, 3, 3), dtype=np.uint8)
    face[0, 0] = (255, 255, 255)
    tensor = aug.to_normalised_tensor(face, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
    assert tensor.shape == (3, 2, 3) and tensor.dtype == torch.float32, f"expected (3, H, W) float32, got {tuple(tensor.shape)}"
    white = [(1 - 0.485) / 0.229, (1 - 0.456) / 0.224, (1 - 0.406) / 0.225]
    black = [-0.485 / 0.229, -0.456 / 0.224, -0.406 / 0.225]
    np.testing.assert_allclose(tensor[:, 0, 0].numpy(), white, atol=NORMALISED_TENSOR_ATOL)
    np.testing.assert_allclose(tensor[:, 1, 2].numpy(), black, atol=NORMALISED_TENSOR_ATOL)


@pytest.mark.task("1.9")
def test_eval_transform_resizes_and_normalises_without_randomness():
    face = astronaut_face(100)
    transform = aug.EvalTransform(size=48, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    expected = cv2.resize(face, (48, 48), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0 * 2.0 - 1.0
    out = transform(face)
    np.testing.assert_allclose(out.numpy(), expected.transpose(2, 0, 1), atol=NORMALISED_TENSOR_ATOL)
    assert torch.equal(out, transform(face)), "the evaluation transform must be deterministic"


@pytest.mark.task("1.9")
def test_a_jpeg_only_augmentation_equals_opencv_at_the_drawn_quality():
    face = astronaut_face()
    config = aug.AugmentationConfig(flip_p=0.0, rotation_p=0.0, color_p=0.0, blur_p=0.0, jpeg_p=1.0,
                                    jpeg_quality=(55, 55))
    ok, buffer = cv2.imencode(".jpg", cv2.cvtColor(face, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 55])
    expected = cv2.cvtColor(cv2.imdecode(buffer, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    out = aug.random_forensic_augmentation(face, np.random.default_rng(0), config)
    np.testing.assert_array_equal(out, expected, err_msg="with jpeg_p=1 and quality (55, 55) the result is a q55 JPEG")


@pytest.mark.task("1.9")
def test_a_flip_only_augmentation_flips_about_half_of_the_faces():
    face = astronaut_face(16)
    config = aug.AugmentationConfig(flip_p=0.5, rotation_p=0.0, color_p=0.0, blur_p=0.0, jpeg_p=0.0)
    rng = np.random.default_rng(0)
    flips = 0
    for _ in range(400):
        out = aug.random_forensic_augmentation(face, rng, config)
        assert np.array_equal(out, face) or np.array_equal(out, np.fliplr(face)), "flip-only config changed pixels"
        flips += not np.array_equal(out, face)
    low, high = FLIP_COUNT_RANGE_OF_400
    assert low <= flips <= high, f"flip_p=0.5 flipped {flips} of 400 faces"


@pytest.mark.task("1.9")
def test_train_transform_is_reproducible_from_its_seed():
    faces = [astronaut_face(64), np.ascontiguousarray(astronaut_face(64)[::-1])] * 3
    config = aug.AugmentationConfig(flip_p=0.5, rotation_p=0.5, color_p=0.5, blur_p=0.5, jpeg_p=0.5)
    first = aug.TrainTransform(32, seed=7, config=config)
    second = aug.TrainTransform(32, seed=7, config=config)
    other = aug.TrainTransform(32, seed=8, config=config)
    outputs = [first(face) for face in faces]
    assert all(o.shape == (3, 32, 32) and o.dtype == torch.float32 for o in outputs), "expected (3, 32, 32) float32"
    assert all(torch.equal(a, second(face)) for a, face in zip(outputs, faces)), "the same seed must give the same faces"
    assert any(not torch.equal(a, other(face)) for a, face in zip(outputs, faces)), "another seed must change something"


@pytest.mark.task("1.9")
def test_train_transform_accepts_the_float_tensors_of_face_crop_dataset():
    face = astronaut_face(40)
    as_tensor = torch.from_numpy(face).permute(2, 0, 1).float() / 255.0
    config = aug.AugmentationConfig(flip_p=1.0, rotation_p=0.0, color_p=0.0, blur_p=0.0, jpeg_p=0.0)
    from_array = aug.TrainTransform(40, seed=0, config=config)(face)
    from_tensor = aug.TrainTransform(40, seed=0, config=config)(as_tensor)
    assert torch.equal(from_array, from_tensor), "a [0, 1] (3, H, W) tensor must be treated like the uint8 face"
    expected = torch.from_numpy(np.fliplr(face).copy()).permute(2, 0, 1).float() / 255.0 * 2 - 1
    torch.testing.assert_close(from_array, expected, atol=NORMALISED_TENSOR_ATOL, rtol=0)


# ------------------------------------------------------------------------------------------------
# the chain: order of the steps and the ranges of their strengths
# ------------------------------------------------------------------------------------------------

def opencv_rotate(face, angle):
    height, width = face.shape[:2]
    matrix = cv2.getRotationMatrix2D(((width - 1) / 2.0, (height - 1) / 2.0), angle, 1.0)
    return cv2.warpAffine(face, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


def opencv_jpeg(face, quality):
    ok, buffer = cv2.imencode(".jpg", cv2.cvtColor(face, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.cvtColor(cv2.imdecode(buffer, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def opencv_blur(face, sigma):
    return cv2.GaussianBlur(face, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT_101)


def colour_by_hand(face, shift, factor):
    return np.clip(np.rint(factor * (face.astype(np.float64) - 128.0) + 128.0 + shift), 0, 255).astype(np.uint8)


def mean_abs(a, b):
    return float(np.abs(a.astype(float) - b.astype(float)).mean())


@pytest.mark.task("1.9")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_step_applied_replays_in_the_documented_order_and_draws(seed):
    """All probabilities 1: replay the documented draws with the same seed and apply the steps with
    NumPy / OpenCV in the order flip, rotation, brightness/contrast, blur, JPEG."""
    face = astronaut_face(64)
    config = aug.AugmentationConfig(flip_p=1.0, rotation_p=1.0, max_rotation_deg=10.0, color_p=1.0, brightness=20.0,
                                    contrast=0.2, blur_p=1.0, blur_sigma=(0.6, 1.2), jpeg_p=1.0, jpeg_quality=(40, 60))
    replay = np.random.default_rng(seed)
    replay.random()
    replay.random()
    angle = replay.uniform(-10.0, 10.0)
    replay.random()
    shift, factor = replay.uniform(-20.0, 20.0), replay.uniform(0.8, 1.2)
    replay.random()
    sigma = replay.uniform(0.6, 1.2)
    replay.random()
    quality = int(replay.integers(40, 61))
    flipped = np.ascontiguousarray(np.fliplr(face))
    coloured = colour_by_hand(opencv_rotate(flipped, angle), shift, factor)
    expected = opencv_jpeg(opencv_blur(coloured, sigma), quality)
    jpeg_before_blur = opencv_blur(opencv_jpeg(coloured, quality), sigma)
    rotated_before_flip = opencv_jpeg(opencv_blur(colour_by_hand(np.ascontiguousarray(np.fliplr(opencv_rotate(face, angle))),
                                                                 shift, factor), sigma), quality)
    out = aug.random_forensic_augmentation(face, np.random.default_rng(seed), config)
    assert out.shape == face.shape and out.dtype == np.uint8
    error = mean_abs(out, expected)
    assert error <= AUGMENTATION_CHAIN_VS_ORACLE_MEAN_ABS_LEVELS, (
        f"the chain differs from flip -> rotate({angle:.2f}) -> colour({shift:.2f}, {factor:.3f}) -> "
        f"blur({sigma:.3f}) -> JPEG({quality}) by {error:.2f} levels on average: check the order of the steps "
        "and that each strength is drawn right after its step's rng.random() < p, from its documented range")
    assert error < mean_abs(out, jpeg_before_blur) and error < mean_abs(out, rotated_before_flip)


def strengths(config, face, read, draws=200):
    rng = np.random.default_rng(0)
    return np.array([read(aug.random_forensic_augmentation(face, rng, config)) for _ in range(draws)])


ONLY_COLOUR = dict(flip_p=0.0, rotation_p=0.0, color_p=1.0, blur_p=0.0, jpeg_p=0.0)


@pytest.mark.task("1.9")
def test_contrast_factor_is_drawn_on_both_sides_of_one():
    face = np.zeros((4, 4, 3), np.uint8)
    face[:2], face[2:] = 72, 184  # 128 -/+ 56: their distance after the change is 112 * factor
    config = aug.AugmentationConfig(brightness=0.0, contrast=0.2, **ONLY_COLOUR)
    factors = strengths(config, face, lambda out: (float(out[2:].mean()) - float(out[:2].mean())) / 112.0)
    tolerance = CONTRAST_FACTOR_READ_ATOL
    assert factors.min() >= 0.8 - tolerance and factors.max() <= 1.2 + tolerance, \
        f"contrast factors must lie in [1 - contrast, 1 + contrast] = [0.8, 1.2], read {factors.min():.3f}..{factors.max():.3f}"
    assert (factors < 0.95).sum() > 20 and (factors > 1.05).sum() > 20, \
        "over 200 draws the contrast must both fall (factor < 1) and rise (factor > 1): uniform in [0.8, 1.2]"


@pytest.mark.task("1.9")
def test_brightness_shift_is_drawn_on_both_sides_of_zero():
    face = np.full((4, 4, 3), 128, np.uint8)
    config = aug.AugmentationConfig(brightness=20.0, contrast=0.0, **ONLY_COLOUR)
    shifts = strengths(config, face, lambda out: float(out.mean()) - 128.0)
    tolerance = BRIGHTNESS_SHIFT_READ_ATOL
    assert shifts.min() >= -20 - tolerance and shifts.max() <= 20 + tolerance, \
        f"shifts must lie in [-brightness, brightness] = [-20, 20], read {shifts.min():.1f}..{shifts.max():.1f}"
    assert (shifts < -5).sum() > 20 and (shifts > 5).sum() > 20, \
        "over 200 draws the brightness must both fall and rise: uniform in [-20, 20]"


def bar_angle(image):
    """Counter-clockwise angle (degrees) of the bright bar's principal axis, in image coordinates."""
    ys, xs = np.nonzero(image[:, :, 0] > 127)
    weights = image[ys, xs, 0].astype(float)
    x, y = xs - np.average(xs, weights=weights), ys - np.average(ys, weights=weights)
    cov = np.cov(np.stack([x, y]), aweights=weights)
    values, vectors = np.linalg.eigh(cov)
    dx, dy = vectors[:, np.argmax(values)]
    angle = np.degrees(np.arctan2(-dy, dx))  # y grows downwards: counter-clockwise is -dy
    return (angle + 90.0) % 180.0 - 90.0


@pytest.mark.task("1.9")
def test_rotation_angle_is_drawn_on_both_sides_of_zero():
    face = np.zeros((61, 61, 3), np.uint8)
    face[29:32, 8:53] = 255  # a horizontal bar through the centre
    config = aug.AugmentationConfig(flip_p=0.0, rotation_p=1.0, max_rotation_deg=10.0, color_p=0.0, blur_p=0.0,
                                    jpeg_p=0.0)
    angles = strengths(config, face, bar_angle, draws=100)
    tolerance = ROTATION_ANGLE_READ_ATOL_DEG
    assert np.abs(angles).max() <= 10 + tolerance, f"angles must lie in [-10, 10] degrees, read up to {np.abs(angles).max():.1f}"
    assert (angles < -3).sum() > 10 and (angles > 3).sum() > 10, \
        "over 100 draws the face must turn both ways: the angle is uniform in [-max_rotation_deg, max_rotation_deg]"
