"""Tasks 1.1 and 1.2: square face crops and five-point alignment.

Oracles: crop boxes worked by hand, OpenCV's resize on the hand-computed slice, scikit-image's
Umeyama fit and OpenCV's estimateAffinePartial2D for the similarity transform, dot centroids and a
second MTCNN pass for the warped faces, and the real astronaut photograph of scikit-image (MTCNN
finds her face at about (181, 62)-(268, 172)).
"""
import cv2
import numpy as np
import pytest
from skimage import data
from skimage.transform import SimilarityTransform

from phase1_cnn_detection import template_face_extraction as fx
from tests.tolerances import (
    ALIGNED_DOT_CENTROID_ATOL_PX,
    ALIGNED_EYE_TILT_MAX_DEG,
    ALIGNED_WARP_VS_OPENCV_ATOL_LEVELS,
    ASTRONAUT_BOX_ATOL_PX,
    ASTRONAUT_CROP_MEAN_ABS_LEVELS,
    ASTRONAUT_MIN_FACE_PROBABILITY,
    CROP_COVERS_BOX_SLACK_PX,
    DOWNSCALED_DETECTION_BOX_ATOL_PX,
    REDETECTED_LANDMARK_ATOL_FRACTION,
    SIMILARITY_EXACT_FIT_ATOL,
    SIMILARITY_VS_OPENCV_ATOL,
    SIMILARITY_VS_SKIMAGE_ATOL,
)

ASTRONAUT_FACE_BOX = np.array([181.0, 62.0, 268.0, 172.0])
# The ArcFace 112x112 five-point template (insightface's arcface_dst): the fixed reference, not the
# student's copy of it.
ARCFACE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                        [41.5493, 92.3655], [70.7299, 92.2041]])


def reference_template(size, scale=1.0):
    """ArcFace points scaled to an S x S crop, pulled towards the centre by 1/scale (worked by hand)."""
    return ((ARCFACE_112 / 112.0 - 0.5) / scale + 0.5) * size

task_1_1 = pytest.mark.task("1.1")
task_1_2 = pytest.mark.task("1.2")


@pytest.fixture(scope="module")
def astronaut():
    return data.astronaut()


@pytest.fixture(scope="module")
def extractor():
    return fx.FaceExtractor(device="cpu", size=128, scale=1.3, min_probability=0.9)


# ------------------------------------------------------------------------------------------------
# 1.1 square crop: boxes worked by hand
# ------------------------------------------------------------------------------------------------

@task_1_1
def test_square_crop_box_centres_a_square_of_scaled_longer_side():
    # w = 100, h = 50 -> side = 1.3 * 100 = 130, centre (150, 125) -> corner (150 - 65, 125 - 65)
    assert fx.square_crop_box((100, 100, 200, 150), 1.3, (480, 640, 3)) == (85, 60, 215, 190), \
        "side = round(scale * max(w, h)), centred on the box centre"


@task_1_1
def test_square_crop_box_rounds_the_corner_half_up():
    # scale 1: side 40, and the corner is the box's own corner x1 = 10.3, y1 = 20.3 -> (10, 20);
    # rounding with + 0.75 or math.ceil would give 11 and 21
    assert fx.square_crop_box((10.3, 20.3, 50.3, 60.3), 1.0, (100, 100)) == (10, 20, 50, 60), \
        "the corner is rounded half up: math.floor(v + 0.5), so 10.3 -> 10"
    # corner (10.5, 12.5): half up gives (11, 13); Python's round (half to even) would give (10, 12)
    assert fx.square_crop_box((10.5, 12.5, 50.5, 52.5), 1.0, (100, 100)) == (11, 13, 51, 53), \
        "the corner is rounded half up: 10.5 -> 11 and 12.5 -> 13"
    # side round(1.3 * 21) = round(27.3) = 27; centre (30.5, 30.5) -> corner 30.5 - 13.5 = 17.0
    assert fx.square_crop_box((20, 20, 41, 41), 1.3, (100, 100)) == (17, 17, 44, 44)


