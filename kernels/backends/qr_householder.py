"""The recommended float64 OLS: Householder QR in row blocks, then iterative refinement to convergence whose
residuals and gradients are computed in double-double arithmetic.

1. A = [1, X - K, y - K_y] (K: the mean of a strided sample of rows, so |X - K| is about the spread): each
   thread folds its band of rows into an upper-triangular R, BLOCK rows at a time (the block stays in cache;
   no n-sized copy), and the bands' R factors are stacked and factored once more (TSQR). R holds Qᵀ(y - K_y)
   in its last column, so Q is never formed. θ = R₁₁⁻¹ R₁ᵧ.
2. Refinement: r = (y - K_y) - [1, X - K] θ in double-double (error-free TwoSum/TwoProduct, so the
   cancellation of a close fit loses nothing), g = Aᵀr by Dot2 (so a large residual's rounding does not
   enter), θ += R₁₁⁻¹ R₁₁⁻ᵀ g (corrected semi-normal equations); where cond(A)² times QR's error is not small
   the correction solves with AᵀA formed in double-double, exactly. Repeated until one more step could not
   change the rounded answer (numerics.iterative_refinement); one step on well-conditioned data.
3. The intercept K_y + θ₀ - K·θ is formed exactly (fractions) and rounded once.

Cost: two passes over X on well-conditioned data (about 2 n p² + 60 n d flops, p = d + 2), one more per
extra step, O(p x BLOCK) memory per thread besides X. `digits` (kernels.numerics.error_bounds.forward_error):
input rounding + what the last correction says is left (or, unconverged, QR's backward error shrunk by the
contraction per step). Its main term grows with cond(X), not cond(X)² as the normal
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
from ..errors import RangeError, SingularDesignError, UnderflowError
from ..numerics.double_double import dd_add, dot2, two_prod, two_sum
from ..numerics.error_bounds import U64, digits_of, forward_error, gamma, param_scales
from ..numerics.iterative_refinement import Refinement, refine
from ..numerics.normal_equations import TINY
from ..registry import register
from ..threads import numba_threads
from .exact_rational import _bareiss_solve

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
def _a_block(X, K, intercept, b, mb, Ah, Al):
    """Ah + Al = A = [1, X - K] for rows b:b+mb, transposed (q, mb), exactly (TwoSum)."""
    d = X.shape[1]
    off = 1 if intercept else 0
    for i in range(mb):
        if intercept:
            Ah[0, i] = 1.0
            Al[0, i] = 0.0
        for j in range(d):
            Ah[off + j, i], Al[off + j, i] = two_sum(X[b + i, j], -K[j])


@njit(cache=True, nogil=True)
def _residual_block(Ah, Al, y, Ky, th, tl, b, mb, sh, sl):
    """sh + sl = (y - Ky) - A (th + tl) for rows b:b+mb in double-double (strict IEEE: no reordering),
    normalised; only the terms Ah·tl + Al·th (relative size u²) are rounded."""
    q = Ah.shape[0]
    for i in range(mb):
        sh[i], sl[i] = two_sum(y[b + i], -Ky)
    for j in range(q):
        t = th[j]
        tlo = tl[j]
        for i in range(mb):
            pr, pe = two_prod(Ah[j, i], t)
            sh[i], er = two_sum(sh[i], -pr)
            sl[i] += er - pe - (Ah[j, i] * tlo + Al[j, i] * t)
    for i in range(mb):
        sh[i], sl[i] = two_sum(sh[i], sl[i])


@njit(cache=True, nogil=True)
def _refine_rows(X, y, K, Ky, th, tl, intercept, s, e, g, G, gram, block):
    """Over rows s:e: g (q, 2) += Aᵀr with r = (y - Ky) - A (th + tl), and with `gram` G (q, q, 2) += AᵀA
    (lower triangle), everything in double-double: a large residual's rounding never enters Aᵀr."""
    q = g.shape[0]
    Ah, Al = np.empty((q, block)), np.empty((q, block))
    sh, sl = np.empty(block), np.empty(block)
    for b in range(s, e, block):
        mb = min(b + block, e) - b
        _a_block(X, K, intercept, b, mb, Ah, Al)
        _residual_block(Ah, Al, y, Ky, th, tl, b, mb, sh, sl)
        for j in range(q):
            h, lo = dot2(Ah[j], Al[j], sh, sl, mb)
            g[j, 0], g[j, 1] = dd_add(g[j, 0], g[j, 1], h, lo)
            if gram:
                for k in range(j + 1):
                    h, lo = dot2(Ah[j], Al[j], Ah[k], Al[k], mb)
                    G[j, k, 0], G[j, k, 1] = dd_add(G[j, k, 0], G[j, k, 1], h, lo)


