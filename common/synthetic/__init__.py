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

A second dataset: ``variant="celeb"`` (``--variant celeb``) makes a Celeb-DF-like variant, as
Celeb-DF v2 (Li et al. 2020) improved on FF++: other faces (a disjoint half of LFW), 192-px frames,
wider blending with full colour transfer, a sharper swapped face, weaker flicker and checkerboard,
CRF 23. Train on one variant and test on the other (``cross_dataset.py``) to see how far a detector
travels. The default variant ``"ff"`` is unchanged.
"""
from common.synthetic.benchmark import MANIFEST_NAME, assign_splits, write_benchmark
from common.synthetic.faces import IDENTITIES, FaceSprite, load_face
from common.synthetic.manipulations import FAKE_METHODS, METHODS
from common.synthetic.physiology import eye_aspect_ratio
from common.synthetic.render import make_clip
from common.synthetic.truth import Clip, ClipTruth
from common.synthetic.variants import DEFAULT_VARIANT, VARIANTS, Variant, disjoint_identities, get_variant

__all__ = [
    "Clip", "ClipTruth", "DEFAULT_VARIANT", "FAKE_METHODS", "FaceSprite", "IDENTITIES", "MANIFEST_NAME", "METHODS",
    "VARIANTS", "Variant", "assign_splits", "disjoint_identities", "eye_aspect_ratio", "get_variant", "load_face",
    "make_clip", "write_benchmark",
]
