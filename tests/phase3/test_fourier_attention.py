"""Tasks 3.8-3.11: the Fourier attention layer and seed 000's InceptionV3 model.

Oracles: numpy's FFT and spectra worked by hand (3.8); the layer's formula recomputed in numpy from
the layer's own parameters, and invariances worked out on paper (3.9); torchvision's own
InceptionV3 run as a whole up to Mixed_7c (3.10); torchvision's parameter counts per block,
autograd and optimiser steps (3.11).
"""
from __future__ import annotations

import functools
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torchvision

from phase3_frequency_analysis import template_fourier_attention as fa
from tests.tolerances import FOURIER_ATTENTION_ATOL, FOURIER_MODEL_ATOL

# ------------------------------------------------------------------------------------------------
# helpers (oracles, never the exercise's code)
# ------------------------------------------------------------------------------------------------


def numpy_spectrum(maps: np.ndarray) -> np.ndarray:
    """|fftshift(fft2)| over the last two axes, orthonormal, in float64."""
    height, width = maps.shape[-2:]
    return np.abs(np.fft.fftshift(np.fft.fft2(maps, axes=(-2, -1)), axes=(-2, -1))) / np.sqrt(height * width)


def numpy_descriptor(maps: np.ndarray) -> np.ndarray:
    """Mean log1p|F| over the non-DC frequencies, by an explicit mask."""
    height, width = maps.shape[-2:]
    logs = np.log1p(numpy_spectrum(maps))
    mask = np.ones((height, width), dtype=bool)
    mask[height // 2, width // 2] = False
    if mask.sum() == 0:
        return np.zeros(maps.shape[:-2])
    return logs[..., mask].mean(axis=-1)


def numpy_weights(layer: torch.nn.Module, maps: np.ndarray) -> np.ndarray:
    """2 sigmoid(W2 relu(W1 d + b1) + b2) with the layer's own parameters."""
    first, last = layer.gate[0], layer.gate[2]
    d = numpy_descriptor(maps)
    hidden = np.maximum(d @ first.weight.detach().double().numpy().T + first.bias.detach().double().numpy(), 0)
    logits = hidden @ last.weight.detach().double().numpy().T + last.bias.detach().double().numpy()
    return 2.0 / (1.0 + np.exp(-logits))


def randomise_gate(layer: torch.nn.Module, seed: int, scale: float = 1.0) -> None:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in layer.gate.parameters():
            parameter.copy_(scale * torch.randn(parameter.shape, generator=generator))


def random_maps(seed: int, shape=(3, 5, 6, 8)) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# ------------------------------------------------------------------------------------------------
# 3.8 magnitude spectrum and descriptor
# ------------------------------------------------------------------------------------------------


@pytest.mark.task("3.8")
def test_spectrum_of_hand_made_maps():
    constant = torch.full((1, 1, 4, 4), 3.0)
    spectrum = fa.channel_magnitude_spectrum(constant)
    expected = torch.zeros(4, 4)
    expected[2, 2] = 12.0  # 3 * 16 / sqrt(16)
    torch.testing.assert_close(spectrum[0, 0], expected, atol=1e-5, rtol=0,
                               msg="a constant map: DC = sum / sqrt(H W) at (H//2, W//2), nothing elsewhere")
    y, x = np.indices((4, 4))
    checkerboard = torch.from_numpy((-1.0) ** (y + x)).float()[None, None]
    expected = torch.zeros(4, 4)
    expected[0, 0] = 4.0  # 16 / sqrt(16) at (-0.5, -0.5) cycles per pixel, index 0 after the shift
    torch.testing.assert_close(fa.channel_magnitude_spectrum(checkerboard)[0, 0], expected, atol=1e-5, rtol=0,
                               msg="a checkerboard is all Nyquist: after fftshift that is pixel (0, 0)")


@pytest.mark.task("3.8")
def test_spectrum_matches_numpy_over_the_spatial_axes_only():
    maps = random_maps(0)
    result = fa.channel_magnitude_spectrum(maps)
    assert result.shape == maps.shape and result.dtype == torch.float32
    np.testing.assert_allclose(result.numpy(), numpy_spectrum(maps.double().numpy()), atol=FOURIER_ATTENTION_ATOL,
                               err_msg="FFT over dims (-2, -1) (H and W) with norm='ortho', shifted over those dims only")


@pytest.mark.task("3.8")
def test_spectrum_and_descriptor_of_a_clip_of_maps_use_the_last_two_axes():
    maps = random_maps(21, (2, 3, 4, 5, 6))  # (T, B, C, H, W)
    np.testing.assert_allclose(fa.channel_magnitude_spectrum(maps).numpy(), numpy_spectrum(maps.double().numpy()),
                               atol=FOURIER_ATTENTION_ATOL, err_msg="dims -2 and -1, whatever comes before them")
    descriptor = fa.spectral_descriptor(maps)
    assert descriptor.shape == (2, 3, 4)
    np.testing.assert_allclose(descriptor.numpy(), numpy_descriptor(maps.double().numpy()), atol=FOURIER_ATTENTION_ATOL)


@pytest.mark.task("3.8")
def test_spectrum_of_half_precision_maps_is_float32():
    maps = random_maps(1, (2, 3, 4, 4)).half()
    result = fa.channel_magnitude_spectrum(maps)
    assert result.dtype == torch.float32, "compute in float32 whatever the input dtype"
    np.testing.assert_allclose(result.numpy(), numpy_spectrum(maps.double().numpy()), atol=FOURIER_ATTENTION_ATOL)


@pytest.mark.task("3.8")
def test_descriptor_worked_by_hand():
    cosine = torch.cos(torch.pi * torch.arange(4.0) / 2).repeat(4, 1)[None, None]
    assert fa.spectral_descriptor(cosine).item() == pytest.approx(2 * np.log(3) / 15, abs=1e-6), \
        "|F| = 2 at two frequencies, 0 at the 13 other non-DC ones: (2 log 3) / 15"
    assert fa.spectral_descriptor(torch.full((1, 1, 5, 3), 7.0)).item() == pytest.approx(0.0, abs=1e-6), \
        "a constant map has nothing but DC, which the descriptor leaves out"
    assert fa.spectral_descriptor(torch.full((2, 3, 1, 1), 5.0)).abs().max().item() == 0.0, \
        "a 1x1 map has no frequency besides DC: 0"


@pytest.mark.task("3.8")
def test_descriptor_matches_numpy_and_ignores_the_mean_of_a_map():
    maps = random_maps(2, (2, 4, 7, 6))
    result = fa.spectral_descriptor(maps)
    assert result.shape == (2, 4)
    np.testing.assert_allclose(result.numpy(), numpy_descriptor(maps.double().numpy()), atol=FOURIER_ATTENTION_ATOL)
    offsets = torch.arange(8.0).view(2, 4, 1, 1) * 10
    torch.testing.assert_close(fa.spectral_descriptor(maps + offsets), result, atol=FOURIER_ATTENTION_ATOL, rtol=0,
                               msg="adding a constant changes only DC, which is left out")


@pytest.mark.task("3.8")
def test_descriptor_is_blind_to_circular_shifts_flips_and_sign():
    maps = random_maps(3, (2, 3, 6, 8))
    reference = fa.spectral_descriptor(maps)
    for moved, what in ((torch.roll(maps, (2, 3), dims=(-2, -1)), "a circular shift"),
                        (torch.flip(maps, dims=(-1,)), "a horizontal flip"),
                        (-maps, "a sign flip")):
        torch.testing.assert_close(fa.spectral_descriptor(moved), reference, atol=FOURIER_ATTENTION_ATOL, rtol=0,
                                   msg=f"{what} keeps every |F| (up to where it sits)")


# ------------------------------------------------------------------------------------------------
# 3.9 the attention layer
# ------------------------------------------------------------------------------------------------


@pytest.mark.task("3.9")
def test_new_layer_is_the_identity():
    layer = fa.FourierAttention(8, reduction=2)
    maps = random_maps(4, (2, 8, 5, 5))
    torch.testing.assert_close(layer.attention_weights(maps), torch.ones(2, 8), atol=0, rtol=0,
                               msg="zero last layer: 2 * sigmoid(0) = 1 for every channel")
    torch.testing.assert_close(layer(maps), maps, atol=0, rtol=0)


@pytest.mark.task("3.9")
def test_weights_follow_the_documented_formula_and_range():
    torch.manual_seed(0)
    layer = fa.FourierAttention(6, reduction=2)
    randomise_gate(layer, seed=5, scale=1.0)
    maps = random_maps(6, (4, 6, 5, 7))
    weights = layer.attention_weights(maps)
    assert weights.shape == (4, 6)
    np.testing.assert_allclose(weights.detach().numpy(), numpy_weights(layer, maps.double().numpy()),
                               atol=FOURIER_ATTENTION_ATOL,
                               err_msg="weights = 2 * sigmoid(gate(spectral_descriptor(x)))")
    assert (weights > 0).all() and (weights < 2).all(), "weights lie in (0, 2)"
    assert weights.min() < 0.5 and weights.max() > 1.9, "this gate spreads the weights over most of (0, 2)"


@pytest.mark.task("3.9")
def test_output_scales_each_channel_by_its_weight():
    layer = fa.FourierAttention(4, reduction=1)
    randomise_gate(layer, seed=7)
    maps = random_maps(8, (3, 4, 6, 6))
    weights = numpy_weights(layer, maps.double().numpy())
    output = layer(maps)
    assert output.shape == maps.shape and output.dtype == maps.dtype
    np.testing.assert_allclose(output.detach().numpy(), maps.numpy() * weights[:, :, None, None],
                               atol=FOURIER_ATTENTION_ATOL)


@pytest.mark.task("3.9")
def test_attention_is_equivariant_to_circular_shifts_and_sign():
    layer = fa.FourierAttention(5, reduction=1)
    randomise_gate(layer, seed=9)
    maps = random_maps(10, (2, 5, 6, 6))
    output = layer(maps)
    torch.testing.assert_close(layer(torch.roll(maps, (1, 4), dims=(-2, -1))), torch.roll(output, (1, 4), dims=(-2, -1)),
                               atol=FOURIER_ATTENTION_ATOL, rtol=0, msg="shifting the maps shifts the output")
    torch.testing.assert_close(layer(-maps), -output, atol=FOURIER_ATTENTION_ATOL, rtol=0,
                               msg="negating the maps negates the output (same weights)")


@pytest.mark.task("3.9")
def test_one_sample_never_sets_another_samples_weights():
    """The seed's fftshift over every axis rolls the batch: this is what it breaks."""
    layer = fa.FourierAttention(4, reduction=1)
    randomise_gate(layer, seed=11)
    maps = random_maps(12, (3, 4, 6, 6))
    alone = torch.cat([layer.attention_weights(maps[i:i + 1]) for i in range(3)])
    torch.testing.assert_close(layer.attention_weights(maps), alone, atol=FOURIER_ATTENTION_ATOL, rtol=0)
    changed = maps.clone()
    changed[2] = 10 * torch.randn(4, 6, 6, generator=torch.Generator().manual_seed(13))
    torch.testing.assert_close(layer.attention_weights(changed)[:2], alone[:2], atol=FOURIER_ATTENTION_ATOL, rtol=0)


@pytest.mark.task("3.9")
def test_gradients_reach_the_gate_and_the_maps():
    layer = fa.FourierAttention(4, reduction=1)
    randomise_gate(layer, seed=14)
    maps = random_maps(15, (2, 4, 5, 5)).requires_grad_(True)
    layer(maps).square().sum().backward()
    assert maps.grad is not None and maps.grad.abs().sum() > 0
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in layer.gate.parameters()), \
        "the gate learns from the loss"


