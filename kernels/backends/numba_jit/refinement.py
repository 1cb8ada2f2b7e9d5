"""OLS refinement: one more pass, residuals in double-double, for the problems that amplify rounding."""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ...numerics.double_double import two_prod, two_sum
from ...numerics.error_bounds import U64, UNIT_ROUNDOFF
from ...numerics.normal_equations import ols_result, scale_columns, solve_gram
from ...threads import numba_threads

# The OLS kernels refine their answer with one more pass (residuals in double-double) when the problem
# amplifies rounding so much that the one-pass solve could leave fewer than this many digits: see refine_ols.
REFINE_BELOW_DIGITS = 14.0


@njit(cache=True, nogil=True)
def _residual_band(X, y, s, e, b0, beta, x_mean, out):
    """out[0] = Σr, out[1:] = Σ (x - x̄) r over rows s:e, r = y - b0 - x·β evaluated in double-double
    (TwoSum, TwoProd): the residuals of a close fit are tiny differences of large numbers, and their rounding
    is what limits the one-pass solve."""
    d = X.shape[1]
    out[:] = 0.0
    for i in range(s, e):
        yi = float(y[i])
        h, lo = two_sum(yi, -b0)
        for j in range(d):
            p, pe = two_prod(float(X[i, j]), beta[j])  # x β = p + pe exactly
            h, e = two_sum(h, -p)
            lo += e - pe
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
    return refinement_step(G, beta, x_mean, intercept, sums, X.shape[0])


def refinement_step(G, beta, x_mean, intercept: float, sums, n: int):
    """The step from the residual sums (Σr, Σ (x - x̄) r) of _residual_band, however the rows were split."""
    xm = np.zeros(len(beta)) if x_mean is None else np.asarray(x_mean, dtype=np.float64)
    sr, g = sums[0], sums[1:]
    s, Gs = scale_columns(G, "refinement")  # as solve_gram scaled it (which already refused a zero column)
    delta = np.linalg.solve(Gs, g / s) / s
    if x_mean is not None:
        intercept = intercept + (sr / n - float(xm @ delta))
    return beta + delta, intercept


def ols_from_moments(name: str, M, x_mean, y_mean: float, n: int, opts, refine):
    """β, intercept, cond and digits from the co-moments M (lower triangle of [X y], centred when x_mean is
    given, raw otherwise), then refine(G, beta, x_mean, intercept) -> (beta, intercept) when the problem
    amplifies rounding past REFINE_BELOW_DIGITS: the one solve every co-moment kernel shares."""
    d = M.shape[0] - 1
    G = M[:1, :1] if d == 1 else np.tril(M[:d, :d]) + np.tril(M[:d, :d], -1).T  # symmetric from the lower
    beta, cond, digits = solve_gram(G, M[d, :d], kernel=name, u_acc=U64, u_input=UNIT_ROUNDOFF[opts.dtype],
                                    n=n, yy=float(M[d, d]), x_mean=x_mean, y_mean=float(y_mean))
    intercept = float(y_mean - np.dot(x_mean, beta)) if x_mean is not None else 0.0
    refined = U64 * rounding_amplification(cond ** 2, beta, x_mean, float(y_mean), intercept) > \
        10.0 ** -REFINE_BELOW_DIGITS
    if refined:  # `digits` stays the one-pass solve's bound: refinement only tightens the error under it
        beta2, intercept2 = refine(G, beta, x_mean, intercept)
        if np.all(np.isfinite(beta2)) and math.isfinite(intercept2):
            beta, intercept = beta2, intercept2
        else:  # residuals beyond float64's range: keep the one-pass answer, which solve_gram vouched for
            refined = False
    result = ols_result(name, beta, x_mean, y_mean, cond=cond, digits=digits, intercept=intercept)
    result.refined = bool(refined)
    return result
