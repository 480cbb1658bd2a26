"""Task 5.4: the Capsule-Forensics v2 network, against torchvision's VGG19, numpy and by hand."""
import numpy as np
import pytest
import torch
import torchvision

from phase5_advanced_methods import template_capsule_network as capsules
from tests.phase5.oracles import routing_np
from tests.tolerances import CAPSULE_LOGIT_VS_NUMPY, FLOAT32_KERNEL, ROUTING_NOISE_STD_RTOL

pytestmark = pytest.mark.task("5.4")


def test_feature_extractor_is_vgg19_up_to_the_third_pool():
    ours = capsules.vgg19_features(pretrained=False)
    reference = torchvision.models.vgg19(weights=None).features[:19]
    assert [type(m) for m in ours] == [type(m) for m in reference], "expected VGG19 features[:19] (layers 0..18)"
    assert sum(p.numel() for p in ours.parameters()) == 2_325_568, "VGG19 features[:19] has 2,325,568 parameters"
    ours.load_state_dict(reference.state_dict())
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = ours(x)
        torch.testing.assert_close(out, reference(x))
    assert out.shape == (1, 256, 4, 4), "256 channels at 1/8 of the input side"


def test_statistics_pooling_is_mean_and_unbiased_std():
    x = torch.randn(2, 3, 4, 5, generator=torch.Generator().manual_seed(1))
    pooled = capsules.statistics_pooling(x)
    flat = x.numpy().reshape(2, 3, 20)
    expected = np.stack([flat.mean(axis=2), flat.std(axis=2, ddof=1)], axis=1)
    np.testing.assert_allclose(pooled.numpy(), expected, rtol=1e-5, atol=1e-6)
    one = capsules.statistics_pooling(torch.tensor([1.0, 2.0, 3.0, 4.0]).view(1, 1, 2, 2))
    torch.testing.assert_close(one, torch.tensor([[[2.5], [1.2909944]]]), **FLOAT32_KERNEL)


@pytest.fixture(scope="module")
def network():
    torch.manual_seed(0)
    return capsules.CapsuleForensics(pretrained=False)


def _model(network, routing_noise=0.01, prediction_dropout=0.05):
    network.routing_noise, network.dropout.p = routing_noise, prediction_dropout
    return network


def test_predictions_multiply_each_routing_weight_by_its_capsule(network):
    model = _model(network).eval()
    u = torch.randn(3, 10, 8, generator=torch.Generator().manual_seed(2))
    u_hat = model.predictions(u)
    expected = np.einsum("jidk,bik->bjid", model.routing_weights.detach().double().numpy(), u.double().numpy())
    assert u_hat.shape == (3, 2, 10, 4), f"u_hat has shape {tuple(u_hat.shape)}, expected (B, 2, 10, 4)"
    np.testing.assert_allclose(u_hat.detach().numpy(), expected, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(model.predictions(u), u_hat, msg="eval mode must be deterministic (no noise, no dropout)")


def test_training_adds_noise_of_the_given_std_to_the_routing_weights(network):
    model = _model(network, routing_noise=0.01, prediction_dropout=0.0).train()
    u = torch.zeros(1, 10, 8)
    u[0, :, 0] = 1.0  # each prediction reads the first column of its weight: the noise shows directly
    torch.manual_seed(3)
    draws = torch.stack([model.predictions(u) for _ in range(200)])
    noise = draws - torch.einsum("jidk,bik->bjid", model.routing_weights, u)
    measured = float(noise.detach().std())
    assert measured == pytest.approx(0.01, rel=ROUTING_NOISE_STD_RTOL), f"routing noise std {measured:.4f}, expected 0.01"


def test_training_drops_predictions(network):
    model = _model(network, routing_noise=0.0, prediction_dropout=0.25).train()
    u = torch.ones(64, 10, 8)
    torch.manual_seed(4)
    u_hat = model.predictions(u)
    clean = model.eval().predictions(u)
    zero_share = float((u_hat == 0).float().mean())
    assert zero_share == pytest.approx(0.25, abs=0.03), f"{zero_share:.3f} of the predictions dropped, expected 0.25"
    kept = u_hat != 0
    torch.testing.assert_close(u_hat[kept], clean[kept] / 0.75, msg="kept predictions are scaled by 1 / (1 - p)")


def test_logit_is_the_log_ratio_of_the_capsule_lengths(network):
    model = _model(network).eval()
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        logits = model(x)
        u = model.primary_capsules(x).double().numpy()
    assert logits.shape == (2,), f"one logit per face, got shape {tuple(logits.shape)}"
    u_hat = np.einsum("jidk,bik->bjid", model.routing_weights.detach().double().numpy(), u)
    v, _ = routing_np(u_hat, 2)
    lengths = np.linalg.norm(v, axis=-1)
    expected = np.log(lengths[:, 1]) - np.log(lengths[:, 0])
    np.testing.assert_allclose(logits.numpy(), expected, **CAPSULE_LOGIT_VS_NUMPY,
                               err_msg="logit must be log|v_fake| - log|v_real| after 2 routing iterations")


@pytest.mark.slow
def test_learns_a_small_benchmark():
    torch.manual_seed(0)
    """Smooth faces (REAL) against the same faces with pixel noise (FAKE) of 32 px: 60 Adam steps
    (training accuracy 0.99 measured; about 15 s on 2 idle cores)."""
    from skimage import data

    faces = torch.from_numpy(np.stack(data.lfw_subset()[:40])).float().unsqueeze(1).repeat(1, 3, 1, 1)
    faces = torch.nn.functional.interpolate(faces, size=32, mode="bilinear", align_corners=False)
    generator = torch.Generator().manual_seed(0)
    fakes = (faces + 0.1 * torch.randn(faces.shape, generator=generator)).clamp(0, 1)
    x, y = torch.cat([faces, fakes]), torch.cat([torch.zeros(40), torch.ones(40)])
    model = capsules.CapsuleForensics(pretrained=False)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for step in range(60):
        batch = torch.randperm(80, generator=generator)[:16]
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x[batch]), y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        accuracy = float(((model.eval()(x) > 0).float() == y).float().mean())
    assert accuracy >= 0.9, f"training accuracy {accuracy:.2f} after 60 steps"