@njit(cache=True, parallel=True)
def _refine_bands(X, y, K, Ky, th, tl, intercept, nparts, gram, block):
    n, d = X.shape
    q = d + (1 if intercept else 0)
    gs = np.zeros((nparts, q, 2))
    Gs = np.zeros((nparts, q, q, 2) if gram else (nparts, 1, 1, 2))
    for t in prange(nparts):
        _refine_rows(X, y, K, Ky, th, tl, intercept, t * n // nparts, (t + 1) * n // nparts, gs[t], Gs[t], gram,
                     block)
    return gs, Gs


def _split(values) -> tuple[np.ndarray, np.ndarray]:
    """Fractions -> (hi, lo) float64 pairs with hi + lo within 2^-106 of each value."""
    hi = np.array([float(v) for v in values])
    lo = np.array([float(v - Fraction(h)) for v, h in zip(values, hi.tolist())])
    return hi, lo


def qr_solve(X: np.ndarray, y: np.ndarray, fit_intercept: bool, *, threads: int | None = None,
             refine: bool = True) -> FitResult:
    """Householder TSQR + refinement to convergence (double-double r and Aᵀr): 2 passes on well-posed data."""
    n, d = X.shape
    nparts = max(1, min(threads or numba_threads(), n // (4 * BLOCK) or 1))
    off = int(fit_intercept)
    q = d + off
    if fit_intercept:
        idx = np.linspace(0, n - 1, min(n, PILOT)).astype(np.intp)
        with np.errstate(over="ignore", invalid="ignore"):  # a sum beyond float64 shows as inf in R, named below
            K, Ky = X[idx].mean(axis=0), float(y[idx].mean())
    else:
        K, Ky = np.zeros(d), 0.0
    if nparts == 1:  # a parallel region costs a thread launch: small problems stay on this thread
        R = np.zeros((q + 1, q + 1))
        _fold_rows(X, y, K, Ky, 0, n, fit_intercept, R, np.empty((q + 1, min(n, BLOCK))))
    else:
        Rs = _fold_bands(X, y, K, Ky, fit_intercept, nparts, BLOCK).reshape(-1, q + 1)
        R = np.linalg.qr(Rs, mode="r") if np.all(np.isfinite(Rs)) else Rs[:q + 1]
    if not np.all(np.isfinite(R)):
        raise RangeError("ols/qr: the values are too large to square in float64 (overflow); rescale X and y "
                         "(fit() does, by a power of two)")
    R11 = R[:q, :q]
    sA = np.linalg.norm(R11, axis=0)  # column norms of A = [1, X - K]
    yw2 = float(np.sum(R[:, q] ** 2))  # ‖y - K_y‖²: below TINY (and not exactly 0, a constant y) is underflow
    if not np.all(sA ** 2 >= TINY) or 0 < yw2 < TINY:
        j = int(np.argmin(sA)) - off if not np.all(sA ** 2 >= TINY) else "y"
        err = UnderflowError if j != "y" else RangeError
        raise err(f"ols/qr: column {j} has no variance left in float64 (the squares of its values less a shift "
                  "underflow): its values are too small to square (fit() rescales them by a power of two and "
                  "retries), or it is a copy of the intercept")
    sv = np.linalg.svd(R11 / sA, compute_uv=False)
    kappa_A = math.inf if sv[-1] == 0 else float(sv[0] / sv[-1])
    if not kappa_A * q * U64 < 0.01:
        raise SingularDesignError(
            f"ols/qr: the design matrix is singular to working precision (condition number of the scaled "
            f"[1, X] about {kappa_A:.3g}): a column is (nearly) a linear combination of the others; drop it")
    theta = np.linalg.solve(R11, R[:q, q])  # solve_triangular's work; R11 is tiny
    p_dim = q + 1
    eta_qr = p_dim * (min(n, BLOCK) + 2 * p_dim * (math.ceil(n / BLOCK) + nparts)) * U64 + U64
    contraction = kappa_A ** 2 * (2.0 * math.sqrt(q) * eta_qr + 2 * q * U64)
    exact = [Fraction(v) for v in theta.tolist()]
    ref = None
    if refine:
        ref = _refine(X, y, K, Ky, fit_intercept, nparts, R11, sA, kappa_A, contraction, exact)
        exact = ref.theta
    coef = np.array([float(v) for v in exact[off:]])
    if fit_intercept:  # K_y + θ₀ - K·θ, exactly, rounded once
        b = Fraction(Ky) + exact[0] - sum((Fraction(k) * t for k, t in zip(K.tolist(), exact[1:])), Fraction(0))
        intercept = float(b)
    else:
        intercept = 0.0
    theta0 = float(theta[0]) if fit_intercept else 0.0
    digits, as_given, cond = _digits(R, n, K, Ky, fit_intercept, coef, intercept, theta0, eta_qr=eta_qr,
                                     refinement=ref, sA=sA, nparts=nparts)
    return FitResult(intercept=intercept, coef=coef, kernel="ols/qr", cond=cond, digits=digits,
                     digits_as_given=as_given, refined=None if ref is None else ref.steps > 0)


GRAM_ABOVE = 0.25  # a priori contraction of the semi-normal step above which the step solves with AᵀA in dd


def _dd_floor(n: int, nparts: int, q: int) -> float:
    """Relative error of a double-double Aᵀr or AᵀA entry (Dot2 in 4 lanes per block, blocks and bands
    added in double-double): a few u² plus γ² of the longest chain."""
    chain = min(n, BLOCK) / 4 + math.ceil(n / nparts / BLOCK) + nparts + q
    return 8 * U64 ** 2 + gamma(chain, U64) ** 2


def _refine(X, y, K, Ky, fit_intercept, nparts, R11, sA, kappa_A, contraction, theta):
    """Refinement to convergence: r and Aᵀr in double-double each step; the correction solves RᵀR δ = Aᵀr
    (corrected semi-normal equations, contraction ~ cond²·QR's error) or, when that would not contract,
    AᵀA δ = Aᵀr exactly with AᵀA formed in double-double on the first step (contraction ~ cond²·u²)."""
    q = R11.shape[0]
    gram = contraction >= GRAM_ABOVE
    state = {}

    def step(th_exact):
        th, tl = _split(th_exact)
        if nparts == 1:
            g, G = np.zeros((q, 2)), np.zeros((q, q, 2) if gram and "G" not in state else (1, 1, 2))
            _refine_rows(X, y, K, Ky, th, tl, fit_intercept, 0, X.shape[0], g, G, G.shape[0] == q, BLOCK)
            gs, Gs = g[None], G[None]
        else:
            gs, Gs = _refine_bands(X, y, K, Ky, th, tl, fit_intercept, nparts, gram and "G" not in state, BLOCK)
        g = _exact_sum(gs)
        if not gram:
            return np.linalg.solve(R11, np.linalg.solve(R11.T, np.array([float(v) for v in g])))
        if "G" not in state:
            G = _exact_sum(Gs)
            state["G"] = [[G[max(j, k)][min(j, k)] for k in range(q)] for j in range(q)]
        return np.array([float(v) for v in _solve_exact(state["G"], g)])

    c = kappa_A ** 2 * q * _dd_floor(X.shape[0], nparts, q) if gram else contraction
    if not c < 0.5:
        return Refinement(theta, 0, c, False, None)
    return refine(theta, step, c, sA)


def _exact_sum(parts: np.ndarray):
    """Σ over the first axis of double-double pairs (last axis: hi, lo), exactly: nested lists of Fractions."""
    tot = np.zeros(parts.shape[1:-1], dtype=object)
    for idx in np.ndindex(*tot.shape):
        tot[idx] = sum((Fraction(float(h)) + Fraction(float(lo)) for h, lo in parts[(slice(None),) + idx]),
                       Fraction(0))
    return tot.tolist()


def _solve_exact(G, g):
    """x with G x = g exactly (G, g dyadic Fractions): brought to integers, Bareiss elimination."""
    den = max(v.denominator for row in G for v in row)
    dg = max(v.denominator for v in g)
    x = _bareiss_solve([[int(v * den) for v in row] for row in G], [int(v * dg) for v in g])
    return [v * Fraction(den, dg) for v in x]


def _digits(R, n, K, Ky, fit_intercept, coef, intercept, theta0, *, eta_qr, refinement, sA, nparts):
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
    u_in = U64  # each value within a relative u of the data it stands for
    e_in = forward_error(Gs, s, beta_s, eta=u_in * rho, eta_y=u_in * y_norm, eps_g=0.0,
                         b_extra=u_in * (y_norm + float(rho @ ab)) / math.sqrt(n), **common)
    # QR: column-wise backward error eta_qr on [1, X - K, y - K_y], plus the rounding of X - K.
    e_qr = forward_error(Gs, s, beta_s, eta=(eta_qr + U64) * rho_w,
                         eta_y=(eta_qr + U64) * yw_norm + eta_qr * math.sqrt(n) * abs(theta0), eps_g=0.0,
                         b_extra=eta_qr * (abs(theta0) + (yw_norm + float(rho_w @ ab)) / math.sqrt(n)), **common)
    if refinement is not None and refinement.steps:
        # Each correction solved from a double-double Aᵀr; the rounding left is of relative size u² (floor).
        floor = _dd_floor(n, nparts, q)
        e_floor = forward_error(Gs, s, beta_s, eta=0.0, eta_y=0.0, eps_g=0.0, eta_r=floor,
                                b_extra=floor * r_norm / math.sqrt(n), **common)
        # Output rows of θ = (θ₀, β) in A = [1, X - K]: intercept = K_y + θ₀ - K·β, coef = β.
        w_rows = (np.concatenate([[1.0 / sA[0] + float(np.abs(K) @ (1.0 / sA[1:]))], 1.0 / sA[1:]])
                  if fit_intercept else 1.0 / sA)
        if refinement.converged:  # a-posteriori: the last correction bounds what is left
            e_qr = refinement.error * w_rows + e_floor
        else:  # a-priori: each step shrinks the Householder error by the contraction
            lam_min = float(np.linalg.svd(F, compute_uv=False)[-1]) ** 2
            omega = (eta_qr + U64) * (yw_norm + float(rho_w @ ab)) + eta_qr * math.sqrt(n) * abs(theta0)
            e0 = omega / math.sqrt(lam_min) + (eta_qr + U64) * float(np.linalg.norm(rho_w)) * r_norm / lam_min
            ws = np.concatenate([[float(np.linalg.norm(x_mean / s))], 1.0 / s]) if fit_intercept else 1.0 / s
            c = refinement.contraction
            if c < 1:
                e_qr = np.minimum(e_qr, c ** refinement.steps * e0 * ws + e_floor)
    sv = np.linalg.svd(F, compute_uv=False)
    cond = math.inf if sv[-1] == 0 else float(sv[0] / sv[-1])
    x_norms = s * rho  # ‖X_j‖
    scales = param_scales(n, y_norm, x_norms, fit_intercept)
    return digits_of(params, e_in + e_qr, scales=scales), digits_of(params, e_qr, scales=scales), cond


@register("ols", "qr", dtypes=("float64",),
          description="Householder QR in row blocks (TSQR, no n-sized copy) + refinement to convergence with "
                      "double-double residuals; the recommended float64 OLS")
def ols(data, fit_intercept: bool, opts: Options) -> FitResult:
    """Householder TSQR of [1, X - K, y - K_y], refined to convergence in double-double: O(n p²)."""
    X, y = data
    return qr_solve(X, y, fit_intercept)
