"""Phase 3 - frequency analysis: upsampling in generators leaves fingerprints in the spectrum.

Papers: Durall et al. 2020 (azimuthal average of the spectrum), Frank et al. 2020 (DCT spectrum).
"""
from common.registry import Model
from grader.tasks import Task

TASKS = [
    Task("3.1", "Radial (azimuthal) power spectrum", points=3, file="template_fft_analysis.py",
         guide="3.1 Radial power spectrum"),
    Task("3.2", "High-frequency energy ratio", points=2, file="template_fft_analysis.py",
         guide="3.2 High-frequency energy ratio"),
    Task("3.3", "Durall's spectral profile", points=3, file="template_fft_analysis.py",
         guide="3.3 Durall's spectral profile"),
    Task("3.4", "JPEG 8x8 block DCT", points=2, file="template_dct_analysis.py",
         guide="3.4 JPEG 8x8 block DCT"),
    Task("3.5", "Frank's log-DCT input", points=2, file="template_dct_analysis.py",
         guide="3.5 Frank's log-DCT input"),
    Task("3.6", "DCT statistics and double JPEG", points=3, file="template_dct_analysis.py",
         guide="3.6 DCT statistics and double JPEG"),
    Task("3.7", "Spectral classifiers", points=2, file="template_spectral_features.py",
         guide="3.7 Spectral classifiers"),
]

# One row per detector (read without importing, like TASKS); see common/registry.py.
MODELS = [
    Model("spectrum_logistic", kind="spectral", file="template_spectral_features.py", builder="SpectralLogistic",
          input_size=128, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), frames=32, features="face_spectrum_features",
          description="logistic regression on Durall's spectral profile + high-frequency ratio of the "
                      "un-resized face crop (tasks 3.1-3.3)"),
]
