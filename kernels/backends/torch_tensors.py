"""PyTorch on the CPU and on CUDA: the NumPy algorithms as tensor operations, data moved to the device once."""
from __future__ import annotations

BACKENDS = ("torch-cpu", "torch-cuda")  # read by kernels/registry.py before import
PROVIDES = {"torch-cpu": ("ols", "gd", "sgd", "minibatch"), "torch-cuda": ("ols", "gd", "minibatch")}

import warnings

import numpy as np
import torch

from ..contract import Options
from ..numerics.error_bounds import UNIT_ROUNDOFF
from ..numerics.normal_equations import ols_result, solve_gram
from ..numerics.array_descent import gd_epochs, minibatch_epochs, sgd_epochs
from ..numerics.iterative import LossTracker, epoch_orders, initial_params
from ..registry import mark_unavailable, register
from ..threads import get_threads

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


def as_tensor(a: np.ndarray, device: str, opts: Options):
    """A host array as a tensor on the device in the requested dtype. NumPy converts first (torch takes
    neither longdouble nor non-native byte order); a read-only array is shared, not copied: torch warns that
    it is not writable, but no kernel writes to its input."""
    a = np.ascontiguousarray(a, dtype=opts.np_dtype)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(a).to(device=device, dtype=TORCH_DTYPES[opts.dtype])


def prepare_on(device: str):
    def prepare(X, y, opts: Options):
        """Host arrays -> tensors on the device, in the requested dtype: the one host-to-device transfer."""
        return as_tensor(X, device, opts), as_tensor(y, device, opts)
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


def _descent(name: str, epochs, **loop):
    """One of numerics/array_descent's loops on tensors (on the kernel's device); the loss is read back
    every epoch (one device sync)."""
    def solve(data, fit_intercept: bool, opts: Options):
        X, y = data
        b, w = _params(opts, X, fit_intercept)
        tr = LossTracker(opts, name)
        args = () if epochs is gd_epochs else (epoch_orders(opts.seed, y.shape[0]),)
        b, w = epochs(X, y, b, w, tr, *args, opts, fit_intercept, **loop)
        return tr.result(float(b), w.double().cpu().numpy())
    solve.__doc__ = epochs.__doc__
    return solve


def _on(device: str):
    """An epoch's NumPy row order as an index tensor on the device."""
    return lambda order: torch.from_numpy(order).to(device)


register("sgd", "torch-cpu", prepare=prepare_on("cpu"), dtypes=BOTH,
         description="a Python loop over rows, a few tensor ops on each: dispatch overhead per row")(
    _descent("sgd/torch-cpu", sgd_epochs))


def _register_device(backend: str, device: str, sync=None):
    common = dict(prepare=prepare_on(device), device=device, dtypes=BOTH, sync=sync)
    register("ols", backend, description="mean, subtract, XcᵀXc on the device; d x d solve on the host",
             **common)(_ols(f"ols/{backend}"))
    register("gd", backend, description="residual and Xᵀr as tensor ops; the loss read back every epoch",
             **common)(_descent(f"gd/{backend}", gd_epochs))
    register("minibatch", backend, description="gather a batch, two small matmuls, update",
             **common)(_descent(f"minibatch/{backend}", minibatch_epochs, index=_on(device)))


_register_device("torch-cpu", "cpu")
_why_not_cuda = cuda_unavailable_reason()
if _why_not_cuda is None:
    _register_device("torch-cuda", "cuda", sync=torch.cuda.synchronize)
else:
    mark_unavailable("torch-cuda", _why_not_cuda)
