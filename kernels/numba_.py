"""Numba JIT: the loops of the Python backend compiled, fused into single passes, cached on disk.

Data may be float32 or float64; every sum is accumulated in float64 (it costs nothing on the CPU).
Parallel kernels split rows into get_threads() bands (kernels/threads.py), passed in as an argument:
a kernel that asked numba for its thread count inside could not be cached on disk.

Why the fast ones are fast (docs/performance.md has the measurements):
- one streaming pass over X and y, no (n,)-sized temporaries, loops that vectorise (sums may be
  reassociated: `REASSOC` changes rounding order only, never the formula);
- OLS: co-moments of rows shifted by the previous block's mean, one pass, each block's centred co-moment
  merged exactly into the total (Chan, Golub & LeVeque) -- as accurate as centring by the exact mean;
- gd/numba-gram: the same statistics once, then every epoch from them in O(d²), no pass over the data.
"""
from __future__ import annotations

import math
import sys
import time

import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic

from .contract import Options
from .gram import U64, UNIT_ROUNDOFF, ols_result, scale_columns, solve_gram
from .iterative import LossTracker, epoch_orders, initial_params
from .registry import register
from .threads import numba_threads

BOTH = ("float64", "float32")
# Sums may be reordered (so the loops vectorise) and multiply-adds fused: both change rounding only.
# No nnan/ninf/nsz/arcp/afn: those could change results on special values, not just their rounding.
REASSOC = {"reassoc", "contract"}
BLOCK = 2048  # rows per block: a block is summed around one shift, then merged exactly into the total
PILOT = 64  # rows whose mean shifts the first block of each band
L1_BYTES = 32 << 10  # the transposed rows of a block whose products are being formed stay within this
# The OLS kernels refine their answer with one more pass (residuals in double-double) when the problem
# amplifies rounding so much that the one-pass solve could leave fewer than this many digits: see refine_ols.
REFINE_BELOW_DIGITS = 14.0


# --- OLS, d = 1: the co-moments of (x, y) in one pass ---------------------------------------------

@njit(cache=True, nogil=True, fastmath=REASSOC)
def _shifted_sums_d1(x, y, s, e, kx, ky):
    """Σdx, Σdy, Σdx², Σdxdy, Σdy² over rows s:e with dx = x - kx, dy = y - ky: one vectorised pass."""
    sx = 0.0
    sy = 0.0
    sxx = 0.0
    sxy = 0.0
    syy = 0.0
    for i in range(s, e):
        dx = x[i] - kx
        dy = y[i] - ky
        sx += dx
        sy += dy
        sxx += dx * dx
        sxy += dx * dy
        syy += dy * dy
    return sx, sy, sxx, sxy, syy


@njit(cache=True, nogil=True)
def _comoments_d1_band(x, y, s, e, out):
    """Rows s:e into out[0:8] = (count, Kx, Ky, mean x - Kx, mean y - Ky, Cxx, Cxy, Cyy), K the pilot mean.

    Blocks are shifted by the previous block's mean: Σ(d - d̄)² = Σd² - n d̄² loses about (d̄ / sd)²
    units of rounding, and d̄ is then one block's drift, so the loss stays a small multiple of the total
    co-moment, as with centring by the exact mean. Means are kept as offsets from the pilot K, so the
    differences of means in the merges do not round at the scale of a large common offset.
    """
    n = 0.0
    ox = 0.0
    oy = 0.0
    cxx = 0.0
    cxy = 0.0
    cyy = 0.0
    k0x = 0.0
    k0y = 0.0
    if e > s:
        pe = min(e, s + PILOT)
        px, py, _, _, _ = _shifted_sums_d1(x, y, s, pe, 0.0, 0.0)
        k0x = px / (pe - s)
        k0y = py / (pe - s)
        kx = k0x
        ky = k0y
        for b in range(s, e, BLOCK):
            be = min(b + BLOCK, e)
            nb = float(be - b)
            sx, sy, sxx, sxy, syy = _shifted_sums_d1(x, y, b, be, kx, ky)
            ax = sx / nb
            ay = sy / nb
            bx = (kx - k0x) + ax  # the block's mean, as an offset from the pilot
            by = (ky - k0y) + ay
            nt = n + nb
            dx = bx - ox
            dy = by - oy
            f = n * nb / nt
            cxx += (sxx - sx * ax) + f * dx * dx
            cxy += (sxy - sx * ay) + f * dx * dy
            cyy += (syy - sy * ay) + f * dy * dy
            ox += dx * (nb / nt)
            oy += dy * (nb / nt)
            n = nt
            kx = k0x + bx
            ky = k0y + by
    out[0] = n
    out[1] = k0x
    out[2] = k0y
    out[3] = ox
    out[4] = oy
    out[5] = cxx
    out[6] = cxy
    out[7] = cyy


