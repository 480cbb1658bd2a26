"""Task 1.12: a patch classifier and its receptive field (Chai et al. 2020).

Oracles: receptive fields worked by hand with the recurrence of Araujo et al. (Distill 2019); the
region of the input that one patch logit actually depends on, found by brute force with autograd
(the union of the input gradients of one logit over random images); the parameter count worked by
hand from the layer list; and a trivially separable batch the network must learn to fit.
"""
import pytest
import torch

from phase1_cnn_detection import template_patch_classifier as patch
from tests.tolerances import SMALL_CNN_FIT_MAX_LOSS


@pytest.mark.task("1.12")
@pytest.mark.parametrize("layers, expected", [
    ([], (1, 1)),                                                  # the input pixel itself
    ([(3, 1)], (3, 1)),                                            # one 3x3 convolution
    ([(3, 1), (2, 2), (3, 1)], (8, 2)),                            # the docstring's example
    ([(3, 1), (2, 2)] * 3 + [(1, 1), (1, 1)], (22, 8)),            # the network of this task
    ([(7, 2), (3, 2), (3, 1)], (19, 4)),                           # a ResNet stem: 7, 7 + 2 * 2, 11 + 2 * 4
])
def test_receptive_field_worked_by_hand(layers, expected):
    assert patch.receptive_field(layers) == expected, (
        f"receptive_field({layers}) should be (size, jump) = {expected}: grow the size by (kernel - 1) * jump "
        "with the jump *before* the layer, then multiply the jump by the stride")


def _region_seen_by_one_patch(model: torch.nn.Module, size: int, row: int, column: int) -> torch.Tensor:
    """Brute force: the input pixels whose change moves patch (row, column)'s logit, as a (size, size)
    boolean mask: the union of |d logit / d pixel| > 0 over 24 random images (a max-pool passes the
    gradient of one input per window, so one image shows only part of the region)."""
    torch.manual_seed(0)
    seen = torch.zeros(size, size, dtype=torch.bool)
    for _ in range(24):
        images = torch.randn(1, 3, size, size, requires_grad=True)
        model.patch_logits(images)[0, row, column].backward()
        seen |= images.grad[0].abs().sum(dim=0) > 0
    return seen


@pytest.mark.task("1.12")
def test_one_patch_logit_sees_exactly_its_receptive_field():
    """An interior patch of a 64-px input depends on a 22 x 22 square, and its neighbour's square is
    8 pixels further on: what the network computes, not only what receptive_field says."""
    torch.manual_seed(0)
    model = patch.PatchClassifier().eval()
    with torch.no_grad():  # positive weights: every ReLU passes, so the whole region can show
        for module in model.modules():
            if isinstance(module, torch.nn.Conv2d):
                module.weight.abs_()
                module.bias.fill_(0.1)
    seen = _region_seen_by_one_patch(model, 64, 3, 3)
    rows, columns = torch.nonzero(seen, as_tuple=True)
    height, width = int(rows.max() - rows.min() + 1), int(columns.max() - columns.min() + 1)
    assert (height, width) == (22, 22), f"patch (3, 3) depends on a {height} x {width} region, expected 22 x 22"
    neighbour = _region_seen_by_one_patch(model, 64, 3, 4)
    shift = int(torch.nonzero(neighbour, as_tuple=True)[1].min() - columns.min())
    assert shift == 8, f"neighbouring patches should be 8 pixels apart, got {shift}"
    assert model.receptive_field() == (22, 8), "PatchClassifier.receptive_field() reads the layers themselves"


@pytest.mark.task("1.12")
@pytest.mark.parametrize("size", [64, 128])
def test_the_image_logit_is_the_mean_of_the_patch_logits(size):
    torch.manual_seed(1)
    model = patch.PatchClassifier().eval()
    images = torch.randn(3, 3, size, size)
    maps = model.patch_logits(images)
    assert tuple(maps.shape) == (3, size // 8, size // 8), f"expected one logit per 8-px step: {tuple(maps.shape)}"
    logits = model(images)
    assert tuple(logits.shape) == (3,)
    assert torch.allclose(logits, maps.flatten(1).mean(dim=1), atol=1e-6), "forward must average the patch logits"


@pytest.mark.task("1.12")
def test_parameters_worked_by_hand_and_independent_of_the_input_size():
    # blocks 3*9*16+16, 16*9*32+32, 32*9*64+64; head 1x1: 64*64+64, 64*1+1
    by_hand = 448 + 4_640 + 18_496 + 4_160 + 65
    model = patch.PatchClassifier()
    count = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert count == by_hand == 27_809, f"expected 27,809 parameters (baseline blocks + 1x1 head), got {count}"
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.kernel_size for c in convs] == [(3, 3)] * 3 + [(1, 1)] * 2, "three 3x3 blocks, then a 1x1 head"
    assert sum(isinstance(m, torch.nn.MaxPool2d) for m in model.modules()) == 3, "one max-pool per block"
    assert sum(isinstance(m, torch.nn.Dropout) for m in model.modules()) == 1, "dropout before the last 1x1 layer"


@pytest.mark.task("1.12")
def test_other_widths_worked_by_hand():
    # blocks 3*9*8+8, 8*9*16+16; head 1x1: 16*32+32, 32*1+1
    model = patch.PatchClassifier(channels=(8, 16), hidden=32)
    count = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert count == 224 + 1_168 + 544 + 33, f"channels (8, 16), hidden 32: expected 1,969 parameters, got {count}"
    assert tuple(model.patch_logits(torch.zeros(2, 3, 32, 32)).shape) == (2, 8, 8), "two pools: one logit per 4 px"


@pytest.mark.task("1.12")
def test_each_patch_logit_is_the_baselines_head_on_that_positions_features():
    """By hand from the weights: at every position, w2 . relu(W1 f + b1) + b2 of the feature vector f
    there (dropout is off in eval mode): a two-layer head with its ReLU between the layers."""
    torch.manual_seed(2)
    model = patch.PatchClassifier(hidden=24).eval()
    images = torch.randn(2, 3, 32, 32)
    first, second = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)][-2:]
    with torch.no_grad():
        features = model.features(images)                                    # (B, C, H, W)
        hidden = torch.einsum("bchw,kc->bkhw", features, first.weight[:, :, 0, 0]) + first.bias[None, :, None, None]
        by_hand = torch.einsum("bkhw,k->bhw", hidden.clamp(min=0), second.weight[0, :, 0, 0]) + second.bias[0]
        assert torch.allclose(model.patch_logits(images), by_hand, atol=1e-5), (
            "each patch logit should be the 1x1 head (conv to hidden, ReLU, dropout, conv to 1) on its features")


@pytest.mark.task("1.12")
def test_the_patch_classifier_learns_a_local_trace():
    """Fakes carry a bright 4-px speck at a random place: a trace any patch can see. Ten Adam steps
    on the batch must bring the loss down to what a learnt network reaches."""
    torch.manual_seed(0)
    images = torch.randn(16, 3, 32, 32) * 0.1
    labels = torch.tensor([0.0, 1.0] * 8)
    for k in range(1, 16, 2):
        top, left = torch.randint(0, 28, (2,)).tolist()
        images[k, :, top:top + 4, left:left + 4] = 3.0
    model = patch.PatchClassifier(dropout=0.0)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    for _ in range(60):
        optimiser.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimiser.step()
    assert loss.item() < SMALL_CNN_FIT_MAX_LOSS, f"loss {loss.item():.3f} after 60 steps: the network does not learn"
