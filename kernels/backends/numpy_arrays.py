"""Vectorised NumPy: each epoch or solve is a few whole-array operations (BLAS for the products)."""
from __future__ import annotations

BACKENDS = ("numpy",)  # read by kernels/registry.py before import

import numpy as np

from ..contract import Options
from ..numerics.array_descent import gd_epochs, minibatch_epochs, sgd_epochs
from ..numerics.error_bounds import UNIT_ROUNDOFF
from ..numerics.iterative import LossTracker, epoch_orders, initial_params
from ..numerics.normal_equations import ols_result, solve_gram
from ..registry import register

BOTH = ("float64", "float32")


@register("ols", "numpy", dtypes=BOTH,
          description="centre (x̄, ȳ), then XcᵀXc and Xcᵀyc with BLAS; Cholesky on the d x d system")
def ols(data, fit_intercept: bool, opts: Options):
    """Normal equations on centred columns: 3 passes over X and an (n, d) temporary, O(n d²)."""
    X, y = data
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow shows in G: solve_gram names it
        return _ols(X, y, fit_intercept, opts)


def _ols(X, y, fit_intercept: bool, opts: Options):
    if fit_intercept:
        x_mean, y_mean = X.mean(axis=0), y.mean()
        Xc = X - x_mean  # (n, d) temporary
        yc = y - y_mean
        G, c, yy = Xc.T @ Xc, Xc.T @ yc, yc @ yc
    else:
        x_mean, y_mean = None, 0.0
        G, c, yy = X.T @ X, X.T @ y, y @ y
    u = UNIT_ROUNDOFF[opts.dtype]
    beta, cond, digits = solve_gram(G, c, kernel="ols/numpy", u_acc=u, u_input=u, n=X.shape[0], yy=float(yy),
                                    x_mean=x_mean, y_mean=float(y_mean))
    return ols_result("ols/numpy", beta, x_mean, y_mean, cond=cond, digits=digits)


def _start(X, opts: Options, fit_intercept: bool):
    b, w = initial_params(opts, X.shape[1], fit_intercept)
    return X.dtype.type(b), w.astype(X.dtype)


def _descent(name: str, epochs, description: str, **loop):
    """Register one of numerics/array_descent's loops on NumPy arrays (NumPy's overflow warnings silenced:
    a diverging run is caught by the tracker, which names the problem)."""
    def solve(data, fit_intercept: bool, opts: Options):
        X, y = data
        b, w = _start(X, opts, fit_intercept)
        tr = LossTracker(opts, name)
        args = () if epochs is gd_epochs else (epoch_orders(opts.seed, y.shape[0]),)
        with np.errstate(over="ignore", invalid="ignore"):
            b, w = epochs(X, y, b, w, tr, *args, opts, fit_intercept, **loop)
        return tr.result(b, w)
    solve.__doc__ = epochs.__doc__
    algorithm, _, backend = name.partition("/")
    register(algorithm, backend, dtypes=BOTH, description=description)(solve)


_descent("gd/numpy", gd_epochs, "residual r = Xw + b - y, then Xᵀr: two passes an epoch")
_descent("sgd/numpy", sgd_epochs, "a Python loop over rows, NumPy on each length-d row")
_descent("minibatch/numpy", minibatch_epochs, "gather a batch of rows, then two small BLAS calls")
