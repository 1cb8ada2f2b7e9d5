"""The first epoch of gd/numba and gd/numba-parallel with fit's input checks folded into its pass.

The epoch reads X and y anyway; on the way it also forms what the checks need, so clean float64 input is
read once for both, not scanned first (Kernel.checks_values):
- d = 1: Σ|x - x₀| and Σ|y - y₀| beside the loss and gradient sums, in the same vectorised loop;
- d > 1: the centred co-moments of [X y] (block-shifted, merged exactly, as comoments.py forms them),
  each block of rows summed while it is in cache, just after the gradient has read it.
A non-finite value makes the loss non-finite; a constant, all-zero or tiny column shows in Σ|x - x₀| or its
co-moment; dependent columns in the co-moments (check_rank). Only then does fit's scan run, so every error
is the scan's, word for word. Clean input costs no extra read: two more sums a row (d = 1), or the
co-moments' O(d²) arithmetic a row in the first epoch and an O(d³) check after it (d > 1).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ...errors import SingularDesignError
from ...numerics.comoment_merge import merge_bands, merge_into
from ...validation import TINY, check_moments, check_rank, check_values
from .block_products import shifted_block, transpose_buffer
from .gd_rows import gd_rows
from .settings import BLOCK, PILOT, REASSOC


@njit(cache=True, nogil=True, fastmath=REASSOC)
def _first_band_d1(x, y, b, w, s, e, x0, y0):
    """gd_band_d1's sums over rows s:e, and Σ|x - x0|, Σ|y - y0| (zero exactly for a constant column)."""
    xs = x[s:e]  # indexed from 0 (WRAPAROUND_NOTE in settings.py)
    ys = y[s:e]
    sse = 0.0
    gb = 0.0
    gw = 0.0
    sx = 0.0
    sy = 0.0
    for i in range(xs.shape[0]):
        xi = xs[i]
        yi = ys[i]
        r = b + w * xi - yi
        sse += r * r
        gb += r
        gw += r * xi
        sx += abs(xi - x0)
        sy += abs(yi - y0)
    return sse, gb, gw, sx, sy


@njit(cache=True, nogil=True, fastmath=REASSOC)
def _first_band(X, y, b, w, gw, s, e, K0, off, M):
    """gd_band over rows s:e (Σr², Σr returned, Σr·x into gw) and, on the same blocks while they are in
    cache, comoments._comoments_band's pilot K0, mean - K0 in off and centred co-moments (lower) in M;
    returns (count, Σr², Σr)."""
    d = X.shape[1]
    p = d + 1
    off[:] = 0.0
    M[:, :] = 0.0
    K0[:] = 0.0
    g = np.zeros(d)
    sse = 0.0
    gb = 0.0
    n = 0.0
    if e > s:
        K = np.zeros(p)
        S, SS, ZT, boff = np.empty(p), np.empty((p, p)), transpose_buffer(p), np.empty(p)
        pe = min(e, s + PILOT)
        shifted_block(X, y, s, pe, K, S, SS, ZT)
        K0[:] = S / (pe - s)
        K[:] = K0
        for bs in range(s, e, BLOCK):
            be = min(bs + BLOCK, e)
            nb = float(be - bs)
            sse, gb = gd_rows(X, y, b, w, g, bs, be, sse, gb)
            shifted_block(X, y, bs, be, K, S, SS, ZT)
            for j in range(p):
                for k in range(j + 1):
                    SS[j, k] -= S[j] * S[k] / nb
                boff[j] = (K[j] - K0[j]) + S[j] / nb
            n = merge_into(n, off, M, nb, boff, SS)
            for j in range(p):
                K[j] = K0[j] + boff[j]
    for j in range(d):
        gw[j] = g[j]
    return n, sse, gb


