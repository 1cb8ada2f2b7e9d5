"""Input checks, done once at the public boundary (`kernels.fit`); kernels assume valid input."""
from __future__ import annotations

import dataclasses
import hashlib

import numpy as np

from .contract import DTYPES, ITERATIVE, OPTIONS_BY_ALGORITHM, SCHEDULES, Kernel, Options
from .errors import InputError, SingularDesignError

_BLOCK = 1 << 16  # rows per block for the O(n d) scans, so no n-sized boolean temporaries


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


def _first_nonfinite(a: np.ndarray) -> tuple[int, tuple] | None:
    """(count, index of the first) non-finite entry, scanning in row blocks; None if all finite."""
    count, first = 0, None
    for start in range(0, a.shape[0], _BLOCK):
        block = a[start:start + _BLOCK]
        bad = ~np.isfinite(block)
        c = int(bad.sum())
        if c:
            if first is None:
                idx = np.argwhere(bad)[0]
                first = (int(idx[0]) + start, *map(int, idx[1:]))
            count += c
    return (count, first) if count else None


def check_xy(X, y, fit_intercept: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Validate and normalise (X, y): X (n, d) floating, y (n,) floating, finite, full column rank."""
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
    for arr, what in ((X, "X"), (y, "y")):
        bad = _first_nonfinite(arr)
        if bad:
            count, at = bad
            where = f"row {at[0]}" + (f", column {at[1]}" if len(at) > 1 else "")
            raise InputError(
                f"{what} has {count} non-finite value(s) (NaN or inf); the first is {arr[at]!r} at {where}"
            )
    p = d + int(fit_intercept)
    if n < p:
        raise InputError(
            f"fewer rows than parameters: {n} row(s) for {p} parameter(s) "
            f"({d} coefficient(s){' + intercept' if fit_intercept else ''}); the fit is not determined"
        )
    _check_columns(X, fit_intercept)
    return X, y


def _check_columns(X: np.ndarray, fit_intercept: bool) -> None:
    """Constant columns (with an intercept), all-zero columns and repeated columns make XᵀX singular."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    for j in range(X.shape[1]):
        if fit_intercept and lo[j] == hi[j]:
            raise SingularDesignError(
                f"column {j} is constant (every value is {lo[j]!r}); with fit_intercept=True it is "
                "collinear with the intercept: drop the column or pass fit_intercept=False"
            )
        if not fit_intercept and lo[j] == hi[j] == 0:
            raise SingularDesignError(f"column {j} is all zeros; its coefficient is not determined")
    seen: dict[bytes, int] = {}
    for j in range(X.shape[1]):
        key = hashlib.blake2b(np.ascontiguousarray(X[:, j]).tobytes(), digest_size=16).digest()
        if key in seen and np.array_equal(X[:, seen[key]], X[:, j]):
            raise SingularDesignError(
                f"columns {seen[key]} and {j} are identical; their coefficients are not determined: drop one"
            )
        seen.setdefault(key, j)


def check_options(kernel: Kernel, options: dict, d: int, fit_intercept: bool) -> Options:
    """Turn keyword options into Options, rejecting names the kernel's algorithm does not take."""
    allowed = OPTIONS_BY_ALGORITHM[kernel.algorithm]
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
