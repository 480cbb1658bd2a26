"""Source faces of the mini-forensics benchmark: real photographs shipped inside installed packages.

Each identity is one real photograph:

* ``astronaut``: scikit-image ``data.astronaut()`` (Eileen Collins, colour, 512x512);
* ``grace_hopper``: matplotlib's sample ``grace_hopper.jpg`` (colour, 512x600);
* ``lfw_000`` ... ``lfw_099``: the 100 face images of scikit-image ``data.lfw_subset()`` (25x25
  grayscale crops of Labeled Faces in the Wild). Each gets a deterministic skin tone chosen from its
  name, so the benchmark has colour faces of varied complexion.

These are all the real face photographs the installed packages ship (the other bundled images are
not faces). The Celeb-DF-like second variant (:mod:`.variants`) therefore uses the 50
odd-numbered LFW faces, and a cross-variant test gives the default variant the other 52.

To blink the eyes and to place a pulse on the skin we must know where the face is. We run the real
MTCNN detector (Zhang et al. 2016, ``facenet_pytorch``) once per source image and keep its box and
5 landmarks (eye centres, nose tip, mouth corners) in memory. The tiny LFW crops are upscaled and
padded with replicated borders first (MTCNN wants some context around a face); a few scales are
tried in turn. If none works, the mean LFW landmark layout (all LFW crops are aligned the same way)
is used instead.

A :class:`FaceSprite` is the head cut out of its photograph: colour pixels, a soft head matte and
the detector's box and landmarks, all in the sprite's own pixel coordinates.
"""
from __future__ import annotations

import functools
import warnings
import zlib
from dataclasses import dataclass, replace

import cv2
import numpy as np

from common.errors import CourseError

SPRITE_SIZE = 192
"""Side in pixels of every identity's sprite (the head crop is resized to this square)."""

N_LFW_FACES = 100
IDENTITIES: list[str] = ["astronaut", "grace_hopper"] + [f"lfw_{i:03d}" for i in range(N_LFW_FACES)]
"""Every identity of the benchmark; one source photograph each."""

# Skin tones (RGB, 0..255) from light to dark, used to colour the grayscale LFW faces.
SKIN_TONES = np.array(
    [
        [236, 200, 176],
        [226, 184, 152],
        [214, 168, 130],
        [198, 146, 110],
        [176, 124, 90],
        [150, 102, 72],
        [122, 82, 58],
        [96, 64, 46],
    ],
    dtype=np.float32,
)

# Upscaled side and border padding tried in turn when running MTCNN on a 25x25 LFW crop.
_LFW_DETECTION_TRIES = ((96, 24), (100, 25), (128, 32), (80, 26), (112, 28), (64, 16))
_MIN_FACE_PROBABILITY = 0.9


@dataclass(frozen=True)
class FaceSprite:
    """A head cut out of a photograph, in the sprite's own pixel coordinates.

    rgb: (S, S, 3) float32 colour in 0..255.
    alpha: (S, S) float32 head matte in [0, 1] (1 = head, 0 = discard).
    box: (4,) float32 MTCNN face box x1, y1, x2, y2 in pixels.
    landmarks: (5, 2) float32 MTCNN landmarks (x, y): subject's right eye (image left), left eye
        (image right), nose tip, mouth corner on the image left, mouth corner on the image right.
    identity: the identity's name.
    """

    rgb: np.ndarray
    alpha: np.ndarray
    box: np.ndarray
    landmarks: np.ndarray
    identity: str

    @property
    def size(self) -> int:
        """Side of the square sprite in pixels."""
        return int(self.rgb.shape[0])

    @property
    def box_width(self) -> float:
        """Width of the face box in pixels."""
        return float(self.box[2] - self.box[0])

    @property
    def interocular(self) -> float:
        """Distance between the two eye centres in pixels."""
        return float(np.linalg.norm(self.landmarks[1] - self.landmarks[0]))

    def resized(self, scale: float) -> "FaceSprite":
        """The same sprite resampled by ``scale`` (area averaging when shrinking)."""
        new_size = max(8, int(round(self.size * scale)))
        factor = new_size / self.size
        interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
        rgb = cv2.resize(self.rgb, (new_size, new_size), interpolation=interpolation)
        alpha = cv2.resize(self.alpha, (new_size, new_size), interpolation=interpolation)
        # Pixel centres sit at integer coordinates (OpenCV convention): x' = (x + 0.5) * f - 0.5.
        return replace(
            self,
            rgb=rgb,
            alpha=np.clip(alpha, 0.0, 1.0),
            box=((self.box + 0.5) * factor - 0.5).astype(np.float32),
            landmarks=((self.landmarks + 0.5) * factor - 0.5).astype(np.float32),
        )


