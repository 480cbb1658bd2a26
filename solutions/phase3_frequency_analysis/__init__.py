"""Phase 3 - frequency analysis: upsampling in generators leaves fingerprints in the spectrum.

Papers: Durall et al. 2020 (azimuthal average of the spectrum), Frank et al. 2020 (DCT spectrum).
"""
from grader.tasks import Task

TASKS = [
    Task("3.1", "Radial (azimuthal) power spectrum", points=3, file="template_fft_analysis.py",
         guide="3.1 Radial power spectrum"),
]
