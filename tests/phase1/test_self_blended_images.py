"""Tasks 1.10-1.11: Self-Blended Images (Shiohara & Yamasaki 2022): the blending mask, the source and the blend.

Oracles: OpenCV (cv2.fillConvexPoly, cv2.GaussianBlur, cv2.resize, cv2.warpAffine with matrices built
here from cv2.getRotationMatrix2D), SciPy (ndimage.affine_transform, spatial.Delaunay), scikit-image's
HSV conversion, and values worked by hand in the docstrings and comments.
"""
import cv2
import numpy as np
import pytest
from scipy import ndimage
from scipy.spatial import Delaunay
from skimage import color

from phase1_cnn_detection import template_self_blended_images as sbi
from tests.tolerances import SBI_BILINEAR_WARP_ATOL, SBI_FLOAT32_ATOL, SBI_HSV_VS_SKIMAGE_ATOL

FACE = np.array([[20, 8], [34, 12], [40, 26], [34, 40], [20, 44], [8, 34], [6, 18], [12, 10], [22, 26]], np.float32)
"""A face-like outline (x, y) on a 48 x 52 (H x W) image, with one interior point (22, 26)."""
SHAPE = (48, 52, 3)


def smooth_image(height: int = 24, width: int = 32, seed: int = 0) -> np.ndarray:
    """A smooth (H, W, 3) float32 image in [0.1, 0.9]: slopes of at most ~0.05 per pixel."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    phases = np.random.default_rng(seed).uniform(0, 2 * np.pi, 3)
    channels = [0.5 + 0.4 * np.sin(x / 7.0 + phases[c]) * np.cos(y / 9.0 + phases[c] / 2) for c in range(3)]
    return np.stack(channels, axis=-1).astype(np.float32)


def oracle_hull(points: np.ndarray, shape) -> np.ndarray:
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.round(points).astype(np.int32)), 1)
    return mask.astype(np.float32)


def oracle_affine(image: np.ndarray, scale_x: float, scale_y: float, dx: float, dy: float, mode: str) -> np.ndarray:
    """scipy's affine_transform: output (y, x) reads input ((y - cy - dy) / sy + cy, (x - cx - dx) / sx + cx)."""
    height, width = image.shape[:2]
    cy, cx = (height - 1) / 2, (width - 1) / 2
    matrix = np.diag([1 / scale_y, 1 / scale_x])
    offset = np.array([cy - (cy + dy) / scale_y, cx - (cx + dx) / scale_x])
    if image.ndim == 2:
        return ndimage.affine_transform(image, matrix, offset, order=1, mode=mode, cval=0.0)
    return np.stack([ndimage.affine_transform(image[..., c], matrix, offset, order=1, mode=mode)
                     for c in range(image.shape[2])], axis=-1)


# --------------------------------------------------------------------------------------------
# 1.10 the blending mask
# --------------------------------------------------------------------------------------------

@pytest.mark.task("1.10")
def test_hull_mask_of_a_square_and_its_centre_is_the_filled_square():
    # docstring example: corners (1,1), (3,1), (3,3), (1,3) and the inside point (2,2) -> rows and columns 1..3
    mask = sbi.hull_mask(np.array([[1, 1], [3, 1], [3, 3], [1, 3], [2, 2]], np.float32), (5, 5))
    expected = np.zeros((5, 5), np.float32)
    expected[1:4, 1:4] = 1.0
    np.testing.assert_array_equal(mask, expected)
    assert mask.dtype == np.float32


@pytest.mark.task("1.10")
def test_hull_mask_rounds_points_and_takes_h_w_of_an_image_shape():
    # (1.4, 0.6) rounds to (1, 1) and (3.6, 2.4) to (4, 2): a 4 x 2 rectangle on a 3 x 6 image (H x W)
    points = np.array([[1.4, 0.6], [3.6, 0.6], [3.6, 2.4], [1.4, 2.4]], np.float32)
    mask = sbi.hull_mask(points, (3, 6, 3))
    expected = np.zeros((3, 6), np.float32)
    expected[1:3, 1:5] = 1.0
    np.testing.assert_array_equal(mask, expected, err_msg="(x, y) points: x is the column; round to the nearest pixel")