@njit(cache=True, nogil=True)
def _merge_d1(parts):
    """Chan's exact merge of per-band rows, in order: (count, x̄, ȳ, Cxx, Cxy, Cyy)."""
    tot = np.zeros(6)
    kx = parts[0, 1]
    ky = parts[0, 2]
    for t in range(parts.shape[0]):
        nb = parts[t, 0]
        if nb == 0.0:
            continue
        n = tot[0]
        nt = n + nb
        dx = ((parts[t, 1] - kx) + parts[t, 3]) - tot[1]  # offsets from the first band's pilot
        dy = ((parts[t, 2] - ky) + parts[t, 4]) - tot[2]
        f = n * nb / nt
        tot[3] += parts[t, 5] + f * dx * dx
        tot[4] += parts[t, 6] + f * dx * dy
        tot[5] += parts[t, 7] + f * dy * dy
        tot[1] += dx * (nb / nt)
        tot[2] += dy * (nb / nt)
        tot[0] = nt
    tot[1] += kx
    tot[2] += ky
    return tot


@njit(cache=True, nogil=True)
def _comoments_d1_serial(x, y):
    parts = np.empty((1, 8))
    _comoments_d1_band(x, y, 0, x.shape[0], parts[0])
    return _merge_d1(parts)


@njit(cache=True, parallel=True)
def _comoments_d1_parallel(x, y, nparts):
    n = x.shape[0]
    nblocks = (n + BLOCK - 1) // BLOCK
    parts = np.empty((nparts, 8))
    for t in prange(nparts):  # bands of whole blocks, so every block but the last is full
        s = min(n, (t * nblocks // nparts) * BLOCK)
        e = min(n, ((t + 1) * nblocks // nparts) * BLOCK)
        _comoments_d1_band(x, y, s, e, parts[t])
    return _merge_d1(parts)


# --- OLS, any d: the same pass with (d + 1)-vectors -------------------------------------------------

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
def _transpose_buffer(p):
    """The (p, rows + pad) buffer _shifted_block transposes into: rows enough to fill about L1_BYTES (64 to
    256), each buffer row padded by 8 values so that the p stores of one data row do not fall 2 KiB apart,
    on the same cache sets (that alone made the transpose 2-3x slower at d = 30)."""
    rows = max(64, min(256, L1_BYTES // (8 * p) // 8 * 8))
    return np.empty((p, rows + 8))


@njit(cache=True, nogil=True, fastmath=REASSOC)
def _shifted_block(X, y, s, e, K, S, SS, ZT):
    """S = Σdz, SS = Σdz dzᵀ (lower triangle) over rows s:e, dz = (x, y) - K.

    Rows go a few hundred at a time into ZT (_transpose_buffer), shifted and transposed, so each of the
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


@njit(cache=True, nogil=True)
def _merge_into(n, mean, M, nb, bmean, C):
    """Chan's exact merge of (nb, bmean, C) into (n, mean, M), lower triangles; returns the new count."""
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
def _comoments_band(X, y, s, e, K0, off, M):
    """Rows s:e of z = (x, y): pilot mean K0, mean - K0 in off, centred co-moments (lower) in M; one pass."""
    d = X.shape[1]
    p = d + 1
    off[:] = 0.0
    M[:, :] = 0.0
    K0[:] = 0.0
    if e <= s:
        return 0.0
    K = np.zeros(p)
    S, SS, ZT, boff = np.empty(p), np.empty((p, p)), _transpose_buffer(p), np.empty(p)
    pe = min(e, s + PILOT)
    _shifted_block(X, y, s, pe, K, S, SS, ZT)
    K0[:] = S / (pe - s)
    K[:] = K0
    n = 0.0
    for b in range(s, e, BLOCK):
        be = min(b + BLOCK, e)
        nb = float(be - b)
        _shifted_block(X, y, b, be, K, S, SS, ZT)
        for j in range(p):
            for k in range(j + 1):
                SS[j, k] -= S[j] * S[k] / nb  # the block's centred co-moment
            boff[j] = (K[j] - K0[j]) + S[j] / nb  # the block's mean, as an offset from the pilot
        n = _merge_into(n, off, M, nb, boff, SS)
        for j in range(p):
            K[j] = K0[j] + boff[j]
    return n


@njit(cache=True, nogil=True)
def _merge_bands(counts, K0s, offs, Ms):
    """Chan's exact merge of the bands, means as offsets from the first band's pilot; returns (mean, M)."""
    p = K0s.shape[1]
    off, M, boff = np.zeros(p), np.zeros((p, p)), np.empty(p)
    n = 0.0
    for t in range(counts.shape[0]):
        if counts[t] > 0:
            for j in range(p):
                boff[j] = (K0s[t, j] - K0s[0, j]) + offs[t, j]
            n = _merge_into(n, off, M, counts[t], boff, Ms[t])
    return K0s[0] + off, M


@njit(cache=True, nogil=True)
def _comoments_serial(X, y):
    p = X.shape[1] + 1
    counts, K0s, offs, Ms = np.empty(1), np.empty((1, p)), np.empty((1, p)), np.empty((1, p, p))
    counts[0] = _comoments_band(X, y, 0, X.shape[0], K0s[0], offs[0], Ms[0])
    return _merge_bands(counts, K0s, offs, Ms)


@njit(cache=True, parallel=True)
def _comoments_parallel(X, y, nparts):
    n, d = X.shape
    p = d + 1
    nblocks = (n + BLOCK - 1) // BLOCK
    counts, K0s, offs, Ms = np.empty(nparts), np.empty((nparts, p)), np.empty((nparts, p)), np.empty((nparts, p, p))
    for t in prange(nparts):
        s = min(n, (t * nblocks // nparts) * BLOCK)
        e = min(n, ((t + 1) * nblocks // nparts) * BLOCK)
        counts[t] = _comoments_band(X, y, s, e, K0s[t], offs[t], Ms[t])
    return _merge_bands(counts, K0s, offs, Ms)


@njit(cache=True, parallel=True)
def _raw_moments(X, y, nparts):
    """XᵀX, Xᵀy and yᵀy (lower triangle of [X y]ᵀ[X y]) in float64: the model has no intercept to centre.
    The same transposed-block products as the co-moments, with no shift, one band per thread."""
    n, d = X.shape
    p = d + 1
    parts = np.zeros((nparts, p, p))
    for t in prange(nparts):
        _shifted_block(X, y, t * n // nparts, (t + 1) * n // nparts, np.zeros(p), np.empty(p), parts[t],
                       _transpose_buffer(p))
    return parts.sum(axis=0)


def comoments(X: np.ndarray, y: np.ndarray, parallel: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Means (d + 1,) and centred co-moments (d + 1, d + 1), lower triangle, of z = (x, y): one pass.

    parallel: bands on every thread; with one thread, the serial loop.
    """
    d = X.shape[1]
    nparts = numba_threads() if parallel else 1
    if d == 1:
        x = X.reshape(-1)  # (n, 1) C-contiguous: a unit-stride view the loop can vectorise
        tot = _comoments_d1_parallel(x, y, nparts) if nparts > 1 else _comoments_d1_serial(x, y)
        return tot[1:3].copy(), np.array([[tot[3], 0.0], [tot[4], tot[5]]])
    return _comoments_parallel(X, y, nparts) if nparts > 1 else _comoments_serial(X, y)


# --- OLS refinement: one more pass, residuals in double-double, for the problems that need it ------------

@intrinsic
def _fma(typingctx, a, b, c):
    """a * b + c with one rounding (LLVM's fma: the CPU's instruction where it has one)."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        return builder.fma(*args)
    return sig, codegen


@njit(cache=True, nogil=True)
def _residual_band(X, y, s, e, b0, beta, x_mean, out):
    """out[0] = Σr, out[1:] = Σ (x - x̄) r over rows s:e, r = y - b0 - x·β evaluated in double-double
    (TwoSum, TwoProd): the residuals of a close fit are tiny differences of large numbers, and their rounding
    is what limits the one-pass solve."""
    d = X.shape[1]
    out[:] = 0.0
    for i in range(s, e):
        yi = float(y[i])
        h = yi - b0  # TwoSum(y, -b0)
        z = h - yi
        lo = (yi - (h - z)) + (-b0 - z)
        for j in range(d):
            xj = float(X[i, j])
            p = xj * beta[j]
            pe = _fma(xj, beta[j], -p)  # x β = p + pe exactly
            t = h - p
            z = t - h
            lo += ((h - (t - z)) + (-p - z)) - pe
            h = t
        r = h + lo
        out[0] += r
        for j in range(d):
            out[1 + j] += (float(X[i, j]) - x_mean[j]) * r


@njit(cache=True, parallel=True)
def _residual_parallel(X, y, b0, beta, x_mean, nparts):
    n, d = X.shape
    parts = np.zeros((nparts, d + 1))
    for t in prange(nparts):
        _residual_band(X, y, t * n // nparts, (t + 1) * n // nparts, b0, beta, x_mean, parts[t])
    return parts.sum(axis=0)


def rounding_amplification(cond_g: float, beta, x_mean, y_mean: float, intercept: float) -> float:
    """How much the normal-equation solve can amplify the rounding of its sums: cond(XᵀX) of the scaled
    columns for the slopes, and for the intercept ȳ - x̄·β the size of the terms over the result's."""
    amp = cond_g
    if x_mean is not None:
        terms = abs(y_mean) + float(np.abs(np.asarray(x_mean)) @ np.abs(beta))
        amp = max(amp, terms / abs(intercept) if intercept else math.inf)
    return amp


def refine_ols(X, y, G, beta, x_mean, intercept: float, parallel: bool):
    """One step of iterative refinement: δ = G⁻¹ Xcᵀr, intercept += r̄ - x̄·δ, r in double-double, for every
    d (float64 residuals, even by BLAS, would not recover an intercept lost under a large offset).

    The intercept is updated directly, never recomputed as ȳ - x̄·β: that subtraction is where a large
    offset loses its digits. Returns (beta, intercept)."""
    d = X.shape[1]
    xm = np.zeros(d) if x_mean is None else np.ascontiguousarray(x_mean, dtype=np.float64)
    b = np.ascontiguousarray(beta, dtype=np.float64)
    nparts = numba_threads() if parallel else 1
    if nparts > 1:
        sums = _residual_parallel(X, y, float(intercept), b, xm, nparts)
    else:
        sums = np.zeros(d + 1)
        _residual_band(X, y, 0, X.shape[0], float(intercept), b, xm, sums)
    sr, g = sums[0], sums[1:]
    s, Gs = scale_columns(G, "refinement")  # as solve_gram scaled it (which already refused a zero column)
    delta = np.linalg.solve(Gs, g / s) / s
    if x_mean is not None:
        intercept = intercept + (sr / X.shape[0] - float(xm @ delta))
    return beta + delta, intercept


def _ols(name: str, parallel: bool):
    def solve(data, fit_intercept: bool, opts: Options):
        X, y = data
        d = X.shape[1]
        if fit_intercept:
            mean, M = comoments(X, y, parallel)
            x_mean, y_mean = mean[:d], mean[d]
        else:
            M = _raw_moments(X, y, numba_threads() if parallel else 1)
            x_mean, y_mean = None, 0.0
        G = M[:1, :1] if d == 1 else np.tril(M[:d, :d]) + np.tril(M[:d, :d], -1).T  # symmetric from the lower
        yy = float(M[d, d])
        beta, cond, digits = solve_gram(G, M[d, :d], kernel=name, u_acc=U64,
                                        u_input=UNIT_ROUNDOFF[opts.dtype], n=X.shape[0], yy=yy,
                                        x_mean=x_mean, y_mean=float(y_mean))
        intercept = float(y_mean - np.dot(x_mean, beta)) if fit_intercept else 0.0
        refined = U64 * rounding_amplification(cond ** 2, beta, x_mean, float(y_mean), intercept) > \
            10.0 ** -REFINE_BELOW_DIGITS
        if refined:  # `digits` stays the one-pass solve's bound: refinement only tightens the error under it
            beta2, intercept2 = refine_ols(X, y, G, beta, x_mean, intercept, parallel)
            if np.all(np.isfinite(beta2)) and math.isfinite(intercept2):
                beta, intercept = beta2, intercept2
            else:  # residuals beyond float64's range: keep the one-pass answer, which solve_gram vouched for
                refined = False
        result = ols_result(name, beta, x_mean, y_mean, cond=cond, digits=digits, intercept=intercept)
        result.refined = bool(refined)
        return result
    solve.__doc__ = ("One pass: co-moments of block-shifted rows, merged exactly (Chan); O(n d²), "
                     "no n-sized temporaries. A problem that amplifies rounding past REFINE_BELOW_DIGITS "
                     "(an intercept far below the means' scale, an ill-conditioned XᵀX) gets a second pass: "
                     "one refinement step with residuals in double-double.")
    return solve


register("ols", "numba", dtypes=BOTH,
         description="one compiled pass: co-moments of block-shifted rows merged exactly, the d x d products "
                     "as vectorised dot products of transposed row blocks; no temporaries")(
    _ols("ols/numba", parallel=False))
register("ols", "numba-parallel", dtypes=BOTH,
         description="the same single pass, one band of rows per core, bands merged exactly")(
    _ols("ols/numba-parallel", parallel=True))


# --- full-batch gradient descent: loss and gradient fused in one pass an epoch ---------------------

@njit(cache=True, nogil=True, fastmath=REASSOC)
def _gd_band_d1(x, y, b, w, s, e):
    """Σr², Σr, Σr·x over rows s:e with r = b + w x - y, one vectorised pass."""
    sse = 0.0
    gb = 0.0
    gw = 0.0
    for i in range(s, e):
        xi = x[i]
        r = b + w * xi - y[i]
        sse += r * r
        gb += r
        gw += r * xi
    return sse, gb, gw


@njit(cache=True, nogil=True, fastmath=REASSOC)
def _gd_band(X, y, b, w, gw, s, e):
    """Σr², Σr over rows s:e, and Σr·x into gw, with r = b + X w - y: one pass.

    The gradient is summed in a local array and written to gw once: summed straight into gw (a row of the
    threads' shared partials array) it went through memory every row, since the compiler cannot rule out
    that gw overlaps X, and the threads' rows of partials share cache lines; with two threads that made the
    pass about 2x slower at d = 10-30 (docs/performance.md)."""
    d = X.shape[1]
    g = np.zeros(d)
    sse = 0.0
    gb = 0.0
    for i in range(s, e):
        r = b - y[i]
        for j in range(d):
            r += w[j] * X[i, j]
        sse += r * r
        gb += r
        for j in range(d):
            g[j] += r * X[i, j]
    for j in range(d):
        gw[j] = g[j]
    return sse, gb


@njit(cache=True, nogil=True)
def _gd_epoch_serial(X, x, y, b, w, gw, nparts):
    gw[:] = 0.0
    if X.shape[1] == 1:
        sse, gb, g = _gd_band_d1(x, y, b, w[0], 0, y.shape[0])
        gw[0] = g
        return sse, gb
    return _gd_band(X, y, b, w, gw, 0, y.shape[0])


@njit(cache=True, parallel=True)
def _gd_epoch_parallel(X, x, y, b, w, gw, nparts):
    n, d = X.shape
    parts = np.zeros((nparts, d + 2))
    for t in prange(nparts):
        s, e = t * n // nparts, (t + 1) * n // nparts
        part = parts[t]
        if d == 1:
            sse, gb, g = _gd_band_d1(x, y, b, w[0], s, e)
            part[2] = g
        else:
            sse, gb = _gd_band(X, y, b, w, part[2:], s, e)
        part[0] = sse
        part[1] = gb
    tot = parts.sum(axis=0)
    gw[:] = tot[2:]
    return tot[0], tot[1]


def _gd(name: str, epoch, parallel: bool):
    def solve(data, fit_intercept: bool, opts: Options):
        X, y = data
        n = X.shape[0]
        x = X.reshape(-1) if X.shape[1] == 1 else y  # d = 1 reads x as a unit-stride vector; else unused
        nparts = numba_threads() if parallel else 1
        run = epoch if nparts > 1 else _gd_epoch_serial  # one thread: no parallel region to hand off to
        b, w = initial_params(opts, X.shape[1], fit_intercept)
        gw = np.empty_like(w)
        tr = LossTracker(opts, name)
        while True:
            sse, gb = run(X, x, y, b, w, gw, nparts)
            if tr.record(sse / n):
                break
            w -= (2.0 * opts.learning_rate / n) * gw
            if fit_intercept:
                b -= 2.0 * opts.learning_rate * gb / n
        return tr.result(b, w)
    solve.__doc__ = "Full-batch gradient descent, loss and gradient fused in one pass an epoch, no temporaries."
    return solve


register("gd", "numba", dtypes=BOTH, description="loss and gradient fused into one compiled pass an epoch")(
    _gd("gd/numba", _gd_epoch_serial, parallel=False))
register("gd", "numba-parallel", dtypes=BOTH,
         description="the fused pass split across every core (prange), partial gradients summed")(
    _gd("gd/numba-parallel", _gd_epoch_parallel, parallel=True))


# --- gradient descent from sufficient statistics: one pass, then O(d²) an epoch ----------------------

@njit(cache=True, nogil=True)
def _gram_epochs(C, c, syy, xbar, ybar, n, b, w, lr, epochs, tol, fit_intercept, hist):
    """Every epoch of full-batch descent from the centred statistics; returns (losses recorded, b).

    With x̃ = x - x̄, ỹ = y - ȳ and δ = b + w·x̄ - ȳ, the residual is r = δ + w·x̃ - ỹ, so
    Σr² = nδ² + wᵀCw - 2wᵀc + Σỹ², Σr = nδ and Σr x = Cw - c + nδ x̄: the iterates of plain descent.
    Stops as LossTracker does (epoch budget, |Δloss| < tol, a non-finite loss), so the history replays.
    """
    d = w.shape[0]
    Cw = np.empty(d)
    step = 2.0 * lr / n
    for k in range(epochs + 1):
        delta = b - ybar
        for j in range(d):
            delta += w[j] * xbar[j]
        quad = 0.0
        for j in range(d):
            acc = 0.0
            for m in range(d):
                acc += C[j, m] * w[m]
            Cw[j] = acc
            quad += w[j] * (acc - 2.0 * c[j])
        loss = (n * delta * delta + quad + syy) / n
        hist[k] = loss
        if not np.isfinite(loss) or k == epochs:
            return k + 1, b
        if k >= 1 and tol > 0 and abs(hist[k - 1] - loss) < tol:
            return k + 1, b
        for j in range(d):
            w[j] -= step * (Cw[j] - c[j] + n * delta * xbar[j])
        if fit_intercept:
            b -= step * n * delta
    return epochs + 1, b


@register("gd", "numba-gram", dtypes=BOTH,
          description="XᵀX, Xᵀy, means once in one parallel pass, then every epoch in O(d²) from them")
def gd_gram(data, fit_intercept: bool, opts: Options):
    """Full-batch gradient descent from sufficient statistics: one O(n d²) pass, then O(d²) an epoch.

    The same iterates and loss history as gd/numba to rounding; the loss is formed from the statistics,
    so where the fit is almost exact (Σr² ≪ Σỹ²) it carries an absolute error of about u·Σỹ²/n.
    """
    X, y = data
    n, d = X.shape
    mean, M = comoments(X, y, parallel=True)
    C = np.tril(M[:d, :d]) + np.tril(M[:d, :d], -1).T
    b, w = initial_params(opts, d, fit_intercept)
    hist = np.empty(opts.epochs + 1)
    count, b = _gram_epochs(C, M[d, :d].copy(), M[d, d], mean[:d].copy(), mean[d], float(n), b, w,
                            opts.learning_rate, opts.epochs, opts.tol, fit_intercept, hist)
    tr = LossTracker(opts, "gd/numba-gram")
    for k in range(count):  # the tracker sees the same losses and stops (or raises) at the same epoch
        if tr.record(hist[k]):
            break
    return tr.result(b, w)


# --- stochastic and mini-batch descent ------------------------------------------------------------

@njit(cache=True, nogil=True)
def _sse(X, y, b, w):
    n, d = X.shape
    total = 0.0
    for i in range(n):
        r = b - y[i]
        for j in range(d):
            r += w[j] * X[i, j]
        total += r * r
    return total


@njit(cache=True, nogil=True)
def _sgd_epoch(X, y, order, b, w, lr, invscaling, power_t, t, fit_intercept):
    d = X.shape[1]
    for i in order:
        t += 1
        eta = lr / t ** power_t if invscaling else lr
        r = b - y[i]
        for j in range(d):
            r += w[j] * X[i, j]
        g = 2.0 * eta * r
        for j in range(d):
            w[j] -= g * X[i, j]
        if fit_intercept:
            b -= g
    return b, t


@njit(cache=True, nogil=True)
def _minibatch_epoch(X, y, order, batch, b, w, gw, lr, fit_intercept):
    n, d = X.shape
    for s in range(0, n, batch):
        e = min(s + batch, n)
        gw[:] = 0.0
        gb = 0.0
        for q in range(s, e):
            i = order[q]
            r = b - y[i]
            for j in range(d):
                r += w[j] * X[i, j]
            gb += r
            for j in range(d):
                gw[j] += r * X[i, j]
        scale = 2.0 * lr / (e - s)
        for j in range(d):
            w[j] -= scale * gw[j]
        if fit_intercept:
            b -= scale * gb
    return b


@register("sgd", "numba", dtypes=BOTH, description="the per-row update loop compiled; one call per epoch")
def sgd(data, fit_intercept: bool, opts: Options):
    """One row per update in a seeded order, compiled: O(n d) an epoch with no interpreter in the loop."""
    X, y = data
    n = X.shape[0]
    b, w = initial_params(opts, X.shape[1], fit_intercept)
    tr, orders, t = LossTracker(opts, "sgd/numba"), epoch_orders(opts.seed, n), 0
    invscaling = opts.schedule == "invscaling"
    while not tr.record(_sse(X, y, b, w) / n):
        b, t = _sgd_epoch(X, y, next(orders), b, w, opts.learning_rate, invscaling, opts.power_t, t,
                          fit_intercept)
    return tr.result(b, w)


@register("minibatch", "numba", dtypes=BOTH, description="the batch loop compiled; one call per epoch")
def minibatch(data, fit_intercept: bool, opts: Options):
    """batch_size rows per update in a seeded order, compiled, gathering rows in place (no copies)."""
    X, y = data
    n = X.shape[0]
    b, w = initial_params(opts, X.shape[1], fit_intercept)
    gw = np.empty_like(w)
    tr, orders = LossTracker(opts, "minibatch/numba"), epoch_orders(opts.seed, n)
    while not tr.record(_sse(X, y, b, w) / n):
        b = _minibatch_epoch(X, y, next(orders), opts.batch_size, b, w, gw, opts.learning_rate, fit_intercept)
    return tr.result(b, w)


# --- compile time ---------------------------------------------------------------------------------

def compile_seconds() -> dict[str, float]:
    """Seconds to compile afresh (no disk cache) every compiled function used so far: this module's, the read
    floor's and fit's input checks' (kernels/scan.py), keyed "module.function".

    Each function is recompiled from its Python source for the signatures it has been called with;
    functions it calls are reused as compiled, so each figure is that function's own compile time.
    A new process's first call (compile or cache load, everything included) is timed by
    benchmarks/bench_compile.py.
    """
    from numba.core.registry import CPUDispatcher

    from . import floor, scan  # the floor and fit's input checks are compiled too

    out = {}
    for mod in (sys.modules[__name__], floor, scan):
        short = mod.__name__.rpartition(".")[2]
        for name, fn in sorted(vars(mod).items()):
            if not (isinstance(fn, CPUDispatcher) and fn.signatures and fn.py_func.__module__ == mod.__name__):
                continue
            opts = {k: v for k, v in fn.targetoptions.items() if k != "nopython"}
            fresh = njit(**opts, cache=False)(fn.py_func)
            t0 = time.perf_counter()
            for sig in fn.signatures:
                fresh.compile(sig)
            out[f"{short}.{name}"] = time.perf_counter() - t0
    return out
