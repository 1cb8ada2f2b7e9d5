"""PyTorch on the CPU and on CUDA: the NumPy algorithms as tensor operations, data moved to the device once."""
from __future__ import annotations

import numpy as np
import torch

from .contract import Options
from .gram import UNIT_ROUNDOFF, ols_result, solve_gram
from .iterative import LossTracker, batches, epoch_orders, initial_params, step_size
from .registry import mark_unavailable, register
from .threads import get_threads

get_threads()  # puts $LRBENCH_THREADS (if set) in force for torch's CPU operations too

BOTH = ("float64", "float32")
TORCH_DTYPES = {"float64": torch.float64, "float32": torch.float32}


def cuda_unavailable_reason() -> str | None:
    """Why CUDA cannot be used here, or None when it can."""
    if not torch.cuda.is_available():
        if torch.version.cuda is None:
            return f"no CUDA device (this torch {torch.__version__} is a CPU-only build)"
        return "no CUDA device (torch.cuda.is_available() is False)"
    return None


def prepare_on(device: str):
    def prepare(X, y, opts: Options):
        """Host arrays -> tensors on the device, in the requested dtype: the one host-to-device transfer."""
        dt = TORCH_DTYPES[opts.dtype]
        return (torch.from_numpy(np.ascontiguousarray(X)).to(device=device, dtype=dt),
                torch.from_numpy(np.ascontiguousarray(y)).to(device=device, dtype=dt))
    return prepare


def _params(opts: Options, X, fit_intercept: bool):
    b, w = initial_params(opts, X.shape[1], fit_intercept)
    return (torch.tensor(b, dtype=X.dtype, device=X.device),
            torch.from_numpy(w).to(device=X.device, dtype=X.dtype))


def _ols(name: str):
    def solve(data, fit_intercept: bool, opts: Options):
        X, y = data
        if fit_intercept:
            x_mean, y_mean = X.mean(dim=0), y.mean()
            Xc = X - x_mean  # (n, d) temporary on the device
            yc = y - y_mean
            G, c, yy = Xc.T @ Xc, Xc.T @ yc, yc @ yc
            x_mean, y_mean = x_mean.double().cpu().numpy(), float(y_mean)
        else:
            G, c, yy = X.T @ X, X.T @ y, y @ y
            x_mean, y_mean = None, 0.0
        u = UNIT_ROUNDOFF[opts.dtype]
        beta, cond, digits = solve_gram(G.double().cpu().numpy(), c.double().cpu().numpy(), kernel=name,
                                        u_acc=u, u_input=u, n=X.shape[0], yy=float(yy), x_mean=x_mean,
                                        y_mean=y_mean)
        return ols_result(name, beta, x_mean, y_mean, cond=cond, digits=digits)
    solve.__doc__ = "Normal equations on centred columns as tensor ops (mean, subtract, matmul); d x d solve on the host."
    return solve


def _loss(X, y, b, w) -> float:
    r = X @ w + b - y
    return float(r @ r) / y.shape[0]


def _gd(name: str):
    def solve(data, fit_intercept: bool, opts: Options):
        X, y = data
        n = y.shape[0]
        b, w = _params(opts, X, fit_intercept)
        tr, lr = LossTracker(opts, name), opts.learning_rate
        while True:
            r = X @ w + b - y
            if tr.record(float(r @ r) / n):  # .item(): one device sync an epoch
                break
            w -= (2.0 * lr / n) * (X.T @ r)
            if fit_intercept:
                b -= 2.0 * lr * r.mean()
        return tr.result(float(b), w.double().cpu().numpy())
    solve.__doc__ = "Full-batch gradient descent as tensor ops: residual, Xᵀr, update; one loss read-back an epoch."
    return solve


def _minibatch(name: str):
    def solve(data, fit_intercept: bool, opts: Options):
        X, y = data
        b, w = _params(opts, X, fit_intercept)
        tr, orders, lr = LossTracker(opts, name), epoch_orders(opts.seed, y.shape[0]), opts.learning_rate
        while not tr.record(_loss(X, y, b, w)):
            order = torch.from_numpy(next(orders)).to(X.device)
            for idx in batches(order, opts.batch_size):
                Xb = X[idx]
                r = Xb @ w + b - y[idx]
                w -= (2.0 * lr / idx.shape[0]) * (Xb.T @ r)
                if fit_intercept:
                    b -= 2.0 * lr * r.mean()
        return tr.result(float(b), w.double().cpu().numpy())
    solve.__doc__ = "batch_size rows per update as tensor ops: gather, residual, Xbᵀr, update."
    return solve


@register("sgd", "torch-cpu", prepare=prepare_on("cpu"), dtypes=BOTH,
          description="a Python loop over rows, a few tensor ops on each: dispatch overhead per row")
def sgd(data, fit_intercept: bool, opts: Options):
    """One row per update in a seeded order, as a PyTorch user would write it with batch size 1."""
    X, y = data
    b, w = _params(opts, X, fit_intercept)
    tr, orders, t = LossTracker(opts, "sgd/torch-cpu"), epoch_orders(opts.seed, y.shape[0]), 0
    with torch.no_grad():
        while not tr.record(_loss(X, y, b, w)):
            for i in next(orders).tolist():
                t += 1
                g = 2.0 * step_size(opts, t) * (X[i] @ w + b - y[i])
                w -= g * X[i]
                if fit_intercept:
                    b -= g
    return tr.result(float(b), w.double().cpu().numpy())


def _register_device(backend: str, device: str, sync=None):
    common = dict(prepare=prepare_on(device), device=device, dtypes=BOTH, sync=sync)
    register("ols", backend, description="mean, subtract, XcᵀXc on the device; d x d solve on the host",
             **common)(_ols(f"ols/{backend}"))
    register("gd", backend, description="residual and Xᵀr as tensor ops; the loss read back every epoch",
             **common)(_gd(f"gd/{backend}"))
    register("minibatch", backend, description="gather a batch, two small matmuls, update",
             **common)(_minibatch(f"minibatch/{backend}"))


_register_device("torch-cpu", "cpu")
_why_not_cuda = cuda_unavailable_reason()
if _why_not_cuda is None:
    _register_device("torch-cuda", "cuda", sync=torch.cuda.synchronize)
else:
    mark_unavailable("torch-cuda", _why_not_cuda)
