"""Task 2.10: R3D-18 written from its blocks loads torchvision's r3d_18 strictly and computes the same."""
import pytest
import torch
from torchvision.models.video import r3d_18
from torchvision.models.video.resnet import BasicBlock, Conv3DSimple

from phase2_temporal_analysis import template_3dcnn as c3d
from tests.tolerances import R3D_PARITY

pytestmark = pytest.mark.task("2.10")


def randomise_batch_norm_statistics(model, seed=0):
    """Random running statistics and affine parameters, so that a swapped or skipped BN shows."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm3d):
            n = module.num_features
            module.running_mean.copy_(0.1 * torch.randn(n, generator=generator))
            module.running_var.copy_(0.5 + torch.rand(n, generator=generator))
            module.weight.data.copy_(0.5 + torch.rand(n, generator=generator))
            module.bias.data.copy_(0.1 * torch.randn(n, generator=generator))
    return model


@pytest.mark.parametrize("in_channels, out_channels, stride", [(64, 64, 1), (64, 128, 2)])
def test_basic_block_matches_torchvision(in_channels, out_channels, stride):
    torch.manual_seed(0)
    downsample = None
    if stride != 1 or in_channels != out_channels:
        downsample = torch.nn.Sequential(torch.nn.Conv3d(in_channels, out_channels, 1, stride=stride, bias=False),
                                         torch.nn.BatchNorm3d(out_channels))
    reference = randomise_batch_norm_statistics(
        BasicBlock(in_channels, out_channels, Conv3DSimple, stride, downsample)).eval()
    ours = c3d.BasicBlock3d(in_channels, out_channels, stride)
    ours.load_state_dict(reference.state_dict(), strict=True)
    ours.eval()
    x = torch.randn(1, in_channels, 4, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x), **R3D_PARITY)


def test_whole_network_loads_r3d_18_strictly_and_gives_the_same_logits():
    torch.manual_seed(0)
    reference = randomise_batch_norm_statistics(r3d_18(weights=None, num_classes=400), seed=1).eval()
    ours = c3d.R3D18(num_classes=400)
    ours.load_state_dict(reference.state_dict(), strict=True)
    ours.eval()
    clips = torch.randn(2, 3, 8, 56, 56)
    with torch.no_grad():
        expected = reference(clips)
        result = ours(clips)
    assert result.shape == (2, 400)
    torch.testing.assert_close(result, expected, **R3D_PARITY)


def test_detector_head_gives_one_logit_per_clip():
    model = c3d.build_r3d18(num_classes=1, pretrained=False).eval()
    assert sum(p.numel() for p in model.parameters()) == 33_166_785  # r3d_18 with a 1-unit fc
    with torch.no_grad():
        assert model(torch.randn(2, 3, 8, 32, 32)).shape == (2,)