def check_identity(identity: str) -> None:
    """Raise :class:`CourseError` unless ``identity`` is one of :data:`IDENTITIES`."""
    if identity not in IDENTITIES:
        raise CourseError(
            f"unknown identity {identity!r}: expected 'astronaut', 'grace_hopper' or 'lfw_000'..'lfw_099'"
        )


def skin_tone_for(identity: str) -> np.ndarray:
    """Deterministic skin tone (3,) float32 RGB for an identity, chosen from its name's CRC32."""
    index = zlib.crc32(identity.encode("utf-8")) % len(SKIN_TONES)
    return SKIN_TONES[index].copy()


def colourise_gray(gray: np.ndarray, tone: np.ndarray) -> np.ndarray:
    """Tint a grayscale image with a skin tone, keeping its shading.

    gray: (H, W) float in 0..255.  tone: (3,) RGB.  Returns (H, W, 3) float32 in 0..255.
    Each channel is the gray level times tone/mean(tone), and overall brightness moves part of the
    way towards the tone's brightness, so dark tones give darker faces.
    Example: gray 150 with tone (198, 146, 110) gives about (194, 143, 108).
    """
    tone = np.asarray(tone, dtype=np.float32)
    chroma = tone / tone.mean()
    brightness = 0.55 + 0.45 * tone.mean() / 160.0
    rgb = gray[..., None].astype(np.float32) * chroma[None, None, :] * brightness
    return np.clip(rgb, 0.0, 255.0).astype(np.float32)


@functools.lru_cache(maxsize=1)
def _detector():
    """The MTCNN face detector on the CPU (weights ship inside the facenet-pytorch wheel)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from facenet_pytorch import MTCNN

    return MTCNN(keep_all=True, device="cpu")


def detect_faces(images_rgb: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """Run MTCNN on a batch of same-size images and keep the most probable face of each.

    images_rgb: list of (H, W, 3) uint8.  Returns, per image, (box (4,) float32 x1,y1,x2,y2,
    landmarks (5,2) float32) rounded to 1/16 pixel, so that tiny floating-point differences between
    machines cannot change the rendered frames; or None when no face reaches probability 0.9.
    MTCNN runs on one CPU thread: on a busy machine that is several times faster than two.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            all_boxes, all_probs, all_points = _detector().detect(list(images_rgb), landmarks=True)
    finally:
        torch.set_num_threads(threads)
    results = []
    for boxes, probs, points in zip(all_boxes, all_probs, all_points):
        if boxes is None:
            results.append(None)
            continue
        probs = np.asarray(probs, dtype=np.float64)
        best = int(np.argmax(probs))
        if probs[best] < _MIN_FACE_PROBABILITY:
            results.append(None)
            continue
        box = np.round(np.asarray(boxes[best], dtype=np.float64) * 16) / 16
        landmarks = np.round(np.asarray(points[best], dtype=np.float64) * 16) / 16
        results.append((box.astype(np.float32), landmarks.astype(np.float32)))
    return results


@functools.lru_cache(maxsize=1)
def _lfw_faces() -> np.ndarray:
    """The 100 LFW face crops, (100, 25, 25) float in 0..255."""
    from skimage import data

    return data.lfw_subset()[:N_LFW_FACES] * 255.0


