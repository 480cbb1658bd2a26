"""Transfer learning: an ImageNet backbone with a new one-logit head, unfrozen from the top down.

Idea. A network trained on ImageNet already knows edges, textures and faces. Yosinski et al. (2014)
measured how transferable each layer is: the first layers learn generic, Gabor-like filters that
suit any image task, the last ones are specific to the 1000 ImageNet classes. So a deepfake
detector keeps a torchvision backbone (ResNet / EfficientNet), replaces its classifier with one
logit, and trains in two steps (course seeds 000/001 do this with InceptionV3):

1. the head alone, with the backbone frozen, so the random head's large early gradients cannot
   wreck the pretrained filters;
2. then the last few backbone stages too, with a learning rate about ten times *smaller* than the
   head's: the top blocks adapt to forgery traces, the generic low-level filters stay put.

FaceForensics++ fine-tuned its Xception detector this way: the new fully connected layer first,
with the ImageNet weights fixed, then the whole network. Frozen stages also keep their BatchNorm
statistics (:meth:`TransferDetector.train` leaves them in eval mode), or the "frozen" backbone
would drift with every batch.

Shapes: images enter as (B, 3, S, S) float32, ImageNet-normalised (see
``common.models.input_spec``); the detector returns (B,) logits.

Papers: J. Yosinski, J. Clune, Y. Bengio, H. Lipson, "How transferable are features in deep neural
networks?", NeurIPS 2014. A. Rossler et al., "FaceForensics++: Learning to Detect Manipulated
Facial Images", ICCV 2019.

Guide: IMPLEMENTATION_GUIDE.md, phase 1 (1.8 Transfer learning).
"""
from __future__ import annotations

import torch
from torch import nn

from common.errors import CheckpointError

BACKBONES = ("resnet18", "resnet34", "resnet50", "efficientnet_b0")
"""torchvision backbones :class:`TransferDetector` can use."""


def backbone_stages(name: str, pretrained: bool = False) -> tuple[list[nn.Module], int]:
    """Build a torchvision backbone and cut it into stages, from the input to the output.

    Args:
        name: one of :data:`BACKBONES`.
        pretrained: load torchvision's ImageNet weights (downloaded once into the torch hub cache;
            without network they must already be there).

    Returns:
        ``(stages, feature_dim)``: the stages in order (ResNet: stem, layer1..layer4 = 5 stages;
        EfficientNet-B0: its 9 ``features`` blocks) and the number of channels of the last stage
        (ResNet-18/34: 512, ResNet-50: 2048, EfficientNet-B0: 1280). The classification layer is
        dropped.

    Raises:
        ValueError: unknown name. CheckpointError: ``pretrained=True`` and the weights cannot be
        loaded (no network and not cached).
    """
    import torchvision.models as tvm

    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    builder = getattr(tvm, name)
    try:
        model = builder(weights="DEFAULT" if pretrained else None)
    except (OSError, RuntimeError) as error:  # URLError is an OSError
        raise CheckpointError(f"could not load the ImageNet weights of {name} ({type(error).__name__}: "
                              f"{str(error).splitlines()[0][:120]}); use pretrained=False offline") from None
    if name.startswith("resnet"):
        stem = nn.Sequential(model.conv1, model.bn1, model.relu, model.maxpool)
        return [stem, model.layer1, model.layer2, model.layer3, model.layer4], model.fc.in_features
    return list(model.features), model.classifier[1].in_features


