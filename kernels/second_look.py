"""What fit() does before it warns that an OLS result may have fewer than WARN_DIGITS correct digits.

A kernel's `digits` is a bound that assumes every input value carries one rounding of the data it stands for
(values read from decimal text do). Two looks, only on the way to a warning, each a sound bound of its own,
so the larger is kept:

1. The input's provenance (numerics.error_bounds.rounded_input): values with no shorter decimal form and
   integers are exact as given; then the kernel's bound without the input's rounding
   (FitResult.digits_as_given) holds.
2. A second opinion: the result's agreement with ols/qr plus qr's own bound (backends.qr_householder.vouch),
   one ols/qr: a-posteriori, where the kernel's a-priori bound (the normal equations' cond² worst case, a
   float32 conversion assumed to round every value) is pessimistic.
"""
from __future__ import annotations

import numpy as np

from .contract import FitResult
from .errors import KernelError, SingularDesignError
from .numerics.error_bounds import rounded_input

SELF_CHECKED = ("ols/qr", "ols/exact")  # their bound is the second opinion's own


def vouched(X: np.ndarray, y: np.ndarray, fit_intercept: bool, result: FitResult) -> None:
    """result.digits, .digits_as_given and .cond for a result without them (the library references):
    its agreement with ols/qr (leaves them None where no check is possible)."""
    try:
        from .backends.qr_householder import vouch
        result.digits, result.digits_as_given, result.cond = vouch(X, y, fit_intercept, result)
    except SingularDesignError:
        result.digits, result.digits_as_given, result.cond = 0.0, 0.0, float("inf")
    except (ImportError, KernelError):
        pass  # no check possible here (numba missing, or the check's own limits): no claim either way


def second_look(X: np.ndarray, y: np.ndarray, fit_intercept: bool, result: FitResult, *, warn_below: float,
                checked: bool) -> float:
    """The digits to report for an in-memory result whose own bound is below warn_below; checked: the result
    has had its second opinion already (a reference vouched for by ols/qr)."""
    exact_input = not rounded_input(X, y)
    digits = result.digits
    if exact_input and result.digits_as_given is not None:
        digits = max(digits, result.digits_as_given)
    if digits < warn_below and not checked and result.kernel not in SELF_CHECKED:
        opinion = FitResult(intercept=result.intercept, coef=result.coef, kernel=result.kernel)
        vouched(X, y, fit_intercept, opinion)
        if opinion.digits is not None:
            digits = max(digits, opinion.digits_as_given if exact_input else opinion.digits)
    return digits
