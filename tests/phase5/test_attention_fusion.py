"""Task 5.13: attention fusion of several feature vectors. Oracles: a fusion worked by hand and the
same maths in float64 numpy."""
import math

import numpy as np
import pytest
import torch

from phase5_advanced_methods import template_multi_modal as mm
from tests.tolerances import INTEGRATED_VS_ORACLE

pytestmark = pytest.mark.task("5.13")


def test_fusion_worked_by_hand():
    fusion = mm.AttentionFusion((1, 1, 1), width=2)
    with torch.no_grad():
        for layer, column in zip(fusion.project, ([1.0, 0.0], [0.0, 0.0], [0.0, 1.0])):
            layer.weight.copy_(torch.tensor(column).view(2, 1))
            layer.bias.zero_()
        fusion.score.weight.copy_(torch.tensor([[math.log(3) / math.tanh(1), 0.0]]))
        # z = (1, 0), (0, 0), (0, 1); scores ln 3, 0, 0 -> weights 3/5, 1/5, 1/5 -> fused (3/5, 1/5)
        fused, weights = fusion([torch.ones(1, 1), torch.ones(1, 1), torch.ones(1, 1)])
    torch.testing.assert_close(weights, torch.tensor([[0.6, 0.2, 0.2]]), **INTEGRATED_VS_ORACLE,
                               msg="weights = softmax over the modalities of w . tanh(z_m)")
    torch.testing.assert_close(fused, torch.tensor([[0.6, 0.2]]), **INTEGRATED_VS_ORACLE,
                               msg="fused = sum over modalities of weight_m * z_m (the projections, not tanh of them)")


def _numpy_fusion(fusion, inputs):
    projected = []
    for layer, x in zip(fusion.project, inputs):
        W, b = layer.weight.detach().double().numpy(), layer.bias.detach().double().numpy()
        projected.append(x.double().numpy() @ W.T + b)
    z = np.stack(projected, axis=1)  # (B, M, width)
    w = fusion.score.weight.detach().double().numpy().reshape(-1)
    scores = np.tanh(z) @ w  # (B, M)
    weights = np.exp(scores - scores.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    return (weights[..., None] * z).sum(axis=1), weights


def test_matches_numpy_for_modalities_of_different_sizes():
    torch.manual_seed(0)
    fusion = mm.AttentionFusion((5, 3, 7), width=4)
    with torch.no_grad():
        fusion.score.weight.mul_(4)  # sharper scores: weights far from uniform
    generator = torch.Generator().manual_seed(1)
    inputs = [torch.randn(6, dim, generator=generator) for dim in (5, 3, 7)]
    with torch.no_grad():
        fused, weights = fusion(inputs)
    expected_fused, expected_weights = _numpy_fusion(fusion, inputs)
    assert fused.shape == (6, 4) and weights.shape == (6, 3)
    np.testing.assert_allclose(weights.numpy(), expected_weights, **INTEGRATED_VS_ORACLE)
    np.testing.assert_allclose(fused.numpy(), expected_fused, **INTEGRATED_VS_ORACLE)
    np.testing.assert_allclose(weights.sum(dim=1).numpy(), np.ones(6), **INTEGRATED_VS_ORACLE)
    assert weights.std(dim=0).max() > 1e-3, "the weights depend on each sample's features, not only on the modality"


def test_every_projection_and_the_score_get_a_gradient():
    torch.manual_seed(2)
    fusion = mm.AttentionFusion((4, 2, 3), width=5)
    generator = torch.Generator().manual_seed(3)
    fused, weights = fusion([torch.randn(3, dim, generator=generator) for dim in (4, 2, 3)])
    (fused.square().sum() + weights[:, 0].sum()).backward()
    for name, parameter in fusion.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, f"{name} gets no gradient"
