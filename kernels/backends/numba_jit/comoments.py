"""OLS in one pass: co-moments of block-shifted rows, each block merged exactly into the total (Chan),
one band of rows per thread; d = 1 has its own vectorised loop. A block's d x d products are vectorised dot
products (block_products.py) below WIDE_FROM features and dsyrk at one BLAS thread per band from there
(blas_products.py). Registers ols/numba and ols/numba-parallel."""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ...contract import Options
from ...errors import RangeError, SingularDesignError
from ...numerics.comoment_merge import merge_bands, merge_into
from ...registry import register
from ...validation import check_moments, check_values
from .blas_products import WIDE_FROM, dsyrk, one_blas_thread, shift_buffer, shifted_block_blas
from .block_products import shifted_block, transpose_buffer
from .refinement import band_residual_sums, ols_from_moments
from .settings import BLOCK, BOTH, PILOT, REASSOC, bands

HOPELESS_DIGITS = 1.0  # a fit that vouches for fewer digits may have dependent columns the scan would name

# --- OLS, d = 1: the co-moments of (x, y) in one pass ---------------------------------------------

@njit(cache=True, nogil=True, fastmath=REASSOC)
def _shifted_sums_d1(x, y, s, e, kx, ky):
    """Σdx, Σdy, Σdx², Σdxdy, Σdy² over rows s:e with dx = x - kx, dy = y - ky: one vectorised pass."""
    xs = x[s:e]  # indexed from 0 (WRAPAROUND_NOTE in settings.py)
    ys = y[s:e]
    sx = 0.0
    sy = 0.0
    sxx = 0.0
    sxy = 0.0
    syy = 0.0
    for i in range(xs.shape[0]):
        dx = xs[i] - kx
        dy = ys[i] - ky
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
    """The bands' rows (count, Kx, Ky, offsets x and y, Cxx, Cxy, Cyy) merged exactly: (mean (2,), M (2, 2))."""
    Ms = np.zeros((parts.shape[0], 2, 2))
    Ms[:, 0, 0] = parts[:, 5]
    Ms[:, 1, 0] = parts[:, 6]
    Ms[:, 1, 1] = parts[:, 7]
    return merge_bands(parts[:, 0].copy(), parts[:, 1:3].copy(), parts[:, 3:5].copy(), Ms)


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




@njit(cache=True, nogil=True)
def _shifted_block(X, y, s, e, K, S, SS, buf, syrk):
    """S, SS of rows s:e shifted by K: by dsyrk when wide (buf from shift_buffer), else by dot products (buf
    from transpose_buffer)."""
    if X.shape[1] >= WIDE_FROM:
        shifted_block_blas(X, y, s, e, K, S, SS, buf, syrk)
    else:
        shifted_block(X, y, s, e, K, S, SS, buf)


@njit(cache=True, nogil=True)
def _buffer(p):
    return shift_buffer(p) if p - 1 >= WIDE_FROM else transpose_buffer(p)


@njit(cache=True, nogil=True)
def _comoments_band(X, y, s, e, K0, off, M, syrk):
    """Rows s:e of z = (x, y): pilot mean K0, mean - K0 in off, centred co-moments (lower) in M; one pass.
    syrk: blas_products.dsyrk(), which forms the products of blocks of WIDE_FROM features or more."""
    d = X.shape[1]
    p = d + 1
    off[:] = 0.0
    M[:, :] = 0.0
    K0[:] = 0.0
    if e <= s:
        return 0.0
    K = np.zeros(p)
    S, SS, ZT, boff = np.empty(p), np.empty((p, p)), _buffer(p), np.empty(p)
    pe = min(e, s + PILOT)
    _shifted_block(X, y, s, pe, K, S, SS, ZT, syrk)
    K0[:] = S / (pe - s)
    K[:] = K0
    n = 0.0
    for b in range(s, e, BLOCK):
        be = min(b + BLOCK, e)
        nb = float(be - b)
        _shifted_block(X, y, b, be, K, S, SS, ZT, syrk)
        for j in range(p):
            for k in range(j + 1):
                SS[j, k] -= S[j] * S[k] / nb  # the block's centred co-moment
            boff[j] = (K[j] - K0[j]) + S[j] / nb  # the block's mean, as an offset from the pilot
        n = merge_into(n, off, M, nb, boff, SS)
        for j in range(p):
            K[j] = K0[j] + boff[j]
    return n


@njit(cache=True, nogil=True)
def _comoments_serial(X, y, syrk):
    p = X.shape[1] + 1
    counts, K0s, offs, Ms = np.empty(1), np.empty((1, p)), np.empty((1, p)), np.empty((1, p, p))
    counts[0] = _comoments_band(X, y, 0, X.shape[0], K0s[0], offs[0], Ms[0], syrk)
    return merge_bands(counts, K0s, offs, Ms)


