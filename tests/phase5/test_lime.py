"""Task 5.11: LIME for one face, with a deterministic classifier whose evidence we placed ourselves.

The oracle is the classifier's own construction: its logit is linear in the mean brightness of the
face's top-left quadrant, and LIME hides a superpixel by painting it black (hide_color 0), so a
superpixel matters in proportion to the brightness it holds inside that quadrant. The superpixels
LIME marks as raising P(FAKE) must be the ones holding the most of it.
"""
import numpy as np
import pytest
import torch

from phase5_advanced_methods import template_explainability as explain

pytestmark = pytest.mark.task("5.11")

MEAN, STD = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)  # unequal per channel: each must land on its own channel


class TopLeftBrightness(torch.nn.Module):
    """logit = 8 * (mean of the top-left quadrant of the un-normalised image - 0.3): a known cue."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pixels = x * torch.tensor(STD).view(1, 3, 1, 1) + torch.tensor(MEAN).view(1, 3, 1, 1)
        side = x.shape[-1] // 2
        return 8.0 * (pixels[:, :, :side, :side].mean(dim=(1, 2, 3)) - 0.3)


def _face() -> np.ndarray:
    from skimage import data, transform

    face = data.astronaut()[30:230, 140:340]
    return (transform.resize(face, (64, 64), anti_aliasing=True) * 255).astype(np.uint8)


def test_classifier_function_takes_nhwc_batches():
    classify = explain.lime_classifier(TopLeftBrightness(), MEAN, STD, batch_size=3)
    generator = np.random.default_rng(0)
    batch = generator.integers(0, 256, size=(7, 8, 8, 3), dtype=np.uint8)
    probabilities = classify(batch)
    top_left = batch[:, :4, :4].astype(np.float64).mean(axis=(1, 2, 3)) / 255.0
    p = 1 / (1 + np.exp(-8.0 * (top_left - 0.3)))
    assert probabilities.shape == (7, 2), f"expected (N, 2) rows (REAL, FAKE), got {probabilities.shape}"
    np.testing.assert_allclose(probabilities[:, 1], p, rtol=1e-5, atol=1e-6, err_msg="column 1 is P(FAKE) of each image")
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(classify(batch.astype(np.float64) / 255.0), probabilities, atol=1e-6,
                               err_msg="float images in [0, 1] must score like their uint8 version")


def test_lime_finds_the_superpixels_of_the_cue_and_is_repeatable():
    face = _face()
    classify = explain.lime_classifier(TopLeftBrightness(), MEAN, STD)
    mask, segments = explain.explain_with_lime(face, classify, num_samples=300, num_features=2, random_state=0)
    assert mask.shape == (64, 64) and segments.shape == (64, 64), "mask and segments are per pixel"
    brightness = face.astype(np.float64).sum(axis=2)
    held = {s: brightness[:32, :32][segments[:32, :32] == s].sum() for s in np.unique(segments)}
    expected = set(sorted(held, key=held.get)[-2:])
    marked = set(np.unique(segments[mask > 0]).tolist())
    assert marked == expected, f"LIME marked superpixels {marked}; those holding the cue's brightness are {expected}"
    again, _ = explain.explain_with_lime(face, classify, num_samples=300, num_features=2, random_state=0)
    np.testing.assert_array_equal(mask, again, err_msg="a fixed random_state must give the same explanation")
