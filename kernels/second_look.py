"""What fit() adds to an OLS result's `digits`: a check of the library references, and a second look before
it warns that a result may have fewer than WARN_DIGITS correct digits.

A kernel's `digits` is a bound that assumes every input value carries one rounding of the data it stands for
(values read from decimal text do). A reference (a library) gives no bound at all: its result is checked
against one of this project's kernels, the cheapest sound one (ols/numba-parallel: about one read of the data;
ols/qr where numba is missing). On the way to a warning, and only then, two more looks, each a sound bound of
its own, so the largest is kept:

1. The input's provenance (numerics.error_bounds.rounded_input): values with no shorter decimal form and
   integers are exact as given; then the kernel's bound without the input's rounding
   (FitResult.digits_as_given) holds.
2. A second opinion from ols/qr: the result's disagreement with qr plus qr's own bound, a-posteriori, where the
   kernel's a-priori bound is the worst case (the normal equations' cond², a float32 conversion assumed to
   round every value).
3. Rounded input whose columns include computed powers of another column (a polynomial design): the input's
   rounding bounded with that structure (numerics.derived_columns: a power's rounding follows its source's,
   along the curve, and the power's own computation is known exactly), added to the result's error as given
   (from 1 or 2).
"""
from __future__ import annotations

import math

import numpy as np

from .contract import FitResult, Options
from .errors import KernelError, RangeError, SingularDesignError
from .numerics.derived_columns import powers_of, rounding_digits
from .numerics.error_bounds import ZERO_BELOW, param_scales, rounded_input
from .numerics.scaling import exponents, rescaled, unscale
from .registry import REGISTRY

SELF_CHECKED = ("ols/qr", "ols/exact")  # their bound is the second opinion's own
SAFE_SQUARE = 2.0 ** -900  # a sum of squares above this lost nothing to underflow that matters to a scale
CHECKERS = ("ols/numba-parallel", "ols/qr")  # the references' check: the first registered


def opinion(name: str, X: np.ndarray, y: np.ndarray, fit_intercept: bool) -> FitResult:
    """The kernel's fit of validated in-memory X, y (in other units, by powers of two, where its squares would
    over- or underflow)."""
    k, o = REGISTRY[name], Options()
    try:
        return k.solve(k.prepare(X, y, o), fit_intercept, o)
    except RangeError:
        Xs, ys, ex, ey = rescaled(X, y)
        return unscale(k.solve(k.prepare(Xs, ys, o), fit_intercept, o), ex, ey, name)


def agreement(X: np.ndarray, y: np.ndarray, fit_intercept: bool, result: FitResult,
              ref: FitResult) -> tuple[float, float]:
    """(digits, digits_as_given) of `result` from its disagreement with `ref` and ref's own bound.

    |p - p*| ≤ |p - p_ref| + |p_ref - p*| parameter by parameter (each relative to its scale), and
    |p*| ≥ |p_ref| (1 - q) for q = 10^-ref's digits, so digits = -log10((disagreement + q) / (1 - q)), for
    rounded input and for input exact as given.
    """
    p = np.asarray(result.params if fit_intercept else result.coef, dtype=np.float64)
    pr = np.asarray(ref.params if fit_intercept else ref.coef, dtype=np.float64)
    y_norm, x_norms = _norms(X, y)
    scale = np.maximum(np.abs(pr), ZERO_BELOW * param_scales(X.shape[0], y_norm, x_norms, fit_intercept))
    worst = float(np.max(np.abs(p - pr) / np.where(scale > 0, scale, 1.0)))

    def plus(digits: float) -> float:
        q = 10.0 ** -digits
        e = (worst + q) / (1.0 - q) if q < 1.0 else math.inf
        return -math.log10(e) if e > 0 else math.inf

    as_given = ref.digits if ref.digits_as_given is None else ref.digits_as_given
    return plus(ref.digits), plus(as_given), ref.cond


