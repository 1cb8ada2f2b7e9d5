"""The library references, behind the same interface: statsmodels, scikit-learn, a PyTorch nn model."""
from __future__ import annotations

BACKENDS = ("statsmodels", "sklearn", "torch-nn", "torch-nn-cuda")  # read by kernels/registry.py before import
PROVIDES = {"statsmodels": ("ols",), "sklearn": ("ols", "sgd"), "torch-nn": ("gd",), "torch-nn-cuda": ("gd",)}

import importlib.util

import numpy as np

from ..contract import FitResult, Options
from ..errors import DivergenceError
from ..numerics.iterative import LossTracker, initial_params
from ..numerics.scaling import rescaled, unscale
from ..registry import mark_unavailable, register


def _missing(module: str) -> bool:
    return importlib.util.find_spec(module) is None


BIG, SMALL = 2.0 ** 256, 2.0 ** -256  # beyond these, a library's sums of squares may overflow or underflow


def in_safe_range(X, y):
    """(X, y, scale) for a library OLS: unchanged (scale None) when every column's and y's largest |value| is
    within [SMALL, BIG]; else every column and y in other units, powers of two (exact: numerics.scaling), so
    the library's sums of squares neither overflow (values near 1e154 gave statsmodels wrong coefficients) nor
    underflow. `from_units(result, scale, kernel)` gives the coefficients of the data as they were."""
    top = np.maximum(np.abs(X.max(axis=0)), np.abs(X.min(axis=0))).astype(np.float64)  # float32: no cast overflow
    ytop = max(abs(float(y.max())), abs(float(y.min())))
    if np.all((top <= BIG) & ((top >= SMALL) | (top == 0))) and (ytop <= BIG and (ytop >= SMALL or ytop == 0)):
        return X, y, None
    Xs, ys, ex, ey = rescaled(X, y)
    return Xs, ys, (ex, ey)


def from_units(result: FitResult, scale, kernel: str) -> FitResult:
    """The result of in_safe_range's data in the data's own units (unchanged when scale is None)."""
    return result if scale is None else unscale(result, *scale, kernel)


if _missing("statsmodels"):
    mark_unavailable("statsmodels", "statsmodels is not installed")
else:
    @register("ols", "statsmodels", reference=True, description="statsmodels OLS (Moore-Penrose pinv via SVD)")
    def ols_statsmodels(data, fit_intercept: bool, opts: Options):
        """sm.OLS(y, [1, X]).fit(): an SVD of the (n, d+1) design, O(n d²) with a large constant."""
        import statsmodels.api as sm
        X, y, scale = in_safe_range(*data)
        A = sm.add_constant(X, has_constant="add") if fit_intercept else X
        with np.errstate(all="ignore"):  # inputs it would get wrong are refused or rescaled before the call
            params = np.asarray(sm.OLS(y, A).fit().params, dtype=np.float64)
        return from_units(FitResult(intercept=float(params[0]) if fit_intercept else 0.0,
                                    coef=params[1:] if fit_intercept else params, kernel="ols/statsmodels"),
                          scale, "ols/statsmodels")


if _missing("sklearn"):
    mark_unavailable("sklearn", "scikit-learn is not installed")
