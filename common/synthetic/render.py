"""Rendering a talking-head clip with ground truth: :func:`make_clip`.

A clip is drawn frame by frame like a simple 2-D animation of a real photograph:

1. the identity's head sprite (a real face, see :mod:`.faces`), face-swapped once if the method
   says so, is scaled so the face box is 36-46% of the frame wide;
2. on each frame the eyelids are drawn at the current eye openness (blinks, :mod:`.physiology`)
   and the pulse is added to the skin;
3. the sprite is rotated, scaled and moved by the head motion and composited over a textured
   background; the light changes slowly (:mod:`.scene`);
4. sensor noise is added (it also dithers the sub-gray-level pulse so it survives quantisation);
5. frame-level manipulations (a face-swap's lower resolution, GAN-style upsampling, temporal
   flicker) are blended into the face region; the frame is quantised to uint8. H.264 compression
   happens when the clip is written.

Every random draw comes from generators spawned from ``seed`` in a fixed order, one stream per
concern (identity, scene, physiology, noise, manipulation). So the same seed gives the same clip,
and clips of different methods with the same seed share identity, background, motion, blinks,
pulse and noise: they differ only by the manipulation (handy for tests and for teaching).

Physiological cues (blinks, pulse) need long clips: use ``n_frames=250`` or more (10 s at 25 fps).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from common.errors import CourseError
from common.synthetic.faces import FaceSprite, check_identity, load_face
from common.synthetic.manipulations import (RECIPES, Recipe, blend_into, check_method, gan_upsample,
                                            jitter_frame, render_at_lower_resolution, swap_face)
from common.synthetic.physiology import (BLINK_OPENNESS_THRESHOLD, BLINK_RATE_PER_MIN, HEART_RATE_BPM,
                                         PULSE_CHANNEL_WEIGHTS, PULSE_GREEN_AMPLITUDE, EyeShape,
                                         draw_blink_schedule, eye_openness, eye_points,
                                         eye_shapes_from_landmarks, lid_profile, pulse_waveform)
from common.synthetic.scene import apply_lighting, draw_head_motion, draw_lighting, make_background, pose_matrices
from common.synthetic.variants import DEFAULT_VARIANT, Variant, get_variant
from common.synthetic.truth import Clip, ClipTruth

MIN_SIZE, MAX_SIZE = 32, 1024
SENSOR_NOISE_SIGMA = get_variant(DEFAULT_VARIANT).noise_sigma
"""Range of the Gaussian sensor noise's standard deviation (gray levels) of the default variant."""

# How much larger than the landmark eye the painted eyelid is, to cover the photographed eye.
_EYELID_WIDTH_FACTOR, _EYELID_HEIGHT_FACTOR = 1.3, 1.7