def _norms(X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """(‖y‖, ‖X_j‖ per column): one pass, no n-sized temporary; where a square over- or underflows, again with
    the data brought near 1 first by powers of two (exact)."""
    with np.errstate(over="ignore", under="ignore"):
        yy, xx = float(y @ y), np.einsum("ij,ij->j", X, X)
    if math.isfinite(yy) and yy > SAFE_SQUARE and np.all(np.isfinite(xx)) and np.all(xx > SAFE_SQUARE):
        return math.sqrt(yy), np.sqrt(xx)
    ex, ey = exponents(X, y)
    with np.errstate(over="ignore"):
        y_norm = float(np.ldexp(np.linalg.norm(np.ldexp(y, -ey)), ey))
        return y_norm, np.ldexp(np.linalg.norm(np.ldexp(X, -ex), axis=0), ex)


def checked_by(X: np.ndarray, y: np.ndarray, fit_intercept: bool, result: FitResult,
               checkers=CHECKERS) -> str | None:
    """Set result.digits, .digits_as_given and .cond from the first of `checkers` registered here that fits
    the data; the checker's name, or None where none could (then no claim either way)."""
    for name in checkers:
        if name not in REGISTRY:
            continue
        try:
            ref = opinion(name, X, y, fit_intercept)
        except SingularDesignError:
            if name == "ols/qr":  # qr refuses only a design singular to working precision
                result.digits, result.digits_as_given, result.cond = 0.0, 0.0, math.inf
                return name
            continue  # the normal equations give up sooner: ask qr
        except KernelError:
            continue
        if ref.digits is None:
            continue
        result.digits, result.digits_as_given, result.cond = agreement(X, y, fit_intercept, result, ref)
        return name
    return None


def second_look(X: np.ndarray, y: np.ndarray, fit_intercept: bool, result: FitResult, *, warn_below: float,
                checked_by_qr: bool) -> float:
    """The digits to report for an in-memory result whose own bound is below warn_below."""
    exact_input = not rounded_input(X, y)
    digits = result.digits
    as_given = result.digits_as_given
    if exact_input and as_given is not None:
        digits = max(digits, as_given)
    if digits < warn_below and not checked_by_qr and result.kernel not in SELF_CHECKED:
        second = FitResult(intercept=result.intercept, coef=result.coef, kernel=result.kernel)
        if checked_by(X, y, fit_intercept, second, ("ols/qr",)) and second.digits is not None:
            digits = max(digits, second.digits_as_given if exact_input else second.digits)
            as_given = second.digits_as_given if as_given is None else max(as_given, second.digits_as_given)
    if digits < warn_below and not exact_input and as_given is not None and as_given > -math.inf:
        powers = powers_of(X)
        if powers:
            params = result.params if fit_intercept else result.coef
            with np.errstate(all="ignore"):
                inp = rounding_digits(X, y, params, fit_intercept, powers)
            q = 10.0 ** -as_given  # the error as given, relative: inp's denominators are off by 1 - q at most
            if inp > -math.inf and q < 1.0:
                digits = max(digits, -math.log10((q + 10.0 ** -inp) / (1.0 - q)))
    return digits


LAZY_ROWS = 4096  # rows of lazy data whose values judge its provenance: read alone, not the data


def lazy_look(X, y, result: FitResult) -> float:
    """The digits to report for a fit of data not in memory (Dask arrays) whose own bound is below WARN_DIGITS:
    its bound for input exact as given, where the first LAZY_ROWS rows show no decimal origin
    (error_bounds.rounded_input). Those rows stand for the data: a column whose later values come from
    elsewhere is not seen."""
    if result.digits_as_given is None:
        return result.digits
    head = [np.asarray(a[:LAZY_ROWS], dtype=np.float64) for a in (X, y)]  # a Dask array computes these rows
    if rounded_input(*head):
        return result.digits
    return max(result.digits, result.digits_as_given)