@pytest.mark.task("1.10")
def test_hull_mask_matches_opencv_and_is_one_inside_zero_outside():
    mask = sbi.hull_mask(FACE, SHAPE)
    assert mask.shape == SHAPE[:2]
    np.testing.assert_array_equal(mask, oracle_hull(FACE, SHAPE))
    inside = Delaunay(FACE).find_simplex(np.stack(np.meshgrid(np.arange(52), np.arange(48)), -1).reshape(-1, 2)) >= 0
    inside = inside.reshape(48, 52)
    assert mask[inside].min() == 1.0, "every pixel inside the landmarks' hull is 1"
    far = ndimage.binary_dilation(inside, iterations=2)
    assert mask[~far].max() == 0.0, "pixels two or more pixels outside the hull are 0"


@pytest.mark.task("1.10")
def test_deform_mask_with_defaults_is_the_identity_and_shifts_by_whole_pixels():
    mask = sbi.hull_mask(FACE, SHAPE)
    np.testing.assert_array_equal(sbi.deform_mask(mask), mask)
    point = np.zeros((5, 5), np.float32)
    point[2, 2] = 1.0
    expected = np.zeros((5, 5), np.float32)
    expected[1, 3] = 1.0  # dx = +1 (right), dy = -1 (up)
    np.testing.assert_array_equal(sbi.deform_mask(point, dx=1, dy=-1), expected)


@pytest.mark.parametrize("scale_x, scale_y, dx, dy",
                         [(1.1, 1.1, 0.0, 0.0), (0.9, 1.08, 1.5, -2.25), (1.05, 0.92, -3.0, 0.5)])
@pytest.mark.task("1.10")
def test_deform_mask_stretches_about_the_centre_like_scipy(scale_x, scale_y, dx, dy):
    image = smooth_image(31, 41)[..., 0]
    got = sbi.deform_mask(image, scale_x, scale_y, dx, dy)
    want = oracle_affine(image, scale_x, scale_y, dx, dy, mode="constant")
    inner = (slice(4, -4), slice(4, -4))  # away from the zero border
    np.testing.assert_allclose(got[inner], want[inner], atol=SBI_BILINEAR_WARP_ATOL)
    if scale_x == scale_y:  # OpenCV's own scaling about a centre, plus the shift
        matrix = cv2.getRotationMatrix2D(((41 - 1) / 2, (31 - 1) / 2), 0.0, scale_x)
        matrix[:, 2] += (dx, dy)
        np.testing.assert_allclose(got, cv2.warpAffine(image, matrix, (41, 31)), atol=SBI_FLOAT32_ATOL)


@pytest.mark.task("1.10")
def test_soften_mask_of_one_pixel_is_the_3x3_gaussian_over_its_centre():
    point = np.zeros((5, 5), np.float32)
    point[2, 2] = 1.0
    got = sbi.soften_mask(point, 3)
    # OpenCV's 3-tap kernel for sigma 0 is [1/4, 1/2, 1/4]: outer product / its centre 1/4
    expected = np.zeros((5, 5), np.float32)
    expected[1:4, 1:4] = np.outer([0.5, 1.0, 0.5], [0.5, 1.0, 0.5])
    np.testing.assert_allclose(got, expected, atol=SBI_FLOAT32_ATOL)
    np.testing.assert_array_equal(sbi.soften_mask(sbi.hull_mask(FACE, SHAPE), 1), sbi.hull_mask(FACE, SHAPE))


@pytest.mark.parametrize("kernel", [5, 11])
@pytest.mark.task("1.10")
def test_soften_mask_matches_opencv_blur_with_peak_one(kernel):
    mask = 0.5 * oracle_hull(FACE, SHAPE)  # a peak of 0.5 is brought back to 1
    got = sbi.soften_mask(mask, kernel)
    blurred = cv2.GaussianBlur(mask, (kernel, kernel), 0)
    np.testing.assert_allclose(got, blurred / blurred.max(), atol=SBI_FLOAT32_ATOL)
    assert got.max() == pytest.approx(1.0) and got.min() >= 0.0