def _ellipse_mask(size: int, centre: np.ndarray, semi_x: float, semi_y: float, feather: float) -> np.ndarray:
    """Feathered axis-aligned ellipse, (size, size) float32 in [0, 1]."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    inside = ((xs - centre[0]) / semi_x) ** 2 + ((ys - centre[1]) / semi_y) ** 2 <= 1.0
    return cv2.GaussianBlur(inside.astype(np.float32), (0, 0), max(feather, 0.5))


def inner_face_mask(sprite: FaceSprite) -> np.ndarray:
    """The face region (brows to chin, cheek to cheek) of a sprite, (S, S) float32 in [0, 1]:
    an ellipse filling the face box, feathered by 5% of its width, inside the head matte."""
    x1, y1, x2, y2 = sprite.box
    centre = np.array([(x1 + x2) / 2, (y1 + y2) / 2])
    ellipse = _ellipse_mask(sprite.size, centre, 0.5 * (x2 - x1), 0.55 * (y2 - y1), 0.05 * (x2 - x1))
    return (ellipse * sprite.alpha).astype(np.float32)


def eyelid_cover(shape: tuple[int, int], eye: EyeShape, openness: float) -> tuple[np.ndarray, tuple[slice, slice]]:
    """How much of each pixel the upper eyelid covers, on a patch around one eye.

    The painted eye is an almond (``eye`` enlarged to cover the photographed eye); the lid edge
    moves from the almond's upper curve (openness 1) down to its lower curve (openness 0).
    Returns (cover (h, w) float32 in [0, 1], (row slice, column slice) of the patch in the sprite).
    """
    half = eye.width / 2
    reach = half + eye.upper + eye.lower + 2
    x0, x1 = int(max(0, np.floor(eye.centre[0] - reach))), int(min(shape[1], np.ceil(eye.centre[0] + reach) + 1))
    y0, y1 = int(max(0, np.floor(eye.centre[1] - reach))), int(min(shape[0], np.ceil(eye.centre[1] + reach) + 1))
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    dx, dy = xs - eye.centre[0], ys - eye.centre[1]
    along = (dx * eye.axis[0] + dy * eye.axis[1]) / half
    across = dx * eye.normal[0] + dy * eye.normal[1]
    profile = lid_profile(along)
    top, bottom = -eye.upper * profile, eye.lower * profile
    lid = bottom - openness * (bottom - top)
    below_top = np.clip(across - top + 0.5, 0, 1)
    above_lid = np.clip(lid - across + 0.5, 0, 1)
    within = np.clip((1.0 - np.abs(along)) * half + 0.5, 0, 1)
    cover = (below_top * above_lid * within).astype(np.float32)
    return cover, (slice(y0, y1), slice(x0, x1))


def draw_eyelid(rgb: np.ndarray, eye: EyeShape, openness: float, lid_colour: np.ndarray) -> None:
    """Paint the upper eyelid of one eye at ``openness`` onto an (S, S, 3) float32 sprite, in place.

    Covered pixels take the skin colour of the lid; a darker lash line follows the lid edge as
    the eye closes.
    """
    if openness >= 0.999:
        return
    cover, (rows, cols) = eyelid_cover(rgb.shape[:2], eye, openness)
    lashes, _ = eyelid_cover(rgb.shape[:2], eye, max(openness - 0.12, 0.0))
    lash_line = np.clip(lashes - cover, 0, 1) * (1.0 - openness)
    patch = rgb[rows, cols]
    patch *= 1.0 - cover[..., None]
    patch += cover[..., None] * lid_colour[None, None, :]
    patch *= 1.0 - 0.45 * lash_line[..., None]


def lid_colour_near(rgb: np.ndarray, eye: EyeShape) -> np.ndarray:
    """Skin colour below an eye (median of a patch 0.7 eye widths under its centre), (3,) float32."""
    centre = eye.centre + 0.7 * eye.width * eye.normal
    half = max(1, int(round(0.25 * eye.width)))
    x, y = int(round(centre[0])), int(round(centre[1]))
    patch = rgb[max(0, y - half):y + half + 1, max(0, x - half):x + half + 1].reshape(-1, 3)
    return (0.95 * np.median(patch, axis=0)).astype(np.float32)


def skin_masks(sprite: FaceSprite, eyes: tuple[EyeShape, EyeShape]) -> tuple[np.ndarray, np.ndarray]:
    """Where the pulse shows, (S, S) float32 each: (skin, forehead sign).

    skin: the inner face without the painted eyes.  forehead sign: -1 above a line 0.25
    interocular distances over the eyes (forehead), +1 elsewhere (used by the "antiphase" pulse).
    """
    skin = inner_face_mask(sprite)
    for eye in eyes:
        cover, (rows, cols) = eyelid_cover(skin.shape, eye.scaled(_EYELID_WIDTH_FACTOR * 1.2, _EYELID_HEIGHT_FACTOR * 1.3), 0.0)
        skin[rows, cols] *= 1.0 - cover
    eyes_mid = (eyes[0].centre + eyes[1].centre) / 2
    ys, xs = np.mgrid[0:sprite.size, 0:sprite.size].astype(np.float64)
    height_over_eyes = -((xs - eyes_mid[0]) * eyes[0].normal[0] + (ys - eyes_mid[1]) * eyes[0].normal[1])
    sign = np.where(height_over_eyes > 0.25 * sprite.interocular, -1.0, 1.0).astype(np.float32)
    return skin, sign


@dataclass(frozen=True)
class _Streams:
    """Independent random generators, one per concern, spawned from the clip's seed."""

    identity: np.random.Generator
    scene: np.random.Generator
    physiology: np.random.Generator
    noise: np.random.Generator
    manipulation: np.random.Generator

    @classmethod
    def from_seed(cls, seed: int) -> "_Streams":
        children = np.random.SeedSequence(seed).spawn(5)
        return cls(*(np.random.default_rng(child) for child in children))


