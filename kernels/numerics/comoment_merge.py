"""The exact merge of co-moments (Chan, Golub & LeVeque): two groups' counts, means and centred co-moments
combine into the whole's with no pass over the data and no cancellation, so blocks, bands, chunks and device
partials can be summed around their own means and merged in any tree."""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def merge_into(n, mean, M, nb, bmean, C):
    """Merge (nb, bmean, C) into (n, mean, M) in place, lower triangles; returns the new count.

    M += C + n·nb/(n + nb) (b̄ - m̄)(b̄ - m̄)ᵀ and m̄ moves towards b̄ by nb/(n + nb): exact in real arithmetic."""
    nt = n + nb
    f = n * nb / nt
    p = mean.shape[0]
    for j in range(p):
        dj = bmean[j] - mean[j]
        for k in range(j + 1):
            M[j, k] += C[j, k] + f * dj * (bmean[k] - mean[k])
    for j in range(p):
        mean[j] += (bmean[j] - mean[j]) * (nb / nt)
    return nt


@njit(cache=True, nogil=True)
def merge_offsets(counts, K0s, offs, Ms):
    """Merge groups in order: group t has counts[t] rows, mean K0s[t] + offs[t] (a pilot and an offset from it,
    so a large common offset does not round the differences of means) and co-moment Ms[t] (lower triangle).
    Empty groups are skipped. Returns (count, offset (p,) from the pilot K0s[0], M (p, p) lower triangle)."""
    p = K0s.shape[1]
    off, M, boff = np.zeros(p), np.zeros((p, p)), np.empty(p)
    n = 0.0
    for t in range(counts.shape[0]):
        if counts[t] > 0:
            for j in range(p):
                boff[j] = (K0s[t, j] - K0s[0, j]) + offs[t, j]
            n = merge_into(n, off, M, counts[t], boff, Ms[t])
    return n, off, M


@njit(cache=True, nogil=True)
def merge_bands(counts, K0s, offs, Ms):
    """merge_offsets, as (mean (p,), M (p, p) lower triangle)."""
    _, off, M = merge_offsets(counts, K0s, offs, Ms)
    return K0s[0] + off, M


def merge_groups(counts: np.ndarray, means: np.ndarray, comoments: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """merge_bands for groups given by their plain means: (mean (p,), symmetric co-moment (p, p))."""
    counts = np.ascontiguousarray(counts, dtype=np.float64)
    means = np.ascontiguousarray(means, dtype=np.float64)
    mean, M = merge_bands(counts, means, np.zeros_like(means), np.ascontiguousarray(comoments, dtype=np.float64))
    return mean, np.tril(M) + np.tril(M, -1).T
