"""Task 1.7: MesoNet-4 and a baseline CNN.

Oracles: parameter counts worked by hand from the layer list (and the MesoNet paper's 27,977), the
authors' Keras block (Conv2D with ReLU, then BatchNormalization, then MaxPooling2D) computed by hand
in NumPy, and a trivially separable batch both networks must learn to fit.
"""
import numpy as np
import pytest
import torch

from phase1_cnn_detection import template_classifier as clf
from tests.tolerances import MESO_BLOCK_VS_HAND_ATOL, SMALL_CNN_FIT_MAX_LOSS


def trainable(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@pytest.mark.task("1.7")
def test_mesonet4_has_the_papers_27977_trainable_parameters_at_256px():
    # conv 3*3*3*8+8, 5*5*8*8+8, 5*5*8*16+16, 5*5*16*16+16; BN 2*(8+8+16+16); dense 1024*16+16, 16+1
    by_hand = (224 + 1608 + 3216 + 6416) + 2 * (8 + 8 + 16 + 16) + (1024 * 16 + 16) + (16 + 1)
    assert by_hand == 27_977
    model = clf.MesoNet4(input_size=256)
    assert trainable(model) == by_hand, (
        f"MesoNet-4 has {trainable(model)} trainable parameters, the paper's has 27,977: check filters "
        "8-8-16-16, kernels 3-5-5-5, pools 2-2-2-4 and the dense 16 -> 1 head")


@pytest.mark.task("1.7")
def test_mesonet4_returns_one_logit_per_image():
    torch.manual_seed(0)
    model = clf.MesoNet4(input_size=256).eval()
    logits = model(torch.randn(3, 3, 256, 256))
    assert logits.shape == (3,), f"expected (B,) = (3,) logits, got {tuple(logits.shape)}"


@pytest.mark.task("1.7")
def test_mesonet4_blocks_shrink_256_to_8x8x16_with_the_papers_kernels():
    model = clf.MesoNet4(input_size=256)
    features = model.features(torch.zeros(1, 3, 256, 256))
    assert tuple(features.shape) == (1, 16, 8, 8), f"after the 4 blocks expected (1, 16, 8, 8), got {tuple(features.shape)}"
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.kernel_size for c in convs] == [(3, 3), (5, 5), (5, 5), (5, 5)], "kernels must be 3x3, 5x5, 5x5, 5x5"
    assert [c.out_channels for c in convs] == [8, 8, 16, 16], "filters must be 8, 8, 16, 16"
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules()) == 4, "one BatchNorm per block"
    leaky = [m for m in model.modules() if isinstance(m, torch.nn.LeakyReLU)]
    assert len(leaky) == 1 and leaky[0].negative_slope == pytest.approx(0.1), "the dense head uses LeakyReLU(0.1)"


@pytest.mark.task("1.7")
def test_mesonet4_at_128px_flattens_4x4x16_features():
    # only the first dense layer changes: 16 * 4 * 4 = 256 inputs instead of 1024
    expected = 27_977 - (1024 * 16) + (256 * 16)
    model = clf.MesoNet4(input_size=128)
    assert trainable(model) == expected, f"at 128 px expected {expected} parameters, got {trainable(model)}"
    assert model(torch.zeros(2, 3, 128, 128)).shape == (2,)


@pytest.mark.task("1.7")
def test_baseline_cnn_parameter_count_matches_the_layer_list():
    # convs 3x3: 3->16, 16->32, 32->64; 128 px / 8 = 16 -> flatten 64*16*16; dense 64; dense 1
    by_hand = (3 * 9 * 16 + 16) + (16 * 9 * 32 + 32) + (32 * 9 * 64 + 64) + (64 * 16 * 16 * 64 + 64) + (64 + 1)
    model = clf.BaselineCNN(input_size=128, channels=(16, 32, 64), hidden=64)
    assert trainable(model) == by_hand == 1_072_289, f"baseline has {trainable(model)} parameters, expected {by_hand}"
    assert model(torch.zeros(2, 3, 128, 128)).shape == (2,), "the baseline must return (B,) logits"