@task_1_1
def test_square_crop_box_is_shifted_inside_at_the_top_left_corner():
    # w = 40, h = 50 -> side 65; centre (20, 35): x1 = round(20 - 32.5) = -12 -> shifted to 0, y1 = 3
    assert fx.square_crop_box((0, 10, 40, 60), 1.3, (100, 100)) == (0, 3, 65, 68), \
        "a square that sticks out on the left must be shifted right (not shrunk)"
    # w = 50, h = 40 -> side 65; centre (35, 20): x1 = 3, y1 = round(20 - 32.5) = -12 -> shifted to 0
    assert fx.square_crop_box((10, 0, 60, 40), 1.3, (100, 100)) == (3, 0, 68, 65), \
        "a square that sticks out at the top must be shifted down to y1 = 0 (not 1, not shrunk)"


@task_1_1
def test_square_crop_box_of_an_empty_box_is_one_pixel():
    # w = h = 0 -> side round(0) = 0, kept at the minimum of 1; centre (30, 30): x1 = round(29.5) = 30
    assert fx.square_crop_box((30, 30, 30, 30), 1.3, (100, 100)) == (30, 30, 31, 31), \
        "a degenerate box still gets a 1-pixel square (the side is kept within 1..min(H, W))"


@task_1_1
def test_square_crop_box_is_shifted_inside_at_the_bottom_right_corner():
    # frame H = 100, W = 120; w = 20, h = 30 -> side 39; centre (90, 85): x1 = 71 fits, y1 = 66 -> 100 - 39 = 61
    assert fx.square_crop_box((80, 70, 100, 100), 1.3, (100, 120, 3)) == (71, 61, 110, 100), \
        "a square that sticks out at the bottom must be shifted up to y2 = H"


@task_1_1
def test_square_crop_box_larger_than_the_frame_is_capped_at_the_shorter_side():
    # side 2 * 80 = 160 > min(H, W) = 60 -> 60; centre (50, 50): x1 = 20, y1 = 20 -> shifted to 0
    assert fx.square_crop_box((10, 10, 90, 90), 2.0, (60, 100)) == (20, 0, 80, 60), \
        "the side is at most min(H, W) and the square stays inside the frame"


@task_1_1
def test_square_crop_box_is_always_square_inside_the_frame_and_covers_the_box():
    rng = np.random.default_rng(0)
    for _ in range(300):
        height, width = rng.integers(40, 400, size=2)
        x1, x2 = np.sort(rng.uniform(0, width, size=2))
        y1, y2 = np.sort(rng.uniform(0, height, size=2))
        if x2 - x1 < 2 or y2 - y1 < 2:
            continue
        box = fx.square_crop_box((x1, y1, x2, y2), 1.3, (height, width))
        assert all(isinstance(v, int) for v in box), f"coordinates must be Python ints, got {box}"
        left, top, right, bottom = box
        side = right - left
        assert bottom - top == side, f"crop {box} is not square"
        assert 0 <= left and 0 <= top and right <= width and bottom <= height, f"crop {box} leaves the {height}x{width} frame"
        expected_side = min(int(np.floor(1.3 * max(x2 - x1, y2 - y1) + 0.5)), height, width)
        assert side == expected_side, f"side {side}, expected round(1.3 * longer side) capped at min(H, W) = {expected_side}"
        if expected_side < min(height, width):
            slack = CROP_COVERS_BOX_SLACK_PX
            assert left <= x1 + slack and right >= x2 - slack and top <= y1 + slack and bottom >= y2 - slack, \
                f"the square {box} must contain the face box {(x1, y1, x2, y2)}"


@task_1_1
def test_crop_face_without_resize_is_the_exact_slice():
    ys, xs = np.mgrid[0:120, 0:160]
    frame = np.stack([xs % 256, ys % 256, (xs + ys) % 256], axis=-1).astype(np.uint8)
    # box (40, 30, 90, 70): side round(1.3 * 50) = 65, centre (65, 50) -> corner (33, 18) worked by hand
    crop = fx.crop_face(frame, (40, 30, 90, 70), size=65, scale=1.3)
    assert crop.shape == (65, 65, 3) and crop.dtype == np.uint8, f"got {crop.shape} {crop.dtype}"
    np.testing.assert_array_equal(crop, frame[18:83, 33:98], err_msg="the crop must be frame[y1:y2, x1:x2] of the square box")


