"""Reference-grade OLS: the exact least-squares solution of the input, in rational arithmetic, rounded once.

Every input number is converted exactly (a float64 is a dyadic rational; a Fraction, Decimal or int is
itself), each column is brought to integers over one common denominator, the normal equations [1 X]ᵀ[1 X]
are formed in integer arithmetic and solved by fraction-free (Bareiss) elimination; each coefficient is a
rational number until it is rounded to the nearest float64 once, at the end.

    >>> from kernels.backends.exact_rational import fit_exact, exact_lstsq
    >>> fit_exact(X, y)            # X, y: float arrays or object arrays of Fractions -> FitResult
    >>> exact_lstsq(X, y)          # the exact solution itself: a list of Fractions (intercept first)

`fit(X, y, kernel="ols/exact")` runs the same solver on the float64 input that `fit` validates; exact
input (kernels.datasets.load_nist(name, exact=True)) goes through `fit_exact`, because `fit` converts to float.

Cost: O(n p²) multiplications of Python integers (p = d + 1 with the intercept) of b bits, b = 53 plus the
spread of a column's binary exponents, plus O(p³) for the elimination on integers of about p times that
size. Problems with n p² max(1, b/96)² > MAX_WORK are refused with an InputError before the work starts
(165,000 rows of 10 features, at the limit, took 3.5 s on one core of the development machine).
"""
from __future__ import annotations

BACKENDS = ("exact",)  # read by kernels/registry.py before import
PROVIDES = {"exact": ("ols",)}

import math
import numbers
import operator
import time
from decimal import Decimal
from fractions import Fraction

import numpy as np

from ..contract import FitResult, Options
from ..errors import InputError, RangeError, SingularDesignError
from ..numerics.error_bounds import UNIT_ROUNDOFF, input_digits
from ..registry import register

# n p² above this is refused (a few seconds of integer products on one core for float64 input).
MAX_WORK = 20_000_000


def _ratio(v) -> tuple[int, int]:
    """v as (numerator, positive denominator), exactly; floats must be finite."""
    if isinstance(v, Fraction):
        return v.numerator, v.denominator
    if isinstance(v, (int, np.integer)):
        return int(v), 1
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(v):
            raise InputError(f"exact OLS needs finite numbers; found {v!r}")
        return float(v).as_integer_ratio()
    if isinstance(v, Decimal):
        if not v.is_finite():
            raise InputError(f"exact OLS needs finite numbers; found {v!r}")
        return v.as_integer_ratio()
    if isinstance(v, numbers.Rational):
        return int(v.numerator), int(v.denominator)
    raise InputError(f"exact OLS takes int, float, Fraction or Decimal values; found {v!r} ({type(v).__name__})")


