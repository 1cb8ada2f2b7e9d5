"""The recommended float64 OLS: Householder QR in row blocks, then one step of iterative refinement whose
residuals are computed in double-double arithmetic.

1. A = [1, X - K, y - K_y] (K: the mean of a strided sample of rows, so |X - K| is about the spread): each
   thread folds its band of rows into an upper-triangular R, BLOCK rows at a time (the block stays in cache;
   no n-sized copy), and the bands' R factors are stacked and factored once more (TSQR). R holds Qᵀ(y - K_y)
   in its last column, so Q is never formed. θ = R₁₁⁻¹ R₁ᵧ.
2. Refinement: r = (y - K_y) - [1, X - K] θ in double-double (error-free TwoSum/TwoProduct, so the
   cancellation of a close fit loses nothing), g = Aᵀr, θ += R₁₁⁻¹ R₁₁⁻ᵀ g (corrected semi-normal equations).
   It is skipped when cond(A)² times QR's error is not small (the step would not contract).
3. The intercept K_y + θ₀ - K·θ is formed exactly (fractions) and rounded once.

Cost: two passes over X (about 2 n p² + 40 n d flops, p = d + 2), O(p x BLOCK) memory per thread besides X.
`digits` is a first-order bound (kernels.numerics.error_bounds.forward_error): input rounding + QR's backward
error, the latter shrunk by the refinement's contraction. Its main term grows with cond(X), not cond(X)² as the normal
equations' does; cond² enters only through the residual (‖r‖), as it does for every least-squares solver.
"""
from __future__ import annotations

BACKENDS = ("qr",)  # read by kernels/registry.py before import
PROVIDES = {"qr": ("ols",)}

import math
from fractions import Fraction

import numpy as np
from numba import njit, prange

from ..contract import FitResult, Options
from ..errors import InputError, SingularDesignError
from ..numerics.double_double import two_prod, two_sum
from ..numerics.error_bounds import U64, digits_of, forward_error, gamma
from ..registry import register
from ..threads import numba_threads

BLOCK = 512  # rows per Householder block: p x BLOCK float64 stays in L2
PILOT = 1024  # rows sampled (strided) for the shift K
FAST = {"reassoc", "contract"}  # the QR's sums may be reordered (vectorised) and fused: rounding only


@njit(cache=True, nogil=True, fastmath=FAST)
def _fold_rows(X, y, K, Ky, s, e, intercept, R, B):
    """Fold rows s:e of A = [1, X - K, y - Ky] into the upper-triangular R (p, p) with Householder reflections."""
    d = X.shape[1]
    p = R.shape[0]
    off = 1 if intercept else 0
    m = B.shape[1]
    for b in range(s, e, m):
        mb = min(b + m, e) - b
        for i in range(mb):
            if intercept:
                B[0, i] = 1.0
            for j in range(d):
                B[off + j, i] = X[b + i, j] - K[j]
            B[p - 1, i] = y[b + i] - Ky
        for j in range(p):
            sig = 0.0
            for i in range(mb):
                sig += B[j, i] * B[j, i]
            if sig == 0.0:
                continue
            rjj = R[j, j]
            nrm = math.sqrt(rjj * rjj + sig)
            alpha = -nrm if rjj >= 0.0 else nrm
            v0 = rjj - alpha
            tau = 1.0 / (nrm * (nrm + abs(rjj)))  # 2 / ‖v‖², v = (v0, B[j, :mb])
            R[j, j] = alpha
            for k in range(j + 1, p):
                w = v0 * R[j, k]
                for i in range(mb):
                    w += B[j, i] * B[k, i]
                w *= tau
                R[j, k] -= w * v0
                for i in range(mb):
                    B[k, i] -= w * B[j, i]