@pytest.mark.task("1.7")
def test_baseline_cnn_follows_its_channels_argument():
    model = clf.BaselineCNN(input_size=64, channels=(8, 16), hidden=10)
    by_hand = (3 * 9 * 8 + 8) + (8 * 9 * 16 + 16) + (16 * 16 * 16 * 10 + 10) + (10 + 1)
    assert trainable(model) == by_hand, f"two conv blocks at 64 px: expected {by_hand}, got {trainable(model)}"


@pytest.mark.task("1.7")
def test_both_small_cnns_learn_to_separate_bright_from_dark_images():
    torch.manual_seed(0)
    images = torch.cat([torch.full((8, 3, 32, 32), -0.5), torch.full((8, 3, 32, 32), 0.5)])
    images += 0.1 * torch.randn_like(images)
    labels = torch.cat([torch.zeros(8), torch.ones(8)])
    for model in (clf.MesoNet4(input_size=32, dropout=0.0), clf.BaselineCNN(input_size=32, dropout=0.0)):
        optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
        for _ in range(30):
            optimiser.zero_grad()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(model(images), labels)
            loss.backward()
            optimiser.step()
        assert loss.item() < SMALL_CNN_FIT_MAX_LOSS, f"{type(model).__name__} could not fit a trivially separable batch (loss {loss.item():.3f})"


def block_by_hand(image: np.ndarray, pool: int, bn_shift: float, conv_bias: float = 0.0) -> np.ndarray:
    """The Keras MesoNet block on one channel with an identity 3x3 kernel, a conv bias, and a
    BatchNorm with mean 0, variance 1, scale 1, shift ``bn_shift``: max-pool(relu(x + bias) + shift).
    The bias makes the order of convolution and ReLU matter (relu(x) + bias is another function)."""
    activated = np.maximum(image + conv_bias, 0.0) + bn_shift
    h, w = activated.shape
    return activated.reshape(h // pool, pool, w // pool, pool).max(axis=(1, 3))


@pytest.mark.task("1.7")
@pytest.mark.parametrize("pool", [2, 4])
def test_meso_block_is_conv_relu_batchnorm_then_max_pool_as_in_the_papers_code(pool):
    block = clf.meso_block(1, 1, 3, pool).eval()
    [conv] = [m for m in block.modules() if isinstance(m, torch.nn.Conv2d)]
    [norm] = [m for m in block.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert conv.padding == (1, 1), "a 'same' convolution: padding kernel_size // 2"
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0, 1, 1] = 1.0  # identity kernel
        conv.bias.fill_(-0.3)
        norm.running_mean.zero_()
        norm.running_var.fill_(1.0)
        norm.weight.fill_(1.0)
        norm.bias.fill_(-0.5)
    image = np.random.default_rng(pool).normal(size=(8, 8))
    with torch.no_grad():
        out = block(torch.from_numpy(image).float()[None, None])[0, 0].numpy()
    expected = block_by_hand(image, pool, bn_shift=-0.5, conv_bias=-0.3)
    assert out.shape == expected.shape, f"a pool of {pool} must divide the side by {pool}: got {out.shape}"
    np.testing.assert_allclose(out, expected, atol=MESO_BLOCK_VS_HAND_ATOL, err_msg=(
        "the block must be conv -> ReLU -> BatchNorm -> max-pool (ReLU before BatchNorm, as in the "
        "authors' Keras code, and max, not average, pooling)"))


@pytest.mark.task("1.7")
def test_mesonet4_blocks_pool_by_2_2_2_4_with_max_pooling():
    model = clf.MesoNet4(input_size=256).eval()
    pools = [m for m in model.features.modules() if isinstance(m, (torch.nn.MaxPool2d, torch.nn.AvgPool2d,
                                                                   torch.nn.AdaptiveAvgPool2d))]
    assert all(isinstance(m, torch.nn.MaxPool2d) for m in pools), "MesoNet pools with max-pooling"
    assert [m.kernel_size for m in pools] == [2, 2, 2, 4], "pools of 2, 2, 2 and 4"