@pytest.mark.task("1.10")
def test_soften_mask_keeps_an_empty_mask_empty():
    got = sbi.soften_mask(np.zeros((6, 7), np.float32), 3)
    assert np.isfinite(got).all() and not got.any(), "an all-zero mask stays zero (no division by a zero peak)"


@pytest.mark.task("1.10")
def test_blending_mask_with_default_params_is_the_hull_and_the_ratio_scales_it():
    hull = oracle_hull(FACE, SHAPE)
    np.testing.assert_array_equal(sbi.blending_mask(FACE, SHAPE), hull)
    np.testing.assert_allclose(sbi.blending_mask(FACE, SHAPE, sbi.MaskParams(ratio=0.25)), 0.25 * hull,
                               atol=SBI_FLOAT32_ATOL)


@pytest.mark.task("1.10")
def test_blending_mask_is_hull_then_affine_then_blur_times_ratio():
    params = sbi.MaskParams(scale_x=1.08, scale_y=0.94, dx=2.0, dy=-1.5, kernel=7, ratio=0.75)
    got = sbi.blending_mask(FACE, SHAPE, params)
    cx, cy = (52 - 1) / 2, (48 - 1) / 2
    matrix = np.array([[1.08, 0, cx * (1 - 1.08) + 2.0], [0, 0.94, cy * (1 - 0.94) - 1.5]])
    warped = cv2.warpAffine(oracle_hull(FACE, SHAPE), matrix, (52, 48))
    blurred = cv2.GaussianBlur(warped, (7, 7), 0)
    np.testing.assert_allclose(got, 0.75 * blurred / blurred.max(), atol=SBI_FLOAT32_ATOL)


@pytest.mark.task("1.10")
def test_blending_mask_applies_the_elastic_wobble_with_the_given_generator():
    params = sbi.MaskParams(elastic_alpha=0.8, kernel=3)  # a wobble below one pixel is still a wobble
    got = sbi.blending_mask(FACE, SHAPE, params, np.random.default_rng(5))
    wobbled = sbi.elastic_deform(oracle_hull(FACE, SHAPE), np.random.default_rng(5), 0.8)  # provided helper
    blurred = cv2.GaussianBlur(wobbled, (3, 3), 0)
    np.testing.assert_allclose(got, blurred / blurred.max(), atol=SBI_FLOAT32_ATOL)
    assert not np.allclose(got, sbi.soften_mask(oracle_hull(FACE, SHAPE), 3)), "the wobble must move the outline"


@pytest.mark.task("1.10")
def test_random_blending_masks_are_one_in_the_face_zero_far_outside():
    size = 64
    oval = np.stack([32 + 14 * np.cos(np.linspace(0, 2 * np.pi, 36, endpoint=False)),
                     32 + 16 * np.sin(np.linspace(0, 2 * np.pi, 36, endpoint=False))], axis=1).astype(np.float32)
    for seed in range(8):
        rng = np.random.default_rng(seed)
        params = sbi.sample_mask_params(rng, size)
        mask = sbi.blending_mask(oval, (size, size), params, rng)
        assert mask.dtype == np.float32 and mask.shape == (size, size)
        assert mask.min() >= 0.0 and mask.max() <= params.ratio + 1e-6
        assert mask[32, 32] == pytest.approx(params.ratio, abs=0.02), "the face centre takes the full blend ratio"
        assert mask[:3].max() == 0.0 and mask[:, :3].max() == 0.0, "far outside the face the mask is 0"


# --------------------------------------------------------------------------------------------
# 1.11 the source and the blend
# --------------------------------------------------------------------------------------------