# ------------------------------------------------------------------------------------------------
# 3.10 the model
# ------------------------------------------------------------------------------------------------


def torchvision_features(model: fa.FourierInception, images: torch.Tensor) -> torch.Tensor:
    """torchvision's own InceptionV3 forward, cut after Mixed_7c, with the model's backbone weights."""
    reference = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False)
    missing, _ = reference.load_state_dict(model.backbone.state_dict(), strict=False)
    assert all(name.startswith("fc.") for name in missing), f"backbone weights not named as torchvision's: {missing[:3]}"
    reference.avgpool, reference.dropout, reference.fc = torch.nn.Identity(), torch.nn.Identity(), torch.nn.Identity()
    reference.eval()
    with torch.no_grad():
        flat = reference(images)
    return flat.view(len(images), fa.FEATURE_CHANNELS, -1)


@pytest.mark.task("3.10")
def test_model_matches_torchvision_inception_attention_pool_and_head():
    torch.manual_seed(0)
    model = fa.FourierInception(hidden=8).eval()
    randomise_gate(model.attention, seed=16, scale=0.05)
    images = torch.randn(2, 3, 107, 107, generator=torch.Generator().manual_seed(17))
    with torch.no_grad():
        logits = model(images)
    assert logits.shape == (2,), "one logit per image: (B,)"
    features = torchvision_features(model, images).view(2, fa.FEATURE_CHANNELS, 2, 2)  # 107 px -> 2x2 maps
    weights = torch.from_numpy(numpy_weights(model.attention, features.double().numpy())).float()
    pooled = (features * weights[:, :, None, None]).mean(dim=(-2, -1))
    with torch.no_grad():
        expected = model.head(pooled).squeeze(1)
    torch.testing.assert_close(logits, expected, atol=FOURIER_MODEL_ATOL, rtol=0,
                               msg="backbone -> attention -> mean over H, W -> head")


