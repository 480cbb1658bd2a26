"""Phase 1 - CNN detection: find the face, then let a convolutional network look for artefacts.

Papers: FaceForensics++ (Rossler et al. 2019), Xception (Chollet 2017), EfficientNet (Tan & Le 2019),
MesoNet (Afchar et al. 2018),
Self-Blended Images (Shiohara & Yamasaki 2022), patch classifiers (Chai et al. 2020).
"""
from common.registry import Model
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
    Task("1.10", "SBI blending mask from face landmarks", points=2, file="template_self_blended_images.py",
         guide="1.10 SBI blending mask"),
    Task("1.11", "Self-blended images: source, target and blend", points=3, file="template_self_blended_images.py",
         guide="1.11 Self-blending"),
    Task("1.12", "Patch classifier and its receptive field", points=2, file="template_patch_classifier.py",
         guide="1.12 Patch classifier"),
]

# One row per detector (read without importing, like TASKS): its kind, exercise file and builder,
# input size and normalisation, and builder arguments. See common/registry.py.
MODELS = [
    Model("xceptionnet", kind="frame", file="template_xceptionnet.py", builder="build_xception",
          input_size=299, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5),
          config={"pretrained": False, "num_classes": 1},
          description="Xception, the FaceForensics++ baseline (Chollet 2017; Rossler et al. 2019)"),
    Model("efficientnet", kind="frame", file="template_efficientnet.py", builder="build_efficientnet",
          input_size=380, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225),
          config={"pretrained": False, "num_classes": 1},
          description="EfficientNet-B4, the DFDC winner's backbone (Tan & Le 2019)"),
    Model("mesonet", kind="frame", file="template_classifier.py", builder="MesoNet4",
          input_size=256, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), config={"input_size": 256}, sized=True,
          description="MesoNet-4, 27,977 parameters (Afchar et al. 2018)"),
    Model("baseline", kind="frame", file="template_classifier.py", builder="BaselineCNN",
          input_size=128, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), config={"input_size": 128}, sized=True,
          description="3 conv/pool layers + dense head (the tutorial baseline)"),
    Model("patch_cnn", kind="frame", file="template_patch_classifier.py", builder="PatchClassifier",
          input_size=128, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5),
          description="the baseline's blocks, its head on each 22-px patch, patch logits averaged (Chai et al. 2020)"),
    Model("transfer", kind="frame", file="template_transfer_learning.py", builder="TransferDetector",
          input_size=224, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225),
          config={"backbone": "resnet18", "pretrained": False, "unfrozen_blocks": 2},
          description="torchvision backbone + new head, last blocks unfrozen"),
]
