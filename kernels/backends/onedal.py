"""Intel oneDAL through scikit-learn-intelex: the fastest library OLS a user on the CPU could pick instead."""
from __future__ import annotations

BACKENDS = ("sklearnex",)  # read by kernels/registry.py before import
PROVIDES = {"sklearnex": ("ols",)}

import importlib.util

import numpy as np

from ..contract import FitResult, Options
from ..registry import mark_unavailable, register
from ..threads import get_threads
from .references import from_units, in_safe_range


def _use_threads() -> None:
    """oneDAL keeps its own thread pool (TBB): give it the count the project's parallel kernels use."""
    import daal4py
    n = get_threads()
    if daal4py.num_threads() != n:
        daal4py.daalinit(n)


# Imported on first use, as the other references are: sklearnex loads scikit-learn (about a second).
if importlib.util.find_spec("sklearnex") is None:
    mark_unavailable("sklearnex", "scikit-learn-intelex is not installed (it is built for x86-64 only)")
else:
    @register("ols", "sklearnex", reference=True, dtypes=("float64", "float32"),
              description="scikit-learn-intelex LinearRegression (oneDAL: the cross-products in one blocked "
                          "pass, then a small solve)")
    def ols_sklearnex(data, fit_intercept: bool, opts: Options) -> FitResult:
        """sklearnex.linear_model.LinearRegression().fit(X, y), as its documentation shows; no copy of X."""
        from sklearnex.linear_model import LinearRegression
        X, y, scale = in_safe_range(*data)  # values whose cross-products overflow: rescaled exactly first
        _use_threads()
        with np.errstate(all="ignore"):
            m = LinearRegression(fit_intercept=fit_intercept).fit(X, y)
        result = FitResult(intercept=float(m.intercept_), coef=np.asarray(m.coef_, dtype=np.float64).ravel(),
                           kernel="ols/sklearnex")
        return from_units(result, scale, "ols/sklearnex")
