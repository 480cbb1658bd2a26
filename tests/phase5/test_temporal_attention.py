"""Task 5.6: temporal attention pooling; padded frames get exactly zero weight."""
import numpy as np
import pytest
import torch

from phase5_advanced_methods import template_attention_mechanism as attention
from tests.tolerances import FLOAT32_KERNEL

pytestmark = pytest.mark.task("5.6")


def _numpy_pooling(layer, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """w^T tanh(W h + b), softmax over the given (unpadded) frames, weighted sum - one sequence."""
    W, b = layer.project.weight.detach().double().numpy(), layer.project.bias.detach().double().numpy()
    w = layer.context.weight.detach().double().numpy().reshape(-1)
    scores = np.tanh(frames @ W.T + b) @ w
    weights = np.exp(scores - scores.max())
    weights /= weights.sum()
    return weights @ frames, weights


def test_matches_numpy_without_padding():
    torch.manual_seed(0)
    layer = attention.TemporalAttentionPooling(6, hidden=5)
    frames = torch.randn(3, 7, 6)
    pooled, weights = layer(frames)
    for b in range(3):
        expected_pooled, expected_weights = _numpy_pooling(layer, frames[b].double().numpy())
        np.testing.assert_allclose(weights[b].detach().numpy(), expected_weights, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(pooled[b].detach().numpy(), expected_pooled, rtol=1e-5, atol=1e-6)


def test_padded_steps_get_exactly_zero_weight_and_change_nothing():
    torch.manual_seed(1)
    layer = attention.TemporalAttentionPooling(4, hidden=8)
    frames = torch.randn(2, 6, 4)
    frames[0, 4:] = 1e3  # padding filled with huge values must still not count
    mask = torch.ones(2, 6, dtype=torch.bool)
    mask[0, 4:] = False
    pooled, weights = layer(frames, mask)
    assert torch.all(weights[0, 4:] == 0), f"padded frames must get weight exactly 0, got {weights[0, 4:].tolist()}"
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(2), **FLOAT32_KERNEL)
    alone, alone_weights = layer(frames[:1, :4])
    torch.testing.assert_close(pooled[:1], alone, **FLOAT32_KERNEL, msg="padding must not change the pooled feature")
    torch.testing.assert_close(weights[:1, :4], alone_weights, **FLOAT32_KERNEL)
    expected_pooled, _ = _numpy_pooling(layer, frames[1].double().numpy())
    np.testing.assert_allclose(pooled[1].detach().numpy(), expected_pooled, rtol=1e-5, atol=1e-6)
