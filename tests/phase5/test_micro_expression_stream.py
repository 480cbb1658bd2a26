"""Task 5.12: the micro-expression stream - a CNN per real frame, frame-to-frame changes, masked
attention pooling. Oracles: values worked by hand, numpy in float64, the clip without its padding."""
import numpy as np
import pytest
import torch
from torch import nn

from phase5_advanced_methods import template_multi_modal as mm
from tests.tolerances import INTEGRATED_VS_ORACLE

pytestmark = pytest.mark.task("5.12")


class MeanPixel(nn.Module):
    """A stand-in CNN: each crop's mean pixel value, (N, 3, S, S) -> (N, 1); records what it saw."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, crops):
        self.seen.append(crops.detach().clone())
        return crops.mean(dim=(1, 2, 3)).unsqueeze(1)


def _constant_clip(values, size=64, steps=None):
    """(T, 3, size, size) frames, frame t constant values[t]; extra padded frames hold garbage 1e3."""
    steps = steps or len(values)
    frames = torch.full((steps, 3, size, size), 1e3)
    for t, value in enumerate(values):
        frames[t] = value
    return frames


def _stream_with_mean_pixel():
    stream = mm.MicroExpressionStream(channels=(4,), hidden=4, dim=1, attention_hidden=3).eval()
    stream.cnn = MeanPixel()
    with torch.no_grad():
        stream.pool.context.weight.zero_()  # equal scores: the pooled vector is the mean over real frames
    return stream


def test_changes_and_pooling_worked_by_hand():
    stream = _stream_with_mean_pixel()
    frames = torch.stack([_constant_clip([1.0, 3.0, 6.0], steps=4), _constant_clip([2.0, 2.0, 2.0, 5.0])])
    with torch.no_grad():
        pooled, weights = stream(frames, torch.tensor([3, 4]))
    # clip 0: x = [1, 0], [3, 2], [6, 3] -> mean [10/3, 5/3]; clip 1: [2, 0], [2, 0], [2, 0], [5, 3] -> [11/4, 3/4]
    expected = torch.tensor([[10 / 3, 5 / 3], [11 / 4, 3 / 4]])
    torch.testing.assert_close(pooled, expected, **INTEGRATED_VS_ORACLE,
                               msg="each step is [f_t, f_t - f_(t-1)] (0 change at the first frame), pooled over real frames")
    torch.testing.assert_close(weights, torch.tensor([[1 / 3, 1 / 3, 1 / 3, 0.0], [0.25, 0.25, 0.25, 0.25]]),
                               **INTEGRATED_VS_ORACLE)
    assert weights[0, 3] == 0, "a padded frame must get attention weight exactly 0"


def test_cnn_sees_only_the_real_frames_resized_to_64_px():
    stream = _stream_with_mean_pixel()
    frames = torch.stack([_constant_clip([0.1, 0.2, 0.3, 0.4, 0.5], size=32),
                          _constant_clip([0.6, 0.7], size=32, steps=5)])
    with torch.no_grad():
        stream(frames, torch.tensor([5, 2]))
    assert len(stream.cnn.seen) == 1, "run the CNN once, on all real frames of the batch together"
    seen = stream.cnn.seen[0]
    assert tuple(seen.shape) == (7, 3, 64, 64), \
        f"the CNN must get the 7 real frames as 64 x 64 crops, got {tuple(seen.shape)} (padded frames never reach it)"
    torch.testing.assert_close(seen.mean(dim=(1, 2, 3)), torch.tensor([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]),
                               **INTEGRATED_VS_ORACLE, msg="real frames, clip after clip, in time order")


def _small_stream(seed=0):
    torch.manual_seed(seed)
    stream = mm.MicroExpressionStream(channels=(4, 8, 8), hidden=16, dim=6, attention_hidden=5).eval()
    with torch.no_grad():  # non-trivial batch-norm statistics
        for module in stream.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    return stream


def _numpy_stream(stream, frames):
    """One unpadded clip (L, 3, 64, 64): the provided CNN per frame, then changes and attention in float64."""
    with torch.no_grad():
        f = stream.cnn(frames).double().numpy()
    x = np.concatenate([f, np.vstack([np.zeros((1, f.shape[1])), np.diff(f, axis=0)])], axis=1)
    W, b = stream.pool.project.weight.detach().double().numpy(), stream.pool.project.bias.detach().double().numpy()
    w = stream.pool.context.weight.detach().double().numpy().reshape(-1)
    scores = np.tanh(x @ W.T + b) @ w
    weights = np.exp(scores - scores.max())
    weights /= weights.sum()
    return weights @ x, weights


def test_matches_numpy_on_each_unpadded_clip():
    stream = _small_stream()
    generator = torch.Generator().manual_seed(1)
    frames = torch.randn(3, 5, 3, 64, 64, generator=generator)
    lengths = torch.tensor([5, 3, 1])
    with torch.no_grad():
        pooled, weights = stream(frames, lengths)
    assert pooled.shape == (3, 12) and weights.shape == (3, 5)
    for b, length in enumerate(lengths.tolist()):
        expected_pooled, expected_weights = _numpy_stream(stream, frames[b, :length])
        np.testing.assert_allclose(pooled[b].numpy(), expected_pooled, **INTEGRATED_VS_ORACLE)
        np.testing.assert_allclose(weights[b, :length].numpy(), expected_weights, **INTEGRATED_VS_ORACLE)
        assert torch.all(weights[b, length:] == 0)


def test_garbage_padding_changes_nothing():
    stream = _small_stream(2)
    generator = torch.Generator().manual_seed(3)
    clip = torch.randn(1, 4, 3, 64, 64, generator=generator)
    padded = torch.cat([clip, 50 * torch.randn(1, 3, 3, 64, 64, generator=generator)], dim=1)
    with torch.no_grad():
        alone, alone_weights = stream(clip, torch.tensor([4]))
        pooled, weights = stream(padded, torch.tensor([4]))
    torch.testing.assert_close(pooled, alone, **INTEGRATED_VS_ORACLE,
                               msg="a clip padded with garbage must pool to the same vector as the clip alone")
    torch.testing.assert_close(weights[:, :4], alone_weights, **INTEGRATED_VS_ORACLE)
    assert torch.all(weights[:, 4:] == 0)
