"""Phase 2 - temporal analysis: fakes made frame by frame flicker and jitter over time.

Papers: Guera & Delp 2018 (CNN + LSTM), Sabir et al. 2019 (recurrent convolutional), Zheng et al.
2021 (temporal coherence).
"""
from common.registry import Model
from grader.tasks import Task

TASKS = [
    Task("2.1", "Frame-difference energy", points=2, file="template_temporal_features.py",
         guide="2.1 Frame-difference energy"),
    Task("2.2", "Temporal flicker energy", points=2, file="template_temporal_features.py",
         guide="2.2 Temporal flicker energy"),
    Task("2.3", "Landmark jitter", points=2, file="template_temporal_features.py",
         guide="2.3 Landmark jitter"),
    Task("2.4", "Lucas-Kanade", points=2, file="template_optical_flow.py", guide="2.4 Lucas-Kanade"),
    Task("2.5", "Pyramidal Lucas-Kanade", points=2, file="template_optical_flow.py",
         guide="2.5 Pyramidal Lucas-Kanade"),
    Task("2.6", "Flow of the face against its surroundings", points=2, file="template_optical_flow.py",
         guide="2.6 Flow of the face against its surroundings"),
    Task("2.7", "The last real step", points=2, file="template_lstm_detector.py", guide="2.7 The last real step"),
    Task("2.8", "Packed recurrent head", points=2, file="template_lstm_detector.py",
         guide="2.8 Packed recurrent head"),
    Task("2.9", "C3D", points=2, file="template_3dcnn.py", guide="2.9 C3D"),
    Task("2.10", "R3D-18 from its blocks", points=2, file="template_3dcnn.py", guide="2.10 R3D-18 from its blocks"),
]

# One row per detector (read without importing, like TASKS); see common/registry.py.
MODELS = [
    Model("frame_difference", kind="clip", file="template_temporal_features.py", builder="FrameDifferenceClassifier",
          input_size=64, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), frames=16, features="clip_features",
          description="logistic regression on a tracked face's frame-difference energy over a 16-frame clip (task 2.1)"),
    Model("temporal_features", kind="clip", file="template_temporal_features.py", builder="build_temporal_classifier",
          input_size=64, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), frames=16, features="temporal_clip_features",
          description="standardised logistic regression on frame differences (2.1) and colour flicker (2.2) of a 16-frame clip"),
    Model("flow_statistics", kind="clip", file="template_optical_flow.py", builder="build_flow_classifier",
          input_size=64, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), frames=16, features="flow_clip_features",
          description="standardised logistic regression on Farneback flow of the face against its surroundings (2.6)"),
    Model("lstm", kind="clip", file="template_lstm_detector.py", builder="build_sequence_detector",
          input_size=64, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), frames=16,
          clip_layout="sequence", trains="head",
          config={"backbone": "resnet50", "pretrained": False, "cell": "lstm", "hidden": 128, "layers": 2,
                  "bidirectional": False},
          description="frozen ResNet-50 features per frame + two-layer LSTM (Guera & Delp 2018; the outline's detector)"),
    Model("gru", kind="clip", file="template_lstm_detector.py", builder="build_sequence_detector",
          input_size=64, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), frames=16,
          clip_layout="sequence", trains="head",
          config={"backbone": "resnet50", "pretrained": False, "cell": "gru", "hidden": 128, "layers": 2,
                  "bidirectional": False},
          description="frozen ResNet-50 features per frame + two-layer GRU (seed 001)"),
    Model("bilstm", kind="clip", file="template_lstm_detector.py", builder="build_sequence_detector",
          input_size=64, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), frames=16,
          clip_layout="sequence", trains="head",
          config={"backbone": "resnet50", "pretrained": False, "cell": "lstm", "hidden": 128, "layers": 2,
                  "bidirectional": True},
          description="frozen ResNet-50 features per frame + bidirectional LSTM (seed 003; Sabir et al. 2019)"),
    Model("c3d", kind="clip", file="template_3dcnn.py", builder="C3DSmall",
          input_size=64, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), frames=16, clip_layout="volume",
          description="a CPU-sized C3D: four 3x3x3 convolution units on 16 frames of 64 px (Tran et al. 2015)"),
    Model("r3d18", kind="clip", file="template_3dcnn.py", builder="build_r3d18",
          input_size=112, mean=(0.43216, 0.394666, 0.37645), std=(0.22803, 0.22145, 0.216989), frames=16,
          clip_layout="volume", config={"num_classes": 1, "pretrained": False},
          description="R3D-18, torchvision's Kinetics-400 network written from its blocks (Tran et al. 2018)"),
]
