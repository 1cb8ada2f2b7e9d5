"""gd/dask and minibatch/dask: the parameters stay on the client, the rows on the workers."""
from __future__ import annotations

import dataclasses
from functools import partial

import dask
import numpy as np

from ...contract import Options
from ...numerics.iterative import LossTracker, initial_params
from ...registry import register
from ..numba_jit.gd import _gd_epoch_serial
from ..numba_jit.sgd import _minibatch_epoch, _sse
from .chunks import BAD, EXTRA_OPTIONS, combine_bad, locate_bad, no_bad, partials, prepare, raise_if_bad, tree_reduce


def _gradient(b, w, fit_intercept, X, y, row0):
    """One chunk at (b, w): [Σr², Σr, Xᵀr (d), BAD] with r = Xw + b - y (b = 0 without intercept): gd/numba's
    fused pass over the chunk, so the loss and gradient cost one read and no temporaries."""
    gw = np.empty_like(w)
    sse, gb = _gd_epoch_serial(X, X.reshape(-1) if X.shape[1] == 1 else y, y, b, w, gw, 1)
    out = np.concatenate([[sse, gb], gw, no_bad()])
    if not np.all(np.isfinite(out[:-BAD])):
        out[-BAD:] = locate_bad(X, y, row0)
    return out


def _sum(parts):
    out = parts[:1].copy()
    with np.errstate(over="ignore", invalid="ignore"):  # inf - inf: the caller names the overflow, no warning
        out[0, :-BAD] = parts[:, :-BAD].sum(axis=0)
    out[0, -BAD:] = combine_bad(parts[:, -BAD:])
    return out


def epoch_pass(data, b: float, w: np.ndarray, fit_intercept: bool) -> tuple[float, float, np.ndarray]:
    """One tree-reduced pass: (MSE, mean residual, 2/n-less gradient Xᵀr / n) at (b, w); raises on bad input."""
    n, d = data.X.shape
    fn = partial(_gradient, float(b), np.ascontiguousarray(w, dtype=np.float64), fit_intercept)
    total = data.compute(tree_reduce(partials(data, fn, 2 + d + BAD), _sum))[0]
    if not np.isfinite(total[0]):
        raise_if_bad(total[-BAD:])  # else a diverging step: the tracker names it
    return total[0] / n, total[1] / n, total[2:2 + d] / n


@register("gd", "dask", prepare=prepare, lazy=True, extra_options=EXTRA_OPTIONS,
          description="full batch: one tree-reduced pass per epoch, loss and gradient fused, parameters on the client")
def gd_dask(data, fit_intercept: bool, opts: Options):
    """gd/numpy's iterates: per epoch one pass, O(n d) over the workers, O(chunks · d) travelling."""
    b, w = initial_params(opts, data.X.shape[1], fit_intercept)
    tr, lr = LossTracker(opts, "gd/dask"), opts.learning_rate
    while True:
        loss, rbar, g = epoch_pass(data, b, w, fit_intercept)
        if tr.record(loss):
            break
        w = w - 2.0 * lr * g
        if fit_intercept:
            b -= 2.0 * lr * rbar
    result = tr.result(b, w)
    result.timings.update(data.timings)
    return result


def chunk_order(seed: int, epoch: int, chunk: int, rows: int) -> np.ndarray:
    """Rows of one chunk in one epoch: numpy.random.default_rng((seed, epoch, chunk)).permutation(rows)."""
    return np.random.default_rng((seed, epoch, chunk)).permutation(rows)


def _minibatch_chunk(X, y, state, epoch: int, chunk: int, row0: int, opts: Options, fit_intercept: bool):
    """The mini-batch loop over one chunk, inside one task: state = (b0, w0, b, w, sse of (b0, w0), BAD) in,
    the same out with (b, w) moved by this chunk's batches and the chunk's loss at the epoch's start added."""
    b0, w0, b, w, sse, bad = state
    X, y = np.ascontiguousarray(X), np.ascontiguousarray(y)
    s = _sse(X, y, b0, w0)
    if not np.isfinite(s):
        bad = combine_bad(np.stack([bad, locate_bad(X, y, row0)]))
    w = w.copy()
    b = _minibatch_epoch(X, y, chunk_order(opts.seed, epoch, chunk, X.shape[0]), opts.batch_size, b, w,
                         np.empty_like(w), opts.learning_rate, fit_intercept)
    return b0, w0, b, w, sse + s, bad


@register("minibatch", "dask", prepare=prepare, lazy=True, extra_options=EXTRA_OPTIONS,
          description="chunks in a seeded order each epoch, the compiled mini-batch loop inside one task per chunk")
def minibatch_dask(data, fit_intercept: bool, opts: Options):
    """Epoch e visits the chunks in default_rng(seed)'s e-th permutation of the chunk indices, and chunk k's
    rows in chunk_order(seed, e, k); batches never straddle chunks (a chunk's last batch may be shorter).
    So it cannot match a global permutation: compare it on the loss reached. The tasks of an epoch form a
    chain (each starts from the previous one's parameters); each also adds its chunk's loss at the epoch's
    start, so the data are read once an epoch."""
    n = data.X.shape[0]
    b, w = initial_params(opts, data.X.shape[1], fit_intercept)
    tr, rng = LossTracker(opts, "minibatch/dask"), np.random.default_rng(opts.seed)
    Xs, ys, offsets = data.X.to_delayed()[:, 0], data.y.to_delayed(), data.offsets
    step = dask.delayed(_minibatch_chunk, pure=True)
    opts = dataclasses.replace(opts, scheduler=None)  # the tasks need the options, not the client
    epoch = 0
    while True:
        if len(tr.history) == opts.epochs:  # the last loss alone: no epoch after it
            loss = epoch_pass(data, b, w, fit_intercept)[0]
            tr.record(loss)
            break
        state = (b, w, b, w, 0.0, no_bad())
        for k in rng.permutation(len(Xs)):
            state = step(Xs[k], ys[k], state, epoch, int(k), int(offsets[k]), opts, fit_intercept)
        _, _, b1, w1, sse, bad = data.compute(state)
        if not np.isfinite(sse):
            raise_if_bad(bad)
        if tr.record(sse / n):
            break
        b, w, epoch = b1, w1, epoch + 1
    result = tr.result(b, w)
    result.timings.update(data.timings)
    return result
