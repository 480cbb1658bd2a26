"""Task 5.7: multi-head self-attention, checked against torch.nn.MultiheadAttention with copied weights."""
import pytest
import torch

from phase5_advanced_methods import template_attention_mechanism as attention
from tests.tolerances import SELF_ATTENTION_VS_TORCH

pytestmark = pytest.mark.task("5.7")


def _pair(dim: int, heads: int, seed: int):
    torch.manual_seed(seed)
    ours = attention.MultiHeadSelfAttention(dim, heads)
    reference = torch.nn.MultiheadAttention(dim, heads, batch_first=True)
    with torch.no_grad():
        reference.in_proj_weight.copy_(torch.cat([ours.query.weight, ours.key.weight, ours.value.weight]))
        reference.in_proj_bias.copy_(torch.cat([ours.query.bias, ours.key.bias, ours.value.bias]))
        reference.out_proj.weight.copy_(ours.out.weight)
        reference.out_proj.bias.copy_(ours.out.bias)
    return ours, reference.eval()


@pytest.mark.parametrize("dim,heads", [(8, 2), (12, 3), (6, 1)])
def test_matches_torch_multihead_attention(dim, heads):
    ours, reference = _pair(dim, heads, seed=dim + heads)
    x = torch.randn(2, 5, dim)
    output, weights = ours(x)
    expected, expected_weights = reference(x, x, x, need_weights=True, average_attn_weights=True)
    torch.testing.assert_close(output, expected, **SELF_ATTENTION_VS_TORCH)
    torch.testing.assert_close(weights, expected_weights, **SELF_ATTENTION_VS_TORCH)


def test_key_padding_mask_like_torch():
    ours, reference = _pair(8, 4, seed=3)
    x = torch.randn(3, 6, 8)
    padded = torch.zeros(3, 6, dtype=torch.bool)
    padded[1, 4:] = True
    padded[2, 2:] = True
    output, weights = ours(x, key_padding_mask=padded)
    expected, expected_weights = reference(x, x, x, key_padding_mask=padded, need_weights=True)
    assert torch.all(weights[2, :, 2:] == 0), "padded frames (True in key_padding_mask) must get zero weight"
    torch.testing.assert_close(output, expected, **SELF_ATTENTION_VS_TORCH)
    torch.testing.assert_close(weights, expected_weights, **SELF_ATTENTION_VS_TORCH)
