"""Polynomial designs: columns that are computed powers of another column are found, the gap between each stored
power and the exact power is computed exactly, and the input-rounding bound built on that structure is sound
(never more digits than the float64 input keeps of the decimal data's exact answer) on problems this project
has not fitted elsewhere (other seeds, degrees, a mixed design), and fit() does not warn on a result that has
WARN_DIGITS correct digits there."""
from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pytest

import kernels
from benchmarks import accuracy_experiments as accuracy
from kernels import AccuracyWarning, fit
from kernels.backends.exact_rational import exact_lstsq
from kernels.numerics.derived_columns import WIDEST, power_gap, powers_of, rounding_digits
from tests.helpers import user_digits


def test_powers_are_found_in_any_column_order_beside_other_columns():
    rng = np.random.default_rng(11)
    x = np.array([float(f"{v:.9e}") for v in -(3.0 + 5.0 * rng.random(300))])
    z = np.array([float(f"{v:.6e}") for v in rng.standard_normal(300)])
    X = np.column_stack([x ** 3, z, x, x * x, x ** 5 * (1 + 1e-9)])  # the last one is not a power of x
    found = powers_of(X)
    assert found == {0: (2, 3), 3: (2, 2)}


def test_no_powers_among_unrelated_or_too_many_columns():
    rng = np.random.default_rng(12)
    assert powers_of(rng.standard_normal((500, 6))) == {}
    assert powers_of(rng.standard_normal((40, WIDEST + 1))) == {}


def test_the_power_gap_is_exact():
    rng = np.random.default_rng(13)
    x = -(3.1 + 5.7 * rng.random(50))
    for p in (2, 5, 10):
        col = x ** p
        gap = power_gap(x, col, p)
        assert gap is not None
        for xi, ci, gi in zip(x[:10], col[:10], gap[:10]):
            exact = Fraction(ci) - Fraction(xi) ** p
            assert abs(Fraction(gi) - exact) <= abs(Fraction(ci)) * Fraction(2) ** -95
    assert power_gap(np.arange(1.0, 21.0), np.arange(1.0, 21.0) ** 4, 4).tolist() == [0.0] * 20  # exact powers
    assert power_gap(x, x ** 3 * (1 + 1e-12), 3) is None  # too far to be a computed power


def _polynomial(seed: int, degree: int, noise: float, extra: bool = False):
    """A decimal x (10 digits) on [-8.8, -3.1], y a degree-`degree` polynomial plus noise (5 digits); extra: one
    more column, independent decimal data. (float64 X with powers formed in float64, truth of the decimal data)."""
    rng = np.random.default_rng(seed)
    x_text = [f"{v:.9e}" for v in -(3.1 + 5.7 * rng.random(82))]
    coef = np.array(accuracy._HARD_COEF[degree::-1])
    xf = np.array([float(t) for t in x_text])
    y_text = [f"{v:.4e}" for v in np.polyval(coef, xf) + noise * rng.standard_normal(82)]
    z_text = [f"{v:.7e}" for v in rng.standard_normal(82)] if extra else None
    xe = [Fraction(t) for t in x_text]
    rows = [[xi ** k for k in range(1, degree + 1)] for xi in xe]
    cols = [xf ** k for k in range(1, degree + 1)]
    if extra:
        rows = [r + [Fraction(t)] for r, t in zip(rows, z_text)]
        cols.append(np.array([float(t) for t in z_text]))
    truth = np.array([float(v) for v in exact_lstsq(np.array(rows, dtype=object),
                                                    np.array([Fraction(t) for t in y_text], dtype=object), True)])
    return np.column_stack(cols), np.array([float(t) for t in y_text]), truth


CASES = [(1, 10, 0.003, False), (2, 9, 30.0, False), (3, 10, 3e3, False), (4, 7, 0.003, True),
         pytest.param(5, 10, 0.3, True, marks=pytest.mark.slow), pytest.param(6, 8, 3.0, False, marks=pytest.mark.slow)]


@pytest.mark.parametrize("seed,degree,noise,extra", CASES)
def test_the_structured_bound_is_sound_and_qr_does_not_warn_on_a_good_answer(seed, degree, noise, extra):
    X, y, truth = _polynomial(seed, degree, noise, extra)
    exact64 = kernels.fit(X, y, kernel="ols/exact")  # the exact answer of the float64 input
    kept = user_digits(exact64.params, truth, X, y, True)
    claimed = rounding_digits(X, y, exact64.params, True, powers_of(X))
    assert claimed <= kept + 0.05, f"the bound claims {claimed:.2f} digits, the float64 input keeps {kept:.2f}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AccuracyWarning)
        r = fit(X, y, kernel="ols/qr")
    got = user_digits(r.params, truth, X, y, True)
    warned = any(issubclass(w.category, AccuracyWarning) for w in caught)
    assert r.digits <= got + 0.05, f"ols/qr claims {r.digits:.2f}, has {got:.2f}"
    assert not (warned and got >= kernels.WARN_DIGITS), f"ols/qr warned with {got:.2f} correct digits"
