# Exercise file generated from the reference solution: fill in every TODO (see IMPLEMENTATION_GUIDE.md).
"""Explanations: which pixels of the face made the detector say FAKE?

Idea. Two ways to ask a trained detector where it looked:

* **Grad-CAM** (Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via
  Gradient-based Localization", ICCV 2017) opens the network: the gradient of the FAKE logit with
  respect to a convolution layer's feature maps A_k, averaged over the positions, says how much
  each map k matters (w_k); the map ReLU(sum_k w_k A_k) shows the regions that pushed the score
  up. One forward and one backward pass. ``visualize_detection.py --gradcam`` draws the maps of
  this file's :func:`grad_cam` (yours, or the reference solution with ``--solutions``).
* **LIME** (Ribeiro, Singh & Guestrin, "Why Should I Trust You?", KDD 2016) treats the network as a
  black box: it cuts the face into superpixels, switches random subsets of them off, scores each
  perturbed face and fits a linear model from "which superpixels were on" to the score. Its
  weights say which superpixels raise P(FAKE). A thousand forward passes, no gradients.

Both give a map over the face; :func:`overlay` blends a map onto the face and :func:`save_overlay`
writes it as an image (also used for the spatial attention maps of 5.5).

Guide: IMPLEMENTATION_GUIDE.md, phase 5 (5.10 Grad-CAM, 5.11 LIME).
"""
from __future__ import annotations

from grader.todo import TodoError

from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn


LIME_HIDE_COLOR = 0
"""LIME switches a superpixel off by painting it this value (black), not its mean colour."""


def min_max(values: np.ndarray) -> np.ndarray:
    """Shift a map to start at 0 and divide it by (1e-7 + its maximum), as pytorch-grad-cam does.

    Example: (2, 3, 4) -> (0, 0.5, 1) (to within 1e-7).
    """
    values = values - np.min(values)
    return values / (1e-7 + np.max(values))


def grad_cam(model: nn.Module, images: torch.Tensor, layer: nn.Module) -> np.ndarray:
    """Grad-CAM of the FAKE logit at ``layer`` for a batch of (normalised) model inputs.

    model: returns one logit per image ((B,) or (B, 1)); images: (B, 3, S, S) as the model takes
    them; layer: a module of ``model`` whose output is a (B, K, h, w) feature map.
    Returns (B, S, S) float32 maps in [0, 1], presented as pytorch-grad-cam presents them: the
    rectified map of each image scaled by :func:`min_max`, resized to S x S with
    ``cv2.resize`` (bilinear) and scaled by :func:`min_max` again.

    Example: a 2 x 2 feature map with a single channel A = ((0, 1), (2, 3)) and gradient 1
    everywhere has w = 1 and map ReLU(A) = A, scaled to ((0, 1/3), (2/3, 1)) before resizing.
    """
    stored: dict[str, torch.Tensor] = {}
    images = images.detach().clone().requires_grad_(True)  # frozen layers still pass gradients on
    handle = layer.register_forward_hook(lambda module, inputs, output: stored.update(activations=output))
    try:
        logits = model(images).reshape(len(images))
    finally:
        handle.remove()
    size = images.shape[-1], images.shape[-2]
    # TODO 5.10: the gradient of the summed logits with respect to stored["activations"]
    #   (torch.autograd.grad); channel weights = that gradient's mean over the two spatial axes;
    #   map = ReLU of the weighted sum of the activations over the channels; per image: min_max,
    #   cv2.resize to size, min_max again; return float32
    raise TodoError('5.10: the gradient of the summed logits with respect to stored["activations"] (torch.autograd.grad); channel weights = that gradient\'s mean over the two spatial axes; map = ReLU of the weighted sum of the activations over the channels; per image: min_max, cv2.resize to size, min_max again; return float32 (IMPLEMENTATION_GUIDE.md, 5.10 Grad-CAM)')