@pytest.mark.task("3.10")
def test_model_takes_the_smallest_input_and_refuses_smaller():
    torch.manual_seed(1)
    model = fa.FourierInception(hidden=4).eval()
    with torch.no_grad():
        assert model(torch.zeros(1, 3, fa.MIN_INPUT_SIZE, fa.MIN_INPUT_SIZE)).shape == (1,)
    with pytest.raises(ValueError, match="at least 75"):
        model(torch.zeros(1, 3, 74, 74))


@pytest.mark.task("3.10")
def test_backbone_is_torchvisions_inception_without_its_classifiers():
    model = fa.FourierInception(hidden=16)
    reference = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False)
    backbone = sum(p.numel() for p in model.backbone.parameters())
    assert backbone == sum(p.numel() for p in reference.parameters()) - reference.fc.weight.numel() - reference.fc.bias.numel()
    head = 2048 * 16 + 16 + 16 + 1
    gate = 2048 * 128 + 128 + 128 * 2048 + 2048
    assert sum(p.numel() for p in model.parameters()) == backbone + head + gate
    model.train()
    logits = model(torch.randn(2, 3, 80, 80, generator=torch.Generator().manual_seed(18)))
    logits.sum().backward()
    assert model.backbone.Conv2d_1a_3x3.conv.weight.grad is not None, "a random backbone trains everything by default"


