"""Task 5.9: adversarial training (Madry et al. 2018) and the robustness curve, against torchattacks.

The oracle of a training step: torchattacks' PGD (random start off, so both are deterministic) makes
the adversarial batch of a copy of the model, and one plain SGD step on that batch's binary
cross-entropy gives the expected weights. The oracle of the curve: torchattacks' PGD at each eps
with alpha = eps / 4, and the share of right verdicts counted by hand.
"""
import copy

import numpy as np
import pytest
import torch
import torchattacks

from phase5_advanced_methods import template_adversarial_training as adversarial
from tests.phase5.test_attacks import MEAN, STD, TwoLogits, _detector, _inputs
from tests.tolerances import ADVERSARIAL_STEP_VS_ORACLE

pytestmark = pytest.mark.task("5.9")


def _their_pgd(model, images, labels, eps, alpha, steps):
    attack = torchattacks.PGD(TwoLogits(model), eps=eps, alpha=alpha, steps=steps, random_start=False)
    attack.set_normalization_used(mean=MEAN, std=STD)
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    return attack((images - mean) / std, labels) * std + mean


def test_training_step_updates_on_the_pgd_batch():
    model, (images, labels) = _detector(), _inputs()
    expected = copy.deepcopy(model)
    adv = _their_pgd(expected, images, labels, 4 / 255, 1 / 255, 3)
    expected.train()
    reference_optimizer = torch.optim.SGD(expected.parameters(), lr=0.5)
    logits = expected(adversarial.normalise(adv, MEAN, STD)).reshape(-1)
    expected_loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels.float())
    expected_loss.backward()
    reference_optimizer.step()

    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    loss = adversarial.adversarial_training_step(model, optimizer, images, labels, eps=4 / 255, alpha=1 / 255, steps=3,
                                                 random_start=False, mean=MEAN, std=STD)
    assert isinstance(loss, float), "return the loss as a float"
    assert loss == pytest.approx(float(expected_loss.detach()), rel=1e-5), "the loss must be the BCE on the PGD images"
    for ours, theirs in zip(model.parameters(), expected.parameters()):
        torch.testing.assert_close(ours, theirs, **ADVERSARIAL_STEP_VS_ORACLE)
    assert model.training, "leave the model in train mode after the update"


def test_training_step_zeroes_old_gradients():
    model, (images, labels) = _detector(), _inputs()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    for parameter in model.parameters():
        parameter.grad = torch.full_like(parameter, 1e3)
    adversarial.adversarial_training_step(model, optimizer, images, labels, eps=2 / 255, alpha=1 / 255, steps=1,
                                          random_start=False, mean=MEAN, std=STD)
    assert max(float(p.grad.abs().max()) for p in model.parameters()) < 1e3, "zero the gradients before backward"


def test_robustness_curve_matches_torchattacks_pgd():
    """200 faces of an untrained detector: many logits near 0, so each budget (and each step size)
    flips a different number of verdicts. Two steps of eps / 4 reach only half the budget, so a
    wrong step size shows too."""
    model = _detector()
    generator = torch.Generator().manual_seed(4)
    images = torch.rand(200, 3, 16, 16, generator=generator)
    with torch.no_grad():  # labels = the clean verdicts, flipped on 40: clean accuracy 0.8
        labels = (model(adversarial.normalise(images, MEAN, STD)).reshape(-1) > 0).long()
    labels[100:140] = 1 - labels[100:140]
    epsilons = (0.0, 0.25 / 255, 1 / 255, 4 / 255)
    curve = adversarial.robustness_curve(model, images, labels, epsilons, steps=2, mean=MEAN, std=STD, batch_size=64)
    expected = []
    for eps in epsilons:
        attacked = images if eps == 0 else _their_pgd(model, images, labels, eps, eps / 4, 2)
        with torch.no_grad():
            verdicts = (model(adversarial.normalise(attacked, MEAN, STD)).reshape(-1) > 0).long()
        expected.append(float((verdicts == labels).float().mean()))
    assert len(curve) == len(epsilons), "one accuracy per eps"
    np.testing.assert_allclose(curve, expected, atol=1e-6, err_msg="accuracy under PGD differs from torchattacks'")
    assert curve[0] == pytest.approx(0.8) and curve[1] > curve[2] > curve[3], f"curve {curve}: clean 0.8, falling with eps"
