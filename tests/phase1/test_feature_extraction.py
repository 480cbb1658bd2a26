"""Task 1.6: frozen ImageNet backbones as feature extractors.

Oracles: torchvision's own preprocessing (``weights.transforms()``, ``transforms.functional.resize``,
Inception's ``transform_input`` formula), the known widths of the networks' penultimate layers,
the networks' own submodules run by hand up to the cut, and the per-image result for batching.
"""
import numpy as np
import pytest
import torch
import torchvision
from torchvision.transforms import functional as TF

from common.errors import CourseError
from phase1_cnn_detection import template_feature_extraction as fe
from tests.tolerances import FEATURES_BATCHED_VS_SINGLE, FEATURES_VS_MANUAL_FORWARD, PREPROCESS_VS_TORCHVISION

pytestmark = pytest.mark.task("1.6")

# penultimate widths: ResNet-50 and Inception-v3 pool 2048 channels, VGG-16's fc7 has 4096 units,
# Xception's last separable convolution has 2048 channels
EXPECTED_DIMS = {"resnet50": 2048, "inception_v3": 2048, "vgg16": 4096, "xception": 2048}
SMALL_SIZES = {"resnet50": 32, "inception_v3": 75, "vgg16": 32, "xception": 71}  # small inputs keep the tests fast


@pytest.fixture(scope="module")
def extractors():
    built = {}

    def get(name):
        if name not in built:
            torch.manual_seed(0)
            built[name] = fe.FrozenFeatureExtractor(name, pretrained=False, device="cpu", image_size=SMALL_SIZES[name])
        return built[name]

    return get


def random_images(count, seed, sizes=((40, 52), (64, 64), (90, 70))):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, size=(*sizes[i % len(sizes)], 3), dtype=np.uint8) for i in range(count)]


@pytest.mark.parametrize("name", list(EXPECTED_DIMS))
def test_each_backbone_gives_its_feature_dimension(extractors, name):
    features = extractors(name).extract(random_images(2, seed=1), batch_size=2)
    assert features.shape == (2, EXPECTED_DIMS[name]), f"{name} features should be (N, {EXPECTED_DIMS[name]}), got {features.shape}"
    assert features.dtype == np.float32 and np.isfinite(features).all()


@pytest.mark.parametrize("name", list(EXPECTED_DIMS))
def test_backbones_are_frozen_and_in_eval_mode(extractors, name):
    model = extractors(name).model
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert not trainable, f"{name}: parameters still require grad, e.g. {trainable[:2]}"
    assert not any(m.training for m in model.modules()), f"{name}: every module must be in eval mode (BatchNorm, Dropout)"


def test_resnet50_features_are_its_global_average_pool(extractors):
    extractor = extractors("resnet50")
    images = random_images(2, seed=2)
    model = extractor.model
    batch = fe.preprocess_images(images, extractor.spec, extractor.image_size)
    with torch.inference_mode():
        x = model.maxpool(model.relu(model.bn1(model.conv1(batch))))
        x = model.layer4(model.layer3(model.layer2(model.layer1(x))))
        expected = torch.flatten(model.avgpool(x), 1).numpy()
    np.testing.assert_allclose(extractor.extract(images), expected, **FEATURES_VS_MANUAL_FORWARD,
                               err_msg="resnet50 features must be the pooled 2048-d vector (fc replaced by identity)")


def test_vgg16_features_are_fc7_after_its_relu(extractors):
    extractor = extractors("vgg16")
    images = random_images(2, seed=3)
    model = extractor.model
    batch = fe.preprocess_images(images, extractor.spec, extractor.image_size)
    with torch.inference_mode():
        x = torch.flatten(model.avgpool(model.features(batch)), 1)
        fc6 = torch.relu(model.classifier[0](x))
        expected = torch.relu(model.classifier[3](fc6)).numpy()
    features = extractor.extract(images)
    assert (features >= 0).all(), "fc7 is taken after its ReLU"
    np.testing.assert_allclose(features, expected, **FEATURES_VS_MANUAL_FORWARD, err_msg="vgg16 features must be fc7 (4096)")


def test_batching_gives_the_same_features_as_one_image_at_a_time(extractors):
    extractor = extractors("resnet50")
    images = random_images(3, seed=4)
    batched = extractor.extract(images, batch_size=2)
    single = np.concatenate([extractor.extract([image], batch_size=1) for image in images])
    np.testing.assert_allclose(batched, single, **FEATURES_BATCHED_VS_SINGLE,
                               err_msg="features must not depend on the batch (eval mode, no batch statistics)")


@pytest.mark.parametrize("name, weights", [
    ("resnet50", torchvision.models.ResNet50_Weights.IMAGENET1K_V2),
    ("vgg16", torchvision.models.VGG16_Weights.IMAGENET1K_V1),
])
def test_imagenet_preprocessing_matches_torchvision_weights_transforms(name, weights):
    reference = weights.transforms()  # resize shorter side to resize_size, centre-crop crop_size, normalise
    spec = fe.BACKBONES[name]
    assert spec.input_size == reference.crop_size[0]
    assert spec.mean == pytest.approx(tuple(reference.mean)) and spec.std == pytest.approx(tuple(reference.std))
    side, crop = reference.resize_size[0], reference.crop_size[0]
    image = np.random.default_rng(5).integers(0, 256, size=(side, side, 3), dtype=np.uint8)
    expected = reference(torch.from_numpy(image).permute(2, 0, 1))  # at resize_size the resize is the identity
    offset = (side - crop) // 2
    ours = fe.preprocess_images([image[offset:offset + crop, offset:offset + crop]], spec)
    assert ours.shape == (1, 3, crop, crop) and ours.dtype == torch.float32
    np.testing.assert_allclose(ours[0].numpy(), expected.numpy(), **PREPROCESS_VS_TORCHVISION,
                               err_msg="(pixel / 255 - ImageNet mean) / ImageNet std, channels first")


