"""Task 5.3: routing by agreement, against a loop-by-loop numpy version of Sabour et al.'s Procedure 1."""
import numpy as np
import pytest
import torch

from phase5_advanced_methods import template_capsule_network as capsules
from tests.phase5.oracles import routing_np
from tests.tolerances import ROUTING_VS_NUMPY

pytestmark = pytest.mark.task("5.3")


@pytest.mark.parametrize("iterations", [1, 2, 3])
def test_matches_procedure_one(iterations):
    generator = torch.Generator().manual_seed(iterations)
    u_hat = torch.randn(3, 2, 10, 4, generator=generator)
    v, c = capsules.dynamic_routing(u_hat, iterations)
    v_np, c_np = routing_np(u_hat.double().numpy(), iterations)
    np.testing.assert_allclose(v.numpy(), v_np, **ROUTING_VS_NUMPY, err_msg="output capsules differ from Procedure 1")
    np.testing.assert_allclose(c.numpy(), c_np, **ROUTING_VS_NUMPY, err_msg="coupling coefficients differ from Procedure 1")


def test_coupling_sums_to_one_over_output_capsules():
    generator = torch.Generator().manual_seed(5)
    u_hat = torch.randn(4, 3, 7, 5, generator=generator)
    _, c = capsules.dynamic_routing(u_hat, 2)
    assert c.shape == (4, 3, 7), f"coupling has shape {tuple(c.shape)}, expected (B, n_out, n_in) = (4, 3, 7)"
    torch.testing.assert_close(c.sum(dim=1), torch.ones(4, 7), msg="c must sum to one over the OUTPUT capsules (dim 1)")


def test_routing_is_differentiable():
    generator = torch.Generator().manual_seed(2)
    u_hat = torch.randn(2, 2, 3, 4, generator=generator, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: capsules.dynamic_routing(x, 2)[0], (u_hat,)), "routing gradient is wrong"


def test_more_iterations_sharpen_agreement_on_a_hand_made_example():
    """Output 0: all four inputs predict (1, 0); output 1: they disagree ((1,0), (-1,0), (0,1), (0,-1)).
    One iteration couples uniformly (0.5); each further iteration sends more to the agreed output.
    By hand, two iterations: s_0 = (2, 0), |v_0| = 0.8, agreement 0.8 for output 0 and 0 for output 1,
    so c_0 = sigmoid(0.8) = 0.6900 for every input."""
    agree = torch.tensor([[1.0, 0.0]] * 4)
    disagree = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    u_hat = torch.stack([agree, disagree]).unsqueeze(0)  # (1, 2, 4, 2)
    shares = [float(capsules.dynamic_routing(u_hat, k)[1][0, 0].mean()) for k in (1, 2, 3, 4)]
    assert shares[0] == pytest.approx(0.5), "one iteration must couple uniformly"
    assert shares[1] == pytest.approx(1 / (1 + np.exp(-0.8)), abs=1e-5), "two iterations: c_0 = sigmoid(0.8)"
    assert shares[1] < shares[2] < shares[3], f"coupling to the agreed output must grow with iterations: {shares}"
