"""Solving OLS from its sufficient statistics (the centred Gram matrix G = XcᵀXc, c = Xcᵀyc), d x d work,
and the first-order error bound every OLS kernel uses to say how many digits it can vouch for.

The error model works in centred, column-scaled coordinates Z = (X - x̄) / s (s = column norms of X - x̄),
where Gs = ZᵀZ has a unit diagonal and βs = s·β. Perturbations come in two kinds:

- of Z and y (input rounding, the centring's rounding, a QR's backward error), column j by at most
  eta[j]·‖Z_j‖ and y by eta_y; to first order δβs = Z⁺(Δy - ΔZ βs) + Gs⁻¹ΔZᵀr (Wedin);
- of Gs itself (forming the normal equations, solving them), every entry by at most eps_g;
  then δβs = Gs⁻¹(Δc - ΔGs βs).

The output (intercept, coef) = M βs is bounded component by component through the rows of M Gs⁻¹, so the
bound is component-wise, as the log relative error (LRE) is: a large |x̄|·|β| that cancels into a small
intercept shows up. Input values are assumed to carry one rounding each (relative u_input); an input
whose |mean| is much larger than its spread is ρ = ‖X_j‖/‖X_j - x̄_j‖ times more sensitive to that.
"""
from __future__ import annotations

import math

import numpy as np

from .contract import FitResult
from .errors import InputError, SingularDesignError

UNIT_ROUNDOFF = {"float64": 2.0 ** -53, "float32": 2.0 ** -24}
U64 = UNIT_ROUNDOFF["float64"]


def gamma(k: float, u: float) -> float:
    """Higham's γ_k = k u / (1 - k u): the worst-case relative error of a k-term sum or dot product."""
    return k * u / (1.0 - k * u) if k * u < 0.5 else math.inf


def scale_columns(G: np.ndarray, kernel: str) -> tuple[np.ndarray, np.ndarray]:
    """(s, Gs): the column norms sqrt(diag G) and the unit-diagonal Gs = G / (s sᵀ); refuses a zero column."""
    s = np.sqrt(np.diag(G))
    if not np.all(s > 0):
        j = int(np.argmin(s))
        raise SingularDesignError(f"{kernel}: column {j} has zero variance; its coefficient is not determined")
    return s, G / np.outer(s, s)


def forward_error(Gs, s, beta_s, *, n: int, x_mean, y_norm: float, yc_norm: float, r_norm: float,
                  eta, eta_y: float, eps_g: float, g_extra=0.0, b_extra: float = 0.0, eta_r=None,
                  factor=None) -> np.ndarray:
    """First-order bound on |δ(intercept, coef)| (or |δcoef| when x_mean is None), O(d³).

    eta (d,), eta_y: perturbations of Z's columns and of y (relative to ‖Z_j‖ = 1, absolute for y);
    eps_g: perturbation of each entry of Gs (and of c, relative to ‖yc‖); g_extra (d,): more of the same
    per equation; b_extra: an error of the intercept alone (the means it is formed from); eta_r (d,): the
    part of a perturbation that only meets the residual (ΔZᵀr, e.g. an inexact Zᵀr), default eta;
    factor: a triangular F with FᵀF = Gs (a QR's scaled R), used instead of Cholesky of Gs, which fails
    once cond(Gs) = cond(Z)² nears 1/u.
    """
    d = Gs.shape[0]
    try:
        Finv = np.linalg.inv(np.linalg.cholesky(Gs).T if factor is None else factor)
    except np.linalg.LinAlgError:
        return np.full(d + int(x_mean is not None), math.inf)
    H = Finv @ Finv.T  # Gs⁻¹ = F⁻¹F⁻ᵀ
    M = np.diag(1.0 / s)  # coef = βs / s
    if x_mean is not None:
        M = np.vstack([-(np.asarray(x_mean, dtype=np.float64) / s)[None, :], M])  # intercept = ȳ - x̄ᵀβ
    MH = M @ H
    a = np.sqrt(np.maximum(np.einsum("ij,ij->i", MH, M), 0.0))  # ‖row i of M Z⁺‖₂
    ab = np.abs(beta_s)
    eta = np.broadcast_to(np.asarray(eta, dtype=np.float64), (d,))
    omega = eta_y + float(eta @ ab)  # ‖Δy - ΔZ βs‖
    eta_r = eta if eta_r is None else np.broadcast_to(np.asarray(eta_r, dtype=np.float64), (d,))
    v = eta_r * r_norm + eps_g * (yc_norm + ab.sum()) + g_extra  # per equation of Gs βs = cs
    bound = a * omega + np.abs(MH) @ v
    if x_mean is not None:
        bound[0] += b_extra
    return bound


def digits_of(params, bound, u_out: float = U64) -> float:
    """Digits vouched for: -log10 of the worst relative bound |δp_i| / |p_i| (absolute where p_i = 0)."""
    p = np.abs(np.asarray(params, dtype=np.float64))
    rel = np.asarray(bound, dtype=np.float64) / np.where(p > 0, p, 1.0)
    worst = float(np.max(rel)) + u_out
    return -math.log10(worst) if math.isfinite(worst) else -math.inf


def _norms(n: int, x_mean, y_mean: float, yy: float, s):
    """(ρ (d,), ‖y‖, ‖yc‖): ρ_j = ‖X_j‖ / ‖X_j - x̄_j‖, the loss of the centring when |mean| >> spread."""
    if x_mean is None:
        return np.ones_like(s), math.sqrt(max(yy, 0.0)), math.sqrt(max(yy, 0.0))
    xm = np.asarray(x_mean, dtype=np.float64)
    rho = np.sqrt(1.0 + n * (xm / s) ** 2)
    return rho, math.sqrt(max(yy, 0.0) + n * y_mean ** 2), math.sqrt(max(yy, 0.0))