class TransferDetector(nn.Module):
    """An ImageNet backbone with a new one-logit head, trained in two steps.

    Step 1 - the backbone is frozen (``freeze_backbone``, done by the constructor): only the head
    learns, so the random head cannot wreck the pretrained filters with large early gradients.
    Step 2 - ``unfreeze_last(n)`` lets the last ``n`` stages learn too, and ``param_groups(lr)``
    gives them a smaller learning rate (``lr * backbone_lr_factor``) than the head.

    Frozen stages also keep their BatchNorm statistics: :meth:`train` leaves them in eval mode.

    Args:
        backbone: one of :data:`BACKBONES`.
        pretrained: start from ImageNet weights (see :func:`backbone_stages`).
        dropout: dropout before the head's linear layer.
        unfrozen_blocks: stages to unfreeze right away (0 = only the head trains).

    Attributes:
        stages: ``nn.ModuleList`` of the backbone stages (input to output).
        head: ``nn.Sequential(Flatten, Dropout, Linear(feature_dim, 1))``.

    Shapes: forward (B, 3, S, S) float32 (ImageNet-normalised) -> (B,) logits.

    Example::

        model = TransferDetector("resnet18", pretrained=True)   # head only
        model.unfreeze_last(2)                                  # + layer3, layer4
        optimizer = torch.optim.AdamW(model.param_groups(lr=1e-3))  # backbone at 1e-4
    """

    def __init__(self, backbone: str = "resnet18", pretrained: bool = False, dropout: float = 0.2,
                 unfrozen_blocks: int = 0) -> None:
        super().__init__()
        stages, feature_dim = backbone_stages(backbone, pretrained)
        self.backbone_name = backbone
        self.stages = nn.ModuleList(stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(feature_dim, 1))
        self.freeze_backbone()
        if unfrozen_blocks:
            self.unfreeze_last(unfrozen_blocks)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) float32 -> (B,) logits."""
        features = images
        for stage in self.stages:
            features = stage(features)
        return self.head(self.pool(features)).squeeze(1)

    def freeze_backbone(self) -> None:
        """Stop every backbone parameter from learning; the head stays trainable.

        After it, ``p.requires_grad`` is False for every parameter of ``self.stages`` (autograd
        then computes no gradient for them, and the optimiser never sees them) and True for the
        head's.
        """
        # BEGIN SOLUTION 1.8: set requires_grad = False on every parameter of self.stages and True on every parameter of self.head
        for parameter in self.stages.parameters():
            parameter.requires_grad = False
        for parameter in self.head.parameters():
            parameter.requires_grad = True
        # END SOLUTION

    def unfreeze_last(self, n_blocks: int) -> None:
        """Let the last ``n_blocks`` backbone stages learn again (the others stay frozen).

        Args:
            n_blocks: 0 .. ``len(self.stages)``; 0 freezes the whole backbone again, the maximum
                fine-tunes everything. Counting starts at the output: ``unfreeze_last(1)`` on a
                ResNet unfreezes ``layer4``.

        Raises:
            ValueError: ``n_blocks`` outside 0 .. ``len(self.stages)``.
        """
        if not 0 <= n_blocks <= len(self.stages):
            raise ValueError(f"n_blocks must be between 0 and {len(self.stages)} for {self.backbone_name}, got {n_blocks}")
        # BEGIN SOLUTION 1.8: freeze the whole backbone first, then set requires_grad = True on the parameters of the last n_blocks stages (careful: self.stages[-0:] is every stage)
        self.freeze_backbone()
        for stage in list(self.stages)[len(self.stages) - n_blocks:]:
            for parameter in stage.parameters():
                parameter.requires_grad = True
        # END SOLUTION

    def param_groups(self, lr: float, backbone_lr_factor: float = 0.1) -> list[dict]:
        """Optimiser parameter groups: the head at ``lr``, unfrozen backbone stages at a lower lr.

        Args:
            lr: learning rate of the head.
            backbone_lr_factor: the unfrozen backbone parameters learn at ``lr * backbone_lr_factor``.

        Returns:
            ``[{"params": [...head...], "lr": lr, "name": "head"},
            {"params": [...unfrozen backbone...], "lr": lr * backbone_lr_factor, "name": "backbone"}]``;
            the second group is left out when the whole backbone is frozen. Together the groups
            hold exactly the parameters with ``requires_grad`` (frozen ones are left out), each once.
            Pass the list to any ``torch.optim`` optimiser or to ``common.training.fit(param_groups=...)``.
        """
        # BEGIN SOLUTION 1.8: collect the head's parameters and the backbone parameters that require a gradient; return one dict per non-empty group with keys "params", "lr" and "name"
        head = [p for p in self.head.parameters() if p.requires_grad]
        backbone = [p for p in self.stages.parameters() if p.requires_grad]
        groups = [{"params": head, "lr": lr, "name": "head"}]
        if backbone:
            groups.append({"params": backbone, "lr": lr * backbone_lr_factor, "name": "backbone"})
        return groups
        # END SOLUTION

    def train(self, mode: bool = True) -> "TransferDetector":
        """Like ``nn.Module.train``, but fully frozen stages stay in eval mode (fixed BN statistics)."""
        super().train(mode)
        for stage in self.stages:
            if not any(p.requires_grad for p in stage.parameters()):
                stage.eval()
        return self
