# Exercise file generated from the reference solution: fill in every TODO (see IMPLEMENTATION_GUIDE.md).
"""Spectral features and a classifier: Durall et al.'s detector on face crops of any size.

Idea. Tasks 3.1-3.3 turn a face crop into a short spectral profile on a fixed axis of cycles per
pixel. Durall et al. then need no deep network: a logistic regression or an RBF support vector
machine on those profiles separates faces from upsampling generators (on FaceForensics++'s
DeepFakeDetection frames they report 0.86 accuracy with the SVM and 0.79 with logistic
regression, and both collapse under strong compression, which removes high frequencies). This
file provides the feature vector and a torch logistic regression for the course's detector
interface, and asks for the scikit-learn route the paper uses (task 3.7). Frank et al. (ICML
2020) go one step further and train a small CNN on the log-DCT of the image: task 3.12 computes
that input in torch, so that the network (provided, registered as ``dct_cnn``) takes face crops
like any frame detector.

Paper: R. Durall, M. Keuper, J. Keuper, "Watch your Up-Convolution: CNN Based Generative Deep
Neural Networks are Failing to Reproduce Spectral Distributions", CVPR 2020. J. Frank et al.,
"Leveraging Frequency Analysis for Deep Fake Image Recognition", ICML 2020.

Guide: IMPLEMENTATION_GUIDE.md, phase 3.
"""
from __future__ import annotations

from grader.todo import TodoError

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from torch import nn

from phase3_frequency_analysis.template_fft_analysis import checkerboard_amplitude, durall_profile, high_frequency_ratio

# ------------------------------------------------------------------------------------------------
# Provided: the feature vector of one face crop (registered as "face_spectrum_features")
# ------------------------------------------------------------------------------------------------

PROFILE_BINS = 64
HIGH_FREQUENCY_CUTOFF = 0.25  # cycles per pixel: half the Nyquist frequency
N_FEATURES = PROFILE_BINS + 1


def face_spectrum_features(crop: np.ndarray) -> np.ndarray:
    """The spectral feature vector of one face crop, whatever its size.

    crop: (S, S, 3) uint8 RGB (or (S, S)), the face's square crop at its own size, S >= 6, never
    resized. Returns (N_FEATURES,) = (65,) float32: Durall's profile on PROFILE_BINS bins from 0 to
    0.5 cycles per pixel (task 3.3; bin 0 is 1, the other bins about 0.3-0.7 for faces), then
    ``log10`` of the share of power beyond 0.25 cycles per pixel (task 3.2, + 1e-6; about -2 for a
    sharp face, lower for a blurred one).

    Example: a 150x150 crop and a 64x64 crop of the same face give vectors of the same length whose
    bins describe the same frequencies.
    """
    crop = np.asarray(crop)
    if crop.ndim not in (2, 3) or crop.shape[0] != crop.shape[1]:
        raise ValueError(f"expected a square face crop (S, S, 3), got {crop.shape}")
    profile = durall_profile(crop, PROFILE_BINS)
    ratio = high_frequency_ratio(crop, HIGH_FREQUENCY_CUTOFF)
    return np.concatenate([profile, [np.log10(ratio + 1e-6)]]).astype(np.float32)


