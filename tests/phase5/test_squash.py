"""Task 5.2: squash keeps the direction and maps the length into [0, 1) (Sabour et al. 2017, eq. 1)."""
import pytest
import torch

from phase5_advanced_methods import template_capsule_network as capsules
from tests.phase5.oracles import squash_np
from tests.tolerances import FLOAT32_KERNEL

pytestmark = pytest.mark.task("5.2")


def test_worked_example_three_four():
    v = capsules.squash(torch.tensor([[3.0, 4.0]]))
    torch.testing.assert_close(v, torch.tensor([[0.6 * 25 / 26, 0.8 * 25 / 26]]), **FLOAT32_KERNEL)


def test_keeps_direction_and_maps_lengths_into_unit_interval():
    generator = torch.Generator().manual_seed(0)
    s = torch.randn(64, 8, generator=generator) * torch.logspace(-3, 1.5, 64).unsqueeze(1)
    v = capsules.squash(s)
    lengths = v.norm(dim=-1)
    assert torch.all(lengths >= 0) and torch.all(lengths < 1), "squashed lengths must lie in [0, 1)"
    cosine = torch.nn.functional.cosine_similarity(v, s, dim=-1)
    torch.testing.assert_close(cosine, torch.ones(64), **FLOAT32_KERNEL, msg="squash must keep each vector's direction")
    torch.testing.assert_close(v.double(), torch.from_numpy(squash_np(s.double().numpy())), rtol=1e-5, atol=1e-7)


def test_squashes_along_the_given_axis_and_keeps_zero_at_zero():
    s = torch.zeros(2, 4, 3)
    s[0, :, 1] = torch.tensor([3.0, 0.0, 0.0, 4.0])
    v = capsules.squash(s, dim=1)
    torch.testing.assert_close(v[0, :, 1], torch.tensor([0.6, 0.0, 0.0, 0.8]) * 25 / 26, **FLOAT32_KERNEL)
    assert torch.all(v[1] == 0) and not torch.isnan(v).any(), "the zero vector must stay zero (no NaN)"
