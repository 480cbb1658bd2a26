"""Phase 5 - advanced methods: capsules, attention, multi-modal fusion, adversarial robustness, explanations.

Papers: Nguyen et al. 2019 (Capsule-Forensics), Vaswani et al. 2017 (attention), Zhao et al. 2021
(multi-attentional detection), Madry et al. 2018 (PGD adversarial training), Selvaraju et al. 2017 (Grad-CAM).
"""
from grader.tasks import Task

TASKS = [
    Task("5.1", "Scaled dot-product attention", points=2, file="template_attention_mechanism.py",
         guide="5.1 Scaled dot-product attention"),
]