def _upscaled_padded_lfw(index: int, side: int, pad: int) -> np.ndarray:
    """LFW face ``index`` upscaled to side x side and padded by ``pad`` replicated pixels, uint8 RGB."""
    gray = _lfw_faces()[index].astype(np.float32)
    big = cv2.resize(gray, (side, side), interpolation=cv2.INTER_CUBIC)
    big = np.clip(np.rint(big), 0, 255).astype(np.uint8)
    big = cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    return np.repeat(big[..., None], 3, axis=2)


def _to_lfw_pixels(found: tuple[np.ndarray, np.ndarray], side: int, pad: int) -> tuple[np.ndarray, np.ndarray]:
    """Map a detection on an upscaled, padded LFW crop back to the crop's 25x25 pixel coordinates."""
    box, landmarks = found
    to_source = 25.0 / side
    return (((box - pad + 0.5) * to_source - 0.5).astype(np.float32),
            ((landmarks - pad + 0.5) * to_source - 0.5).astype(np.float32))


@functools.lru_cache(maxsize=1)
def _lfw_detections() -> tuple[tuple[np.ndarray, np.ndarray] | None, ...]:
    """MTCNN box and landmarks of all 100 LFW crops (in 25x25 coordinates), None where not found.

    All crops go through MTCNN as one batch at the first scale (about a second on a CPU, much
    faster than 100 single calls); crops it misses are retried one by one at the other scales.
    """
    side, pad = _LFW_DETECTION_TRIES[0]
    batch = [_upscaled_padded_lfw(i, side, pad) for i in range(N_LFW_FACES)]
    found = [None if f is None else _to_lfw_pixels(f, side, pad) for f in detect_faces(batch)]
    for index in range(N_LFW_FACES):
        for side, pad in _LFW_DETECTION_TRIES[1:]:
            if found[index] is not None:
                break
            detection = detect_faces([_upscaled_padded_lfw(index, side, pad)])[0]
            found[index] = None if detection is None else _to_lfw_pixels(detection, side, pad)
    return tuple(found)


@functools.lru_cache(maxsize=1)
def _mean_lfw_layout() -> tuple[np.ndarray, np.ndarray]:
    """Mean MTCNN box and landmarks over the LFW crops where MTCNN finds a face (fallback layout)."""
    found = [f for f in _lfw_detections() if f is not None]
    if not found:
        raise CourseError("MTCNN found no face in any lfw_subset image: the facenet-pytorch install looks broken")
    boxes = np.mean([f[0] for f in found], axis=0).astype(np.float32)
    landmarks = np.mean([f[1] for f in found], axis=0).astype(np.float32)
    return boxes, landmarks


def _grace_hopper() -> np.ndarray:
    """Matplotlib's sample photograph of Grace Hopper, (600, 512, 3) uint8."""
    import matplotlib.cbook
    from PIL import Image

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as handle:
        return np.asarray(Image.open(handle).convert("RGB"))


