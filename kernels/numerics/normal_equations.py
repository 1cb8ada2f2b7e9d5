"""Solving OLS from its sufficient statistics (the centred Gram matrix G = XcᵀXc, c = Xcᵀyc), d x d work,
with the digits it can vouch for (numerics/error_bounds.py)."""
from __future__ import annotations

import math

import numpy as np

from ..contract import FitResult
from ..errors import RangeError, SingularDesignError, UnderflowError
from .error_bounds import U64, ZERO_BELOW, converted, digits_of, forward_error, gamma, norms, param_scales
from .error_bounds import growth as sum_growth

# A sum of squares below this has lost precision to underflow (or is about to): squares of centred values
# smaller than 2^-480 are near float64's subnormal range (2^-1022). Validation has refused constant columns.
TINY = 2.0 ** -900


def scale_columns(G: np.ndarray, kernel: str) -> tuple[np.ndarray, np.ndarray]:
    """(s, Gs): the column norms sqrt(diag G) and the unit-diagonal Gs = G / (s sᵀ); refuses a column whose
    sum of squares underflowed (a non-constant column, so that is the scale, not a zero variance)."""
    g = np.diag(G)
    if not np.all(g >= TINY):
        raise _underflow(kernel, int(np.argmin(g)), float(np.min(g)))
    s = np.sqrt(g)
    return s, G / np.outer(s, s)


def _underflow(kernel: str, j: int, g: float) -> UnderflowError:
    return UnderflowError(f"{kernel}: column {j} has no variance left in this dtype (the sum of squares of its "
                          f"centred values is {g:.3g}): its values are too small to square (fit() rescales them "
                          "by a power of two and retries), or rounding to the dtype made it constant")


def check_y_range(yy: float, c, kernel: str) -> None:
    """Σ(y - ȳ)² that underflowed while y still meets X (c ≠ 0): y is too small to square, not constant."""
    if yy < TINY and (yy > 0 or np.any(np.asarray(c) != 0)):
        raise RangeError(f"{kernel}: the squares of y's centred values underflow float64 (their sum is {yy:.3g}); "
                         "rescale y (fit() does, by a power of two)")


def _overflow(kernel: str) -> RangeError:
    return RangeError(f"{kernel}: XᵀX overflowed: the values are too large to square in this dtype; "
                      "rescale X and y (fit() does, by a power of two; or use ols/exact)")


