"""Phase 4 - biological signals: real people blink and have a pulse; early fakes often do not.

Papers: Soukupova & Cech 2016 (eye aspect ratio), Li et al. 2018 (In Ictu Oculi), Verkruysse et al.
2008 (GREEN), de Haan & Jeanne 2013 (CHROM), Wang et al. 2017 (POS), Ciftci et al. 2020
(FakeCatcher), Yang, Li & Lyu 2019 (inconsistent head poses).
"""
from common.registry import Model
from grader.tasks import Task

TASKS = [
    Task("4.1", "Eye aspect ratio", points=2, file="template_blink_detection.py",
         guide="4.1 Eye aspect ratio"),
    Task("4.2", "Blink detection", points=2, file="template_blink_detection.py",
         guide="4.2 Blink detection"),
    Task("4.3", "Blink rate and verdict", points=2, file="template_blink_detection.py",
         guide="4.3 Blink rate and verdict"),
    Task("4.4", "Skin colour traces and detrending", points=2, file="template_pulse_detection.py",
         guide="4.4 Skin colour traces and detrending"),
    Task("4.5", "GREEN and CHROM", points=2, file="template_pulse_detection.py",
         guide="4.5 GREEN and CHROM"),
    Task("4.6", "POS", points=2, file="template_pulse_detection.py",
         guide="4.6 POS"),
    Task("4.7", "Heart rate and SNR", points=2, file="template_pulse_detection.py",
         guide="4.7 Heart rate and SNR"),
    Task("4.8", "Head pose with solvePnP", points=2, file="template_face_consistency.py",
         guide="4.8 Head pose with solvePnP"),
    Task("4.9", "Inner face against whole head", points=2, file="template_face_consistency.py",
         guide="4.9 Inner face against whole head"),
]

# One row per detector (read without importing, like TASKS); see common/registry.py. Signal
# detectors read a 10-s window of the main face's crops (96 px, 1.6 x the face box, room for the
# forehead), find face-mesh landmarks on them (common/landmarks.py) and feed the row's features to
# a logistic regression.
MODELS = [
    Model("blink", kind="signal", file="template_blink_detection.py", builder="SignalClassifier",
          input_size=96, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), scale=1.6, features="blink_features",
          config={"n_features": 3, "window_s": 10.0},
          description="logistic regression on the blink rate, closed share and blink duration of a 10-s window (tasks 4.1-4.3)"),
    Model("pulse", kind="signal", file="template_pulse_detection.py", builder="PulseClassifier",
          input_size=96, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), scale=1.6, features="pulse_features",
          config={"n_features": 3, "window_s": 10.0},
          description="logistic regression on the POS pulse's SNR and the forehead-cheeks agreement of a 10-s window (tasks 4.4-4.7)"),
    Model("biological", kind="signal", file="template_face_consistency.py", builder="BiologicalClassifier",
          input_size=96, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), scale=1.6, features="biological_features",
          config={"n_features": 9, "window_s": 10.0},
          description="one biological score: logistic regression on blink, pulse and head-pose consistency features (tasks 4.1-4.9)"),
]
