# Exercise file generated from the reference solution: fill in every TODO (see IMPLEMENTATION_GUIDE.md).
"""Recurrent detectors: a CNN describes each frame, an LSTM or GRU reads the sequence.

Idea. Guera and Delp (2018) ran a frozen ImageNet CNN over every frame of a video and fed the
sequence of feature vectors to an LSTM: the CNN sees what one frame looks like, the LSTM how the
frames follow each other. The outline's detector is that: per-frame features from phase 1's frozen
backbones (task 1.6), a two-layer LSTM, one logit. Sabir et al. (2019) used a bidirectional
recurrent network (seed 003's BiLSTM); seed 001 a GRU with a mask for short videos.

Videos differ in length, and a face is not found in every frame, so a batch of sequences is padded
to the longest one. Padding is not data: a model that reads it decides differently for the same
video depending on what it was batched with. Two things keep padding out:

* the model must read its answer at each sequence's *last real step* (task 2.7), not at the last
  padded position;
* ``pack_padded_sequence`` tells PyTorch's recurrent layers where each sequence ends, so they never
  run over padding at all; a bidirectional layer's backward direction then starts at the last real
  step, not in the padding (task 2.8).

Shapes: features (B, T, D) float32, padded with anything after each length; lengths (B,) int64,
1 <= lengths[b] <= T. A recurrent layer with ``batch_first=True`` returns outputs (B, T, H * dirs)
and the final hidden states (layers * dirs, B, H).

Papers: D. Guera, E. Delp, "Deepfake Video Detection Using Recurrent Neural Networks", AVSS 2018;
E. Sabir et al., "Recurrent Convolutional Strategies for Face Manipulation Detection in Videos",
CVPR workshops 2019; S. Hochreiter, J. Schmidhuber, "Long Short-Term Memory", 1997; K. Cho et al.,
"Learning Phrase Representations using RNN Encoder-Decoder" (GRU), 2014.

Guide: IMPLEMENTATION_GUIDE.md, phase 2 (2.7, 2.8).
"""
from __future__ import annotations

from grader.todo import TodoError

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

RECURRENT_LAYERS = {"lstm": nn.LSTM, "gru": nn.GRU}


