"""An integrated detector: spatial, temporal and micro-expression evidence, fused by attention.

Idea. Seed 003 ("Integrated Deepfake Detection System") reads a clip three ways and lets the
network decide, clip by clip, which reading to trust:

* **spatial**: what each frame looks like, from a frozen ImageNet CNN (ResNet-50 or VGG16, as in
  task 1.6 and phase 2's ``lstm`` detector);
* **temporal**: how those frame features evolve, from a bidirectional LSTM over them (phase 2's
  packed recurrent head, task 2.8; Sabir et al. 2019);
* **micro-expressions**: small, fast changes of the face, from a small CNN trained on 64 x 64 face
  crops whose frame-to-frame feature changes are pooled over time by attention (phase 5's temporal
  attention pooling, task 5.6);

then projects the three feature vectors to one width, scores each with a learned attention
vector, mixes them by a softmax over the three (attention-based fusion) and classifies the mix with
a small MLP: one logit per clip, trained end to end on clips through the shared training loop
(only the ImageNet CNN stays frozen).

This file builds, in order:

* 5.12 the micro-expression stream (CNN per real frame, feature changes, masked attention pooling);
* 5.13 attention fusion of several feature vectors, returning the fusion weights;
* 5.14 the integrated forward pass, registered as the ``integrated`` clip detector.

What the seed's Keras notebook gets wrong or leaves open, and what this file does instead (the
guide, 5.12-5.14, says more): its micro-expression CNN is compiled alone with an MSE loss and an
"accuracy" metric and never trained (``fit()`` with no data) - here it is trained by the
detector's own BCE loss, end to end; ``Attention()([x, x])`` is an unmasked self-attention that
returns a sequence, not a clip vector - here a masked attention pooling gives one vector and
padded frames get exactly zero weight; every length is fixed at 146 frames - here clips of any
length are padded and ``lengths`` keeps the padding out of every stream; its "fusion" concatenates
four vectors computed from the same ResNet features - here three different streams are fused by
weights the network learns and reports.

Shapes: frames (B, T, 3, S, S) float32, ImageNet-normalised face crops, zero-padded after each
clip's ``lengths[b]`` real frames; lengths (B,) int64, 1 <= lengths[b] <= T (the registry's
``clip_layout="sequence"`` input, ``common.detectors.clip_input``).

Papers: seed 003 (integrated spatial / temporal / micro-expression system on FaceForensics++);
D. Guera, E. Delp, "Deepfake Video Detection Using Recurrent Neural Networks", AVSS 2018;
E. Sabir et al., "Recurrent Convolutional Strategies for Face Manipulation Detection in Videos",
CVPR workshops 2019; D. Bahdanau et al., "Neural Machine Translation by Jointly Learning to Align
and Translate", ICLR 2015 (additive attention); A. Nagrani et al., "Attention Bottlenecks for
Multimodal Fusion", NeurIPS 2021 (attention across modalities); X. Li et al., "Towards Reading
Hidden Emotions: A Comparative Study of Spontaneous Micro-expression Spotting and Recognition
Methods", IEEE TAC 2018 (micro-expressions are brief changes: read them as differences).

Guide: IMPLEMENTATION_GUIDE.md, phase 5 (5.12 Micro-expression stream, 5.13 Attention fusion,
5.14 Integrated detector).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torchvision
from torch import nn
from torch.nn import functional as F

from common.errors import CourseError
from phase2_temporal_analysis.template_lstm_detector import RecurrentHead, encode_real_steps, lengths_mask
from phase5_advanced_methods.template_attention_mechanism import TemporalAttentionPooling

MICRO_CROP = 64
"""Side in pixels of the micro-expression stream's face crops (the seed's 64 x 64)."""


def micro_crops(crops: torch.Tensor, size: int = MICRO_CROP) -> torch.Tensor:
    """(N, 3, S, S) face crops -> (N, 3, size, size): resized (bilinear, antialiased) unless S == size.

    Example: 14 crops of 224 px -> (14, 3, 64, 64); crops of 64 px are returned unchanged.
    """
    if crops.shape[-2:] == (size, size):
        return crops
    return F.interpolate(crops, size=(size, size), mode="bilinear", align_corners=False, antialias=True)


class MicroExpressionCNN(nn.Module):
    """The seed's micro-expression feature extractor, one 64 x 64 face crop -> one vector.

    Three blocks of [3x3 conv (same padding), BatchNorm, ReLU, 2x2 max-pool] with ``channels``
    (32, 64, 128) take (N, 3, 64, 64) to (N, 128, 8, 8); flatten, dense ``hidden`` (256) + ReLU,
    dense ``dim`` (128) + ReLU. Shapes: (N, 3, size, size) -> (N, dim), size a multiple of 8.
    """

    def __init__(self, channels: Sequence[int] = (32, 64, 128), hidden: int = 256, dim: int = 128,
                 size: int = MICRO_CROP) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_channels = 3
        for out_channels in channels:
            layers += [nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.BatchNorm2d(out_channels), nn.ReLU(),
                       nn.MaxPool2d(2)]
            in_channels = out_channels
        side = size // 2 ** len(channels)
        self.features = nn.Sequential(*layers)
        self.dense = nn.Sequential(nn.Flatten(), nn.Linear(in_channels * side * side, hidden), nn.ReLU(),
                                   nn.Linear(hidden, dim), nn.ReLU())
        self.dim = dim

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        return self.dense(self.features(crops))


# ------------------------------------------------------------------------------------------------
# Task 5.12: the micro-expression stream
# ------------------------------------------------------------------------------------------------

class MicroExpressionStream(nn.Module):
    """Micro-expressions as feature *changes* between frames, pooled over time by attention.

    For each real frame t of a clip: f_t = ``self.cnn`` of its crop resized to 64 x 64
    (:func:`micro_crops`); its change d_t = f_t - f_{t-1} (d_0 = 0: the first frame has no
    predecessor); the step's vector x_t = [f_t, d_t] (2 * dim). :attr:`pool` (task 5.6's
    :class:`TemporalAttentionPooling`) pools the x_t of the real frames into one vector; padded
    frames never reach the CNN and get exactly zero attention weight.

    Shapes: forward(frames (B, T, 3, S, S), lengths (B,)) -> (pooled (B, 2 * dim), weights (B, T)).
    ``out_dim`` is 2 * dim.

    Example: a CNN giving each frame its mean pixel value (dim 1) on a clip whose frames are
    constant 1, 3, 6 (and one padded frame) gives x = [1, 0], [3, 2], [6, 3]; with equal attention
    scores the pooled vector is their mean [10/3, 5/3] and the weights are (1/3, 1/3, 1/3, 0).
    """

    def __init__(self, channels: Sequence[int] = (32, 64, 128), hidden: int = 256, dim: int = 128,
                 attention_hidden: int = 64, size: int = MICRO_CROP) -> None:
        super().__init__()
        self.size = size
        self.cnn = MicroExpressionCNN(channels, hidden, dim, size)
        self.dim = dim
        self.pool = TemporalAttentionPooling(2 * dim, attention_hidden)

    @property
    def out_dim(self) -> int:
        return 2 * self.dim

    def forward(self, frames: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, steps = frames.shape[:2]
        # BEGIN SOLUTION 5.12: mark the real frames with lengths_mask (lengths on the frames' device); run self.cnn on the real frames only (frames[real], resized with micro_crops to self.size) and scatter its output into a zero (B, T, dim) float tensor; the change at step t is features[t] - features[t - 1] (zero at step 0); concatenate features and changes on the last axis and pool them with self.pool, masking the padded frames
        real = lengths_mask(lengths.to(frames.device), steps)
        features = frames.new_zeros(batch, steps, self.dim, dtype=torch.float32)
        features[real] = self.cnn(micro_crops(frames[real], self.size)).float()
        changes = torch.zeros_like(features)
        changes[:, 1:] = features[:, 1:] - features[:, :-1]
        return self.pool(torch.cat([features, changes], dim=2), real)
        # END SOLUTION


# ------------------------------------------------------------------------------------------------
# Task 5.13: attention fusion
# ------------------------------------------------------------------------------------------------

class AttentionFusion(nn.Module):
    """Fuse M feature vectors (modalities) by a softmax over learned modality scores.

    Each modality m has its own projection to a common ``width``: z_m = ``self.project[m]`` (x_m);
    its score is s_m = w^T tanh(z_m) (``self.score`` is w, no bias: a bias shared by every modality
    cancels in the softmax); the weights a = softmax over the M modalities of s; the fused vector is
    sum_m a_m z_m. The weights are returned so that a report can show which stream a verdict relied
    on.

    Shapes: forward(list of M tensors (B, dims[m])) -> (fused (B, width), weights (B, M)), every
    row of weights sums to 1.

    Example: width 2, projections giving z_1 = (1, 0), z_2 = (0, 0), z_3 = (0, 1), and w = (ln 3 /
    tanh 1, 0): scores (ln 3, 0, 0), weights (3/5, 1/5, 1/5), fused (3/5, 1/5).
    """

    def __init__(self, dims: Sequence[int], width: int = 128) -> None:
        super().__init__()
        self.dims = tuple(int(dim) for dim in dims)
        self.project = nn.ModuleList(nn.Linear(dim, width) for dim in self.dims)
        self.score = nn.Linear(width, 1, bias=False)

    def forward(self, features: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        if len(features) != len(self.dims):
            raise ValueError(f"expected {len(self.dims)} feature tensors, got {len(features)}")
        # BEGIN SOLUTION 5.13: project each modality with its own layer of self.project and stack them on a new axis 1 -> (B, M, width); the scores (B, M) are self.score of tanh of that stack, last axis squeezed; softmax over the modalities (dim 1); the fused vector is the weights (unsqueezed) times the projections summed over the modalities; return it and the weights
        projected = torch.stack([project(x) for project, x in zip(self.project, features)], dim=1)
        weights = torch.softmax(self.score(torch.tanh(projected)).squeeze(-1), dim=1)
        return (weights.unsqueeze(-1) * projected).sum(dim=1), weights
        # END SOLUTION


# ------------------------------------------------------------------------------------------------
# Provided: the frozen spatial CNN
# ------------------------------------------------------------------------------------------------

SPATIAL_BACKBONES = ("resnet50", "vgg16", "resnet18")
"""Backbones of the spatial stream: task 1.6's ResNet-50 and VGG16 (the seed's two), and
ResNet-18 (512 features, about 8 times cheaper than ResNet-50: for CPU runs and tests)."""


def frozen_backbone(name: str, pretrained: bool = False) -> tuple[nn.Module, int]:
    """A headless, frozen ImageNet CNN and its feature length: ``(module, D)``.

    resnet50 / vgg16: task 1.6's ``build_imagenet_model``, ``strip_classifier`` and ``freeze``
    (2048 / 4096 features). resnet18: torchvision's ``resnet18`` (``ResNet18_Weights.IMAGENET1K_V1``
    when ``pretrained``), its ``fc`` replaced by the identity (512 features), no parameter requiring
    a gradient, in eval mode. The module maps (N, 3, S, S) normalised crops to (N, D).
    """
    if name not in SPATIAL_BACKBONES:
        raise CourseError(f"unknown spatial backbone {name!r}; choose one of {', '.join(SPATIAL_BACKBONES)}")
    if name == "resnet18":
        models = torchvision.models
        try:
            model = models.resnet18(weights=models.ResNet18_Weights.IMAGENET1K_V1 if pretrained else None)
        except Exception as error:  # only a download can fail here: many exception types
            if pretrained:
                raise CourseError(f"could not download the ImageNet weights of resnet18 ({type(error).__name__}); "
                                  f"pretrained=False works offline") from error
            raise
        model.fc = nn.Identity()
        for parameter in model.parameters():
            parameter.requires_grad_(False)
        return model.eval(), 512
    from phase1_cnn_detection.template_feature_extraction import (backbone_spec, build_imagenet_model, freeze,
                                                                  strip_classifier)

    model = freeze(strip_classifier(build_imagenet_model(name, pretrained=pretrained), name))
    return model, backbone_spec(name).feature_dim


# ------------------------------------------------------------------------------------------------
# Task 5.14: the integrated detector
# ------------------------------------------------------------------------------------------------

STREAMS = ("spatial", "temporal", "micro")
"""The fused streams, in the order of the fusion weights."""


class IntegratedDetector(nn.Module):
    """Seed 003's integrated network: frozen spatial CNN, BiLSTM, micro-expression stream, fusion, MLP.

    forward(frames (B, T, 3, S, S), lengths (B,)) -> (B,) logits (P(FAKE) = sigmoid);
    :meth:`forward_with_weights` also returns the (B, 3) fusion weights of :data:`STREAMS`.

    * :meth:`encode` (provided): the frozen backbone (:func:`frozen_backbone`) on every real frame,
      (B, T, D) features, zero at padded steps, no gradient;
    * :attr:`temporal`: phase 2's :class:`RecurrentHead` (task 2.8), an LSTM of ``layers`` layers,
      bidirectional; its ``standardise_steps`` standardises the features over real steps and its
      ``summarise`` packs the padded batch and returns the (B, 2 * hidden) final states (its own
      output layer is unused: the fusion reads the summary);
    * spatial summary: the mean of the standardised features over each clip's real frames (B, D);
    * :attr:`micro`: :class:`MicroExpressionStream` (task 5.12) on the same crops, (B, 2 * micro_dim);
    * :attr:`fusion`: :class:`AttentionFusion` (task 5.13) of the three, (B, width);
    * :attr:`head`: Linear(width, head_hidden), ReLU, Dropout, Linear(head_hidden, 1).

    Only the backbone is frozen (``requires_grad`` False, always in eval mode, see :meth:`train`);
    everything else trains end to end on the detector's loss (registry row ``trains="all"``).

    With ``pretrained=True`` the backbone carries its ImageNet weights (the seed's recipe);
    offline (``pretrained=False``) its weights are random but fixed and stored in the checkpoint.
    """

    def __init__(self, backbone: str = "resnet50", pretrained: bool = False, hidden: int = 128, layers: int = 2,
                 micro_channels: Sequence[int] = (32, 64, 128), micro_dim: int = 128, width: int = 128,
                 head_hidden: int = 64, dropout: float = 0.3, micro_size: int = MICRO_CROP) -> None:
        super().__init__()
        self.backbone_name = backbone
        self.encoder, self.feature_dim = frozen_backbone(backbone, pretrained)
        self.temporal = RecurrentHead(self.feature_dim, "lstm", hidden, layers, bidirectional=True, dropout=dropout)
        self.temporal.output = nn.Identity()  # unused: the fusion reads the summary
        self.micro = MicroExpressionStream(micro_channels, dim=micro_dim, size=micro_size)
        self.fusion = AttentionFusion((self.feature_dim, 2 * hidden, self.micro.out_dim), width)
        self.head = nn.Sequential(nn.Linear(width, head_hidden), nn.ReLU(), nn.Dropout(dropout),
                                  nn.Linear(head_hidden, 1))

    def train(self, mode: bool = True) -> "IntegratedDetector":
        """Training mode for everything but the frozen backbone, whose batch norms keep their statistics."""
        super().train(mode)
        self.encoder.eval()
        return self

    def encode(self, frames: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, T, 3, S, S) normalised crops -> (B, T, D) backbone features; padded steps stay zero."""
        return encode_real_steps(self.encoder, frames, lengths, self.feature_dim)

    def forward_with_weights(self, frames: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, 3, S, S), (B,) -> (logits (B,), fusion weights (B, 3) over :data:`STREAMS`)."""
        # BEGIN SOLUTION 5.14: encode the frames (self.encode) and standardise them with self.temporal.standardise_steps; the spatial vector is their sum over time divided by each clip's length (padding is zero); the temporal vector is self.temporal.summarise of the standardised features; the micro vector is the first output of self.micro on the frames; fuse the three in STREAMS order with self.fusion; the logit is self.head of the fused vector with its axis 1 squeezed; return it and the fusion weights
        standardised = self.temporal.standardise_steps(self.encode(frames, lengths), lengths)
        spatial = standardised.sum(dim=1) / lengths.to(standardised.device).unsqueeze(1).float()
        temporal = self.temporal.summarise(standardised, lengths)
        micro, _ = self.micro(frames, lengths)
        fused, weights = self.fusion([spatial, temporal, micro])
        return self.head(fused).squeeze(1), weights
        # END SOLUTION

    def forward(self, frames: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.forward_with_weights(frames, lengths)[0]