def _integer_column(values) -> tuple[list[int], int]:
    """(integers N, common denominator D) with values[i] == N[i] / D exactly."""
    pairs = [_ratio(v) for v in values]
    den = math.lcm(*(q for _, q in pairs)) if pairs else 1
    return [p * (den // q) for p, q in pairs], den


def _bareiss_solve(G: list[list[int]], c: list[int]) -> list[Fraction]:
    """x with G x = c exactly: fraction-free Gaussian elimination on integers, O(p³) big-integer operations."""
    p = len(G)
    M = [row[:] + [ci] for row, ci in zip(G, c)]  # (p, p + 1)
    prev = 1
    for k in range(p):
        piv = next((i for i in range(k, p) if M[i][k] != 0), None)
        if piv is None:
            raise SingularDesignError(
                f"the design matrix is exactly rank-deficient (column {k} of [1 X] is a linear combination "
                "of the columns before it); the least-squares coefficients are not unique: drop that column"
            )
        if piv != k:
            M[k], M[piv] = M[piv], M[k]
        mk, akk = M[k], M[k][k]
        for i in range(k + 1, p):
            mi, aik = M[i], M[i][k]
            for j in range(k + 1, p + 1):
                mi[j] = (mi[j] * akk - aik * mk[j]) // prev  # exact: Sylvester's identity
            mi[k] = 0
        prev = akk
    x = [Fraction(0)] * p
    for i in range(p - 1, -1, -1):
        s = Fraction(M[i][p])
        for j in range(i + 1, p):
            s -= M[i][j] * x[j]
        x[i] = s / M[i][i]
    return x


def _as_object_matrix(X, y):
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 1:
        X = X[:, None]
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if X.ndim != 2 or y.ndim != 1:
        raise InputError(f"X must be (n, d) or (n,), y (n,); got shapes {X.shape} and {y.shape}")
    if X.shape[0] != y.shape[0]:
        raise InputError(f"X and y have different lengths: X has {X.shape[0]} rows, y has {y.shape[0]}")
    return X, y


def check_size(n: int, p: int, bits: int = 64) -> None:
    """Refuse problems whose integer work n p² max(1, b/96)² exceeds MAX_WORK, before that work is done."""
    factor = max(1.0, bits / 96) ** 2  # up to 96 bits (53 + a spread of 2^43) counts as one word pair
    if n * p * p * factor > MAX_WORK:
        limit = int(MAX_WORK / (p * p * factor))
        raise InputError(
            f"ols/exact: n = {n} rows with {p} parameters is too large for exact rational arithmetic "
            f"(n·p²·(bits/96)² = {n * p * p * factor:.3g} > MAX_WORK = {MAX_WORK:.3g}, minutes of big-integer "
            f"work; the integers here have {bits} bits); use ols/qr, or at most {limit} rows"
        )


def exact_lstsq(X, y, fit_intercept: bool = True) -> list[Fraction]:
    """The exact least-squares solution, (intercept, coef...) or coef alone: O(n p²) integer products + O(p³)."""
    X, y = _as_object_matrix(X, y)
    n, d = X.shape
    p = d + int(fit_intercept)
    if n < p:
        raise InputError(f"fewer rows than parameters: {n} row(s) for {p} parameter(s)")
    check_size(n, p)
    cols, dens = [], []
    if fit_intercept:
        cols.append([1] * n)
        dens.append(1)
    for j in range(d):
        N, D = _integer_column(X[:, j].tolist())
        cols.append(N)
        dens.append(D)
    yN, yD = _integer_column(y.tolist())
    # Beyond 96 bits a product costs about (b/96)² times more: values whose exponents spread widely within
    # a column (1e-100 beside 1e100) make long integers, so the refusal counts them too.
    bits = max(max((abs(v).bit_length() for v in col), default=1) for col in (*cols, yN))
    check_size(n, p, bits)
    # G = AᵀA and c = Aᵀy over the integer columns; the scales come back in after the solve.
    G = [[0] * p for _ in range(p)]
    for j in range(p):
        for k in range(j + 1):
            G[j][k] = G[k][j] = sum(map(operator.mul, cols[j], cols[k]))
    c = [sum(map(operator.mul, col, yN)) for col in cols]
    gamma = _bareiss_solve(G, c)
    # A_j = N_j / D_j and y = yN / yD, so y ≈ Σ A_j β_j  <=>  yN ≈ Σ N_j (β_j yD / D_j): β_j = γ_j D_j / yD.
    return [g * Fraction(D, yD) for g, D in zip(gamma, dens)]


def _exact_result(X, y, fit_intercept: bool, kernel: str, u_in: float) -> FitResult:
    t0 = time.perf_counter()
    beta = exact_lstsq(X, y, fit_intercept)
    try:
        params = np.array([float(b) for b in beta])  # the one rounding: float(Fraction) is correctly rounded
    except OverflowError:
        raise RangeError(f"{kernel}: the coefficients lie beyond float64's range (about 10^"
                         f"{max(math.log10(abs(b.numerator)) - math.log10(b.denominator) for b in beta if b):.0f}); "
                         "rescale y or X") from None
    intercept, coef = (float(params[0]), params[1:]) if fit_intercept else (0.0, params)
    digits, cond = input_digits(np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64),
                                fit_intercept, params, u_in=u_in)
    if u_in > 0 and not cond * len(params) * u_in < 0.01:
        # Exact arithmetic cannot undo the input's rounding: the exact answer of these rounded numbers
        # would not share one digit with the answer of the data they stand for.
        raise SingularDesignError(
            f"{kernel}: the design matrix is singular to the precision of its input (condition number of the "
            f"centred, scaled X about {cond:.3g}): a column is (nearly) a linear combination of the others; "
            "drop it, or pass exact values (Fractions) to kernels.backends.exact_rational.fit_exact")
    # As given, the input is exact and the one rounding to float64 is all there is (a relative u each).
    as_given = -math.log10(2.0 * UNIT_ROUNDOFF["float64"])
    return FitResult(intercept=intercept, coef=coef, kernel=kernel, cond=cond, digits=digits,
                     digits_as_given=max(digits, as_given), timings={"solve": time.perf_counter() - t0})


def fit_exact(X, y, fit_intercept: bool = True) -> FitResult:
    """Exact OLS of X, y as given (floats, ints, Fractions or Decimals, exactly), rounded once to float64.

    digits: float input is taken to carry float64 rounding (each value within a relative 2^-53 of the data
    it stands for), so digits is the input's own limit; exact input (no float) vouches for all 15.9 digits.
    """
    X, y = _as_object_matrix(X, y)
    exact_input = X.dtype == object and y.dtype == object and not any(
        isinstance(v, (float, np.floating)) for v in (*X.ravel().tolist(), *y.tolist()))
    return _exact_result(X, y, fit_intercept, "ols/exact", 0.0 if exact_input else UNIT_ROUNDOFF["float64"])


@register("ols", "exact", dtypes=("float64",),
          description="exact rational arithmetic on the float64 input (Bareiss on integers), rounded once; "
                      f"slow: O(n p²) big-integer products, refuses n·p² > {MAX_WORK:.0e}")
def ols(data, fit_intercept: bool, opts: Options) -> FitResult:
    """Exact normal equations in integers, one rounding at the end: O(n p²) big-integer products."""
    X, y = data
    return _exact_result(X, y, fit_intercept, "ols/exact", UNIT_ROUNDOFF["float64"])
