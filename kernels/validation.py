"""Input checks, done once at the public boundary (`kernels.fit`); kernels assume valid input."""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from .contract import DTYPES, ITERATIVE, OPTIONS_BY_ALGORITHM, SCHEDULES, Kernel, Options
from .errors import InputError, SingularDesignError

_BLOCK = 1 << 16  # rows per block for the O(n d) scans, so no n-sized boolean temporaries
SCAN_MIN_VALUES = 1 << 16  # inputs with at least this many values are checked by the compiled scan


def _as_float_array(a, what: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype.kind == "f":
        return arr
    if arr.dtype.kind in "biu":
        return arr.astype(np.float64)
    try:
        return arr.astype(np.float64)
    except (TypeError, ValueError):
        bad = next((v for v in arr.ravel() if not _is_number(v)), None)
        raise InputError(f"{what} must be numeric; found {bad!r} (dtype {arr.dtype})") from None


def _is_number(v) -> bool:
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False


def _numpy_scan(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, int]:
    """scan.column_scan in NumPy, block by block (no n-sized temporaries): for the dtypes the compiled scan
    does not take (float16, longdouble) and where Numba is missing."""
    n, d = a.shape
    x0 = a[0].astype(np.float64)
    total, spread = np.zeros(d), np.zeros(d)
    count, first = 0, -1
    for start in range(0, n, _BLOCK):
        block = a[start:start + _BLOCK]
        bad = ~np.isfinite(block)
        c = int(bad.sum())
        if c:
            if first < 0:
                i, j = np.argwhere(bad)[0]
                first = (int(i) + start) * d + int(j)
            count += c
        with np.errstate(over="ignore", invalid="ignore"):  # a non-finite sum is what `count` reports
            total += block.sum(axis=0, dtype=np.float64)
            spread += np.abs(block.astype(np.float64) - x0).sum(axis=0)
    return total, spread, count, first


def _column_scan(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, int]:
    """(Σx, Σ|x - x₀|) per column, the count of non-finite values, the flat index of the first (-1 if none).

    The compiled scan from SCAN_MIN_VALUES values on: below, NumPy takes well under a millisecond, and a
    small fit neither starts a parallel region nor pays the scan's one-off compile (a few seconds per dtype
    and memory layout when numba's disk cache is empty)."""
    if a.dtype in (np.float32, np.float64) and a.size >= SCAN_MIN_VALUES:
        try:
            from .validation_scan import column_scan
        except ImportError:
            pass
        else:
            return column_scan(a)
    return _numpy_scan(a)


def is_dask(a) -> bool:
    """A dask.array.Array, recognised without importing dask."""
    return type(a).__module__.startswith("dask.") and hasattr(a, "chunks")


def check_xy(X, y, fit_intercept: bool = True, lazy: bool = False):
    """Validate and normalise (X, y): X (n, d) floating, y (n,) floating, finite, full column rank.

    lazy: Dask arrays pass through with their shapes and dtypes checked only (nothing is read); the kernel
    checks the values inside its own pass. Without `lazy`, a Dask array is computed into memory."""
    if lazy and (is_dask(X) or is_dask(y)):
        return _check_lazy(X, y, fit_intercept)
    X = _as_float_array(X, "X")
    y = _as_float_array(y, "y")
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise InputError(f"X must be 1-D (one feature) or 2-D (n, d); got shape {X.shape}")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise InputError(f"y must be 1-D (n,) or (n, 1); got shape {y.shape}")
    n, d = X.shape
    if n == 0 or y.shape[0] == 0:
        raise InputError(f"empty input: X has {n} rows and y has {y.shape[0]}")
    if d == 0:
        raise InputError("X has no columns (shape (n, 0)); at least one feature is needed")
    if y.shape[0] != n:
        raise InputError(f"X and y have different lengths: X has {n} rows, y has {y.shape[0]}")
    stats = _column_scan(X)
    for arr, what, (_, _, count, first) in ((X, "X", stats), (y, "y", _column_scan(y.reshape(-1, 1)))):
        if count:
            at = (first // d, first % d) if arr.ndim == 2 else (first,)
            where = f"row {at[0]}" + (f", column {at[1]}" if len(at) > 1 else "")
            raise InputError(
                f"{what} has {count} non-finite value(s) (NaN or inf); the first is {arr[at]} at {where}"
            )
    p = d + int(fit_intercept)
    if n < p:
        raise InputError(
            f"fewer rows than parameters: {n} row(s) for {p} parameter(s) "
            f"({d} coefficient(s){' + intercept' if fit_intercept else ''}); the fit is not determined"
        )
    _check_columns(X, fit_intercept, *stats[:2])
    return X, y


def _check_lazy(X, y, fit_intercept: bool):
    """check_xy's shape, dtype and size checks on Dask arrays (NumPy ones are wrapped), reading nothing."""
    import dask.array as da

    X, y = (a if is_dask(a) else da.asarray(np.asarray(a)) for a in (X, y))
    for a, what in ((X, "X"), (y, "y")):
        if a.dtype.kind not in "fiub":
            raise InputError(f"{what} must be numeric; its dtype is {a.dtype}")
        if any(math.isnan(c) for c in a.shape):
            raise InputError(f"{what} has unknown chunk sizes (shape {a.shape}); call "
                             f"{what}.compute_chunk_sizes() first, or build it with known chunks")
    X = X if X.dtype.kind == "f" else X.astype(np.float64)
    y = y if y.dtype.kind == "f" else y.astype(np.float64)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise InputError(f"X must be 1-D (one feature) or 2-D (n, d); got shape {X.shape}")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise InputError(f"y must be 1-D (n,) or (n, 1); got shape {y.shape}")
    n, d = X.shape
    if n == 0 or y.shape[0] == 0:
        raise InputError(f"empty input: X has {n} rows and y has {y.shape[0]}")
    if d == 0:
        raise InputError("X has no columns (shape (n, 0)); at least one feature is needed")
    if y.shape[0] != n:
        raise InputError(f"X and y have different lengths: X has {n} rows, y has {y.shape[0]}")
    p = d + int(fit_intercept)
    if n < p:
        raise InputError(f"fewer rows than parameters: {n} row(s) for {p} parameter(s); the fit is not determined")
    return X, y


def _check_columns(X: np.ndarray, fit_intercept: bool, total: np.ndarray, spread: np.ndarray) -> None:
    """Constant columns (with an intercept), all-zero columns and repeated columns make XᵀX singular.

    total, spread: Σx and Σ|x - x₀| per column (the scan's): spread is zero exactly for a constant column;
    identical columns share (x₀, total, spread) bit for bit, so only those are compared value by value."""
    for j in range(X.shape[1]):
        x0 = X[0, j]
        if fit_intercept and spread[j] == 0:
            raise SingularDesignError(
                f"column {j} is constant (every value is {x0}); with fit_intercept=True it is "
                "collinear with the intercept: drop the column or pass fit_intercept=False"
            )
        if not fit_intercept and spread[j] == 0 and x0 == 0:
            raise SingularDesignError(f"column {j} is all zeros; its coefficient is not determined")
    seen: dict[bytes, list[int]] = {}
    for j in range(X.shape[1]):
        key = (np.array([X[0, j], total[j], spread[j]], dtype=np.float64) + 0.0).tobytes()  # -0.0 as 0.0
        for k in seen.get(key, []):
            if np.array_equal(X[:, k], X[:, j]):
                raise SingularDesignError(
                    f"columns {k} and {j} are identical; their coefficients are not determined: drop one"
                )
        seen.setdefault(key, []).append(j)


def check_options(kernel: Kernel, options: dict, d: int, fit_intercept: bool) -> Options:
    """Turn keyword options into Options, rejecting names the kernel's algorithm does not take."""
    allowed = OPTIONS_BY_ALGORITHM[kernel.algorithm] + kernel.extra_options
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise InputError(
            f"{kernel.name} does not take option(s) {', '.join(unknown)}; it takes: {', '.join(allowed)}"
        )
    opts = Options(**options)
    if opts.dtype not in DTYPES:
        raise InputError(f"dtype must be one of {', '.join(DTYPES)}; got {opts.dtype!r}")
    if opts.dtype not in kernel.dtypes:
        raise InputError(f"{kernel.name} does not support dtype {opts.dtype}; it supports {', '.join(kernel.dtypes)}")
    if kernel.algorithm not in ITERATIVE:
        return opts
    lr = opts.learning_rate
    if not (isinstance(lr, (int, float, np.floating)) and np.isfinite(lr) and lr > 0):
        raise InputError(f"learning_rate must be a positive finite number; got {lr!r}")
    if not (isinstance(opts.epochs, (int, np.integer)) and opts.epochs >= 1):
        raise InputError(f"epochs must be a positive integer; got {opts.epochs!r}")
    if not (np.isfinite(opts.tol) and opts.tol >= 0):
        raise InputError(f"tol must be a finite number >= 0; got {opts.tol!r}")
    if not isinstance(opts.seed, (int, np.integer)) or opts.seed < 0:
        raise InputError(f"seed must be a non-negative integer; got {opts.seed!r}")
    if not (isinstance(opts.batch_size, (int, np.integer)) and opts.batch_size >= 1):
        raise InputError(f"batch_size must be a positive integer; got {opts.batch_size!r}")
    if opts.schedule not in SCHEDULES:
        raise InputError(f"schedule must be one of {', '.join(SCHEDULES)}; got {opts.schedule!r}")
    if not (np.isfinite(opts.power_t) and opts.power_t > 0):
        raise InputError(f"power_t must be a positive number; got {opts.power_t!r}")
    if opts.init is not None:
        init = np.asarray(opts.init, dtype=np.float64).ravel()
        p = d + int(fit_intercept)
        if init.shape != (p,) or not np.isfinite(init).all():
            raise InputError(
                f"init must hold {p} finite numbers ({'intercept first, then ' if fit_intercept else ''}"
                f"{d} coefficient(s)); got {np.asarray(opts.init).tolist()!r}"
            )
        opts = dataclasses.replace(opts, init=init)
    return opts
