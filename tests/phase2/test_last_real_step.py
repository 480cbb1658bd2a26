"""Task 2.7: read each sequence at its last real step, never in the padding."""
import pytest
import torch

from phase2_temporal_analysis import template_lstm_detector as lstm

pytestmark = pytest.mark.task("2.7")


def test_worked_example():
    outputs = torch.tensor([[[1.0], [2.0], [0.0]], [[4.0], [5.0], [6.0]]])
    result = lstm.last_real_step(outputs, torch.tensor([2, 3]))
    assert torch.equal(result, torch.tensor([[2.0], [6.0]])), "sequence 0 ends at step 2 (index 1)"


def test_matches_a_python_loop_whatever_the_padding_holds():
    generator = torch.Generator().manual_seed(0)
    outputs = torch.randn(5, 7, 4, generator=generator)
    lengths = torch.tensor([7, 1, 3, 5, 2])
    for b, n in enumerate(lengths):
        outputs[b, n:] = 1e6  # padding full of nonsense
    result = lstm.last_real_step(outputs, lengths)
    expected = torch.stack([outputs[b, int(n) - 1] for b, n in enumerate(lengths)])
    assert result.shape == (5, 4)
    assert torch.equal(result, expected)
    assert result.abs().max() < 1e6, "a padded step was read"


def test_gradient_flows_only_to_the_steps_read():
    outputs = torch.randn(2, 4, 3, requires_grad=True)
    lstm.last_real_step(outputs, torch.tensor([2, 4])).sum().backward()
    touched = outputs.grad.abs().sum(dim=2) > 0
    assert touched.tolist() == [[False, True, False, False], [False, False, False, True]]
