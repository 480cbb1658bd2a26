"""Attention: let the detector decide which regions and frames to look at.

Idea. Scaled dot-product attention (Vaswani et al. 2017) turns a set of feature vectors into a
weighted average where the weights come from how well each key matches a query:

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d)) V

In a detector the "set" is the spatial positions of a CNN feature map or the frames of a clip; the
weights say where the evidence is (Zhao et al., "Multi-attentional Deepfake Detection", CVPR 2021).

This file builds, in order:

* 5.1 scaled dot-product attention;
* 5.5 spatial attention: a 1x1 convolution and a sigmoid score every position of a feature map,
  and the map's weights average the features (attention-based pooling, as in Dang et al.,
  "On the Detection of Digital Face Manipulation", CVPR 2020, whose attention map also shows
  where the manipulation is);
* 5.6 temporal attention pooling over the frames of a video (tanh scores, softmax over time;
  Bahdanau-style additive attention), padded frames get exactly zero weight;
* 5.7 multi-head self-attention over frame features (Vaswani et al. 2017), the layer inside
  ``torch.nn.MultiheadAttention``;
* the provided ``AttentionCNN`` frame detector (registered as ``attention_cnn``): a small CNN, the
  spatial attention of 5.5 and one logit.

Guide: IMPLEMENTATION_GUIDE.md, phase 5 (5.1, 5.5 Spatial attention, 5.6 Temporal attention
pooling, 5.7 Multi-head self-attention).
"""
from __future__ import annotations

import math

import torch
from torch import nn


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
    # BEGIN SOLUTION 5.1: score every query against every key (matrix product with the key's last two axes swapped, divided by sqrt(d)); set masked-out scores to -inf with masked_fill; softmax over the keys; the output is the weights times the values
    scores = query @ key.transpose(-2, -1) / math.sqrt(query.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ value, weights
    # END SOLUTION


class SpatialAttention(nn.Module):
    """Spatial attention pooling: which positions of a feature map hold the evidence.

    A 1x1 convolution (C -> 1 channel, with bias) scores every position; a sigmoid turns the score
    into a weight ``a`` in (0, 1) (the attention map); the pooled feature is the weighted average
    ``sum_p a_p x_p / sum_p a_p``. A map of equal weights gives global average pooling.

    Shapes: forward (B, C, H, W) -> (pooled (B, C), attention map (B, 1, H, W)).

    Example: C = 1, H = 1, W = 2, features (2, 4) and map (0.25, 0.75): pooled =
    (0.25 * 2 + 0.75 * 4) / (0.25 + 0.75) = 3.5.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.score = nn.Conv2d(channels, 1, kernel_size=1)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # BEGIN SOLUTION 5.5: the attention map is the sigmoid of self.score(features), (B, 1, H, W); the pooled feature is the sum over the positions of map times features divided by the sum of the map (both over the last two axes)
        attention = torch.sigmoid(self.score(features))
        pooled = (attention * features).sum(dim=(2, 3)) / attention.sum(dim=(2, 3))
        return pooled, attention
        # END SOLUTION


class TemporalAttentionPooling(nn.Module):
    """Attention pooling over time: one weight per frame, padded frames ignored.

    score_t = w^T tanh(W h_t + b) (``self.project`` is W, b; ``self.context`` is w, no bias);
    weights = softmax over time of the scores, with padded frames' scores set to -inf first so
    they get exactly zero weight; pooled = sum_t weights_t h_t.

    Shapes: forward(frames (B, T, D), mask (B, T) bool, True at real frames, or None) ->
    (pooled (B, D), weights (B, T)); every row of weights sums to 1 (at least one real frame).

    Example: scores (1, 1, 5) with the third frame padded give weights (0.5, 0.5, 0).
    """

    def __init__(self, dim: int, hidden: int = 64) -> None:
        super().__init__()
        self.project = nn.Linear(dim, hidden)
        self.context = nn.Linear(hidden, 1, bias=False)

    def forward(self, frames: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        # BEGIN SOLUTION 5.6: scores (B, T) = self.context applied to tanh(self.project(frames)), last axis squeezed; where mask is False set the score to -inf (masked_fill); softmax over time (dim 1); pooled = the weights (unsqueezed) times frames, summed over time
        scores = self.context(torch.tanh(self.project(frames))).squeeze(-1)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=1)
        return (weights.unsqueeze(-1) * frames).sum(dim=1), weights
        # END SOLUTION


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention over a sequence of frame features (Vaswani et al. 2017).

    Each of ``heads`` heads attends with its own d_head = dim / heads slice of the query, key and
    value projections; the heads' outputs are concatenated and projected by ``self.out``. Same
    maths as ``torch.nn.MultiheadAttention(dim, heads, batch_first=True)`` (whose
    ``in_proj_weight`` stacks this module's query, key and value weights).

    Shapes: forward(x (B, T, dim), key_padding_mask (B, T) bool, True at PADDED frames as in
    torch, or None) -> (output (B, T, dim), weights averaged over the heads (B, T, T)).

    Example: dim = 8, heads = 2: each head sees 4 of the 8 projected features; an input (2, 5, 8)
    gives an output (2, 5, 8) and weights (2, 5, 5) whose rows sum to 1.
    """

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        if dim % heads != 0:
            raise ValueError(f"dim {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.query, self.key, self.value = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, key_padding_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        batch, steps, dim = x.shape
        # BEGIN SOLUTION 5.7: project x with self.query, self.key and self.value and split each into heads, (B, heads, T, dim / heads) (view as (B, T, heads, dim / heads), then permute the axes to (0, 2, 1, 3)); the attention mask is the inverse of key_padding_mask, shaped (B, 1, 1, T); run scaled_dot_product_attention; merge the heads back to (B, T, dim) and apply self.out; return it and the weights averaged over the heads
        def split(projected: torch.Tensor) -> torch.Tensor:
            return projected.view(batch, steps, self.heads, dim // self.heads).permute(0, 2, 1, 3)

        mask = None if key_padding_mask is None else ~key_padding_mask[:, None, None, :]
        output, weights = scaled_dot_product_attention(split(self.query(x)), split(self.key(x)), split(self.value(x)), mask)
        merged = output.permute(0, 2, 1, 3).reshape(batch, steps, dim)
        return self.out(merged), weights.mean(dim=1)
        # END SOLUTION


class AttentionCNN(nn.Module):
    """A frame detector with spatial attention (provided; built on task 5.5).

    Four blocks of [3x3 conv, BatchNorm, ReLU] (the first three followed by a 2x2 max-pool) turn a
    (B, 3, S, S) face into a (B, channels[-1], S/8, S/8) feature map; :class:`SpatialAttention`
    pools it into one vector, a linear layer gives the logit. :meth:`attention_map` returns the
    (B, 1, S/8, S/8) map to draw over the face.

    Shapes: forward (B, 3, S, S), S a multiple of 8 -> (B,) logits. With the default channels
    (32, 64, 128, 128): 241,794 parameters.
    """

    def __init__(self, channels: tuple[int, ...] = (32, 64, 128, 128), dropout: float = 0.2) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_channels = 3
        for position, out_channels in enumerate(channels):
            layers += [nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.BatchNorm2d(out_channels), nn.ReLU()]
            if position < 3:
                layers.append(nn.MaxPool2d(2))
            in_channels = out_channels
        self.features = nn.Sequential(*layers)
        self.attention = SpatialAttention(in_channels)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(in_channels, 1))

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        """The spatial attention map (B, 1, S/8, S/8), values in (0, 1)."""
        return self.attention(self.features(x))[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled, _ = self.attention(self.features(x))
        return self.head(pooled).squeeze(-1)
