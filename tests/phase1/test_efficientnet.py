"""Task 1.5: EfficientNet-B4 detector, checked against torchvision's own efficientnet_b4.

A freshly initialised B4 in eval mode shrinks its activations by 10-100x per stage (its BatchNorm
layers still hold the initial running variance 1), so its features are ~1e-14 and an absolute
tolerance would accept ``0 * features``. The reference network's BatchNorm statistics are
therefore calibrated on random images first (what a training step does), which makes the
features of order one; comparisons are also relative to the reference's scale.
"""
import numpy as np
import pytest
import torch
from torchvision.models import EfficientNet_B4_Weights, efficientnet_b4

from common.errors import CourseError
from phase1_cnn_detection import template_efficientnet as eff
from tests.tolerances import EFFICIENTNET_MIN_FEATURE_SCALE, EFFICIENTNET_VS_TORCHVISION

pytestmark = pytest.mark.task("1.5")

IMAGENET_HEAD = 1792 * 1000 + 1000
ONE_LOGIT_HEAD = 1792 + 1


def count_parameters(module):
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope="module")
def reference():
    torch.manual_seed(0)
    network = efficientnet_b4(weights=None)
    for module in network.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None  # cumulative average over the calibration batches
    network.train()
    with torch.no_grad():
        for _ in range(2):
            network(torch.randn(8, 3, 64, 64))
    return network.eval()


def headless_reference(reference):
    """torchvision's B4 with the reference's weights and its classifier removed: the feature oracle."""
    headless = efficientnet_b4(weights=None).eval()
    headless.load_state_dict(reference.state_dict())
    headless.classifier = torch.nn.Identity()
    return headless


def assert_close_at_scale(ours: torch.Tensor, expected: torch.Tensor, message: str) -> None:
    scale = float(expected.abs().max())
    assert scale > EFFICIENTNET_MIN_FEATURE_SCALE, f"the oracle's values are too small to compare ({scale:.2e})"
    np.testing.assert_allclose(ours.numpy() / scale, expected.numpy() / scale, **EFFICIENTNET_VS_TORCHVISION,
                               err_msg=message)


@pytest.fixture(scope="module")
def detector(reference):
    torch.manual_seed(1)
    model = eff.EfficientNetB4Detector(pretrained=False).eval()
    return model


def test_backbone_has_torchvisions_layers_with_the_same_shapes(reference, detector):
    expected = {name: tuple(t.shape) for name, t in reference.features.state_dict().items()}
    ours = {name: tuple(t.shape) for name, t in detector.backbone.state_dict().items()}
    assert ours == expected, "self.backbone must be torchvision's efficientnet_b4().features, unchanged"


def test_parameter_count_is_torchvisions_minus_the_imagenet_head_plus_one_logit(reference, detector):
    expected = count_parameters(reference) - IMAGENET_HEAD + ONE_LOGIT_HEAD
    assert count_parameters(detector) == expected == 17_550_409, \
        "only the classifier changes: Linear(1792, 1000) becomes Linear(1792, 1)"


def test_head_is_dropout_then_one_logit_linear(detector):
    dropout, linear = detector.head[0], detector.head[1]
    assert isinstance(dropout, torch.nn.Dropout) and dropout.p == pytest.approx(0.4), "Dropout(0.4) first"
    assert isinstance(linear, torch.nn.Linear) and (linear.in_features, linear.out_features) == (1792, 1), \
        "then Linear(1792, 1): the B4 feature width is 1792"
    for p in (0.25, 0.0):
        assert eff.EfficientNetB4Detector(dropout=p).head[0].p == pytest.approx(p), \
            f"EfficientNetB4Detector(dropout={p}) must use that probability in its Dropout"


def test_features_equal_torchvisions_network_without_its_classifier(reference, detector):
    detector.backbone.load_state_dict(reference.features.state_dict())
    headless = headless_reference(reference)
    torch.manual_seed(2)
    x = torch.randn(2, 3, 64, 64)
    with torch.inference_mode():
        expected = headless(x)
        ours = detector.features(x)
    assert ours.shape == (2, 1792)
    assert_close_at_scale(ours, expected, "features must be torchvision's backbone output, globally averaged and flattened")


def test_forward_gives_one_logit_per_image_from_the_linear_head(reference, detector):
    detector.backbone.load_state_dict(reference.features.state_dict())
    linear = detector.head[1]
    torch.manual_seed(3)
    weight, bias = torch.randn(1, 1792) / 1792 ** 0.5, torch.randn(1)
    with torch.no_grad():
        linear.weight.copy_(weight)
        linear.bias.copy_(bias)
    x = torch.randn(3, 3, 48, 48)
    with torch.inference_mode():
        logits = detector(x)
        expected = headless_reference(reference)(x) @ weight.T + bias  # the oracle, not the detector's own features
    assert logits.shape == (3,), f"logits must have shape (B,), got {tuple(logits.shape)}"
    assert eff.build_efficientnet(num_classes=3)(x).shape == (3, 3), "C classes give (B, C) logits"
    assert_close_at_scale(logits, expected[:, 0], "in eval mode the logit is Linear(features) (dropout is off)")


def test_pretrained_uses_torchvisions_imagenet_weights_and_fails_offline_in_one_line(monkeypatch):
    asked = []

    def fake_download(weights=None):
        asked.append(weights)
        torch.manual_seed(4)
        return efficientnet_b4(weights=None)

    monkeypatch.setattr(eff, "efficientnet_b4", fake_download)
    model = eff.EfficientNetB4Detector(pretrained=True)
    assert asked == [EfficientNet_B4_Weights.IMAGENET1K_V1], "pretrained=True must ask torchvision for IMAGENET1K_V1"
    torch.manual_seed(4)
    downloaded = efficientnet_b4(weights=None)
    for (name, ours), theirs in zip(model.backbone.state_dict().items(), downloaded.features.state_dict().values()):
        assert torch.equal(ours, theirs), f"backbone tensor {name} is not the pretrained one"

    def offline(weights=None):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(eff, "efficientnet_b4", offline)
    with pytest.raises(CourseError, match="pretrained=False works offline") as caught:
        eff.build_efficientnet(pretrained=True)
    assert "\n" not in str(caught.value)
