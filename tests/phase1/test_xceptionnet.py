"""Tasks 1.3 and 1.4: depthwise separable convolution and XceptionNet.

Oracles: a full convolution with the factorised kernel, SciPy's per-channel correlation, the
parameter counts of the paper / timm, and timm's own ``legacy_xception``: its weights are loaded
into our network through the documented key mapping and both must give the same outputs.
"""
import importlib

import numpy as np
import pytest
import timm
import torch
import torch.nn.functional as F
from scipy.signal import correlate2d

from common.errors import CourseError
from phase1_cnn_detection import template_xceptionnet as xc
from tests.tolerances import XCEPTION_VS_TIMM, SEPARABLE_CONV_VS_FULL_CONV

task_1_3 = pytest.mark.task("1.3")
task_1_4 = pytest.mark.task("1.4")

timm_xception = importlib.import_module("timm.models.xception")  # the module (timm.models.xception is also a function)

TIMM_XCEPTION_PARAMETERS = 22_855_952  # timm legacy_xception, 1000 classes
DETECTION_HEAD_DIFFERENCE = 2048 * 1000 + 1000 - (2048 + 1)  # ImageNet head minus one-logit head


def count_parameters(module):
    return sum(p.numel() for p in module.parameters())


def randomise_batchnorm_statistics(model, seed):
    """Give every BatchNorm non-trivial running statistics and affine parameters, so a wrong mapping shows."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                n = module.num_features
                module.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
                module.weight.copy_(torch.rand(n, generator=generator) + 0.5)
                module.bias.copy_(torch.randn(n, generator=generator) * 0.1)


# ------------------------------------------------------------------------------------------------
# 1.3 separable convolution
# ------------------------------------------------------------------------------------------------

@task_1_3
def test_separable_conv_equals_a_full_conv_with_the_factorised_kernel():
    torch.manual_seed(0)
    conv = xc.SeparableConv2d(6, 10, kernel_size=3, stride=1, padding=1)
    x = torch.randn(2, 6, 9, 11)
    depthwise = conv.depthwise.weight.detach()  # (6, 1, 3, 3)
    pointwise = conv.pointwise.weight.detach()  # (10, 6, 1, 1)
    # a depthwise-then-pointwise pair is one convolution with kernel W[o, i] = P[o, i] * D[i]
    full_kernel = pointwise[:, :, 0, 0, None, None] * depthwise[None, :, 0]
    expected = F.conv2d(x, full_kernel, padding=1)
    np.testing.assert_allclose(conv(x).detach().numpy(), expected.numpy(), **SEPARABLE_CONV_VS_FULL_CONV,
                               err_msg="depthwise (groups=C_in) then pointwise 1x1 must equal the factorised full convolution")


@task_1_3
def test_depthwise_step_filters_each_channel_on_its_own():
    conv = xc.SeparableConv2d(3, 3, kernel_size=3, stride=1, padding=0)
    rng = np.random.default_rng(1)
    kernels = rng.normal(size=(3, 3, 3))
    image = rng.normal(size=(3, 8, 8))
    with torch.no_grad():
        conv.depthwise.weight.copy_(torch.tensor(kernels[:, None], dtype=torch.float32))
        conv.pointwise.weight.copy_(torch.eye(3)[:, :, None, None])
    result = conv(torch.tensor(image[None], dtype=torch.float32))[0].detach().numpy()
    for channel in range(3):
        expected = correlate2d(image[channel], kernels[channel], mode="valid")
        np.testing.assert_allclose(result[channel], expected, **SEPARABLE_CONV_VS_FULL_CONV,
                                   err_msg=f"output channel {channel} must be input channel {channel} filtered by its own kernel")


@task_1_3
def test_separable_conv_parameter_count_and_no_biases():
    conv = xc.SeparableConv2d(728, 728)
    assert count_parameters(conv) == 728 * 9 + 728 * 728, "depthwise C_in*k*k + pointwise C_in*C_out weights, no biases"
    assert conv.depthwise.weight.shape == (728, 1, 3, 3) and conv.pointwise.weight.shape == (728, 728, 1, 1)
    assert conv.depthwise.bias is None and conv.pointwise.bias is None, "a BatchNorm follows: biases would be redundant"


@task_1_3
def test_separable_conv_stride_and_padding_set_the_output_size():
    conv = xc.SeparableConv2d(4, 8, kernel_size=3, stride=2, padding=1)
    assert conv(torch.zeros(1, 4, 15, 20)).shape == (1, 8, 8, 10), "H' = (H + 2p - k) // stride + 1"


@task_1_3
def test_separable_conv_matches_timm_separable_conv_with_the_same_weights():
    torch.manual_seed(2)
    ours = xc.SeparableConv2d(5, 7, 3, 1, 1)
    reference = timm_xception.SeparableConv2d(5, 7, 3, 1, 1)
    with torch.no_grad():
        ours.depthwise.weight.copy_(reference.conv1.weight)
        ours.pointwise.weight.copy_(reference.pointwise.weight)
    x = torch.randn(3, 5, 12, 12)
    np.testing.assert_allclose(ours(x).detach().numpy(), reference(x).detach().numpy(), **SEPARABLE_CONV_VS_FULL_CONV)


# ------------------------------------------------------------------------------------------------
# 1.4 blocks and network, against timm's legacy_xception
# ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def timm_reference():
    torch.manual_seed(0)
    reference = timm.create_model("legacy_xception", pretrained=False, num_classes=1000)
    randomise_batchnorm_statistics(reference, seed=1)
    return reference.eval()


@pytest.fixture(scope="module")
def loaded_ours(timm_reference):
    model = xc.XceptionNet(num_classes=1000)
    xc.load_timm_xception_state_dict(model, timm_reference.state_dict())
    return model.eval()


@task_1_4
def test_xception_has_the_parameter_count_of_timm_legacy_xception():
    assert count_parameters(xc.XceptionNet(num_classes=1000)) == TIMM_XCEPTION_PARAMETERS, \
        "Chollet's Xception with a 1000-class head has 22,855,952 parameters"


@task_1_4
def test_timm_weights_load_strictly_and_outputs_match_timm(timm_reference, loaded_ours):
    torch.manual_seed(3)
    x = torch.randn(2, 3, 128, 128)
    with torch.inference_mode():
        expected = timm_reference(x)
        ours = loaded_ours(x)
    assert ours.shape == (2, 1000)
    np.testing.assert_allclose(ours.numpy(), expected.numpy(), **XCEPTION_VS_TIMM,
                               err_msg="same weights, different output: check the order of ReLU/conv/BN, the pools and the shortcuts")


@task_1_4
def test_features_are_timms_pooled_2048_vector(timm_reference, loaded_ours):
    torch.manual_seed(4)
    x = torch.randn(2, 3, 96, 96)
    with torch.inference_mode():
        expected = timm_reference.forward_head(timm_reference.forward_features(x), pre_logits=True)
        ours = loaded_ours.features(x)
    assert ours.shape == (2, xc.FEATURE_DIM)
    np.testing.assert_allclose(ours.numpy(), expected.numpy(), **XCEPTION_VS_TIMM)


@task_1_4
@pytest.mark.parametrize("timm_block, ours_name, config", [
    (1, "entry_flow.0", dict(in_channels=64, out_channels=128, reps=2, stride=2, start_with_relu=False)),
    (5, "middle_flow.1", dict(in_channels=728, out_channels=728, reps=3, stride=1)),
    (12, "exit_block", dict(in_channels=728, out_channels=1024, reps=2, stride=2, grow_first=False)),
])
def test_each_kind_of_block_matches_timms_block(timm_reference, timm_block, ours_name, config):
    reference = getattr(timm_reference, f"block{timm_block}")
    block = xc.Block(**config).eval()
    prefix = f"block{timm_block}."
    mapped = {xc.timm_to_course_key(prefix + k)[len(ours_name) + 1:]: v for k, v in reference.state_dict().items()}
    block.load_state_dict(mapped, strict=True)
    torch.manual_seed(5)
    x = torch.randn(2, config["in_channels"], 19, 19)
    with torch.inference_mode():
        expected = reference(x.clone())
        ours = block(x)
    stride = config.get("stride", 1)
    assert ours.shape == (2, config["out_channels"], -(-19 // stride), -(-19 // stride))
    np.testing.assert_allclose(ours.numpy(), expected.numpy(), **XCEPTION_VS_TIMM, err_msg=f"{ours_name} differs from timm block{timm_block}")


@task_1_4
def test_middle_blocks_keep_the_identity_shortcut_and_entry_blocks_project():
    middle = xc.Block(728, 728, reps=3)
    assert middle.shortcut is None and middle.pool is None, "same shape in and out: the shortcut is the identity"
    entry = xc.Block(128, 256, reps=2, stride=2)
    assert isinstance(entry.shortcut[0], torch.nn.Conv2d) and entry.shortcut[0].stride == (2, 2)
    assert entry.shortcut[0].kernel_size == (1, 1), "the projection shortcut is a strided 1x1 convolution"
    # either change alone needs a projection: more channels at stride 1, or stride 2 at the same width
    wider = xc.Block(8, 16, reps=1, stride=1)
    assert wider.shortcut is not None and wider.shortcut[0].stride == (1, 1), \
        "8 -> 16 channels at stride 1: the identity cannot be added, a 1x1 projection is needed"
    strided = xc.Block(8, 8, reps=1, stride=2)
    assert strided.shortcut is not None and strided.shortcut[0].stride == (2, 2), \
        "stride 2 at the same width: the shortcut must be strided too (the channels OR the stride change)"


@task_1_4
def test_detection_model_outputs_one_logit_per_image():
    torch.manual_seed(6)
    model = xc.XceptionNet().eval()
    assert count_parameters(model) == TIMM_XCEPTION_PARAMETERS - DETECTION_HEAD_DIFFERENCE, "one-logit head: Linear(2048, 1)"
    with torch.inference_mode():
        logits = model(torch.randn(3, 3, 96, 96))
        features = model.features(torch.randn(3, 3, 96, 96))
    assert logits.shape == (3,), f"num_classes=1 must give logits of shape (B,), got {tuple(logits.shape)}"
    assert features.shape == (3, 2048)


@task_1_4
def test_pretrained_weights_unreachable_gives_a_one_line_course_error(monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(timm, "create_model", offline)
    with pytest.raises(CourseError, match="pretrained=False works offline") as caught:
        xc.build_xception(pretrained=True)
    assert "\n" not in str(caught.value)
