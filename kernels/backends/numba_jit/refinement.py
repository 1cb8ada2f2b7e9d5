"""OLS refinement for the one-pass kernels: more passes, residuals and gradient in double-double, for the problems
that amplify rounding, carried until the corrections stop mattering (or stop shrinking)."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from numba import njit, prange

from ...numerics.double_double import dd_add, two_prod, two_sum
from ...numerics.error_bounds import U64, UNIT_ROUNDOFF, gamma
from ...numerics.iterative_refinement import refine
from ...numerics.normal_equations import ols_result, refined_digits, scale_columns, solve_gram
from ...threads import numba_threads

# The OLS kernels refine their answer with one more pass (residuals in double-double) when the problem
# amplifies rounding so much that the one-pass solve could leave fewer than this many digits: see refine_ols.
REFINE_BELOW_DIGITS = 14.0


@njit(cache=True, nogil=True)
def _residual_band(X, y, s, e, bh, bl, beta_h, beta_l, x_mean, out):
    """out (2d + 1, 2) = (Σr, Σ (x - x̄) r, Σ (x - x̄)) over rows s:e in double-double, r = y - b - x·β with
    b = bh + bl and β = beta_h + beta_l: the residuals of a close fit are tiny differences of large numbers, and a
    large residual's own rounding would leave cond²·u·‖r‖ in the gradient; here both stay at the level of u².
    x̄ here is the float64 mean given; Σ (x - x̄) tells refine_ols how far that is from the true mean."""
    d = X.shape[1]
    out[:, :] = 0.0
    X, y = X[s:e], y[s:e]  # indexed from 0 (WRAPAROUND_NOTE in settings.py)
    for i in range(y.shape[0]):
        h, lo = two_sum(float(y[i]), -bh)
        lo -= bl
        for j in range(d):
            xj = float(X[i, j])
            p, pe = two_prod(xj, beta_h[j])  # x β = p + pe exactly
            h, er = two_sum(h, -p)
            lo += er - pe - xj * beta_l[j]
        rh, rl = two_sum(h, lo)
        out[0, 0], out[0, 1] = dd_add(out[0, 0], out[0, 1], rh, rl)
        for j in range(d):
            w, we = two_sum(float(X[i, j]), -x_mean[j])  # x - x̄ exactly
            p, pe = two_prod(w, rh)
            out[1 + j, 0], t = two_sum(out[1 + j, 0], p)
            out[1 + j, 1] += t + pe + (w * rl + we * rh)
            out[1 + d + j, 0], t = two_sum(out[1 + d + j, 0], w)
            out[1 + d + j, 1] += t + we


@njit(cache=True, parallel=True)
def _residual_parallel(X, y, bh, bl, beta_h, beta_l, x_mean, nparts):
    n, d = X.shape
    parts = np.zeros((nparts, 2 * d + 1, 2))
    for t in prange(nparts):
        _residual_band(X, y, t * n // nparts, (t + 1) * n // nparts, bh, bl, beta_h, beta_l, x_mean, parts[t])
    return parts


def rounding_amplification(cond_g: float, beta, x_mean, y_mean: float, intercept: float) -> float:
    """How much the normal-equation solve can amplify the rounding of its sums: cond(XᵀX) of the scaled
    columns for the slopes, and for the intercept ȳ - x̄·β the size of the terms over the result's."""
    amp = cond_g
    if x_mean is not None:
        terms = abs(y_mean) + float(np.abs(np.asarray(x_mean)) @ np.abs(beta))
        amp = max(amp, terms / abs(intercept) if intercept else math.inf)
    return amp


def band_residual_sums(X, y, parallel: bool):
    """The residual sums of refine_ols over X and y in memory: one band of rows per thread, (bands, 2d + 1, 2)."""
    n, d = X.shape
    nparts = numba_threads() if parallel else 1

    def sums(bh, bl, beta_h, beta_l, xm):
        if nparts > 1:
            return _residual_parallel(X, y, bh, bl, beta_h, beta_l, xm, nparts)
        parts = np.zeros((1, 2 * d + 1, 2))
        _residual_band(X, y, 0, n, bh, bl, beta_h, beta_l, xm, parts[0])
        return parts
    return sums