def _check_arguments(method: str, seed: int, n_frames: int, size: int, fps: float,
                     identity: str | None, source_identity: str | None, variant: Variant) -> None:
    check_method(method)
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise CourseError(f"seed must be a non-negative integer, got {seed!r}")
    if n_frames < 1:
        raise CourseError(f"n_frames must be at least 1, got {n_frames}")
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise CourseError(f"size must be between {MIN_SIZE} and {MAX_SIZE} pixels, got {size}")
    if not 1.0 <= fps <= 240.0:
        raise CourseError(f"fps must be between 1 and 240, got {fps}")
    for name in (identity, source_identity):
        if name is not None:
            check_identity(name)
            if name not in variant.identities:
                raise CourseError(f"identity {name!r} is not one of the {variant.name!r} variant's faces")
    if source_identity is not None and source_identity == identity:
        raise CourseError(f"source_identity must differ from identity, both are {identity!r}")
    if source_identity is not None and not RECIPES[method].swap:
        raise CourseError(f"source_identity is only used by face-swapping methods, not {method!r}")


def _physiology(recipe: Recipe, streams: _Streams, n_frames: int, fps: float):
    """Blink schedule, heart rate, pulse (T,) and pulse mode of the clip.

    A real clip blinks 10-30 times a minute and has a pulse at 50-120 bpm. A "Physiological" fake
    blinks never (half the clips) or rarely (1-4 per minute), and its pulse is absent (half) or
    in antiphase between forehead and cheeks.
    """
    rng = streams.physiology
    duration = n_frames / fps
    schedule = draw_blink_schedule(rng, duration, fps, rng.uniform(*BLINK_RATE_PER_MIN))
    heart_rate = float(rng.uniform(*HEART_RATE_BPM))
    amplitude = float(rng.uniform(*PULSE_GREEN_AMPLITUDE))
    wave = amplitude * pulse_waveform(n_frames, fps, heart_rate, rng.uniform(0, 2 * np.pi))
    mode = "consistent"
    if recipe.physiological:
        fake = streams.manipulation
        rare_rate = 0.0 if fake.random() < 0.5 else fake.uniform(1.0, 4.0)
        schedule = draw_blink_schedule(fake, duration, fps, rare_rate)
        mode = "absent" if fake.random() < 0.5 else "antiphase"
    if mode == "absent":
        return schedule, None, np.zeros(n_frames, dtype=np.float32), mode
    return schedule, heart_rate, wave.astype(np.float32), mode


