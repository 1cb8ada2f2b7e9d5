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
from ...registry import mark_unavailable, register
from .chunks import EXTRA_OPTIONS, prepare


def _design(data, fit_intercept: bool):
    X = data.X
    if fit_intercept:
        X = da.concatenate([da.ones((X.shape[0], 1), chunks=(X.chunks[0], 1), dtype=X.dtype), X], axis=1)
    return X.rechunk({1: -1})  # lstsq's TSQR needs one column chunk


@register("ols", "dask-lstsq", reference=True, prepare=prepare, lazy=True, extra_options=EXTRA_OPTIONS,
          description="dask.array.linalg.lstsq: tall-skinny QR of [1 X] (forms Q, about the size of X)")
def ols_lstsq(data, fit_intercept: bool, opts: Options):
    """TSQR of the (n, d+1) design, then R⁻¹Qᵀy: one pass for QR, Q written out, a pass for Qᵀy."""
    beta, _, _, _ = da.linalg.lstsq(_design(data, fit_intercept), data.y)
    params = np.asarray(data.compute(beta), dtype=np.float64)
    r = FitResult(intercept=float(params[0]) if fit_intercept else 0.0,
                  coef=params[1:] if fit_intercept else params, kernel="ols/dask-lstsq")
    r.timings.update(data.timings)
    return r


if importlib.util.find_spec("dask_ml") is None:
    mark_unavailable("dask-ml", "dask-ml is not installed")
else:
    @register("ols", "dask-ml", reference=True, prepare=prepare, lazy=True, extra_options=EXTRA_OPTIONS,
              description="dask-ml LinearRegression(solver='newton'): Newton steps, no penalty, several passes")
    def ols_dask_ml(data, fit_intercept: bool, opts: Options):
        """dask_glm's Newton solver (the one dask-ml documents without a penalty; its default 'admm' adds an L2
        penalty that also shrinks the intercept): a pass per iteration for the gradient and Hessian."""
        from dask_ml.linear_model import LinearRegression

        with data.client.as_current():
            m = LinearRegression(solver="newton", fit_intercept=fit_intercept).fit(data.X, data.y)
        r = FitResult(intercept=float(m.intercept_) if fit_intercept else 0.0,
                      coef=np.asarray(m.coef_, dtype=np.float64).ravel(), kernel="ols/dask-ml")
        r.timings.update(data.timings)
        return r
