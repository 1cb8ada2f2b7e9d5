"""The d x d products of a block of rows, as vectorised dot products of the block transposed in L1."""
from __future__ import annotations

import numpy as np
from numba import njit

from .settings import L1_BYTES, REASSOC


@njit(cache=True, nogil=True, fastmath=REASSOC)
def _dot(a, b, m):
    """Σ a[:m] b[:m], vectorised (two contiguous rows of the transposed block, in L1)."""
    t = 0.0
    for i in range(m):
        t += a[i] * b[i]
    return t


@njit(cache=True, nogil=True, fastmath=REASSOC)
def _dot2x4(a0, a1, b0, b1, b2, b3, m):
    """The 2 x 4 products of rows a0, a1 with rows b0..b3 over [:m]: 6 loads feed 8 multiply-adds, where
    one product at a time needs 2 loads for each (loads, not arithmetic, bound the one-at-a-time loop)."""
    t0, t1, t2, t3, u0, u1, u2, u3 = 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    for i in range(m):
        x0, x1, c0, c1, c2, c3 = a0[i], a1[i], b0[i], b1[i], b2[i], b3[i]
        t0 += x0 * c0
        t1 += x0 * c1
        t2 += x0 * c2
        t3 += x0 * c3
        u0 += x1 * c0
        u1 += x1 * c1
        u2 += x1 * c2
        u3 += x1 * c3
    return t0, t1, t2, t3, u0, u1, u2, u3


@njit(cache=True, nogil=True)
def _products(ZT, SS, m):
    """SS += ZT[:, :m] ZT[:, :m]ᵀ, lower triangle: pairs of rows against 4 rows at a time, the rest singly."""
    p = SS.shape[0]
    for j in range(0, p - 1, 2):
        a0, a1 = ZT[j], ZT[j + 1]
        k = 0
        while k + 4 <= j + 1:
            t0, t1, t2, t3, u0, u1, u2, u3 = _dot2x4(a0, a1, ZT[k], ZT[k + 1], ZT[k + 2], ZT[k + 3], m)
            SS[j, k] += t0
            SS[j, k + 1] += t1
            SS[j, k + 2] += t2
            SS[j, k + 3] += t3
            SS[j + 1, k] += u0
            SS[j + 1, k + 1] += u1
            SS[j + 1, k + 2] += u2
            SS[j + 1, k + 3] += u3
            k += 4
        for kk in range(k, j + 1):
            SS[j, kk] += _dot(a0, ZT[kk], m)
        for kk in range(k, j + 2):
            SS[j + 1, kk] += _dot(a1, ZT[kk], m)
    if p % 2 == 1:  # the last row, unpaired
        j = p - 1
        for k in range(j + 1):
            SS[j, k] += _dot(ZT[j], ZT[k], m)


@njit(cache=True, nogil=True)
def transpose_buffer(p):
    """The (p, rows + pad) buffer shifted_block transposes into: rows enough to fill about L1_BYTES (64 to
    256), each buffer row padded by 8 values so that the p stores of one data row do not fall 2 KiB apart,
    on the same cache sets (that alone made the transpose 2-3x slower at d = 30)."""
    rows = max(64, min(256, L1_BYTES // (8 * p) // 8 * 8))
    return np.empty((p, rows + 8))


@njit(cache=True, nogil=True, fastmath=REASSOC)
def shifted_block(X, y, s, e, K, S, SS, ZT):
    """S = Σdz, SS = Σdz dzᵀ (lower triangle) over rows s:e, dz = (x, y) - K.

    Rows go a few hundred at a time into ZT (transpose_buffer), shifted and transposed, so each of the
    p(p+1)/2 products is a dot product of two contiguous rows in L1 that vectorises; row by row, the rank-one
    updates of SS were short and strided, and the kernel 2-4x slower for d = 2-10.
    """
    d = X.shape[1]
    p = d + 1
    sub = ZT.shape[1] - 8
    S[:] = 0.0
    SS[:, :] = 0.0
    for b in range(s, e, sub):
        m = min(sub, e - b)
        for i in range(m):
            for j in range(d):
                ZT[j, i] = X[b + i, j] - K[j]
            ZT[d, i] = y[b + i] - K[d]
        for j in range(p):
            zj = ZT[j]
            t = 0.0
            for i in range(m):
                t += zj[i]
            S[j] += t
        _products(ZT, SS, m)
