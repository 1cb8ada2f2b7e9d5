"""Input checks of X and y, done once at the public boundary (`kernels.fit`); kernels assume valid input.
The options are checked in option_checks.py."""
from __future__ import annotations

import decimal
import math
import numbers

import numpy as np

from .errors import InputError, SingularDesignError

TINY = 2.0 ** -500  # a column whose values vary by less on average has centred squares that underflow
_BLOCK = 1 << 16  # rows per block for the O(n d) scans, so no n-sized boolean temporaries
SCAN_MIN_VALUES = 1 << 16  # inputs with at least this many values are checked by the compiled scan


def _type_name(a) -> str:
    t = type(a)
    return t.__name__ if t.__module__ == "builtins" else f"{t.__module__.split('.')[0]}.{t.__name__}"


def _from_container(a, what: str):
    """Containers NumPy would misread, turned into something np.asarray reads exactly, or refused by name:
    torch tensors (copied to the host, detached), pandas frames and series (numeric columns only), masked
    arrays (refused when anything is masked: the values under a mask are not data), scipy sparse matrices."""
    if isinstance(a, np.ma.MaskedArray):
        masked = int(np.ma.count_masked(a))
        if masked:
            raise InputError(
                f"{what} is a masked array with {masked} masked value(s); fit does not honour masks: "
                f"drop the masked rows or fill them (e.g. {what}.filled(value)) first"
            )
        return np.ma.getdata(a)
    module = type(a).__module__.split(".")[0]
    if module == "torch" and hasattr(a, "detach"):
        if getattr(a, "is_complex", lambda: False)():
            raise InputError(f"{what} is a complex tensor ({a.dtype}); fit needs real numbers")
        if a.dtype.is_floating_point and a.dtype.itemsize < 4 and str(a.dtype) != "torch.float16":
            a = a.float()  # bfloat16 and the float8 types have no NumPy dtype; float32 holds them exactly
        try:
            return a.detach().cpu().numpy()
        except (RuntimeError, NotImplementedError, TypeError) as exc:  # a meta tensor, a dtype NumPy lacks
            raise InputError(f"{what} is a torch tensor ({a.dtype}, on {a.device}) that cannot be copied to "
                             f"a NumPy array: {str(exc).splitlines()[0]}") from None
    if module == "pandas" and hasattr(a, "to_numpy"):
        columns = a.dtypes.items() if hasattr(a, "dtypes") and hasattr(a.dtypes, "items") else [(a.name, a.dtype)]
        for name, dt in columns:
            kind = getattr(dt, "kind", "O")
            if kind not in "iuf":
                raise InputError(
                    f"{what} column {name!r} has dtype {dt}, not a real number; "
                    + _KIND_HINT.get(kind, "convert it to a numeric column first")
                )
        try:
            return a.to_numpy(dtype=np.float64, na_value=np.nan)  # nullable Int64/Float64: NA as NaN, found below
        except (TypeError, ValueError):
            return a.to_numpy(dtype=np.float64)
    if module == "scipy" and hasattr(a, "toarray"):
        raise InputError(f"{what} is a sparse matrix ({_type_name(a)}); pass {what}.toarray() (fit needs dense data)")
    return a


_KIND_HINT = {
    "b": "booleans are not taken as numbers; pass .astype(float) if 0/1 is meant",
    "c": "complex numbers have no least-squares line here; pass the real part (.real) if that is what is meant",
    "M": "dates are not numbers; convert them explicitly (e.g. days since a start date) first",
    "m": "durations are not numbers; convert them explicitly (e.g. to seconds) first",
    "V": "structured records are not numbers; pass the numeric fields as columns",
}


