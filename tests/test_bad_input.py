"""Bad input of every kind, across every registered kernel: a clear error of ours, never a hang, a silent
answer, a warning from below or a traceback from inside NumPy, torch or a library."""
from __future__ import annotations

import re
import time
import warnings

import numpy as np
import pytest

import kernels
from kernels import REGISTRY, InputError, SingularDesignError, UnknownKernelError, fit, option_checks, validation
from kernels.contract import ALGORITHMS, ITERATIVE
from tests.helpers import kernel_params, random_problem

ITERATIVE_KERNELS = [p for a in ITERATIVE for p in kernel_params(a)]
FEW = {"gd": dict(learning_rate=0.05, epochs=5), "sgd": dict(learning_rate=0.01, epochs=2),
       "minibatch": dict(learning_rate=0.05, epochs=2, batch_size=8), "ols": {}}


@pytest.fixture(autouse=True)
def no_warnings():
    """A refusal is our error, not a warning on the way; valid input gets no warning from below either."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def good(n=30, d=2):
    return random_problem(n, d, seed=0)


def opts(name: str) -> dict:
    return dict(FEW[REGISTRY[name].algorithm])


def run(name, X, y, **extra):
    return fit(X, y, kernel=name, **{**opts(name), **extra})


# --- the type policy at the boundary: the same for every kernel ------------------------------------------

BAD_X = {
    "complex": (lambda X: X + 1j, r"X has dtype complex128, not a real number"),
    "datetime64": (lambda X: np.datetime64("2020-01-01") + X.astype(np.int64), r"X has dtype datetime64.*dates"),
    "timedelta64": (lambda X: X.astype("timedelta64[s]"), r"X has dtype timedelta64.*durations"),
    "bool": (lambda X: X > 0, r"X has dtype bool, not a real number.*astype\(float\)"),
    "masked": (lambda X: np.ma.masked_array(X, mask=X > 0.5), r"X is a masked array with \d+ masked value"),
    "ragged": (lambda X: [list(r) for r in X[:-1]] + [[1.0]], r"X is ragged: row 0 has 2 value.*row 29 has 1"),
    "None cell": (lambda X: [list(r) for r in X[:-1]] + [[1.0, None]],
                  r"X must be numeric; found None|X has 1 non-finite value.*row 29, column 1"),  # None read as NaN
    "string cell": (lambda X: [list(map(str, r)) for r in X[:-1]] + [["1", "abc"]], r"X must be numeric; found 'abc'"),
    "dict": (lambda X: {"a": X}, r"X must be an array of real numbers; got dict"),
    "huge ints": (lambda X: (X * 1e3).astype(np.int64) + 2 ** 60, r"integers beyond 2\*\*53"),
    "structured": (lambda X: np.zeros(30, dtype=[("a", "f8"), ("b", "f8")]), r"structured records"),
}


@pytest.mark.parametrize("kind", sorted(BAD_X))
@pytest.mark.parametrize("name", kernel_params())
def test_inputs_that_are_not_real_numbers_are_refused_by_name(name, kind):
    make, message = BAD_X[kind]
    X, y = good()
    with pytest.raises(InputError, match=message):
        run(name, make(X), y)


@pytest.mark.parametrize("name", kernel_params())
def test_y_is_held_to_the_same_policy(name):
    X, y = good()
    for bad, message in ((y + 1j, "y has dtype complex"), (y > 0, "y has dtype bool"),
                         (np.ma.masked_array(y, mask=y > 0), "y is a masked array")):
        with pytest.raises(InputError, match=message):
            run(name, X, bad)


def test_pandas_columns_are_checked_by_name():
    pd = pytest.importorskip("pandas")
    X, y = good()
    frame = pd.DataFrame({"when": pd.date_range("2020-01-01", periods=30), "x": X[:, 0]})
    with pytest.raises(InputError, match=r"X column 'when' has dtype datetime64.*dates are not numbers"):
        fit(frame, y)
    frame = pd.DataFrame({"flag": X[:, 0] > 0, "x": X[:, 1]})
    with pytest.raises(InputError, match=r"X column 'flag' has dtype bool"):
        fit(frame, y)
    with pytest.raises(InputError, match=r"y column 'when' has dtype datetime64"):
        fit(X, pd.Series(pd.date_range("2020-01-01", periods=30), name="when"))
    frame = pd.DataFrame({"a": pd.array([1, 2, None, 4] * 7 + [5, 6], dtype="Int64"), "x": X[:, 1]})
    with pytest.raises(InputError, match=r"X has 7 non-finite value.*row 2, column 0"):  # pandas NA is missing
        fit(frame, y)
    numeric = pd.DataFrame({"a": X[:, 0], "b": (X[:, 1] * 100).astype(np.int32)})
    np.testing.assert_allclose(fit(numeric, pd.Series(y)).params, fit(numeric.to_numpy(float), y).params,
                               rtol=1e-14, atol=0)


def test_a_masked_array_with_nothing_masked_is_its_data():
    X, y = good()
    np.testing.assert_array_equal(fit(np.ma.masked_array(X), y).params, fit(X, y).params)


def test_a_sparse_matrix_is_refused_with_the_fix():
    sparse = pytest.importorskip("scipy.sparse")
    X, y = good()
    with pytest.raises(InputError, match=r"sparse matrix.*X.toarray\(\)"):
        fit(sparse.csr_matrix(X), y)


# Representations of the same numbers: every kernel must give what it gives for native float64 arrays.
SAME = {
    "big-endian": lambda a: a.astype(a.dtype.newbyteorder(">")),
    "longdouble": lambda a: a.astype(np.longdouble),
    "read-only": lambda a: np.frombuffer(a.tobytes(), dtype=a.dtype).reshape(a.shape),
    "Fortran order": np.asfortranarray,
    "list of rows": lambda a: a.tolist(),
}


@pytest.mark.parametrize("form", sorted(SAME))
@pytest.mark.parametrize("name", kernel_params())
def test_every_exact_representation_gives_the_same_fit(name, form):
    """Byte order, precision and layout change nothing (the torch kernels took neither longdouble nor
    big-endian arrays; read-only input made torch warn)."""
    X, y = good()
    ref = run(name, X, y)
    r = run(name, SAME[form](X), SAME[form](y))
    np.testing.assert_allclose(r.params, ref.params, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", kernel_params())
def test_torch_tensors_are_converted_even_with_requires_grad(name):
    torch = pytest.importorskip("torch")
    X, y = good()
    ref = run(name, X, y)
    r = run(name, torch.tensor(X, requires_grad=True), torch.tensor(y, requires_grad=True))
    np.testing.assert_allclose(r.params, ref.params, rtol=1e-12, atol=1e-14)


def test_torch_tensors_of_other_kinds():
    torch = pytest.importorskip("torch")
    X, y = good()
    with pytest.raises(InputError, match="complex tensor"):
        fit(torch.tensor(X, dtype=torch.complex64), y)
    with pytest.raises(InputError, match="X has dtype bool"):
        fit(torch.tensor(X) > 0, y)
    half = torch.tensor(X, dtype=torch.bfloat16)  # no NumPy dtype: widened to float32 exactly
    np.testing.assert_array_equal(validation.check_xy(half, y)[0], half.float().numpy())


# --- options: by type and range, before any work, the same iterates whatever carries a value -------------

BAD_OPTIONS = [
    ("tol", "0.1", r"tol must be a real number.*'0.1' \(str\)"),
    ("tol", None, r"tol must be a real number.*None"),
    ("tol", float("inf"), r"tol must be a non-negative finite number"),
    ("learning_rate", "0.1", r"learning_rate must be a real number"),
    ("learning_rate", True, r"learning_rate must be a real number.*True \(bool\)"),
    ("learning_rate", 1j, r"learning_rate must be a real number"),
    ("learning_rate", 0, r"learning_rate must be a positive"),
    ("epochs", True, r"epochs must be a positive integer; got True \(bool\)"),
    ("epochs", np.bool_(True), r"epochs must be a positive integer"),
    ("epochs", 10.0, r"epochs must be a positive integer; got 10.0 \(float\)"),
    ("epochs", "10", r"epochs must be a positive integer"),
    ("dtype", None, r"dtype must be one of float64, float32"),
    ("dtype", 32, r"dtype must be one of"),
    ("dtype", "int64", r"dtype must be one of"),
    ("init", "abc", r"init must hold \d finite numbers.*'abc' \(str\)"),
    ("init", {"b": 0.0}, r"init must hold \d finite numbers.*dict"),
    ("init", "0.5", r"init must hold"),
    ("init", [True, False, True], r"init must hold.*bool"),
    ("init", [1.0, 2.0, 3j], r"init must hold.*complex"),
]


@pytest.mark.parametrize("option, value, message", BAD_OPTIONS, ids=lambda v: repr(v)[:20])
@pytest.mark.parametrize("name", ITERATIVE_KERNELS)
def test_options_of_the_wrong_type_are_refused(name, option, value, message):
    X, y = good()
    with pytest.raises(InputError, match=message):
        run(name, X, y, **{option: value})


@pytest.mark.parametrize("name", kernel_params("sgd") + kernel_params("minibatch"))
def test_options_of_the_stochastic_kernels(name):
    X, y = good()
    for option, value, message in [("seed", True, "seed must be"), ("seed", -1, "seed must be"),
                                   ("seed", 2 ** 32, r"seed must be an integer from 0 to 4294967295"),
                                   ("seed", 1.0, "seed must be")]:
        with pytest.raises(InputError, match=message):
            run(name, X, y, **{option: value})
    if REGISTRY[name].algorithm == "sgd":
        for value in ("0.5", None, True, -1.0):
            with pytest.raises(InputError, match="power_t must be"):
                run(name, X, y, power_t=value)
        with pytest.raises(InputError, match="schedule must be one of constant, invscaling"):
            run(name, X, y, schedule=None)
    else:
        for value in (True, 0, 2.0, "8"):
            with pytest.raises(InputError, match="batch_size must be a positive integer"):
                run(name, X, y, batch_size=value)
        huge = run(name, X, y, batch_size=2 ** 70)  # larger than n: one batch of every row, as batch_size=n
        np.testing.assert_array_equal(huge.params, run(name, X, y, batch_size=30).params)


@pytest.mark.parametrize("value", ["False", None, 0, 1, "yes"])
@pytest.mark.parametrize("name", kernel_params())
def test_fit_intercept_must_be_a_bool(name, value):
    X, y = good()
    with pytest.raises(InputError, match=r"fit_intercept must be True or False; got"):
        run(name, X, y, fit_intercept=value)


@pytest.mark.parametrize("name", kernel_params())
def test_numpy_types_carry_option_values_exactly(name):
    """A NumPy scalar is its value: np.float32(0.05) gives the iterates of float(np.float32(0.05)), an np.int64
    epoch count those of the int, np.dtype("float32") and np.float32 those of "float32", np.True_ those of True."""
    X, y = good()
    k = REGISTRY[name]
    if "float32" in k.dtypes:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", kernels.AccuracyWarning)  # float32 normal equations vouch < 6 digits
            ref = run(name, X, y, dtype="float32")
            for dt in (np.dtype("float32"), np.float32):
                np.testing.assert_array_equal(run(name, X, y, dtype=dt).params, ref.params)
    np.testing.assert_array_equal(run(name, X, y, fit_intercept=np.True_).params, run(name, X, y).params)
    if k.algorithm in ITERATIVE:
        lr32 = np.float32(0.05)
        a = run(name, X, y, learning_rate=lr32, epochs=np.int64(4), tol=np.float32(0.0))
        b = run(name, X, y, learning_rate=float(lr32), epochs=4, tol=0.0)
        np.testing.assert_allclose(a.loss_history, b.loss_history, rtol=1e-13, atol=0)
        np.testing.assert_allclose(a.params, b.params, rtol=1e-13, atol=0)
        assert a.n_iter == b.n_iter == 4


def test_options_are_checked_before_the_data():
    """A bad option is named even when the data are bad too: no pass over the data is spent on a call that
    is refused for its options."""
    X, y = good()
    X[3, 1] = np.nan
    with pytest.raises(InputError, match="tol must be"):
        fit(X, y, kernel="gd/numpy", tol="0.1")
    with pytest.raises(InputError, match="fit_intercept must be"):
        fit(X, y, kernel="gd/numpy", fit_intercept="False")


# --- runs that cannot finish are refused up front --------------------------------------------------------

@pytest.mark.parametrize("epochs", [10 ** 12, 2 ** 64, option_checks.MAX_EPOCHS + 1])
@pytest.mark.parametrize("name", ITERATIVE_KERNELS)
def test_an_epoch_budget_beyond_the_limit_is_refused_at_once(name, epochs):
    X, y = good()
    t0 = time.perf_counter()
    with pytest.raises(InputError, match=rf"epochs = {epochs} is beyond the limit of 10,000,000 epochs"):
        fit(X, y, kernel=name, epochs=epochs, tol=0)
    assert time.perf_counter() - t0 < 2.0  # refused, not started (and no history allocated)


@pytest.mark.parametrize("name", ITERATIVE_KERNELS)
def test_work_beyond_the_limit_is_refused_with_the_most_epochs_that_fit(name, monkeypatch):
    X, y = good(n=30, d=2)  # 30 * 3 = 90 values an epoch
    monkeypatch.setattr(option_checks, "MAX_WORK", 9_000)
    with pytest.raises(InputError, match=r"101 epochs over 30 rows x 2 column.*at most 100 epochs"):
        fit(X, y, kernel=name, learning_rate=0.01, epochs=101)
    assert fit(X, y, kernel=name, learning_rate=0.01, epochs=100).n_iter == 100


def test_the_real_work_limit():
    X, y = good(n=200_001, d=4)  # 1,000,005 values an epoch: 1e7 epochs is just over 1e13
    with pytest.raises(InputError,
                       match=r"10000000 epochs over 200001 rows x 4 column.*1e\+13.*at most 9999950 epochs"):
        fit(X, y, kernel="gd/numba-gram", epochs=10_000_000, tol=0)


# --- dependent columns: one rule for every algorithm -----------------------------------------------------

@pytest.mark.parametrize("how", ["twice another", "sum of two", "identical up to sign"])
@pytest.mark.parametrize("name", kernel_params())
def test_dependent_columns_are_refused_by_every_kernel(name, how):
    X, y = good(d=3)
    X[:, 2] = {"twice another": 2 * X[:, 0], "sum of two": X[:, 0] + X[:, 1],
               "identical up to sign": -X[:, 1]}[how]
    with pytest.raises(SingularDesignError, match="singular|linear combination|not determined"):
        run(name, X, y)


@pytest.mark.parametrize("eps", [1e-4, 1e-9])  # condition numbers about 1e4 (settled by XᵀX) and 1e9 (by QR)
@pytest.mark.parametrize("name", ITERATIVE_KERNELS + kernel_params("ols", reference=True))
def test_correlated_but_independent_columns_are_still_fitted(name, eps):
    """The rule refuses what has no unique answer, not what is merely ill-conditioned (as ols/qr does)."""
    X, y = good(d=2)
    X[:, 1] = X[:, 0] + eps * np.random.default_rng(1).standard_normal(30)
    extra = {"learning_rate": 1e-3} if REGISTRY[name].algorithm in ITERATIVE else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kernels.AccuracyWarning)  # ill-conditioned: few digits, said so
        assert np.all(np.isfinite(run(name, X, y, **extra).params))


def test_the_rank_check_costs_nothing_for_one_column():
    X = np.random.default_rng(0).standard_normal((1000, 1))
    validation.check_rank(X, True, "gd/numpy")  # one column: nothing to compare, nothing computed


# --- data whose sums of squares overflow ----------------------------------------------------------------

@pytest.mark.parametrize("scale", [1e154, 1e-160])
@pytest.mark.parametrize("name", kernel_params())
def test_extreme_scales_are_fitted_right_or_refused(name, scale):
    """Values near 1e154 overflow XᵀX (statsmodels returned wrong coefficients with only its own warning):
    every kernel either refuses with our InputError or returns the right coefficients, without warnings."""
    X, y = good()
    ref = fit(X, y, kernel="ols/qr")
    try:
        r = run(name, X * scale, y * scale)
    except InputError as exc:
        assert re.search("too large to square|overflow" if scale > 1 else "too little to square.*underflow",
                         str(exc)), str(exc)
        return
    except kernels.DivergenceError:
        assert scale < 1, "a huge scale must be named as the data's problem, not the learning rate's"
        return
    if REGISTRY[name].algorithm == "ols":
        np.testing.assert_allclose(r.coef, ref.coef, rtol=1e-9)
        np.testing.assert_allclose(r.intercept / scale, ref.intercept, rtol=1e-9)


@pytest.mark.parametrize("name", kernel_params("ols", reference=True))
def test_references_are_rescaled_exactly_where_the_library_would_overflow(name):
    from kernels.backends.references import in_safe_range
    X, y = good()
    Xs, ys, scale = in_safe_range(X, y)
    assert Xs is X and scale is None  # ordinary data go to the library untouched
    Xb, yb, (ex, ey) = in_safe_range(X * 1e154, y * 1e154)
    assert np.all(np.abs(Xb) < 1) and np.all(np.abs(yb) < 1)
    np.testing.assert_array_equal(np.ldexp(Xb, ex), X * 1e154)  # powers of two: exact both ways
    r = fit(X * 1e154, y * 1e154, kernel=name)
    np.testing.assert_allclose(r.coef, fit(X, y, kernel="ols/qr").coef, rtol=1e-12)


# --- kernel names ---------------------------------------------------------------------------------------

def _never_provided():
    from kernels.registry import PROVIDES
    return [f"{a}/{b}" for b, algs in sorted(PROVIDES.items()) for a in ALGORITHMS if a not in algs]


@pytest.mark.parametrize("name", _never_provided())
def test_a_kernel_no_machine_has_is_unknown_not_unavailable(name):
    with pytest.raises(UnknownKernelError, match=rf"unknown kernel '{name}' \(no machine has it"):
        fit(*good(), kernel=name)


def test_declared_algorithms_match_what_registers():
    """PROVIDES (read before import) must agree with the registry, or names would be misreported."""
    from kernels.registry import PROVIDES
    for name, k in REGISTRY.items():
        if k.backend in PROVIDES:
            assert k.algorithm in PROVIDES[k.backend], f"{name} registers but its module does not declare it"
    for backend, algs in PROVIDES.items():
        if backend not in kernels.UNAVAILABLE:
            assert sorted(algs) == sorted(k.algorithm for k in REGISTRY.values() if k.backend == backend), backend


@pytest.mark.parametrize("name", [None, 3, ["ols/numpy"], "ols", "", "OLS/numpy"])
def test_kernel_names_that_are_not_names(name):
    with pytest.raises(UnknownKernelError, match="unknown kernel"):
        fit(*good(), kernel=name)


@pytest.mark.parametrize("name", ITERATIVE_KERNELS)
def test_an_absurd_learning_rate_is_divergence_whatever_the_library(name):
    """scikit-learn raised its own ValueError ("Floating-point under-/overflow") from inside partial_fit."""
    X, y = good()
    with pytest.raises(kernels.DivergenceError, match="diverged.*smaller learning rate"):
        fit(X, y, kernel=name, learning_rate=1e300, epochs=5)


@pytest.mark.parametrize("name", ITERATIVE_KERNELS)
def test_a_start_point_too_large_to_square_is_named(name):
    X, y = good()
    with pytest.raises(InputError, match=r"loss at the start point is (inf|nan).*\(or init\) are too large"):
        fit(X, y, kernel=name, init=[1e200, 1e200, 1e200], epochs=3)