@njit(cache=True, parallel=True)
def _comoments_parallel(X, y, nparts, syrk):
    n, d = X.shape
    p = d + 1
    nblocks = (n + BLOCK - 1) // BLOCK
    counts, K0s, offs, Ms = np.empty(nparts), np.empty((nparts, p)), np.empty((nparts, p)), np.empty((nparts, p, p))
    for t in prange(nparts):
        s = min(n, (t * nblocks // nparts) * BLOCK)
        e = min(n, ((t + 1) * nblocks // nparts) * BLOCK)
        counts[t] = _comoments_band(X, y, s, e, K0s[t], offs[t], Ms[t], syrk)
    return merge_bands(counts, K0s, offs, Ms)


@njit(cache=True, parallel=True)
def _raw_moments(X, y, nparts, syrk):
    """XᵀX, Xᵀy and yᵀy (lower triangle of [X y]ᵀ[X y]) in float64: the model has no intercept to centre.
    The same transposed-block products as the co-moments, with no shift, one band per thread."""
    n, d = X.shape
    p = d + 1
    parts = np.zeros((nparts, p, p))
    for t in prange(nparts):
        _shifted_block(X, y, t * n // nparts, (t + 1) * n // nparts, np.zeros(p), np.empty(p), parts[t],
                       _buffer(p), syrk)
    return parts.sum(axis=0)


def chunk_comoments(X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """One chunk, serially: (count, pilot mean K0 (p,), mean - K0 (p,), centred co-moment (p, p) lower), the
    pilot kept apart so chunks merge exactly under a large common offset (comoment_merge.merge_offsets)."""
    p = X.shape[1] + 1
    if p == 2:
        out = np.empty(8)
        _comoments_d1_band(X.reshape(-1), y, 0, X.shape[0], out)
        M = np.zeros((2, 2))
        M[0, 0], M[1, 0], M[1, 1] = out[5], out[6], out[7]
        return float(out[0]), out[1:3].copy(), out[3:5].copy(), M
    K0, off, M = np.empty(p), np.empty(p), np.empty((p, p))
    with one_blas_thread(p - 1):
        return float(_comoments_band(X, y, 0, X.shape[0], K0, off, M, dsyrk())), K0, off, M


def raw_moments(X: np.ndarray, y: np.ndarray, parallel: bool = True) -> np.ndarray:
    """Lower triangle of [X y]ᵀ[X y] (no centring: for a model without intercept), in float64."""
    nparts = bands(X.shape[0], parallel)
    with one_blas_thread(X.shape[1]):
        return _raw_moments(X, y, nparts, dsyrk())


def comoments(X: np.ndarray, y: np.ndarray, parallel: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Means (d + 1,) and centred co-moments (d + 1, d + 1), lower triangle, of z = (x, y): one pass.

    parallel: bands on every thread; with one thread, the serial loop.
    """
    d = X.shape[1]
    nparts = bands(X.shape[0], parallel)
    if d == 1:
        x = X.reshape(-1)  # (n, 1) C-contiguous: a unit-stride view the loop can vectorise
        return _comoments_d1_parallel(x, y, nparts) if nparts > 1 else _comoments_d1_serial(x, y)
    with one_blas_thread(d):
        return _comoments_parallel(X, y, nparts, dsyrk()) if nparts > 1 else _comoments_serial(X, y, dsyrk())



def _ols(name: str, parallel: bool):
    def solve(data, fit_intercept: bool, opts: Options):
        X, y = data
        with one_blas_thread(X.shape[1]):
            return _fit(X, y, fit_intercept, opts)

    def _fit(X, y, fit_intercept: bool, opts: Options):
        if fit_intercept:
            mean, M = comoments(X, y, parallel)
            x_mean, y_mean = mean[:-1], float(mean[-1])
        else:
            M = raw_moments(X, y, parallel)
            x_mean, y_mean = None, 0.0
        folded = X.dtype == np.float64  # fit leaves float64 input's value checks to this pass
        if folded:
            check_moments(X, y, fit_intercept, True, M, x_mean)
        try:
            result = ols_from_moments(name, M, x_mean, y_mean, X.shape[0], opts,
                                      band_residual_sums(X, y, parallel), BLOCK)
        except (SingularDesignError, RangeError):
            if folded:  # repeated or dependent columns: named as the scan names them, if it can
                check_values(X, y, fit_intercept, True)
            raise
        if folded and not result.digits > HOPELESS_DIGITS:
            check_values(X, y, fit_intercept, True)
        return result
    solve.__doc__ = ("One pass: co-moments of block-shifted rows, merged exactly (Chan); O(n d²), "
                     "no n-sized temporaries. A problem that amplifies rounding past REFINE_BELOW_DIGITS "
                     "(an intercept far below the means' scale, an ill-conditioned XᵀX) gets refinement passes, "
                     "residuals and gradient in double-double, until the corrections stop mattering.")
    return solve


register("ols", "numba", dtypes=BOTH, checks_values=True,
         description="one compiled pass: co-moments of block-shifted rows merged exactly, the d x d products "
                     "as vectorised dot products of transposed row blocks; no temporaries")(
    _ols("ols/numba", parallel=False))
register("ols", "numba-parallel", dtypes=BOTH, checks_values=True,
         description="the same single pass, one band of rows per core, bands merged exactly")(
    _ols("ols/numba-parallel", parallel=True))