def refine_ols(residual_sums, n: int, G, beta, x_mean, intercept: float, contraction: float):
    """Iterative refinement to convergence (numerics.iterative_refinement): δβ = G⁻¹ Xcᵀr, intercept += r̄ - x̄·δβ,
    r and Xcᵀr in double-double, for every d. `residual_sums(bh, bl, beta_h, beta_l, x_mean)` returns the
    double-double (Σr, Σ (x - x̄) r, Σ (x - x̄)) of _residual_band for each part of the rows, (parts, 2d + 1, 2),
    however the rows are split (threads' bands, Dask chunks); the parts are summed exactly here. x̄ is the float64
    mean, off the true mean by e = Σ (x - x̄) / n; the gradient and the intercept's update use x̄ + e (else e·Σr
    leaks an intercept error into δβ, and x̄·δβ amplifies it under a large offset). `contraction`: the
    a-priori bound of a step, cond(XᵀX) times the relative error of G. The intercept is updated directly,
    never recomputed as ȳ - x̄·β: that subtraction is where a large offset loses its digits. Returns a
    Refinement over θ = (intercept, β)."""
    d = len(beta)
    xm = np.zeros(d) if x_mean is None else np.ascontiguousarray(x_mean, dtype=np.float64)
    s, Gs = scale_columns(G, "refinement")  # as solve_gram scaled it (which already refused a zero column)
    L = np.linalg.cholesky(Gs)

    def step(theta):
        hi = np.array([float(t) for t in theta])
        lo = np.array([float(t - Fraction(h)) for t, h in zip(theta, hi.tolist())])
        parts = np.asarray(residual_sums(hi[0], lo[0], hi[1:], lo[1:], xm)).reshape(-1, 2 * d + 1, 2)
        sums = np.array([math.fsum(parts[:, j, :].ravel()) for j in range(2 * d + 1)])  # the parts' exact sum
        grad = sums[1:d + 1]
        if x_mean is not None:
            e = sums[d + 1:] / n  # the true mean - xm
            grad = grad - e * sums[0]  # Σ (x - (xm + e)) r
        delta = np.linalg.solve(L.T, np.linalg.solve(L, grad / s)) / s
        d0 = (sums[0] / n - float(xm @ delta) - float(e @ delta)) if x_mean is not None else 0.0
        return np.concatenate([[d0], delta])

    col = np.concatenate([[math.sqrt(n)], s]) if x_mean is not None else np.concatenate([[1.0], s])
    return refine([Fraction(float(intercept))] + [Fraction(float(b)) for b in beta], step, contraction, col)


AS_GIVEN_BELOW = 8.0  # results vouching for fewer digits also say what they vouch for on input exact as given


def ols_from_moments(name: str, M, x_mean, y_mean: float, n: int, opts, residual_sums, block: int):
    """β, intercept, cond and digits from the co-moments M (lower triangle of [X y], centred when x_mean is
    given, raw otherwise), refined to convergence (refine_ols with `residual_sums`) when the problem amplifies
    rounding past REFINE_BELOW_DIGITS: the one solve every co-moment kernel shares. `block`: rows summed
    around one shift before the exact merges (the co-moments' rounding grows with it)."""
    d = M.shape[0] - 1
    G = M[:1, :1] if d == 1 else np.tril(M[:d, :d]) + np.tril(M[:d, :d], -1).T  # symmetric from the lower
    yy = float(M[d, d])
    beta, cond, digits = solve_gram(G, M[d, :d], kernel=name, u_acc=U64, u_input=UNIT_ROUNDOFF[opts.dtype],
                                    n=n, yy=yy, x_mean=x_mean, y_mean=float(y_mean))
    intercept = float(y_mean - np.dot(x_mean, beta)) if x_mean is not None else 0.0
    refined = U64 * rounding_amplification(cond ** 2, beta, x_mean, float(y_mean), intercept) > \
        10.0 ** -REFINE_BELOW_DIGITS
    converged = False
    if refined:
        # A step's contraction: cond(XᵀX) times the relative error of the co-moments it solves with.
        c_bound = cond ** 2 * (gamma(block, U64) + gamma(n / block + d + 2, U64) + (3 * d + 6) * U64)
        ref = refine_ols(residual_sums, n, G, beta, x_mean, intercept, c_bound)
        refined = ref.steps > 0
        theta = [float(t) for t in ref.theta]
        intercept, beta = (theta[0] if x_mean is not None else 0.0), np.array(theta[1:])
        converged = ref.converged
        if converged:  # the bound after refinement; otherwise the one-pass bound stands
            digits = refined_digits(
                G, M[d, :d], n=n, yy=yy, x_mean=x_mean, y_mean=float(y_mean),
                params=np.concatenate([[intercept], beta]) if x_mean is not None else beta,
                u_input=UNIT_ROUNDOFF[opts.dtype], refinement=ref)
    result = ols_result(name, beta, x_mean, y_mean, cond=cond, digits=digits, intercept=intercept)
    result.refined = bool(refined)
    if digits < AS_GIVEN_BELOW and opts.dtype == "float64":
        # The same bound for input exact as given (no rounding of its own), which fit() keeps where the values
        # show no decimal origin; formed only where a warning is possible.
        if converged:
            as_given = refined_digits(G, M[d, :d], n=n, yy=yy, x_mean=x_mean, y_mean=float(y_mean),
                                      params=result.params if x_mean is not None else beta, u_input=0.0,
                                      refinement=ref)
        elif not refined:
            as_given = solve_gram(G, M[d, :d], kernel=name, u_acc=U64, u_input=0.0, n=n, yy=yy, x_mean=x_mean,
                                  y_mean=float(y_mean))[2]
        else:  # corrections applied but not converged: the one-pass bound was for other parameters
            as_given = digits
        result.digits_as_given = max(digits, as_given)
    return result