@pytest.mark.task("1.11")
def test_jitter_colour_contrast_about_the_whole_image_mean_then_brightness():
    image = np.array([[[0.2, 0.2, 0.2], [0.6, 0.6, 0.6]]], np.float32)  # mean 0.4
    got = sbi.jitter_colour(image, brightness=0.1, contrast=2.0)
    np.testing.assert_allclose(got, [[[0.1] * 3, [0.9] * 3]], atol=SBI_FLOAT32_ATOL)
    # one mean over all pixels and channels (0.3 here), not per channel
    two = np.array([[[0.1, 0.5, 0.3]]], np.float32)
    np.testing.assert_allclose(sbi.jitter_colour(two, contrast=0.5), [[[0.2, 0.4, 0.3]]], atol=SBI_FLOAT32_ATOL)


@pytest.mark.task("1.11")
def test_jitter_colour_clips_to_the_unit_range():
    image = np.array([[[0.05, 0.5, 0.95]]], np.float32)
    np.testing.assert_allclose(sbi.jitter_colour(image, brightness=0.2), [[[0.25, 0.7, 1.0]]], atol=SBI_FLOAT32_ATOL)
    np.testing.assert_allclose(sbi.jitter_colour(image, brightness=-0.2), [[[0.0, 0.3, 0.75]]], atol=SBI_FLOAT32_ATOL)


@pytest.mark.parametrize("start, hue, end", [((1, 0, 0), 120, (0, 1, 0)), ((0, 0, 1), 240, (0, 1, 0)),
                                             ((1, 0, 0), -120, (0, 0, 1)), ((0, 1, 0), 60, (0, 1, 1))])
@pytest.mark.task("1.11")
def test_jitter_colour_rotates_the_hue_modulo_360(start, hue, end):
    image = np.tile(np.array(start, np.float32), (2, 3, 1))
    np.testing.assert_allclose(sbi.jitter_colour(image, hue_degrees=hue), np.tile(np.array(end, np.float32), (2, 3, 1)),
                               atol=SBI_HSV_VS_SKIMAGE_ATOL)


@pytest.mark.task("1.11")
def test_jitter_colour_hue_matches_scikit_image_hsv():
    image = smooth_image()
    hsv = color.rgb2hsv(image.astype(np.float64))
    hsv[..., 0] = (hsv[..., 0] + 37.0 / 360.0) % 1.0
    np.testing.assert_allclose(sbi.jitter_colour(image, hue_degrees=37.0), color.hsv2rgb(hsv),
                               atol=SBI_HSV_VS_SKIMAGE_ATOL)


@pytest.mark.task("1.11")
def test_source_transforms_with_their_defaults_return_the_input_exactly():
    image = smooth_image()
    for name, out in [("jitter_colour", sbi.jitter_colour(image)), ("change_frequency", sbi.change_frequency(image)),
                      ("shift_scale", sbi.shift_scale(image)), ("make_source", sbi.make_source(image))]:
        np.testing.assert_array_equal(out, image, err_msg=f"{name} with its default parameters changes nothing")
        assert out.dtype == np.float32 and out.shape == image.shape


@pytest.mark.task("1.11")
def test_change_frequency_downscale_upscale_by_hand_and_like_opencv():
    step = np.zeros((4, 4, 3), np.float32)
    step[:, 2:] = 1.0
    np.testing.assert_allclose(sbi.change_frequency(step, 2.0)[..., 0], np.tile([0, 0.25, 0.75, 1], (4, 1)),
                               atol=SBI_FLOAT32_ATOL)
    image = smooth_image(12, 30)  # W != H: round(30 / 3) = 10 columns, round(12 / 3) = 4 rows
    small = cv2.resize(image, (10, 4), interpolation=cv2.INTER_AREA)
    np.testing.assert_allclose(sbi.change_frequency(image, 3.0),
                               cv2.resize(small, (30, 12), interpolation=cv2.INTER_LINEAR), atol=SBI_FLOAT32_ATOL)
    for height, width in [(3, 12), (12, 3)]:  # one side shrinks to a single pixel: round(3 / 3) = 1
        thin = smooth_image(height, width)
        small = cv2.resize(thin, (round(width / 3), round(height / 3)), interpolation=cv2.INTER_AREA)
        np.testing.assert_allclose(sbi.change_frequency(thin, 3.0),
                                   cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR),
                                   atol=SBI_FLOAT32_ATOL)
    constant = np.full((9, 9, 3), 0.3, np.float32)
    np.testing.assert_allclose(sbi.change_frequency(constant, 1.7, 0.0), constant, atol=SBI_FLOAT32_ATOL)


