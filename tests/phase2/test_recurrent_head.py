"""Task 2.8: packed sequences: padding changes nothing, and each direction reads the real steps.

The oracle is PyTorch's own recurrent layer run on each sequence *without* padding.
"""
import pytest
import torch

from phase2_temporal_analysis import template_lstm_detector as lstm
from tests.tolerances import FLOAT32_KERNEL

pytestmark = pytest.mark.task("2.8")

LENGTHS = torch.tensor([3, 6, 1, 4])  # unsorted on purpose


def padded_batch(feature_dim=5, steps=6, seed=0):
    generator = torch.Generator().manual_seed(seed)
    features = torch.randn(len(LENGTHS), steps, feature_dim, generator=generator)
    for b, n in enumerate(LENGTHS):
        features[b, n:] = 100.0  # padding that would dominate the state if it were read
    return features


def head(cell, bidirectional, seed=0):
    torch.manual_seed(seed)
    return lstm.RecurrentHead(5, cell=cell, hidden=7, layers=2, bidirectional=bidirectional, dropout=0.0).eval()


@pytest.mark.parametrize("cell, bidirectional", [("lstm", False), ("gru", False), ("lstm", True)])
def test_padding_does_not_change_the_prediction(cell, bidirectional):
    model = head(cell, bidirectional)
    features = padded_batch()
    with torch.no_grad():
        batched = model(features, LENGTHS)
        alone = torch.stack([model(features[b:b + 1, :n], LENGTHS[b:b + 1])[0] for b, n in enumerate(LENGTHS)])
    assert batched.shape == (4,)
    torch.testing.assert_close(batched, alone, **FLOAT32_KERNEL)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_the_unidirectional_summary_is_the_last_real_output_of_the_last_layer(cell):
    model = head(cell, False)
    features = padded_batch()
    with torch.no_grad():
        summary = model.summarise(features, LENGTHS)
        for b, n in enumerate(LENGTHS):
            outputs, _ = model.rnn(features[b:b + 1, :n])
            torch.testing.assert_close(summary[b], outputs[0, -1], **FLOAT32_KERNEL)


def test_the_backward_direction_starts_at_the_last_real_step():
    model = head("lstm", True)
    features = padded_batch()
    hidden = 7
    with torch.no_grad():
        summary = model.summarise(features, LENGTHS)
        assert summary.shape == (4, 2 * hidden), "forward and backward summaries side by side"
        for b, n in enumerate(LENGTHS):
            outputs, _ = model.rnn(features[b:b + 1, :n])
            # forward direction: its output at the last real step; backward direction: its output at
            # step 0, after reading the real steps from the last one back to the first
            torch.testing.assert_close(summary[b, :hidden], outputs[0, -1, :hidden], **FLOAT32_KERNEL)
            torch.testing.assert_close(summary[b, hidden:], outputs[0, 0, hidden:], **FLOAT32_KERNEL)


def test_gradients_reach_every_layer_and_the_head_learns_a_toy_order_task():
    # Label = whether the sequence's last real value is larger than its first: needs the real end.
    torch.manual_seed(0)
    model = lstm.RecurrentHead(1, cell="gru", hidden=16, layers=1, dropout=0.0)
    optimiser = torch.optim.Adam(model.parameters(), lr=0.03)
    generator = torch.Generator().manual_seed(1)
    for _ in range(70):
        lengths = torch.randint(2, 9, (32,), generator=generator)
        values = torch.rand(32, 8, 1, generator=generator)
        labels = (values[torch.arange(32), lengths - 1, 0] > values[:, 0, 0]).float()
        for b, n in enumerate(lengths):
            values[b, n:] = 5.0
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(values, lengths), labels)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    assert loss.item() < 0.4, f"loss {loss.item():.3f}: the head cannot find the last real step"
