# Exercise file generated from the reference solution: fill in every TODO (see IMPLEMENTATION_GUIDE.md).
"""Attention: let the detector decide which regions and frames to look at.

Idea. Scaled dot-product attention (Vaswani et al. 2017) turns a set of feature vectors into a
weighted average where the weights come from how well each key matches a query:

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d)) V

In a detector the "set" is the spatial positions of a CNN feature map or the frames of a clip; the
weights say where the evidence is (Zhao et al., "Multi-attentional Deepfake Detection", CVPR 2021).

Guide: IMPLEMENTATION_GUIDE.md, phase 5.
"""
from __future__ import annotations

from grader.todo import TodoError

import math

import torch


def scaled_dot_product_attention(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(Q K^T / sqrt(d)) V, returning the output and the attention weights.

    query: (..., L, d); key: (..., S, d); value: (..., S, d_v); mask: optional bool, broadcastable
    to (..., L, S), True where a query MAY attend to a key (e.g. False at padded frames).
    Returns (output (..., L, d_v), weights (..., L, S)); each row of weights sums to 1.

    Example: keys e1 = (1, 0) and e2 = (0, 1) (d = 2) and the query e2 give scores
    (0, 1/sqrt(2)), so weights = softmax([0, 0.707]) = [0.330, 0.670].
    """
    # TODO 5.1: score every query against every key (matrix product with the key's last two axes
    #   swapped, divided by sqrt(d)); set masked-out scores to -inf with masked_fill; softmax over
    #   the keys; the output is the weights times the values
    raise TodoError("5.1: score every query against every key (matrix product with the key's last two axes swapped, divided by sqrt(d)); set masked-out scores to -inf with masked_fill; softmax over the keys; the output is the weights times the values (IMPLEMENTATION_GUIDE.md, 5.1 Scaled dot-product attention)")
