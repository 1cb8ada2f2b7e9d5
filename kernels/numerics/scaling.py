"""Power-of-two rescaling, for data whose squares leave float64's range: X_j·2^-e_j and y·2^-e_y are exact (no
digit changes), the fit of the rescaled data is the fit of the data in other units, and the coefficients
come back as β_j·2^(e_y - e_j), the intercept as b·2^e_y, exactly unless they leave float64's range."""
from __future__ import annotations

import numpy as np

from ..contract import FitResult
from ..errors import RangeError


def exponents(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, int]:
    """(e (d,), e_y): the binary exponents of each column's and y's largest magnitude (0 for a zero column). O(n d)."""
    with np.errstate(invalid="ignore"):
        ex = np.frexp(np.max(np.abs(X), axis=0))[1].astype(np.int64)
    ey = int(np.frexp(np.max(np.abs(y)))[1]) if y.size else 0
    return ex, ey


def beyond_float32(X: np.ndarray, y: np.ndarray) -> bool:
    """Whether some value of X or y would overflow float32 (float64 input only; a pass over the data)."""
    big = float(np.finfo(np.float32).max)
    return X.dtype == np.float64 and bool(np.max(np.abs(X)) > big or np.max(np.abs(y)) > big)


def rescaled(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(X·2^-e, y·2^-e_y, e, e_y): every column and y with its largest magnitude in [1/2, 1)."""
    ex, ey = exponents(X, y)
    return np.ldexp(X, -ex).astype(X.dtype, copy=False), np.ldexp(y, -ey).astype(y.dtype, copy=False), ex, ey


def scaled_params(params, ex: np.ndarray, ey: int, fit_intercept: bool) -> np.ndarray:
    """(intercept, coef...) (or coef) of the data in the units of rescaled(): b·2^-e_y, β_j·2^(e_j - e_y)."""
    params = np.asarray(params, dtype=np.float64)
    if not fit_intercept:
        return np.ldexp(params, ex - ey)
    return np.concatenate([np.ldexp(params[:1], -ey), np.ldexp(params[1:], ex - ey)])


def unscale(result: FitResult, ex: np.ndarray, ey: int, kernel: str) -> FitResult:
    """The result of the rescaled fit in the data's units; refuses coefficients beyond float64's range."""
    with np.errstate(over="ignore"):
        coef = np.ldexp(np.asarray(result.coef, dtype=np.float64), ey - ex)
        intercept = float(np.ldexp(result.intercept, ey))
    if not (np.all(np.isfinite(coef)) and np.isfinite(intercept)):
        raise RangeError(f"{kernel}: the coefficients lie beyond float64's range (about 2^{int(np.max(ey - ex))}): "
                         "y is too large (or X too small) for its coefficients to be represented; rescale y or X")
    result.coef, result.intercept = coef, intercept
    return result
