"""Gradient descent written once for any array library with `@`, `.T` and `.mean()` (NumPy arrays, torch
tensors): the numpy and torch backends run these loops on their own arrays, so the iterates are the same
algorithm by construction, and only the conversions differ."""
from __future__ import annotations

from ..contract import Options
from .iterative import LossTracker, batches, step_size


def loss(X, y, b, w) -> float:
    """Mean squared error of (b, w): one (n,) residual temporary."""
    r = X @ w + b - y
    return float(r @ r) / y.shape[0]


def gd_epochs(X, y, b, w, tr: LossTracker, opts: Options, fit_intercept: bool):
    """Full batch: residual r = Xw + b - y, then Xᵀr; two passes and one (n,) temporary an epoch."""
    n, lr = y.shape[0], opts.learning_rate
    while True:
        r = X @ w
        r += b - y if fit_intercept else -y
        if tr.record(float(r @ r) / n):
            return b, w
        w -= (2.0 * lr / n) * (X.T @ r)
        if fit_intercept:
            b -= 2.0 * lr * r.mean()


def minibatch_epochs(X, y, b, w, tr: LossTracker, orders, opts: Options, fit_intercept: bool, index=None):
    """batch_size rows per update: gather the rows (a copy), Xbᵀ(Xb w + b - yb). `index` turns an epoch's
    NumPy order into what X can be indexed with (a tensor on X's device)."""
    lr = opts.learning_rate
    while not tr.record(loss(X, y, b, w)):
        order = next(orders)
        for idx in batches(order if index is None else index(order), opts.batch_size):
            Xb = X[idx]
            r = Xb @ w + b - y[idx]
            w -= (2.0 * lr / idx.shape[0]) * (Xb.T @ r)
            if fit_intercept:
                b -= 2.0 * lr * r.mean()
    return b, w


def sgd_epochs(X, y, b, w, tr: LossTracker, orders, opts: Options, fit_intercept: bool):
    """One row per update in the epoch's order: n interpreter iterations an epoch, a few array calls each."""
    t = 0
    while not tr.record(loss(X, y, b, w)):
        for i in next(orders).tolist():
            t += 1
            g = 2.0 * step_size(opts, t) * (X[i] @ w + b - y[i])
            w -= g * X[i]
            if fit_intercept:
                b -= g
    return b, w
