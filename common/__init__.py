"""Provided plumbing shared by every phase and tool of the course.

Nothing in this package is an exercise: video I/O, dataset layouts, the mini-forensics synthetic
benchmark, metrics, the training loop, checkpoints, and the grader machinery (tree loader,
template generator, self-checks). Exercise code lives in the ``phaseN_*`` folders.

Label convention everywhere: ``1 = FAKE``, ``0 = REAL``; a score is the probability of FAKE.
"""

__version__ = "0.1.0"
