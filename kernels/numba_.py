"""Numba JIT: the loops of the Python backend compiled, fused into single passes, cached on disk.

Data may be float32 or float64; every sum is accumulated in float64 (it costs nothing on the CPU).
"""
from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from .contract import Options
from .gram import UNIT_ROUNDOFF, ols_result, solve_gram
from .iterative import LossTracker, epoch_orders, initial_params
from .registry import register

BOTH = ("float64", "float32")
CHUNK_BYTES = 1 << 16  # rows per chunk sized so one chunk of X stays in L2 while it is centred


def chunk_rows(d: int) -> int:
    return max(64, CHUNK_BYTES // (8 * (d + 1)))


@njit(cache=True, nogil=True)
def _chunk_comoments(X, y, s, e, mean, M):
    """Means and centred co-moments of z = (x, y) over rows s:e, two passes over an in-cache chunk."""
    d = X.shape[1]
    p = d + 1
    z = np.empty(p)
    mean[:] = 0.0
    M[:, :] = 0.0
    for i in range(s, e):
        for j in range(d):
            mean[j] += X[i, j]
        mean[d] += y[i]
    mean /= e - s
    for i in range(s, e):
        for j in range(d):
            z[j] = X[i, j] - mean[j]
        z[d] = y[i] - mean[d]
        for j in range(p):
            zj = z[j]
            for k in range(j + 1):
                M[j, k] += zj * z[k]


@njit(cache=True, nogil=True)
def _merge(na, mean_a, M_a, nb, mean_b, M_b):
    """Chan et al.'s exact merge of two (count, mean, co-moment) summaries, into the first."""
    n = na + nb
    p = mean_a.shape[0]
    f = na * nb / n
    for j in range(p):
        dj = mean_b[j] - mean_a[j]
        for k in range(j + 1):
            M_a[j, k] += M_b[j, k] + f * dj * (mean_b[k] - mean_a[k])
    for j in range(p):
        mean_a[j] += (mean_b[j] - mean_a[j]) * (nb / n)
    return n


@njit(cache=True, nogil=True)
def _comoments_serial(X, y, rows):
    n, d = X.shape
    p = d + 1
    mean, M = np.zeros(p), np.zeros((p, p))
    cm, cM = np.empty(p), np.empty((p, p))
    count = 0.0
    for s in range(0, n, rows):
        e = min(s + rows, n)
        _chunk_comoments(X, y, s, e, cm, cM)
        count = _merge(count, mean, M, float(e - s), cm, cM)
    return mean, M


@njit(cache=True, parallel=True)
def _comoments_parallel(X, y, rows):
    n, d = X.shape
    p = d + 1
    nchunks = (n + rows - 1) // rows
    means, Ms = np.empty((nchunks, p)), np.empty((nchunks, p, p))
    for c in prange(nchunks):
        s = c * rows
        _chunk_comoments(X, y, s, min(s + rows, n), means[c], Ms[c])
    mean, M = means[0].copy(), Ms[0].copy()
    count = float(min(rows, n))
    for c in range(1, nchunks):
        s = c * rows
        count = _merge(count, mean, M, float(min(s + rows, n) - s), means[c], Ms[c])
    return mean, M


@njit(cache=True, parallel=True)
def _raw_moments(X, y, nthreads):
    """XᵀX and Xᵀy in float64 (no centring: the model has no intercept)."""
    n, d = X.shape
    p = d + 1
    parts = np.zeros((nthreads, p, p))
    per = (n + nthreads - 1) // nthreads
    for t in prange(nthreads):
        P = parts[t]
        for i in range(t * per, min((t + 1) * per, n)):
            for j in range(d):
                xj = X[i, j]
                P[d, j] += xj * y[i]
                for k in range(j + 1):
                    P[j, k] += xj * X[i, k]
    return parts.sum(axis=0)


def _ols(name: str, comoments):
    def solve(data, fit_intercept: bool, opts: Options):
        X, y = data
        d = X.shape[1]
        if fit_intercept:
            mean, M = comoments(X, y, chunk_rows(d))
            x_mean, y_mean = mean[:d], mean[d]
        else:
            M = _raw_moments(X, y, numba.get_num_threads())
            x_mean, y_mean = None, 0.0
        G = np.tril(M[:d, :d]) + np.tril(M[:d, :d], -1).T
        beta, cond, digits = solve_gram(G, M[d, :d], kernel=name, u_acc=UNIT_ROUNDOFF["float64"],
                                        u_input=UNIT_ROUNDOFF[opts.dtype])
        return ols_result(name, beta, x_mean, y_mean, cond=cond, digits=digits)
    solve.__doc__ = "One pass: per-chunk centred co-moments of (x, y) merged exactly (Chan), O(n d²)."
    return solve


register("ols", "numba", dtypes=BOTH,
         description="one pass, per-chunk centred co-moments merged exactly; no temporaries")(
    _ols("ols/numba", _comoments_serial))
register("ols", "numba-parallel", dtypes=BOTH,
         description="the one-pass co-moments over chunks on every core (prange), merged exactly")(
    _ols("ols/numba-parallel", _comoments_parallel))


@njit(cache=True, nogil=True)
def _gd_pass(X, y, b, w, gw, s, e):
    """Loss and gradient sums over rows s:e in one pass: returns (Σe², Σe); Σe·x added into gw."""
    d = X.shape[1]
    sse = 0.0
    gb = 0.0
    for i in range(s, e):
        r = b - y[i]
        for j in range(d):
            r += w[j] * X[i, j]
        sse += r * r
        gb += r
        for j in range(d):
            gw[j] += r * X[i, j]
    return sse, gb


@njit(cache=True, nogil=True)
def _gd_epoch_serial(X, y, b, w, gw, nthreads):
    gw[:] = 0.0
    return _gd_pass(X, y, b, w, gw, 0, X.shape[0])


@njit(cache=True, parallel=True)
def _gd_epoch_parallel(X, y, b, w, gw, nthreads):
    n, d = X.shape
    per = (n + nthreads - 1) // nthreads
    parts = np.zeros((nthreads, d + 2))
    for t in prange(nthreads):
        part = parts[t]
        sse, gb = _gd_pass(X, y, b, w, part[2:], t * per, min((t + 1) * per, n))
        part[0] = sse
        part[1] = gb
    tot = parts.sum(axis=0)
    gw[:] = tot[2:]
    return tot[0], tot[1]


def _gd(name: str, epoch):
    def solve(data, fit_intercept: bool, opts: Options):
        X, y = data
        n = X.shape[0]
        b, w = initial_params(opts, X.shape[1], fit_intercept)
        gw = np.empty_like(w)
        tr = LossTracker(opts, name)
        while True:
            sse, gb = epoch(X, y, b, w, gw, numba.get_num_threads())
            if tr.record(sse / n):
                break
            w -= (2.0 * opts.learning_rate / n) * gw
            if fit_intercept:
                b -= 2.0 * opts.learning_rate * gb / n
        return tr.result(b, w)
    solve.__doc__ = "Full-batch gradient descent, loss and gradient fused in one pass an epoch, no temporaries."
    return solve


register("gd", "numba", dtypes=BOTH, description="loss and gradient fused into one compiled pass an epoch")(
    _gd("gd/numba", _gd_epoch_serial))
register("gd", "numba-parallel", dtypes=BOTH,
         description="the fused pass split across every core (prange), partial gradients summed")(
    _gd("gd/numba-parallel", _gd_epoch_parallel))


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
