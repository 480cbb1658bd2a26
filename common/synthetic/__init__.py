"""mini-forensics: a synthetic deepfake benchmark with ground truth, built offline from real faces.

Every phase of the course is taught, tested and demonstrated on it because no real dataset can be
downloaded here. Clips are talking heads made from real photographs shipped inside installed
packages (scikit-image's astronaut and LFW faces, matplotlib's Grace Hopper), with natural head
motion, slow lighting changes, blinks at human rates, a pulse at a known heart rate, sensor noise
and H.264 compression when written. Fakes are labelled by method as in FaceForensics++ (Rossler et
al. 2019): "FaceSwap", "GANUpsample", "TemporalFlicker", "Physiological" and the combination
"Deepfake". Each clip comes with its full ground truth (:class:`ClipTruth`).

Use :func:`make_clip` for one clip in memory (unit tests) and :func:`write_benchmark` (or
``python -m common.synthetic --out DIR``) for a dataset on disk with a ``manifest.json``.
Blink and pulse phases need clips of 10 s or more: ``--frames 250``.
"""
from common.synthetic.benchmark import MANIFEST_NAME, assign_splits, write_benchmark
from common.synthetic.faces import IDENTITIES, FaceSprite, load_face
from common.synthetic.manipulations import FAKE_METHODS, METHODS
from common.synthetic.physiology import eye_aspect_ratio
from common.synthetic.render import make_clip
from common.synthetic.truth import Clip, ClipTruth

__all__ = [
    "Clip", "ClipTruth", "FAKE_METHODS", "FaceSprite", "IDENTITIES", "MANIFEST_NAME", "METHODS",
    "assign_splits", "eye_aspect_ratio", "load_face", "make_clip", "write_benchmark",
]
