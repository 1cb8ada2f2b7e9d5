"""Columns computed from another column (its integer powers: a polynomial design), and what the input's rounding
does to a least-squares solution when the columns are so related.

The general bound (error_bounds.forward_error) lets every value of every column carry a rounding of its own, of
either sign. A polynomial design's columns are not rounded that way: x is read from decimal text (one rounding
of each value), and x², ..., x^k are computed from the rounded x. Their perturbation is then

    δ(x^p)_k = p x_k^(p-1) δx_k + g_kp,

where δx_k (|δx_k| <= u|x_k|) is unknown but moves the whole row along the curve, and g_kp, the gap between the
stored power and the exact power of the stored x, is known: it is computed here exactly (double-double). To
first order (Wedin) the solution moves by

    δp = P (δy - δX β) + K δXᵀ r,

P the map from y to the parameters (Xc⁺, with the intercept's row 1/n - x̄ᵀXc⁺), K = (XcᵀXc)⁻¹ (intercept row
-x̄ᵀK), r the residual. So, parameter by parameter, the effect of the input's rounding is at most

    |P(-G β) + K Gᵀ r|                                  (the known gaps G, exactly as they are)
  + Σ_s Σ_k |r_k (K D_s)_k - P_k (D_s β)_k| u |x_ks|    (each source column s with the powers D_s computed from it)
  + Σ_k |P_k| u |y_k|                                    (y's rounding),

which keeps the cancellation along the curve that a column-by-column bound cannot see. O(n d²), in blocks of rows.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.linalg import solve_triangular

from .error_bounds import U64, digits_of, gamma, param_scales
from .scaling import rescaled, scaled_params

POWER_MAX = 30  # the highest power looked for
WIDEST = 200  # designs wider than this are not searched (d² pairs)
SAMPLE = 64  # rows looked at to find candidate powers; every row is checked before one is accepted
BLOCK = 1 << 15  # rows per block of the bound's O(n d) temporaries
# The first-order terms are evaluated in float64 through a QR of the centred, scaled design: relative error about
# cond·u. Past FIRST_ORDER_COND that is no bound (no claim is made); below it a tenth is kept in hand.
FIRST_ORDER_COND = 1e-3 / 2.0 ** -53
KNOWN_MARGIN = 1.1

_SPLIT = 134217729.0  # 2^27 + 1: Dekker's split of a double into two 26-bit halves


def _two_prod(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(p, e) with p = fl(a·b) and p + e = a·b exactly (Dekker; |a|, |b| < 2^995)."""
    p = a * b
    t = _SPLIT * a
    ah = t - (t - a)
    al = a - ah
    t = _SPLIT * b
    bh = t - (t - b)
    bl = b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def power_gap(x: np.ndarray, col: np.ndarray, p: int) -> np.ndarray | None:
    """col - x^p, exact to about 2^-100 of x^p, or None where col is not x^p to within 2p roundings (or the
    comparison is out of range: x^p under- or overflowing, a subnormal col)."""
    m, e = np.frexp(x)  # x = m 2^e, 0.5 <= |m| < 1: the powers of m stay far from over- and underflow
    hi, lo = m.copy(), np.zeros_like(m)
    for _ in range(p - 1):
        q, err = _two_prod(hi, m)
        err = err + lo * m
        hi = q + err
        lo = err - (hi - q)
    scaled = np.ldexp(col, -e * p)
    if not np.all(np.isfinite(scaled)) or np.any((col != 0) & (np.abs(col) < np.finfo(np.float64).tiny)):
        return None
    gap = (scaled - hi) - lo
    if not np.all(np.abs(gap) <= 2 * p * U64 * np.abs(hi)):
        return None
    return np.ldexp(gap, e * p)


