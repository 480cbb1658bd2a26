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
    BLUR_VS_SCIPY_ATOL_LEVELS,
    NORMALISED_TENSOR_ATOL,
    ROTATION_90_ATOL_LEVELS,
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
    # binomial(400, 0.5): mean 200, standard deviation 10; 150..250 is 5 standard deviations
    assert 150 <= flips <= 250, f"flip_p=0.5 flipped {flips} of 400 faces"


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
