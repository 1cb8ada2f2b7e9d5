"""Solving OLS from its sufficient statistics: the (centred) Gram matrix G = XᵀX and c = Xᵀy, d x d work."""
from __future__ import annotations

import math

import numpy as np

from .contract import FitResult
from .errors import SingularDesignError

UNIT_ROUNDOFF = {"float64": 2.0 ** -53, "float32": 2.0 ** -24}


def solve_gram(G, c, *, kernel: str, u_acc: float, u_input: float = 0.0) -> tuple[np.ndarray, float, float]:
    """β from Gβ = c by Cholesky on the unit-diagonal scaling of G; also cond(X) and the digits to trust.

    The normal equations square the condition number: a relative error of about cond(X)² * u_acc from the
    arithmetic, plus cond(X) * u_input from rounding the input, bounds the coefficients' relative error.
    """
    G = np.asarray(G, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    s = np.sqrt(np.diag(G))
    if not np.all(s > 0):
        j = int(np.argmin(s))
        raise SingularDesignError(f"{kernel}: column {j} has zero variance; its coefficient is not determined")
    Gs = G / np.outer(s, s)
    lam = np.linalg.eigvalsh(Gs)
    cond_g = math.inf if lam[0] <= 0 else float(lam[-1] / lam[0])
    if not cond_g * u_acc < 0.5:
        raise SingularDesignError(
            f"{kernel}: the design matrix is singular to working precision (estimated condition number of "
            f"XᵀX {cond_g:.3g}): a column is (nearly) a linear combination of the others, so the normal "
            "equations cannot give one correct digit; drop the dependent column or use a QR-based kernel"
        )
    L = np.linalg.cholesky(Gs)
    z = np.linalg.solve(L, c / s)
    beta = np.linalg.solve(L.T, z) / s
    cond_x = math.sqrt(cond_g)
    digits = -math.log10(cond_g * u_acc + cond_x * u_input)
    return beta, cond_x, digits


def ols_result(kernel: str, beta, x_mean=None, y_mean: float = 0.0, *, cond: float, digits: float,
               timings: dict | None = None) -> FitResult:
    """FitResult from centred-fit coefficients: intercept = ȳ - x̄·β (0 without an intercept)."""
    beta = np.asarray(beta, dtype=np.float64)
    intercept = 0.0 if x_mean is None else float(y_mean - np.dot(np.asarray(x_mean, dtype=np.float64), beta))
    return FitResult(intercept=intercept, coef=beta.copy(), kernel=kernel, cond=cond, digits=digits,
                     timings=dict(timings or {}))
