"""The first-order error bound every OLS kernel uses to say how many digits it can vouch for.

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
from decimal import Decimal

import numpy as np

from ..errors import SingularDesignError
from .scaling import rescaled, scaled_params

UNIT_ROUNDOFF = {"float64": 2.0 ** -53, "float32": 2.0 ** -24}
U64 = UNIT_ROUNDOFF["float64"]


def spread(n: float) -> float:
    """The share of a worst-case sum of n independent roundings that their sum reaches in practice: three
    standard deviations of a random walk, 3/√n, at most 1. The sums a kernel forms are taken to grow like
    this (3√n·u, not n·u); the input's own rounding stays worst-case (each value off by a relative u)."""
    return min(1.0, 3.0 / math.sqrt(n)) if n > 0 else 1.0


def growth(n: float) -> float:
    """Terms whose rounding a sum of n terms effectively accumulates: n·spread(n) = 3√n, at most n."""
    return n * spread(n)


def converted(u_input: float, n: int) -> float:
    """The input rounding to assume for data converted to a coarser dtype (u_input > u of float64): the float64
    values' own rounding, worst-case, plus the conversion's, which is random across n rows (spread(n))."""
    return u_input if u_input <= U64 else U64 + (u_input - U64) * spread(n)


def gamma(k: float, u: float) -> float:
    """Higham's γ_k = k u / (1 - k u): the worst-case relative error of a k-term sum or dot product."""
    return k * u / (1.0 - k * u) if k * u < 0.5 else math.inf


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


# A parameter smaller than ZERO_BELOW times its scale (the size it would have if its column explained all of y)
# counts as zero: its error is judged absolutely against ZERO_BELOW x that scale, not relative to itself.
ZERO_BELOW = 1e-6


def param_scales(n: int, y_norm: float, x_norms, fit_intercept: bool) -> np.ndarray:
    """Per parameter (intercept first), ‖y‖ / ‖column‖ of [1, X]: the data's scale for that parameter."""
    x_norms = np.asarray(x_norms, dtype=np.float64)
    with np.errstate(divide="ignore"):
        s = y_norm / x_norms
        return np.concatenate([[y_norm / math.sqrt(n)], s]) if fit_intercept else s


def correct_digits(estimate, truth, scales) -> float:
    """Correct digits by the user's measure: -log10 of the worst |p̂_i - p_i| / max(|p_i|, ZERO_BELOW·scale_i),
    the relative error of each parameter, or its absolute error against the data's scale where it is zero."""
    e, t = np.asarray(estimate, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    den = np.maximum(np.abs(t), ZERO_BELOW * np.asarray(scales, dtype=np.float64))
    worst = float(np.max(np.abs(e - t) / np.where(den > 0, den, 1.0)))
    return -math.log10(worst) if worst > 0 else math.inf


def digits_of(params, bound, u_out: float = U64, scales=None) -> float:
    """Digits vouched for: -log10 of the worst relative bound |δp_i| / max(|p_i|, ZERO_BELOW·scale_i) (absolute
    where that is 0); scales: param_scales, none given: plain relative."""
    p = np.abs(np.asarray(params, dtype=np.float64))
    if scales is not None:
        p = np.maximum(p, ZERO_BELOW * np.asarray(scales, dtype=np.float64))
    rel = np.asarray(bound, dtype=np.float64) / np.where(p > 0, p, 1.0)
    worst = float(np.max(rel)) + u_out
    return -math.log10(worst) if math.isfinite(worst) else -math.inf


def norms(n: int, x_mean, y_mean: float, yy: float, s):
    """(ρ (d,), ‖y‖, ‖yc‖): ρ_j = ‖X_j‖ / ‖X_j - x̄_j‖, the loss of the centring when |mean| >> spread."""
    if x_mean is None:
        return np.ones_like(s), math.sqrt(max(yy, 0.0)), math.sqrt(max(yy, 0.0))
    xm = np.asarray(x_mean, dtype=np.float64)
    rho = np.sqrt(1.0 + n * (xm / s) ** 2)
    return rho, math.sqrt(max(yy, 0.0) + n * y_mean ** 2), math.sqrt(max(yy, 0.0))


def input_digits(X: np.ndarray, y: np.ndarray, fit_intercept: bool, params, *, u_in: float) -> tuple[float, float]:
    """(digits, cond) of the exact solution `params` when each input value carries a rounding of u_in.

    The limit of any solver on inexact input: a QR of the centred X, O(n d²); O(d³) for the bound.
    """
    n, d = X.shape
    # Scale every column and y by a power of 2 (exact: relative errors unchanged) so no square over- or
    # underflows; the coefficients scale with them.
    X, y, ex, ey = rescaled(X, y)
    params = scaled_params(params, ex, ey, fit_intercept)
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
    rho, y_norm, yc_norm = norms(n, x_mean, y_mean, float(yc @ yc), s)
    beta_s = beta * s
    b_extra = u_in * (y_norm + float(rho @ np.abs(beta_s))) / math.sqrt(n) if fit_intercept else 0.0
    bound = forward_error(Gs, s, beta_s, n=n, x_mean=x_mean, y_norm=y_norm, yc_norm=yc_norm,
                          r_norm=float(np.linalg.norm(r)), eta=u_in * rho, eta_y=u_in * y_norm, eps_g=0.0,
                          b_extra=b_extra, factor=F)
    sv = np.linalg.svd(F, compute_uv=False)
    cond = math.inf if sv[-1] == 0 else float(sv[0] / sv[-1])
    x_norms = np.linalg.norm(X, axis=0)
    return digits_of(params, bound, scales=param_scales(n, y_norm, x_norms, fit_intercept)), cond


# A decimal of at most this many significant digits survives a round trip through float64 (DBL_DIG).
SHORT_DECIMAL = 15
SAMPLE = 1000  # values of a column looked at (evenly spaced): enough to tell a column's majority


def _short_inexact(x: float) -> bool:
    """Whether x is the double nearest a decimal of at most SHORT_DECIMAL significant digits, not equal to it."""
    r = repr(x)
    return len(r.partition("e")[0].lstrip("-").replace(".", "").strip("0")) <= SHORT_DECIMAL \
        and Decimal(x) != Decimal(r)


def rounded_input(X: np.ndarray, y: np.ndarray) -> bool:
    """Whether the values carry a rounding of the data they stand for, judged from the values themselves.

    Data read from decimal text (0.1, 6.860120914) are, value by value, the double nearest a decimal of at
    most SHORT_DECIMAL significant digits and not equal to it: each carries one rounding. Values computed in
    binary have 16-17 digit shortest forms, save about one in nine that lands on a short decimal by chance;
    integers (and 0.5) are their own decimals. So a column (or y) counts as rounded when most of its
    non-integer values (up to SAMPLE of them, evenly spaced) are short inexact decimals, and the input as
    rounded when any column or y is; otherwise the values are taken as exact as given. O(d x SAMPLE) µs.
    """
    X = np.asarray(X, dtype=np.float64)
    for v in [X[:, j] for j in range(X.shape[1])] + [np.asarray(y, dtype=np.float64).ravel()]:
        v = v[v != np.round(v)]  # every integer-valued double is an exact decimal
        if v.size:
            sample = v[:: max(1, v.size // SAMPLE)].tolist()
            if 2 * sum(map(_short_inexact, sample)) > len(sample):
                return True
    return False
