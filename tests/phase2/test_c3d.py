"""Task 2.9: the CPU-sized C3D: its layer shapes, parameter count (worked by hand) and that it learns."""
import pytest
import torch
from torch import nn

from phase2_temporal_analysis import template_3dcnn as c3d

pytestmark = pytest.mark.task("2.9")


def test_pooling_shapes_follow_the_table():
    model = c3d.C3DSmall().eval()
    shapes = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: shapes.append(tuple(out.shape[1:])))
             for m in model.modules() if isinstance(m, nn.MaxPool3d)]
    with torch.no_grad():
        logits = model(torch.zeros(2, 3, 16, 64, 64))
    for hook in hooks:
        hook.remove()
    assert logits.shape == (2,)
    assert shapes == [(16, 16, 32, 32), (32, 8, 16, 16), (64, 4, 8, 8)], \
        "the first pool halves space only; the next two halve time as well"


def test_parameter_count_by_hand():
    convolutions = 27 * (3 * 16 + 16 * 32 + 32 * 64 + 64 * 64)  # 3x3x3 kernels, no bias
    batch_norms = 2 * (16 + 32 + 64 + 64)
    linear = 64 + 1
    model = c3d.C3DSmall()
    assert sum(p.numel() for p in model.parameters()) == convolutions + batch_norms + linear == 181_425
    assert sum(isinstance(m, nn.Conv3d) and m.kernel_size == (3, 3, 3) for m in model.modules()) == 4


def test_a_temporal_filter_is_learnt_flicker_against_still_clips():
    # Both classes have the same frames on average; only the frame-to-frame change differs, which a
    # 2-D network on one frame cannot see.
    generator = torch.Generator().manual_seed(0)

    def batch(n=16):
        base = torch.rand(n, 3, 1, 16, 16, generator=generator).expand(n, 3, 8, 16, 16)
        gain = 1 + 0.3 * torch.randn(n, 1, 8, 1, 1, generator=generator)
        labels = torch.arange(n) % 2
        clips = torch.where(labels.view(n, 1, 1, 1, 1).bool(), base * gain, base)
        return clips, labels.float()

    torch.manual_seed(0)
    model = c3d.C3DSmall(channels=(8, 8, 8, 8), dropout=0.0)
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(40):
        clips, labels = batch()
        loss = nn.functional.binary_cross_entropy_with_logits(model(clips), labels)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
    clips, labels = batch(64)
    with torch.no_grad():
        accuracy = ((model(clips) > 0).float() == labels).float().mean().item()
    assert accuracy >= 0.9, f"accuracy {accuracy:.2f} on flickering against still clips"