# ------------------------------------------------------------------------------------------------
# 3.11 the two-stage schedule
# ------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def reference_block_sizes() -> dict[str, int]:
    reference = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False)
    return {name: sum(p.numel() for p in module.parameters()) for name, module in reference.named_children()}


def block_parameters(*names: str) -> int:
    return sum(reference_block_sizes()[name] for name in names)


def trainable(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def top_parameters(model: fa.FourierInception) -> int:
    return sum(p.numel() for p in [*model.attention.parameters(), *model.head.parameters()])


@pytest.mark.task("3.11")
def test_stage_one_trains_only_attention_and_head():
    model = fa.FourierInception(hidden=8, unfrozen_blocks=0)
    opened = [name for name, p in model.named_parameters() if name.startswith("backbone.") and p.requires_grad]
    assert not opened, f"the backbone must be frozen in stage 1, but {opened[:3]} require a gradient"
    assert trainable(model) == top_parameters(model)
    for parameter in model.head.parameters():
        parameter.requires_grad = False
    model.freeze_backbone()
    assert trainable(model) == top_parameters(model), "freeze_backbone makes the attention and the head learn"


@pytest.mark.task("3.11")
def test_unfreeze_last_opens_exactly_the_last_blocks():
    model = fa.FourierInception(hidden=8, unfrozen_blocks=0)
    model.unfreeze_last(2)
    assert trainable(model) == block_parameters("Mixed_7b", "Mixed_7c") + top_parameters(model)
    model.unfreeze_last(5)
    assert trainable(model) == block_parameters("Mixed_6d", "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c") \
        + top_parameters(model)
    model.unfreeze_last(0)
    assert trainable(model) == top_parameters(model), "unfreeze_last(0) freezes the whole backbone again"
    model.unfreeze_last(16)
    assert trainable(model) == sum(p.numel() for p in model.parameters()), "unfreeze_last(16) opens everything"
    model.unfreeze_last(1)
    assert trainable(model) == block_parameters("Mixed_7c") + top_parameters(model), "it re-freezes what was open"


@pytest.mark.task("3.11")
def test_pretrained_default_opens_two_blocks_and_frozen_blocks_get_no_gradient(monkeypatch):
    monkeypatch.setattr(fa, "inception_backbone", lambda pretrained=False: _random_backbone())  # offline
    model = fa.FourierInception(pretrained=True, hidden=8)
    assert trainable(model) == block_parameters("Mixed_7b", "Mixed_7c") + top_parameters(model), \
        "a pretrained backbone starts with its last two blocks open"
    model.train()
    model(torch.randn(2, 3, 80, 80, generator=torch.Generator().manual_seed(19))).sum().backward()
    for name, parameter in model.named_parameters():
        is_open = not name.startswith("backbone.") or name.startswith(("backbone.Mixed_7b.", "backbone.Mixed_7c."))
        assert (parameter.grad is not None) == is_open, f"{name}: {'no ' if is_open else ''}gradient"


def _random_backbone() -> torch.nn.Sequential:
    network = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False)
    return torch.nn.Sequential(OrderedDict((name, getattr(network, name)) for name in fa.BACKBONE_CHILDREN))


