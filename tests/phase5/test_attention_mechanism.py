"""Task 5.1: scaled dot-product attention, checked against torch's fused kernel and by hand."""
import math

import pytest
import torch

from phase5_advanced_methods import template_attention_mechanism as attention
from tests.tolerances import FLOAT32_KERNEL

pytestmark = pytest.mark.task("5.1")


def test_matches_torch_scaled_dot_product_attention():
    generator = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 5, 8, generator=generator) for _ in range(3))
    output, weights = attention.scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(output, torch.nn.functional.scaled_dot_product_attention(q, k, v), **FLOAT32_KERNEL)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 5), **FLOAT32_KERNEL)


def test_mask_excludes_padded_keys_like_torch():
    generator = torch.Generator().manual_seed(1)
    q, k, v = torch.randn(1, 4, 6, generator=generator), torch.randn(1, 7, 6, generator=generator), torch.randn(1, 7, 3, generator=generator)
    mask = torch.ones(1, 4, 7, dtype=torch.bool)
    mask[..., 5:] = False
    output, weights = attention.scaled_dot_product_attention(q, k, v, mask)
    assert torch.all(weights[..., 5:] == 0), "masked keys (False) must get exactly zero weight"
    expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(output, expected, **FLOAT32_KERNEL)


def test_worked_example_scaling_by_sqrt_d():
    keys = torch.eye(2).unsqueeze(0)
    query = torch.tensor([[[0.0, 1.0]]])
    _, weights = attention.scaled_dot_product_attention(query, keys, keys)
    top = math.exp(1 / math.sqrt(2))
    torch.testing.assert_close(weights, torch.tensor([[[1 / (1 + top), top / (1 + top)]]]), **FLOAT32_KERNEL)
