"""Task 1.8: transfer learning with partial unfreezing.

Oracles: torchvision's own ResNet-18 for the parameters of its blocks, autograd (which parameters
receive a gradient), and one optimiser step (which parameters move).
"""
import pytest
import torch
import torchvision

from phase1_cnn_detection import template_transfer_learning as tl


def trainable(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def resnet18_block_parameters(*block_names: str) -> int:
    """Oracle: parameters of the named blocks of torchvision's own ResNet-18."""
    reference = torchvision.models.resnet18(weights=None)
    return sum(p.numel() for name in block_names for p in getattr(reference, name).parameters())


@pytest.mark.task("1.8")
def test_new_transfer_detector_trains_only_its_head():
    model = tl.TransferDetector("resnet18", pretrained=False)
    frozen = [name for name, p in model.named_parameters() if name.startswith("stages.") and p.requires_grad]
    assert not frozen, f"the backbone must start frozen, but {frozen[:3]} require a gradient"
    assert trainable(model) == 512 + 1, f"only the head Linear(512, 1) should train, got {trainable(model)} parameters"


@pytest.mark.task("1.8")
def test_frozen_backbone_parameters_receive_no_gradient():
    torch.manual_seed(0)
    model = tl.TransferDetector("resnet18", pretrained=False)
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
    model = tl.TransferDetector("resnet18", pretrained=False)
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
    model = tl.TransferDetector("resnet18", pretrained=False)
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
    model = tl.TransferDetector("resnet18", pretrained=False)
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
    model = tl.TransferDetector("resnet18", pretrained=False)
    model.unfreeze_last(1)
    model.train()
    frozen_bn = model.stages[0][1].running_mean.clone()
    open_bn = model.stages[4][0].bn1.running_mean.clone()
    model(torch.randn(4, 3, 64, 64) + 3.0)
    assert torch.equal(frozen_bn, model.stages[0][1].running_mean), "a frozen stage's BatchNorm statistics moved"
    assert not torch.equal(open_bn, model.stages[4][0].bn1.running_mean), "an unfrozen stage must update its BatchNorm"