def lime_classifier(model: nn.Module, mean: Sequence[float], std: Sequence[float], device: str | torch.device = "cpu",
                    batch_size: int = 64) -> Callable[[np.ndarray], np.ndarray]:
    """The classifier function LIME calls: NHWC image batches -> (N, 2) probabilities (REAL, FAKE).

    The returned function takes (N, S, S, 3) images, uint8 0..255 or float in [0, 1] (LIME passes
    perturbed copies in the face's own dtype), scales integer images to [0, 1],
    moves the channels first, normalises with ``mean``/``std``, scores batches of ``batch_size``
    without gradients in eval mode, and returns float64 rows (1 - p, p) with p = sigmoid(logit).

    Example: a model whose logit is 0 for every face gives rows (0.5, 0.5).
    """
    model = model.eval()

    def classify(batch: np.ndarray) -> np.ndarray:
        batch = np.asarray(batch)
        batch = batch.astype(np.float32) / 255.0 if np.issubdtype(batch.dtype, np.integer) else batch.astype(np.float32)
        probabilities = []
        # TODO 5.11: for each chunk of batch_size images: to a tensor, permute NHWC -> NCHW,
        #   subtract mean and divide by std per channel, run the model on device under
        #   torch.no_grad, sigmoid of the logits; concatenate p and return the columns (1 - p, p)
        #   as float64
        raise TodoError('5.11: for each chunk of batch_size images: to a tensor, permute NHWC -> NCHW, subtract mean and divide by std per channel, run the model on device under torch.no_grad, sigmoid of the logits; concatenate p and return the columns (1 - p, p) as float64 (IMPLEMENTATION_GUIDE.md, 5.11 LIME)')

    return classify


def explain_with_lime(image: np.ndarray, classifier: Callable[[np.ndarray], np.ndarray], *, num_samples: int = 1000,
                      num_features: int = 5, random_state: int = 0, batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """LIME for one face: the superpixels that raise P(FAKE) the most.

    image: (S, S, 3) uint8 RGB face; classifier: as :func:`lime_classifier` returns.
    Returns (mask (S, S) int, 1 on the ``num_features`` superpixels with the largest positive
    weights for the FAKE label (1), else 0; segments (S, S) int, the superpixel of every pixel).

    Uses ``lime_image.LimeImageExplainer(random_state=random_state)`` (which seeds the random
    on/off samples; quickshift segmentation with kernel 4, max_dist 200, ratio 0.2 is its default)
    and ``explain_instance(image, classifier, labels=(1,), top_labels=None, hide_color=LIME_HIDE_COLOR,
    num_samples=num_samples, batch_size=batch_size, random_seed=random_state)``; then
    ``explanation.get_image_and_mask(1, positive_only=True, num_features=num_features,
    hide_rest=False)``. Same inputs and seed, same mask.
    """
    from lime import lime_image

    # TODO 5.11: build LimeImageExplainer(random_state=random_state); keep in `explanation` the
    #   result of its explain_instance as the docstring says (labels=(1,), top_labels=None,
    #   hide_color=LIME_HIDE_COLOR, the sample count, batch size and random_seed)
    raise TodoError('5.11: build LimeImageExplainer(random_state=random_state); keep in `explanation` the result of its explain_instance as the docstring says (labels=(1,), top_labels=None, hide_color=LIME_HIDE_COLOR, the sample count, batch size and random_seed) (IMPLEMENTATION_GUIDE.md, 5.11 LIME)')
    _, mask = explanation.get_image_and_mask(1, positive_only=True, num_features=num_features, hide_rest=False)
    return mask.astype(int), explanation.segments


def overlay(image: np.ndarray, heatmap: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """Blend a map in [0, 1] (any size; resized bilinearly) onto an (S, S, 3) uint8 RGB face with
    OpenCV's JET colours: (S, S, 3) uint8. Zero is dark blue, one is dark red."""
    resized = cv2.resize(np.asarray(heatmap, dtype=np.float32), (image.shape[1], image.shape[0]),
                         interpolation=cv2.INTER_LINEAR)
    colours = cv2.cvtColor(cv2.applyColorMap(np.uint8(np.clip(resized, 0, 1) * 255), cv2.COLORMAP_JET),
                           cv2.COLOR_BGR2RGB)
    return np.uint8(np.clip((1 - alpha) * image.astype(np.float32) + alpha * colours, 0, 255))


def mask_outline(image: np.ndarray, mask: np.ndarray, colour: tuple[int, int, int] = (255, 255, 0)) -> np.ndarray:
    """The face with the border of a LIME mask drawn in ``colour``: (S, S, 3) uint8."""
    from skimage.segmentation import mark_boundaries

    return np.uint8(np.clip(mark_boundaries(image, mask, color=np.array(colour) / 255.0) * 255, 0, 255))


def save_overlay(path: str | Path, image: np.ndarray, heatmap: np.ndarray | None = None, scale: int = 4) -> Path:
    """Write the face (with ``heatmap`` blended on when given) as a PNG, enlarged ``scale`` times
    (nearest neighbour, so a 64-px face stays readable). Returns the path."""
    picture = overlay(image, heatmap) if heatmap is not None else image
    picture = cv2.resize(picture, (picture.shape[1] * scale, picture.shape[0] * scale), interpolation=cv2.INTER_NEAREST)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR)):
        raise OSError(f"cannot write image '{path}'")
    return path
