"""Phase 3 - frequency analysis: upsampling in generators leaves fingerprints in the spectrum.

Papers: Durall et al. 2020 (azimuthal average of the spectrum), Frank et al. 2020 (DCT spectrum),
Odena et al. 2016 (the checkerboard of transposed convolutions); course seed 000 (InceptionV3 with Fourier attention).
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
    Task("3.8", "Magnitude spectrum of feature maps", points=2, file="template_fourier_attention.py",
         guide="3.8 Magnitude spectrum of feature maps"),
    Task("3.9", "Fourier attention layer", points=3, file="template_fourier_attention.py",
         guide="3.9 Fourier attention layer"),
    Task("3.10", "InceptionV3 with Fourier attention", points=2, file="template_fourier_attention.py",
         guide="3.10 InceptionV3 with Fourier attention"),
    Task("3.11", "Frozen, then partially unfrozen", points=2, file="template_fourier_attention.py",
         guide="3.11 Frozen, then partially unfrozen"),
    Task("3.12", "Log-DCT input in torch", points=2, file="template_spectral_features.py",
         guide="3.12 Log-DCT input in torch"),
    Task("3.13", "Checkerboard amplitude", points=2, file="template_fft_analysis.py",
         guide="3.13 Checkerboard amplitude"),
]

# One row per detector (read without importing, like TASKS); see common/registry.py.
MODELS = [
    Model("spectrum_logistic", kind="spectral", file="template_spectral_features.py", builder="SpectralLogistic",
          input_size=128, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), frames=32, features="face_spectrum_features",
          description="logistic regression on Durall's spectral profile + high-frequency ratio of the "
                      "un-resized face crop (tasks 3.1-3.3)"),
    Model("checkerboard", kind="spectral", file="template_spectral_features.py", builder="CheckerboardLogistic",
          input_size=128, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), frames=32, features="checkerboard_features",
          description="logistic regression on the period-2 (Nyquist) amplitudes of the un-resized face crop, "
                      "the transposed convolution's checkerboard (Odena et al. 2016; task 3.13)"),
    Model("fourier_inception", kind="frame", file="template_fourier_attention.py", builder="FourierInception",
          input_size=299, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), config={"pretrained": False},
          description="seed 000: InceptionV3 + Fourier attention + dense head (tasks 3.8-3.11); "
                      ">= 75 px, train on CPU with --image-size 160"),
    Model("dct_cnn", kind="frame", file="template_spectral_features.py", builder="DCTConvNet",
          input_size=64, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), config={"input_size": 64}, sized=True,
          description="small CNN on the standardised log-DCT of the face crop (Frank et al. 2020; task 3.12); "
                      "train with --augment none"),
]
