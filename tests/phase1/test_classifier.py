"""Tasks 1.7-1.9: MesoNet-4 and a baseline CNN, transfer learning, forensic augmentation.

Oracles: parameter counts worked by hand from the layer list (and the MesoNet paper's 27,977),
torchvision's own ResNet-18 for the parameters of its blocks, numpy / OpenCV / SciPy for each
augmentation, and values computed by hand.
"""
import cv2
import numpy as np
import pytest
import torch
import torchvision
from scipy import ndimage
from skimage import data as skimage_data

from phase1_cnn_detection import template_classifier as clf
from tests.tolerances import (
    BLUR_VS_SCIPY_ATOL_LEVELS,
    NORMALISED_TENSOR_ATOL,
    ROTATION_90_ATOL_LEVELS,
)


def astronaut_face(size: int = 64) -> np.ndarray:
    """A real, colourful face: Eileen Collins' face from scikit-image's astronaut photo, resized."""
    face = skimage_data.astronaut()[30:230, 140:340]  # (200, 200, 3) uint8 RGB around the face
    return cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA)


def trainable(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ---------------------------------------------------------------------------------------------
# 1.7 MesoNet-4 and a baseline CNN
# ---------------------------------------------------------------------------------------------


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
        assert loss.item() < 0.1, f"{type(model).__name__} could not fit a trivially separable batch (loss {loss.item():.3f})"


# ---------------------------------------------------------------------------------------------
# 1.8 Transfer learning
# ---------------------------------------------------------------------------------------------


def resnet18_block_parameters(*block_names: str) -> int:
    """Oracle: parameters of the named blocks of torchvision's own ResNet-18."""
    reference = torchvision.models.resnet18(weights=None)
    return sum(p.numel() for name in block_names for p in getattr(reference, name).parameters())


@pytest.mark.task("1.8")
def test_new_transfer_detector_trains_only_its_head():
    model = clf.TransferDetector("resnet18", pretrained=False)
    frozen = [name for name, p in model.named_parameters() if name.startswith("stages.") and p.requires_grad]
    assert not frozen, f"the backbone must start frozen, but {frozen[:3]} require a gradient"
    assert trainable(model) == 512 + 1, f"only the head Linear(512, 1) should train, got {trainable(model)} parameters"


@pytest.mark.task("1.8")
def test_frozen_backbone_parameters_receive_no_gradient():
    torch.manual_seed(0)
    model = clf.TransferDetector("resnet18", pretrained=False)
    model.unfreeze_last(1)
    loss = model(torch.randn(2, 3, 64, 64)).sum()
    loss.backward()
    for name, parameter in model.named_parameters():
        in_frozen_stage = name.startswith(("stages.0.", "stages.1.", "stages.2.", "stages.3."))
        if in_frozen_stage:
            assert parameter.grad is None, f"{name} is frozen but received a gradient"
        else:
            assert parameter.grad is not None, f"{name} is trainable (layer4 or head) but received no gradient"


@pytest.mark.task("1.8")
def test_unfreeze_last_two_opens_exactly_layer3_and_layer4():
    model = clf.TransferDetector("resnet18", pretrained=False)
    model.unfreeze_last(2)
    expected = resnet18_block_parameters("layer3", "layer4") + 512 + 1
    assert trainable(model) == expected, f"layer3 + layer4 + head = {expected} parameters, got {trainable(model)}"
    model.unfreeze_last(0)
    assert trainable(model) == 513, "unfreeze_last(0) must freeze the whole backbone again"
    model.unfreeze_last(5)
    everything = sum(p.numel() for p in torchvision.models.resnet18(weights=None).parameters()) - (512 * 1000 + 1000) + 513
    assert trainable(model) == everything, "unfreeze_last(len(stages)) must fine-tune the whole backbone"


@pytest.mark.task("1.8")
def test_param_groups_hold_exactly_the_unfrozen_parameters_with_a_lower_backbone_lr():
    model = clf.TransferDetector("resnet18", pretrained=False)
    model.unfreeze_last(2)
    groups = model.param_groups(lr=1e-3, backbone_lr_factor=0.1)
    grouped = [id(p) for group in groups for p in group["params"]]
    assert len(grouped) == len(set(grouped)), "a parameter appears in two groups"
    wanted = {id(p) for p in model.parameters() if p.requires_grad}
    assert set(grouped) == wanted, "the groups must hold exactly the parameters that require a gradient"
    head_ids = {id(p) for p in model.head.parameters()}
    lr_of = {id(p): group["lr"] for group in groups for p in group["params"]}
    for name, parameter in model.named_parameters():
        if id(parameter) in head_ids:
            assert lr_of[id(parameter)] == pytest.approx(1e-3), f"head parameter {name} must learn at lr"
        elif parameter.requires_grad:
            assert lr_of[id(parameter)] == pytest.approx(1e-4), f"backbone parameter {name} must learn at lr * 0.1"
    backbone = sum(p.numel() for group in groups for p in group["params"] if id(p) not in head_ids)
    assert backbone == resnet18_block_parameters("layer3", "layer4"), "backbone group != layer3 + layer4"


@pytest.mark.task("1.8")
def test_param_groups_of_a_frozen_backbone_are_the_head_alone_and_drive_an_optimiser():
    torch.manual_seed(0)
    model = clf.TransferDetector("resnet18", pretrained=False)
    groups = model.param_groups(lr=0.5)
    assert sum(p.numel() for g in groups for p in g["params"]) == 513, "frozen backbone: only the head's 513 parameters"
    optimiser = torch.optim.SGD(groups, lr=123.0)  # each group's own lr must win over the default
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    model.eval()  # dropout off
    loss = model(torch.randn(2, 3, 64, 64)).sum()
    loss.backward()
    optimiser.step()
    for name, parameter in model.named_parameters():
        changed = not torch.equal(before[name], parameter.detach())
        assert changed == name.startswith("head."), f"{name}: {'changed' if changed else 'unchanged'} after one step"


@pytest.mark.task("1.8")
def test_frozen_stages_keep_their_batchnorm_statistics_in_train_mode():
    torch.manual_seed(0)
    model = clf.TransferDetector("resnet18", pretrained=False)
    model.unfreeze_last(1)
    model.train()
    frozen_bn = model.stages[0][1].running_mean.clone()
    open_bn = model.stages[4][0].bn1.running_mean.clone()
    model(torch.randn(4, 3, 64, 64) + 3.0)
    assert torch.equal(frozen_bn, model.stages[0][1].running_mean), "a frozen stage's BatchNorm statistics moved"
    assert not torch.equal(open_bn, model.stages[4][0].bn1.running_mean), "an unfrozen stage must update its BatchNorm"


# ---------------------------------------------------------------------------------------------
# 1.9 Augmentation
# ---------------------------------------------------------------------------------------------


@pytest.mark.task("1.9")
def test_horizontal_flip_equals_numpy_fliplr():
    face = astronaut_face()
    flipped = clf.horizontal_flip(face)
    np.testing.assert_array_equal(flipped, np.fliplr(face), err_msg="a horizontal flip mirrors the columns")
    assert flipped.dtype == np.uint8 and flipped.shape == face.shape


@pytest.mark.parametrize("quality", [30, 75, 95])
@pytest.mark.task("1.9")
def test_jpeg_recompress_equals_opencv_encode_decode_at_that_quality(quality):
    face = astronaut_face()
    ok, buffer = cv2.imencode(".jpg", face[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    expected = cv2.imdecode(buffer, cv2.IMREAD_COLOR)[:, :, ::-1]
    np.testing.assert_array_equal(clf.jpeg_recompress(face, quality), expected,
                                  err_msg="encode RGB as BGR with cv2.imencode at that quality, decode, back to RGB")


@pytest.mark.task("1.9")
def test_rotation_by_90_degrees_turns_the_face_counter_clockwise():
    face = astronaut_face(33)  # odd size: the centre is a pixel and 90 degrees maps pixels onto pixels
    rotated = clf.rotate(face, 90.0).astype(int)
    difference = np.abs(rotated - np.rot90(face).astype(int)).max()
    assert difference <= ROTATION_90_ATOL_LEVELS, f"rotate(face, 90) differs from np.rot90 by {difference} levels"
    np.testing.assert_array_equal(clf.rotate(face, 0.0), face, err_msg="a 0 degree rotation must not change the face")


@pytest.mark.task("1.9")
def test_brightness_contrast_matches_values_worked_by_hand():
    face = np.array([[[0, 100, 128], [200, 250, 255]]], dtype=np.uint8)
    # contrast 1.5 about 128, then +(-10): 1.5*(x-128)+118
    expected = np.array([[[0, 76, 118], [226, 255, 255]]], dtype=np.uint8)
    np.testing.assert_array_equal(clf.adjust_brightness_contrast(face, -10.0, 1.5), expected,
                                  err_msg="out = clip(round(contrast * (x - 128) + 128 + brightness), 0, 255)")


@pytest.mark.task("1.9")
def test_gaussian_blur_matches_scipy_gaussian_filter():
    face = astronaut_face()
    sigma = 1.2
    radius = int(round(sigma * 3))  # OpenCV's kernel for uint8 with ksize (0, 0): 2 * round(3 sigma) + 1 taps
    expected = np.stack([ndimage.gaussian_filter(face[:, :, c].astype(float), sigma, mode="mirror",
                                                 truncate=radius / sigma) for c in range(3)], axis=2)
    difference = np.abs(clf.gaussian_blur(face, sigma).astype(float) - expected).max()
    assert difference <= BLUR_VS_SCIPY_ATOL_LEVELS, f"blur differs from a Gaussian of sigma {sigma} by {difference:.2f} levels"


@pytest.mark.task("1.9")
def test_normalised_tensor_is_channel_first_and_uses_mean_and_std():
    face = np.zeros((2, 3, 3), dtype=np.uint8)
    face[0, 0] = (255, 255, 255)
    tensor = clf.to_normalised_tensor(face, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
    assert tensor.shape == (3, 2, 3) and tensor.dtype == torch.float32, f"expected (3, H, W) float32, got {tuple(tensor.shape)}"
    white = [(1 - 0.485) / 0.229, (1 - 0.456) / 0.224, (1 - 0.406) / 0.225]
    black = [-0.485 / 0.229, -0.456 / 0.224, -0.406 / 0.225]
    np.testing.assert_allclose(tensor[:, 0, 0].numpy(), white, atol=NORMALISED_TENSOR_ATOL)
    np.testing.assert_allclose(tensor[:, 1, 2].numpy(), black, atol=NORMALISED_TENSOR_ATOL)


@pytest.mark.task("1.9")
def test_eval_transform_resizes_and_normalises_without_randomness():
    face = astronaut_face(100)
    transform = clf.EvalTransform(size=48, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    expected = cv2.resize(face, (48, 48), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0 * 2.0 - 1.0
    out = transform(face)
    np.testing.assert_allclose(out.numpy(), expected.transpose(2, 0, 1), atol=NORMALISED_TENSOR_ATOL)
    assert torch.equal(out, transform(face)), "the evaluation transform must be deterministic"


@pytest.mark.task("1.9")
def test_a_jpeg_only_augmentation_equals_opencv_at_the_drawn_quality():
    face = astronaut_face()
    config = clf.AugmentationConfig(flip_p=0.0, rotation_p=0.0, color_p=0.0, blur_p=0.0, jpeg_p=1.0,
                                    jpeg_quality=(55, 55))
    ok, buffer = cv2.imencode(".jpg", cv2.cvtColor(face, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 55])
    expected = cv2.cvtColor(cv2.imdecode(buffer, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    out = clf.random_forensic_augmentation(face, np.random.default_rng(0), config)
    np.testing.assert_array_equal(out, expected, err_msg="with jpeg_p=1 and quality (55, 55) the result is a q55 JPEG")


@pytest.mark.task("1.9")
def test_a_flip_only_augmentation_flips_about_half_of_the_faces():
    face = astronaut_face(16)
    config = clf.AugmentationConfig(flip_p=0.5, rotation_p=0.0, color_p=0.0, blur_p=0.0, jpeg_p=0.0)
    rng = np.random.default_rng(0)
    flips = 0
    for _ in range(400):
        out = clf.random_forensic_augmentation(face, rng, config)
        assert np.array_equal(out, face) or np.array_equal(out, np.fliplr(face)), "flip-only config changed pixels"
        flips += not np.array_equal(out, face)
    # binomial(400, 0.5): mean 200, standard deviation 10; 150..250 is 5 standard deviations
    assert 150 <= flips <= 250, f"flip_p=0.5 flipped {flips} of 400 faces"


@pytest.mark.task("1.9")
def test_train_transform_is_reproducible_from_its_seed():
    faces = [astronaut_face(64), np.ascontiguousarray(astronaut_face(64)[::-1])] * 3
    config = clf.AugmentationConfig(flip_p=0.5, rotation_p=0.5, color_p=0.5, blur_p=0.5, jpeg_p=0.5)
    first = clf.TrainTransform(32, seed=7, config=config)
    second = clf.TrainTransform(32, seed=7, config=config)
    other = clf.TrainTransform(32, seed=8, config=config)
    outputs = [first(face) for face in faces]
    assert all(o.shape == (3, 32, 32) and o.dtype == torch.float32 for o in outputs), "expected (3, 32, 32) float32"
    assert all(torch.equal(a, second(face)) for a, face in zip(outputs, faces)), "the same seed must give the same faces"
    assert any(not torch.equal(a, other(face)) for a, face in zip(outputs, faces)), "another seed must change something"


@pytest.mark.task("1.9")
def test_train_transform_accepts_the_float_tensors_of_face_crop_dataset():
    face = astronaut_face(40)
    as_tensor = torch.from_numpy(face).permute(2, 0, 1).float() / 255.0
    config = clf.AugmentationConfig(flip_p=1.0, rotation_p=0.0, color_p=0.0, blur_p=0.0, jpeg_p=0.0)
    from_array = clf.TrainTransform(40, seed=0, config=config)(face)
    from_tensor = clf.TrainTransform(40, seed=0, config=config)(as_tensor)
    assert torch.equal(from_array, from_tensor), "a [0, 1] (3, H, W) tensor must be treated like the uint8 face"
    expected = torch.from_numpy(np.fliplr(face).copy()).permute(2, 0, 1).float() / 255.0 * 2 - 1
    torch.testing.assert_close(from_array, expected, atol=NORMALISED_TENSOR_ATOL, rtol=0)