class SpectralLogistic(nn.Module):
    """Logistic regression on :func:`face_spectrum_features`: (B, D) float32 -> (B, 1) logits.

    A fixed standardisation first, like phase 2's ``FrameDifferenceClassifier``: the profile bins
    are centred on 0.5 and divided by 0.05 (faces differ by a few hundredths per bin), the log10
    ratio centred on -2 and divided by 0.5, so that plain gradient descent starts near the data.
    Then ``nn.Linear(D, 1)``; P(FAKE) = sigmoid(logit).
    """

    def __init__(self, n_features: int = N_FEATURES) -> None:
        super().__init__()
        centre = torch.full((n_features,), 0.5)
        scale = torch.full((n_features,), 0.05)
        centre[-1], scale[-1] = -2.0, 0.5
        self.register_buffer("centre", centre)
        self.register_buffer("scale", scale)
        self.linear = nn.Linear(n_features, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear((features - self.centre) / self.scale)


# ------------------------------------------------------------------------------------------------
# Provided: the checkerboard detector (registered as "checkerboard"), built on task 3.13
# ------------------------------------------------------------------------------------------------

CHECKERBOARD_CENTRE = (-2.2, -2.2, -4.0)
"""log10 of the checkerboard amplitudes of a real face crop of mini-forensics (measured: -2.23, -2.23,
-4.00 on average, standard deviation 0.11-0.13 over the videos); a GANUpsample crop gives about -1.85."""
CHECKERBOARD_SCALE = 0.15


def checkerboard_features(crop: np.ndarray) -> np.ndarray:
    """The checkerboard detector's input: ``log10`` of :func:`checkerboard_amplitude` (+ 1e-6).

    crop: (S, S, 3) uint8 RGB, the face at its own size. Returns (3,) float32: along the rows, down
    the columns, on the diagonal. Example: amplitudes [0.04, 0.04, 0.0016] -> about [-1.40, -1.40, -2.80].
    """
    return np.log10(checkerboard_amplitude(np.asarray(crop)) + 1e-6).astype(np.float32)


class CheckerboardLogistic(SpectralLogistic):
    """Logistic regression on :func:`checkerboard_features`: (B, 3) -> (B, 1) logits.

    Only the fixed standardisation differs from :class:`SpectralLogistic`: each log10 amplitude is
    centred on a real face's (:data:`CHECKERBOARD_CENTRE`) and divided by :data:`CHECKERBOARD_SCALE`.
    """

    def __init__(self, n_features: int = 3) -> None:
        super().__init__(n_features)
        self.centre.copy_(torch.tensor(CHECKERBOARD_CENTRE[:n_features]))
        self.scale.fill_(CHECKERBOARD_SCALE)


# ------------------------------------------------------------------------------------------------
# 3.7 The scikit-learn route of the paper
# ------------------------------------------------------------------------------------------------

def evaluate_spectral_classifiers(train_features: np.ndarray, train_labels: np.ndarray,
                                  val_features: np.ndarray, val_labels: np.ndarray) -> dict[str, float]:
    """Fit Durall et al.'s two classifiers on spectral features and return their validation AUC.

    train_features: (N, D) float; train_labels: (N,) in {0 = REAL, 1 = FAKE}; the same for the
    validation set. Both classifiers standardise the features with statistics of the *training*
    set (``StandardScaler`` in a pipeline) and use scikit-learn's defaults otherwise:

    * ``"logistic"``: ``make_pipeline(StandardScaler(), LogisticRegression())``
    * ``"svm"``: ``make_pipeline(StandardScaler(), SVC(kernel="rbf"))``

    Each is fitted on the training set and scored on the validation set with its
    ``decision_function`` (a signed distance; no probability calibration needed for an AUC).
    Returns ``{"logistic": auc, "svm": auc}`` with ``sklearn.metrics.roc_auc_score``.

    Example: profiles of 2x-upsampled textures against native ones give AUCs near 1 for both.
    """
    # TODO 3.7: build the two pipelines (make_pipeline, StandardScaler, LogisticRegression,
    #   SVC(kernel="rbf")), fit each on the training arrays, score the validation features with
    #   decision_function and compute roc_auc_score(val_labels, scores)
    raise TodoError('3.7: build the two pipelines (make_pipeline, StandardScaler, LogisticRegression, SVC(kernel="rbf")), fit each on the training arrays, score the validation features with decision_function and compute roc_auc_score(val_labels, scores) (IMPLEMENTATION_GUIDE.md, 3.7 Spectral classifiers)')


# ------------------------------------------------------------------------------------------------
# 3.12 A small CNN on Frank et al.'s log-DCT input (registered as "dct_cnn")
# ------------------------------------------------------------------------------------------------

def dct_basis(n: int) -> torch.Tensor:
    """The orthonormal DCT-II matrix of task 3.4 as a float32 tensor (built here with scipy).

    Returns (n, n): row u is the cosine of u half-periods, so ``basis @ x`` is the DCT of a
    column vector x and ``basis @ X @ basis.T`` the 2-D DCT of an (n, n) map.
    """
    import scipy.fft

    return torch.from_numpy(scipy.fft.dct(np.eye(n), norm="ortho", axis=0)).float()


def log_dct(images: torch.Tensor, basis: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Frank et al.'s log-DCT of a batch of images, in torch: ``log(|D X D^T| + eps)`` per channel.

    images: (B, C, S, S); basis: (S, S) from :func:`dct_basis`. Returns (B, C, S, S) float32, entry
    [..., 0, 0] the DC term, frequencies growing down and to the right: the same numbers as task
    3.5's ``log_dct_spectrum`` of each channel (``scipy.fft.dctn(..., norm="ortho")``).

    Always float32 with autocast switched off: under CUDA's fp16 autocast a matrix product would
    run in half precision, and 1e-12 is 0 in fp16 (log(0) = -inf for every zero coefficient).

    Example: a 4x4 channel of ones has DCT 4 at [0, 0] and 0 elsewhere: log 4 ~ 1.386 there and
    log(1e-12) ~ -27.63 at the 15 other coefficients.
    """
    # TODO 3.12: inside torch.autocast(device_type=images.device.type, enabled=False), multiply
    #   the float32 images by the basis on the left and its transpose on the right (matmul
    #   broadcasts over B and C), then torch.log of the absolute value plus eps
    raise TodoError('3.12: inside torch.autocast(device_type=images.device.type, enabled=False), multiply the float32 images by the basis on the left and its transpose on the right (matmul broadcasts over B and C), then torch.log of the absolute value plus eps (IMPLEMENTATION_GUIDE.md, 3.12 Log-DCT input in torch)')


class DCTConvNet(nn.Module):
    """A small CNN on the standardised log-DCT of the face crop (Frank et al. 2020's idea).

    Steps: :func:`log_dct` of the (B, 3, S, S) crop; every coefficient standardised with the mean and
    variance of the training images (Frank et al.'s per-coefficient normalisation, here a
    ``BatchNorm1d`` over the 3 S S coefficients without affine parameters: batch statistics in
    training, their running averages afterwards); then three ``Conv3x3 -> ReLU -> AvgPool2`` stages
    (16, 32, 32 channels) and ``Dropout -> Linear(32 (S/8)^2, 1)``. There is no global pooling:
    in the DCT domain a position *is* a frequency, and the last layer keeps where the energy is.

    Args:
        input_size: S, a multiple of 8 (the crop side; the registry's default is 64 px, the phase-1 baseline's).
        dropout: before the last layer.

    Shapes: forward (B, 3, S, S) float32 crops in [0, 1] -> (B,) logits.
    """

    def __init__(self, input_size: int = 64, dropout: float = 0.3) -> None:
        super().__init__()
        if input_size % 8 or input_size < 8:
            raise ValueError(f"input_size must be a positive multiple of 8, got {input_size}")
        self.input_size = input_size
        self.register_buffer("basis", dct_basis(input_size))
        self.standardise = nn.BatchNorm1d(3 * input_size * input_size, affine=False)
        layers: list[nn.Module] = []
        for cin, cout in ((3, 16), (16, 32), (32, 32)):
            layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2)]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(32 * (input_size // 8) ** 2, 1))

    def spectrum(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) crops -> (B, 3, S, S) standardised log-DCT (the convolutions' input)."""
        if tuple(images.shape[-2:]) != (self.input_size, self.input_size):
            raise ValueError(f"expected crops of {self.input_size}x{self.input_size}, got {tuple(images.shape[-2:])}")
        spectra = log_dct(images, self.basis)
        return self.standardise(spectra.flatten(1)).view_as(spectra)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(self.spectrum(images))).squeeze(1)