@njit(cache=True, nogil=True)
def first_epoch_serial(X, x, y, b, w, gw, nparts):
    """The first epoch on one thread: (Σr², Σr, statistics); Σr·x into gw. The statistics: (Σ|x - x₀|,
    Σ|y - y₀|) for d = 1, else the means (p,) and centred co-moments (p, p) of [X y] side by side, (p, p + 1)."""
    n, d = X.shape
    p = d + 1
    if d == 1:
        sse, gb, g, sx, sy = _first_band_d1(x, y, b, w[0], 0, n, x[0], y[0])
        gw[0] = g
        out = np.zeros((p, p + 1))
        out[0, 0] = sx
        out[1, 0] = sy
        return sse, gb, out
    counts, K0s, offs, Ms = np.empty(1), np.empty((1, p)), np.empty((1, p)), np.empty((1, p, p))
    counts[0], sse, gb = _first_band(X, y, b, w, gw, 0, n, K0s[0], offs[0], Ms[0])
    mean, M = merge_bands(counts, K0s, offs, Ms)
    out = np.empty((p, p + 1))
    out[:, 0] = mean
    out[:, 1:] = M
    return sse, gb, out


@njit(cache=True, parallel=True)
def first_epoch_parallel(X, x, y, b, w, gw, nparts):
    """first_epoch_serial on the bands of gd's parallel epoch (rows t n / nparts on), the bands' sums added."""
    n, d = X.shape
    p = d + 1
    parts = np.zeros((nparts, d + 4))
    counts, K0s, offs, Ms = np.zeros(nparts), np.zeros((nparts, p)), np.zeros((nparts, p)), np.zeros((nparts, p, p))
    for t in prange(nparts):
        s, e = t * n // nparts, (t + 1) * n // nparts
        part = parts[t]
        if d == 1:
            sse, gb, g, sx, sy = _first_band_d1(x, y, b, w[0], s, e, x[0], y[0])
            part[2] = g
            part[3] = sx
            part[4] = sy
        else:
            counts[t], sse, gb = _first_band(X, y, b, w, part[2:2 + d], s, e, K0s[t], offs[t], Ms[t])
        part[0] = sse
        part[1] = gb
    tot = parts.sum(axis=0)
    gw[:] = tot[2:2 + d]
    out = np.zeros((p, p + 1))
    if d == 1:
        out[0, 0] = tot[3]
        out[1, 0] = tot[4]
    else:
        mean, M = merge_bands(counts, K0s, offs, Ms)
        out[:, 0] = mean
        out[:, 1:] = M
    return tot[0], tot[1], out


def check_first_epoch(name: str, X, y, fit_intercept: bool, sse: float, gb: float, gw, stats) -> None:
    """fit's value and rank checks from the first epoch's sums; the scan (check_values) runs only when they
    show a problem, so it names it exactly as it would have before the kernel ran."""
    n, d = X.shape
    sums_finite = math.isfinite(sse) and math.isfinite(gb) and all(map(math.isfinite, gw.tolist()))
    if d == 1:
        sx, sy = float(stats[0, 0]), float(stats[1, 0])
        # the scan refuses Σ|x - x₀| = 0 (constant, all-zero) and 0 < Σ|x - x₀| < n TINY (tiny, also for y);
        # summed in another order these agree with its sums to rounding, hence the margin of 2
        if not (sums_finite and sx > 2.0 * n * TINY and (sy == 0.0 or sy > 2.0 * n * TINY)):
            check_values(X, y, fit_intercept, False)
        return
    if not sums_finite:
        check_values(X, y, fit_intercept, False)
    mean, M = stats[:, 0], stats[:, 1:]
    if not M[d, d] > (1024.0 * n * TINY) ** 2:  # y constant, or too tiny to square: the scan decides
        check_values(X, y, fit_intercept, False)
    check_moments(X, y, fit_intercept, False, M, mean[:d])
    try:
        check_rank(X, fit_intercept, name, gram=M[:d, :d])
    except SingularDesignError:
        check_values(X, y, fit_intercept, False)  # repeated columns: named as the scan names them
        raise

