"""Independent oracles of the phase-5 tests (numpy, written from the papers, never the solutions)."""
from __future__ import annotations

import numpy as np


def squash_np(s: np.ndarray) -> np.ndarray:
    """Sabour et al. 2017, eq. 1, over the last axis, in float64."""
    norm = np.linalg.norm(s, axis=-1, keepdims=True)
    return np.where(norm > 0, norm ** 2 / (1 + norm ** 2) * s / np.maximum(norm, 1e-300), 0.0)


def routing_np(u_hat: np.ndarray, iterations: int) -> tuple[np.ndarray, np.ndarray]:
    """Sabour et al. 2017, Procedure 1, one sample at a time with explicit loops.

    u_hat: (B, n_out, n_in, d). Returns (v (B, n_out, d), c (B, n_out, n_in)) of the last iteration.
    """
    batch, n_out, n_in, dim = u_hat.shape
    v_all = np.zeros((batch, n_out, dim))
    c_all = np.zeros((batch, n_out, n_in))
    for b in range(batch):
        logits = np.zeros((n_in, n_out))
        for _ in range(iterations):
            c = np.exp(logits - logits.max(axis=1, keepdims=True))
            c /= c.sum(axis=1, keepdims=True)  # softmax over the output capsules, for each input i
            v = np.zeros((n_out, dim))
            for j in range(n_out):
                s = sum(c[i, j] * u_hat[b, j, i] for i in range(n_in))
                v[j] = squash_np(s)
            for i in range(n_in):
                for j in range(n_out):
                    logits[i, j] += float(u_hat[b, j, i] @ v[j])
        v_all[b], c_all[b] = v, c.T
    return v_all, c_all


ONE_TRACE_SEPARATION = 3.0


def one_trace_each(n_real: int, n_each: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Tasks 5.15-5.16's known generating process: three detectors and three manipulations, each seen by
    one detector, whose log-odds are N(3, 1) on its own fakes and N(0, 1) on every other video.
    Returns (log-odds (N, 3), kind (N,): -1 real, else the manipulation 0-2)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, (n_real + 3 * n_each, 3))
    kind = np.r_[np.full(n_real, -1), np.repeat([0, 1, 2], n_each)]
    for k in range(3):
        x[kind == k, k] += ONE_TRACE_SEPARATION
    return x, kind


def bayes_any_fake_log_odds(x: np.ndarray) -> np.ndarray:
    """The best possible "any fake" score of :func:`one_trace_each` (up to a constant): the true mixture
    log sum_k (1/3) exp(3 x_k - 4.5) of the manipulations' likelihood ratios."""
    from scipy.special import logsumexp

    return logsumexp(ONE_TRACE_SEPARATION * x - ONE_TRACE_SEPARATION ** 2 / 2, axis=1)