def _as_float_array(a, what: str) -> np.ndarray:
    """The boundary's type policy (README, "What fit accepts"): real floating arrays are taken as they are
    (native byte order), integers and real-number objects are converted exactly to float64; anything else
    (bool, complex, datetime, strings that are not numbers, ragged lists, masked values) is an InputError."""
    a = _from_container(a, what)
    try:
        arr = np.asarray(a)
    except ValueError as exc:  # NumPy >= 1.24 refuses ragged nesting
        raise InputError(f"{what} is ragged: {_ragged(a) or exc}; every row must have the same length") from None
    except TypeError as exc:
        raise InputError(f"{what} must be an array of real numbers; got {_type_name(a)} ({exc})") from None
    kind = arr.dtype.kind
    if kind == "f":
        return arr if arr.dtype.isnative else arr.astype(arr.dtype.newbyteorder("="))
    if kind in "iu":
        if arr.dtype.itemsize == 8 and arr.size and max(abs(int(arr.min())), abs(int(arr.max()))) > 2 ** 53:
            raise InputError(
                f"{what} holds integers beyond 2**53 ({max(abs(int(arr.min())), abs(int(arr.max())))}), "
                "which float64 cannot represent exactly; rescale them first"
            )
        return arr.astype(np.float64)
    if kind in _KIND_HINT:
        raise InputError(f"{what} has dtype {arr.dtype}, not a real number; {_KIND_HINT[kind]}")
    if arr.ndim == 0 and kind == "O":
        raise InputError(f"{what} must be an array of real numbers; got {_type_name(a)}")
    bad = next((v for v in arr.ravel() if not _is_number(v)), None)
    if bad is not None:
        bad = bad.item() if isinstance(bad, np.generic) else bad  # 'abc', not np.str_('abc')
        raise InputError(f"{what} must be numeric; found {bad!r} ({_type_name(bad)}, dtype {arr.dtype})")
    try:
        return arr.astype(np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InputError(f"{what} must be numeric: {exc} (dtype {arr.dtype})") from None


def _ragged(a) -> str:
    """Which rows of a nested list differ in length, for the ragged-input error."""
    try:
        lengths = [len(r) if hasattr(r, "__len__") and not isinstance(r, (str, bytes)) else None for r in a]
    except TypeError:
        return ""
    def row(k: int, m) -> str:
        return f"row {k} is a scalar" if m is None else f"row {k} has {m} value(s)"

    for i, m in enumerate(lengths):
        if m != lengths[0]:
            return f"{row(0, lengths[0])} but {row(i, m)}"
    return ""


def _is_number(v) -> bool:
    """A real number (or a string that spells one): not a bool, complex, date, None."""
    if isinstance(v, (bool, np.bool_, complex, np.complexfloating)):
        return False
    if isinstance(v, (str, bytes)):
        try:
            float(v)
            return True
        except ValueError:
            return False
    return isinstance(v, (numbers.Real, decimal.Decimal))


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


def check_xy(X, y, fit_intercept: bool = True, rescales: bool = False, lazy: bool = False,
             kernel_checks: bool = False):
    """Validate and normalise (X, y): X (n, d) floating, y (n,) floating, finite, full column rank.

    rescales: the fit rescales data too small to square by a power of two (the OLS kernels), so such data are
    not refused here. lazy: Dask arrays pass through with their shapes and dtypes checked only (nothing is
    read); the kernel checks the values inside its own pass. kernel_checks: the kernel checks the values of
    float64 input in its own pass (Kernel.checks_values), so float64 input is not scanned here."""
    if lazy and (is_dask(X) or is_dask(y)):
        return _check_lazy(X, y, fit_intercept)
    X, y = _shaped(_as_float_array(X, "X"), _as_float_array(y, "y"))
    if kernel_checks and X.dtype == np.float64 and y.dtype == np.float64:
        _enough_rows(*X.shape, fit_intercept)
    else:
        check_values(X, y, fit_intercept, rescales)
    return X, y


def check_values(X: np.ndarray, y: np.ndarray, fit_intercept: bool, rescales: bool) -> None:
    """The value checks of check_xy on shaped floating arrays: one scan for non-finite values, columns too
    small to square (unless rescales), constant, all-zero and repeated columns; too few rows."""
    n, d = X.shape
    stats = _column_scan(X)
    ystats = _column_scan(y.reshape(-1, 1))
    for arr, what, (_, spread, count, first) in ((X, "X", stats), (y, "y", ystats)):
        if count:
            at = (first // d, first % d) if arr.ndim == 2 else (first,)
            where = f"row {at[0]}" + (f", column {at[1]}" if len(at) > 1 else "")
            raise InputError(
                f"{what} has {count} non-finite value(s) (NaN or inf); the first is {arr[at]} at {where}"
            )
        tiny = np.flatnonzero((spread > 0) & (spread < n * TINY)) if not rescales else np.array([], dtype=int)
        if tiny.size:
            j = int(tiny[0])
            which = f"column {j} of X" if what == "X" else "y"
            raise InputError(
                f"{which} varies by only about {spread[j] / n:.3g} on average: too little to square in float64 "
                f"(the sums of squares underflow below {TINY ** 2:.0e}); rescale it (multiply by a power of ten)"
            )
    _enough_rows(n, d, fit_intercept)
    _check_columns(X, fit_intercept, *stats[:2])


# A column whose co-moment is this small beside its mean could be constant (a constant column's co-moment is
# rounding, a few ulps of the value per row); that, and no other, sends a folded fit to the scan.
NEAR_CONSTANT = 2.0 ** -40


def check_moments(X: np.ndarray, y: np.ndarray, fit_intercept: bool, rescales: bool, M: np.ndarray,
                  x_mean=None) -> None:
    """For a kernel that checks values in its own pass: from the co-moments M ((d + 1)², of [X y], centred when
    x_mean is given, raw otherwise) it formed, run check_values only when M shows a problem the scan would
    name: a non-finite sum (a NaN or inf somewhere; or finite values whose squares overflow, which the scan
    passes), or a column whose co-moment is zero or within rounding of it (constant, all zeros, tiny, or
    nearly constant). Costs O(d) when the data are fine."""
    n, d = X.shape
    if d == 1:  # Python floats: NumPy's per-call cost on 2 x 2 arrays is most of a small fit's checks
        m = M.ravel().tolist()
        c, scale = m[0], 0.0 if x_mean is None else abs(float(x_mean[0]))
        sound = all(map(math.isfinite, (m[0], m[2], m[3]))) and \
            c > max(n * (NEAR_CONSTANT * scale) ** 2, (1024.0 * n * TINY) ** 2)
    else:
        scale = np.zeros(d) if x_mean is None else np.abs(np.asarray(x_mean, dtype=np.float64))
        with np.errstate(over="ignore"):  # a mean near 1e300: the floor is inf, the scan then decides
            floor = np.maximum(n * (NEAR_CONSTANT * scale) ** 2, (1024.0 * n * TINY) ** 2)
        sound = bool(np.isfinite(np.tril(M)).all()) and bool(np.all(np.diagonal(M)[:d] > floor))
    if not sound:
        check_values(X, y, fit_intercept, rescales)


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
    X, y = _shaped(X, y)
    _enough_rows(*X.shape, fit_intercept)
    return X, y


def _shaped(X, y):
    """X as (n, d) and y as (n,), or the error naming the shape that is wrong (NumPy or Dask arrays)."""
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
    return X, y


def _enough_rows(n: int, d: int, fit_intercept: bool) -> None:
    p = d + int(fit_intercept)
    if n < p:
        raise InputError(
            f"fewer rows than parameters: {n} row(s) for {p} parameter(s) "
            f"({d} coefficient(s){' + intercept' if fit_intercept else ''}); the fit is not determined"
        )


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


def _well_conditioned(G: np.ndarray) -> bool:
    """Whether the Gram matrix G (symmetric) of centred columns shows them clearly independent: κ² of its
    unit-diagonal scaling well inside float64."""
    g = np.sqrt(np.diag(G))
    if not np.all(g > 0):
        return False
    lam = np.linalg.eigvalsh(G / np.outer(g, g))
    return bool(lam[0] > 0 and lam[-1] / lam[0] * 2.0 ** -53 < 1e-4)


def check_rank(X: np.ndarray, fit_intercept: bool, kernel: str, gram: np.ndarray | None = None) -> None:
    """Refuse linearly dependent columns by ols/qr's rule (the condition number of the column-scaled, centred
    design κ with κ·d·u ≥ 0.01: singular to working precision), for the kernels that would otherwise return
    one of many minimisers without a word: gradient descent and the library references. Ill-conditioned but
    independent columns pass, as they do for ols/qr.

    The scaled Gram matrix settles the common case (κ up to about 1e6) in one BLAS pass; past that, a QR
    factor R of the design, folded block by block (the Gram matrix cannot tell κ = 1e9 from singular).
    Each column is scaled by a power of two first, so neither an n-sized temporary nor an overflow; two or
    three reads of X and O(n d²) flops, small beside an iterative fit's epochs or a library's SVD.
    gram: the centred co-moments of X (lower triangle, with fit_intercept) when the kernel or its backend formed
    them: the common case then reads nothing more."""
    n, d = X.shape
    if d < 2:
        return  # one column: its constant or all-zero case was refused by check_xy
    if gram is not None and fit_intercept and np.all(np.isfinite(np.diagonal(gram))) and \
            _well_conditioned(np.tril(gram) + np.tril(gram, -1).T):
        return
    top = np.zeros(d)
    total = np.zeros(d)
    for start in range(0, n, _BLOCK):
        block = X[start:start + _BLOCK]
        np.maximum(top, np.abs(block).max(axis=0), out=top)
        total += block.sum(axis=0, dtype=np.float64)
    # exact: powers of two, |x| < 1 after; applied by ldexp, since 2^-e itself overflows for subnormal columns
    e = -np.frexp(np.where(top > 0, top, 1.0))[1]
    mean = np.ldexp(total, e) / n if fit_intercept and np.all(np.isfinite(total)) else np.zeros(d)
    G = np.zeros((d, d))
    for start in range(0, n, _BLOCK):
        block = np.ldexp(X[start:start + _BLOCK], e) - mean
        G += block.T @ block
    if _well_conditioned(G):
        return  # κ² well inside float64: clearly independent, no QR needed (the common case, one BLAS pass)
    R = np.zeros((0, d))
    for start in range(0, n, _BLOCK):
        block = np.ldexp(X[start:start + _BLOCK], e) - mean
        R = np.linalg.qr(np.vstack([R, block]), mode="r")
    norms = np.linalg.norm(R, axis=0)
    if not np.all(norms > 0):
        j = int(np.argmin(norms))
        raise SingularDesignError(f"{kernel}: column {j} has zero variance; its coefficient is not determined")
    sv = np.linalg.svd(R / norms, compute_uv=False)
    kappa = np.inf if sv[-1] == 0 else float(sv[0] / sv[-1])
    if not kappa * d * 2.0 ** -53 < 0.01:
        raise SingularDesignError(
            f"{kernel}: the design matrix is singular to working precision (condition number of the scaled, "
            f"centred X about {kappa:.3g}): a column is (nearly) a linear combination of the others, so the "
            "coefficients are not determined (every algorithm refuses this, as OLS does); drop the dependent column"
        )