@pytest.mark.task("1.11")
def test_change_frequency_sharpens_by_unsharp_masking():
    # rows [0.4, 0.4, 0.6, 0.6]: OpenCV's 3-tap blur [1/4, 1/2, 1/4] gives 0.45 and 0.55 beside the edge,
    # so sharpening by s moves them to 0.4 - 0.05 s and 0.6 + 0.05 s; the outer columns do not change
    image = np.tile(np.array([0.4, 0.4, 0.6, 0.6], np.float32)[None, :, None], (3, 1, 3))
    for amount in (1.0, 2.0):
        got = sbi.change_frequency(image, sharpen=amount)[..., 0]
        np.testing.assert_allclose(got, np.tile([0.4, 0.4 - 0.05 * amount, 0.6 + 0.05 * amount, 0.6], (3, 1)),
                                   atol=SBI_FLOAT32_ATOL)
    edge = np.tile(np.array([0.05, 0.05, 0.95, 0.95], np.float32)[None, :, None], (3, 1, 3))
    np.testing.assert_allclose(sbi.change_frequency(edge, sharpen=1.0)[0, :, 0], [0.05, 0.0, 1.0, 0.95],
                               atol=SBI_FLOAT32_ATOL)  # 0.05 - 0.225 and 0.95 + 0.225, clipped


@pytest.mark.task("1.11")
def test_shift_scale_moves_columns_and_reflects_the_border():
    image = np.repeat(np.arange(25, dtype=np.float32).reshape(5, 5, 1), 3, axis=2)
    got = sbi.shift_scale(image, dx=1)[..., 0]
    expected = np.concatenate([image[:, :1, 0], image[:, :4, 0]], axis=1)  # column 0 reflects column 0
    np.testing.assert_allclose(got, expected, atol=SBI_FLOAT32_ATOL)
    got = sbi.shift_scale(image, dy=2)[..., 0]
    expected = np.concatenate([image[1::-1, :, 0], image[:3, :, 0]], axis=0)
    np.testing.assert_allclose(got, expected, atol=SBI_FLOAT32_ATOL)


@pytest.mark.parametrize("dx, dy, scale", [(0.0, 0.0, 1.05), (1.5, -0.75, 0.95), (-2.0, 1.25, 1.0)])
@pytest.mark.task("1.11")
def test_shift_scale_scales_about_the_centre_like_scipy(dx, dy, scale):
    image = smooth_image(27, 35)
    got = sbi.shift_scale(image, dx, dy, scale)
    want = oracle_affine(image, scale, scale, dx, dy, mode="reflect")
    inner = (slice(4, -4), slice(4, -4))
    np.testing.assert_allclose(got[inner], want[inner], atol=SBI_BILINEAR_WARP_ATOL)
    matrix = cv2.getRotationMatrix2D(((35 - 1) / 2, (27 - 1) / 2), 0.0, scale)
    matrix[:, 2] += (dx, dy)
    np.testing.assert_allclose(got, cv2.warpAffine(image, matrix, (35, 27), borderMode=cv2.BORDER_REFLECT),
                               atol=SBI_FLOAT32_ATOL)


