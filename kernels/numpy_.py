"""Vectorised NumPy: each epoch or solve is a few whole-array operations (BLAS for the products)."""
from __future__ import annotations

import numpy as np

from .contract import Options
from .gram import UNIT_ROUNDOFF, ols_result, solve_gram
from .iterative import LossTracker, batches, epoch_orders, initial_params, step_size
from .registry import register

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


def _loss(X, y, b, w) -> float:
    r = X @ w + b - y
    return float(r @ r) / y.shape[0]


def _start(X, opts: Options, fit_intercept: bool):
    b, w = initial_params(opts, X.shape[1], fit_intercept)
    return X.dtype.type(b), w.astype(X.dtype)


@register("gd", "numpy", dtypes=BOTH, description="residual r = Xw + b - y, then Xᵀr: two passes an epoch")
def gd(data, fit_intercept: bool, opts: Options):
    """Full-batch gradient descent on the MSE: one (n,) residual temporary and two BLAS passes an epoch."""
    X, y = data
    n = y.shape[0]
    b, w = _start(X, opts, fit_intercept)
    tr = LossTracker(opts, "gd/numpy")
    lr = opts.learning_rate
    with np.errstate(over="ignore", invalid="ignore"):
        while True:
            r = X @ w
            r += b - y if fit_intercept else -y
            if tr.record(float(r @ r) / n):
                break
            w -= (2.0 * lr / n) * (X.T @ r)
            if fit_intercept:
                b -= 2.0 * lr * r.mean()
    return tr.result(b, w)


@register("sgd", "numpy", dtypes=BOTH, description="a Python loop over rows, NumPy on each length-d row")
def sgd(data, fit_intercept: bool, opts: Options):
    """One row per update in a seeded order: n interpreter iterations an epoch, each a small NumPy call."""
    X, y = data
    b, w = _start(X, opts, fit_intercept)
    tr, orders, t = LossTracker(opts, "sgd/numpy"), epoch_orders(opts.seed, y.shape[0]), 0
    with np.errstate(over="ignore", invalid="ignore"):
        while not tr.record(_loss(X, y, b, w)):
            for i in next(orders):
                t += 1
                g = 2.0 * step_size(opts, t) * (X[i] @ w + b - y[i])
                w -= g * X[i]
                if fit_intercept:
                    b -= g
    return tr.result(b, w)


@register("minibatch", "numpy", dtypes=BOTH, description="gather a batch of rows, then two small BLAS calls")
def minibatch(data, fit_intercept: bool, opts: Options):
    """batch_size rows per update: each update gathers its rows (a copy) and does Xbᵀ(Xb w + b - yb)."""
    X, y = data
    b, w = _start(X, opts, fit_intercept)
    tr, orders = LossTracker(opts, "minibatch/numpy"), epoch_orders(opts.seed, y.shape[0])
    lr = opts.learning_rate
    with np.errstate(over="ignore", invalid="ignore"):
        while not tr.record(_loss(X, y, b, w)):
            for idx in batches(next(orders), opts.batch_size):
                Xb = X[idx]
                r = Xb @ w + b - y[idx]
                w -= (2.0 * lr / idx.shape[0]) * (Xb.T @ r)
                if fit_intercept:
                    b -= 2.0 * lr * r.mean()
    return tr.result(b, w)
