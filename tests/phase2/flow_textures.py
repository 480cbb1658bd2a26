"""Synthetic textures moved by known motions, shared by the optical-flow tests (no course code)."""
import cv2
import numpy as np


def smooth_texture(side: int = 128, seed: int = 0, sigma: float = 2.5) -> np.ndarray:
    """(side, side) float32 in [0, 255]: blurred uniform noise, a texture with gradients everywhere."""
    noise = np.random.default_rng(seed).uniform(0, 255, (side, side)).astype(np.float32)
    texture = cv2.GaussianBlur(noise, (0, 0), sigma)
    return ((texture - texture.min()) / (texture.max() - texture.min()) * 255).astype(np.float32)


def moved(image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """The image moved by the 2x3 affine ``matrix``: a point p of ``image`` lands at ``matrix @ [p, 1]``."""
    return cv2.warpAffine(image, np.asarray(matrix, dtype=np.float32), image.shape[::-1], flags=cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_REFLECT)


def translation(dx: float, dy: float) -> np.ndarray:
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]])


def true_flow(matrix: np.ndarray, side: int) -> np.ndarray:
    """(side, side, 2) displacement of every pixel under the affine ``matrix``."""
    ys, xs = np.mgrid[0:side, 0:side].astype(np.float64)
    points = np.stack([xs, ys, np.ones_like(xs)], axis=-1)
    return points @ np.asarray(matrix).T - np.stack([xs, ys], axis=-1)
