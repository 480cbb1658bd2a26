"""Still images as input: a face photograph is a video of one frame, said to be an image.

DeepfakeBench's most requested feature is to run a detector on a single image. ``detect_video.py``
accepts images (``--input face.jpg`` or a folder of images and videos): the image is read with
OpenCV (:func:`read_image`, RGB uint8, grayscale and alpha converted), described by a
:class:`common.video.VideoInfo` of one frame (:func:`image_info`; ``fps`` 0, ``codec`` the format),
and its report says ``input.kind: image``. Detectors that need several frames (clips, signals)
cannot run on it and say so.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from common.errors import VideoError
from common.video import VideoInfo


def read_image(path: str | Path) -> np.ndarray:
    """The image as an ``(H, W, 3)`` uint8 RGB array (gray expanded to 3 channels, alpha dropped).

    Raises:
        VideoError: the file is missing or is not an image OpenCV can read (one line).
    """
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"cannot read image '{path}': no such file")
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise VideoError(f"cannot read image '{path}': not an image OpenCV can decode (corrupt or another format)")
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def image_info(path: str | Path, image: np.ndarray) -> VideoInfo:
    """A one-frame :class:`VideoInfo` for an image: ``fps`` 0, ``duration_s`` 0, ``codec`` its format."""
    height, width = image.shape[:2]
    return VideoInfo(path=Path(path), fps=0.0, frame_count=1, width=int(width), height=int(height), duration_s=0.0,
                     codec=Path(path).suffix.lower().lstrip(".") or "image")