def solve_gram(G, c, *, kernel: str, u_acc: float, u_input: float, n: int, yy: float, x_mean=None,
               y_mean: float = 0.0, growth: float | None = None) -> tuple[np.ndarray, float, float]:
    """β from Gβ = c by Cholesky on the unit-diagonal scaling of G; also cond(X) and the digits to vouch for.

    G, c: centred cross-products (raw ones when x_mean is None); yy: Σ(y - ȳ)² (Σy² without intercept);
    u_acc: unit roundoff the sums were accumulated in, over `growth` terms (default n, the worst case of a
    recursive sum); u_input: rounding of each input value (the dtype the data were converted to).
    The normal equations square the condition number: forming G costs γ_n u_acc per entry of Gs, and
    Gs⁻¹ amplifies it by up to cond(X)²; the digits also cover the intercept ȳ - x̄·β.
    """
    G = np.asarray(G, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    if G.shape[0] == 1:  # one feature: Python floats, no 1 x 1 arrays
        g, c0 = float(G[0, 0]), float(c.reshape(-1)[0])
        if not (math.isfinite(g) and math.isfinite(c0) and math.isfinite(yy)):
            raise _overflow(kernel)
        check_y_range(yy, c0, kernel)
        return _solve_gram_d1(g, c0, kernel=kernel, u_acc=u_acc, u_input=u_input, n=n, yy=yy,
                              x_mean=None if x_mean is None else float(np.asarray(x_mean).reshape(-1)[0]),
                              y_mean=y_mean, growth=growth)
    if not (np.all(np.isfinite(G)) and np.all(np.isfinite(c)) and math.isfinite(yy)):
        raise _overflow(kernel)
    check_y_range(yy, c, kernel)
    return _solve_gram(G, c, kernel=kernel, u_acc=u_acc, u_input=u_input, n=n, yy=yy, x_mean=x_mean,
                       y_mean=y_mean, growth=growth)


def _solve_gram(G, c, *, kernel: str, u_acc: float, u_input: float, n: int, yy: float, x_mean, y_mean: float,
                growth: float | None) -> tuple[np.ndarray, float, float]:
    """solve_gram for any d, on float64 arrays already checked finite."""
    d = G.shape[0]
    s, Gs = scale_columns(G, kernel)
    lam = np.linalg.eigvalsh(Gs)
    cond_g = math.inf if lam[0] <= 0 else float(lam[-1] / lam[0])
    if not cond_g * u_acc < 0.5:
        raise SingularDesignError(
            f"{kernel}: the design matrix is singular to working precision (estimated condition number of "
            f"XᵀX {cond_g:.3g}): a column is (nearly) a linear combination of the others, so the normal "
            "equations cannot give one correct digit; drop the dependent column or use ols/qr or ols/exact"
        )
    cs = c / s
    try:
        L = np.linalg.cholesky(Gs)
    except np.linalg.LinAlgError:
        raise SingularDesignError(
            f"{kernel}: XᵀX is not positive definite in working precision (estimated condition number "
            f"{cond_g:.3g}); drop a dependent column or use ols/qr or ols/exact") from None
    beta_s = np.linalg.solve(L.T, np.linalg.solve(L, cs))
    beta = beta_s / s

    centred = x_mean is not None
    g_acc = gamma(sum_growth(n if growth is None else growth), u_acc)
    u_input = converted(u_input, n)
    rho, y_norm, yc_norm = norms(n, x_mean, y_mean, yy, s)
    # ‖r‖² = ‖yc‖² - βsᵀcs cancels when the fit is close; its error is of order γ·‖yc‖², so add that.
    r2 = yy - float(beta_s @ cs)
    r_norm = math.sqrt(max(r2, 0.0) + (g_acc + 4 * d * U64) * (yy + float(np.abs(beta_s) @ np.abs(cs))))
    ab = np.abs(beta_s)
    eta = u_input * rho + (u_acc if centred else 0.0)  # input rounding; the centring's own rounding
    eta_y = u_input * y_norm + (u_acc * yc_norm if centred else 0.0)
    eps_g = g_acc + (3 * d + 6) * U64  # forming G and c; scaling, Cholesky and two triangular solves
    g_extra, b_extra = 0.0, 0.0
    if centred:
        # The means carry γ_n errors: second order in G (n δx̄δx̄ᵀ), first order in the intercept.
        g_extra = g_acc ** 2 * rho * (float(rho @ ab) + y_norm)
        xm = np.asarray(x_mean, dtype=np.float64)
        b_extra = ((u_input + g_acc) * (y_norm + float(rho @ ab)) / math.sqrt(n)
                   + (d + 2) * U64 * (abs(y_mean) + float(np.abs(xm) @ np.abs(beta))))
    bound = forward_error(Gs, s, beta_s, n=n, x_mean=x_mean, y_norm=y_norm, yc_norm=yc_norm, r_norm=r_norm,
                          eta=eta, eta_y=eta_y, eps_g=eps_g, g_extra=g_extra, b_extra=b_extra)
    params = beta if not centred else np.concatenate([[y_mean - float(np.dot(x_mean, beta))], beta])
    scales = param_scales(n, y_norm, s * rho, centred)
    return beta, math.sqrt(cond_g), digits_of(params, bound, scales=scales)


def _solve_gram_d1(g: float, c: float, *, kernel: str, u_acc: float, u_input: float, n: int, yy: float,
                   x_mean: float | None, y_mean: float, growth: float | None) -> tuple[np.ndarray, float, float]:
    """solve_gram for one feature, in Python floats: _solve_gram's formulas with d = 1 (Gs = [1], cond 1), in
    the same order, without NumPy's per-call overhead on 1 x 1 arrays (about 0.15 ms, the whole cost of a fit
    below n ≈ 1e5 and most of a GPU solve's host side). LAPACK may divide where this multiplies by a
    reciprocal: the two agree to a few units in the last place
    (tests/test_accuracy.py::test_one_feature_solve_matches_the_general_solve)."""
    if not g >= TINY:
        raise _underflow(kernel, 0, g)
    s = math.sqrt(g)
    gs = g / (s * s)  # the scaled 1 x 1 Gram matrix: 1 up to rounding; cond(Gs) = 1
    cs = c / s
    L = math.sqrt(gs)  # Cholesky of Gs
    beta_s = (cs / L) / L
    beta = beta_s / s

    centred = x_mean is not None
    g_acc = gamma(sum_growth(n if growth is None else growth), u_acc)
    u_input = converted(u_input, n)
    if centred:
        rho = math.sqrt(1.0 + n * (x_mean / s) ** 2)
        y_norm, yc_norm = math.sqrt(max(yy, 0.0) + n * y_mean ** 2), math.sqrt(max(yy, 0.0))
    else:
        rho, y_norm, yc_norm = 1.0, math.sqrt(max(yy, 0.0)), math.sqrt(max(yy, 0.0))
    r2 = yy - beta_s * cs
    ab = abs(beta_s)
    r_norm = math.sqrt(max(r2, 0.0) + (g_acc + 4 * U64) * (yy + ab * abs(cs)))
    eta = u_input * rho + (u_acc if centred else 0.0)
    eta_y = u_input * y_norm + (u_acc * yc_norm if centred else 0.0)
    eps_g = g_acc + 9 * U64
    g_extra, b_extra = 0.0, 0.0
    if centred:
        g_extra = g_acc ** 2 * rho * (rho * ab + y_norm)
        b_extra = ((u_input + g_acc) * (y_norm + rho * ab) / math.sqrt(n)
                   + 3 * U64 * (abs(y_mean) + abs(x_mean) * abs(beta)))
    # forward_error with Gs = [gs]: F⁻¹ = 1/L, H = F⁻¹F⁻ᵀ, M = [-x̄/s; 1/s]
    finv = 1.0 / L
    h = finv * finv
    omega = eta_y + eta * ab
    v = eta * r_norm + eps_g * (yc_norm + ab) + g_extra
    rows = ([-(x_mean / s)] if centred else []) + [1.0 / s]
    bounds = [math.sqrt(max(m * h * m, 0.0)) * omega + abs(m * h) * v for m in rows]
    if centred:
        bounds[0] += b_extra
    params = ([y_mean - x_mean * beta] if centred else []) + [beta]
    scales = ([y_norm / math.sqrt(n)] if centred else []) + [y_norm / (s * rho)]
    dens = [max(abs(p), ZERO_BELOW * sc) for p, sc in zip(params, scales)]
    worst = max(b / (dn if dn > 0 else 1.0) for b, dn in zip(bounds, dens)) + U64
    digits = -math.log10(worst) if math.isfinite(worst) else -math.inf
    return np.array([beta]), 1.0, digits


def ols_result(kernel: str, beta, x_mean=None, y_mean: float = 0.0, *, cond: float, digits: float,
               timings: dict | None = None, intercept: float | None = None) -> FitResult:
    """FitResult from centred-fit coefficients: intercept = ȳ - x̄·β (0 without an intercept), unless the
    kernel computed the intercept itself (a refined one)."""
    beta = np.asarray(beta, dtype=np.float64)
    if intercept is None:
        intercept = 0.0 if x_mean is None else float(y_mean - np.dot(np.asarray(x_mean, dtype=np.float64), beta))
    return FitResult(intercept=intercept, coef=beta.copy(), kernel=kernel, cond=cond, digits=digits,
                     timings=dict(timings or {}))


def refined_digits(G, c, *, n: int, yy: float, x_mean, y_mean: float, params, u_input: float, refinement,
                   u_acc: float = U64) -> float:
    """Digits of a result refined to convergence (numerics.iterative_refinement) from the centred G, c: the
    input's rounding at the refined params, plus what the last correction says is left (norm-wise over
    θ = (intercept, β) measured as ‖(√n, s)∘δ‖, spread to every component), plus the floor of a step whose
    residuals and gradient are double-double (relative u² each, γ_n² for the sums). O(d³)."""
    G = np.asarray(G, dtype=np.float64).reshape(len(params) - int(x_mean is not None), -1)
    s, Gs = scale_columns(G, "refinement")
    centred = x_mean is not None
    params = np.asarray(params, dtype=np.float64)
    beta = params[1:] if centred else params
    beta_s = beta * s
    cs = np.asarray(c, dtype=np.float64).reshape(-1) / s
    rho, y_norm, yc_norm = norms(n, x_mean, y_mean, yy, s)
    ab = np.abs(beta_s)
    r2 = yy - float(beta_s @ cs)
    r_norm = math.sqrt(max(r2, 0.0) + (gamma(n, u_acc) + 4 * len(s) * U64) * (yy + float(ab @ np.abs(cs))))
    common = dict(n=n, x_mean=x_mean, y_norm=y_norm, yc_norm=yc_norm, r_norm=r_norm)
    u_input = converted(u_input, n)
    b_in = u_input * (y_norm + float(rho @ ab)) / math.sqrt(n) if centred else 0.0
    e_in = forward_error(Gs, s, beta_s, eta=u_input * rho, eta_y=u_input * y_norm, eps_g=0.0, b_extra=b_in,
                         **common)
    floor = 8 * U64 ** 2 + gamma(n, U64) ** 2
    e_floor = forward_error(Gs, s, beta_s, eta=0.0, eta_y=0.0, eps_g=0.0, eta_r=floor,
                            b_extra=floor * r_norm / math.sqrt(n), **common)
    left = refinement.error
    rows = 1.0 / s
    if centred:
        rows = np.concatenate([[1.0 / math.sqrt(n) + float(np.linalg.norm(np.asarray(x_mean) / s))], rows])
    return digits_of(params, e_in + e_floor + left * rows, scales=param_scales(n, y_norm, s * rho, centred))