def _prepare_sprite(recipe: Recipe, streams: _Streams, identity: str, source_identity: str | None,
                    size: int, variant: Variant) -> tuple[FaceSprite, np.ndarray | None, str | None]:
    """The target sprite at frame scale (face-swapped if the recipe says so) and the swap mask."""
    target = load_face(identity)
    face_fraction = streams.scene.uniform(0.36, 0.46)
    scale = face_fraction * size / target.box_width
    if not recipe.swap:
        return target.resized(scale), None, None
    rng = streams.manipulation
    if source_identity is None:
        others = [name for name in variant.identities if name != identity]
        source_identity = others[int(rng.integers(len(others)))]
    source = load_face(source_identity)
    feather_frame_px = rng.uniform(*variant.swap_feather) * size / 128
    rgb, mask = swap_face(target.rgb, target.landmarks, source.rgb, source.alpha, source.landmarks,
                          colour_correction=rng.uniform(*variant.colour_correction), feather=feather_frame_px / scale,
                          colour_transfer=variant.colour_transfer)
    swapped = replace(target, rgb=rgb).resized(scale)
    mask_small = cv2.resize(mask, (swapped.size, swapped.size), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    return swapped, np.clip(mask_small, 0, 1).astype(np.float32), source_identity


def _warp(image: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """Sprite-to-frame warp (bilinear, zeros outside the sprite)."""
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def make_clip(method: str = "real", *, seed: int = 0, n_frames: int = 64, size: int | None = None, fps: float = 25.0,
              identity: str | None = None, source_identity: str | None = None, variant: str = DEFAULT_VARIANT) -> Clip:
    """Render one synthetic talking-head clip and its ground truth, in memory.

    method: one of ``METHODS`` ("real" or a manipulation).  seed: any non-negative int; the same
    arguments always give the same clip.  n_frames: T.  size: frame side in pixels (square frames;
    default the variant's: 128 for "ff", 192 for "celeb").  fps: frame rate.  identity: the face
    shown (default: drawn from the seed among the variant's faces).  source_identity: the face
    swapped in by "FaceSwap"/"Deepfake" (default: drawn from the seed, never the target).
    variant: how the clip is made, "ff" (default, unchanged) or the Celeb-DF-like "celeb"
    (other faces, smoother swaps; :mod:`common.synthetic.variants`).
    Returns a :class:`Clip` with frames (T, size, size, 3) uint8 RGB and a :class:`ClipTruth`.
    Physiological cues need ``n_frames >= 250`` (10 s at 25 fps).

    Example::

        clip = make_clip("FaceSwap", seed=3, n_frames=32)
        clip.frames.shape, clip.truth.label, clip.truth.mask.max() > 0   # (32, 128, 128, 3), 1, True
    """
    made = get_variant(variant)
    size = made.size if size is None else size
    _check_arguments(method, seed, n_frames, size, fps, identity, source_identity, made)
    recipe = RECIPES[method]
    streams = _Streams.from_seed(int(seed))
    if identity is None:
        identity = made.identities[int(streams.identity.integers(len(made.identities)))]

    # --- the scene (shared by every method for a given seed) ---------------------------------
    sprite, swap_mask, source_identity = _prepare_sprite(recipe, streams, identity, source_identity, size, made)
    background = make_background(streams.scene, size)
    motion = draw_head_motion(streams.scene, n_frames, fps, size)
    lighting = draw_lighting(streams.scene, n_frames, fps)
    box_centre = np.array([(sprite.box[0] + sprite.box[2]) / 2, (sprite.box[1] + sprite.box[3]) / 2])
    matrices = pose_matrices(motion, box_centre)
    noise_sigma = streams.noise.uniform(*made.noise_sigma)

    # --- physiology ------------------------------------------------------------------------------
    open_ear = streams.physiology.uniform(0.27, 0.33)
    eyes = eye_shapes_from_landmarks(sprite.landmarks, open_ear)
    painted_eyes = tuple(eye.scaled(_EYELID_WIDTH_FACTOR, _EYELID_HEIGHT_FACTOR) for eye in eyes)
    lid_colours = [lid_colour_near(sprite.rgb, eye) for eye in eyes]
    schedule, heart_rate, pulse, pulse_mode = _physiology(recipe, streams, n_frames, fps)
    openness = eye_openness(schedule, n_frames, fps)
    skin, forehead_sign = skin_masks(sprite, eyes)
    spatial_sign = forehead_sign if pulse_mode == "antiphase" else np.ones_like(forehead_sign)
    pulse_pattern = (skin * spatial_sign)[..., None] * PULSE_CHANNEL_WEIGHTS[None, None, :]

    # --- manipulation parameters -----------------------------------------------------------------
    rng = streams.manipulation
    region = swap_mask if swap_mask is not None else inner_face_mask(sprite)
    mismatch = rng.uniform(*made.upsample_mismatch) if recipe.upsample else 0.0
    if recipe.flicker:
        jitter = rng.normal(0.0, rng.uniform(*made.flicker_shift) * size / 128, size=(n_frames, 2))
        flicker_gain = 1.0 + rng.normal(0.0, rng.uniform(*made.flicker_gain), size=n_frames)
    resolution_factor = rng.uniform(*made.swap_resolution) if recipe.low_resolution else 1.0
    manipulated = method != "real"

    frames = np.empty((n_frames, size, size, 3), dtype=np.uint8)
    masks = np.zeros((n_frames, size, size), dtype=np.float32)
    premultiplied = np.empty((sprite.size, sprite.size, 4), dtype=np.float32)
    premultiplied[..., 3] = sprite.alpha
    for t in range(n_frames):
        rgb = sprite.rgb + pulse[t] * pulse_pattern
        for eye, colour in zip(painted_eyes, lid_colours):
            draw_eyelid(rgb, eye, float(openness[t]), colour)
        premultiplied[..., :3] = rgb * sprite.alpha[..., None]
        warped = _warp(premultiplied, matrices[t], size)
        frame = background * (1.0 - warped[..., 3:4]) + warped[..., :3]
        apply_lighting(frame, lighting.gain[t], lighting.tilt[t])
        frame += streams.noise.standard_normal(frame.shape, dtype=np.float32) * np.float32(noise_sigma)
        if manipulated:
            masks[t] = _warp(region, matrices[t], size)
        if recipe.low_resolution:
            blend_into(frame, render_at_lower_resolution(frame, resolution_factor), masks[t])
        if recipe.upsample:
            blend_into(frame, gan_upsample(frame, mismatch), masks[t])
        if recipe.flicker:
            blend_into(frame, jitter_frame(frame, jitter[t, 0], jitter[t, 1], flicker_gain[t]), masks[t])
        frames[t] = np.clip(np.rint(frame), 0, 255).astype(np.uint8)

    truth = ClipTruth(
        label=int(manipulated), method=method, identity=identity, source_identity=source_identity,
        fps=float(fps), seed=int(seed),
        boxes=_frame_boxes(sprite.box, matrices, motion.scale),
        eye_landmarks=_frame_eye_landmarks(eyes, openness, matrices),
        eye_openness=openness,
        blink_frames=openness < BLINK_OPENNESS_THRESHOLD,
        blink_times_s=schedule.start_s.astype(np.float64),
        blink_durations_s=schedule.duration_s.astype(np.float64),
        blink_rate_per_min=schedule.rate_per_min,
        heart_rate_bpm=heart_rate, pulse=pulse, pulse_mode=pulse_mode,
        mask=np.clip(masks, 0.0, 1.0),
    )
    return Clip(frames=frames, truth=truth)


def _frame_boxes(sprite_box: np.ndarray, matrices: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Face boxes in frame pixels, (T, 4) float32: the sprite box's centre mapped by each pose,
    its width and height scaled by the pose's scale (an upright box, as a detector reports)."""
    centre = np.array([(sprite_box[0] + sprite_box[2]) / 2, (sprite_box[1] + sprite_box[3]) / 2])
    half = np.array([sprite_box[2] - sprite_box[0], sprite_box[3] - sprite_box[1]]) / 2
    centres = matrices[:, :, :2] @ centre + matrices[:, :, 2]
    halves = scale[:, None] * half[None, :]
    return np.concatenate([centres - halves, centres + halves], axis=1).astype(np.float32)


def _frame_eye_landmarks(eyes: tuple[EyeShape, EyeShape], openness: np.ndarray, matrices: np.ndarray) -> np.ndarray:
    """The 6-point eye landmarks of both eyes in frame pixels, (T, 2, 6, 2) float32."""
    n_frames = len(openness)
    points = np.empty((n_frames, 2, 6, 2), dtype=np.float64)
    for t in range(n_frames):
        for e, eye in enumerate(eyes):
            sprite_points = eye_points(eye, float(openness[t]))
            points[t, e] = sprite_points @ matrices[t, :, :2].T + matrices[t, :, 2]
    return points.astype(np.float32)
