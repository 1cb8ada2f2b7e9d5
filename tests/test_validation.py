"""Bad input gets a clear, specific error, one case at a time; never a NumPy warning or a silent NaN."""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import kernels
from kernels import (
    REGISTRY,
    DivergenceError,
    InputError,
    SingularDesignError,
    UnavailableKernelError,
    UnknownKernelError,
    fit,
)
from kernels.backends.exact_rational import exact_lstsq
from tests.helpers import kernel_params, random_problem


@pytest.fixture(autouse=True)
def no_warnings():
    """Every case here must fail with our error, not with (or after) a NumPy RuntimeWarning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def good(n=20, d=2):
    return random_problem(n, d, seed=0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["X", "y"])
def test_non_finite(where, bad):
    X, y = good()
    (X if where == "X" else y)[5] = bad
    with pytest.raises(InputError, match=rf"{where} has \d+ non-finite value.*row 5"):
        fit(X, y)


def test_lengths_differ():
    X, y = good()
    with pytest.raises(InputError, match="different lengths: X has 20 rows, y has 19"):
        fit(X, y[:-1])


@pytest.mark.parametrize("X, y", [(np.empty((0, 2)), np.empty(0)), (np.empty(0), np.empty(0))])
def test_empty(X, y):
    with pytest.raises(InputError, match="empty input"):
        fit(X, y)


def test_no_columns():
    with pytest.raises(InputError, match="no columns"):
        fit(np.empty((5, 0)), np.ones(5))


def test_bad_shapes():
    with pytest.raises(InputError, match="X must be 1-D .* or 2-D"):
        fit(np.ones((4, 2, 2)), np.ones(4))
    with pytest.raises(InputError, match="y must be 1-D"):
        fit(np.ones((4, 2)), np.ones((4, 2)))


@pytest.mark.parametrize("fit_intercept, n, p", [(True, 3, 4), (False, 2, 3)])
def test_fewer_rows_than_parameters(fit_intercept, n, p):
    X, y = good(n=n, d=3)
    with pytest.raises(InputError, match=f"fewer rows than parameters: {n} row.*{p} parameter"):
        fit(X, y, fit_intercept=fit_intercept)


def test_constant_column_with_intercept():
    X, y = good(d=3)
    X[:, 1] = 4.0
    with pytest.raises(SingularDesignError, match="column 1 is constant .*collinear with the intercept"):
        fit(X, y)
    fit(X, y, fit_intercept=False)  # without an intercept a constant column is a legitimate feature


def test_duplicate_columns():
    X, y = good(d=3)
    X[:, 2] = X[:, 0]
    with pytest.raises(SingularDesignError, match="columns 0 and 2 are identical"):
        fit(X, y)


LAYOUTS = {
    "C": lambda a: np.ascontiguousarray(a),
    "F": lambda a: np.asfortranarray(a),
    "strided": lambda a: np.repeat(np.repeat(a, 2, axis=0), 2, axis=1)[::2, ::2],  # a view, contiguous in neither order
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("d", [1, 5])
def test_compiled_scan_agrees_with_the_numpy_scan(layout, dtype, d):
    """The compiled one-pass scan (several bands, one per thread) and the NumPy fallback find the same
    non-finite values, and identical columns get identical fingerprints in both."""
    from kernels.validation import _numpy_scan
    from kernels.validation_scan import _scan, column_scan
    rng = np.random.default_rng(3)
    X = rng.standard_normal((50_003, d)).astype(dtype)  # band lengths that 4 does not divide: every remainder
    if d > 1:
        X[:, 3] = X[:, 1]
    X = LAYOUTS[layout](X)
    for bad in ([], [(40_000, d - 1, np.inf), (7, 0, np.nan), (30_000, 0, -np.inf)]):
        Z = X.copy(order="K") if layout != "strided" else LAYOUTS["strided"](np.array(X))
        for i, j, v in bad:
            Z[i, j] = v
        tot, spread, count, first = column_scan(Z)
        tot_np, spread_np, count_np, first_np = _numpy_scan(Z)
        assert (count, first) == (count_np, first_np) == (len(bad), 7 * d if bad else -1)
        # three bands whatever the thread count: the merge of the bands' sums and of their first bad values
        t3, s3, b3 = _scan(Z, Z[0].astype(np.float64), 3)
        firsts = b3[:, 1][b3[:, 1] >= 0]
        assert int(b3[:, 0].sum()) == len(bad)
        assert (int(firsts.min()) if firsts.size else -1) == (7 * d if bad else -1)
        if not bad:
            np.testing.assert_allclose(tot, tot_np, rtol=1e-9)
            np.testing.assert_allclose(spread, spread_np, rtol=1e-9)
            assert np.all(spread > 0)
            np.testing.assert_allclose(t3.sum(axis=0), tot_np, rtol=1e-9)
            np.testing.assert_allclose(s3.sum(axis=0), spread_np, rtol=1e-9)
            if d > 1:
                assert tot[3] == tot[1] and spread[3] == spread[1]
                assert tot_np[3] == tot_np[1] and spread_np[3] == spread_np[1]


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_checks_on_every_layout(layout):
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((20_000, 4)), rng.standard_normal(20_000)
    X[:, 2] = X[:, 0]
    with pytest.raises(SingularDesignError, match="columns 0 and 2 are identical"):
        fit(LAYOUTS[layout](X), y)
    X[19_999, 2] += 1.0  # equal but for the last row: not a duplicate
    X[:, 1] = 2.5
    with pytest.raises(SingularDesignError, match="column 1 is constant .*every value is 2.5"):
        fit(LAYOUTS[layout](X), y)
    X[12_345, 3] = np.nan
    with pytest.raises(InputError, match="X has 1 non-finite value.*nan at row 12345, column 3"):
        fit(LAYOUTS[layout](X), y)


def test_duplicate_columns_found_whatever_the_sign_of_a_zero_in_the_first_row():
    X, y = good(n=30_000, d=3)
    X[:, 2] = X[:, 0]
    X[0, 0], X[0, 2] = 0.0, -0.0  # equal values (0.0 == -0.0), different bits
    with pytest.raises(SingularDesignError, match="columns 0 and 2 are identical"):
        fit(X, y)


def test_a_column_that_differs_in_one_place_is_not_constant():
    X, y = good(n=30_000, d=2)
    X[:, 1] = 1.0
    X[29_999, 1] = 2.0
    assert fit(X, y, kernel="ols/qr").coef.shape == (2,)
    X[29_999, 1] = np.nextafter(1.0, 2.0)  # one unit in the last place: still not constant, only ill-posed
    exact = np.array([float(v) for v in exact_lstsq(X, y, True)])
    np.testing.assert_allclose(fit(X, y, kernel="ols/qr").params, exact, rtol=1e-14)  # exact as given: no warning
    y = np.array([float(f"{v:.11e}") for v in y])  # y read from 12-digit text: its rounding is amplified ~1e16
    with pytest.warns(kernels.AccuracyWarning):
        fit(X, y, kernel="ols/qr")


def test_finite_values_whose_sum_overflows_are_not_called_non_finite():
    """The scan's sums overflow here; the values are finite, so they are not called non-finite: the kernel's
    squares overflow too, and fit() refits the data rescaled by a power of two (exact), as ols/exact does."""
    X = np.full((10_000, 1), 1e308)
    X[::2] = -1e308
    X[:7] = 1.7e308
    y = np.ones(10_000)
    y[::3] = 2.0
    r = fit(X, y, kernel="ols/numba")
    ref = fit(X, y, kernel="ols/qr")
    np.testing.assert_allclose(r.params, ref.params, rtol=1e-10, atol=0)


def test_float16_input_is_checked_too():
    X, y = good(n=200, d=2)
    X16 = X.astype(np.float16)
    X16[3, 1] = np.inf
    with pytest.raises(InputError, match="X has 1 non-finite value.*row 3, column 1"):
        fit(X16, y)


@pytest.mark.parametrize("name", kernel_params("ols", reference=False))
def test_linearly_dependent_columns_are_refused_by_every_own_ols_kernel(name):
    """Not a duplicate, but column 2 = column 0 + column 1: no unique answer, so an error, not garbage."""
    X, y = good(n=50, d=3)
    X[:, 2] = X[:, 0] + X[:, 1]
    with pytest.raises(SingularDesignError, match="singular|linear combination|not determined"):
        fit(X, y, kernel=name)


def test_non_numeric():
    X = np.array([["1", "2"], ["3", "x"], ["5", "6"], ["7", "8"]], dtype=object)
    with pytest.raises(InputError, match="X must be numeric; found 'x'"):
        fit(X, np.arange(4.0))


def test_unknown_kernel_lists_the_known_ones():
    with pytest.raises(UnknownKernelError) as e:
        fit(*good(), kernel="ols/fortran")
    msg = str(e.value)
    assert "unknown kernel 'ols/fortran'" in msg
    assert all(name in msg for name in REGISTRY)


def test_unavailable_backend_says_why():
    cuda = [b for b, why in kernels.UNAVAILABLE.items() if b == "torch-cuda"]
    if not cuda:
        pytest.skip("torch-cuda is available here")
    with pytest.raises(UnavailableKernelError,
                       match=r"'ols/torch-cuda' is not available here: torch-cuda: no CUDA device"):
        fit(*good(), kernel="ols/torch-cuda")


def test_unknown_and_misplaced_options():
    with pytest.raises(InputError, match="ols/numpy does not take option.*learning_rate"):
        fit(*good(), kernel="ols/numpy", learning_rate=0.1)
    with pytest.raises(InputError, match="does not take option.*batch_size"):
        fit(*good(), kernel="gd/numpy", batch_size=4)
    with pytest.raises(InputError, match="does not support dtype float32"):
        fit(*good(), kernel="ols/python", dtype="float32")
    with pytest.raises(InputError, match="dtype must be one of"):
        fit(*good(), kernel="ols/numpy", dtype="float16")


@pytest.mark.parametrize("option, value, message", [
    ("learning_rate", -0.1, "learning_rate must be a positive"),
    ("learning_rate", float("nan"), "learning_rate must be a positive"),
    ("epochs", 0, "epochs must be a positive integer"),
    ("epochs", 2.5, "epochs must be a positive integer"),
    ("tol", -1.0, "tol must be"),
    ("init", [1.0], r"init must hold 3 finite numbers"),
])
def test_bad_gd_options(option, value, message):
    with pytest.raises(InputError, match=message):
        fit(*good(), kernel="gd/numpy", **{option: value})


@pytest.mark.parametrize("name", kernel_params("gd") + kernel_params("minibatch") + kernel_params("sgd"))
def test_divergence_stops_with_epoch_and_loss(name):
    """A learning rate far above the stable limit: stop at the first non-finite loss, say when, suggest smaller."""
    X, y = good(n=40, d=2)
    X = X * 1e3
    with pytest.raises(DivergenceError) as e:
        fit(X, y, kernel=name, learning_rate=10.0, epochs=2000)
    msg = str(e.value)
    assert re.search(r"diverged: the loss (is (inf|nan) after \d+ epoch|grew from)", msg), msg
    assert "smaller learning rate" in msg


def test_slow_divergence_is_not_returned_silently():
    """Just above the stable limit the loss grows slowly and stays finite: still an error, not a result."""
    from kernels.numerics.iterative import max_stable_learning_rate
    X, y = good(n=40, d=2)
    lr = 1.05 * max_stable_learning_rate(X, True)
    with pytest.raises(DivergenceError, match="grew from"):
        fit(X, y, kernel="gd/numpy", learning_rate=lr, epochs=50)
    fit(X, y, kernel="gd/numpy", learning_rate=0.95 * max_stable_learning_rate(X, True), epochs=50)


def test_one_dimensional_x_is_one_feature():
    x, y = np.arange(10.0), 2 * np.arange(10.0) + 1
    r = fit(x, y)
    assert r.coef.shape == (1,)
    np.testing.assert_allclose([r.intercept, r.coef[0]], [1.0, 2.0], rtol=0, atol=1e-12)


def test_integer_and_list_input_accepted():
    r = fit([[1], [2], [3], [4]], [3, 5, 7, 9])
    np.testing.assert_allclose(r.params, [1.0, 2.0], rtol=0, atol=1e-12)
