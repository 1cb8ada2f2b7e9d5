"""Kernels that check values in their own pass (Kernel.checks_values): fit skips its scan for their float64
input, yet every bad input is refused with the very error the scan gives, and clean input is neither scanned
nor copied."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import kernels
from kernels import REGISTRY, InputError, SingularDesignError, fit
from kernels.validation import check_xy

FOLDED = sorted(k.name for k in REGISTRY.values() if k.checks_values)
N = 100_003  # above SCAN_MIN_VALUES: the compiled scan locates the value; bands of unequal length


def _opts(name: str) -> dict:
    return {"epochs": 5, "learning_rate": 1e-3} if name.startswith("gd/") else {}


def _data(d: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, d)) + 5.0
    return X, 1.0 + X @ np.arange(1.0, d + 1) + 0.1 * rng.standard_normal(N)


def _scan_error(X, y, fit_intercept: bool, rescales: bool) -> tuple[type, str]:
    """The error fit's separate scan gives for (X, y)."""
    with pytest.raises(InputError) as exc:
        check_xy(X, y, fit_intercept, rescales=rescales)
    return exc.type, str(exc.value)


def _same_error(name: str, X, y, fit_intercept: bool = True) -> str:
    want_type, want = _scan_error(X, y, fit_intercept, rescales=name.startswith("ols/"))
    with pytest.raises(InputError) as exc:
        fit(X, y, kernel=name, fit_intercept=fit_intercept, **_opts(name))
    assert exc.type is want_type and str(exc.value) == want
    return want


def test_some_kernels_fold_the_checks():
    assert {"ols/numba", "ols/numba-parallel", "gd/numba-gram", "gd/numba", "gd/numba-parallel"} <= set(FOLDED)


