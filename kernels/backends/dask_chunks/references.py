"""The Dask references, each fitted as its documentation says: dask.array.linalg.lstsq (TSQR) and dask-ml's
LinearRegression with its unpenalised Newton solver.

No gd/dask-ml: dask-ml's `gradient_descent` solver (dask_glm) picks each step by a backtracking line search
and stops on its own tolerance, so it has no fixed learning rate, epoch count or per-epoch loss: it cannot
keep the gd contract (the same iterates as gd/numpy)."""
from __future__ import annotations

import importlib.util

import dask.array as da
import numpy as np

from ...contract import FitResult, Options
from ...numerics.scaling import unscale
from ...registry import mark_unavailable, register
from ..references import BIG, SMALL
from .chunks import EXTRA_OPTIONS, prepare


def _safe_units(data):
    """(X, y, scale) as the in-memory references get them (references.in_safe_range): unchanged when every
    column's and y's largest |value| lies within [SMALL, BIG], else each in other units, powers of two, so the
    library's sums of squares neither overflow nor underflow. One extra pass (the largest magnitudes)."""
    top, ytop = data.compute([da.absolute(data.X).max(axis=0), da.absolute(data.y).max()])
    top, ytop = np.asarray(top, dtype=np.float64), float(ytop)
    if np.all((top <= BIG) & ((top >= SMALL) | (top == 0))) and ytop <= BIG and (ytop >= SMALL or ytop == 0):
        return data.X, data.y, None
    ex = np.frexp(np.where(top > 0, top, 1.0))[1].astype(np.int64)
    ey = int(np.frexp(ytop if ytop > 0 else 1.0)[1])
    X = data.X.map_blocks(lambda b: np.ldexp(b, -ex), dtype=data.X.dtype)  # exact: powers of two
    y = data.y.map_blocks(lambda b: np.ldexp(b, -ey), dtype=data.y.dtype)
    return X, y, (ex, ey)


def _result(params, fit_intercept: bool, scale, kernel: str, data) -> FitResult:
    params = np.asarray(params, dtype=np.float64).ravel()
    r = FitResult(intercept=float(params[0]) if fit_intercept else 0.0,
                  coef=params[1:] if fit_intercept else params, kernel=kernel)
    r = r if scale is None else unscale(r, *scale, kernel)
    r.timings.update(data.timings)
    return r


def _design(X, fit_intercept: bool):
    if fit_intercept:
        X = da.concatenate([da.ones((X.shape[0], 1), chunks=(X.chunks[0], 1), dtype=X.dtype), X], axis=1)
    return X.rechunk({1: -1})  # lstsq's TSQR needs one column chunk


@register("ols", "dask-lstsq", reference=True, prepare=prepare, lazy=True, extra_options=EXTRA_OPTIONS,
          description="dask.array.linalg.lstsq: tall-skinny QR of [1 X] (forms Q, about the size of X); "
                      "a pass for the largest magnitudes first")
def ols_lstsq(data, fit_intercept: bool, opts: Options):
    """TSQR of the (n, d+1) design, then R⁻¹Qᵀy: one pass for QR, Q written out, a pass for Qᵀy."""
    X, y, scale = _safe_units(data)
    beta, _, _, _ = da.linalg.lstsq(_design(X, fit_intercept), y)
    return _result(data.compute(beta), fit_intercept, scale, "ols/dask-lstsq", data)


if importlib.util.find_spec("dask_ml") is None:
    mark_unavailable("dask-ml", "dask-ml is not installed")
else:
    @register("ols", "dask-ml", reference=True, prepare=prepare, lazy=True, extra_options=EXTRA_OPTIONS,
              description="dask-ml LinearRegression(solver='newton'): Newton steps, no penalty, several passes; "
                          "a pass for the largest magnitudes first")
    def ols_dask_ml(data, fit_intercept: bool, opts: Options):
        """dask_glm's Newton solver (the one dask-ml documents without a penalty; its default 'admm' adds an L2
        penalty that also shrinks the intercept): a pass per iteration for the gradient and Hessian."""
        from dask_ml.linear_model import LinearRegression

        X, y, scale = _safe_units(data)
        with data.client.as_current():
            m = LinearRegression(solver="newton", fit_intercept=fit_intercept).fit(X, y)
        params = np.concatenate([[m.intercept_ if fit_intercept else 0.0], np.ravel(m.coef_)])
        return _result(params if fit_intercept else params[1:], fit_intercept, scale, "ols/dask-ml", data)
