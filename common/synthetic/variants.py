"""The two ways mini-forensics can be made: ``"ff"`` (the default) and ``"celeb"``, a second dataset.

The field's standard test of a detector is to train it on FaceForensics++ (Rossler et al. 2019) and
test it on Celeb-DF v2 (Li et al. 2020), a dataset made later, by other people, of other faces,
with a better swap: higher-resolution faces, wider and softer blending, colour matching, fewer
flickering frames, other compression. The AUC drop between the two is the honest measure of how
far a detector travels. Offline we imitate that with a second variant of the benchmark that differs
in how it is made, not in what it is (every manipulation family keeps its name):

===================  ============================  ==========================================
                     ``ff`` (default)              ``celeb`` (Celeb-DF-like)
===================  ============================  ==========================================
identities           all 102 (astronaut, Grace     the 50 odd-numbered LFW faces (lfw_001,
                     Hopper, lfw_000..lfw_099)     lfw_003, ...): a disjoint half of LFW; the
                                                   ``ff`` side of a cross-variant test then uses
                                                   the other 52 (:func:`disjoint_identities`)
frame side           128 px                        192 px
swap blend feather   1.0-2.5 px (at 128 px)        3.5-5.5 px (at 128 px)                    
swap colour          0-50% of the mean shift       full colour transfer (mean and spread per
                                                   channel, Reinhard et al. 2001)
swapped face res.    1/1.6 to 1/2.6 of the frame   1/1.1 to 1/1.5 of the frame
GAN checkerboard     mismatch 0.012-0.025          0.008-0.018
temporal flicker     0.6-1.4 px, gain 2.5-5%       0.4-1.0 px, gain 1.5-3.5%
sensor noise         sigma 1.5-3.0 gray levels     1.0-2.0 (a better camera)
H.264                CRF 18                        CRF 23 (FaceForensics++'s c23)
===================  ============================  ==========================================

Only real photographs shipped in installed packages are available offline, and besides LFW's
100 crops only two are faces (astronaut, Grace Hopper); so the ``celeb`` variant's people are a
disjoint half of LFW, not new people, and LFW's 25x25 crops limit how sharp any face can be.
The ``ff`` variant's parameters are those it always had: its clips are unchanged byte for byte.
"""
from __future__ import annotations

from dataclasses import dataclass

from common.errors import CourseError
from common.synthetic.faces import IDENTITIES, N_LFW_FACES

DEFAULT_VARIANT = "ff"


@dataclass(frozen=True)
class Variant:
    """How one variant of the benchmark is made (ranges are (low, high) of a uniform draw per clip).

    name: short name (recorded in the manifest).  description: one line.  identities: the faces
    it shows and swaps in.  size: default frame side in pixels.  swap_feather: Gaussian sigma of
    the swap mask's edge, in pixels of a 128-px frame (scaled with the frame).  colour_correction:
    fraction of the colour difference corrected.  colour_transfer: "mean" (shift the mean colour)
    or "full" (match mean and standard deviation per channel).  swap_resolution: the swapped face
    is rendered at 1/factor of the frame's resolution.  upsample_mismatch: checkerboard strength
    of GANUpsample.  flicker_shift: std of the per-frame shift, in pixels of a 128-px frame;
    flicker_gain: std of the per-frame brightness gain.  noise_sigma: sensor noise in gray
    levels.  crf: H.264 constant rate factor of the written videos.
    """

    name: str
    description: str
    identities: tuple[str, ...]
    size: int
    swap_feather: tuple[float, float]
    colour_correction: tuple[float, float]
    colour_transfer: str
    swap_resolution: tuple[float, float]
    upsample_mismatch: tuple[float, float]
    flicker_shift: tuple[float, float]
    flicker_gain: tuple[float, float]
    noise_sigma: tuple[float, float]
    crf: int


CELEB_IDENTITIES: tuple[str, ...] = tuple(f"lfw_{i:03d}" for i in range(1, N_LFW_FACES, 2))
"""The ``celeb`` variant's 50 faces: the odd-numbered LFW crops."""

VARIANTS: dict[str, Variant] = {
    "ff": Variant(
        name="ff", description="FaceForensics++-like (the default): narrow blend, partial colour match, CRF 18",
        identities=tuple(IDENTITIES), size=128, swap_feather=(1.0, 2.5), colour_correction=(0.0, 0.5),
        colour_transfer="mean", swap_resolution=(1.6, 2.6), upsample_mismatch=(0.012, 0.025),
        flicker_shift=(0.6, 1.4), flicker_gain=(0.025, 0.05), noise_sigma=(1.5, 3.0), crf=18),
    "celeb": Variant(
        name="celeb", description="Celeb-DF-like: other faces, 192 px, wide blend, full colour transfer, CRF 23",
        identities=CELEB_IDENTITIES, size=192, swap_feather=(3.5, 5.5), colour_correction=(1.0, 1.0),
        colour_transfer="full", swap_resolution=(1.1, 1.5), upsample_mismatch=(0.008, 0.018),
        flicker_shift=(0.4, 1.0), flicker_gain=(0.015, 0.035), noise_sigma=(1.0, 2.0), crf=23),
}
"""Every variant by name."""


def get_variant(name: str) -> Variant:
    """The :class:`Variant` called ``name``; a one-line :class:`CourseError` for an unknown one."""
    if name not in VARIANTS:
        raise CourseError(f"unknown mini-forensics variant {name!r}: choose from {', '.join(VARIANTS)}")
    return VARIANTS[name]


def disjoint_identities(variant: str, other: str) -> list[str]:
    """``variant``'s identities that ``other`` never uses, in order: the pool of a cross-variant test.

    Example: ``disjoint_identities("ff", "celeb")`` is astronaut, grace_hopper and the 50
    even-numbered LFW faces (52 identities); no face of it appears in the ``celeb`` variant.
    """
    taken = set(get_variant(other).identities)
    return [name for name in get_variant(variant).identities if name not in taken]
