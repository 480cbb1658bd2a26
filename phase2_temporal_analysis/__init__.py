"""Phase 2 - temporal analysis: fakes made frame by frame flicker and jitter over time.

Papers: Guera & Delp 2018 (CNN + LSTM), Sabir et al. 2019 (recurrent convolutional), Zheng et al.
2021 (temporal coherence).
"""
from grader.tasks import Task

TASKS = [
    Task("2.1", "Frame-difference energy", points=2, file="template_temporal_features.py",
         guide="2.1 Frame-difference energy"),
]
