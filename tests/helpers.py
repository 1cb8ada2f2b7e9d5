"""Test helpers: kernel lists come from the registry, so a new kernel is tested the day it registers."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from kernels import REGISTRY, AccuracyWarning, SingularDesignError, fit
from kernels.numerics.error_bounds import correct_digits, param_scales


def kernel_params(algorithm: str | None = None, *, reference: bool | None = None, dtype: str | None = None):
    """pytest params over the registered kernels; CUDA kernels carry the `cuda` mark."""
    out = []
    for name, k in sorted(REGISTRY.items()):
        if algorithm and k.algorithm != algorithm:
            continue
        if reference is not None and k.reference != reference:
            continue
        if dtype and dtype not in k.dtypes:
            continue
        marks = [pytest.mark.cuda] if k.device == "cuda" else []
        # Dask: a cluster round trip per epoch (thousands of epochs are slow), and the Dask references' several
        # passes a fit; ols/dask, one pass, stays in the fast suite
        if k.lazy and (k.algorithm != "ols" or k.reference):
            marks.append(pytest.mark.slow)
        out.append(pytest.param(name, id=name, marks=marks))
    return out


UNIT_ROUNDOFF = {"float64": 2.0 ** -53, "float32": 2.0 ** -24}


def tolerance(*, dtype: str, cond: float = 1.0, scale: float = 1.0) -> dict:
    """{"rtol", "atol"} for comparing two results computed in `dtype` (pass to assert_allclose as **kwargs).

    Each result is off by about u·cond (u: the dtype's unit roundoff), where cond is how much the computation
    amplifies rounding: κ of the column-scaled design for a backward-stable solve (QR), κ² for the normal
    equations and for gradient descent run to near convergence; pass the worst of the kernels compared. 64
    covers the constant (d, the log of the summation length, two results). atol = rtol · scale, so entries
    much smaller than the largest (`scale`: the largest coefficient; for a loss history, the largest loss, whose
    terms cancel down to the later ones) are compared on the problem's scale, not on their own."""
    if dtype not in UNIT_ROUNDOFF:
        raise ValueError(f"dtype {dtype!r}; known: {', '.join(UNIT_ROUNDOFF)}")
    if not cond >= 1.0:
        raise ValueError(f"cond {cond!r} must be >= 1")
    rtol = 64 * UNIT_ROUNDOFF[dtype] * cond
    return {"rtol": rtol, "atol": rtol * scale}


def random_problem(n: int, d: int, seed: int, noise: float = 0.1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 2.0, size=d) + rng.normal(size=d)
    coef = rng.normal(size=d)
    y = 0.7 + X @ coef + noise * rng.normal(size=n)
    return X, y


def fit_recorded(name, X, y, fit_intercept=True, dtype="float64"):
    """(result, warned): the fit and whether it warned with AccuracyWarning; (None, True) when it refused the
    design as singular (a refusal counts as a warning: the user is told)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AccuracyWarning)
        try:
            r = fit(X, y, kernel=name, fit_intercept=fit_intercept, dtype=dtype)
        except SingularDesignError:
            return None, True
    return r, any(issubclass(w.category, AccuracyWarning) for w in caught)


def user_digits(est, truth, X, y, fit_intercept) -> float:
    """Correct digits by the user's measure (the documented rule): relative error per parameter, one smaller
    than ZERO_BELOW of its data scale judged absolutely against that scale."""
    scales = param_scales(X.shape[0], float(np.linalg.norm(y)), np.linalg.norm(X, axis=0), fit_intercept)
    return correct_digits(est, truth, scales)
