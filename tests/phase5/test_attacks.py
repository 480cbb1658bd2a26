"""Task 5.8: FGSM and PGD, checked against torchattacks 3.5.1 on the same model and inputs.

torchattacks attacks classifiers with cross-entropy over class logits, so the one-logit detector
is wrapped as two logits (0, z): the cross-entropy of that pair is exactly the binary
cross-entropy of z (-log sigmoid(z) for FAKE, -log(1 - sigmoid(z)) for REAL), the same loss and
gradient as the course's. With ``set_normalization_used(mean, std)`` a torchattacks 3.5.1 attack
takes NORMALISED images, undoes the normalisation, attacks in [0, 1] (eps in pixel units) and
returns normalised images again; the tests undo that last step to compare in [0, 1].

PGD's random start draws from the global torch generator (``uniform_`` on ``empty_like``), so the
two implementations see the same start when the seed is reset before each; the comparison is
also made with the random start off, where both are deterministic.
"""
import pytest
import torch
import torchattacks

from phase5_advanced_methods import template_adversarial_training as adversarial
from tests.tolerances import ATTACK_VS_TORCHATTACKS

pytestmark = pytest.mark.task("5.8")

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class TwoLogits(torch.nn.Module):
    """(B, 3, S, S) -> (B, 2) logits (0, z) of a one-logit detector, for torchattacks."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.inner(x).reshape(len(x), 1)
        return torch.cat([torch.zeros_like(z), z], dim=1)


def _detector() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.Tanh(), torch.nn.Conv2d(8, 8, 3, stride=2, padding=1),
        torch.nn.Tanh(), torch.nn.Flatten(), torch.nn.Linear(8 * 8 * 8, 1)).eval()


def _inputs():
    generator = torch.Generator().manual_seed(1)
    images = torch.rand(6, 3, 16, 16, generator=generator)
    images[0, :, :4] = 1.0  # saturated pixels: the clamp to [0, 1] matters
    images[1, :, :4] = 0.0
    return images, torch.tensor([0, 1, 0, 1, 1, 0])


def _torchattacks(attack_class, model, **kwargs):
    """The torchattacks attack as a function of [0, 1] images and labels, returning [0, 1] images."""
    attack = attack_class(TwoLogits(model), **kwargs)
    attack.set_normalization_used(mean=MEAN, std=STD)
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    return lambda images, labels: attack((images - mean) / std, labels) * std + mean


def _check_budget(adv, images, eps):
    assert float((adv - images).abs().max()) <= eps + 1e-6, "the perturbation leaves the L-inf ball"
    assert float(adv.min()) >= 0 and float(adv.max()) <= 1, "adversarial images must stay in [0, 1]"


@pytest.mark.parametrize("eps", [8 / 255, 2 / 255])
def test_fgsm_matches_torchattacks(eps):
    model, (images, labels) = _detector(), _inputs()
    ours = adversarial.fgsm(model, images, labels, eps=eps, mean=MEAN, std=STD)
    theirs = _torchattacks(torchattacks.FGSM, model, eps=eps)(images, labels)
    _check_budget(ours, images, eps)
    torch.testing.assert_close(ours, theirs, **ATTACK_VS_TORCHATTACKS)
    assert not ours.requires_grad, "return detached images"


def test_pgd_without_random_start_matches_torchattacks():
    model, (images, labels) = _detector(), _inputs()
    ours = adversarial.pgd(model, images, labels, eps=8 / 255, alpha=2 / 255, steps=10, random_start=False, mean=MEAN, std=STD)
    theirs = _torchattacks(torchattacks.PGD, model, eps=8 / 255, alpha=2 / 255, steps=10, random_start=False)(images, labels)
    _check_budget(ours, images, 8 / 255)
    torch.testing.assert_close(ours, theirs, **ATTACK_VS_TORCHATTACKS)


def test_pgd_with_random_start_and_a_shared_seed_matches_torchattacks():
    model, (images, labels) = _detector(), _inputs()
    torch.manual_seed(7)
    ours = adversarial.pgd(model, images, labels, eps=4 / 255, alpha=1 / 255, steps=5, random_start=True, mean=MEAN, std=STD)
    torch.manual_seed(7)
    theirs = _torchattacks(torchattacks.PGD, model, eps=4 / 255, alpha=1 / 255, steps=5, random_start=True)(images, labels)
    _check_budget(ours, images, 4 / 255)
    torch.testing.assert_close(ours, theirs, **ATTACK_VS_TORCHATTACKS)
    torch.manual_seed(8)
    other = adversarial.pgd(model, images, labels, eps=4 / 255, alpha=1 / 255, steps=1, random_start=True, mean=MEAN, std=STD)
    torch.manual_seed(8)
    no_start = adversarial.pgd(model, images, labels, eps=4 / 255, alpha=1 / 255, steps=1, random_start=False, mean=MEAN, std=STD)
    assert not torch.equal(other, no_start), "random_start=True must start from a random point in the ball"


def test_attacks_raise_the_loss():
    model, (images, labels) = _detector(), _inputs()

    def loss(batch):
        with torch.no_grad():
            return float(adversarial.detector_loss(model, batch, labels, MEAN, STD))

    clean = loss(images)
    fgsm = loss(adversarial.fgsm(model, images, labels, 8 / 255, MEAN, STD))
    pgd = adversarial.pgd(model, images, labels, 8 / 255, 2 / 255, 10, False, MEAN, STD)
    assert clean < fgsm < loss(pgd), "PGD must beat FGSM beat clean"