@pytest.mark.parametrize("name", FOLDED)
@pytest.mark.parametrize("where", ["X", "y"])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_a_non_finite_value_is_located_as_the_scan_locates_it(name, where, value):
    X, y = _data()
    if where == "X":
        X[N // 2 + 3, 1] = value
        X[N - 2, 2] = np.nan  # a second one, later: the count says two, the position is the first's
    else:
        y[N // 2 + 3] = value
    msg = _same_error(name, X, y)
    assert f"row {N // 2 + 3}" in msg and ("column 1" in msg) == (where == "X")
    assert "2 non-finite" in msg if where == "X" else "1 non-finite" in msg


@pytest.mark.parametrize("name", FOLDED)
@pytest.mark.parametrize("value", [0.1, 1 / 3, 1e6 + 0.1, -7.25e-3, 0.0, 2.0 ** -1070])
def test_a_constant_column_is_named_as_today(name, value):
    X, y = _data()
    X[:, 1] = value
    with pytest.raises(SingularDesignError):
        fit(X, y, kernel=name, **_opts(name))
    msg = _same_error(name, X, y)
    assert msg.startswith(f"column 1 is constant (every value is {value})")


@pytest.mark.parametrize("name", FOLDED)
def test_an_all_zero_column_without_intercept_is_named(name):
    X, y = _data()
    X[:, 2] = 0.0
    assert _same_error(name, X, y, fit_intercept=False) == "column 2 is all zeros; its coefficient is not determined"


@pytest.mark.parametrize("name", FOLDED)
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_repeated_columns_are_named_as_today(name, fit_intercept):
    X, y = _data(4)
    X[:, 3] = X[:, 1]
    msg = _same_error(name, X, y, fit_intercept)
    assert msg.startswith("columns 1 and 3 are identical")


@pytest.mark.parametrize("name", [n for n in FOLDED if n.startswith("gd/")])
def test_a_tiny_column_is_refused_by_gradient_descent_as_today(name):
    X, y = _data(2)
    X[:, 0] = 1e-160 * (X[:, 0] - 5.0)
    assert "varies by only about" in _same_error(name, X, y)


@pytest.mark.parametrize("name", [n for n in FOLDED if n.startswith("gd/")])
def test_a_tiny_y_is_refused_by_gradient_descent_as_today(name):
    """y too small to square (d > 1): refused with the scan's error, not fitted (gd/numba-gram once fitted it)."""
    X, y = _data(3)
    assert "varies by only about" in _same_error(name, X, 1e-300 * y)


# gd/numba and gd/numba-parallel derive the checks from their first epoch, with a loop of its own for d = 1
STREAMING = [n for n in FOLDED if n in ("gd/numba", "gd/numba-parallel")]


@pytest.mark.parametrize("name", STREAMING)
@pytest.mark.parametrize("d", [1, 3])
@pytest.mark.parametrize("at", ["first", "middle", "last"])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_gd_finds_a_non_finite_value_anywhere_as_the_scan_does(name, d, at, value):
    X, y = _data(d)
    i = {"first": 0, "middle": N // 2, "last": N - 1}[at]
    X[i, d - 1] = value
    assert f"row {i}, column {d - 1}" in _same_error(name, X, y)
    X, y = _data(d)
    y[i] = value
    assert f"at row {i}" in _same_error(name, X, y, fit_intercept=False)


@pytest.mark.parametrize("name", STREAMING)
def test_gd_with_one_feature_names_constant_zero_and_tiny_columns_as_the_scan_does(name):
    X, y = _data(1)
    X[:, 0] = 1 / 3
    assert _same_error(name, X, y).startswith("column 0 is constant (every value is 0.3333333333333333)")
    X[:, 0] = 0.0
    assert _same_error(name, X, y, fit_intercept=False) == "column 0 is all zeros; its coefficient is not determined"
    X, y = _data(1)
    X[:, 0] = 1e-160 * (X[:, 0] - 5.0)
    assert "column 0 of X varies by only about" in _same_error(name, X, y)
    X, y = _data(1)
    y = 1e-160 * (y - y.mean())
    assert "y varies by only about" in _same_error(name, X, y)
    X[:, 0] = 2.5  # constant without an intercept: a valid fit, the scan passes it and so does the kernel
    r = fit(X, _data(1)[1], kernel=name, fit_intercept=False, **_opts(name))
    assert r.intercept == 0.0 and np.isfinite(r.coef[0])


@pytest.mark.parametrize("name", STREAMING)
def test_gd_refuses_dependent_columns_from_its_first_epochs_comoments(name, monkeypatch):
    from kernels.backends.numba_jit import gd_first_epoch
    grams = []
    check = gd_first_epoch.check_rank
    monkeypatch.setattr(gd_first_epoch, "check_rank",
                        lambda *a, gram=None: grams.append(gram) or check(*a, gram=gram))
    X, y = _data(3)
    fit(X, y, kernel=name, **_opts(name))
    C = np.cov(X, rowvar=False, bias=True) * N  # the centred XᵀX, two passes in NumPy
    assert np.allclose(np.tril(grams[0]), np.tril(C), rtol=1e-12, atol=0)
    X[:, 2] = X[:, 0] - 0.5 * X[:, 1]  # dependent, not identical: the scan passes it, the rank check does not
    with pytest.raises(SingularDesignError, match=f"{name}: the design matrix is singular to working precision"):
        fit(X, y, kernel=name, **_opts(name))


@pytest.mark.parametrize("name", FOLDED)
def test_clean_float64_input_is_not_scanned_but_other_kernels_still_are(name, monkeypatch):
    from kernels import validation
    calls = []
    scan = validation._column_scan
    monkeypatch.setattr(validation, "_column_scan", lambda a: calls.append(a.shape) or scan(a))
    X, y = _data()
    r = fit(X, y, kernel=name, **_opts(name))
    assert calls == [] and np.all(np.isfinite(r.coef))
    fit(X, y, kernel="ols/numpy")
    assert calls  # the kernels that cannot fold keep the separate pass
    calls.clear()
    fit(X.astype(np.float32), y.astype(np.float32), kernel=name, dtype="float32", **_opts(name))
    assert calls  # converted data: checked before conversion, so the errors show the caller's values


@pytest.mark.parametrize("name", FOLDED)
def test_a_big_input_is_not_copied(name):
    X, y = _data(2)
    X = np.tile(X, (8, 1))  # 12.8 MB
    y = np.tile(y, 8)
    fit(X, y, kernel=name, **_opts(name))  # compiled and warm
    tracemalloc.start()
    try:
        fit(X, y, kernel=name, **_opts(name))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < X.nbytes / 8, f"{name}: fit allocated {peak} bytes for an input of {X.nbytes}"


def test_fit_and_the_kernel_agree_bit_for_bit_on_clean_input():
    X, y = _data()
    for name in FOLDED:
        k, opts = REGISTRY[name], kernels.Options(**_opts(name))
        a, b = fit(X, y, kernel=name, **_opts(name)), k.solve(k.prepare(X, y, opts), True, opts)
        assert a.intercept == b.intercept and np.array_equal(a.coef, b.coef)


@pytest.mark.parametrize("name", [k.name for k in REGISTRY.values() if k.gram is not None])
def test_the_rank_check_takes_the_backends_gram_and_still_refuses_dependent_columns(name, monkeypatch):
    grams = []
    check = kernels.check_rank
    monkeypatch.setattr(kernels, "check_rank", lambda *a, gram=None: grams.append(gram) or check(*a, gram=gram))
    X, y = _data(3)
    # a kernel that checks float64 input itself leaves fit the check of input it converts to float32
    opts = {**_opts(name), "dtype": "float32"} if REGISTRY[name].checks_values else _opts(name)
    fit(X, y, kernel=name, **opts)
    C = np.cov(X, rowvar=False, bias=True) * N  # the centred XᵀX, two passes in NumPy
    assert np.allclose(np.tril(grams[0]), np.tril(C), rtol=1e-12, atol=0)
    X[:, 2] = X[:, 0] - 0.5 * X[:, 1]  # dependent, not identical: the scan passes it, the rank check does not
    with pytest.raises(SingularDesignError, match="singular to working precision"):
        fit(X, y, kernel=name, **opts)


@pytest.mark.parametrize("name", [k for k in FOLDED if k.startswith("ols/")])
def test_wide_blocks_by_blas_fold_the_same_checks(name):
    """d = 40, where the OLS kernels form each block's products by dsyrk (blas_products.WIDE_FROM): NaN, inf,
    a constant, repeated and dependent columns are still refused with the scan's errors."""
    from kernels.backends.numba_jit.blas_products import WIDE_FROM
    d = 40
    assert d >= WIDE_FROM
    X, y = _data(d, seed=1)
    Xb = X.copy()
    Xb[N // 2 + 3, 7] = np.nan
    assert "row" in _same_error(name, Xb, y) and "column 7" in _same_error(name, Xb, y)
    yb = y.copy()
    yb[11] = np.inf
    assert "row 11" in _same_error(name, X, yb)
    Xb = X.copy()
    Xb[:, 5] = 1 / 3
    assert _same_error(name, Xb, y).startswith(f"column 5 is constant (every value is {1 / 3})")
    Xb = X.copy()
    Xb[:, 30] = Xb[:, 2]
    assert _same_error(name, Xb, y).startswith("columns 2 and 30 are identical")
    Xb[:, 30] = Xb[:, 0] - 0.5 * Xb[:, 1]
    with pytest.raises(SingularDesignError, match="singular to working precision"):
        fit(Xb, y, kernel=name)