@task_1_1
def test_crop_face_resizes_like_opencv_area_when_shrinking_and_linear_when_enlarging(astronaut):
    # square of the astronaut box: side round(1.3 * 110) = 143, centre (224.5, 117) -> corner (153, 46)
    square = np.ascontiguousarray(astronaut[46:189, 153:296])
    small = fx.crop_face(astronaut, ASTRONAUT_FACE_BOX, size=64)
    np.testing.assert_array_equal(small, cv2.resize(square, (64, 64), interpolation=cv2.INTER_AREA),
                                  err_msg="shrinking must use cv2.INTER_AREA on the square slice")
    large = fx.crop_face(astronaut, ASTRONAUT_FACE_BOX, size=200)
    np.testing.assert_array_equal(large, cv2.resize(square, (200, 200), interpolation=cv2.INTER_LINEAR),
                                  err_msg="enlarging must use cv2.INTER_LINEAR on the square slice")


# ------------------------------------------------------------------------------------------------
# 1.1 through the detector (MTCNN on real images)
# ------------------------------------------------------------------------------------------------

@task_1_1
def test_face_extractor_finds_the_astronaut_face(extractor, astronaut):
    results = extractor.extract([astronaut])
    assert len(results) == 1 and results[0].status == "face", "MTCNN finds the astronaut's face"
    face = results[0].face
    np.testing.assert_allclose(face.box, ASTRONAUT_FACE_BOX, atol=ASTRONAUT_BOX_ATOL_PX,
                               err_msg="box should be about (181, 62)-(268, 172)")
    assert face.landmarks.shape == (5, 2) and face.probability > ASTRONAUT_MIN_FACE_PROBABILITY
    inside = ((face.landmarks[:, 0] > face.box[0]) & (face.landmarks[:, 0] < face.box[2])
              & (face.landmarks[:, 1] > face.box[1]) & (face.landmarks[:, 1] < face.box[3]))
    assert inside.all(), f"all five landmarks must lie inside the box, got {face.landmarks}"
    assert face.crop.shape == (128, 128, 3) and face.crop.dtype == np.uint8
    expected = cv2.resize(np.ascontiguousarray(astronaut[46:189, 153:296]), (128, 128), interpolation=cv2.INTER_AREA)
    assert np.abs(face.crop.astype(int) - expected.astype(int)).mean() < ASTRONAUT_CROP_MEAN_ABS_LEVELS, \
        "the crop should show the 1.3x square around the detected face"


@task_1_1
def test_face_extractor_reports_no_face_frames_instead_of_dropping_them(extractor, astronaut):
    head = np.ascontiguousarray(astronaut[:256, 96:352])  # the face is at about (85, 62)-(172, 172) here
    grey = np.full_like(head, 128)
    shifted = np.roll(head, shift=(4, 6), axis=(0, 1))
    results = extractor.extract([head, grey, shifted], frame_indices=[10, 11, 12])
    assert [r.frame_index for r in results] == [10, 11, 12], "one result per frame, in order, with its index"
    assert [r.status for r in results] == ["face", "no_face", "face"], "the grey frame must be reported as no_face"
    assert results[1].face is None and results[1].faces == []
    assert results[0].face.crop.shape == (128, 128, 3)
    assert results[0].face.track_id == results[2].face.track_id, "the same face 6 px away continues its track"
    np.testing.assert_allclose(results[2].face.box, results[0].face.box + [6, 4, 6, 4], atol=ASTRONAUT_BOX_ATOL_PX)


@task_1_1
def test_face_extractor_downscales_large_frames_and_maps_boxes_back(astronaut):
    big = cv2.resize(astronaut, (1024, 1024), interpolation=cv2.INTER_CUBIC)
    extractor = fx.FaceExtractor(device="cpu", size=64, max_detection_side=512)
    face = extractor.extract([big])[0].face
    assert face is not None, "the face must be found on the half-size detection frame"
    np.testing.assert_allclose(face.box, 2 * ASTRONAUT_FACE_BOX, atol=DOWNSCALED_DETECTION_BOX_ATOL_PX,
                               err_msg="boxes found on the downscaled frame must be mapped back to full-resolution pixels")
    assert face.crop.shape == (64, 64, 3)