@njit(cache=True, parallel=True)
def _fold_bands(X, y, K, Ky, intercept, nparts, block):
    """One R factor per band of rows, every band on its own thread: (nparts, p, p)."""
    n = X.shape[0]
    p = X.shape[1] + 1 + (1 if intercept else 0)
    Rs = np.zeros((nparts, p, p))
    for t in prange(nparts):
        B = np.empty((p, block))
        _fold_rows(X, y, K, Ky, t * n // nparts, (t + 1) * n // nparts, intercept, Rs[t], B)
    return Rs


@njit(cache=True, nogil=True)
def _residual_block(T, y, K, Ky, th, tl, intercept, b, mb, sh, sl):
    """sh + sl = (y - Ky) - A (th + tl) for rows b:b+mb, in double-double (strict IEEE: no reordering).

    T (d, mb) holds the block of X transposed. TwoSum and TwoProduct are error-free, so X - K,
    each product and the running sum lose nothing beyond the terms w·tl + we·th, of relative size u².
    """
    d = T.shape[0]
    off = 1 if intercept else 0
    for i in range(mb):
        sh[i], sl[i] = two_sum(y[b + i], -Ky)
    if intercept:
        for i in range(mb):
            sh[i], e = two_sum(sh[i], -th[0])
            sl[i] += e - tl[0]
    for j in range(d):
        kj = K[j]
        t = th[off + j]
        tlo = tl[off + j]
        for i in range(mb):
            w, we = two_sum(T[j, i], -kj)
            pr, pe = two_prod(w, t)
            sh[i], er = two_sum(sh[i], -pr)
            sl[i] += er - pe - (w * tlo + we * t)


@njit(cache=True, nogil=True, fastmath=FAST)
def _gradient_block(T, K, intercept, mb, r, g):
    """g += Aᵀr over one block (A = [1, X - K], T the block of X transposed): its partial sums."""
    d = T.shape[0]
    off = 1 if intercept else 0
    if intercept:
        t = 0.0
        for i in range(mb):
            t += r[i]
        g[0] += t
    for j in range(d):
        kj = K[j]
        t = 0.0
        for i in range(mb):
            t += (T[j, i] - kj) * r[i]
        g[off + j] += t


@njit(cache=True, nogil=True)
def _residual_rows(X, y, K, Ky, th, tl, intercept, s, e, g, block):
    """g += Aᵀr over rows s:e, r = (y - Ky) - A (th + tl) evaluated in double-double, then rounded."""
    d = X.shape[1]
    sh, sl, r = np.empty(block), np.empty(block), np.empty(block)
    T = np.empty((d, block))
    for b in range(s, e, block):
        mb = min(b + block, e) - b
        for i in range(mb):
            for j in range(d):
                T[j, i] = X[b + i, j]
        _residual_block(T, y, K, Ky, th, tl, intercept, b, mb, sh, sl)
        for i in range(mb):
            r[i] = sh[i] + sl[i]
        _gradient_block(T, K, intercept, mb, r, g)


@njit(cache=True, parallel=True)
def _residual_bands(X, y, K, Ky, th, tl, intercept, nparts, block):
    n, d = X.shape
    q = d + (1 if intercept else 0)
    gs = np.zeros((nparts, q))
    for t in prange(nparts):
        _residual_rows(X, y, K, Ky, th, tl, intercept, t * n // nparts, (t + 1) * n // nparts, gs[t], block)
    return gs.sum(axis=0)


def _split(values) -> tuple[np.ndarray, np.ndarray]:
    """Fractions -> (hi, lo) float64 pairs with hi + lo within 2^-106 of each value."""
    hi = np.array([float(v) for v in values])
    lo = np.array([float(v - Fraction(h)) for v, h in zip(values, hi.tolist())])
    return hi, lo


def qr_solve(X: np.ndarray, y: np.ndarray, fit_intercept: bool, *, threads: int | None = None,
             refine: bool = True) -> FitResult:
    """Householder TSQR + one double-double refinement step: 2 passes, about 2 n p² + 40 n d flops."""
    n, d = X.shape
    nparts = max(1, min(threads or numba_threads(), n // (4 * BLOCK) or 1))
    off = int(fit_intercept)
    q = d + off
    if fit_intercept:
        idx = np.linspace(0, n - 1, min(n, PILOT)).astype(np.intp)
        K, Ky = X[idx].mean(axis=0), float(y[idx].mean())
    else:
        K, Ky = np.zeros(d), 0.0
    if nparts == 1:  # a parallel region costs a thread launch: small problems stay on this thread
        R = np.zeros((q + 1, q + 1))
        _fold_rows(X, y, K, Ky, 0, n, fit_intercept, R, np.empty((q + 1, min(n, BLOCK))))
    else:
        R = np.linalg.qr(_fold_bands(X, y, K, Ky, fit_intercept, nparts, BLOCK).reshape(-1, q + 1), mode="r")
    if not np.all(np.isfinite(R)):
        raise InputError("ols/qr: the values are too large to square in float64 (overflow); rescale X and y")
    R11 = R[:q, :q]
    sA = np.linalg.norm(R11, axis=0)  # column norms of A = [1, X - K]
    if not np.all(sA > 0):
        raise SingularDesignError(
            f"ols/qr: column {int(np.argmin(sA)) - off} has no variance left in float64 (its values' squares "
            "underflow, or it is a copy of the intercept); rescale it or drop it")
    sv = np.linalg.svd(R11 / sA, compute_uv=False)
    kappa_A = math.inf if sv[-1] == 0 else float(sv[0] / sv[-1])
    if not kappa_A * q * U64 < 0.01:
        raise SingularDesignError(
            f"ols/qr: the design matrix is singular to working precision (condition number of the scaled "
            f"[1, X] about {kappa_A:.3g}): a column is (nearly) a linear combination of the others; drop it")
    theta = np.linalg.solve(R11, R[:q, q])  # solve_triangular's work; R11 is tiny
    th, tl = theta, np.zeros(q)
    p_dim = q + 1
    eta_qr = p_dim * (min(n, BLOCK) + 2 * p_dim * (math.ceil(n / BLOCK) + nparts)) * U64 + U64
    contraction = kappa_A ** 2 * (2.0 * math.sqrt(q) * eta_qr + 2 * q * U64)
    refined = refine and contraction < 0.5
    if refined:
        if nparts == 1:
            g = np.zeros(q)
            _residual_rows(X, y, K, Ky, th, tl, fit_intercept, 0, n, g, BLOCK)
        else:
            g = _residual_bands(X, y, K, Ky, th, tl, fit_intercept, nparts, BLOCK)
        delta = np.linalg.solve(R11, np.linalg.solve(R11.T, g))
        exact = [Fraction(a) + Fraction(b) + Fraction(c) for a, b, c in zip(th.tolist(), tl.tolist(), delta.tolist())]
        th, tl = _split(exact)
    else:
        exact = [Fraction(a) for a in th.tolist()]
    coef = np.array([float(v) for v in exact[off:]])
    if fit_intercept:  # K_y + θ₀ - K·θ, exactly, rounded once
        b = Fraction(Ky) + exact[0] - sum((Fraction(k) * t for k, t in zip(K.tolist(), exact[1:])), Fraction(0))
        intercept = float(b)
    else:
        intercept = 0.0
    digits, cond = _digits(R, n, K, Ky, fit_intercept, coef, intercept, float(th[0]) if fit_intercept else 0.0,
                           eta_qr=eta_qr, contraction=contraction if refined else None, nparts=nparts)
    return FitResult(intercept=intercept, coef=coef, kernel="ols/qr", cond=cond, digits=digits)


def _digits(R, n, K, Ky, fit_intercept, coef, intercept, theta0, *, eta_qr, contraction, nparts):
    """(digits, cond of the centred scaled X) from R alone: input rounding + QR's error, O(d³)."""
    off = int(fit_intercept)
    q = R.shape[0] - 1
    d = q - off
    R22 = R[off:q, off:q]  # the R factor of X - x̄ (the first reflection centres) or of X
    s = np.linalg.norm(R22, axis=0)
    F = R22 / s  # FᵀF = Gs, the scaled centred Gram matrix, without squaring cond
    Gs = F.T @ F
    yc_norm = float(np.linalg.norm(R[off:, q]))
    r_norm = abs(float(R[q, q]))
    beta_s = coef * s
    if fit_intercept:
        sqn = R[0, 0]  # ±√n: R[0, j] / R[0, 0] is the mean of column j of A
        w_mean = R[0, 1:q] / sqn
        x_mean = K + w_mean
        y_mean = Ky + R[0, q] / sqn
        w_norm = np.sqrt(s ** 2 + n * w_mean ** 2)  # ‖X_j - K_j‖
        rho = np.sqrt(1.0 + n * (x_mean / s) ** 2)  # ‖X_j‖ / ‖X_j - x̄_j‖
        rho_w = w_norm / s
        y_norm = math.sqrt(yc_norm ** 2 + n * y_mean ** 2)
        yw_norm = math.sqrt(yc_norm ** 2 + n * (y_mean - Ky) ** 2)
        params = np.concatenate([[intercept], coef])
    else:
        x_mean, rho, rho_w = None, np.ones(d), np.ones(d)
        y_norm = yw_norm = yc_norm
        params = coef
    ab = np.abs(beta_s)
    common = dict(n=n, x_mean=x_mean, y_norm=y_norm, yc_norm=yc_norm, r_norm=r_norm, factor=F)
    # Input rounding: each value of X and y within a relative u of the data it stands for.
    e_in = forward_error(Gs, s, beta_s, eta=U64 * rho, eta_y=U64 * y_norm, eps_g=0.0,
                         b_extra=U64 * (y_norm + float(rho @ ab)) / math.sqrt(n), **common)
    # QR: column-wise backward error eta_qr on [1, X - K, y - K_y], plus the rounding of X - K.
    e_qr = forward_error(Gs, s, beta_s, eta=(eta_qr + U64) * rho_w,
                         eta_y=(eta_qr + U64) * yw_norm + eta_qr * math.sqrt(n) * abs(theta0), eps_g=0.0,
                         b_extra=eta_qr * (abs(theta0) + (yw_norm + float(rho_w @ ab)) / math.sqrt(n)), **common)
    if contraction is not None:
        # One step shrinks QR's error by the contraction (norm-wise, in the scaled coordinates) and adds
        # its own floor: g = Aᵀr summed in float64 in blocks, solved through the semi-normal equations.
        lam_min = float(np.linalg.svd(F, compute_uv=False)[-1]) ** 2
        # ‖δβs‖ from the QR bound, through the output map: a norm bound, spread to every component.
        w_rows = (np.concatenate([[float(np.linalg.norm(x_mean / s))], 1.0 / s]) if fit_intercept else 1.0 / s)
        omega = (eta_qr + U64) * (yw_norm + float(rho_w @ ab)) + eta_qr * math.sqrt(n) * abs(theta0)
        e0 = omega / math.sqrt(lam_min) + (eta_qr + U64) * float(np.linalg.norm(rho_w)) * r_norm / lam_min
        rows = math.ceil(n / nparts)
        g_acc = gamma(min(rows, BLOCK) + math.ceil(rows / BLOCK) + nparts + d + 2, U64)
        e_floor = forward_error(Gs, s, beta_s, eta=0.0, eta_y=0.0, eps_g=0.0, eta_r=g_acc,
                                b_extra=g_acc * r_norm / math.sqrt(n), **common)
        e_qr = np.minimum(e_qr, contraction * e0 * w_rows + e_floor)
    sv = np.linalg.svd(F, compute_uv=False)
    cond = math.inf if sv[-1] == 0 else float(sv[0] / sv[-1])
    return digits_of(params, e_in + e_qr), cond


@register("ols", "qr", dtypes=("float64",),
          description="Householder QR in row blocks (TSQR, no n-sized copy) + one refinement step with "
                      "double-double residuals; the recommended float64 OLS")
def ols(data, fit_intercept: bool, opts: Options) -> FitResult:
    """Householder TSQR of [1, X - K, y - K_y], one double-double refinement step: 2 passes, O(n p²)."""
    X, y = data
    return qr_solve(X, y, fit_intercept)


def vouch(X: np.ndarray, y: np.ndarray, fit_intercept: bool, result: FitResult) -> tuple[float, float]:
    """(digits, cond) for a result that came without them: its agreement with ols/qr, capped by qr's own digits.

    |p - p*| ≤ |p - p_qr| + |p_qr - p*|, so digits ≥ min(agreement, qr's digits) - log10(2). Costs one ols/qr.
    """
    ref = qr_solve(np.ascontiguousarray(X, dtype=np.float64), np.ascontiguousarray(y, dtype=np.float64),
                   fit_intercept)
    p = result.params if fit_intercept else result.coef
    pr = ref.params if fit_intercept else ref.coef
    scale = np.where(pr != 0, np.abs(pr), 1.0)
    worst = float(np.max(np.abs(np.asarray(p, dtype=np.float64) - pr) / scale))
    agree = -math.log10(worst) if worst > 0 else math.inf
    return min(agree, ref.digits) - math.log10(2.0), ref.cond
