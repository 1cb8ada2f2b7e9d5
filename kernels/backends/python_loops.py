"""Pure Python: the tutorial's from-scratch loops, generalised to d features. No NumPy in the hot loops."""
from __future__ import annotations

BACKENDS = ("python",)  # read by kernels/registry.py before import


from ..contract import Options
from ..numerics.error_bounds import UNIT_ROUNDOFF
from ..numerics.iterative import LossTracker, batches, epoch_orders, initial_params, step_size
from ..numerics.normal_equations import ols_result, solve_gram
from ..registry import register


def prepare(X, y, opts: Options):
    """Rows as lists of Python floats: the conversion is the price of leaving NumPy, timed apart."""
    return X.astype(float).tolist(), y.astype(float).tolist()


@register("ols", "python", prepare=prepare,
          description="two passes of Python loops: means, then centred cross-products; d x d solve")
def ols(data, fit_intercept: bool, opts: Options):
    """slope = Σ(x - x̄)(y - ȳ) / Σ(x - x̄)², generalised: centred XᵀX and Xᵀy in loops, O(n d²)."""
    rows, ys = data
    n, d = len(rows), len(rows[0])
    if fit_intercept:
        x_mean = [sum(r[j] for r in rows) / n for j in range(d)]
        y_mean = sum(ys) / n
    else:
        x_mean, y_mean = [0.0] * d, 0.0
    G = [[0.0] * d for _ in range(d)]
    c = [0.0] * d
    yy = 0.0
    for r, yi in zip(rows, ys):
        xc = [r[j] - x_mean[j] for j in range(d)]
        yc = yi - y_mean
        yy += yc * yc
        for j in range(d):
            c[j] += xc[j] * yc
            Gj = G[j]
            for k in range(j + 1):
                Gj[k] += xc[j] * xc[k]
    for j in range(d):
        for k in range(j):
            G[k][j] = G[j][k]
    u = UNIT_ROUNDOFF["float64"]
    beta, cond, digits = solve_gram(G, c, kernel="ols/python", u_acc=u, u_input=u, n=n, yy=yy,
                                    x_mean=x_mean if fit_intercept else None, y_mean=y_mean)
    return ols_result("ols/python", beta, x_mean if fit_intercept else None, y_mean, cond=cond, digits=digits)


def _loss(rows, ys, b, w) -> float:
    total = 0.0
    for r, yi in zip(rows, ys):
        e = b - yi
        for j, wj in enumerate(w):
            e += wj * r[j]
        total += e * e
    return total / len(ys)


def _start(opts: Options, d: int, fit_intercept: bool):
    b, w = initial_params(opts, d, fit_intercept)
    return b, w.tolist()


def _batch_step(rows, ys, idx, b, w, lr: float, fit_intercept: bool):
    """One gradient step on the rows idx: returns (b, w, mse of those rows before the step)."""
    d = len(w)
    gw = [0.0] * d
    gb = sse = 0.0
    for i in idx:
        r = rows[i]
        e = b - ys[i]
        for j in range(d):
            e += w[j] * r[j]
        sse += e * e
        gb += e
        for j in range(d):
            gw[j] += e * r[j]
    scale = 2.0 * lr / len(idx)
    w = [w[j] - scale * gw[j] for j in range(d)]
    if fit_intercept:
        b -= scale * gb
    return b, w, sse / len(idx)


@register("gd", "python", prepare=prepare, description="one Python loop over rows an epoch: loss and gradient")
def gd(data, fit_intercept: bool, opts: Options):
    """The tutorial's loop: predict every row, accumulate the MSE gradient, update; O(n d) an epoch."""
    rows, ys = data
    b, w = _start(opts, len(rows[0]), fit_intercept)
    tr, everyone = LossTracker(opts, "gd/python"), range(len(ys))
    while True:
        nb, nw, loss = _batch_step(rows, ys, everyone, b, w, opts.learning_rate, fit_intercept)
        if tr.record(loss):
            break
        b, w = nb, nw
    return tr.result(b, w)


@register("sgd", "python", prepare=prepare, description="a Python loop over rows, one update per row")
def sgd(data, fit_intercept: bool, opts: Options):
    """One row per update, rows in a seeded order each epoch; O(n d) an epoch, all interpreted."""
    rows, ys = data
    d = len(rows[0])
    b, w = _start(opts, d, fit_intercept)
    tr, orders, t = LossTracker(opts, "sgd/python"), epoch_orders(opts.seed, len(ys)), 0
    while not tr.record(_loss(rows, ys, b, w)):
        for i in next(orders).tolist():
            t += 1
            r = rows[i]
            e = b - ys[i]
            for j in range(d):
                e += w[j] * r[j]
            g = 2.0 * step_size(opts, t) * e
            for j in range(d):
                w[j] -= g * r[j]
            if fit_intercept:
                b -= g
    return tr.result(b, w)


@register("minibatch", "python", prepare=prepare, description="Python loops over each batch's rows")
def minibatch(data, fit_intercept: bool, opts: Options):
    """batch_size rows per update in a seeded order; O(n d) an epoch, all interpreted."""
    rows, ys = data
    b, w = _start(opts, len(rows[0]), fit_intercept)
    tr, orders = LossTracker(opts, "minibatch/python"), epoch_orders(opts.seed, len(ys))
    while not tr.record(_loss(rows, ys, b, w)):
        for idx in batches(next(orders), opts.batch_size):
            b, w, _ = _batch_step(rows, ys, idx.tolist(), b, w, opts.learning_rate, fit_intercept)
    return tr.result(b, w)
