"""Phase 5 - advanced methods: capsules, attention, adversarial robustness, explanations.

Papers: Nguyen et al. 2019 (Capsule-Forensics), Sabour et al. 2017 (dynamic routing), Vaswani et al.
2017 (attention), Zhao et al. 2021 (multi-attentional detection), Goodfellow et al. 2015 (FGSM),
Madry et al. 2018 (PGD adversarial training), Hussain et al. 2021 (adversarial deepfakes),
Selvaraju et al. 2017 (Grad-CAM), Ribeiro et al. 2016 (LIME); seed 003's integrated spatial /
temporal / micro-expression network (Sabir et al. 2019 BiLSTM, attention fusion); late fusion of
every phase's detector as a mixture of likelihood ratios (Neyman and Pearson 1933, Kittler et al. 1998),
with each detector's person offset read from reference footage (Henderson 1975, Cozzolino et al. 2021).
"""
from common.registry import Model
from grader.tasks import Task

TASKS = [
    Task("5.1", "Scaled dot-product attention", points=2, file="template_attention_mechanism.py",
         guide="5.1 Scaled dot-product attention"),
    Task("5.2", "Squash", points=1, file="template_capsule_network.py", guide="5.2 Squash"),
    Task("5.3", "Dynamic routing by agreement", points=3, file="template_capsule_network.py",
         guide="5.3 Dynamic routing"),
    Task("5.4", "Capsule-Forensics network", points=3, file="template_capsule_network.py",
         guide="5.4 Capsule-Forensics"),
    Task("5.5", "Spatial attention pooling", points=2, file="template_attention_mechanism.py",
         guide="5.5 Spatial attention"),
    Task("5.6", "Temporal attention pooling", points=2, file="template_attention_mechanism.py",
         guide="5.6 Temporal attention pooling"),
    Task("5.7", "Multi-head self-attention", points=3, file="template_attention_mechanism.py",
         guide="5.7 Multi-head self-attention"),
    Task("5.8", "FGSM and PGD attacks", points=3, file="template_adversarial_training.py",
         guide="5.8 FGSM and PGD"),
    Task("5.9", "Adversarial training and robustness curve", points=2, file="template_adversarial_training.py",
         guide="5.9 Adversarial training and robustness"),
    Task("5.10", "Grad-CAM", points=2, file="template_explainability.py", guide="5.10 Grad-CAM"),
    Task("5.11", "LIME for one face", points=2, file="template_explainability.py", guide="5.11 LIME"),
    Task("5.12", "Micro-expression stream", points=3, file="template_multi_modal.py",
         guide="5.12 Micro-expression stream"),
    Task("5.13", "Attention fusion", points=2, file="template_multi_modal.py", guide="5.13 Attention fusion"),
    Task("5.14", "Integrated detector", points=3, file="template_multi_modal.py",
         guide="5.14 Integrated detector"),
    Task("5.15", "A detector's likelihood ratio", points=2, file="template_late_fusion.py",
         guide="5.15 A detector's likelihood ratio"),
    Task("5.16", "A mixture of likelihood ratios", points=2, file="template_late_fusion.py",
         guide="5.16 A mixture of likelihood ratios"),
    Task("5.17", "A person's offset from reference footage", points=2, file="template_late_fusion.py",
         guide="5.17 A person's offset from reference footage"),
]

# One row per detector (read without importing, like TASKS); see common/registry.py.
MODELS = [
    Model("capsule_forensics", kind="frame", file="template_capsule_network.py", builder="CapsuleForensics",
          input_size=256, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), config={"pretrained": False},
          description="Capsule-Forensics v2: VGG19 features[:19], 10 primary capsules, dynamic routing to "
                      "real/fake capsules; logit log|v_fake| - log|v_real| (Nguyen et al. 2019; tasks 5.2-5.4)"),
    Model("attention_cnn", kind="frame", file="template_attention_mechanism.py", builder="AttentionCNN",
          input_size=128, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5),
          description="small CNN with spatial attention pooling (1x1 conv + sigmoid map; task 5.5)"),
    Model("integrated", kind="clip", file="template_multi_modal.py", builder="IntegratedDetector",
          input_size=64, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), frames=16,
          clip_layout="sequence", trains="all",
          config={"backbone": "resnet50", "pretrained": False, "hidden": 128, "layers": 2, "micro_dim": 128,
                  "width": 128},
          description="seed 003's integrated network: frozen ResNet-50 per frame + BiLSTM, micro-expression CNN "
                      "on 64-px crops with temporal attention, attention fusion, MLP (tasks 5.12-5.14)"),
    Model("integrated_r18", kind="clip", file="template_multi_modal.py", builder="IntegratedDetector",
          input_size=64, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), frames=16,
          clip_layout="sequence", trains="all",
          config={"backbone": "resnet18", "pretrained": False, "hidden": 64, "layers": 2,
                  "micro_channels": (16, 32, 64), "micro_dim": 64, "width": 64},
          description="the integrated network sized for a CPU: frozen ResNet-18, half-width micro-expression CNN "
                      "(tasks 5.12-5.14)"),
]
