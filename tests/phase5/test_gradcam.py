"""Task 5.10: Grad-CAM, checked against pytorch-grad-cam's GradCAM on the same layer.

pytorch-grad-cam's ``BinaryClassifierOutputTarget(1)`` takes a one-logit model's output as the
score to explain (the FAKE logit). The library hooks the layer the same way; its maps are the
rectified weighted sums, min-max scaled, resized with cv2 to the input size and scaled again.
"""
import numpy as np
import pytest
import torch
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.model_targets import BinaryClassifierOutputTarget

from phase5_advanced_methods import template_explainability as explain
from tests.tolerances import GRADCAM_VS_LIBRARY_ATOL

pytestmark = pytest.mark.task("5.10")


class OneLogit(torch.nn.Module):
    """(B, 3, S, S) -> (B,): a small detector whose last convolution is the Grad-CAM layer."""

    def __init__(self) -> None:
        super().__init__()
        self.features = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                            torch.nn.Conv2d(8, 12, 3, padding=1))
        self.head = torch.nn.Linear(12, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.features(x)).mean(dim=(2, 3))).squeeze(-1)


def _library(model, images, layer):
    with GradCAM(model=model, target_layers=[layer]) as cam:
        return cam(input_tensor=images, targets=[BinaryClassifierOutputTarget(1)] * len(images))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_pytorch_grad_cam(seed):
    torch.manual_seed(seed)
    model = OneLogit().eval()
    images = torch.randn(4, 3, 24, 24)
    layer = model.features[3]
    ours = explain.grad_cam(model, images, layer)
    expected = _library(model, images, layer)
    assert ours.shape == (4, 24, 24) and ours.dtype == np.float32, f"maps are {ours.shape} {ours.dtype}, expected (4, 24, 24) float32"
    np.testing.assert_allclose(ours, expected, atol=GRADCAM_VS_LIBRARY_ATOL, err_msg="Grad-CAM differs from pytorch-grad-cam")


def test_matches_pytorch_grad_cam_on_the_attention_detector():
    from phase5_advanced_methods import template_attention_mechanism as attention

    torch.manual_seed(3)
    model = attention.AttentionCNN().eval()
    images = torch.randn(2, 3, 32, 32)
    layer = model.features[-3]  # the last convolution
    np.testing.assert_allclose(explain.grad_cam(model, images, layer), _library(model, images, layer),
                               atol=GRADCAM_VS_LIBRARY_ATOL)


def test_worked_example_single_channel():
    """One channel A = ((0, 1), (2, 3)) and a logit = mean of A: gradient 1/4 everywhere, map = A."""
    class Mean(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Identity()

        def forward(self, x):
            return self.layer(x).mean(dim=(1, 2, 3))

    model = Mean()
    images = torch.tensor([[[[0.0, 1.0], [2.0, 3.0]]]])
    maps = explain.grad_cam(model, images, model.layer)
    np.testing.assert_allclose(maps[0], [[0.0, 1 / 3], [2 / 3, 1.0]], atol=1e-6)
