"""Task 5.5: spatial attention pooling (1x1 convolution + sigmoid, weighted global pooling), by hand."""
import numpy as np
import pytest
import torch

from phase5_advanced_methods import template_attention_mechanism as attention
from tests.tolerances import FLOAT32_KERNEL

pytestmark = pytest.mark.task("5.5")


def test_worked_example_weighted_average():
    layer = attention.SpatialAttention(1)
    with torch.no_grad():  # scores = log-odds of (0.25, 0.75): w * 2 + b = -log 3, w * 4 + b = log 3
        layer.score.weight.fill_(np.log(3.0))
        layer.score.bias.fill_(-3.0 * np.log(3.0))
    pooled, attention_map = layer(torch.tensor([[[[2.0, 4.0]]]]))
    torch.testing.assert_close(attention_map, torch.tensor([[[[0.25, 0.75]]]]), **FLOAT32_KERNEL)
    torch.testing.assert_close(pooled, torch.tensor([[3.5]]), **FLOAT32_KERNEL)


def test_matches_a_numpy_computation_of_the_map_and_the_pooling():
    torch.manual_seed(0)
    layer = attention.SpatialAttention(6)
    x = torch.randn(2, 6, 5, 7)
    pooled, attention_map = layer(x)
    w = layer.score.weight.detach().numpy().reshape(6)
    b = float(layer.score.bias.detach())
    xs = x.numpy()
    scores = np.einsum("c,bchw->bhw", w, xs) + b
    weights = 1 / (1 + np.exp(-scores))
    expected = np.einsum("bhw,bchw->bc", weights, xs) / weights.sum(axis=(1, 2))[:, None]
    assert attention_map.shape == (2, 1, 5, 7), f"attention map has shape {tuple(attention_map.shape)}, expected (B, 1, H, W)"
    np.testing.assert_allclose(attention_map[:, 0].detach().numpy(), weights, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pooled.detach().numpy(), expected, rtol=1e-5, atol=1e-6)


def test_equal_weights_give_global_average_pooling():
    layer = attention.SpatialAttention(3)
    with torch.no_grad():
        layer.score.weight.zero_()
        layer.score.bias.fill_(1.7)
    x = torch.randn(4, 3, 6, 6, generator=torch.Generator().manual_seed(1))
    pooled, _ = layer(x)
    torch.testing.assert_close(pooled, x.mean(dim=(2, 3)), **FLOAT32_KERNEL)


def test_attention_cnn_returns_one_logit_and_a_map():
    torch.manual_seed(0)
    model = attention.AttentionCNN().eval()
    x = torch.rand(3, 3, 64, 64)
    assert model(x).shape == (3,), "one logit per face"
    assert model.attention_map(x).shape == (3, 1, 8, 8), "the map is at 1/8 of the input side"