def _overflow(kernel: str) -> InputError:
    return InputError(f"{kernel}: XᵀX overflowed: the values are too large to square in this dtype; "
                      "rescale X and y (or use ols/exact)")


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
        return _solve_gram_d1(g, c0, kernel=kernel, u_acc=u_acc, u_input=u_input, n=n, yy=yy,
                              x_mean=None if x_mean is None else float(np.asarray(x_mean).reshape(-1)[0]),
                              y_mean=y_mean, growth=growth)
    if not (np.all(np.isfinite(G)) and np.all(np.isfinite(c)) and math.isfinite(yy)):
        raise _overflow(kernel)
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
    g_acc = gamma(n if growth is None else growth, u_acc)
    rho, y_norm, yc_norm = _norms(n, x_mean, y_mean, yy, s)
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
    return beta, math.sqrt(cond_g), digits_of(params, bound)


def _solve_gram_d1(g: float, c: float, *, kernel: str, u_acc: float, u_input: float, n: int, yy: float,
                   x_mean: float | None, y_mean: float, growth: float | None) -> tuple[np.ndarray, float, float]:
    """solve_gram for one feature, in Python floats: _solve_gram's formulas with d = 1 (Gs = [1], cond 1), in
    the same order, without NumPy's per-call overhead on 1 x 1 arrays (about 0.15 ms, the whole cost of a fit
    below n ≈ 1e5 and most of a GPU solve's host side). LAPACK may divide where this multiplies by a
    reciprocal: the two agree to a few units in the last place
    (tests/test_accuracy.py::test_one_feature_solve_matches_the_general_solve)."""
    if not g > 0:
        raise SingularDesignError(f"{kernel}: column 0 has zero variance; its coefficient is not determined")
    s = math.sqrt(g)
    gs = g / (s * s)  # the scaled 1 x 1 Gram matrix: 1 up to rounding; cond(Gs) = 1
    cs = c / s
    L = math.sqrt(gs)  # Cholesky of Gs
    beta_s = (cs / L) / L
    beta = beta_s / s

    centred = x_mean is not None
    g_acc = gamma(n if growth is None else growth, u_acc)
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
    worst = max(b / (abs(p) if p != 0 else 1.0) for b, p in zip(bounds, params)) + U64
    digits = -math.log10(worst) if math.isfinite(worst) else -math.inf
    return np.array([beta]), 1.0, digits


def input_digits(X: np.ndarray, y: np.ndarray, fit_intercept: bool, params, *, u_in: float) -> tuple[float, float]:
    """(digits, cond) of the exact solution `params` when each input value carries a rounding of u_in.

    The limit of any solver on inexact input: a QR of the centred X, O(n d²); O(d³) for the bound.
    """
    n, d = X.shape
    params = np.asarray(params, dtype=np.float64)
    # Scale every column and y by a power of 2 (exact: relative errors unchanged) so no square over- or
    # underflows; the coefficients scale with them.
    ex = np.frexp(np.max(np.abs(X), axis=0))[1]
    ey = int(np.frexp(np.max(np.abs(y)))[1]) if np.any(y != 0) else 0
    X, y = np.ldexp(X, -ex), np.ldexp(y, -ey)
    params = np.concatenate([np.ldexp(params[:1], -ey), np.ldexp(params[1:], ex - ey)]) if fit_intercept \
        else np.ldexp(params, ex - ey)
    beta = params[1:] if fit_intercept else params
    x_mean = X.mean(axis=0) if fit_intercept else None
    y_mean = float(y.mean()) if fit_intercept else 0.0
    Xc = X - x_mean if fit_intercept else X
    Rc = np.linalg.qr(Xc, mode="r")  # not XcᵀXc: its Cholesky fails once cond(X)² nears 1/u
    s = np.linalg.norm(Rc, axis=0)
    if not np.all(s > 0):
        raise SingularDesignError(f"column {int(np.argmin(s))} has zero variance; its coefficient is not determined")
    F = Rc / s
    Gs = F.T @ F
    yc = y - y_mean
    r = y - X @ beta - (params[0] if fit_intercept else 0.0)
    rho, y_norm, yc_norm = _norms(n, x_mean, y_mean, float(yc @ yc), s)
    beta_s = beta * s
    b_extra = u_in * (y_norm + float(rho @ np.abs(beta_s))) / math.sqrt(n) if fit_intercept else 0.0
    bound = forward_error(Gs, s, beta_s, n=n, x_mean=x_mean, y_norm=y_norm, yc_norm=yc_norm,
                          r_norm=float(np.linalg.norm(r)), eta=u_in * rho, eta_y=u_in * y_norm, eps_g=0.0,
                          b_extra=b_extra, factor=F)
    sv = np.linalg.svd(F, compute_uv=False)
    cond = math.inf if sv[-1] == 0 else float(sv[0] / sv[-1])
    return digits_of(params, bound), cond


def ols_result(kernel: str, beta, x_mean=None, y_mean: float = 0.0, *, cond: float, digits: float,
               timings: dict | None = None, intercept: float | None = None) -> FitResult:
    """FitResult from centred-fit coefficients: intercept = ȳ - x̄·β (0 without an intercept), unless the
    kernel computed the intercept itself (a refined one)."""
    beta = np.asarray(beta, dtype=np.float64)
    if intercept is None:
        intercept = 0.0 if x_mean is None else float(y_mean - np.dot(np.asarray(x_mean, dtype=np.float64), beta))
    return FitResult(intercept=intercept, coef=beta.copy(), kernel=kernel, cond=cond, digits=digits,
                     timings=dict(timings or {}))