@task_1_1
def test_select_all_keeps_every_face_largest_first(astronaut):
    head = astronaut[:256, 96:352]
    canvas = np.full((256, 448, 3), 90, dtype=np.uint8)
    canvas[:, :256] = head
    canvas[40:216, 264:440] = cv2.resize(head, (176, 176), interpolation=cv2.INTER_AREA)
    every = fx.FaceExtractor(device="cpu", size=64, select="all").extract([canvas])[0]
    assert len(every.faces) == 2, f"two astronauts, found {len(every.faces)} faces"
    assert every.faces[0].area > every.faces[1].area, "faces come largest first"
    assert every.faces[0].box[0] < 256 <= every.faces[1].box[0]
    assert every.faces[0].track_id != every.faces[1].track_id, "two faces in one frame are two tracks"
    largest = fx.FaceExtractor(device="cpu", size=64, select="largest").extract([canvas])[0]
    assert len(largest.faces) == 1
    np.testing.assert_allclose(largest.face.box, every.faces[0].box)


# ------------------------------------------------------------------------------------------------
# 1.2 similarity transform
# ------------------------------------------------------------------------------------------------

def skimage_similarity(src, dst):
    return SimilarityTransform.from_estimate(src, dst).params[:2]


@task_1_2
def test_similarity_transform_worked_example():
    matrix = fx.similarity_transform(np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([[1.0, 1.0], [1.0, 3.0]]))
    assert matrix.shape == (2, 3)
    np.testing.assert_allclose(matrix, [[0, -2, 1], [2, 0, 1]], atol=SIMILARITY_EXACT_FIT_ATOL,
                               err_msg="(0,0)->(1,1), (1,0)->(1,3): scale 2, rotation 90 degrees, translation (1, 1)")


@task_1_2
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_similarity_transform_matches_skimage_umeyama_on_noisy_points(seed):
    rng = np.random.default_rng(seed)
    src = rng.uniform(0, 200, size=(5, 2))
    angle, scale, shift = rng.uniform(-0.6, 0.6), rng.uniform(0.5, 2.0), rng.uniform(-50, 50, size=2)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = scale * src @ rotation.T + shift + rng.normal(scale=3.0, size=src.shape)
    np.testing.assert_allclose(fx.similarity_transform(src, dst), skimage_similarity(src, dst),
                               atol=SIMILARITY_VS_SKIMAGE_ATOL, err_msg="least-squares fit differs from Umeyama's")


@task_1_2
def test_similarity_transform_recovers_an_exact_transform_like_opencv():
    rng = np.random.default_rng(3)
    src = rng.uniform(0, 300, size=(5, 2))
    angle, scale, shift = 0.35, 1.7, np.array([12.0, -40.0])
    truth = np.hstack([scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]), shift[:, None]])
    dst = src @ truth[:, :2].T + truth[:, 2]
    opencv, _ = cv2.estimateAffinePartial2D(src.astype(np.float32), dst.astype(np.float32), method=cv2.LMEDS)
    np.testing.assert_allclose(fx.similarity_transform(src, dst), truth, atol=SIMILARITY_EXACT_FIT_ATOL)
    np.testing.assert_allclose(fx.similarity_transform(src, dst), opencv, atol=SIMILARITY_VS_OPENCV_ATOL,
                               err_msg="OpenCV's partial affine estimate of the same points disagrees")


@task_1_2
def test_similarity_transform_never_reflects():
    src = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 5.0], [7.0, 8.0]])
    mirrored = src * np.array([-1.0, 1.0])
    matrix = fx.similarity_transform(src, mirrored)
    assert np.linalg.det(matrix[:, :2]) > 0, "a similarity transform is a rotation, never a reflection (det D correction)"
    np.testing.assert_allclose(matrix, skimage_similarity(src, mirrored), atol=SIMILARITY_VS_SKIMAGE_ATOL)


# ------------------------------------------------------------------------------------------------
# 1.2 alignment
# ------------------------------------------------------------------------------------------------

def dot_centroids(image, count):
    """Centroids (x, y) of the ``count`` bright blobs of a grey image, sorted like the template."""
    mask = (image > 60).astype(np.uint8)
    n, labels, stats, centroids = cv2.connectedComponentsWithStats(mask)
    return centroids[1:n]