def powers_of(X: np.ndarray) -> dict[int, tuple[int, int]]:
    """{j: (s, p)} for every column j that is a computed power p >= 2 of another column s (s itself not such a
    power). Candidates from SAMPLE rows (log|X_j| / log|X_s| the same integer on every row with |X_s| away from
    1), each confirmed on every row (power_gap, BLOCK rows at a time). {} for d > WIDEST."""
    n, d = X.shape
    if d < 2 or d > WIDEST:
        return {}
    rows = X[:: max(1, n // SAMPLE)]
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log2(np.abs(rows))  # (m, d)
        ratio = logs[:, :, None] / logs[:, None, :]  # [row, j, s]
    usable = np.isfinite(logs)[:, None, :] & (np.abs(logs)[:, None, :] > 0.05) & np.isfinite(logs)[:, :, None]
    found: dict[int, tuple[int, int]] = {}
    for j in range(d):
        for s in range(d):
            if s == j or not usable[:, j, s].any():
                continue
            r = ratio[usable[:, j, s], j, s]
            p = int(round(float(np.median(r))))
            if not 2 <= p <= POWER_MAX or np.max(np.abs(r - p)) > 1e-6:
                continue
            if all(power_gap(X[a:a + BLOCK, s], X[a:a + BLOCK, j], p) is not None for a in range(0, n, BLOCK)):
                found[j] = (s, p)
                break
    return {j: v for j, v in found.items() if v[0] not in found}  # a power of a power: left as its own column


def rounding_digits(X: np.ndarray, y: np.ndarray, params, fit_intercept: bool,
                    powers: dict[int, tuple[int, int]], u_in: float = U64) -> float:
    """Digits of `params` (the exact least-squares solution of X, y, to first order) that the input's rounding
    leaves, by the structured bound above: every column that is not a power of another carries a rounding of
    u_in per value, the powers carry their source's (along the curve) plus their known gaps, y carries u_in.
    O(n d²)."""
    n, d = X.shape
    # Powers of two bring every column and y near 1 (exact, so relative errors are unchanged); the parameters
    # scale with them. The gaps and the sources' powers are in the columns' own units: scaled with them.
    Xs, ys, ex, ey = rescaled(X, y)
    ps = scaled_params(params, ex, ey, fit_intercept)
    beta = ps[1:] if fit_intercept else ps
    x_mean = Xs.mean(axis=0) if fit_intercept else np.zeros(d)
    Xc = Xs - x_mean
    R = np.linalg.qr(Xc, mode="r")
    norms = np.linalg.norm(R, axis=0)
    if not np.all(norms > 0):
        return -math.inf
    F = R / norms  # Z = Xc / norms = Q F
    sv = np.linalg.svd(F, compute_uv=False)
    if not sv[-1] * FIRST_ORDER_COND > sv[0]:
        return -math.inf  # first-order terms evaluated in float64 would be guesses: no claim
    Finv = solve_triangular(F, np.eye(d))
    K = (Finv @ Finv.T) / np.outer(norms, norms)  # (XcᵀXc)⁻¹
    if fit_intercept:
        K = np.vstack([-(x_mean @ K)[None, :], K])
    r_all = ys - Xs @ beta - (ps[0] if fit_intercept else 0.0)
    # r as computed: off by at most γ_{d+2} of the terms it is formed from (they cancel on a good fit)
    r_err = gamma(d + 2, U64) * (np.abs(Xs) @ np.abs(beta) + np.abs(ys) + (abs(ps[0]) if fit_intercept else 0.0))
    absK = np.abs(K)
    sources = [s for s in range(d) if s not in powers]
    members = {s: [(s, 1)] + [(j, p) for j, (t, p) in powers.items() if t == s] for s in sources}
    known = np.zeros(len(ps))
    bound = np.zeros(len(ps))
    for a in range(0, n, BLOCK):
        b = min(n, a + BLOCK)
        Zb = Xc[a:b] / norms
        Pb = solve_triangular(F, solve_triangular(F, Zb.T, trans="T")) / norms[:, None]  # Xc⁺ on these rows
        if fit_intercept:
            Pb = np.vstack([1.0 / n - x_mean @ Pb, Pb])
        r, re = r_all[a:b], r_err[a:b]
        G = np.zeros((b - a, d))  # the known gaps, in the scaled units
        for j, (s, p) in powers.items():
            gap = power_gap(X[a:b, s], X[a:b, j], p)
            if gap is None:  # cannot happen for powers found by powers_of; no claim if it does
                return -math.inf
            G[:, j] = np.ldexp(gap, -ex[j])
        known += Pb @ -(G @ beta) + K @ (G.T @ r)
        bound += absK @ (np.abs(G).T @ re)
        for s, cols in members.items():
            xs = X[a:b, s]
            D = np.zeros((b - a, d))  # ∂(column j)/∂x_s per row, scaled units
            for j, p in cols:
                D[:, j] = np.ldexp(p * xs ** (p - 1), -ex[j]) if p > 1 else np.ldexp(np.ones(b - a), -ex[j])
            KD = K @ D.T
            J = KD * r - Pb * (D @ beta)
            bound += (np.abs(J) + np.abs(KD) * re) @ (u_in * np.abs(xs))
        bound += np.abs(Pb) @ (u_in * np.abs(ys[a:b]))
    total = KNOWN_MARGIN * np.abs(known) + bound
    y_norm = float(np.linalg.norm(ys))
    return digits_of(ps, total, scales=param_scales(n, y_norm, np.linalg.norm(Xs, axis=0), fit_intercept))
