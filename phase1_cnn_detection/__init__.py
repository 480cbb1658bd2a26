"""Phase 1 - CNN detection: find the face, then let a convolutional network look for artefacts.

Papers: FaceForensics++ (Rossler et al. 2019), Xception (Chollet 2017), EfficientNet (Tan & Le 2019),
MesoNet (Afchar et al. 2018).
"""
from grader.tasks import Task

TASKS = [
    Task("1.1", "Square face crop with margin", points=2, file="template_face_extraction.py",
         guide="1.1 Square face crop"),
    Task("1.2", "Five-point similarity alignment", points=3, file="template_face_extraction.py",
         guide="1.2 Face alignment"),
    Task("1.3", "Depthwise separable convolution", points=2, file="template_xceptionnet.py",
         guide="1.3 Depthwise separable convolution"),
    Task("1.4", "Xception blocks and flows", points=4, file="template_xceptionnet.py",
         guide="1.4 XceptionNet"),
    Task("1.5", "EfficientNet-B4 detector", points=2, file="template_efficientnet.py",
         guide="1.5 EfficientNet-B4"),
    Task("1.6", "Frozen-backbone feature extraction", points=3, file="template_feature_extraction.py",
         guide="1.6 Feature extraction"),
    Task("1.7", "MesoNet-4 and a baseline CNN", points=2, file="template_classifier.py",
         guide="1.7 Classic baselines"),
    Task("1.8", "Transfer learning with partial unfreezing", points=3, file="template_transfer_learning.py",
         guide="1.8 Transfer learning"),
    Task("1.9", "Forensic data augmentation", points=2, file="template_augmentation.py",
         guide="1.9 Augmentation"),
]