@task_1_2
def test_align_face_moves_the_landmarks_onto_the_template():
    size, scale = 128, 1.0
    template = reference_template(size, scale)
    angle, zoom, shift = np.deg2rad(25), 1.8, np.array([70.0, 40.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    landmarks = zoom * template @ rotation.T + shift
    frame = np.zeros((400, 400, 3), np.uint8)
    for x, y in landmarks:
        cv2.circle(frame, (int(round(x * 16)), int(round(y * 16))), 5 * 16, (255, 255, 255), -1, cv2.LINE_AA, shift=4)
    aligned = fx.align_face(frame, landmarks, size, scale)
    assert aligned.shape == (size, size, 3) and aligned.dtype == np.uint8
    found = dot_centroids(aligned[..., 0], 5)
    assert len(found) == 5, f"five dots should survive the warp, found {len(found)}"
    for point in template:
        distance = np.min(np.linalg.norm(found - point, axis=1))
        assert distance < ALIGNED_DOT_CENTROID_ATOL_PX, f"no dot within {ALIGNED_DOT_CENTROID_ATOL_PX} px of template point {point}"


@task_1_2
def test_alignment_template_is_arcface_scaled_to_the_size_with_context():
    np.testing.assert_allclose(fx.alignment_template(112), ARCFACE_112, err_msg="size 112, scale 1: the ArcFace template itself")
    np.testing.assert_allclose(fx.alignment_template(224), 2 * ARCFACE_112, err_msg="coordinates scale with size")
    # with scale 1.3 the nose (56.0252, 71.7366) moves towards the centre: ((p / 112 - 0.5) / 1.3 + 0.5) * 256
    expected_nose = [((56.0252 / 112 - 0.5) / 1.3 + 0.5) * 256, ((71.7366 / 112 - 0.5) / 1.3 + 0.5) * 256]
    np.testing.assert_allclose(fx.alignment_template(256, 1.3)[2], expected_nose)


@task_1_2
def test_align_face_is_opencvs_bilinear_warp_with_a_reflected_border():
    # a small textured frame and landmarks near its corner: most of the aligned crop lies outside
    # the frame, where pixels must come from reflecting the border (BORDER_REFLECT_101), not black
    rng = np.random.default_rng(4)
    frame = cv2.resize(rng.integers(0, 256, size=(12, 16, 3), dtype=np.uint8), (64, 48), interpolation=cv2.INTER_LINEAR)
    size, scale = 96, 1.3
    landmarks = reference_template(size, scale) * 0.3 - np.array([10.0, 8.0])  # crop pixel p shows frame pixel 0.3 p - (10, 8)
    matrix = skimage_similarity(landmarks, reference_template(size, scale))
    expected = cv2.warpAffine(frame, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    aligned = fx.align_face(frame, landmarks, size, scale)
    assert aligned.shape == (size, size, 3) and aligned.dtype == np.uint8
    difference = np.abs(aligned.astype(int) - expected.astype(int)).max()
    assert difference <= ALIGNED_WARP_VS_OPENCV_ATOL_LEVELS, \
        f"align_face differs from cv2.warpAffine (bilinear, BORDER_REFLECT_101) by up to {difference} levels"


@task_1_2
def test_face_extractor_aligns_a_tilted_face_upright(astronaut):
    centre = (224.0, 117.0)
    tilt = cv2.getRotationMatrix2D(centre, 20, 1.0)
    tilted = cv2.warpAffine(astronaut, tilt, (512, 512), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    size = 160
    extractor = fx.FaceExtractor(device="cpu", size=size, scale=1.3, align=True, track=False)
    face = extractor.extract([tilted])[0].face
    assert face is not None and face.crop.shape == (size, size, 3)
    # oracle: a second, independent MTCNN pass on the aligned crop finds the landmarks on the template
    _, _, points = extractor.mtcnn.detect(face.crop, landmarks=True)
    assert points is not None, "MTCNN should find the face again in the aligned crop"
    found = np.asarray(points[0], dtype=np.float64)
    np.testing.assert_allclose(found, reference_template(size, 1.3), atol=REDETECTED_LANDMARK_ATOL_FRACTION * size,
                               err_msg="after alignment the landmarks must sit on the template")
    eye_slope = (found[1, 1] - found[0, 1]) / (found[1, 0] - found[0, 0])
    assert abs(eye_slope) < np.tan(np.deg2rad(ALIGNED_EYE_TILT_MAX_DEG)), "the eyes must be level after alignment (the 20 degree tilt removed)"
