"""Phase 4 - biological signals: real people blink and have a pulse; early fakes often do not.

Papers: Soukupova & Cech 2016 (eye aspect ratio), Li et al. 2018 (In Ictu Oculi), Ciftci et al.
2020 (FakeCatcher), de Haan & Jeanne 2013 (CHROM), Wang et al. 2017 (POS).
"""
from grader.tasks import Task

TASKS = [
    Task("4.1", "Eye aspect ratio", points=2, file="template_blink_detection.py",
         guide="4.1 Eye aspect ratio"),
]