def lengths_mask(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """(B,) lengths -> (B, steps) bool mask, True on real steps.

    Example: lengths [2, 3] with 4 steps -> [[T, T, F, F], [T, T, T, F]].
    """
    return torch.arange(steps, device=lengths.device)[None, :] < lengths[:, None]


def last_real_step(outputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """The output at each sequence's last real step.

    outputs: (B, T, H) float, one vector per step (padded after ``lengths``). lengths: (B,) int64,
    each in [1, T]. Returns (B, H): row b is ``outputs[b, lengths[b] - 1]``.

    Example: outputs [[[1], [2], [0]], [[4], [5], [6]]] with lengths [2, 3] -> [[2], [6]]
    (the first sequence's third step is padding).
    """
    if outputs.dim() != 3 or lengths.shape != outputs.shape[:1]:
        raise ValueError(f"expected outputs (B, T, H) and lengths (B,), got {tuple(outputs.shape)} and {tuple(lengths.shape)}")
    # TODO 2.7: build index lengths - 1 of shape (B, 1, H) (view then expand on the device of
    #   outputs) and torch.gather along the time axis, then drop that axis
    raise TodoError('2.7: build index lengths - 1 of shape (B, 1, H) (view then expand on the device of outputs) and torch.gather along the time axis, then drop that axis (IMPLEMENTATION_GUIDE.md, 2.7 The last real step)')


class RecurrentHead(nn.Module):
    """An LSTM or GRU over per-frame features, then a linear layer: (B, T, D), (B,) -> (B,) logits.

    Args:
        feature_dim: D, length of each frame's feature vector.
        cell: ``"lstm"`` or ``"gru"``.
        hidden: H, units per direction.
        layers: stacked recurrent layers (the outline's detector has 2).
        bidirectional: also read the sequence backwards (seed 003's BiLSTM).
        dropout: between recurrent layers and before the output layer.

    Before the recurrent layers each feature is standardised over the real steps of the training
    clips (a ``BatchNorm1d`` without scale and shift; in eval mode its stored statistics): CNN
    features are large and far from zero (ResNet-50's average about 7), which would saturate the
    LSTM's gates and hide the small frame-to-frame changes that carry the temporal cue.

    The sequence summary is the final hidden state of the last layer: with a packed batch it is the
    state at each sequence's last *real* step; a bidirectional layer adds its backward direction's
    final state, which has read the real steps from the last back to the first. The summary
    (H, or 2H when bidirectional) goes through dropout and one linear layer to the logit.
    """

    def __init__(self, feature_dim: int, cell: str = "lstm", hidden: int = 128, layers: int = 2,
                 bidirectional: bool = False, dropout: float = 0.3) -> None:
        super().__init__()
        if cell not in RECURRENT_LAYERS:
            raise ValueError(f"unknown cell {cell!r}; choose one of {', '.join(RECURRENT_LAYERS)}")
        self.bidirectional = bidirectional
        self.standardise = nn.BatchNorm1d(feature_dim, affine=False)
        self.rnn = RECURRENT_LAYERS[cell](feature_dim, hidden, num_layers=layers, batch_first=True,
                                          bidirectional=bidirectional, dropout=dropout if layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(hidden * (2 if bidirectional else 1), 1)

    def summarise(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, T, D) padded features and (B,) lengths -> (B, H or 2H) sequence summaries."""
        # TODO 2.8: pack with pack_padded_sequence(features, lengths on the CPU,
        #   batch_first=True, enforce_sorted=False), run self.rnn, take the final hidden state (an
        #   LSTM returns (h, c): keep h); the last layer's forward state is h[-1], with
        #   bidirectional=True concatenate h[-2] (forward) and h[-1] (backward)
        raise TodoError("2.8: pack with pack_padded_sequence(features, lengths on the CPU, batch_first=True, enforce_sorted=False), run self.rnn, take the final hidden state (an LSTM returns (h, c): keep h); the last layer's forward state is h[-1], with bidirectional=True concatenate h[-2] (forward) and h[-1] (backward) (IMPLEMENTATION_GUIDE.md, 2.8 Packed recurrent head)")

    def standardise_steps(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Standardise the real steps of (B, T, D) features (padding stays zero, and never enters the statistics)."""
        real = lengths_mask(lengths.to(features.device), features.shape[1])
        standardised = torch.zeros_like(features)
        standardised[real] = self.standardise(features[real])
        return standardised

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.output(self.dropout(self.summarise(self.standardise_steps(features, lengths), lengths))).squeeze(1)


# ------------------------------------------------------------------------------------------------
# Provided: the frozen phase-1 backbone in front of the recurrent head
# ------------------------------------------------------------------------------------------------

def encode_real_steps(encoder: nn.Module, frames: torch.Tensor, lengths: torch.Tensor, feature_dim: int) -> torch.Tensor:
    """A frozen encoder over the real frames of padded clips, without gradients.

    ``frames`` (B, T, 3, S, S) normalised crops, ``lengths`` (B,) real frames per clip ->
    (B, T, ``feature_dim``) float32 features; padded steps are never encoded and stay zero. Example:
    two clips of lengths [3, 1] padded to T = 3 run the encoder on 4 crops, not 6.
    """
    batch, steps = frames.shape[:2]
    real = lengths_mask(lengths.to(frames.device), steps)
    features = torch.zeros(batch, steps, feature_dim, device=frames.device)
    with torch.no_grad():
        features[real] = encoder(frames[real]).float()
    return features


class SequenceDetector(nn.Module):
    """Frozen phase-1 backbone + :class:`RecurrentHead`: face crops of a clip -> one logit.

    forward(frames (B, T, 3, S, S) normalised crops, lengths (B,)) -> (B,) logits. The backbone is
    task 1.6's headless ImageNet network (``resnet50``, ``inception_v3``, ``vgg16`` or
    ``xception``), frozen and kept in eval mode; :meth:`encode` runs it on every real frame and
    :attr:`head` reads the (B, T, D) features. The shared training engine calls :meth:`encode`
    once per clip and fits only the head on the stored features (see the guide, "2.8"), exactly
    as task 1.6 caches features; detection runs the whole network on each clip.

    With ``pretrained=True`` the backbone carries its ImageNet weights (downloaded once by
    torchvision/timm): Guera and Delp's recipe. Offline (``pretrained=False``) its weights are
    random but fixed, stored in the checkpoint: random convolutional features still follow
    brightness and position, which is what a flickering face changes.
    """

    def __init__(self, backbone: str = "resnet50", pretrained: bool = False, cell: str = "lstm", hidden: int = 128,
                 layers: int = 2, bidirectional: bool = False, dropout: float = 0.3) -> None:
        super().__init__()
        from phase1_cnn_detection.template_feature_extraction import (backbone_spec, build_imagenet_model, freeze,
                                                                      strip_classifier)

        self.backbone_name = backbone
        self.encoder = freeze(strip_classifier(build_imagenet_model(backbone, pretrained=pretrained), backbone))
        self.head = RecurrentHead(backbone_spec(backbone).feature_dim, cell, hidden, layers, bidirectional, dropout)

    def train(self, mode: bool = True) -> "SequenceDetector":
        """Training mode for the head only: the frozen backbone's batch norms keep their statistics."""
        super().train(mode)
        self.encoder.eval()
        return self

    def encode(self, frames: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, T, 3, S, S) normalised crops -> (B, T, D) features; padded steps stay zero."""
        return encode_real_steps(self.encoder, frames, lengths, self.head.rnn.input_size)

    def forward(self, frames: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.head(self.encode(frames, lengths), lengths)


def build_sequence_detector(backbone: str = "resnet50", pretrained: bool = False, cell: str = "lstm",
                            hidden: int = 128, layers: int = 2, bidirectional: bool = False,
                            dropout: float = 0.3) -> SequenceDetector:
    """The registry's builder for ``lstm``, ``gru`` and ``bilstm`` (their rows set ``cell`` and ``bidirectional``)."""
    return SequenceDetector(backbone, pretrained, cell, hidden, layers, bidirectional, dropout)