def _source_photo(identity: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The identity's photograph as float32 RGB 0..255, with its MTCNN box (4,) and landmarks (5,2)."""
    if identity == "astronaut":
        from skimage import data

        photo = data.astronaut()
    elif identity == "grace_hopper":
        photo = _grace_hopper()
    else:
        index = int(identity.split("_")[1])
        found = _lfw_detections()[index]
        if found is None:
            warnings.warn(f"MTCNN found no face in {identity}; using the mean LFW landmark layout")
            found = _mean_lfw_layout()
        gray = _lfw_faces()[index]
        return colourise_gray(gray, skin_tone_for(identity)), found[0], found[1]
    found = detect_faces([photo])[0]
    if found is None:
        raise CourseError(f"MTCNN found no face in the {identity} photograph: the facenet-pytorch install looks broken")
    return photo.astype(np.float32), found[0], found[1]


def head_matte(size: int, box: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Soft elliptical head matte around a face box, limited to pixels that came from the photograph.

    size: side of the square sprite.  box: (4,) face box x1, y1, x2, y2.  valid: (size, size) float
    coverage of the photograph (1 inside it, 0 where the crop ran past its border).
    Returns (size, size) float32 in [0, 1]: an ellipse 1.32 box-widths by 1.4 box-heights, centred a
    little above the box centre (hair), cut by an ellipse 12% larger than the photograph's own
    extent (round corners on tight crops), feathered by 4% of the box width.
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    centre_x, centre_y = (x1 + x2) / 2, (y1 + y2) / 2 - 0.06 * (y2 - y1)
    semi_x, semi_y = 0.66 * (x2 - x1), 0.70 * (y2 - y1)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    inside = ((xs - centre_x) / semi_x) ** 2 + ((ys - centre_y) / semi_y) ** 2 <= 1.0
    # Round off the corners where the photograph is a tight crop (the 25x25 LFW faces).
    rows, cols = np.nonzero(valid > 0.99)
    photo_cx, photo_cy = (cols.min() + cols.max()) / 2, (rows.min() + rows.max()) / 2
    photo_semi_x, photo_semi_y = 0.56 * (cols.max() - cols.min()), 0.56 * (rows.max() - rows.min())
    inside &= ((xs - photo_cx) / photo_semi_x) ** 2 + ((ys - photo_cy) / photo_semi_y) ** 2 <= 1.0
    feather = 0.04 * (x2 - x1)
    inset = max(1, int(np.ceil(1.5 * feather)))
    photo_pixels = cv2.erode((valid > 0.99).astype(np.uint8), np.ones((2 * inset + 1, 2 * inset + 1), np.uint8))
    matte = cv2.GaussianBlur((inside & (photo_pixels > 0)).astype(np.float32), (0, 0), feather)
    return np.clip(matte, 0.0, 1.0)


@functools.lru_cache(maxsize=None)
def load_face(identity: str) -> FaceSprite:
    """The identity's head sprite (cached in memory: MTCNN runs once per source image).

    Returns a :class:`FaceSprite` of side :data:`SPRITE_SIZE`, the head matte an ellipse around the
    MTCNN face box. Example: ``load_face("astronaut").landmarks[0]`` is the subject's right eye.
    """
    check_identity(identity)
    photo, box, landmarks = _source_photo(identity)
    # Square crop around the face box, large enough for the head matte (alpha 0 outside the photo).
    centre = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2], dtype=np.float64)
    side = 1.7 * float(max(box[2] - box[0], box[3] - box[1]))
    scale = SPRITE_SIZE / side
    crop_origin = centre - side / 2
    # Pixel centres sit at integer coordinates (OpenCV): x' = (x - origin + 0.5) * scale - 0.5.
    to_sprite = np.array(
        [[scale, 0.0, (0.5 - crop_origin[0]) * scale - 0.5],
         [0.0, scale, (0.5 - crop_origin[1]) * scale - 0.5]]
    )
    if scale < 0.8:  # low-pass before shrinking so the sprite does not alias
        photo = cv2.GaussianBlur(photo, (0, 0), 0.45 / scale)
    interpolation = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_LINEAR
    rgb = cv2.warpAffine(photo, to_sprite, (SPRITE_SIZE, SPRITE_SIZE), flags=interpolation,
                         borderMode=cv2.BORDER_REPLICATE)
    photo_coverage = np.ones(photo.shape[:2], dtype=np.float32)
    valid = cv2.warpAffine(photo_coverage, to_sprite, (SPRITE_SIZE, SPRITE_SIZE), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    points = np.concatenate([box.reshape(2, 2), landmarks], axis=0).astype(np.float64)
    points = points @ to_sprite[:, :2].T + to_sprite[:, 2]
    sprite_box = points[:2].reshape(4).astype(np.float32)
    alpha = head_matte(SPRITE_SIZE, sprite_box, valid)
    return FaceSprite(
        rgb=np.clip(rgb, 0, 255).astype(np.float32),
        alpha=alpha,
        box=sprite_box,
        landmarks=points[2:].astype(np.float32),
        identity=identity,
    )
