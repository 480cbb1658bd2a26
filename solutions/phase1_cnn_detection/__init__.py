"""Phase 1 - CNN detection: find the face, then let a convolutional network look for artefacts.

Papers: FaceForensics++ (Rossler et al. 2019), Xception (Chollet 2017), EfficientNet (Tan & Le 2019).
"""
from common.tasks import Task

TASKS = [
]