def _tiny_backbone(pretrained: bool = False) -> torch.nn.Sequential:
    """A stand-in with InceptionV3's child names: 1x1 convolutions + BatchNorm, 2048 channels out.
    The schedule only looks at the blocks by name, so it must work on this one too (and fast)."""
    layers, channels = [], 3
    for name in fa.BACKBONE_CHILDREN:
        if name.startswith("maxpool"):
            layers.append((name, torch.nn.Identity()))
            continue
        out = fa.FEATURE_CHANNELS if name == "Mixed_7c" else 4
        stride = 8 if name == "Conv2d_1a_3x3" else 1
        layers.append((name, torch.nn.Sequential(torch.nn.Conv2d(channels, out, 1, stride=stride),
                                                 torch.nn.BatchNorm2d(out), torch.nn.ReLU())))
        channels = out
    return torch.nn.Sequential(OrderedDict(layers))


@pytest.mark.task("3.11")
def test_two_stage_training_moves_the_head_first_then_the_last_block(monkeypatch):
    import common.training
    from common.training import TrainConfig

    monkeypatch.setattr(fa, "inception_backbone", _tiny_backbone)
    torch.manual_seed(2)
    model = fa.FourierInception(hidden=8, unfrozen_blocks=0)
    last_block = sum(p.numel() for p in model.backbone.Mixed_7c.parameters())
    generator = torch.Generator().manual_seed(20)
    data = [(torch.randn(3, 75, 75, generator=generator) + label, torch.tensor(float(label))) for label in (0, 1) * 4]
    config = dict(epochs=1, batch_size=4, lr=1e-2, progress=False, scheduler=None, patience=None)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    statistics = model.backbone.Mixed_6e[1].running_mean.clone()
    seen = []
    original_fit = common.training.fit

    def spying_fit(net, *args, **kwargs):
        seen.append((trainable(net), kwargs.get("param_groups")))
        return original_fit(net, *args, **kwargs)

    monkeypatch.setattr(common.training, "fit", spying_fit)
    first, second = fa.train_two_stage(model, data, data, stage1=TrainConfig(**config), stage2=TrainConfig(**config),
                                       unfreeze=1, backbone_lr_factor=0.5, device="cpu")
    assert [count for count, _ in seen] == [top_parameters(model), top_parameters(model) + last_block], \
        "stage 1 trains attention + head; stage 2 also the last block"
    groups = seen[1][1]
    assert groups is not None and sorted(g["lr"] for g in groups) == [5e-3, 1e-2], \
        "stage 2 passes param_groups: the head at lr, the backbone at lr * backbone_lr_factor"
    assert len(first.history) == 1 and len(second.history) == 1
    changed = {name for name, p in model.named_parameters() if not torch.equal(before[name], p.detach())}
    assert any(name.startswith("head.") for name in changed), "the head learned"
    assert any(name.startswith("backbone.Mixed_7c.") for name in changed), "stage 2 trained the last block"
    assert not any(name.startswith("backbone.") and not name.startswith("backbone.Mixed_7c.") for name in changed), \
        "blocks before the last one never move"
    assert torch.equal(statistics, model.backbone.Mixed_6e[1].running_mean), \
        "a frozen block keeps its BatchNorm statistics"
