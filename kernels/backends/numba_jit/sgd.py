"""Stochastic and mini-batch descent: the per-row and per-batch update loops compiled, one call an epoch."""
from __future__ import annotations

import numpy as np
from numba import njit

from ...contract import Options
from ...numerics.iterative import LossTracker, epoch_orders, initial_params
from ...registry import register
from .settings import BOTH

# --- stochastic and mini-batch descent ------------------------------------------------------------

@njit(cache=True, nogil=True)
def _sse(X, y, b, w):
    n, d = X.shape
    total = 0.0
    for i in range(n):
        r = b - y[i]
        for j in range(d):
            r += w[j] * X[i, j]
        total += r * r
    return total


@njit(cache=True, nogil=True)
def _sgd_epoch(X, y, order, b, w, lr, invscaling, power_t, t, fit_intercept):
    d = X.shape[1]
    for i in order:
        t += 1
        eta = lr / t ** power_t if invscaling else lr
        r = b - y[i]
        for j in range(d):
            r += w[j] * X[i, j]
        g = 2.0 * eta * r
        for j in range(d):
            w[j] -= g * X[i, j]
        if fit_intercept:
            b -= g
    return b, t


@njit(cache=True, nogil=True)
def _minibatch_epoch(X, y, order, batch, b, w, gw, lr, fit_intercept):
    n, d = X.shape
    for s in range(0, n, batch):
        e = min(s + batch, n)
        gw[:] = 0.0
        gb = 0.0
        for q in range(s, e):
            i = order[q]
            r = b - y[i]
            for j in range(d):
                r += w[j] * X[i, j]
            gb += r
            for j in range(d):
                gw[j] += r * X[i, j]
        scale = 2.0 * lr / (e - s)
        for j in range(d):
            w[j] -= scale * gw[j]
        if fit_intercept:
            b -= scale * gb
    return b


@register("sgd", "numba", dtypes=BOTH, description="the per-row update loop compiled; one call per epoch")
def sgd(data, fit_intercept: bool, opts: Options):
    """One row per update in a seeded order, compiled: O(n d) an epoch with no interpreter in the loop."""
    X, y = data
    n = X.shape[0]
    b, w = initial_params(opts, X.shape[1], fit_intercept)
    tr, orders, t = LossTracker(opts, "sgd/numba"), epoch_orders(opts.seed, n), 0
    invscaling = opts.schedule == "invscaling"
    while not tr.record(_sse(X, y, b, w) / n):
        b, t = _sgd_epoch(X, y, next(orders), b, w, opts.learning_rate, invscaling, opts.power_t, t,
                          fit_intercept)
    return tr.result(b, w)


@register("minibatch", "numba", dtypes=BOTH, description="the batch loop compiled; one call per epoch")
def minibatch(data, fit_intercept: bool, opts: Options):
    """batch_size rows per update in a seeded order, compiled, gathering rows in place (no copies)."""
    X, y = data
    n = X.shape[0]
    b, w = initial_params(opts, X.shape[1], fit_intercept)
    gw = np.empty_like(w)
    tr, orders = LossTracker(opts, "minibatch/numba"), epoch_orders(opts.seed, n)
    while not tr.record(_sse(X, y, b, w) / n):
        b = _minibatch_epoch(X, y, next(orders), opts.batch_size, b, w, gw, opts.learning_rate, fit_intercept)
    return tr.result(b, w)