@pytest.mark.task("1.11")
def test_make_source_is_colour_then_frequency_then_geometry():
    image = smooth_image(20, 28)
    params = sbi.SourceParams(brightness=0.05, contrast=1.1, hue_degrees=8.0, factor=2.0, sharpen=0.0,
                              dx=1.0, dy=-1.0, scale=1.02)
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
    hsv[..., 0] = (hsv[..., 0] + 8.0) % 360
    out = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    out = np.clip((out - out.mean()) * 1.1 + out.mean() + 0.05, 0, 1)
    out = cv2.resize(cv2.resize(out, (14, 10), interpolation=cv2.INTER_AREA), (28, 20), interpolation=cv2.INTER_LINEAR)
    matrix = cv2.getRotationMatrix2D((13.5, 9.5), 0.0, 1.02)
    matrix[:, 2] += (1.0, -1.0)
    out = cv2.warpAffine(out, matrix, (28, 20), borderMode=cv2.BORDER_REFLECT)
    np.testing.assert_allclose(sbi.make_source(image, params), out, atol=SBI_HSV_VS_SKIMAGE_ATOL)
    sharpened = sbi.make_source(image, sbi.SourceParams(sharpen=0.5))
    np.testing.assert_allclose(sharpened, np.clip(image + 0.5 * (image - cv2.GaussianBlur(image, (3, 3), 0)), 0, 1),
                               atol=SBI_FLOAT32_ATOL)


@pytest.mark.task("1.11")
def test_blend_by_hand_on_a_tiny_image():
    source = np.ones((2, 2, 3), np.float32)
    target = np.zeros((2, 2, 3), np.float32)
    mask = np.array([[0.0, 0.25], [0.5, 1.0]], np.float32)
    got = sbi.blend(source, target, mask)
    np.testing.assert_allclose(got, np.repeat(mask[..., None], 3, axis=2), atol=SBI_FLOAT32_ATOL)
    # source 0.8, target 0.2, M = 0.25: 0.25 * 0.8 + 0.75 * 0.2 = 0.35
    got = sbi.blend(np.full((1, 1, 3), 0.8, np.float32), np.full((1, 1, 3), 0.2, np.float32),
                    np.full((1, 1), 0.25, np.float32))
    np.testing.assert_allclose(got, np.full((1, 1, 3), 0.35), atol=SBI_FLOAT32_ATOL)
    assert got.dtype == np.float32


@pytest.mark.task("1.11")
def test_blend_leaves_target_pixels_where_the_mask_is_zero_exactly():
    rng = np.random.default_rng(3)
    source, target = rng.random((2, 10, 12, 3)).astype(np.float32)
    mask = np.zeros((10, 12), np.float32)
    mask[3:7, 4:9] = rng.random((4, 5)).astype(np.float32)
    mask[4, 5] = 1.0
    got = sbi.blend(source, target, mask)
    np.testing.assert_array_equal(got[mask == 0], target[mask == 0])
    np.testing.assert_allclose(got[4, 5], source[4, 5], atol=SBI_FLOAT32_ATOL)
    np.testing.assert_allclose(got, mask[..., None] * source + (1 - mask[..., None]) * target, atol=SBI_FLOAT32_ATOL)


@pytest.mark.task("1.11")
def test_self_blended_image_is_seeded_and_only_changes_the_face():
    face = (255 * smooth_image(64, 64)).astype(np.uint8)
    oval = np.stack([31.5 + 16 * np.cos(np.linspace(0, 2 * np.pi, 36, endpoint=False)),
                     31.5 + 20 * np.sin(np.linspace(0, 2 * np.pi, 36, endpoint=False))], axis=1).astype(np.float32)
    first, mask = sbi.self_blended_image(face, oval, np.random.default_rng(11))
    again, mask_again = sbi.self_blended_image(face, oval, np.random.default_rng(11))
    other, _ = sbi.self_blended_image(face, oval, np.random.default_rng(12))
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(mask, mask_again)
    assert not np.array_equal(first, other), "another seed draws another blend"
    original = face.astype(np.float32) / 255.0
    np.testing.assert_array_equal(first[mask == 0], original[mask == 0])
    assert np.abs(first - original)[mask > 0.5].mean() > 1e-3, "inside the face the source differs from the target"
    assert first.dtype == np.float32 and first.min() >= 0.0 and first.max() <= 1.0
