"""Full-batch gradient descent: loss and gradient fused in one pass an epoch (gd/numba, gd/numba-parallel),
and from sufficient statistics, one pass then O(d²) an epoch (gd/numba-gram)."""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ...contract import Options
from ...errors import SingularDesignError
from ...numerics.iterative import LossTracker, initial_params
from ...registry import register
from ...validation import TINY, check_moments, check_rank, check_values
from .comoments import comoments
from .gd_first_epoch import check_first_epoch, first_epoch_parallel, first_epoch_serial
from .gd_rows import gd_band, gd_band_d1
from .settings import BOTH, bands

# --- full-batch gradient descent: loss and gradient fused in one pass an epoch ---------------------

@njit(cache=True, nogil=True)
def _gd_epoch_serial(X, x, y, b, w, gw, nparts):
    gw[:] = 0.0
    if X.shape[1] == 1:
        sse, gb, g = gd_band_d1(x, y, b, w[0], 0, y.shape[0])
        gw[0] = g
        return sse, gb
    return gd_band(X, y, b, w, gw, 0, y.shape[0])


@njit(cache=True, parallel=True)
def _gd_epoch_parallel(X, x, y, b, w, gw, nparts):
    n, d = X.shape
    parts = np.zeros((nparts, d + 2))
    for t in prange(nparts):
        s, e = t * n // nparts, (t + 1) * n // nparts
        part = parts[t]
        if d == 1:
            sse, gb, g = gd_band_d1(x, y, b, w[0], s, e)
            part[2] = g
        else:
            sse, gb = gd_band(X, y, b, w, part[2:], s, e)
        part[0] = sse
        part[1] = gb
    tot = parts.sum(axis=0)
    gw[:] = tot[2:]
    return tot[0], tot[1]


def _gd(name: str, epoch, first_epoch, parallel: bool):
    def solve(data, fit_intercept: bool, opts: Options):
        X, y = data
        n = X.shape[0]
        x = X.reshape(-1) if X.shape[1] == 1 else y  # d = 1 reads x as a unit-stride vector; else unused
        nparts = bands(n, parallel)
        run = epoch if nparts > 1 else _gd_epoch_serial  # one thread: no parallel region to hand off to
        b, w = initial_params(opts, X.shape[1], fit_intercept)
        gw = np.empty_like(w)
        tr = LossTracker(opts, name)
        if X.dtype == np.float64:  # fit leaves float64 input's checks (values, rank) to the first epoch
            sse, gb, stats = (first_epoch if nparts > 1 else first_epoch_serial)(X, x, y, b, w, gw, nparts)
            check_first_epoch(name, X, y, fit_intercept, sse, gb, gw, stats)
        else:
            sse, gb = run(X, x, y, b, w, gw, nparts)
        while True:
            if tr.record(sse / n):
                break
            w -= (2.0 * opts.learning_rate / n) * gw
            if fit_intercept:
                b -= 2.0 * opts.learning_rate * gb / n
            sse, gb = run(X, x, y, b, w, gw, nparts)
        return tr.result(b, w)
    solve.__doc__ = ("Full-batch gradient descent, loss and gradient fused in one pass an epoch, no temporaries; "
                     "O(n d) an epoch. On float64 input the first epoch also forms what fit's checks need "
                     "(gd_first_epoch.py): no separate scan of clean input.")
    return solve


def centred_gram(X, y):
    """Centred XᵀX (d, d), lower triangle, in one parallel pass (the co-moments): fit's rank check for gd."""
    return comoments(X, y, parallel=True)[1][:-1, :-1]


# gram: fit's rank check of input converted to float32 (dtype="float32"), which the kernel does not check
register("gd", "numba", dtypes=BOTH, gram=centred_gram, checks_values=True,
         description="loss and gradient fused into one compiled pass an epoch")(
    _gd("gd/numba", _gd_epoch_serial, first_epoch_serial, parallel=False))