else:
    @register("ols", "sklearn", reference=True, dtypes=("float64", "float32"),
              description="scikit-learn LinearRegression (centre, then LAPACK gelsd)")
    def ols_sklearn(data, fit_intercept: bool, opts: Options):
        """LinearRegression: copies and centres X, then an SVD-based least-squares solve."""
        from sklearn.linear_model import LinearRegression
        X, y, scale = in_safe_range(*data)
        with np.errstate(all="ignore"):
            m = LinearRegression(fit_intercept=fit_intercept).fit(X, y)
        return from_units(FitResult(intercept=float(m.intercept_), coef=np.asarray(m.coef_, dtype=np.float64).ravel(),
                                    kernel="ols/sklearn"), scale, "ols/sklearn")

    @register("sgd", "sklearn", reference=True,
              description="scikit-learn SGDRegressor, one partial_fit (one epoch) at a time")
    def sgd_sklearn(data, fit_intercept: bool, opts: Options):
        """SGDRegressor with no penalty. Its loss is ½(y - ŷ)², so eta0 = 2 * learning_rate gives the same
        step as this project's MSE gradient; it shuffles with its own generator, so compare losses, not iterates.
        """
        from sklearn.linear_model import SGDRegressor
        X, y = data
        b, w = initial_params(opts, X.shape[1], fit_intercept)
        m = SGDRegressor(loss="squared_error", penalty=None, learning_rate=opts.schedule,
                         eta0=2.0 * opts.learning_rate, power_t=opts.power_t, fit_intercept=fit_intercept,
                         shuffle=True, tol=None, max_iter=1,
                         random_state=np.random.RandomState(opts.seed))  # a generator, so each epoch reshuffles
        tr = LossTracker(opts, "sgd/sklearn")
        coef, intercept = w, np.array([b])
        if opts.init is not None:  # partial_fit has no coef_init: seed its state as its own first call would
            m.partial_fit(X[:1], y[:1])
            m.coef_, m.intercept_, m.t_ = coef.copy(), intercept.copy(), 1.0
        with np.errstate(over="ignore", invalid="ignore"):
            while True:
                r = X @ coef + intercept[0] - y
                if tr.record(float(r @ r) / y.shape[0]):
                    break
                try:
                    m.partial_fit(X, y)
                except ValueError as exc:  # its own overflow check: the same divergence as everywhere else
                    if "overflow" not in str(exc):
                        raise
                    raise DivergenceError(
                        f"sgd/sklearn: gradient descent diverged: the weights overflowed during epoch "
                        f"{len(tr.history)} with learning_rate={opts.learning_rate}; "
                        "use a smaller learning rate, or scale the features") from None
                coef, intercept = m.coef_, m.intercept_
        return tr.result(float(intercept[0]), coef)


if _missing("torch"):
    for _b in ("torch-nn", "torch-nn-cuda"):
        mark_unavailable(_b, "torch is not installed")
else:
    import torch

    from .torch_tensors import prepare_on as _nn_prepare  # the same one host-to-device transfer as torch-cpu/cuda

    def _nn_gd(name: str):
        def solve(data, fit_intercept: bool, opts: Options):
            X, y = data
            b, w = initial_params(opts, X.shape[1], fit_intercept)
            model = torch.nn.Linear(X.shape[1], 1, bias=fit_intercept).to(device=X.device, dtype=X.dtype)
            with torch.no_grad():
                model.weight.copy_(torch.from_numpy(w)[None, :])
                if fit_intercept:
                    model.bias.fill_(b)
            loss_fn = torch.nn.MSELoss()
            optimizer = torch.optim.SGD(model.parameters(), lr=opts.learning_rate)
            target = y[:, None]
            tr = LossTracker(opts, name)
            while True:
                optimizer.zero_grad()
                loss = loss_fn(model(X), target)
                if tr.record(loss.item()):
                    break
                loss.backward()
                optimizer.step()
            return tr.result(model.bias.item() if fit_intercept else 0.0,
                             model.weight.detach().double().cpu().numpy().ravel())
        solve.__doc__ = "nn.Linear + MSELoss + optim.SGD, full batch: forward, backward (autograd), step."
        return solve

    register("gd", "torch-nn", reference=True, prepare=_nn_prepare("cpu"), dtypes=("float64", "float32"),
             description="nn.Linear + MSELoss + optim.SGD on the CPU (autograd builds a graph every epoch)")(
        _nn_gd("gd/torch-nn"))
    if torch.cuda.is_available():
        register("gd", "torch-nn-cuda", reference=True, prepare=_nn_prepare("cuda"), device="cuda",
                 dtypes=("float64", "float32"), sync=torch.cuda.synchronize,
                 description="nn.Linear + MSELoss + optim.SGD on CUDA")(_nn_gd("gd/torch-nn-cuda"))
    else:
        mark_unavailable("torch-nn-cuda", "no CUDA device (torch.cuda.is_available() is False)")
