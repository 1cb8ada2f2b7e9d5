"""Linear regression kernels: OLS and gradient descent in several backends behind one `fit`.

    >>> from kernels import fit, available
    >>> fit(x, y, kernel="ols/numpy").coef
"""
from __future__ import annotations

import math
import time
import warnings

import numpy as np

from .contract import ALGORITHMS, FitResult, Kernel, Options
from .errors import (
    AccuracyWarning,
    DataFileError,
    DivergenceError,
    InputError,
    KernelError,
    RangeError,
    SingularDesignError,
    UnavailableKernelError,
    UnknownKernelError,
)
from .numerics.scaling import beyond_float32, rescaled, unscale
from .option_checks import check_fit_intercept, check_option_types, check_options
from .registry import REGISTRY, UNAVAILABLE, get_kernel, load_backends
from .second_look import checked_by, lazy_look, second_look
from .validation import check_rank, check_xy

__all__ = [
    "fit", "available", "get_kernel", "FitResult", "Kernel", "Options", "REGISTRY", "UNAVAILABLE",
    "AccuracyWarning", "DataFileError", "DivergenceError", "InputError", "KernelError", "RangeError",
    "SingularDesignError", "UnavailableKernelError", "UnknownKernelError", "WARN_DIGITS",
]

# An OLS fit that can vouch for fewer digits than this warns with AccuracyWarning.
WARN_DIGITS = 6.0

load_backends()


def fit(X, y, kernel: str = "ols/numpy", fit_intercept: bool = True, **options) -> FitResult:
    """Fit y ≈ intercept + X @ coef with the named kernel; X is (n, d) or a 1-D x (one feature).

    Input is validated here, once; options are those of Options (learning_rate, epochs, tol, seed,
    batch_size, dtype, init, schedule, power_t), each accepted only by the algorithms that use it.
    """
    k = get_kernel(kernel)
    fit_intercept = check_fit_intercept(fit_intercept)
    opts = check_option_types(k, options)  # types and ranges first: a bad option costs no pass over the data
    # the OLS kernels rescale data too small to square (the references through in_safe_range); lazy: Dask arrays
    folds = k.checks_values and opts.dtype == "float64"  # the kernel checks float64 data in its own pass
    X, y = check_xy(X, y, fit_intercept, rescales=k.algorithm == "ols", lazy=k.lazy, kernel_checks=folds)
    opts = check_options(k, opts, X.shape[1], fit_intercept, n=X.shape[0])
    in_memory = isinstance(X, np.ndarray)  # else Dask arrays: the kernel checks the values in its own pass
    if (k.algorithm != "ols" or k.reference) and in_memory and not folds:
        # the own OLS kernels find dependent columns in their own pass; these would return a minimiser quietly
        gram = k.gram or _any_gram()
        fast = gram is not None and fit_intercept and X.shape[1] > 1 and X.dtype == y.dtype == np.float64 \
            and X.flags.c_contiguous and y.flags.c_contiguous
        check_rank(X, fit_intercept, k.name, gram=gram(X, y) if fast else None)
    scaled = None
    if k.algorithm == "ols" and opts.dtype == "float32" and in_memory and beyond_float32(X, y):
        X, y, ex, ey = rescaled(X, y)  # converted as they are, they would overflow float32: other units
        scaled = (ex, ey)
    t0 = time.perf_counter()
    data = k.prepare(X, y, opts)
    if k.sync:
        k.sync()
    t1 = time.perf_counter()
    try:
        result = k.solve(data, fit_intercept, opts)
    except RangeError:
        if k.algorithm != "ols" or scaled is not None or not in_memory:
            raise
        # Squares over- or underflowed: the same fit in other units (powers of two, exact), a second try.
        Xs, ys, ex, ey = rescaled(X, y)
        result = unscale(k.solve(k.prepare(Xs, ys, opts), fit_intercept, opts), ex, ey, k.name)
    if scaled is not None:
        result = unscale(result, *scaled, k.name)
        X, y = np.ldexp(X, scaled[0]), np.ldexp(y, scaled[1])
    t2 = time.perf_counter()
    result.kernel = k.name
    result.timings.setdefault("prepare", t1 - t0)
    result.timings.setdefault("solve", t2 - t1)
    if not _finite(result.intercept, result.coef):
        raise KernelError(f"{k.name} returned non-finite coefficients; this is a bug in the kernel")
    checker = None
    if result.digits is None and k.algorithm == "ols" and in_memory:
        # a kernel that cannot estimate its own error (the library references): checked against one of ours
        checker = checked_by(X, y, fit_intercept, result)
    if result.digits is not None and result.digits < WARN_DIGITS:
        result.digits = second_look(X, y, fit_intercept, result, warn_below=WARN_DIGITS,
                                    checked_by_qr=checker == "ols/qr") if in_memory else lazy_look(X, y, result)
    if result.digits is not None and result.digits < WARN_DIGITS:
        warnings.warn(
            f"{k.name}: the result may have only about {max(result.digits, 0):.1f} correct digits "
            f"(estimated condition number {result.cond:.3g}); centre or rescale the features, "
            "or use ols/qr (accurate, fast) or ols/exact (exact, slow)",
            AccuracyWarning, stacklevel=2,
        )
    return result


def _any_gram():
    """A registered kernel's one-pass centred XᵀX (numba's co-moments), for the rank check of a kernel that has
    none of its own (the library references); None where none is registered (the check then folds a QR)."""
    return next((k.gram for k in REGISTRY.values() if k.gram is not None and k.device == "cpu"), None)


def _finite(intercept, coef) -> bool:
    """Whether the fitted parameters are finite; Python floats for a few (NumPy's call costs more than a small fit's
    checks)."""
    coef = np.asarray(coef)
    if coef.size > 32:
        return math.isfinite(intercept) and bool(np.isfinite(coef).all())
    return math.isfinite(intercept) and all(map(math.isfinite, coef.ravel().tolist()))


def available() -> list[dict]:
    """Every registered kernel: name, algorithm, backend, device, whether it is a reference, dtypes, whether
    it takes Dask arrays as they are (lazy)."""
    return [
        {"name": k.name, "algorithm": k.algorithm, "backend": k.backend, "device": k.device,
         "reference": k.reference, "dtypes": k.dtypes, "description": k.description, "lazy": k.lazy}
        for k in sorted(REGISTRY.values(), key=lambda k: (ALGORITHMS.index(k.algorithm), k.name))
    ]
