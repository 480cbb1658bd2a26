"""Task 5.14: the integrated forward pass (frozen spatial CNN -> BiLSTM; micro stream; fusion; MLP).
Oracles: each stream recomputed on the unpadded clip (torch's nn.LSTM without packing, the batch
norm's formula by hand, a plain mean over the real frames), garbage padding, which parameters an
optimiser step may move, and a toy temporal cue learnt in a few steps."""
import pytest
import torch
from torch import nn

from phase5_advanced_methods import template_multi_modal as mm
from tests.tolerances import INTEGRATED_TOY_MIN_ACCURACY, INTEGRATED_VS_ORACLE

pytestmark = pytest.mark.task("5.14")

SMALL = dict(backbone="resnet18", pretrained=False, hidden=6, layers=2, micro_channels=(4, 8, 8), micro_dim=5,
             width=8, head_hidden=7, dropout=0.0, micro_size=32)


def _model(seed=0):
    torch.manual_seed(seed)
    model = mm.IntegratedDetector(**SMALL).eval()
    with torch.no_grad():  # non-trivial stored statistics of the feature standardisation
        model.temporal.standardise.running_mean.uniform_(-1.0, 1.0)
        model.temporal.standardise.running_var.uniform_(0.5, 3.0)
    return model


def _expected_on_unpadded_clip(model, clip):
    """The logit and fusion weights of one unpadded clip (L, 3, S, S), stream by stream."""
    norm = model.temporal.standardise
    with torch.no_grad():
        features = model.encoder(clip)
        standardised = (features - norm.running_mean) / torch.sqrt(norm.running_var + norm.eps)
        spatial = standardised.mean(dim=0, keepdim=True)
        _, (h, _) = model.temporal.rnn(standardised.unsqueeze(0))  # the plain LSTM: no padding, no packing
        temporal = torch.cat([h[-2], h[-1]], dim=1)
        micro, _ = model.micro(clip.unsqueeze(0), torch.tensor([len(clip)]))
        fused, weights = model.fusion([spatial, temporal, micro])
        return model.head(fused).squeeze(-1), weights


def test_logit_matches_the_streams_run_on_each_unpadded_clip():
    model = _model()
    generator = torch.Generator().manual_seed(1)
    frames = torch.randn(3, 5, 3, 32, 32, generator=generator)
    lengths = torch.tensor([5, 3, 1])
    with torch.no_grad():
        logits, weights = model.forward_with_weights(frames, lengths)
        plain = model(frames, lengths)
    assert logits.shape == (3,) and weights.shape == (3, 3), "one logit and one weight per stream for each clip"
    torch.testing.assert_close(plain, logits)
    for b, length in enumerate(lengths.tolist()):
        expected_logit, expected_weights = _expected_on_unpadded_clip(model, frames[b, :length])
        torch.testing.assert_close(weights[b:b + 1], expected_weights, **INTEGRATED_VS_ORACLE,
                                   msg=f"clip {b}: fuse [spatial mean, BiLSTM summary, micro] in that order")
        torch.testing.assert_close(logits[b:b + 1], expected_logit, **INTEGRATED_VS_ORACLE,
                                   msg=f"clip {b} (length {length}): the logit differs from the streams run on the clip alone")


def test_garbage_padding_gives_the_same_logit():
    model = _model(1)
    generator = torch.Generator().manual_seed(2)
    clip = torch.randn(1, 4, 3, 32, 32, generator=generator)
    padded = torch.cat([clip, 30 * torch.randn(1, 4, 3, 32, 32, generator=generator)], dim=1)
    with torch.no_grad():
        alone, alone_weights = model.forward_with_weights(clip, torch.tensor([4]))
        logit, weights = model.forward_with_weights(padded, torch.tensor([4]))
    torch.testing.assert_close(logit, alone, **INTEGRATED_VS_ORACLE,
                               msg="padding must not change the verdict: read only the real frames in every stream")
    torch.testing.assert_close(weights, alone_weights, **INTEGRATED_VS_ORACLE)


def test_one_step_moves_every_trainable_stream_and_never_the_frozen_backbone():
    model = _model(2).train()
    assert not model.encoder.training and all(not m.training for m in model.encoder.modules()), \
        "train() must keep the frozen backbone in eval mode (its batch norms keep their statistics)"
    assert model.micro.training and model.fusion.training and model.head.training
    frozen = {name: value.clone() for name, value in model.encoder.state_dict().items()}
    trainable = {name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad}
    assert not any(name.startswith("encoder.") for name in trainable)
    generator = torch.Generator().manual_seed(3)
    frames, lengths = torch.randn(4, 5, 3, 32, 32, generator=generator), torch.tensor([5, 4, 2, 5])
    optimiser = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    loss = nn.functional.binary_cross_entropy_with_logits(model(frames, lengths), torch.tensor([0.0, 1.0, 0.0, 1.0]))
    loss.backward()
    assert all(p.grad is None for p in model.encoder.parameters()), "the backbone must get no gradient"
    optimiser.step()
    for name, value in model.encoder.state_dict().items():
        assert torch.equal(value, frozen[name]), f"frozen backbone changed: encoder.{name}"
    for prefix in ("temporal.rnn.", "micro.cnn.", "micro.pool.", "fusion.project.0.", "fusion.project.1.",
                   "fusion.project.2.", "fusion.score.", "head."):
        moved = [name for name, p in model.named_parameters()
                 if name.startswith(prefix) and not torch.equal(p.detach(), trainable[name])]
        assert moved, f"no parameter of {prefix[:-1]} moved: it does not reach the logit"


def _toy_batch(generator, n=16, steps=6, size=32):
    """Still faces (label 0) against the same faces flickering in brightness (label 1)."""
    base = torch.randn(n, 1, 3, size, size, generator=generator).expand(n, steps, 3, size, size)
    gain = 1 + 0.5 * torch.randn(n, steps, 1, 1, 1, generator=generator)
    labels = torch.arange(n) % 2
    frames = torch.where(labels.view(n, 1, 1, 1, 1).bool(), base * gain, base)
    lengths = torch.randint(3, steps + 1, (n,), generator=generator)
    return frames.contiguous(), lengths, labels.float()


@pytest.mark.slow
def test_learns_flicker_against_still_clips():
    torch.manual_seed(0)
    model = mm.IntegratedDetector(**SMALL).train()
    optimiser = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    generator = torch.Generator().manual_seed(4)
    for _ in range(40):
        frames, lengths, labels = _toy_batch(generator)
        loss = nn.functional.binary_cross_entropy_with_logits(model(frames, lengths), labels)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
    frames, lengths, labels = _toy_batch(generator, n=64)
    with torch.no_grad():
        accuracy = ((model(frames, lengths) > 0).float() == labels).float().mean().item()
    assert accuracy >= INTEGRATED_TOY_MIN_ACCURACY, f"accuracy {accuracy:.2f} on flickering against still clips"
