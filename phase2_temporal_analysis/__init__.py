"""Phase 2 - temporal analysis: fakes made frame by frame flicker and jitter over time.

Papers: Guera & Delp 2018 (CNN + LSTM), Sabir et al. 2019 (recurrent convolutional), Zheng et al.
2021 (temporal coherence).
"""
from common.registry import Model
from grader.tasks import Task

TASKS = [
    Task("2.1", "Frame-difference energy", points=2, file="template_temporal_features.py",
         guide="2.1 Frame-difference energy"),
]

# One row per detector (read without importing, like TASKS); see common/registry.py.
MODELS = [
    Model("frame_difference", kind="clip", file="template_temporal_features.py", builder="FrameDifferenceClassifier",
          input_size=64, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), frames=16, features="clip_features",
          description="logistic regression on a tracked face's frame-difference energy over a 16-frame clip (task 2.1)"),
]