register("gd", "numba-parallel", dtypes=BOTH, gram=centred_gram, checks_values=True,
         description="the fused pass split across every core (prange), partial gradients summed")(
    _gd("gd/numba-parallel", _gd_epoch_parallel, first_epoch_parallel, parallel=True))


# --- gradient descent from sufficient statistics: one pass, then O(d²) an epoch ----------------------

@njit(cache=True, nogil=True)
def _gram_epochs(C, c, syy, xbar, ybar, n, b, w, lr, epochs, tol, fit_intercept, hist):
    """Every epoch of full-batch descent from the centred statistics; returns (losses recorded, b).

    With x̃ = x - x̄, ỹ = y - ȳ and δ = b + w·x̄ - ȳ, the residual is r = δ + w·x̃ - ỹ, so
    Σr² = nδ² + wᵀCw - 2wᵀc + Σỹ², Σr = nδ and Σr x = Cw - c + nδ x̄: the iterates of plain descent.
    Stops as LossTracker does (epoch budget, |Δloss| < tol, a non-finite loss), so the history replays.
    """
    d = w.shape[0]
    Cw = np.empty(d)
    step = 2.0 * lr / n
    for k in range(epochs + 1):
        delta = b - ybar
        for j in range(d):
            delta += w[j] * xbar[j]
        quad = 0.0
        for j in range(d):
            acc = 0.0
            for m in range(d):
                acc += C[j, m] * w[m]
            Cw[j] = acc
            quad += w[j] * (acc - 2.0 * c[j])
        loss = (n * delta * delta + quad + syy) / n
        hist[k] = loss
        if not np.isfinite(loss) or k == epochs:
            return k + 1, b
        if k >= 1 and tol > 0 and abs(hist[k - 1] - loss) < tol:
            return k + 1, b
        for j in range(d):
            w[j] -= step * (Cw[j] - c[j] + n * delta * xbar[j])
        if fit_intercept:
            b -= step * n * delta
    return epochs + 1, b


@register("gd", "numba-gram", dtypes=BOTH, checks_values=True,
          description="XᵀX, Xᵀy, means once in one parallel pass, then every epoch in O(d²) from them")
def gd_gram(data, fit_intercept: bool, opts: Options):
    """Full-batch gradient descent from sufficient statistics: one O(n d²) pass, then O(d²) an epoch.

    The same iterates and loss history as gd/numba to rounding; the loss is formed from the statistics,
    so where the fit is almost exact (Σr² ≪ Σỹ²) it carries an absolute error of about u·Σỹ²/n.
    """
    X, y = data
    n, d = X.shape
    mean, M = comoments(X, y, parallel=True)
    if X.dtype == np.float64:  # fit leaves float64 input's checks (values, rank) to this pass
        if not M[d, d] > (1024.0 * n * TINY) ** 2:  # y constant, or too tiny to square: the scan decides
            check_values(X, y, fit_intercept, False)
        check_moments(X, y, fit_intercept, False, M, mean[:d])
        try:
            check_rank(X, fit_intercept, "gd/numba-gram", gram=M[:d, :d])
        except SingularDesignError:
            check_values(X, y, fit_intercept, False)  # repeated columns: named as the scan names them
            raise
    C = np.tril(M[:d, :d]) + np.tril(M[:d, :d], -1).T
    b, w = initial_params(opts, d, fit_intercept)
    hist = np.empty(opts.epochs + 1)
    count, b = _gram_epochs(C, M[d, :d].copy(), M[d, d], mean[:d].copy(), mean[d], float(n), b, w,
                            opts.learning_rate, opts.epochs, opts.tol, fit_intercept, hist)
    tr = LossTracker(opts, "gd/numba-gram")
    for k in range(count):  # the tracker sees the same losses and stops (or raises) at the same epoch
        if tr.record(hist[k]):
            break
    return tr.result(b, w)