@pytest.mark.parametrize("name", ["inception_v3", "xception"])
def test_inception_and_xception_inputs_are_scaled_to_minus_one_plus_one(name):
    spec = fe.BACKBONES[name]
    assert spec.input_size == 299
    image = np.random.default_rng(6).integers(0, 256, size=(299, 299, 3), dtype=np.uint8)
    image[0, 0], image[0, 1] = 0, 255
    ours = fe.preprocess_images([image], spec)[0].numpy()
    expected = image.transpose(2, 0, 1) / 255.0 * 2.0 - 1.0
    np.testing.assert_allclose(ours, expected, **PREPROCESS_VS_TORCHVISION, err_msg="x / 255 * 2 - 1, channels first")
    assert ours[:, 0, 0].tolist() == [-1.0] * 3 and ours[:, 0, 1].tolist() == [1.0] * 3


def test_inception_scaling_equals_torchvisions_transform_input_of_imagenet_normalised_images():
    reference = torchvision.models.Inception_V3_Weights.IMAGENET1K_V1.transforms()
    image = np.random.default_rng(7).integers(0, 256, size=(299, 299, 3), dtype=np.uint8)
    normalised = TF.normalize(torch.from_numpy(image).permute(2, 0, 1).float() / 255, reference.mean, reference.std)
    # Inception3(transform_input=True) maps channel c to x * std_c / 0.5 + (mean_c - 0.5) / 0.5
    mean, std = torch.tensor(reference.mean)[:, None, None], torch.tensor(reference.std)[:, None, None]
    transformed = normalised * (std / 0.5) + (mean - 0.5) / 0.5
    ours = fe.preprocess_images([image], fe.BACKBONES["inception_v3"])[0]
    np.testing.assert_allclose(ours.numpy(), transformed.numpy(), **PREPROCESS_VS_TORCHVISION)


def test_resizing_matches_torchvision_resize_with_antialias():
    image = np.random.default_rng(8).integers(0, 256, size=(100, 130, 3), dtype=np.uint8)
    spec = fe.BACKBONES["resnet50"]
    resized = TF.resize(torch.from_numpy(image).permute(2, 0, 1).float() / 255, [64, 64], antialias=True)
    expected = TF.normalize(resized, spec.mean, spec.std)
    ours = fe.preprocess_images([image], spec, image_size=64)[0]
    np.testing.assert_allclose(ours.numpy(), expected.numpy(), **PREPROCESS_VS_TORCHVISION,
                               err_msg="resize with bilinear antialiased interpolation, like torchvision's Resize")


def test_extract_video_features_gives_one_float32_row_per_frame(extractors):
    extractor = extractors("resnet50")
    frames = random_images(3, seed=9)
    features = fe.extract_video_features(frames, extractor, batch_size=2)
    assert features.shape == (3, 2048) and features.dtype == np.float32
    np.testing.assert_allclose(features[1], extractor.extract([frames[1]])[0], **FEATURES_BATCHED_VS_SINGLE,
                               err_msg="row t must be the features of frame t")


def test_feature_cache_round_trip_reads_without_recomputing(extractors, tmp_path, monkeypatch):
    extractor = extractors("resnet50")
    frames = random_images(4, seed=10)
    path = tmp_path / "video-0001.npz"
    first = fe.cached_video_features(path, frames, [0, 8, 16, 24], 1, extractor, batch_size=4, group="g1")
    assert path.is_file(), "the first call must write the cache file"
    assert first.features.shape == (4, 2048) and first.label == 1
    assert first.frame_indices.tolist() == [0, 8, 16, 24] and first.meta["extractor"] == "resnet50"

    def must_not_run(*args, **kwargs):
        raise AssertionError("a cached video must not be extracted again")

    monkeypatch.setattr(extractor, "extract", must_not_run)
    second = fe.cached_video_features(path, frames, [0, 8, 16, 24], 1, extractor)
    np.testing.assert_array_equal(second.features, first.features)
    assert second.meta["group"] == "g1"


def test_pretrained_uses_imagenet_weights_and_fails_offline_in_one_line(monkeypatch):
    asked = []
    real_resnet50 = torchvision.models.resnet50

    def fake_download(weights=None):
        asked.append(weights)
        return real_resnet50(weights=None)

    monkeypatch.setattr(torchvision.models, "resnet50", fake_download)
    extractor = fe.FrozenFeatureExtractor("resnet50", pretrained=True, device="cpu", image_size=64)
    assert asked == [torchvision.models.ResNet50_Weights.IMAGENET1K_V2]
    assert isinstance(extractor.model.fc, torch.nn.Identity) and not any(p.requires_grad for p in extractor.model.parameters())

    def offline(weights=None):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(torchvision.models, "resnet50", offline)
    with pytest.raises(CourseError, match="pretrained=False works offline") as caught:
        fe.FrozenFeatureExtractor("resnet50", pretrained=True, device="cpu")
    assert "\n" not in str(caught.value)
